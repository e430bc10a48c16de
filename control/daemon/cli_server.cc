#include "control/daemon/cli_server.h"

#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <system_error>
#include <vector>

#include "control/daemon/daemon.h"
#include "control/daemon/log.h"

namespace portcullis::ctl::daemon {

using nlohmann::json;

namespace {

constexpr size_t kMaxLine = 1u << 20;
constexpr int kMaxConnections = 64;

bool write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

bool reply(int fd, const json& j) { return write_all(fd, j.dump() + "\n"); }
bool reply_error(int fd, const std::string& e) { return reply(fd, {{"ok", false}, {"error", e}}); }

}  // namespace

bool CliServer::peer_allowed(int fd, long gid, std::string* who) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
  *who = "uid " + std::to_string(cred.uid) + " (pid " + std::to_string(cred.pid) + ")";
  if (cred.uid == 0) return true;
  if (gid < 0) return false;
  if (static_cast<long>(cred.gid) == gid) return true;
  // Supplementary groups of the peer's user.
  passwd pw{};
  passwd* res = nullptr;
  std::vector<char> buf(16384);
  if (getpwuid_r(cred.uid, &pw, buf.data(), buf.size(), &res) != 0 || res == nullptr) return false;
  int n = 256;
  std::vector<gid_t> groups(static_cast<size_t>(n));
  if (getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) return false;
  for (int i = 0; i < n; i++) {
    if (static_cast<long>(groups[static_cast<size_t>(i)]) == gid) return true;
  }
  return false;
}

CliServer::CliServer(Daemon& d, const std::string& path, const std::string& group) : d_(d), path_(path) {
  if (const ::group* g = ::getgrnam(group.c_str()); g != nullptr) gid_ = g->gr_gid;
  listen_ = api::listen_unix(path);
  if (gid_ >= 0) {
    if (::chown(path.c_str(), 0, static_cast<gid_t>(gid_)) != 0 || ::chmod(path.c_str(), 0660) != 0) {
      throw std::system_error(errno, std::generic_category(), "chown/chmod " + path);
    }
  } else {
    log_warn("group \"" + group + "\" does not exist: the control socket " + path +
             " is for root only (create the group to let operators in)");
  }
  thread_ = std::thread([this] { accept_loop(); });
}

CliServer::~CliServer() { stop(); }

void CliServer::stop() {
  if (stopping_.exchange(true)) return;
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(mu_);
    for (int fd : conns_) ::shutdown(fd, SHUT_RDWR);
  }
  // Connection threads hold a reference to the daemon: wait for them.
  for (int i = 0; i < 500; i++) {
    {
      std::lock_guard lock(mu_);
      if (active_ == 0) break;
    }
    ::usleep(10'000);
  }
  ::unlink(path_.c_str());
}

void CliServer::accept_loop() {
  while (!stopping_) {
    pollfd p{listen_.get(), POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    const int fd = ::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::string who;
    if (!peer_allowed(fd, gid_, &who)) {
      log_warn("control socket: refused " + who + ": not root and not in the control group");
      reply_error(fd, "permission denied: portcullisctl must run as root or as a member of the daemon's group");
      ::close(fd);
      continue;
    }
    std::lock_guard lock(mu_);
    if (active_ >= kMaxConnections) {
      reply_error(fd, "too many CLI connections; try again");
      ::close(fd);
      continue;
    }
    ++active_;
    conns_.insert(fd);
    std::thread([this, fd] {
      serve(fd);
      std::lock_guard l(mu_);
      conns_.erase(fd);
      ::close(fd);
      --active_;
    }).detach();
  }
}

void CliServer::serve(int fd) {
  std::string buf;
  char chunk[4096];
  while (!stopping_) {
    const size_t nl = buf.find('\n');
    if (nl == std::string::npos) {
      if (buf.size() > kMaxLine) {
        reply_error(fd, "request line over 1 MiB; closing the connection");
        return;
      }
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      buf.append(chunk, static_cast<size_t>(n));
      continue;
    }
    const std::string line = buf.substr(0, nl);
    buf.erase(0, nl + 1);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json req;
    try {
      req = json::parse(line);
    } catch (const json::exception& e) {
      if (!reply_error(fd, std::string("request is not JSON: ") + e.what())) return;
      continue;
    }
    if (!req.is_object() || !req.contains("cmd") || !req["cmd"].is_string()) {
      if (!reply_error(fd, "request must be an object with a string \"cmd\"")) return;
      continue;
    }
    const std::string cmd = req["cmd"];
    const json args = req.contains("args") ? req["args"] : json::object();
    if (cmd == "events") {
      const bool follow = args.is_object() && args.contains("follow") && args["follow"].is_boolean()
                              ? args["follow"].get<bool>()
                              : true;
      size_t last = 50;
      if (args.is_object() && args.contains("last") && args["last"].is_number_unsigned()) last = args["last"];
      uint64_t seq = 0;
      auto evs = d_.events_after(0, last);
      if (!follow) {
        json a = json::array();
        for (const auto& e : evs) a.push_back(e.to_json());
        if (!reply(fd, {{"ok", true}, {"data", a}})) return;
        continue;
      }
      for (const auto& e : evs) {
        if (!reply(fd, {{"ok", true}, {"data", e.to_json()}})) return;
      }
      seq = evs.empty() ? d_.last_event_seq() : evs.back().seq;
      while (!stopping_) {
        if (d_.wait_event(seq, 500)) {
          for (const auto& e : d_.events_after(seq, 1000)) {
            if (!reply(fd, {{"ok", true}, {"data", e.to_json()}})) return;
            seq = e.seq;
          }
        }
        // Notice a client that went away even when nothing happens.
        pollfd p{fd, POLLIN | POLLRDHUP, 0};
        if (::poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR))) return;
      }
      return;
    }
    json out;
    try {
      out = {{"ok", true}, {"data", d_.handle(cmd, args)}};
    } catch (const CliError& e) {
      out = {{"ok", false}, {"error", e.what()}};
    } catch (const std::exception& e) {
      log_error("command " + cmd + " failed: " + e.what());
      out = {{"ok", false}, {"error", std::string("internal error: ") + e.what()}};
    }
    if (!reply(fd, out)) return;
  }
}

}  // namespace portcullis::ctl::daemon
