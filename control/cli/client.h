// client.h: portcullisctl's side of the UNIX socket to portcullisd
// (control/daemon/PROTOCOL.md): one JSON object per line each way.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>

namespace portcullis::ctl::cli {

inline constexpr const char* kDefaultSocket = "/run/portcullis/portcullisd.sock";

// ConnectError is a failure to reach or keep talking to portcullisd; its
// message says what to check. portcullisctl exits with status 3.
class ConnectError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// connect_error_message explains a failed connect(2) on `path` with errno
// `err`: a missing socket or a refused connection means the daemon is not
// running; a permission error means the user is not root or in the group.
std::string connect_error_message(const std::string& path, int err);

class Client {
 public:
  // connect opens the socket; throws ConnectError.
  static Client connect(const std::string& path);

  Client(Client&& other) noexcept;
  Client& operator=(Client&&) = delete;
  Client(const Client&) = delete;
  ~Client();

  // send writes one request line. Throws ConnectError.
  void send(const nlohmann::json& request);

  // read_reply waits up to timeout_ms (-1: forever) for the next line and
  // parses it. Returns nothing when the daemon closed the connection.
  // Throws ConnectError on timeout or a reply that is not JSON. A signal
  // interrupts the wait: then it returns nothing and interrupted() is true.
  std::optional<nlohmann::json> read_reply(int timeout_ms);

  // call sends one request and reads its reply; a closed connection is a
  // ConnectError.
  nlohmann::json call(const nlohmann::json& request, int timeout_ms);

  bool interrupted() const { return interrupted_; }

 private:
  Client(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  int fd_;
  std::string path_;
  std::string buf_;
  bool interrupted_ = false;
};

}  // namespace portcullis::ctl::cli
