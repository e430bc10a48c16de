// client.cc: the UNIX socket to portcullisd.
#include "control/cli/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace portcullis::ctl::cli {

namespace {

// A reply line longer than this is not something portcullisd sends; stop
// reading rather than fill memory.
constexpr size_t kMaxReplyLine = 256u << 20;

}  // namespace

std::string connect_error_message(const std::string& path, int err) {
  std::string out = "cannot connect to " + path + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
    case ECONNREFUSED:
      out += " — is portcullisd running? (systemctl status portcullisd)";
      break;
    case EACCES:
    case EPERM:
      out += " — you must be root or in group portcullis";
      break;
    case ENOTSOCK:
      out += " — that is not portcullisd's socket; check --socket or PORTCULLIS_SOCKET";
      break;
    default:
      break;
  }
  return out;
}

Client Client::connect(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    throw ConnectError("cannot connect to \"" + path + "\": a socket path must be 1 to " +
                       std::to_string(sizeof addr.sun_path - 1) + " bytes");
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw ConnectError(std::string("socket: ") + std::strerror(errno));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd);
    throw ConnectError(connect_error_message(path, err));
  }
  return Client(fd, path);
}

Client::Client(Client&& other) noexcept
    : fd_(other.fd_), path_(std::move(other.path_)), buf_(std::move(other.buf_)) {
  other.fd_ = -1;
}

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

void Client::send(const nlohmann::json& request) {
  std::string line = request.dump() + "\n";
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::send(fd_, line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw ConnectError("lost the connection to portcullisd on " + path_ + ": " +
                         std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
}

std::optional<nlohmann::json> Client::read_reply(int timeout_ms) {
  for (;;) {
    size_t nl = buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      try {
        return nlohmann::json::parse(line);
      } catch (const nlohmann::json::parse_error&) {
        throw ConnectError("portcullisd on " + path_ +
                           " sent a reply that is not JSON: " + line.substr(0, 200));
      }
    }
    if (buf_.size() > kMaxReplyLine) throw ConnectError("portcullisd sent a reply over 256 MiB");
    pollfd pfd{fd_, POLLIN, 0};
    int r = ::poll(&pfd, 1, timeout_ms);
    if (r < 0) {
      if (errno == EINTR) {
        interrupted_ = true;
        return std::nullopt;
      }
      throw ConnectError(std::string("poll: ") + std::strerror(errno));
    }
    if (r == 0) {
      throw ConnectError("portcullisd on " + path_ + " did not reply within " +
                         std::to_string(timeout_ms / 1000) + " s");
    }
    char chunk[65536];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0) {
      if (errno == EINTR) {
        interrupted_ = true;
        return std::nullopt;
      }
      throw ConnectError("lost the connection to portcullisd on " + path_ + ": " +
                         std::strerror(errno));
    }
    if (n == 0) return std::nullopt;
    buf_.append(chunk, static_cast<size_t>(n));
  }
}

nlohmann::json Client::call(const nlohmann::json& request, int timeout_ms) {
  send(request);
  auto reply = read_reply(timeout_ms);
  if (!reply) {
    if (interrupted_) throw ConnectError("interrupted");
    throw ConnectError("portcullisd closed the connection on " + path_ + " without replying");
  }
  return *reply;
}

}  // namespace portcullis::ctl::cli
