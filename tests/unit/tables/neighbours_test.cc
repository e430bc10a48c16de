// neighbours_test.cc: the neighbour table's lifecycle (resolve, answer,
// stale, probe, expire, remove), capacity and compaction, then reader
// threads looking up while the agent thread rewrites the same entries: a
// torn read would show as a MAC whose six bytes differ.
#include "dataplane/tables/neighbours.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

namespace portcullis::dp {
namespace {

NeighbourKey nk(uint16_t port, const char* addr) { return {port, *IpAddress::parse(addr)}; }

rte_ether_addr mac(uint8_t b) { return rte_ether_addr{{b, b, b, b, b, b}}; }

bool same(const rte_ether_addr& a, const rte_ether_addr& b) {
  return std::equal(a.addr_bytes, a.addr_bytes + 6, b.addr_bytes);
}

constexpr AgeingPolicy kPolicy{.reachable_time = 100, .stale_time = 1000, .incomplete_time = 60};

TEST(Neighbours, ResolveThenAnswer) {
  NeighbourTable t(64, 10);
  rte_ether_addr m{};
  const NeighbourKey a = nk(0, "192.168.0.1");
  EXPECT_EQ(t.lookup(a, &m, 1), NeighbourState::kNone);
  EXPECT_TRUE(t.start_resolution(a, 1));
  EXPECT_TRUE(t.start_resolution(a, 2));  // already in progress: no change
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.lookup(a, &m, 3), NeighbourState::kIncomplete);
  EXPECT_TRUE(t.update(a, mac(0x11), NeighbourState::kReachable, 4));
  EXPECT_EQ(t.lookup(a, &m, 5), NeighbourState::kReachable);
  EXPECT_TRUE(same(m, mac(0x11)));
  // Neither another port nor the other family shares the entry.
  EXPECT_EQ(t.lookup(nk(1, "192.168.0.1"), &m, 5), NeighbourState::kNone);
  EXPECT_EQ(t.lookup(nk(0, "c0a8:1::"), &m, 5), NeighbourState::kNone);
  EXPECT_EQ(t.lookup(nk(0, "192.168.0.2"), &m, 5), NeighbourState::kNone);
  // IPv6 and a changed address.
  const NeighbourKey b = nk(0, "fe80::1");
  EXPECT_TRUE(t.update(b, mac(0x22), NeighbourState::kStale, 6));
  EXPECT_EQ(t.lookup(b, &m, 7), NeighbourState::kStale);
  EXPECT_TRUE(same(m, mac(0x22)));
  EXPECT_TRUE(t.update(b, mac(0x33), NeighbourState::kReachable, 8));
  EXPECT_EQ(t.lookup(b, &m, 9), NeighbourState::kReachable);
  EXPECT_TRUE(same(m, mac(0x33)));
  EXPECT_FALSE(t.update(b, mac(0x44), NeighbourState::kIncomplete, 9));  // no address to use

  // Burst.
  const NeighbourKey keys[] = {a, b, nk(0, "10.0.0.1")};
  rte_ether_addr macs[3];
  NeighbourState states[3];
  EXPECT_EQ(t.lookup_burst(keys, macs, states, 10), 2u);
  EXPECT_EQ(states[2], NeighbourState::kNone);
  EXPECT_TRUE(same(macs[0], mac(0x11)));
  EXPECT_TRUE(same(macs[1], mac(0x33)));

