// telemetry_mailbox.h: one request at a time from DPDK's telemetry threads
// to the agent, and its answer back.
//
// Why a mailbox. DPDK runs telemetry callbacks on its own threads (one per
// connected client). Worker counters are atomics and may be read from
// there, but the agent's state (the installed SAs, its own counters) is
// the agent's alone: a std::map being rebuilt by a commit cannot be read
// from another thread. Rather than share that state, a telemetry thread
// posts a request here and the agent answers it between two channel polls
// (Agent::step), with the same code that answers the channel's stats_get
// and sa_query. The agent never blocks on the mailbox: it looks at one
// atomic per loop and answers only a request that is already posted.
//
// Concurrency contract. Callers (telemetry threads) take turns on
// callers_. state_ hands the request and the response over:
//   idle    --caller writes req_, posts-->  posted
//   posted  --agent claims-->               claimed   (agent reads req_, writes resp_)
//   claimed --agent is done-->              done      (caller reads resp_)
//   done    --caller takes the answer-->    idle
//   posted  --caller gives up (timeout)-->  idle      (the agent never saw it)
// A caller that times out after the claim waits for the answer, which the
// agent is already computing, so no late answer can land in a later
// request's response.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "control/api/message.h"

namespace portcullis::dp {

struct TelemetryRequest {
  enum class Kind : uint8_t { kStats, kSa, kSaCount };
  Kind kind = Kind::kStats;
  uint32_t sa_id = 0;
};

struct TelemetryResponse {
  bool ok = false;
  std::string error;
  ctl::api::Stats stats;  // kStats
  ctl::api::SaInfo sa;    // kSa
  uint64_t sa_count = 0;  // kSaCount
};

class TelemetryMailbox {
 public:
  // call posts req and waits up to timeout for the agent to take it.
  // Returns false if the agent did not (busy with a long commit, or
  // stopped); *out is then untouched. Telemetry threads only.
  bool call(const TelemetryRequest& req, TelemetryResponse* out,
            std::chrono::milliseconds timeout) {
    std::lock_guard<std::mutex> turn(callers_);
    req_ = req;
    resp_ = TelemetryResponse{};
    state_.store(kPosted, std::memory_order_release);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (state_.load(std::memory_order_acquire) == kDone) {
        *out = std::move(resp_);
        state_.store(kIdle, std::memory_order_relaxed);
        return true;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        int expected = kPosted;
        if (state_.compare_exchange_strong(expected, kIdle, std::memory_order_acq_rel))
          return false;
        // Claimed: the agent is answering now; wait for it.
      }
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  // serve answers a posted request with answer(const TelemetryRequest&,
  // TelemetryResponse&); returns whether there was one. Agent only.
  template <typename F>
  bool serve(F&& answer) {
    if (state_.load(std::memory_order_relaxed) != kPosted) return false;
    int expected = kPosted;
    if (!state_.compare_exchange_strong(expected, kClaimed, std::memory_order_acquire))
      return false;
    answer(static_cast<const TelemetryRequest&>(req_), resp_);
    state_.store(kDone, std::memory_order_release);
    return true;
  }

 private:
  enum : int { kIdle, kPosted, kClaimed, kDone };
  std::mutex callers_;  // telemetry threads take turns; the agent never takes it
  std::atomic<int> state_{kIdle};
  TelemetryRequest req_;    // caller: rw while idle; agent: ro while claimed
  TelemetryResponse resp_;  // agent: rw while claimed; caller: rw once done
};

}  // namespace portcullis::dp
