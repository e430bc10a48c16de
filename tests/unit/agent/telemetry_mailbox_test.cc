// telemetry_mailbox_test.cc: the hand-over between DPDK's telemetry
// threads and the agent (dataplane/agent/telemetry_mailbox.h): an answered
// request, a timeout with no agent, a request the agent claims just before
// the caller's deadline, and many callers against one serving agent, each
// getting the answer to its own request.
#include "dataplane/agent/telemetry_mailbox.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace portcullis::dp {
namespace {

using namespace std::chrono_literals;

// echo answers kSa requests with the sa_id in every field.
void echo(const TelemetryRequest& q, TelemetryResponse& r) {
  r.ok = q.kind == TelemetryRequest::Kind::kSa;
  r.sa.packets = q.sa_id;
  r.sa.seq = q.sa_id;
}

TEST(TelemetryMailbox, NothingToServe) {
  TelemetryMailbox mb;
  bool called = false;
  EXPECT_FALSE(mb.serve([&](const TelemetryRequest&, TelemetryResponse&) { called = true; }));
  EXPECT_FALSE(called);
}

TEST(TelemetryMailbox, AgentAnswers) {
  TelemetryMailbox mb;
  std::atomic<bool> stop{false};
  std::thread agent([&] {
    while (!stop.load()) {
      mb.serve(echo);
      std::this_thread::sleep_for(100us);
    }
  });
  TelemetryResponse r;
  ASSERT_TRUE(mb.call({TelemetryRequest::Kind::kSa, 42}, &r, 2s));
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.sa.packets, 42u);
  stop = true;
  agent.join();
}

TEST(TelemetryMailbox, TimesOutWithoutAgentAndLeavesNothingBehind) {
  TelemetryMailbox mb;
  TelemetryResponse r;
  r.sa_count = 7;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(mb.call({TelemetryRequest::Kind::kSa, 1}, &r, 50ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 50ms);
  EXPECT_EQ(r.sa_count, 7u);  // untouched
  // The withdrawn request is gone: an agent arriving late finds nothing.
  EXPECT_FALSE(mb.serve(echo));
  // And the next request works.
  std::thread agent([&] {
    for (int i = 0; i < 20000 && !mb.serve(echo); ++i) std::this_thread::sleep_for(50us);
  });
  ASSERT_TRUE(mb.call({TelemetryRequest::Kind::kSa, 2}, &r, 2s));
  EXPECT_EQ(r.sa.seq, 2u);
  agent.join();
}

// The agent claims the request and is still answering when the caller's
// deadline passes: the caller waits for that answer instead of leaving it
// to land in the next request's response.
TEST(TelemetryMailbox, ClaimedRequestIsWaitedFor) {
  TelemetryMailbox mb;
  std::thread agent([&] {
    for (int i = 0; i < 20000; ++i) {
      if (mb.serve([](const TelemetryRequest& q, TelemetryResponse& r) {
            std::this_thread::sleep_for(100ms);  // longer than the caller's timeout
            echo(q, r);
          })) {
        return;
      }
      std::this_thread::sleep_for(50us);
    }
  });
  TelemetryResponse r;
  ASSERT_TRUE(mb.call({TelemetryRequest::Kind::kSa, 9}, &r, 20ms));
  EXPECT_EQ(r.sa.seq, 9u);
  agent.join();
}

TEST(TelemetryMailbox, ManyCallersOneAgent) {
  TelemetryMailbox mb;
  std::atomic<bool> stop{false};
  std::atomic<int> served{0};
  std::thread agent([&] {
    while (!stop.load()) {
      if (mb.serve(echo)) served++;
    }
  });
  constexpr int kCallers = 4, kCalls = 200;
  std::atomic<int> wrong{0}, answered{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&, c] {
      for (int i = 0; i < kCalls; ++i) {
        const uint32_t id = static_cast<uint32_t>(c * 100000 + i);
        TelemetryResponse r;
        if (!mb.call({TelemetryRequest::Kind::kSa, id}, &r, 2s)) continue;
        answered++;
        if (r.sa.packets != id || r.sa.seq != id) wrong++;
      }
    });
  }
  for (auto& t : callers) t.join();
  stop = true;
  agent.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(answered.load(), kCallers * kCalls);
  EXPECT_EQ(served.load(), kCallers * kCalls);
}

}  // namespace
}  // namespace portcullis::dp
