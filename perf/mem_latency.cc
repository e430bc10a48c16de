// mem_latency: how long one dependent load takes when the lines a worker
// touches are spread over a large table, on 4 KiB pages and on transparent
// huge pages. It is the memory side of the scale points: at 1,000,000
// tunnels perf/run.py's 4,096-packet capture touches 4,096 SAs, about
// eleven lines each, spread over a gigabyte and a half of SAs and key
// schedules.
//
//   mem_latency [MIB [LINES]]   default: 1536 MiB, 45056 lines (4096 x 11)
//
// Prints ns per load for the lines packed into one region (what one busy
// tunnel's state looks like to the caches) and spread over MIB, each on
// 4 KiB and on 2 MiB pages. Run it pinned to the worker's CPU
// (taskset -c 1), on an otherwise quiet machine.
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <vector>

namespace {

constexpr size_t kHuge = size_t{2} << 20;

// chase builds a random cycle through `lines` lines, `stride` lines apart,
// in a fresh mapping of `bytes` (huge: MADV_HUGEPAGE), and returns ns per
// load over 20 million dependent loads.
double chase(size_t bytes, size_t lines, size_t stride, bool huge) {
  void* m = mmap(nullptr, bytes + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    std::perror("mmap");
    std::exit(1);
  }
  char* b = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(m) + kHuge - 1) & ~(kHuge - 1));
  madvise(b, bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  for (size_t i = 0; i < bytes; i += 4096) b[i] = 1;
  std::vector<size_t> order(lines);
  std::iota(order.begin(), order.end(), size_t{0});
  std::shuffle(order.begin(), order.end(), std::mt19937_64(42));
  for (size_t i = 0; i < lines; i++) {
    *reinterpret_cast<char**>(b + order[i] * stride * 64) = b + order[(i + 1) % lines] * stride * 64;
  }
  char* p = b + order[0] * stride * 64;
  for (size_t i = 0; i < lines; i++) p = *reinterpret_cast<char**>(p);  // warm
  constexpr size_t kLoads = 20'000'000;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < kLoads; i++) p = *reinterpret_cast<char* volatile*>(p);
  const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
  munmap(m, bytes + kHuge);
  return ns / kLoads;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t mib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1536;
  const size_t lines = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 45056;
  const size_t bytes = mib << 20;
  if (lines == 0 || lines * 64 > bytes) {
    std::fprintf(stderr, "usage: mem_latency [MIB [LINES]] (LINES * 64 <= MIB MiB)\n");
    return 2;
  }
  const size_t packed = (lines * 64 + kHuge - 1) & ~(kHuge - 1);
  std::printf("%zu lines (%.1f MiB) in random order, one dependent load at a time\n", lines,
              lines * 64.0 / (1 << 20));
  for (const bool huge : {false, true}) {
    std::printf("  packed together,     %-8s pages: %6.1f ns per load\n", huge ? "2 MiB" : "4 KiB",
                chase(packed, lines, 1, huge));
  }
  for (const bool huge : {false, true}) {
    std::printf("  spread over %5zu MiB, %-8s pages: %6.1f ns per load\n", mib, huge ? "2 MiB" : "4 KiB",
                chase(bytes, lines, bytes / 64 / lines, huge));
  }
}
