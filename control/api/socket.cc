#include "control/api/socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace portcullis::ctl::api {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof sa.sun_path) {
    errno = ENAMETOOLONG;
    fail("dataplane channel path '" + path + "' must be 1 to " +
         std::to_string(sizeof sa.sun_path - 1) + " bytes");
  }
  std::memcpy(sa.sun_path, path.data(), path.size());
  return sa;
}

UniqueFd new_socket() {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) fail("socket(AF_UNIX)");
  return fd;
}

// remove_stale unlinks a socket file that nobody serves, so that a data
// plane restarted after a crash can bind again; anything else stays.
void remove_stale(const std::string& path, const sockaddr_un& sa) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    fail("stat " + path);
  }
  if (!S_ISSOCK(st.st_mode)) {
    errno = EEXIST;
    fail(path + " exists and is not a socket; remove it or choose another channel path");
  }
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe) fail("socket(AF_UNIX)");
  if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0) {
    errno = EADDRINUSE;
    fail(path + " is served by another process; stop the other data plane first");
  }
  if (errno != ECONNREFUSED) fail("probe " + path);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail("remove stale socket " + path);
}

}  // namespace

UniqueFd listen_unix(const std::string& path) {
  const sockaddr_un sa = unix_address(path);
  UniqueFd fd = new_socket();
  // Linux creates the socket file with the socket inode's mode (less the
  // umask), so setting it first means the file is never more open than
  // 0600, not even between bind and chmod. The chmod below is for kernels
  // that ignore this; peer credentials are checked on accept regardless.
  if (::fchmod(fd.get(), 0600) != 0) fail("fchmod socket");
  remove_stale(path, sa);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    fail("bind " + path + " (does its directory exist and is it writable?)");
  }
  if (::chmod(path.c_str(), 0600) != 0) fail("chmod 0600 " + path);
  if (::listen(fd.get(), 64) != 0) fail("listen " + path);
  return fd;
}

UniqueFd connect_unix(const std::string& path) {
  const sockaddr_un sa = unix_address(path);
  // Connect while blocking, so that a full backlog waits rather than fails
  // with EAGAIN, then switch to non-blocking for the I/O loop.
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) fail("socket(AF_UNIX)");
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    fail("connect " + path + " (is portcullis-dataplane running, and is this its channel path?)");
  }
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) != 0) fail("fcntl O_NONBLOCK");
  return fd;
}

std::optional<uid_t> peer_uid(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) {
    return std::nullopt;
  }
  return cred.uid;
}

bool OutQueue::write_to(int fd) {
  while (pending() != 0) {
    // MSG_NOSIGNAL: a peer that went away is an error to report, not a
    // SIGPIPE that kills the process.
    const ssize_t n = ::send(fd, buf_.data() + off_, pending(), MSG_NOSIGNAL);
    if (n > 0) {
      consume(static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return true;
    } else {
      if (n == 0) errno = EPIPE;
      return false;
    }
  }
  return true;
}

void OutQueue::consume(size_t n) {
  off_ += n;
  if (off_ == buf_.size()) {
    crypto::wipe(buf_.data(), buf_.size());
    buf_.clear();
    off_ = 0;
  } else if (off_ >= (1u << 20) && off_ >= buf_.size() / 2) {
    // Reclaim the sent prefix of a long queue; wipe the bytes the move
    // leaves behind.
    const size_t live = buf_.size() - off_;
    std::memmove(buf_.data(), buf_.data() + off_, live);
    crypto::wipe(buf_.data() + live, off_);
    buf_.resize(live);
    off_ = 0;
  }
}

}  // namespace portcullis::ctl::api
