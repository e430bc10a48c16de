// portcullisd: the Portcullis control-plane daemon (DESIGN.md, "Control
// plane"; README.md in this folder).
#include <signal.h>
#include <sodium.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "config/parser.h"
#include "control/daemon/cli_server.h"
#include "control/daemon/daemon.h"
#include "control/daemon/log.h"

namespace d = portcullis::ctl::daemon;
namespace config = portcullis::config;
namespace fs = std::filesystem;

namespace {

void make_dir(const std::string& dir, mode_t mode) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create " + dir + ": " + ec.message());
  ::chmod(dir.c_str(), mode);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"portcullisd: the Portcullis control-plane daemon. It reads the config file, keeps the\n"
               "data plane (portcullis-dataplane) in the state it describes, and serves portcullisctl."};
  std::string config_path = "/etc/portcullis/portcullis.toml";
  std::string check_path;
  std::string level;
  bool no_stamps = false;
  app.add_option("-c,--config", config_path, "config file")->capture_default_str();
  app.add_option("--check", check_path,
                 "validate FILE (and its key files and IKE credentials) and exit: 0 valid, 1 not");
  app.add_option("--log-level", level, "error | warn | info | debug (overrides [daemon] log_level)");
  app.add_flag("--no-timestamps", no_stamps, "no time on log lines (automatic under systemd)");
  app.set_version_flag("--version", PORTCULLIS_VERSION);
  CLI11_PARSE(app, argc, argv);

  if (!check_path.empty()) {
    config::LoadResult r = config::load_file(check_path);
    for (const auto& e : r.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
    if (!r.ok()) return 1;
    // Open every manual key file and IKE credential the way the daemon
    // will, so that a wrong mode, length or certificate shows now, not at
    // a start.
    const auto key_errors = d::check_key_files(*r.config);
    for (const auto& e : key_errors) std::fprintf(stderr, "%s\n", e.str().c_str());
    if (!key_errors.empty()) return 1;
    std::printf("%s: OK (%zu ports, %zu routes, %zu tunnels)\n", check_path.c_str(), r.config->ports.size(),
                r.config->routes.size(), r.config->tunnels.size());
    return 0;
  }

  // Keys live in this process: no core dumps, no ptrace by other users.
  ::prctl(PR_SET_DUMPABLE, 0);
  if (sodium_init() < 0) {
    std::fprintf(stderr, "portcullisd: libsodium failed to initialise\n");
    return 1;
  }
  d::set_log_timestamps(!no_stamps && std::getenv("JOURNAL_STREAM") == nullptr);

  config::LoadResult r = config::load_file(config_path);
  if (!r.ok()) {
    for (const auto& e : r.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
    std::fprintf(stderr, "portcullisd: %s has errors; not starting\n", config_path.c_str());
    return 1;
  }
  config::Config cfg = std::move(*r.config);
  d::Level lvl = d::Level::kInfo;
  if (!d::parse_level(level.empty() ? cfg.daemon.log_level : level, &lvl)) {
    std::fprintf(stderr, "portcullisd: --log-level must be error, warn, info or debug\n");
    return 2;
  }
  d::set_log_level(lvl);

  try {
    make_dir(cfg.daemon.state_dir, 0700);
    make_dir(fs::path(cfg.daemon.control_socket).parent_path(), 0755);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "portcullisd: %s\n", e.what());
    return 1;
  }
  // Changes made through the CLI are kept in STATE_DIR/running.toml. It
  // wins over the config file unless the file was edited after it.
  const std::string running = cfg.daemon.state_dir + "/running.toml";
  std::error_code ec;
  if (fs::exists(running, ec)) {
    if (fs::last_write_time(running, ec) >= fs::last_write_time(config_path, ec)) {
      config::LoadResult rr = config::load_file(running);
      if (rr.ok()) {
        rr.config->path = cfg.path;
        rr.config->daemon = cfg.daemon;
        cfg = std::move(*rr.config);
        d::log_info("using the running config saved by the CLI (" + running + "); `portcullisctl config save` writes it to " + config_path);
      } else {
        d::log_warn(running + " does not load (" + rr.errors.front().str() + "); using " + config_path);
      }
    } else {
      d::log_info(config_path + " is newer than the CLI's running config; using it");
    }
  }
  d::Store store;
  std::string err;
  if (!store.load(cfg.daemon.state_dir, &err)) {
    d::log_error(err);
    return 1;
  }

  // Signals go to sigwait below, not to any thread.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  d::log_info(std::string("portcullisd ") + PORTCULLIS_VERSION + " starting with " + cfg.path + ": " +
              std::to_string(cfg.tunnels.size()) + " tunnels");
  auto daemon = std::make_unique<d::Daemon>(std::move(cfg), std::move(store));
  daemon->start();
  std::unique_ptr<d::CliServer> server;
  try {
    server = std::make_unique<d::CliServer>(*daemon, daemon->initial_config().daemon.control_socket,
                                            daemon->initial_config().daemon.group);
  } catch (const std::exception& e) {
    d::log_error(std::string("control socket: ") + e.what());
    daemon->stop();
    return 1;
  }
  d::log_info("control socket " + daemon->initial_config().daemon.control_socket + " ready");
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      try {
        daemon->handle("config.reload", nlohmann::json::object());
      } catch (const std::exception& e) {
        d::log_error(std::string("reload on SIGHUP failed: ") + e.what());
      }
      continue;
    }
    d::log_info(std::string("stopping on ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
                "; the data plane keeps its SAs");
    break;
  }
  server->stop();
  daemon->stop();
  return 0;
}