  EXPECT_TRUE(t.remove(a));
  EXPECT_FALSE(t.remove(a));
  EXPECT_EQ(t.lookup(a, &m, 11), NeighbourState::kNone);
  EXPECT_EQ(t.lookup(b, &m, 11), NeighbourState::kReachable);
  EXPECT_EQ(t.size(), 1u);
}

TEST(Neighbours, Ageing) {
  NeighbourTable t(64, 0);
  rte_ether_addr m;
  const NeighbourKey used = nk(0, "10.0.0.1"), idle = nk(0, "10.0.0.2"),
                     pending = nk(0, "10.0.0.3");
  t.update(used, mac(1), NeighbourState::kReachable, 0);
  t.update(idle, mac(2), NeighbourState::kReachable, 0);
  t.start_resolution(pending, 0);

  std::vector<NeighbourKey> probe;
  auto stats = t.age(50, kPolicy, &probe);
  EXPECT_EQ(stats.to_stale + stats.removed, 0u);
  EXPECT_EQ(probe, std::vector<NeighbourKey>{pending});  // retransmit the request

  probe.clear();
  stats = t.age(100, kPolicy, &probe);  // reachable_time reached; resolution gave up
  EXPECT_EQ(stats.to_stale, 2u);
  EXPECT_EQ(stats.removed, 1u);
  EXPECT_TRUE(probe.empty());
  EXPECT_EQ(t.lookup(pending, &m, 100), NeighbourState::kNone);
  EXPECT_EQ(t.lookup(idle, &m, 0), NeighbourState::kStale);  // now 0: not a use
  // A stale entry still sends; being used makes the agent probe it.
  EXPECT_EQ(t.lookup(used, &m, 150), NeighbourState::kStale);
  EXPECT_TRUE(same(m, mac(1)));
  stats = t.age(200, kPolicy, &probe);
  EXPECT_EQ(probe, std::vector<NeighbourKey>{used});
  // The answer to the probe makes it reachable again.
  t.update(used, mac(1), NeighbourState::kReachable, 210);
  probe.clear();
  // The idle one expires stale_time after it went stale; the used one,
  // confirmed at 210, goes stale again.
  stats = t.age(1100, kPolicy, &probe);
  EXPECT_EQ(stats.removed, 1u);
  EXPECT_EQ(stats.to_stale, 1u);
  EXPECT_EQ(t.lookup(idle, &m, 1100), NeighbourState::kNone);
  EXPECT_EQ(t.lookup(used, &m, 1100), NeighbourState::kStale);
  const auto snap = t.snapshot();
  ASSERT_EQ(snap.size(), 1u);
  EXPECT_EQ(snap[0].key, used);
  EXPECT_EQ(snap[0].last_used, 1100u);
}

TEST(Neighbours, PermanentEntriesNeitherAgeNorYieldToAnswers) {
  NeighbourTable t(64, 10);
  rte_ether_addr m{};
  const NeighbourKey a = nk(1, "192.0.2.254");
  EXPECT_TRUE(t.update(a, mac(0x02), NeighbourState::kPermanent, 1));
  EXPECT_EQ(t.lookup(a, &m, 2), NeighbourState::kPermanent);
  EXPECT_TRUE(usable(NeighbourState::kPermanent));
  // An ARP answer or a gratuitous update does not replace the static MAC.
  EXPECT_TRUE(t.update(a, mac(0x44), NeighbourState::kReachable, 3));
  EXPECT_EQ(t.lookup(a, &m, 4), NeighbourState::kPermanent);
  EXPECT_TRUE(same(m, mac(0x02)));
  // Far beyond every ageing limit, it is still there and not probed.
  std::vector<NeighbourKey> probe;
  const auto st = t.age(1'000'000, kPolicy, &probe);
  EXPECT_EQ(st.removed, 0u);
  EXPECT_TRUE(probe.empty());
  EXPECT_EQ(t.lookup(a, &m, 1'000'001), NeighbourState::kPermanent);
  // Another static entry replaces it; remove() deletes it.
  EXPECT_TRUE(t.update(a, mac(0x06), NeighbourState::kPermanent, 5));
  EXPECT_EQ(t.lookup(a, &m, 6), NeighbourState::kPermanent);
  EXPECT_TRUE(same(m, mac(0x06)));
  EXPECT_TRUE(t.remove(a));
  EXPECT_EQ(t.lookup(a, &m, 7), NeighbourState::kNone);
}

TEST(Neighbours, CapacityTombstonesAndCompaction) {
  NeighbourTable t(16, 0);
  EXPECT_EQ(t.capacity(), 16u);
  char addr[32];
  auto key = [&](int i) {
    std::snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 256, i % 256);
    return nk(0, addr);
  };
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(t.update(key(i), mac(i), NeighbourState::kReachable, 0));
  EXPECT_FALSE(t.update(key(8), mac(8), NeighbourState::kReachable, 0));  // half full
  EXPECT_FALSE(t.start_resolution(key(8), 0));
  EXPECT_TRUE(t.update(key(3), mac(33), NeighbourState::kReachable, 0));  // updating is fine

  // Churn: remove and add different neighbours, which leaves tombstones.
  rte_ether_addr m;
  for (int i = 8; i < 200; ++i) {
    ASSERT_TRUE(t.remove(key(i - 8))) << i;
    ASSERT_TRUE(t.update(key(i), mac(static_cast<uint8_t>(i)), NeighbourState::kReachable, i));
    ASSERT_EQ(t.lookup(key(i), &m, 0), NeighbourState::kReachable);
    ASSERT_EQ(t.size(), 8u);
  }
  for (int i = 192; i < 200; ++i) {
    ASSERT_EQ(t.lookup(key(i), &m, 0), NeighbourState::kReachable) << i;
    EXPECT_TRUE(same(m, mac(static_cast<uint8_t>(i))));
  }
  EXPECT_EQ(t.lookup(key(191), &m, 0), NeighbourState::kNone);

