// rcu.h: publishing immutable tables to workers (DESIGN.md, "Publishing
// state to workers").
//
// Concurrency contract. One writer, the agent, builds a complete new table
// off to the side and publishes it with one atomic pointer store. Readers
// are the workers: each loads the pointer once per burst with acquire
// semantics, uses it for that burst only, and then reports a quiescent
// state. After a store the writer waits until every online reader has
// reported a quiescent state at least once (a grace period: DPDK's QSBR,
// rte_rcu_qsbr), and only then frees the old table, so no reader can still
// hold it. Readers never wait on anything; the writer may block briefly.
// A reader that stops polling (blocking I/O, shutdown) goes offline first so
// that it does not stall grace periods.
#pragma once

#include <rte_rcu_qsbr.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace portcullis::dp {

// RcuDomain is one QSBR variable shared by every table a set of readers
// uses. Reader ids are 0..max_readers-1 (the worker index).
class RcuDomain {
 public:
  explicit RcuDomain(uint32_t max_readers);
  ~RcuDomain();
  RcuDomain(const RcuDomain&) = delete;
  RcuDomain& operator=(const RcuDomain&) = delete;

  // Reader side: call register_reader and online once when the worker
  // starts, quiescent once per loop iteration, offline before it blocks or
  // stops.
  void register_reader(uint32_t id) { rte_rcu_qsbr_thread_register(v_, id); }
  void online(uint32_t id) { rte_rcu_qsbr_thread_online(v_, id); }
  void quiescent(uint32_t id) { rte_rcu_qsbr_quiescent(v_, id); }
  void offline(uint32_t id) { rte_rcu_qsbr_thread_offline(v_, id); }
  void unregister_reader(uint32_t id) { rte_rcu_qsbr_thread_unregister(v_, id); }

  // Writer side: synchronize returns once every reader online now has
  // passed a quiescent state. Built from the inline start/check calls
  // rather than rte_rcu_qsbr_synchronize, so that ThreadSanitizer sees the
  // acquire loads that order a reader's last use before the free.
  void synchronize() {
    const uint64_t token = rte_rcu_qsbr_start(v_);
    rte_rcu_qsbr_check(v_, token, true);
  }
  uint32_t max_readers() const { return max_readers_; }

 private:
  rte_rcu_qsbr* v_;
  uint32_t max_readers_;
};

// Published<T> is a pointer to an immutable T that the agent replaces and
// workers read.
template <typename T>
class Published {
 public:
  explicit Published(RcuDomain& domain) : domain_(domain) {}
  ~Published() { delete cur_.load(std::memory_order_relaxed); }
  Published(const Published&) = delete;
  Published& operator=(const Published&) = delete;

  // get is the reader's one load per burst; may be null before the first
  // publish.
  const T* get() const { return cur_.load(std::memory_order_acquire); }

  // publish makes next visible, waits for a grace period and frees the
  // table it replaced. Writer only.
  void publish(std::unique_ptr<T> next) {
    T* old = cur_.exchange(next.release(), std::memory_order_acq_rel);
    if (old != nullptr) {
      domain_.synchronize();
      delete old;
    }
    publishes_++;
  }

  uint64_t publishes() const { return publishes_; }

 private:
  RcuDomain& domain_;
  std::atomic<T*> cur_{nullptr};
  uint64_t publishes_ = 0;
};

}  // namespace portcullis::dp
