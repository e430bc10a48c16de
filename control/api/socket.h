// socket.h: the UNIX stream socket under the dataplane channel: owned
// descriptors, listening and connecting, peer credentials, and the write
// queue that client and server share.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include "control/api/wire.h"

namespace portcullis::ctl::api {

// UniqueFd owns a file descriptor and closes it.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// listen_unix binds a non-blocking AF_UNIX stream socket at path with mode
// 0600 and listens. A stale socket file left by a dead process is
// replaced; a live one, or a file that is not a socket, is an error.
// Throws std::system_error whose text says what to fix.
UniqueFd listen_unix(const std::string& path);

// connect_unix connects a non-blocking AF_UNIX stream socket to path.
// Throws std::system_error.
UniqueFd connect_unix(const std::string& path);

// peer_uid is the effective uid of the process at the other end of a
// connected AF_UNIX socket, as the kernel recorded it at connect time.
std::optional<uid_t> peer_uid(int fd);

// OutQueue holds encoded frames until the socket takes them. Sent bytes are
// wiped: requests carry keys.
class OutQueue {
 public:
  // buffer is where frames are appended (encode_to).
  WireBuffer& buffer() { return buf_; }
  size_t pending() const { return buf_.size() - off_; }

  // write_to sends as much as fd takes without blocking. Returns false on
  // a connection error (errno set); true otherwise, even if bytes remain.
  bool write_to(int fd);

 private:
  void consume(size_t n);

  WireBuffer buf_;
  size_t off_ = 0;
};

}  // namespace portcullis::ctl::api
