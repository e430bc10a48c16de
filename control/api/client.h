// client.h: the daemon's end of the dataplane channel (tests use it too
// until portcullisd exists).
//
// Blocking calls over a non-blocking socket. call() sends one request and
// waits for its reply. For provisioning, send_async() queues requests
// without waiting: they leave in large writes while the replies of earlier
// ones are read back, and wait_all() collects what is outstanding. Reading
// while writing is what keeps a long pipeline from deadlocking with a
// server that stops reading a peer that does not read its replies.
//
// Events (sa_expire, acquire, punt) can arrive during any call. With an
// event handler set they are passed to it there and then; otherwise they
// queue for poll_event(). The handler must not call back into the Client.
//
// Not thread-safe: one thread drives a Client. Errors on the connection
// (closed, timed out, a frame that does not decode) throw ChannelError;
// the Client is unusable after that.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "control/api/frame_reader.h"
#include "control/api/message.h"
#include "control/api/socket.h"

namespace portcullis::ctl::api {

class ChannelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ClientOptions {
  // Give up when the data plane makes no progress for this long.
  int timeout_ms = 30'000;
  // send_async writes once this many bytes are queued.
  size_t write_batch = 256u << 10;
};

class Client {
 public:
  // connect opens the channel at path; throws std::system_error.
  static Client connect(const std::string& path, ClientOptions opts = {});

  // call sends m with a fresh request id and returns its reply. Replies to
  // earlier send_async requests that arrive meanwhile are kept for
  // wait_all or drain_replies.
  Reply call(Message m);

  // send_async queues m with a fresh request id and returns that id. It
  // blocks only while the queue is over write_batch and the socket full.
  uint32_t send_async(Message m);

  // flush writes every queued request.
  void flush();

  // wait_all flushes, waits for the reply to every send_async request, and
  // returns the replies not collected yet, in the order they came (the
  // server answers in request order).
  std::vector<Reply> wait_all();

  // drain_replies returns, without waiting, the replies that have arrived.
  std::vector<Reply> drain_replies();

  // outstanding counts send_async requests still without a reply.
  size_t outstanding() const { return outstanding_; }

  using EventHandler = std::function<void(Message& event)>;
  void on_event(EventHandler h) { on_event_ = std::move(h); }

  // poll_event returns the next queued event, waiting up to timeout_ms.
  std::optional<Message> poll_event(int timeout_ms);

 private:
  Client(UniqueFd fd, std::string path, ClientOptions opts);
  uint32_t enqueue(Message& m);
  // pump waits up to timeout_ms for the socket, writes what it takes and
  // reads what arrived. Returns false if nothing happened in time.
  bool pump(int timeout_ms);
  void take(std::span<const uint8_t> frame);
  // write_out writes what the socket takes; throws if the peer is gone.
  void write_out();
  [[noreturn]] void broken(const std::string& why);
  [[noreturn]] void closed();

  UniqueFd fd_;
  std::string path_;
  ClientOptions opts_;
  FrameReader reader_;
  OutQueue out_;
  uint32_t next_id_ = 1;
  size_t outstanding_ = 0;
  uint32_t call_id_ = 0;  // the request call() waits for, or 0
  std::optional<Reply> call_reply_;
  std::vector<Reply> replies_;
  std::deque<Message> events_;
  EventHandler on_event_;
};

}  // namespace portcullis::ctl::api
