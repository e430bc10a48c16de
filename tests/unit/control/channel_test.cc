// channel_test.cc: Client and Server over a real UNIX socket in a
// temporary directory. The server runs its poll() loop on a thread of the
// test, as the data plane's agent would on its main lcore.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <thread>

#include "control/api/client.h"
#include <algorithm>

#include "control/api/codec.h"
#include "control/api/server.h"
#include "sample_messages.h"

namespace portcullis::ctl::api {
namespace {

class Channel : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/portcullis-channel-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/dataplane.sock";
  }

  void TearDown() override {
    stop();
    std::remove(path_.c_str());
    rmdir(dir_.c_str());
  }

  void start(Server::Handler h, ServerOptions opts = {}) {
    opts.path = path_;
    server_ = std::make_unique<Server>(opts, std::move(h));
    stop_ = false;
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        server_->poll(5);
        std::vector<Message> evs;
        {
          std::lock_guard lock(mu_);
          evs.swap(events_);
        }
        for (const Message& e : evs) server_->broadcast(e);
      }
    });
  }

  // stop joins the server thread; afterwards the test may read server_.
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  void emit(Message e) {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(e));
  }

  static Reply ok() { return Reply{}; }

  std::string dir_, path_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<Message> events_;
};

TEST_F(Channel, RequestAndReply) {
  start([](Message& m) -> Reply {
    if (std::holds_alternative<StatsGet>(m)) {
      return Reply{0, Status::kOk, "", Stats{{{"port.0.rx_packets", 5}, {"drop.replay", 2}}}};
    }
    if (auto* q = std::get_if<SaQuery>(&m)) {
      return Reply{0, Status::kNotFound, "no SA " + std::to_string(q->sa_id), {}};
    }
    return ok();
  });
  Client c = Client::connect(path_);
  EXPECT_TRUE(c.call(Begin{}).ok());
  Reply s = c.call(StatsGet{});
  ASSERT_TRUE(s.ok());
  const auto& counters = std::get<Stats>(s.payload).counters;
  ASSERT_EQ(counters.size(), 2u);
  EXPECT_EQ(counters[0].name, "port.0.rx_packets");
  EXPECT_EQ(counters[1].value, 2u);
  Reply q = c.call(SaQuery{0, 42});
  EXPECT_EQ(q.status, Status::kNotFound);
  EXPECT_EQ(q.error, "no SA 42");
  EXPECT_EQ(q.request_id, 3u);
}

