// tunnels: installs N benchmark tunnels in portcullis-dataplane over the
// channel, in one pipelined transaction (like dpchan's `bulk`, but with the
// suite, anti-replay and key scheme that perf/gen_pcap.py reproduces).
//
//   tunnels SOCKET N SUITE [noreplay] [window W]
//
// A capture replayed forever repeats its sequence numbers, so inbound runs
// need noreplay. Without anti-replay the data plane keeps a 64-packet
// window, whose top still infers the high ESN bits (RFC 4303 appendix A):
// gen_pcap.py therefore numbers each SA's packets 1..32 over and over.
// `window W` sets the replay window of SAs that keep anti-replay.
//
// Tunnel i (0 <= i < N), gateway 192.0.2.1 to peer 198.18.0.0/15:
//   outbound SA  id 2i+1, SPI 0x20000000+i, key tunnel_key(i, 0)
//   inbound SA   id 2i+2, SPI 0x30000000+i, key tunnel_key(i, 1)
//   policy       id i+1: 10.1.0.0/16 -> 10.128.0.0+i /32, protect SA 2i+1
// Keys are derived, not random: this is a benchmark, and the capture
// generator must encrypt with the same keys. gen_pcap.py's tunnel_key and
// peer must stay in step with the functions below.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "control/api/client.h"

namespace api = portcullis::ctl::api;

namespace {

constexpr uint32_t kOutSpiBase = 0x20000000u;
constexpr uint32_t kInSpiBase = 0x30000000u;

std::vector<uint8_t> tunnel_key(uint32_t i, uint32_t dir, size_t len) {
  std::vector<uint8_t> k(len);
  for (size_t j = 0; j < len; j++) k[j] = static_cast<uint8_t>(i * 131u + j * 29u + dir * 71u + 0x5au);
  return k;
}

api::IpAddr v4(uint32_t a) {
  return api::IpAddr::v4(static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16), static_cast<uint8_t>(a >> 8),
                         static_cast<uint8_t>(a));
}

// peer spreads the tunnels' far ends over 198.18.0.0/15 (never .0 or .255s
// of the whole block).
uint32_t peer(uint32_t i) { return ((198u << 24) | (18u << 16)) + 2 + (i % 131000u); }

size_t key_len(const std::string& suite) {
  if (suite == "aes128gcm16") return 20;
  if (suite == "aes256gcm16" || suite == "chacha20poly1305") return 36;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: tunnels SOCKET N aes128gcm16|aes256gcm16|chacha20poly1305 [noreplay] [window W]\n");
    return 2;
  }
  const uint32_t n = static_cast<uint32_t>(std::stoul(argv[2]));
  const std::string suite = argv[3];
  bool noreplay = false;
  uint32_t window = 0;
  for (int i = 4; i < argc; i++) {
    if (std::strcmp(argv[i], "noreplay") == 0) noreplay = true;
    if (std::strcmp(argv[i], "window") == 0 && i + 1 < argc) window = static_cast<uint32_t>(std::stoul(argv[++i]));
  }
  const size_t klen = key_len(suite);
  if (klen == 0) {
    std::fprintf(stderr, "tunnels: unknown suite %s\n", suite.c_str());
    return 2;
  }
  try {
    api::ClientOptions co;
    co.timeout_ms = 600'000;  // a million tunnels' commit builds big tables
    api::Client c = api::Client::connect(argv[1], co);
    const auto t0 = std::chrono::steady_clock::now();
    c.send_async(api::Begin{});
    for (uint32_t i = 0; i < n; i++) {
      for (uint32_t dir = 0; dir < 2; dir++) {
        api::SaAdd m;
        m.sa_id = 2 * i + 1 + dir;
        m.direction = dir == 0 ? api::Direction::kOut : api::Direction::kIn;
        m.spi = (dir == 0 ? kOutSpiBase : kInSpiBase) + i;
        m.suite = suite;
        m.cipher_key = api::KeyBytes(tunnel_key(i, dir, klen));
        m.tunnel_src = dir == 0 ? api::IpAddr::v4(192, 0, 2, 1) : v4(peer(i));
        m.tunnel_dst = dir == 0 ? v4(peer(i)) : api::IpAddr::v4(192, 0, 2, 1);
        if (dir == 1 && noreplay) m.anti_replay = false;
        if (dir == 1 && window != 0) m.replay_window = window;
        c.send_async(std::move(m));
      }
      api::PolicyAdd p;
      p.policy_id = i + 1;
      p.priority = 100;
      p.selector.src = api::Prefix{api::IpAddr::v4(10, 1, 0, 0), 16};
      p.selector.dst = api::Prefix{v4(((10u << 24) | (128u << 16)) + i), 32};
      p.action = api::Action::kProtect;
      p.sa_id = 2 * i + 1;
      c.send_async(p);
      // Collect replies as we go so that a refusal is reported early.
      if ((i & 0xffff) == 0xffff) {
        for (const api::Reply& r : c.drain_replies()) {
          if (!r.ok()) throw std::runtime_error(api::status_name(r.status) + ": " + r.error);
        }
      }
    }
    for (const api::Reply& r : c.wait_all()) {
      if (!r.ok()) throw std::runtime_error(api::status_name(r.status) + ": " + r.error);
    }
    const auto t1 = std::chrono::steady_clock::now();
    api::Reply r = c.call(api::Commit{});
    if (!r.ok()) throw std::runtime_error("commit: " + api::status_name(r.status) + ": " + r.error);
    const auto t2 = std::chrono::steady_clock::now();
    const double add = std::chrono::duration<double>(t1 - t0).count();
    const double commit = std::chrono::duration<double>(t2 - t1).count();
    std::printf("tunnels: %u %s tunnels in %.2f s (requests %.2f s, commit %.2f s)\n", n, suite.c_str(),
                add + commit, add, commit);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tunnels: %s\n", e.what());
    return 1;
  }
  return 0;
}
