#include "control/api/server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>

#include "control/api/codec.h"

namespace portcullis::ctl::api {

Server::Server(ServerOptions opts, Handler handler)
    : opts_(std::move(opts)), handler_(std::move(handler)) {
  if (opts_.allowed_uids.empty()) opts_.allowed_uids = {0, ::geteuid()};
  listen_fd_ = listen_unix(opts_.path);
  struct stat st {};
  if (::stat(opts_.path.c_str(), &st) == 0) socket_ino_ = st.st_ino;
}

Server::~Server() {
  conns_.clear();
  listen_fd_.reset();
  // Remove the file only if it is still ours: a successor may have
  // replaced it already.
  struct stat st {};
  if (::lstat(opts_.path.c_str(), &st) == 0 && st.st_ino == socket_ino_) {
    ::unlink(opts_.path.c_str());
  }
}

bool Server::allowed(uid_t uid) const {
  return std::find(opts_.allowed_uids.begin(), opts_.allowed_uids.end(), uid) !=
         opts_.allowed_uids.end();
}

void Server::accept_all() {
  for (;;) {
    UniqueFd fd(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) return;  // EAGAIN, or a peer that vanished before accept
    const auto uid = peer_uid(fd.get());
    if (!uid || !allowed(*uid)) {
      ++counters_.rejected_uid;
      continue;  // fd closes here
    }
    if (conns_.size() >= opts_.max_connections) {
      ++counters_.rejected_full;
      continue;
    }
    ++counters_.accepted;
    auto c = std::make_unique<Connection>();
    c->fd = std::move(fd);
    c->id = next_peer_++;
    conns_.push_back(std::move(c));
  }
}

void Server::queue(Connection& c, const Message& m) { encode_to(m, c.out.buffer()); }

bool Server::answer(Connection& c, std::span<const uint8_t> frame) {
  DecodeResult d = decode(frame);
  if (!d) {
    ++counters_.bad_frames;
    queue(c, error_reply(d.error()));
    return false;
  }
  Message& m = *d;
  const uint32_t id = request_id_of(m);
  const MsgType type = type_of(m);
  if (!is_request(type)) {
    ++counters_.bad_frames;
    queue(c, Reply{id,
                   Status::kUnknownType,
                   std::string(type_name(type)) +
                       " is not a request: replies and events flow from the data plane to the "
                       "daemon",
                   {}});
    return false;
  }
  if (id == 0) {
    // Request id 0 is reserved for events and connection-level replies; a
    // reply to it could not be told apart from those.
    ++counters_.bad_frames;
    queue(c, Reply{0,
                   Status::kInvalid,
                   std::string(type_name(type)) + " with request_id 0; number requests from 1",
                   {}});
    return false;
  }
  ++counters_.requests;
  Reply r;
  try {
    current_peer_ = c.id;
    r = handler_(m);
  } catch (const std::exception& e) {
    r = Reply{0, Status::kInternal, std::string(type_name(type)) + " failed: " + e.what(), {}};
  }
  current_peer_ = 0;
  r.request_id = id;
  r.error = clamp_error(std::move(r.error));
  try {
    queue(c, r);
  } catch (const std::length_error& e) {
    // A payload too large for one frame (a stats list beyond 16 MiB) is a
    // data plane bug; say so instead of dropping the reply.
    queue(c, Reply{id, Status::kInternal, std::string("reply not sent: ") + e.what(), {}});
  }
  return true;
}

size_t Server::serve(Connection& c) {
  size_t handled = 0;
  if (!c.closing && !c.eof && c.out.pending() < opts_.max_write_queue) {
    const auto rr = c.reader.read_from(c.fd.get());
    if (rr.status != FrameReader::ReadStatus::kOk) c.eof = true;
    for (;;) {
      FrameReader::Item it = c.reader.next();
      if (it.kind == FrameReader::Kind::kNeedMore) break;
      if (it.kind == FrameReader::Kind::kFrame) {
        handled += answer(c, it.frame);
        continue;
      }
      ++counters_.bad_frames;
      queue(c, error_reply(it.error));
      if (it.kind == FrameReader::Kind::kFatal) {
        c.closing = true;
        break;
      }
    }
  }
  if (!c.out.write_to(c.fd.get())) {
    c.eof = true;
    c.closing = true;
    c.out = OutQueue();  // the peer is gone; drop (and wipe) its replies
  }
  return handled;
}

size_t Server::poll(int timeout_ms) {
  std::vector<pollfd>& fds = pollfds_;
  fds.clear();
  fds.push_back({listen_fd_.get(), POLLIN, 0});
  for (const auto& c : conns_) {
    short ev = 0;
    if (!c->closing && !c->eof && c->out.pending() < opts_.max_write_queue) ev |= POLLIN;
    if (c->out.pending() != 0) ev |= POLLOUT;
    fds.push_back({c->fd.get(), ev, 0});
  }
  const int n = ::poll(fds.data(), fds.size(), timeout_ms);
  if (n <= 0) return 0;  // timeout, or EINTR: the caller's loop comes back
  if (fds[0].revents & POLLIN) accept_all();

  size_t handled = 0;
  // conns_ may have grown in accept_all; only the polled ones have revents.
  for (size_t i = 0; i + 1 < fds.size(); ++i) {
    if (fds[i + 1].revents != 0) handled += serve(*conns_[i]);
  }
  std::vector<uint64_t> gone_ids;
  const auto done = [&](const std::unique_ptr<Connection>& c) {
    const bool gone = (c->eof || c->closing) && c->out.pending() == 0;
    if (gone) {
      ++counters_.disconnects;
      gone_ids.push_back(c->id);
    }
    return gone;
  };
  conns_.erase(std::remove_if(conns_.begin(), conns_.end(), done), conns_.end());
  if (opts_.on_disconnect) {
    for (uint64_t id : gone_ids) opts_.on_disconnect(id);
  }
  return handled;
}

size_t Server::broadcast(const Message& event) {
  size_t n = 0;
  for (auto& c : conns_) {
    if (c->closing) continue;
    queue(*c, event);
    c->out.write_to(c->fd.get());
    ++n;
  }
  return n;
}

}  // namespace portcullis::ctl::api
