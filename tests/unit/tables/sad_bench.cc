// sad_bench.cc: the SAD's open-addressing table against DPDK's rte_hash
// (rte_hash_lookup_bulk_data), ns per lookup and memory, from 1 to
// 1,000,000 SAs. The figures behind the choice recorded in sad.cc.
//
//   build/tests/unit/tables/bench_sad
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "dataplane/tables/sad.h"

namespace {

using portcullis::dp::Sad;
using portcullis::dp::SadEntry;
using portcullis::dp::SaInbound;

constexpr size_t kBurst = 32;
constexpr size_t kQueries = 1 << 22;

SaInbound* fake_sa(size_t i) { return reinterpret_cast<SaInbound*>(0x100000 + i * 256); }

size_t heap_bytes() {
  rte_malloc_socket_stats st{};
  rte_malloc_get_socket_stats(0, &st);
  return st.heap_allocsz_bytes;
}

template <typename F>
double time_ns(F&& lookup_burst, const std::vector<uint32_t>& queries) {
  double best = 1e99;
  for (int round = 0; round < 3; ++round) {
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t base = 0; base + kBurst <= queries.size(); base += kBurst) {
      lookup_burst(&queries[base]);
    }
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::nano>(t1 - t0).count());
  }
  return best / queries.size();
}

void run(size_t n) {
  std::mt19937 rng(static_cast<uint32_t>(n));
  std::unordered_set<uint32_t> seen;
  std::vector<uint32_t> spis;
  while (spis.size() < n) {
    const uint32_t s = rng();
    if (s != 0 && seen.insert(s).second) spis.push_back(s);
  }
  std::vector<uint32_t> queries(kQueries);
  for (uint32_t& q : queries) q = spis[rng() % n];

  std::vector<SadEntry> entries;
  for (size_t i = 0; i < n; ++i) entries.push_back({spis[i], std::nullopt, fake_sa(i)});
  std::string error;
  const auto b0 = std::chrono::steady_clock::now();
  auto sad = Sad::build(entries, &error);
  const auto b1 = std::chrono::steady_clock::now();
  if (!sad) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return;
  }
  SaInbound* out[kBurst];
  uint64_t sink = 0;
  const double sad_ns = time_ns(
      [&](const uint32_t* q) {
        sink += sad->lookup_burst(std::span<const uint32_t>(q, kBurst), std::span(out));
      },
      queries);

  const size_t heap0 = heap_bytes();
  rte_hash_parameters p{};
  const std::string name = "bench_" + std::to_string(n);
  p.name = name.c_str();
  p.entries = static_cast<uint32_t>(std::max<size_t>(n * 5 / 4, 64));  // rte_hash wants headroom
  p.key_len = sizeof(uint32_t);
  p.hash_func = rte_hash_crc;
  p.socket_id = 0;
  rte_hash* h = rte_hash_create(&p);
  if (h == nullptr) {
    std::fprintf(stderr, "rte_hash_create: %s\n", rte_strerror(rte_errno));
    return;
  }
  const auto h0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < n; ++i) rte_hash_add_key_data(h, &spis[i], fake_sa(i));
  const auto h1 = std::chrono::steady_clock::now();
  const size_t hash_bytes = heap_bytes() - heap0;
  const double hash_ns = time_ns(
      [&](const uint32_t* q) {
        const void* keys[kBurst];
        void* data[kBurst];
        for (size_t i = 0; i < kBurst; ++i) keys[i] = &q[i];
        uint64_t hit_mask = 0;
        sink += rte_hash_lookup_bulk_data(h, keys, kBurst, &hit_mask, data);
      },
      queries);
  rte_hash_free(h);

  auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  std::printf(
      "%9zu SAs | Sad %6.1f ns  %8zu KiB  build %7.1f ms | rte_hash %6.1f ns  %8zu KiB"
      "  build %7.1f ms  (%lu)\n",
      n, sad_ns, sad->memory_bytes() >> 10, ms(b0, b1), hash_ns, hash_bytes >> 10, ms(h0, h1),
      static_cast<unsigned long>(sink & 1));
}

}  // namespace

int main(int argc, char** argv) {
  const std::string prefix = "portcullis_bench_sad_" + std::to_string(getpid());
  std::vector<std::string> args = {
      argv[0],         "--no-huge", "--no-shconf",       "--no-pci", "-l",  "0",
      "--file-prefix", prefix,      "--log-level=error", "-m",       "1024"};
  std::vector<char*> cargs;
  for (std::string& a : args) cargs.push_back(a.data());
  if (rte_eal_init(static_cast<int>(cargs.size()), cargs.data()) < 0) {
    std::fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  std::printf("ns per lookup, bursts of %zu, each packet of a random SA (%zu lookups)\n", kBurst,
              kQueries);
  const std::vector<size_t> sizes = argc > 1 ? std::vector<size_t>{std::stoul(argv[1])}
                                             : std::vector<size_t>{1, 1000, 10000, 100000, 1000000};
  for (size_t n : sizes) run(n);
  rte_eal_cleanup();
  return 0;
}