  auto c = t.compacted();
  EXPECT_EQ(c->size(), 8u);
  EXPECT_FALSE(c->needs_compaction());
  for (int i = 192; i < 200; ++i) {
    ASSERT_EQ(c->lookup(key(i), &m, 0), NeighbourState::kReachable) << i;
    EXPECT_TRUE(same(m, mac(static_cast<uint8_t>(i))));
  }
  // Half the table is tombstones now: time to compact.
  EXPECT_TRUE(t.needs_compaction());
}

// unpin lets a thread run on any CPU: EAL pinned the main thread to lcore
// 0, and threads inherit that, which would leave no real parallelism.
void unpin() {
  cpu_set_t all;
  CPU_ZERO(&all);
  for (int i = 0; i < CPU_SETSIZE; ++i) CPU_SET(i, &all);
  pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
}

TEST(Neighbours, ReadersWhileTheAgentWrites) {
  NeighbourTable t(256, 1000);
  // Stable neighbours are rewritten with new addresses all the time; churn
  // neighbours come and go around them, reusing tombstones on their chains.
  constexpr int kStable = 16, kChurn = 64;
  std::vector<NeighbourKey> stable, churn;
  char addr[32];
  for (int i = 0; i < kStable; ++i) {
    std::snprintf(addr, sizeof(addr), "10.1.0.%d", i);
    stable.push_back(nk(static_cast<uint16_t>(i % 2), addr));
    t.update(stable.back(), mac(1), NeighbourState::kReachable, 0);
  }
  for (int i = 0; i < kChurn; ++i) {
    std::snprintf(addr, sizeof(addr), "2001:db8::%x", i);
    churn.push_back(nk(0, addr));
  }

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> passes{0};  // reader loops, so the agent outlasts their start-up
  struct Counts {
    uint64_t lookups = 0, torn = 0, stable_missing = 0;
  };
  std::vector<Counts> counts(2);
  auto reader = [&](Counts* c) {
    unpin();
    uint64_t now = 0;
    rte_ether_addr m;
    while (!stop.load(std::memory_order_relaxed)) {
      for (const NeighbourKey& k : stable) {
        const NeighbourState s = t.lookup(k, &m, ++now);
        ++c->lookups;
        if (!usable(s)) {
          ++c->stable_missing;
          continue;
        }
        c->torn += !std::all_of(m.addr_bytes, m.addr_bytes + 6,
                                [&](uint8_t b) { return b == m.addr_bytes[0]; });
      }
      for (const NeighbourKey& k : churn) {
        if (usable(t.lookup(k, &m, ++now))) {
          c->torn += !std::all_of(m.addr_bytes, m.addr_bytes + 6,
                                  [&](uint8_t b) { return b == m.addr_bytes[0]; });
        }
        ++c->lookups;
      }
      passes.fetch_add(1, std::memory_order_relaxed);
    }
  };
  std::thread r1(reader, &counts[0]), r2(reader, &counts[1]);

  uint64_t writes = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (int round = 0; round < 3000 || (passes.load(std::memory_order_relaxed) < 20000 &&
                                       std::chrono::steady_clock::now() < deadline);
       ++round) {
    const uint8_t v = static_cast<uint8_t>(round);
    for (const NeighbourKey& k : stable) {
      t.update(k, mac(v), round % 3 ? NeighbourState::kReachable : NeighbourState::kStale, round);
      ++writes;
    }
    for (int i = 0; i < kChurn; ++i) {
      if ((i + round) % 4 == 0) {
        t.remove(churn[i]);
      } else {
        t.update(churn[i], mac(v), NeighbourState::kReachable, round);
      }
      ++writes;
    }
  }
  stop = true;
  r1.join();
  r2.join();

  uint64_t lookups = 0, torn = 0, missing = 0;
  for (const Counts& c : counts) {
    lookups += c.lookups;
    torn += c.torn;
    missing += c.stable_missing;
  }
  std::printf("[   info   ] %lu agent writes, %lu reader lookups, %lu stable misses\n",
              static_cast<unsigned long>(writes), static_cast<unsigned long>(lookups),
              static_cast<unsigned long>(missing));
  EXPECT_EQ(torn, 0u);
  EXPECT_GT(lookups, 0u);
  // A stable neighbour is never removed, so it can only be missed when a
  // reader gives up on a slot the agent keeps rewriting; that must be rare.
  EXPECT_LE(missing * 100, lookups);
}

}  // namespace
}  // namespace portcullis::dp