TEST_F(Channel, PeersAreNamedAndTheirDisconnectsReported) {
  // The handler sees which peer sent each request; on_disconnect names the
  // peer that left, so the agent can abort the transaction it left open.
  std::mutex mu;
  std::vector<uint64_t> senders, gone;
  ServerOptions opts;
  opts.on_disconnect = [&](uint64_t p) {
    std::lock_guard lock(mu);
    gone.push_back(p);
  };
  Server* srv = nullptr;
  start(
      [&](Message&) -> Reply {
        std::lock_guard lock(mu);
        senders.push_back(srv->current_peer());
        return ok();
      },
      opts);
  srv = server_.get();
  {
    Client a = Client::connect(path_);
    Client b = Client::connect(path_);
    ASSERT_TRUE(a.call(Begin{}).ok());
    ASSERT_TRUE(b.call(Begin{}).ok());
    ASSERT_TRUE(a.call(Commit{}).ok());
  }  // both close
  for (int i = 0; i < 200; i++) {
    {
      std::lock_guard lock(mu);
      if (gone.size() == 2) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop();
  ASSERT_EQ(senders.size(), 3u);
  EXPECT_NE(senders[0], 0u);
  EXPECT_NE(senders[0], senders[1]);
  EXPECT_EQ(senders[0], senders[2]);
  ASSERT_EQ(gone.size(), 2u);
  std::sort(gone.begin(), gone.end());
  std::vector<uint64_t> want = {senders[0], senders[1]};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(gone, want);
  EXPECT_EQ(server_->current_peer(), 0u);
}

TEST_F(Channel, SocketIsMode0600) {
  start([](Message&) { return ok(); });
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

// The provisioning path: 100,000 SAs in one transaction, pipelined.
TEST_F(Channel, Pipelined100kSaAdd) {
  constexpr uint32_t kCount = 100'000;
  uint64_t seen = 0, id_sum = 0, bad = 0;
  start([&](Message& m) {
    if (auto* sa = std::get_if<SaAdd>(&m)) {
      ++seen;
      id_sum += sa->sa_id;
      const SaAdd want = testing::sample_sa_add(sa->sa_id - 1);
      if (!(sa->cipher_key == want.cipher_key) || sa->spi != want.spi) ++bad;
    }
    return ok();
  });
  Client c = Client::connect(path_);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<uint32_t> ids;
  ids.reserve(kCount + 2);
  ids.push_back(c.send_async(Begin{}));
  for (uint32_t i = 0; i < kCount; ++i) ids.push_back(c.send_async(testing::sample_sa_add(i)));
  ids.push_back(c.send_async(Commit{}));
  const std::vector<Reply> replies = c.wait_all();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("pipelined sa_add over the socket: %u in %.3f s = %.0f SAs/s\n", kCount, secs,
              kCount / secs);
  ASSERT_EQ(replies.size(), ids.size());
  for (size_t i = 0; i < replies.size(); ++i) {
    ASSERT_EQ(replies[i].request_id, ids[i]);
    ASSERT_TRUE(replies[i].ok()) << replies[i].error;
  }
  EXPECT_EQ(c.outstanding(), 0u);
  stop();
  EXPECT_EQ(seen, kCount);
  EXPECT_EQ(id_sum, uint64_t{kCount} * (kCount + 1) / 2);
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(server_->counters().requests, kCount + 2);
}

// With a tiny write queue the server stops reading the client while its
// replies pile up; the client reads them while it writes, so nothing
// deadlocks.
TEST_F(Channel, PipelineUnderBackpressure) {
  ServerOptions opts;
  opts.max_write_queue = 4096;
  start([](Message&) { return Reply{0, Status::kOk, std::string(200, 'x'), {}}; }, opts);
  ClientOptions copts;
  copts.write_batch = 1 << 20;
  Client c = Client::connect(path_, copts);
  for (uint32_t i = 0; i < 20'000; ++i) c.send_async(testing::sample_sa_add(i));
  EXPECT_EQ(c.wait_all().size(), 20'000u);
}

TEST_F(Channel, CallBetweenAsyncRequests) {
  start([](Message& m) {
    if (auto* d = std::get_if<SaDel>(&m)) {
      return Reply{0, d->sa_id % 2 ? Status::kNotFound : Status::kOk, "", {}};
    }
    return ok();
  });
  Client c = Client::connect(path_);
  for (uint32_t i = 0; i < 10; ++i) c.send_async(SaDel{0, i});
  EXPECT_TRUE(c.call(StatsGet{}).ok());
  std::vector<Reply> r = c.wait_all();
  const std::vector<Reply> more = c.drain_replies();
  r.insert(r.end(), more.begin(), more.end());
  ASSERT_EQ(r.size(), 10u);
  for (uint32_t i = 0; i < 10; ++i) {
    EXPECT_EQ(r[i].request_id, i + 1);
    EXPECT_EQ(r[i].ok(), i % 2 == 0) << i;  // request i + 1 deleted SA i
  }
}

TEST_F(Channel, EventsAreDelivered) {
  start([this](Message& m) {
    // Queued before the reply, so the client sees it during the call.
    if (std::holds_alternative<Flush>(m)) {
      server_->broadcast(SaExpire{0, 9, ExpireKind::kSoft, ExpireBy::kTime});
    }
    return ok();
  });
  Client c = Client::connect(path_);
  ASSERT_TRUE(c.call(Begin{}).ok());  // the server has accepted us
  emit(SaExpire{0, 42, ExpireKind::kHard, ExpireBy::kPackets});
  const Prefix host{IpAddr::v4(10, 0, 0, 1), 32};
  emit(Acquire{0, 7, Selector{host, host, 1, {}, {}}});
  emit(Punt{0, 1, {1, 2, 3}});
  auto e1 = c.poll_event(5000), e2 = c.poll_event(5000), e3 = c.poll_event(5000);
  ASSERT_TRUE(e1 && e2 && e3);
  EXPECT_TRUE(*e1 == Message(SaExpire{0, 42, ExpireKind::kHard, ExpireBy::kPackets}));
  EXPECT_TRUE(std::holds_alternative<Acquire>(*e2));
  EXPECT_TRUE(*e3 == Message(Punt{0, 1, {1, 2, 3}}));
  EXPECT_FALSE(c.poll_event(20));
  emit(SaExpire{0, 43, ExpireKind::kSoft, ExpireBy::kSeq});
  std::optional<Message> e4;
  for (int i = 0; i < 5000 && !e4; ++i) {
    e4 = c.poll_event(0);  // never waits
    if (!e4) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(e4);
  EXPECT_TRUE(std::holds_alternative<SaExpire>(*e4));

  std::vector<Message> seen;
  c.on_event([&seen](Message& e) { seen.push_back(e); });
  EXPECT_TRUE(c.call(Flush{}).ok());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0] == Message(SaExpire{0, 9, ExpireKind::kSoft, ExpireBy::kTime}));
}

TEST_F(Channel, DisallowedUidIsRejected) {
  ServerOptions opts;
  opts.allowed_uids = {geteuid() + 4242};  // everyone but us
  bool called = false;
  start(
      [&called](Message&) {
        called = true;
        return ok();
      },
      opts);
  Client c = Client::connect(path_);  // the kernel accepts into the backlog
  try {
    c.call(Begin{});
    ADD_FAILURE() << "call on a rejected connection returned";
  } catch (const ChannelError& e) {
    EXPECT_NE(std::string(e.what()).find("closed by the data plane"), std::string::npos)
        << e.what();
  }
  stop();
  EXPECT_FALSE(called);
  EXPECT_EQ(server_->counters().rejected_uid, 1u);
  EXPECT_EQ(server_->counters().accepted, 0u);
}

TEST_F(Channel, ConnectionLimit) {
  ServerOptions opts;
  opts.max_connections = 1;
  start([](Message&) { return ok(); }, opts);
  Client a = Client::connect(path_);
  ASSERT_TRUE(a.call(Begin{}).ok());
  Client b = Client::connect(path_);
  EXPECT_THROW(b.call(Begin{}), ChannelError);
  EXPECT_TRUE(a.call(Commit{}).ok());
  stop();
  EXPECT_EQ(server_->counters().rejected_full, 1u);
}

TEST_F(Channel, HandlerExceptionBecomesInternalError) {
  start([](Message&) -> Reply { throw std::runtime_error("table full of surprises"); });
  Client c = Client::connect(path_);
  Reply r = c.call(SaDel{0, 1});
  EXPECT_EQ(r.status, Status::kInternal);
  EXPECT_EQ(r.error, "sa_del failed: table full of surprises");
}

// write_all and read_replies talk to the server with raw bytes, as a
// broken or hostile peer would.
void write_all(int fd, std::span<const uint8_t> b) {
  while (!b.empty()) {
    pollfd p{fd, POLLOUT, 0};
    ASSERT_GT(poll(&p, 1, 5000), 0);
    const ssize_t n = send(fd, b.data(), b.size(), MSG_NOSIGNAL);
    ASSERT_GT(n, 0);
    b = b.subspan(static_cast<size_t>(n));
  }
}

std::vector<Reply> read_replies(int fd, size_t want, bool* eof = nullptr) {
  FrameReader r;
  std::vector<Reply> out;
  while (out.size() < want || eof) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) break;
    const auto rr = r.read_from(fd);
    for (auto it = r.next(); it.kind == FrameReader::Kind::kFrame; it = r.next()) {
      DecodeResult d = decode(it.frame);
      if (d) out.push_back(std::get<Reply>(*d));
    }
    if (rr.status != FrameReader::ReadStatus::kOk) {
      if (eof) *eof = true;
      break;
    }
  }
  return out;
}

Header header(MsgType t, uint32_t id, uint32_t len, uint16_t version = kVersion) {
  return Header{kMagic, version, static_cast<uint16_t>(t), id, len};
}

TEST_F(Channel, MalformedFramesGetErrorRepliesAndTheConnectionLives) {
  start([](Message&) { return ok(); });
  UniqueFd fd = connect_unix(path_);
  WireBuffer s(kHeaderSize);
  write_header(s.data(), header(MsgType::kBegin, 5, 0, 9));  // wrong version
  encode_to(Reply{8, Status::kOk, "", {}}, s);               // not a request
  encode_to(Begin{0}, s);                                    // request id 0
  const size_t at = s.size();
  s.resize(at + kHeaderSize);
  write_header(s.data() + at, header(MsgType::kSaAdd, 6, kMaxPayload + 1));  // oversized
  write_all(fd.get(), s);
  // The oversized payload follows; the server skips it without holding it.
  const std::vector<uint8_t> junk(1 << 20, 0x5a);
  for (uint32_t left = kMaxPayload + 1; left > 0;) {
    const uint32_t n = std::min<uint32_t>(left, static_cast<uint32_t>(junk.size()));
    write_all(fd.get(), std::span<const uint8_t>(junk.data(), n));
    left -= n;
  }
  write_all(fd.get(), encode(Commit{7}));
  const auto r = read_replies(fd.get(), 5);
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[0].request_id, 5u);
  EXPECT_EQ(r[0].status, Status::kVersionMismatch);
  EXPECT_NE(r[0].error.find("version 9 not supported: this side speaks version 1"),
            std::string::npos);
  EXPECT_EQ(r[1].request_id, 8u);
  EXPECT_EQ(r[1].status, Status::kUnknownType);
  EXPECT_EQ(r[2].request_id, 0u);
  EXPECT_EQ(r[2].status, Status::kInvalid);
  EXPECT_EQ(r[3].request_id, 6u);
  EXPECT_EQ(r[3].status, Status::kTooLarge);
  EXPECT_EQ(r[4].request_id, 7u);
  EXPECT_TRUE(r[4].ok());
  stop();
  EXPECT_EQ(server_->counters().bad_frames, 4u);
  EXPECT_EQ(server_->counters().requests, 1u);
}

TEST_F(Channel, BadMagicIsAnsweredThenClosed) {
  start([](Message&) { return ok(); });
  UniqueFd fd = connect_unix(path_);
  const uint8_t garbage[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  write_all(fd.get(), garbage);
  bool eof = false;
  const auto r = read_replies(fd.get(), 1, &eof);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].request_id, 0u);
  EXPECT_EQ(r[0].status, Status::kMalformed);
  EXPECT_NE(r[0].error.find("bad magic"), std::string::npos);
  EXPECT_TRUE(eof);
}

