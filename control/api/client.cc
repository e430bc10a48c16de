#include "control/api/client.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "control/api/codec.h"

namespace portcullis::ctl::api {

Client::Client(UniqueFd fd, std::string path, ClientOptions opts)
    : fd_(std::move(fd)), path_(std::move(path)), opts_(opts) {}

Client Client::connect(const std::string& path, ClientOptions opts) {
  return Client(connect_unix(path), path, opts);
}

void Client::broken(const std::string& why) {
  fd_.reset();
  throw ChannelError("dataplane channel " + path_ + ": " + why);
}

void Client::closed() {
  broken("closed by the data plane (if at once: is uid " + std::to_string(::geteuid()) +
         " among its allowed peers?)");
}

void Client::write_out() {
  if (out_.write_to(fd_.get())) return;
  if (errno == EPIPE || errno == ECONNRESET) closed();
  broken(std::string("write: ") + std::strerror(errno));
}

uint32_t Client::enqueue(Message& m) {
  if (!fd_) throw ChannelError("dataplane channel " + path_ + ": used after an error");
  if (!is_request(type_of(m))) {
    throw std::invalid_argument(std::string(type_name(type_of(m))) + " is not a request");
  }
  const uint32_t id = next_id_;
  next_id_ = next_id_ == UINT32_MAX ? 1 : next_id_ + 1;  // 0 is for events
  set_request_id(m, id);
  encode_to(m, out_.buffer());
  return id;
}

Reply Client::call(Message m) {
  call_id_ = enqueue(m);
  call_reply_.reset();
  while (!call_reply_) {
    if (!pump(opts_.timeout_ms)) {
      broken("no reply to " + std::string(type_name(type_of(m))) + " within " +
             std::to_string(opts_.timeout_ms) + " ms");
    }
  }
  call_id_ = 0;
  Reply r = std::move(*call_reply_);
  call_reply_.reset();
  return r;
}

uint32_t Client::send_async(Message m) {
  const uint32_t id = enqueue(m);
  ++outstanding_;
  if (out_.pending() >= opts_.write_batch) {
    // Write now; if the socket is full, read replies until it drains
    // below the batch size, so neither side waits on the other forever.
    write_out();
    while (out_.pending() >= opts_.write_batch) {
      if (!pump(opts_.timeout_ms)) broken("data plane stopped reading requests");
    }
  }
  return id;
}

void Client::flush() {
  while (out_.pending() != 0) {
    if (!pump(opts_.timeout_ms)) broken("data plane stopped reading requests");
  }
}

std::vector<Reply> Client::wait_all() {
  while (outstanding_ != 0) {
    if (!pump(opts_.timeout_ms)) {
      broken(std::to_string(outstanding_) + " replies missing after " +
             std::to_string(opts_.timeout_ms) + " ms without progress");
    }
  }
  return std::exchange(replies_, {});
}

std::vector<Reply> Client::drain_replies() {
  if (fd_) pump(0);
  return std::exchange(replies_, {});
}

std::optional<Message> Client::poll_event(int timeout_ms) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  // At least one pump, so that poll_event(0) looks at the socket.
  while (events_.empty() && fd_) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pump(static_cast<int>(std::max<int64_t>(left, 0)));
    if (left <= 0) break;
  }
  if (events_.empty()) return std::nullopt;
  Message m = std::move(events_.front());
  events_.pop_front();
  return m;
}

bool Client::pump(int timeout_ms) {
  if (!fd_) throw ChannelError("dataplane channel " + path_ + ": used after an error");
  // Write first without polling: the socket usually has room.
  if (out_.pending() != 0) write_out();
  pollfd p{fd_.get(), static_cast<short>(POLLIN | (out_.pending() ? POLLOUT : 0)), 0};
  const int n = ::poll(&p, 1, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return true;
    broken(std::string("poll: ") + std::strerror(errno));
  }
  if (n == 0) return false;
  if (p.revents & POLLOUT) write_out();
  if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
    const auto rr = reader_.read_from(fd_.get());
    for (;;) {
      FrameReader::Item it = reader_.next();
      if (it.kind == FrameReader::Kind::kNeedMore) break;
      if (it.kind != FrameReader::Kind::kFrame) broken("data plane sent " + it.error.message);
      take(it.frame);
    }
    if (rr.status == FrameReader::ReadStatus::kEof ||
        (rr.status == FrameReader::ReadStatus::kError && rr.err == ECONNRESET)) {
      closed();
    }
    if (rr.status == FrameReader::ReadStatus::kError) {
      broken(std::string("read: ") + std::strerror(rr.err));
    }
  }
  return true;
}

void Client::take(std::span<const uint8_t> frame) {
  DecodeResult d = decode(frame);
  if (!d) broken("undecodable frame from the data plane: " + d.error().message);
  Message& m = *d;
  const MsgType type = type_of(m);
  if (is_event(type)) {
    if (on_event_) {
      on_event_(m);
    } else {
      events_.push_back(std::move(m));
    }
    return;
  }
  if (type != MsgType::kReply) broken(std::string("data plane sent a request: ") + type_name(type));
  Reply& r = std::get<Reply>(m);
  if (r.request_id == 0) {
    // The server could not read our stream (lost framing) and will close.
    broken("data plane refused the stream: " + r.error);
  }
  if (r.request_id == call_id_) {
    call_reply_ = std::move(r);
    return;
  }
  if (outstanding_ == 0) {
    broken("reply to request " + std::to_string(r.request_id) + ", which is not outstanding");
  }
  --outstanding_;
  replies_.push_back(std::move(r));
}

}  // namespace portcullis::ctl::api
