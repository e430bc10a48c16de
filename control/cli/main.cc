// main.cc: portcullisctl's command line (CLI11). Each leaf command records
// what to run; main() runs it after parsing, so that a usage mistake never
// reaches the daemon. Exit statuses are in commands.h.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <functional>
#include <iostream>

#include "control/cli/client.h"
#include "control/cli/commands.h"
#include "control/cli/format.h"
#include "control/cli/render.h"
#include "control/cli/request.h"

using namespace portcullis::ctl::cli;
using json = nlohmann::json;

namespace {

// Leaf adds a subcommand whose parse records `fn` as the thing to run.
CLI::App* leaf(CLI::App* parent, const std::string& name, const std::string& desc,
               std::function<int()>& action, std::function<int()> fn) {
  CLI::App* sub = parent->add_subcommand(name, desc);
  sub->callback([&action, fn = std::move(fn)] { action = fn; });
  return sub;
}

CLI::App* group(CLI::App* parent, const std::string& name, const std::string& desc) {
  return parent->add_subcommand(name, desc);
}

// missing_command explains a command line that stopped at a group
// ("portcullisctl tunnel"): which commands could follow.
std::string missing_command(const CLI::App& app) {
  const CLI::App* at = &app;
  std::string path = "portcullisctl";
  for (;;) {
    auto parsed = at->get_subcommands();
    if (parsed.empty()) break;
    at = parsed.front();
    path += " " + at->get_name();
  }
  std::string list;
  for (const CLI::App* sub : at->get_subcommands({})) {
    list += (list.empty() ? "" : ", ") + sub->get_name();
  }
  return path + " needs a command: " + list + " (" + path + " --help explains them)";
}

std::string line(const std::string& s) { return s + "\n"; }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"portcullisctl: operate the Portcullis IPsec gateway through portcullisd",
               "portcullisctl"};
  app.fallthrough();  // global options may follow the subcommand
  app.footer(
      "Global options --json and --socket also work after the command.\n"
      "Exit status: 0 ok, 1 the daemon refused or the operation failed, 2 usage error, 3 cannot "
      "reach portcullisd.");

  Globals g;
  g.socket = kDefaultSocket;
  app.add_flag("--json", g.json, "Print the reply's data as JSON");
  app.add_option("--socket", g.socket, "portcullisd's control socket")
      ->envname("PORTCULLIS_SOCKET")
      ->capture_default_str();
  app.set_version_flag("--version", std::string("portcullisctl ") + PORTCULLIS_VERSION);

  std::function<int()> action;
  const std::filesystem::path cwd = std::filesystem::current_path();
  // status
  leaf(&app, "status", "Daemon, data plane and tunnel summary", action,
       [&] { return run_request(g, make_request("status"), render_status); });

  // tunnel ...
  std::string name;
  CLI::App* tunnel = group(&app, "tunnel", "List, show, add, delete and control tunnels");
  leaf(tunnel, "list", "List tunnels with state and counters", action,
       [&] { return run_request(g, make_request("tunnel.list"), render_tunnel_list); });
  leaf(tunnel, "show", "Show one tunnel in detail, with its SAs", action,
       [&] {
         return run_request(g, make_request("tunnel.show", {{"name", name}}), render_tunnel_detail);
       })
      ->add_option("NAME", name, "Tunnel name")
      ->required();
  leaf(tunnel, "del", "Delete a tunnel and its SAs", action,
       [&] {
         return run_request(g, make_request("tunnel.del", {{"name", name}}),
                            [&](const json&) { return line("tunnel " + name + " deleted"); });
       })
      ->add_option("NAME", name, "Tunnel name")
      ->required();
  leaf(tunnel, "up", "Enable a tunnel and install its SAs", action,
       [&] {
         return run_request(g, make_request("tunnel.up", {{"name", name}}), render_tunnel_state);
       })
      ->add_option("NAME", name, "Tunnel name")
      ->required();
  leaf(tunnel, "down", "Disable a tunnel and remove its SAs", action,
       [&] {
         return run_request(g, make_request("tunnel.down", {{"name", name}}), render_tunnel_state);
       })
      ->add_option("NAME", name, "Tunnel name")
      ->required();
  bool rekey_ike = false;
  CLI::App* rekey = leaf(tunnel, "rekey", "Rekey a tunnel's Child SA now, or with --ike its IKE SA (IKEv2)", action,
       [&] {
         return run_request(g, make_request("tunnel.rekey", {{"name", name}, {"ike", rekey_ike}}), [&](const json& d) {
           if (d.is_object() && d.contains("message")) return line(cell(d, "message"));
           return line("tunnel " + name + ": " + (rekey_ike ? "IKE SA" : "Child SA") + " rekey started");
         });
       });
  rekey->add_option("NAME", name, "Tunnel name")->required();
  rekey->add_flag("--ike", rekey_ike, "Rekey the IKE SA instead of the Child SA");

  // ike ...
  CLI::App* ike = group(&app, "ike", "Show IKEv2 security associations");
  leaf(ike, "list", "List IKE SAs", action,
       [&] { return run_request(g, make_request("ike.list"), render_ike_list); });
  leaf(ike, "show", "Show one tunnel's IKE SAs and Child SAs", action,
       [&] { return run_request(g, make_request("ike.show", {{"name", name}}), render_ike_show); })
      ->add_option("NAME", name, "Tunnel name")
      ->required();

  TunnelOptions topt;
  CLI::App* add =
      leaf(tunnel, "add", "Add a tunnel (options mirror the [[tunnel]] TOML fields)", action,
           [&] { return run_request(g, tunnel_add_request(topt, cwd), render_tunnel_detail); });
  add->add_option("NAME", topt.name, "Tunnel name, [a-z0-9_-]{1,32}")->required();
  add->add_option("--local", topt.local, "Local endpoint address (an unprotected port's)")
      ->type_name("ADDR");
  add->add_option("--remote", topt.remote, "The peer's address")->type_name("ADDR");
  add->add_option("--local-ts", topt.local_ts, "Protected prefix on this side (repeatable)")
      ->allow_extra_args(false)
      ->delimiter(',')
      ->type_name("PREFIX");
  add->add_option("--remote-ts", topt.remote_ts, "Protected prefix behind the peer (repeatable)")
      ->allow_extra_args(false)
      ->delimiter(',')
      ->type_name("PREFIX");
  add->add_option("--esp", topt.esp, "ESP suite, e.g. aes128gcm16")->type_name("SUITE");
  add->add_option("--mode", topt.mode, "tunnel | transport")
      ->check(CLI::IsMember({"tunnel", "transport"}));
  add->add_flag("--udp-encap", topt.udp_encap, "RFC 3948 UDP encapsulation");
  add->add_option("--udp-port", topt.udp_port, "UDP encapsulation port (default 4500)")
      ->type_name("PORT");
  add->add_flag("--no-esn", topt.no_esn, "32-bit sequence numbers (needs \"noesn\" allowed)");
  add->add_option("--replay-window", topt.replay_window, "Anti-replay window in packets")
      ->type_name("N");
  add->add_flag("--no-anti-replay", topt.no_anti_replay,
                "Turn anti-replay off (needs --allow-no-anti-replay)");
  add->add_flag("--allow-no-anti-replay", topt.allow_no_anti_replay,
                "Acknowledge that anti-replay is off (benchmarks)");
  add->add_flag("--disabled", topt.disabled, "Add the tunnel down");
  add->add_option("--keying", topt.keying,
                  "manual | ikev2 (manual when SPIs or keys are given, ikev2 when IKE options are)")
      ->check(CLI::IsMember({"manual", "ikev2"}));
  add->add_option("--spi-out", topt.spi_out, "Outbound SPI (decimal or 0x hex)")->type_name("SPI");
  add->add_option("--spi-in", topt.spi_in, "Inbound SPI (decimal or 0x hex)")->type_name("SPI");
  add->add_option("--key-out", topt.key_out, "Outbound key file (hex, mode 0600)")
      ->type_name("FILE");
  add->add_option("--key-in", topt.key_in, "Inbound key file (hex, mode 0600)")->type_name("FILE");
  add->add_option("--auth-key-out", topt.auth_key_out, "Outbound HMAC key file (CBC suites)")
      ->type_name("FILE");
  add->add_option("--auth-key-in", topt.auth_key_in, "Inbound HMAC key file (CBC suites)")
      ->type_name("FILE");
  add->add_option("--ike-auth", topt.ike_auth,
                  "IKEv2: ecdsa | psk | ed25519 (default ecdsa; psk with --psk-file alone)")
      ->check(CLI::IsMember({"ecdsa", "psk", "ed25519"}));
  add->add_option("--psk-file", topt.psk_file, "IKEv2: pre-shared key file (hex, mode 0600)")
      ->type_name("FILE");
  add->add_option("--certificate", topt.certificate, "IKEv2: this gateway's certificate (PEM)")
      ->type_name("FILE");
  add->add_option("--private-key", topt.private_key, "IKEv2: the certificate's key (PEM, mode 0600)")
      ->type_name("FILE");
  add->add_option("--ca", topt.ca, "IKEv2: CA certificate(s) that sign the peer's (PEM)")
      ->type_name("FILE");
  add->add_option("--local-id", topt.local_id, "IKEv2: this gateway's identity (default: cert DN or address)")
      ->type_name("ID");
  add->add_option("--remote-id", topt.remote_id, "IKEv2: the identity the peer must prove (default: any)")
      ->type_name("ID");
  add->add_option("--proposal", topt.proposal, "IKEv2: IKE proposal ENC-PRF-DH (default: the profile's)")
      ->type_name("PROPOSAL");
  CLI::Option* initiate =
      add->add_flag_callback("--initiate", [&topt] { topt.initiate = true; },
                             "IKEv2: negotiate from this side (the default)");
  add->add_flag_callback("--no-initiate,--passive", [&topt] { topt.initiate = false; },
                         "IKEv2: wait for the peer to initiate")
      ->excludes(initiate);
  add->add_option("--ike-lifetime", topt.ike_lifetime,
                  "IKEv2: IKE SA lifetime (seconds, or with s/m/h/d; default 24h)")
      ->type_name("DURATION");
  for (const auto& field : kLifetimeFields) {
    std::string opt = "--" + field;
    std::replace(opt.begin(), opt.end(), '_', '-');
    const bool time = field.ends_with("_seconds");
    add->add_option_function<std::string>(
           opt, [&topt, field](const std::string& v) { topt.lifetime[field] = v; },
           time ? "Lifetime (seconds, or with s/m/h/d); 0 = none"
                : "Lifetime (count, or with k/M/G/T); 0 = none")
        ->type_name(time ? "DURATION" : "COUNT");
  }

  // sa ...
  std::string sa_id;
  CLI::App* sa = group(&app, "sa", "List and show security associations");
  leaf(sa, "list", "List SAs with counters", action,
       [&] { return run_request(g, make_request("sa.list"), render_sa_list); });
  leaf(sa, "show", "Show one SA", action,
       [&] { return run_request(g, sa_show_request(sa_id), render_sa); })
      ->add_option("ID", sa_id, "SA id (from `sa list`)")
      ->required();

  // policy ...
  CLI::App* policy = group(&app, "policy", "Show security policies");
  leaf(policy, "list", "List policies", action,
       [&] { return run_request(g, make_request("policy.list"), render_policy_list); });

  // route ...
  std::string prefix, via, port;
  CLI::App* route = group(&app, "route", "List, add and delete static routes");
  leaf(route, "list", "List routes", action,
       [&] { return run_request(g, make_request("route.list"), render_route_list); });
  CLI::App* radd = leaf(route, "add", "Add a static route", action, [&] {
    return run_request(g, route_add_request(prefix, via, port), [&](const json&) {
      return line("route " + prefix + (via.empty() ? " on-link" : " via " + via) + " on port " +
                  port + " added");
    });
  });
  radd->add_option("PREFIX", prefix, "Destination prefix, e.g. 10.2.0.0/16")->required();
  radd->add_option("--via", via, "Next hop (omit for on-link)")->type_name("ADDR");
  radd->add_option("--port", port, "Port name (from `port list`)")->required()->type_name("NAME");
  leaf(route, "del", "Delete a static route", action,
       [&] {
         return run_request(g, make_request("route.del", {{"prefix", prefix}}),
                            [&](const json&) { return line("route " + prefix + " deleted"); });
       })
      ->add_option("PREFIX", prefix, "Destination prefix")
      ->required();

  // port ...
  CLI::App* portcmd = group(&app, "port", "Show data plane ports");
  leaf(portcmd, "list", "List ports with addresses and counters", action,
       [&] { return run_request(g, make_request("port.list"), render_port_list); });

  // stats
  StatsOptions so;
  CLI::App* stats = leaf(&app, "stats", "Show the data plane's counters", action,
                         [&] { return run_stats(g, so); });
  stats->add_flag("--watch,-w", so.watch, "Refresh until Ctrl-C, with rates per second");
  stats->add_option("--interval,-i", so.interval_s, "Seconds between samples with --watch")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  stats->add_option("--filter,-f", so.filter, "Only counters whose name contains this")
      ->type_name("SUBSTR");
  stats->add_flag("--all,-a", so.all, "Also show counters that are zero");

  // events
  bool no_follow = false;
  unsigned last = 50;
  CLI::App* events = leaf(&app, "events", "Show recent events and follow new ones", action,
                          [&] { return run_events(g, !no_follow, last); });
  events->add_flag("--no-follow", no_follow, "Print the recent events and exit");
  events->add_option("--last,-n", last, "How many past events to show first")
      ->check(CLI::Range(0u, 100000u))
      ->capture_default_str();

  // config ...
  std::optional<std::string> file;
  CLI::App* config = group(&app, "config", "Check, reload and save the configuration");
  leaf(config, "check", "Check a config file (default: the running one)", action, [&] {
    return run_config_check(g, config_path_request("config.check", file, cwd),
                            file ? *file : "running config");
  })->add_option("FILE", file, "Config file to check");
  leaf(config, "reload", "Re-read the config file and apply the changes", action,
       [&] { return run_request(g, make_request("config.reload"), render_config_reload); });
  leaf(config, "save", "Write the running config (including CLI changes)", action, [&] {
    return run_request(g, config_path_request("config.save", file, cwd), [](const json& d) {
      return line("saved the running config to " + cell(d, "path"));
    });
  })->add_option("FILE", file, "Where to write (default: the running config file)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ExtrasError& e) {
    std::cerr << "portcullisctl: " << e.what()
              << " (unknown command or argument; portcullisctl --help lists the commands)\n";
    return kExitUsage;
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  if (!action) {
    std::cerr << "portcullisctl: " << missing_command(app) << "\n";
    return kExitUsage;
  }
  try {
    return action();
  } catch (const UsageError& e) {
    std::cerr << "portcullisctl: " << e.what() << "\n";
    return kExitUsage;
  }
}
