// cli_server.h: the control socket that portcullisctl talks to
// (PROTOCOL.md). Root, or members of the configured group, only: the
// socket file is root:GROUP 0660 (0600 when the group does not exist) and
// every connection's peer credentials are checked again on accept.
#pragma once

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "control/api/socket.h"

namespace portcullis::ctl::daemon {

class Daemon;

class CliServer {
 public:
  // Throws std::system_error with a readable message.
  CliServer(Daemon& d, const std::string& path, const std::string& group);
  ~CliServer();
  void stop();

  // peer_allowed: uid 0, or a member (primary or supplementary) of gid.
  static bool peer_allowed(int fd, long gid, std::string* who);

 private:
  void accept_loop();
  void serve(int fd);

  Daemon& d_;
  std::string path_;
  long gid_ = -1;  // -1: no such group, root only
  api::UniqueFd listen_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::mutex mu_;
  std::set<int> conns_;
  int active_ = 0;
};

}  // namespace portcullis::ctl::daemon
