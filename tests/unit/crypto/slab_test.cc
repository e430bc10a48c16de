// The per-SA slab (crypto/slab.h): objects are aligned, distinct and
// reused; a secret slab wipes what it takes back and keeps its chunks out
// of core dumps and swap; key schedules come from such a slab, on huge-page
// advised memory.
#include "crypto/slab.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "crypto/engine.h"
#include "crypto/key_schedule.h"

namespace portcullis::crypto {
namespace {

// vm_flags returns the VmFlags line of the mapping in /proc/self/smaps that
// holds p, or "" if none does.
std::string vm_flags(const void* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-' && line.find(':') > line.find(' ')) {
      inside = a >= lo && a < hi;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return "";
}

bool has_flag(const std::string& flags, const char* f) {
  std::istringstream in(flags.substr(flags.find(':') + 1));
  std::string w;
  while (in >> w) {
    if (w == f) return true;
  }
  return false;
}

TEST(Slab, ObjectsAreAlignedDistinctAndReused) {
  Slab slab(100, false);  // rounded up to 128
  EXPECT_EQ(slab.stats().object_size, 128u);
  std::vector<void*> got;
  std::set<uintptr_t> seen;
  // More than one chunk's worth, so that a second chunk is mapped.
  const size_t n = Slab::kChunk / 128 + 10;
  for (size_t i = 0; i < n; i++) {
    void* p = slab.allocate();
    const auto a = reinterpret_cast<uintptr_t>(p);
    ASSERT_EQ(a % 64, 0u);
    ASSERT_TRUE(seen.insert(a).second) << "object handed out twice";
    std::memset(p, 0xa5, 128);  // the whole object is writable
    got.push_back(p);
  }
  // No two objects overlap.
  uintptr_t prev = 0;
  for (uintptr_t a : seen) {
    if (prev != 0) {
      ASSERT_GE(a - prev, 128u);
    }
    prev = a;
  }
  Slab::Stats st = slab.stats();
  EXPECT_EQ(st.in_use, n);
  EXPECT_EQ(st.chunks, 2u);
  EXPECT_EQ(st.locked, 0u);  // not secret: not locked
  // Released objects are handed out again before any new chunk.
  for (size_t i = 0; i < 20; i++) slab.release(got[i]);
  EXPECT_EQ(slab.stats().in_use, n - 20);
  for (size_t i = 0; i < 20; i++) {
    void* p = slab.allocate();
    EXPECT_TRUE(seen.count(reinterpret_cast<uintptr_t>(p))) << "a released object was not reused";
    got[i] = p;
  }
  EXPECT_EQ(slab.stats().chunks, 2u);
  for (void* p : got) slab.release(p);
  EXPECT_EQ(slab.stats().in_use, 0u);
}

TEST(Slab, ChunksAreAdvisedForHugePages) {
  Slab slab(64, false);
  void* p = slab.allocate();
  const std::string flags = vm_flags(p);
  ASSERT_FALSE(flags.empty()) << "no mapping holds the object";
  EXPECT_TRUE(has_flag(flags, "hg")) << flags;   // MADV_HUGEPAGE
  EXPECT_FALSE(has_flag(flags, "dd")) << flags;  // not secret: dumped as usual
  slab.release(p);
}

TEST(Slab, MapHugeIsAlignedZeroedAndAdvised) {
  const size_t bytes = 3 * Slab::kChunk + 100;  // rounded up to four huge pages
  auto* p = static_cast<uint8_t*>(map_huge(bytes));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % Slab::kChunk, 0u);
  EXPECT_TRUE(has_flag(vm_flags(p), "hg"));
  for (size_t i = 0; i < 4 * Slab::kChunk; i += 4096) ASSERT_EQ(p[i], 0) << i;
  p[4 * Slab::kChunk - 1] = 1;  // the rounded-up tail is ours too
  unmap_huge(p, bytes);
  EXPECT_TRUE(vm_flags(p).empty()) << "still mapped after unmap_huge";
}

TEST(Slab, SecretSlabWipesAndStaysOutOfCoreDumps) {
  Slab slab(256, true);
  auto* p = static_cast<uint8_t*>(slab.allocate());
  std::memset(p, 0x5c, 256);
  const std::string flags = vm_flags(p);
  EXPECT_TRUE(has_flag(flags, "dd")) << flags;  // MADV_DONTDUMP
  EXPECT_TRUE(has_flag(flags, "hg")) << flags;
  // Locking is best effort; when the slab says it locked, the kernel
  // agrees. (AddressSanitizer turns mlock into a no-op that succeeds.)
#ifndef PORTCULLIS_SANITIZED
  if (slab.stats().locked != 0) {
    EXPECT_TRUE(has_flag(flags, "lo")) << flags;
  }
#endif
  slab.release(p);
  // The free-list link takes the first 8 bytes; the rest must be zero. The
  // memory stays mapped, so reading it is defined for this test.
  for (size_t i = sizeof(void*); i < 256; i++) ASSERT_EQ(p[i], 0) << "byte " << i << " not wiped";
  // Reused for the next object.
  EXPECT_EQ(slab.allocate(), p);
  slab.release(p);
}

TEST(Slab, ThreadsAllocateAndReleaseConcurrently) {
  Slab slab(64, false);
  constexpr int kThreads = 4, kObjects = 5000;
  std::vector<std::vector<void*>> got(kThreads);
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; t++) {
    ts.emplace_back([&, t] {
      for (int round = 0; round < 3; round++) {
        for (int i = 0; i < kObjects; i++) {
          void* p = slab.allocate();
          *static_cast<int*>(p) = t;
          got[t].push_back(p);
        }
        // Each object still holds its own thread's mark: nobody else got it.
        for (void* p : got[t]) ASSERT_EQ(*static_cast<int*>(p), t);
        if (round < 2) {
          for (void* p : got[t]) slab.release(p);
          got[t].clear();
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  std::set<void*> all;
  for (auto& v : got) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kObjects));
  EXPECT_EQ(slab.stats().in_use, static_cast<size_t>(kThreads * kObjects));
}

#ifndef PORTCULLIS_SANITIZED
// Key schedules come from the secret slab: created and destroyed with the
// SA, never in a core dump.
TEST(Slab, KeySchedulesLiveInTheSecretSlab) {
  std::string err;
  auto engine = Engine::create(&err);
  ASSERT_NE(engine, nullptr) << err;
  const size_t before = KeySchedule::slab().stats().in_use;
  std::vector<uint8_t> key(20, 0x42);
  auto ks = KeySchedule::create(*engine, Suite{Cipher::kAes128Gcm, Integ::kNone}, key, {}, &err);
  ASSERT_NE(ks, nullptr) << err;
  EXPECT_EQ(KeySchedule::slab().stats().in_use, before + 1);
  EXPECT_TRUE(has_flag(vm_flags(ks.get()), "dd"));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(ks.get()) % 64, 0u);
  ks.reset();
  EXPECT_EQ(KeySchedule::slab().stats().in_use, before);
}
#endif

}  // namespace
}  // namespace portcullis::crypto
