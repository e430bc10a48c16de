// latency: a paced generator that measures how long packets take through
// portcullis-dataplane, for perf/run.py's latency points.
//
//   latency [EAL args] -- out|in CAPTURE MPPS SECONDS
//
// Port 0 sends the capture's frames in a loop at MPPS (bursts of 8, paced
// by the TSC); port 1 receives what the gateway forwards. Both are memif
// clients of the data plane's memif servers. No timestamp needs to travel
// in the packet, because this process both sends and receives and can tell
// which packet came back:
//   out: the capture is plaintext for one tunnel, so the n-th packet sent
//        leaves as ESP with sequence number n (RFC 4303: the sender counts
//        from 1), readable in the clear;
//   in:  the capture is ESP; the decrypted inner UDP source port is
//        1024 + the packet's index in the capture (gen_pcap.py), and a
//        capture cycle (4096 packets) takes milliseconds, far longer than
//        any latency that is not a loss.
// Prints one line: sent, received, p50, p90, p99 and max in microseconds.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

constexpr uint16_t kBurst = 8;
constexpr size_t kRing = 1u << 20;  // send times by sequence number (out)

std::vector<std::vector<uint8_t>> read_pcap(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<std::vector<uint8_t>> out;
  char hdr[24];
  if (!f.read(hdr, sizeof(hdr))) return out;
  for (;;) {
    uint32_t rec[4];
    if (!f.read(reinterpret_cast<char*>(rec), sizeof(rec))) break;
    std::vector<uint8_t> b(rec[2]);
    if (!f.read(reinterpret_cast<char*>(b.data()), rec[2])) break;
    out.push_back(std::move(b));
  }
  return out;
}

int start_port(uint16_t port, rte_mempool* pool) {
  rte_eth_conf conf{};
  if (rte_eth_dev_configure(port, 1, 1, &conf) != 0) return -1;
  if (rte_eth_rx_queue_setup(port, 0, 1024, rte_eth_dev_socket_id(port), nullptr, pool) != 0) return -1;
  if (rte_eth_tx_queue_setup(port, 0, 1024, rte_eth_dev_socket_id(port), nullptr) != 0) return -1;
  return rte_eth_dev_start(port);
}

}  // namespace

int main(int argc, char** argv) {
  const int eal = rte_eal_init(argc, argv);
  if (eal < 0) {
    std::fprintf(stderr, "latency: EAL init failed\n");
    return 1;
  }
  argc -= eal;
  argv += eal;
  if (argc < 5) {
    std::fprintf(stderr, "usage: latency [EAL args] -- out|in CAPTURE MPPS SECONDS\n");
    return 2;
  }
  const bool outbound = std::strcmp(argv[1], "out") == 0;
  const auto frames = read_pcap(argv[2]);
  const double mpps = std::stod(argv[3]);
  const double seconds = std::stod(argv[4]);
  if (frames.empty() || rte_eth_dev_count_avail() < 2) {
    std::fprintf(stderr, "latency: need a capture and two ports\n");
    return 1;
  }
  rte_mempool* pool = rte_pktmbuf_pool_create("lat", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
  if (pool == nullptr || start_port(0, pool) != 0 || start_port(1, pool) != 0) {
    std::fprintf(stderr, "latency: cannot start the ports\n");
    return 1;
  }
  const uint64_t hz = rte_get_tsc_hz();
  // Wait for both memif links (the data plane is the server).
  for (int i = 0; i < 1000; i++) {
    rte_eth_link a{}, b{};
    rte_eth_link_get_nowait(0, &a);
    rte_eth_link_get_nowait(1, &b);
    if (a.link_status && b.link_status) break;
    rte_delay_ms(10);
  }
  std::vector<uint64_t> sent_at(outbound ? kRing : frames.size(), 0);
  std::vector<uint32_t> lat;  // TSC ticks
  lat.reserve(static_cast<size_t>(mpps * 1e6 * seconds) + 1024);
  const uint64_t gap = static_cast<uint64_t>(kBurst * static_cast<double>(hz) / (mpps * 1e6));
  const uint64_t t_end = rte_rdtsc() + static_cast<uint64_t>(seconds * hz);
  // Measure only after the first quarter: the data plane's caches warm up.
  const uint64_t t_measure = rte_rdtsc() + static_cast<uint64_t>(seconds * hz / 4);
  uint64_t next = rte_rdtsc(), sent = 0, received = 0;
  size_t k = 0;
  rte_mbuf* burst[32];
  for (uint64_t now = rte_rdtsc(); now < t_end + hz / 10; now = rte_rdtsc()) {
    if (now >= next && now < t_end) {
      uint16_t n = 0;
      if (rte_pktmbuf_alloc_bulk(pool, burst, kBurst) == 0) {
        for (; n < kBurst; n++) {
          const auto& f = frames[k];
          std::memcpy(rte_pktmbuf_mtod(burst[n], void*), f.data(), f.size());
          burst[n]->data_len = burst[n]->pkt_len = static_cast<uint32_t>(f.size());
          k = k + 1 == frames.size() ? 0 : k + 1;
        }
        const uint64_t t = rte_rdtsc();
        const uint16_t ok = rte_eth_tx_burst(0, 0, burst, n);
        for (uint16_t i = 0; i < ok; i++) {
          const size_t idx = outbound ? (sent + i + 1) % kRing : (k + frames.size() - n + i) % frames.size();
          sent_at[idx] = t;
        }
        sent += ok;
        // A packet the port refused was not sent; the ring index stays in
        // step with the SA's sequence numbers because only sent packets count.
        for (uint16_t i = ok; i < n; i++) rte_pktmbuf_free(burst[i]);
        if (ok < n) k = (k + frames.size() - (n - ok)) % frames.size();
      }
      next += gap;
      if (next + 64 * gap < now) next = now;  // fell behind: do not burst to catch up
    }
    const uint16_t r = rte_eth_rx_burst(1, 0, burst, 32);
    const uint64_t t = rte_rdtsc();
    for (uint16_t i = 0; i < r; i++) {
      const uint8_t* p = rte_pktmbuf_mtod(burst[i], const uint8_t*);
      size_t idx = SIZE_MAX;
      if (outbound && burst[i]->data_len >= 14 + 20 + 8 && p[14 + 9] == 50) {
        uint32_t seq;
        std::memcpy(&seq, p + 14 + 20 + 4, 4);
        idx = rte_be_to_cpu_32(seq) % kRing;
      } else if (!outbound && burst[i]->data_len >= 14 + 28 && p[14 + 9] == 17) {
        const uint16_t sport = static_cast<uint16_t>(p[14 + 20] << 8 | p[14 + 21]);
        if (sport >= 1024 && sport - 1024u < frames.size()) idx = sport - 1024u;
      }
      if (idx != SIZE_MAX && sent_at[idx] != 0 && sent_at[idx] >= t_measure) {
        lat.push_back(static_cast<uint32_t>(t - sent_at[idx]));
      }
      received++;
      rte_pktmbuf_free(burst[i]);
    }
  }
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double q) {
    return lat.empty() ? 0.0 : lat[std::min(lat.size() - 1, static_cast<size_t>(q * lat.size()))] * 1e6 / hz;
  };
  std::printf("sent %llu received %llu measured %zu p50_us %.2f p90_us %.2f p99_us %.2f max_us %.2f\n",
              static_cast<unsigned long long>(sent), static_cast<unsigned long long>(received), lat.size(),
              pct(0.50), pct(0.90), pct(0.99), pct(1.0));
  rte_eth_dev_stop(0);
  rte_eth_dev_stop(1);
  rte_eal_cleanup();
  return 0;
}
