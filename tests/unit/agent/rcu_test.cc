// rcu_test.cc: tables republished while reader threads use them. A reader
// must never see a table that has been freed or is half built; the writer
// must never free a table a reader may still hold. Run under ASan (freed
// memory) and TSan (races) by scripts/test.sh.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <thread>
#include <vector>

#include "dataplane/agent/rcu.h"

namespace portcullis::dp {
namespace {

// Table is a stand-in for a lookup table: every slot holds its generation,
// and the destructor poisons it, so a reader that looks at a freed or torn
// table sees inconsistent slots.
struct Table {
  explicit Table(uint64_t g) : generation(g) { slots.fill(g); }
  ~Table() {
    slots.fill(~0ull);
    generation = ~0ull;
  }
  uint64_t generation;
  std::array<uint64_t, 64> slots;
};

TEST(RcuTest, ReadersNeverSeeFreedOrTornTables) {
  constexpr uint32_t kReaders = 2;
  constexpr uint64_t kPublishes = 500;
  RcuDomain domain(kReaders);
  Published<Table> pub(domain);
  pub.publish(std::make_unique<Table>(1));

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> bad{0}, reads{0};
  std::atomic<uint32_t> ready{0};
  std::vector<std::thread> readers;
  for (uint32_t id = 0; id < kReaders; id++) {
    readers.emplace_back([&, id] {
      domain.register_reader(id);
      domain.online(id);
      ready++;
      uint64_t last = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        // One "burst": load once, use, then report quiescence.
        const Table* t = pub.get();
        const uint64_t g = t->generation;
        for (uint64_t s : t->slots) bad += s != g;
        bad += g < last;  // generations only move forward
        last = g;
        reads++;
        domain.quiescent(id);
      }
      domain.offline(id);
      domain.unregister_reader(id);
    });
  }
  // Publish only once every reader is online, so that each grace period
  // really waits for all of them.
  while (ready.load() != kReaders) std::this_thread::yield();
  for (uint64_t g = 2; g <= kPublishes; g++) pub.publish(std::make_unique<Table>(g));
  stop = true;
  for (auto& r : readers) r.join();

  EXPECT_EQ(bad.load(), 0u);
  // Each grace period needs a quiescent state, hence a read, from every
  // reader.
  EXPECT_GE(reads.load(), (kPublishes - 1) * kReaders);
  EXPECT_EQ(pub.get()->generation, kPublishes);
  EXPECT_EQ(pub.publishes(), kPublishes);
}

TEST(RcuTest, OfflineReaderDoesNotStallTheWriter) {
  RcuDomain domain(2);
  Published<Table> pub(domain);
  domain.register_reader(0);
  domain.online(0);
  domain.offline(0);  // e.g. a worker that stopped polling
  // With the only reader offline, each publish must complete at once.
  for (uint64_t g = 1; g <= 100; g++) pub.publish(std::make_unique<Table>(g));
  EXPECT_EQ(pub.get()->generation, 100u);
  domain.unregister_reader(0);
}

}  // namespace
}  // namespace portcullis::dp