TEST_F(Channel, ClientSeesServerGoAway) {
  start([](Message&) { return ok(); });
  Client c = Client::connect(path_);
  ASSERT_TRUE(c.call(Begin{}).ok());
  stop();
  server_.reset();
  EXPECT_THROW(c.call(Commit{}), ChannelError);
  EXPECT_THROW(Client::connect(path_), std::system_error);
}

TEST_F(Channel, StaleSocketIsReplacedOthersAreNot) {
  {  // a socket file left behind by a crashed data plane
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path_.c_str());
    ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    close(s);
  }
  start([](Message&) { return ok(); });
  EXPECT_TRUE(Client::connect(path_).call(Begin{}).ok());
  // A live server's socket is not taken over.
  EXPECT_THROW(Server(ServerOptions{path_}, [](Message&) { return ok(); }), std::system_error);
  stop();
  server_.reset();
  struct stat st {};
  EXPECT_NE(stat(path_.c_str(), &st), 0) << "the server removes its socket";

  std::ofstream(path_) << "not a socket";
  try {
    Server s(ServerOptions{path_}, [](Message&) { return ok(); });
    ADD_FAILURE() << "replaced a regular file";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("exists and is not a socket"), std::string::npos);
  }
  EXPECT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

}  // namespace
}  // namespace portcullis::ctl::api
