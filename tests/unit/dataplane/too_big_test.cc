// Oversized outbound packets (dataplane/pipeline/too_big.h): the tunnel MTU
// against real encapsulation for every suite and shape, the ICMP and
// ICMPv6 errors (checksums verified with DPDK's own routines, not ours),
// fragmentation reassembled back to the original, and the rate limiter.
//
// Fragments come from an mbuf pool, so this binary brings EAL up, without
// hugepages or shared config, under a file prefix of its own.
#include "dataplane/pipeline/too_big.h"

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "crypto/engine.h"
#include "dataplane/ipsec/esp_worker.h"
#include "mbuf_arena.h"
#include "packets.h"
#include "sa_pair.h"

namespace portcullis {
namespace {

using dp::DropReason;
using dp::IpAddress;
using dp::Mode;
using Bytes = std::vector<uint8_t>;

uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

// ipv4_header_ok checks a header's checksum with DPDK's raw sum: a correct
// header, checksum included, sums to 0xffff.
bool ipv4_header_ok(const uint8_t* ip) { return rte_raw_cksum(ip, (ip[0] & 0x0f) * 4u) == 0xffff; }

// set_ipv4_checksum fills a header's checksum with DPDK's raw sum, which
// is in host order of native 16-bit loads: stored as it is, not swapped.
void set_ipv4_checksum(uint8_t* ip, size_t ihl) {
  ip[10] = ip[11] = 0;
  const uint16_t c = static_cast<uint16_t>(~rte_raw_cksum(ip, ihl));
  std::memcpy(ip + 10, &c, 2);
}

// ---------------------------------------------------------------------------
// tunnel_mtu: a packet of exactly tunnel_mtu bytes fits once encapsulated,
// one byte more does not (tunnel mode; transport mode is a safe bound).

const char* kSuites[] = {"aes128gcm16",      "aes256gcm16",      "chacha20poly1305",
                         "aes128cbc-sha256", "aes256cbc-sha384", "aes256cbc-sha512"};
struct Shape {
  Mode mode;
  bool inner_v6, outer_v6;
};
const Shape kShapes[] = {{Mode::kTunnel, false, false},    {Mode::kTunnel, false, true},
                         {Mode::kTunnel, true, false},     {Mode::kTunnel, true, true},
                         {Mode::kTransport, false, false}, {Mode::kTransport, true, true}};

using MtuParam = std::tuple<const char*, int, bool, int>;  // suite, shape, udp, egress mtu

class TunnelMtu : public testing::TestWithParam<MtuParam> {};

TEST_P(TunnelMtu, LargestInnerPacketFitsAndOneMoreDoesNot) {
  const auto& [suite_name, shape_idx, udp, egress] = GetParam();
  std::string err;
  auto engine = crypto::Engine::create(&err);
  ASSERT_TRUE(engine) << err;
  dp::EspWorker w(*engine);
  const Shape& s = kShapes[shape_idx];
  test::SaPairOptions o;
  o.suite = *crypto::parse_suite(suite_name);
  o.mode = s.mode;
  o.inner_v6 = s.inner_v6;
  o.outer_v6 = s.outer_v6;
  o.udp = udp;
  test::SaPair pair = test::make_sa_pair(*engine, o);
  const uint32_t limit = dp::tunnel_mtu(*pair.out, static_cast<uint32_t>(egress));
  const uint32_t hdr = s.inner_v6 ? 48 : 28;  // inner IP + UDP
  ASSERT_GT(limit, hdr);
  // Every size up to a block past the limit: each must fit exactly when the
  // limit says so.
  test::MbufArena arena;
  for (uint32_t len = limit - 20; len <= limit + 16; len++) {
    Bytes inner = test::udp_packet(test::host_a(s.inner_v6), test::host_b(s.inner_v6), len - hdr);
    ASSERT_EQ(inner.size(), len);
    rte_mbuf* m = arena.alloc(inner);
    dp::SaOutbound* sa = pair.out.get();
    rte_mbuf* pkts[1] = {m};
    ASSERT_EQ(dp::esp_outbound_burst(w, pkts, std::span<dp::SaOutbound* const>(&sa, 1)), 1u);
    if (len <= limit) {
      EXPECT_LE(m->pkt_len, static_cast<uint32_t>(egress)) << "inner " << len << " limit " << limit;
    } else if (s.mode == Mode::kTunnel) {
      EXPECT_GT(m->pkt_len, static_cast<uint32_t>(egress)) << "inner " << len << " limit " << limit;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(All, TunnelMtu,
                         testing::Combine(testing::ValuesIn(kSuites), testing::Range(0, 6),
                                          testing::Bool(), testing::Values(1500, 1400, 1280)));

TEST(TunnelMtuValue, Aes128GcmOverIpv4Is1446) {
  // 1500 - 20 (outer IPv4) - 8 (ESP) - 8 (IV) - 16 (ICV) = 1448, a multiple
  // of the 4-byte GCM padding unit, less pad length and next header.
  std::string err;
  auto engine = crypto::Engine::create(&err);
  ASSERT_TRUE(engine) << err;
  test::SaPairOptions o;
  o.suite = *crypto::parse_suite("aes128gcm16");
  EXPECT_EQ(dp::tunnel_mtu(*test::make_sa_pair(*engine, o).out, 1500), 1446u);
  o.outer_v6 = true;
  EXPECT_EQ(dp::tunnel_mtu(*test::make_sa_pair(*engine, o).out, 1500), 1426u);
  o.udp = true;
  EXPECT_EQ(dp::tunnel_mtu(*test::make_sa_pair(*engine, o).out, 1500), 1418u);
  EXPECT_EQ(dp::tunnel_mtu(*test::make_sa_pair(*engine, o).out, 60), 0u);
}

// ---------------------------------------------------------------------------
// ICMP fragmentation needed (RFC 792, RFC 1191).

IpAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddress x;
  x.v6 = false;
  x.bytes[0] = a;
  x.bytes[1] = b;
  x.bytes[2] = c;
  x.bytes[3] = d;
  return x;
}
IpAddress v6(uint16_t last) {
  IpAddress x;
  x.v6 = true;
  x.bytes[0] = 0xfd;
  x.bytes[15] = static_cast<uint8_t>(last);
  return x;
}

// with_options inserts IPv4 options after the fixed header.
Bytes with_options(const Bytes& p, const Bytes& opts) {
  Bytes q(p.size() + opts.size());
  std::copy(p.begin(), p.begin() + 20, q.begin());
  std::copy(opts.begin(), opts.end(), q.begin() + 20);
  std::copy(p.begin() + 20, p.end(), q.begin() + 20 + static_cast<std::ptrdiff_t>(opts.size()));
  q[0] = static_cast<uint8_t>(0x40 | (20 + opts.size()) / 4);
  put16(q.data() + 2, static_cast<uint16_t>(q.size()));
  set_ipv4_checksum(q.data(), 20 + opts.size());
  return q;
}

TEST(FragNeeded, ValidPacketQuotingHeaderAnd8Bytes) {
  for (const Bytes& opts : {Bytes{}, Bytes{0x94, 0x04, 0x00, 0x00}}) {  // none, router alert
    const IpAddress sender = test::host_a(false);
    const Bytes orig =
        with_options(test::udp_packet(sender, test::host_b(false), 1472, 7, 0, true), opts);
    const uint32_t ihl = 20 + static_cast<uint32_t>(opts.size());
    test::MbufArena arena;
    rte_mbuf* m = arena.alloc(orig);
    const IpAddress gw = v4(10, 1, 0, 1);
    ASSERT_TRUE(dp::make_frag_needed(m, gw, 1446, 0x1234));
    const Bytes got = test::MbufArena::bytes(m);
    ASSERT_EQ(got.size(), 20 + 8 + ihl + 8);
    const uint8_t* ip = got.data();
    EXPECT_EQ(ip[0], 0x45);
    EXPECT_EQ(get16(ip + 2), got.size());
    EXPECT_EQ(get16(ip + 4), 0x1234);
    EXPECT_EQ(get16(ip + 6) & 0x1fff, 0);
    EXPECT_GT(ip[8], 1);
    EXPECT_EQ(ip[9], 1);
    EXPECT_TRUE(ipv4_header_ok(ip));
    EXPECT_EQ(0, std::memcmp(ip + 12, gw.bytes.data(), 4));
    EXPECT_EQ(0, std::memcmp(ip + 16, sender.bytes.data(), 4));
    const uint8_t* icmp = ip + 20;
    EXPECT_EQ(icmp[0], 3);
    EXPECT_EQ(icmp[1], 4);
    EXPECT_EQ(rte_raw_cksum(icmp, got.size() - 20), 0xffff) << "ICMP checksum";
    EXPECT_EQ(get16(icmp + 4), 0);  // unused
    EXPECT_EQ(get16(icmp + 6), 1446);
    EXPECT_EQ(Bytes(icmp + 8, ip + got.size()), Bytes(orig.begin(), orig.begin() + ihl + 8));
  }
}

// ---------------------------------------------------------------------------
// ICMPv6 packet too big (RFC 4443 section 3.2).

TEST(PacketTooBig, ValidPacketWithin1280Bytes) {
  for (size_t payload : {1452u, 100u, 1224u}) {
    const IpAddress sender = test::host_a(true);
    const Bytes orig = test::udp_packet(sender, test::host_b(true), payload, 9);
    test::MbufArena arena;
    rte_mbuf* m = arena.alloc(orig);
    const IpAddress gw = v6(1);
    ASSERT_TRUE(dp::make_packet_too_big(m, gw, 1446));
    const Bytes got = test::MbufArena::bytes(m);
    const size_t quote = std::min<size_t>(orig.size(), 1280 - 48);
    ASSERT_EQ(got.size(), 48 + quote) << payload;
    EXPECT_LE(got.size(), 1280u);
    const uint8_t* ip = got.data();
    EXPECT_EQ(ip[0] >> 4, 6);
    EXPECT_EQ(get16(ip + 4), got.size() - 40);
    EXPECT_EQ(ip[6], 58);
    EXPECT_GT(ip[7], 1);
    EXPECT_EQ(0, std::memcmp(ip + 8, gw.bytes.data(), 16));
    EXPECT_EQ(0, std::memcmp(ip + 24, sender.bytes.data(), 16));
    const uint8_t* icmp = ip + 40;
    EXPECT_EQ(icmp[0], 2);
    EXPECT_EQ(icmp[1], 0);
    EXPECT_EQ(static_cast<uint32_t>(get16(icmp + 4)) << 16 | get16(icmp + 6), 1446u);
    // DPDK's pseudo-header sum plus the message, checksum included, must
    // come to 0xffff.
    uint32_t sum = rte_ipv6_phdr_cksum(reinterpret_cast<const rte_ipv6_hdr*>(ip), 0);
    sum += rte_raw_cksum(icmp, got.size() - 40);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    EXPECT_EQ(sum, 0xffffu) << "ICMPv6 checksum";
    EXPECT_EQ(Bytes(icmp + 8, ip + got.size()), Bytes(orig.begin(), orig.begin() + quote));
  }
}

TEST(IcmpErrorAllowed, NeverAboutErrorsFragmentsOrOddSources) {
  const Bytes udp4 = test::udp_packet(test::host_a(false), test::host_b(false), 100);
  EXPECT_TRUE(dp::icmp_error_allowed(udp4.data(), static_cast<uint32_t>(udp4.size())));
  Bytes p = udp4;
  put16(p.data() + 6, 0x0010);  // a non-initial fragment
  EXPECT_FALSE(dp::icmp_error_allowed(p.data(), static_cast<uint32_t>(p.size())));
  p = udp4;
  put16(p.data() + 6, 0x2000);  // first fragment: allowed
  EXPECT_TRUE(dp::icmp_error_allowed(p.data(), static_cast<uint32_t>(p.size())));
  for (uint8_t s0 : {0, 127, 224, 255}) {
    p = udp4;
    p[12] = s0;
    EXPECT_FALSE(dp::icmp_error_allowed(p.data(), static_cast<uint32_t>(p.size()))) << int{s0};
  }
  p = udp4;
  p[16] = 239;  // multicast destination
  EXPECT_FALSE(dp::icmp_error_allowed(p.data(), static_cast<uint32_t>(p.size())));
  p = udp4;
  p[9] = 1;  // ICMP: echo request allowed, an error not
  p[20] = 8;
  EXPECT_TRUE(dp::icmp_error_allowed(p.data(), static_cast<uint32_t>(p.size())));
  p[20] = 3;
  EXPECT_FALSE(dp::icmp_error_allowed(p.data(), static_cast<uint32_t>(p.size())));

  const Bytes udp6 = test::udp_packet(test::host_a(true), test::host_b(true), 100);
  EXPECT_TRUE(dp::icmp_error_allowed(udp6.data(), static_cast<uint32_t>(udp6.size())));
  p = udp6;
  p[8] = 0xff;  // multicast source
  EXPECT_FALSE(dp::icmp_error_allowed(p.data(), static_cast<uint32_t>(p.size())));
  p = udp6;
  std::memset(p.data() + 8, 0, 16);  // unspecified source
  EXPECT_FALSE(dp::icmp_error_allowed(p.data(), static_cast<uint32_t>(p.size())));
  p = udp6;
  p[6] = 58;
  p[40] = 128;  // echo request
  EXPECT_TRUE(dp::icmp_error_allowed(p.data(), static_cast<uint32_t>(p.size())));
  p[40] = 1;  // destination unreachable
  EXPECT_FALSE(dp::icmp_error_allowed(p.data(), static_cast<uint32_t>(p.size())));
}

// ---------------------------------------------------------------------------
// Fragmentation (RFC 791): fragments fit, and reassemble to the original.

class Fragment : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    pool_ = rte_pktmbuf_pool_create("too_big_test", 511, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr) << rte_strerror(rte_errno);
  }
  static void TearDownTestSuite() { rte_mempool_free(pool_); }

  // reassemble checks every fragment and rebuilds the packet (RFC 791
  // section 3.2 reassembly, independently of the fragmenter): the first
  // fragment's header with offset and MF of the whole, payloads by offset.
  static Bytes reassemble(std::span<rte_mbuf* const> frags, uint32_t max_len, uint16_t base_off) {
    std::map<uint32_t, Bytes> parts;
    Bytes header;
    uint32_t end = 0;
    bool last_mf = true;
    for (rte_mbuf* f : frags) {
      const Bytes b = test::MbufArena::bytes(f);
      EXPECT_EQ(f->nb_segs, 1);
      EXPECT_LE(b.size(), max_len);
      EXPECT_TRUE(ipv4_header_ok(b.data()));
      const uint32_t ihl = (b[0] & 0x0f) * 4u;
      EXPECT_EQ(get16(b.data() + 2), b.size());
      const uint16_t fo = get16(b.data() + 6);
      EXPECT_EQ(fo & 0x4000, 0) << "DF";
      const uint32_t off = (fo & 0x1fffu) * 8u - base_off * 8u;
      const bool mf = (fo & 0x2000) != 0;
      const Bytes payload(b.begin() + ihl, b.end());
      if (mf) {
        EXPECT_EQ(payload.size() % 8, 0u) << "non-final fragment of " << payload.size();
      }
      if (off == 0) header.assign(b.begin(), b.begin() + ihl);
      if (off + payload.size() > end) {
        end = static_cast<uint32_t>(off + payload.size());
        last_mf = mf;
      }
      EXPECT_EQ(parts.count(off), 0u);
      parts[off] = payload;
    }
    Bytes out = header;
    uint32_t at = 0;
    for (const auto& [off, payload] : parts) {
      EXPECT_EQ(off, at) << "gap or overlap";
      out.insert(out.end(), payload.begin(), payload.end());
      at = off + static_cast<uint32_t>(payload.size());
    }
    if (out.size() < 20) return out;
    put16(out.data() + 2, static_cast<uint16_t>(out.size()));
    put16(out.data() + 6, static_cast<uint16_t>((last_mf ? 0x2000 : 0) | base_off));
    set_ipv4_checksum(out.data(), header.size());
    return out;
  }

  static rte_mempool* pool_;
};
rte_mempool* Fragment::pool_ = nullptr;

TEST_F(Fragment, ReassemblesToOriginalAndEachFits) {
  for (uint32_t max_len : {1446u, 1426u, 576u, 68u}) {
    for (size_t payload : {1472u, 1419u, 3000u}) {
      const Bytes orig = test::udp_packet(test::host_a(false), test::host_b(false), payload, 3);
      test::MbufArena arena;
      rte_mbuf* m = arena.alloc(orig, RTE_PKTMBUF_HEADROOM, 4096 + RTE_PKTMBUF_HEADROOM);
      rte_mbuf* frags[64];
      DropReason why;
      const size_t n = dp::fragment_ipv4(m, max_len, pool_, frags, &why);
      const size_t expect = 1 + (orig.size() - 20 - 1) / ((max_len - 20) & ~7u);
      if (expect > 64) {
        EXPECT_EQ(n, 0u);
        EXPECT_EQ(why, DropReason::kTooBig);
        continue;
      }
      ASSERT_EQ(n, expect) << "max " << max_len << " payload " << payload;
      EXPECT_EQ(reassemble({frags, n}, max_len, 0), orig);
      EXPECT_EQ(test::MbufArena::bytes(m), orig) << "the original is untouched";
      for (size_t k = 0; k < n; k++) rte_pktmbuf_free(frags[k]);
    }
  }
  EXPECT_EQ(rte_mempool_avail_count(pool_), 511u) << "every fragment freed";
}

TEST_F(Fragment, OptionsAndAnAlreadyFragmentedPacket) {
  // Options: a copied one (0x94, router alert), a non-copied one (0x07,
  // record route, 7 bytes) and a NOP: later fragments keep only the first.
  const Bytes opts = {0x94, 0x04, 0x00, 0x00, 0x07, 0x07, 0x04, 0, 0, 0, 0, 0x01};
  Bytes orig =
      with_options(test::udp_packet(test::host_a(false), test::host_b(false), 1400, 5), opts);
  // A fragment itself: offset 100 (units of 8), the last one (MF clear).
  put16(orig.data() + 6, 100);
  set_ipv4_checksum(orig.data(), 32);
  test::MbufArena arena;
  rte_mbuf* m = arena.alloc(orig);
  rte_mbuf* frags[8];
  DropReason why;
  const size_t n = dp::fragment_ipv4(m, 600, pool_, frags, &why);
  ASSERT_EQ(n, 3u);
  const Bytes first = test::MbufArena::bytes(frags[0]);
  EXPECT_EQ(first[0] & 0x0f, 8) << "first fragment keeps every option";
  for (size_t k = 1; k < n; k++) {
    const Bytes b = test::MbufArena::bytes(frags[k]);
    ASSERT_EQ(b[0] & 0x0f, 6) << "later fragments: router alert only";
    EXPECT_EQ(Bytes(b.begin() + 20, b.begin() + 24), Bytes(opts.begin(), opts.begin() + 4));
  }
  EXPECT_EQ(get16(test::MbufArena::bytes(frags[0]).data() + 6) & 0x3fff, 0x2000 | 100);
  EXPECT_EQ(get16(test::MbufArena::bytes(frags[2]).data() + 6) & 0x2000, 0)
      << "last keeps MF clear";
  // Reassembly by offset from the first fragment's header gives the
  // original (as a fragment at offset 100, MF clear).
  EXPECT_EQ(reassemble({frags, n}, 600, 100), orig);
  for (size_t k = 0; k < n; k++) rte_pktmbuf_free(frags[k]);
}

TEST_F(Fragment, RefusesDfTooManyAndExhaustedPool) {
  const Bytes df = test::udp_packet(test::host_a(false), test::host_b(false), 1472, 1, 0, true);
  test::MbufArena arena;
  rte_mbuf* frags[64];
  DropReason why;
  EXPECT_EQ(dp::fragment_ipv4(arena.alloc(df), 1000, pool_, frags, &why), 0u);
  EXPECT_EQ(why, DropReason::kTooBig);
  const Bytes plain = test::udp_packet(test::host_a(false), test::host_b(false), 1472);
  EXPECT_EQ(dp::fragment_ipv4(arena.alloc(plain), 1000, pool_, {frags, 1}, &why), 0u);
  EXPECT_EQ(why, DropReason::kTooBig);
  EXPECT_EQ(dp::fragment_ipv4(arena.alloc(plain), 27, pool_, frags, &why), 0u);
  // An empty pool: nothing allocated, the reason is kNoMbuf.
  std::vector<rte_mbuf*> all(rte_mempool_avail_count(pool_));
  ASSERT_EQ(rte_pktmbuf_alloc_bulk(pool_, all.data(), static_cast<unsigned>(all.size())), 0);
  EXPECT_EQ(dp::fragment_ipv4(arena.alloc(plain), 1000, pool_, frags, &why), 0u);
  EXPECT_EQ(why, DropReason::kNoMbuf);
  for (rte_mbuf* x : all) rte_pktmbuf_free(x);
  EXPECT_EQ(rte_mempool_avail_count(pool_), 511u);
}

// ---------------------------------------------------------------------------

TEST(IcmpRateLimiter, BurstThenRate) {
  // 1000 cycles a second, 100 a second: one token every 10 cycles, 5 at most.
  dp::IcmpRateLimiter lim(1000, 100, 5);
  uint64_t t = 1'000'000;
  int allowed = 0;
  for (int i = 0; i < 20; i++) allowed += lim.allow(t);
  EXPECT_EQ(allowed, 5);
  EXPECT_FALSE(lim.allow(t + 9));
  EXPECT_TRUE(lim.allow(t + 10));
  EXPECT_FALSE(lim.allow(t + 10));
  // A long pause refills to the burst, not beyond.
  t += 1'000'000;
  allowed = 0;
  for (int i = 0; i < 20; i++) allowed += lim.allow(t);
  EXPECT_EQ(allowed, 5);
  // At a steady 1,000 attempts a second, 100 a second get through.
  allowed = 0;
  for (int i = 1; i <= 1000; i++) allowed += lim.allow(t + static_cast<uint64_t>(i));
  EXPECT_EQ(allowed, 100);
}

}  // namespace
}  // namespace portcullis
