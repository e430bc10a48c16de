// server.h: the data plane's end of the dataplane channel.
//
// Server has no thread of its own: portcullis-dataplane's agent calls
// poll() from its main loop, between lifetime scans and table publishing,
// and the handler runs inside that call, on the agent's thread. Each step:
//
//   1. accept new peers; close at once those whose uid (SO_PEERCRED) is not
//      allowed, or beyond max_connections, counting them without logging
//      (a local process must not be able to fill the log);
//   2. read what each peer sent, cut it into frames, decode each one and
//      hand requests to the handler, in order;
//   3. queue one reply per frame: the handler's, or an error reply for a
//      frame that did not decode, was not a request, or was oversized;
//   4. write what the sockets take; the rest waits for the next step.
//
// A peer that stops reading its replies stops being read once
// max_write_queue bytes are queued for it, so it cannot make the server
// buffer without bound. A peer that loses framing (bad magic) gets an
// error reply with request id 0 and is closed once that is written.
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "control/api/frame_reader.h"
#include "control/api/message.h"
#include "control/api/socket.h"

namespace portcullis::ctl::api {

struct ServerOptions {
  std::string path;
  // Peers allowed to connect; empty means root and this process's uid.
  std::vector<uid_t> allowed_uids;
  size_t max_connections = 8;
  size_t max_write_queue = 64u << 20;
  // on_disconnect is called, from poll(), with the id of each peer once it
  // is gone (closed by either side). The agent aborts a transaction that
  // the peer left open, so one crashed client cannot wedge the channel.
  std::function<void(uint64_t peer)> on_disconnect;
};

// ServerCounters: the server's only report on what peers did wrong.
struct ServerCounters {
  uint64_t accepted = 0;
  uint64_t rejected_uid = 0;   // peer uid not in allowed_uids
  uint64_t rejected_full = 0;  // max_connections reached
  uint64_t requests = 0;       // frames handed to the handler
  uint64_t bad_frames = 0;     // frames answered with an error without the handler
  uint64_t disconnects = 0;
};

class Server {
 public:
  // Handler answers one request; it may move fields (keys) out of it. Its
  // reply's request_id is filled in by the server. An exception becomes a
  // kInternal reply carrying its what().
  using Handler = std::function<Reply(Message& request)>;

  // Binds and listens (see listen_unix); throws std::system_error.
  Server(ServerOptions opts, Handler handler);
  // Closes every connection and removes the socket file.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // poll runs one step, waiting up to timeout_ms (0: not at all, -1: until
  // something happens). Returns the number of requests handled.
  size_t poll(int timeout_ms);

  // broadcast queues an event (request id 0) to every peer and returns how
  // many peers it was queued for. It is written by the next poll().
  size_t broadcast(const Message& event);

  size_t connections() const { return conns_.size(); }
  // current_peer is the id of the peer whose request the handler is
  // running (ids start at 1 and are never reused); 0 outside the handler.
  uint64_t current_peer() const { return current_peer_; }
  const ServerCounters& counters() const { return counters_; }
  const std::string& path() const { return opts_.path; }

 private:
  struct Connection {
    UniqueFd fd;
    FrameReader reader;
    OutQueue out;
    uint64_t id = 0;
    bool closing = false;  // write what is queued, then close
    bool eof = false;
  };

  void accept_all();
  size_t serve(Connection& c);
  // answer queues the reply to one frame; true if the handler ran.
  bool answer(Connection& c, std::span<const uint8_t> frame);
  void queue(Connection& c, const Message& m);
  bool allowed(uid_t uid) const;

  ServerOptions opts_;
  Handler handler_;
  UniqueFd listen_fd_;
  ino_t socket_ino_ = 0;
  std::vector<std::unique_ptr<Connection>> conns_;
  std::vector<pollfd> pollfds_;  // kept between steps to save an allocation each
  ServerCounters counters_;
  uint64_t next_peer_ = 1;
  uint64_t current_peer_ = 0;
};

}  // namespace portcullis::ctl::api
