// flow_key_test.cc: the selector fields parsed from IPv4 and IPv6 packets:
// TCP, UDP, ICMP, other protocols, fragments first and not, IPv6 extension
// headers, truncated and inconsistent headers; from bytes and from mbufs,
// including headers split across segments.
#include "dataplane/tables/flow_key.h"

#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

#include "dataplane/ipsec/ip_address.h"

namespace portcullis::dp {
namespace {

using Bytes = std::vector<uint8_t>;

// append copies tail onto b. (Not b.insert(b.end(), ...): GCC 12 warns
// falsely about array bounds there.)
void append(Bytes& b, const Bytes& tail) {
  const size_t n = b.size();
  b.resize(n + tail.size());
  std::copy(tail.begin(), tail.end(), b.begin() + static_cast<ptrdiff_t>(n));
}

void put16(Bytes& b, size_t off, uint16_t v) {
  b[off] = static_cast<uint8_t>(v >> 8);
  b[off + 1] = static_cast<uint8_t>(v);
}

// v4 builds an IPv4 packet: a 20-byte header, then l4 (payload bytes).
Bytes v4(uint8_t proto, const Bytes& l4, uint16_t frag = 0) {
  Bytes b(20, 0);
  b[0] = 0x45;
  put16(b, 2, static_cast<uint16_t>(20 + l4.size()));
  put16(b, 6, frag);
  b[8] = 64;
  b[9] = proto;
  const uint8_t src[] = {10, 1, 2, 3}, dst[] = {192, 168, 1, 7};
  std::memcpy(&b[12], src, 4);
  std::memcpy(&b[16], dst, 4);
  append(b, l4);
  return b;
}

// v6 builds an IPv6 packet whose payload (extension headers and all) is
// payload, first Next Header next.
Bytes v6(uint8_t next, const Bytes& payload) {
  Bytes b(40, 0);
  b[0] = 0x60;
  put16(b, 4, static_cast<uint16_t>(payload.size()));
  b[6] = next;
  b[7] = 64;
  const IpAddress s = *IpAddress::parse("2001:db8::1"), d = *IpAddress::parse("2001:db8:1::2");
  std::memcpy(&b[8], s.bytes.data(), 16);
  std::memcpy(&b[24], d.bytes.data(), 16);
  append(b, payload);
  return b;
}

// ext is an 8-byte IPv6 extension header (options or routing) before next.
Bytes ext(uint8_t next) { return {next, 0, 1, 4, 0, 0, 0, 0}; }

// frag6 is an IPv6 Fragment header at fragment offset off (8-byte units).
Bytes frag6(uint8_t next, uint16_t off, bool more) {
  Bytes b = {next, 0, 0, 0, 0, 0, 0, 42};
  put16(b, 2, static_cast<uint16_t>(off << 3 | (more ? 1 : 0)));
  return b;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) append(out, p);
  return out;
}

const Bytes kTcp = {0x30, 0x39, 0x00, 0x50, 1, 2, 3, 4, 5, 6, 7, 8, 0x50, 0, 0, 0, 0, 0, 0, 0};
const Bytes kUdp = {0x13, 0x88, 0x00, 0x35, 0, 8, 0, 0};  // 5000 -> 53
const Bytes kEcho = {8, 0, 0, 0, 0, 1, 0, 1};             // ICMP echo request

FlowKey parsed(const Bytes& b, DropReason want = DropReason::kNone) {
  FlowKey k;
  EXPECT_EQ(parse_flow_key(b.data(), static_cast<uint32_t>(b.size()), &k), want);
  return k;
}

TEST(FlowKey, Ipv4Tcp) {
  const FlowKey k = parsed(v4(kProtoTcp, kTcp));
  EXPECT_EQ(k.v6, 0);
  EXPECT_EQ(k.proto, kProtoTcp);
  EXPECT_TRUE(k.has_ports());
  EXPECT_EQ(k.sport(), 12345);
  EXPECT_EQ(k.dport(), 80);
  const uint8_t src[] = {10, 1, 2, 3}, dst[] = {192, 168, 1, 7};
  EXPECT_EQ(std::memcmp(k.src, src, 4), 0);
  EXPECT_EQ(std::memcmp(k.dst, dst, 4), 0);
  for (int i = 4; i < 16; ++i) EXPECT_EQ(k.src[i] | k.dst[i], 0);
}

TEST(FlowKey, Ipv4UdpIcmpAndPortless) {
  FlowKey k = parsed(v4(kProtoUdp, kUdp));
  EXPECT_EQ(k.sport(), 5000);
  EXPECT_EQ(k.dport(), 53);
  k = parsed(v4(kProtoIcmp, kEcho));
  EXPECT_TRUE(k.has_ports());
  EXPECT_EQ(k.sport(), 0x0800);  // type 8, code 0
  EXPECT_EQ(k.dport(), 0x0800);
  k = parsed(v4(47, Bytes(8, 0)));  // GRE
  EXPECT_EQ(k.proto, 47);
  EXPECT_FALSE(k.has_ports());
}

TEST(FlowKey, Ipv4Fragments) {
  // First fragment (MF, offset 0): ports present.
  FlowKey k = parsed(v4(kProtoTcp, kTcp, 0x2000));
  EXPECT_TRUE(k.has_ports());
  EXPECT_EQ(k.dport(), 80);
  // Non-initial fragment: no ports, whatever its first bytes look like.
  k = parsed(v4(kProtoTcp, kTcp, 0x2000 | 185));
  EXPECT_EQ(k.proto, kProtoTcp);
  EXPECT_FALSE(k.has_ports());
  EXPECT_EQ(k.sport_be, 0);
  k = parsed(v4(kProtoUdp, {1, 2}, 3));  // last fragment, two bytes long
  EXPECT_FALSE(k.has_ports());
  // A first fragment too short to hold the ports: the tiny-fragment attack.
  parsed(v4(kProtoTcp, {0x30, 0x39}, 0x2000), DropReason::kMalformed);
}

TEST(FlowKey, Ipv4Malformed) {
  Bytes b = v4(kProtoTcp, kTcp);
  parsed(Bytes(b.begin(), b.begin() + 19), DropReason::kMalformed);
  Bytes short_ihl = b;
  short_ihl[0] = 0x44;
  parsed(short_ihl, DropReason::kMalformed);
  Bytes long_total = b;
  put16(long_total, 2, static_cast<uint16_t>(b.size() + 1));
  parsed(long_total, DropReason::kMalformed);
  Bytes ihl_past_total = b;
  ihl_past_total[0] = 0x4f;  // 60-byte header in a 40-byte packet
  put16(ihl_past_total, 2, 40);
  parsed(ihl_past_total, DropReason::kMalformed);
  Bytes bad_version = b;
  bad_version[0] = 0x55;
  parsed(bad_version, DropReason::kMalformed);
  parsed({}, DropReason::kMalformed);
  // Ports beyond the IP total length (in Ethernet padding) do not count.
  Bytes padded = v4(kProtoUdp, {});
  padded.resize(60, 0xee);
  parsed(padded, DropReason::kMalformed);
  // Padding after a whole datagram is fine.
  padded = v4(kProtoUdp, kUdp);
  padded.resize(60, 0xee);
  EXPECT_EQ(parsed(padded).dport(), 53);
  // Options: a 24-byte header.
  Bytes opts = v4(kProtoUdp, kUdp);
  opts[0] = 0x46;
  opts.insert(opts.begin() + 20, {1, 1, 1, 0});
  put16(opts, 2, static_cast<uint16_t>(opts.size()));
  EXPECT_EQ(parsed(opts).dport(), 53);
}

TEST(FlowKey, Ipv6) {
  FlowKey k = parsed(v6(kProtoUdp, kUdp));
  EXPECT_EQ(k.v6, 1);
  EXPECT_EQ(k.proto, kProtoUdp);
  EXPECT_EQ(k.sport(), 5000);
  EXPECT_EQ(k.dst[15], 2);
  EXPECT_EQ(k.dst[5], 1);
  // Through hop-by-hop, routing and destination options to TCP.
  k = parsed(v6(0, cat({ext(43), ext(60), ext(kProtoTcp), kTcp})));
  EXPECT_EQ(k.proto, kProtoTcp);
  EXPECT_EQ(k.dport(), 80);
  k = parsed(v6(kProtoIcmpv6, {128, 0, 0, 0}));  // echo request
  EXPECT_EQ(k.sport(), 128 << 8);
  k = parsed(v6(50, Bytes(16, 0)));  // ESP
  EXPECT_EQ(k.proto, 50);
  EXPECT_FALSE(k.has_ports());
  k = parsed(v6(59, {}));  // no next header, empty payload
  EXPECT_EQ(k.proto, 59);
}

TEST(FlowKey, Ipv6Fragments) {
  FlowKey k = parsed(v6(44, cat({frag6(kProtoUdp, 0, true), kUdp})));
  EXPECT_EQ(k.proto, kProtoUdp);
  EXPECT_TRUE(k.has_ports());
  EXPECT_EQ(k.dport(), 53);
  k = parsed(v6(0, cat({ext(44), frag6(kProtoUdp, 100, false), kUdp})));
  EXPECT_EQ(k.proto, kProtoUdp);
  EXPECT_FALSE(k.has_ports());
  parsed(v6(44, cat({frag6(kProtoUdp, 0, true), {0x13}})), DropReason::kMalformed);
}

TEST(FlowKey, Ipv6Malformed) {
  const Bytes good = v6(kProtoUdp, kUdp);
  parsed(Bytes(good.begin(), good.begin() + 39), DropReason::kMalformed);
  Bytes long_payload = good;
  put16(long_payload, 4, 100);
  parsed(long_payload, DropReason::kMalformed);
  // An extension header claiming more bytes than the payload has.
  Bytes overrun = v6(0, cat({ext(kProtoUdp), kUdp}));
  overrun[40 + 1] = 10;
  parsed(overrun, DropReason::kMalformed);
  // Nine extension headers: more than the parser walks.
  Bytes nine;
  for (int i = 0; i < 9; ++i) nine = cat({nine, ext(60)});
  parsed(v6(60, cat({nine, kUdp})), DropReason::kUnsupported);
}

class FlowKeyMbuf : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pool_ = rte_pktmbuf_pool_create("flow_key_test", 64, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    ASSERT_NE(pool_, nullptr);
  }
  static void TearDownTestSuite() { rte_mempool_free(pool_); }

  // mbuf holds l2 bytes of Ethernet then b, split into segments of at most
  // seg bytes each.
  rte_mbuf* mbuf(const Bytes& b, uint16_t l2, uint16_t seg) {
    Bytes all(l2, 0xaa);
    append(all, b);
    rte_mbuf* head = nullptr;
    for (size_t off = 0; off < all.size(); off += seg) {
      rte_mbuf* m = rte_pktmbuf_alloc(pool_);
      const uint16_t n = static_cast<uint16_t>(std::min<size_t>(seg, all.size() - off));
      std::memcpy(rte_pktmbuf_append(m, n), &all[off], n);
      if (head == nullptr) {
        head = m;
      } else {
        EXPECT_EQ(rte_pktmbuf_chain(head, m), 0);
      }
    }
    head->l2_len = l2;
    return head;
  }
  static rte_mempool* pool_;
};
rte_mempool* FlowKeyMbuf::pool_ = nullptr;

TEST_F(FlowKeyMbuf, ContiguousAndSegmented) {
  const Bytes pkt = v6(0, cat({ext(43), ext(kProtoTcp), kTcp}));
  for (uint16_t seg : {uint16_t{2048}, uint16_t{30}, uint16_t{7}}) {
    rte_mbuf* m = mbuf(pkt, 14, seg);
    FlowKey k;
    EXPECT_EQ(parse_flow_key(m, 14, &k), DropReason::kNone) << "segments of " << seg;
    EXPECT_EQ(k.proto, kProtoTcp);
    EXPECT_EQ(k.dport(), 80);
    EXPECT_EQ(k.src[15], 1);
    rte_pktmbuf_free(m);
  }
}

TEST_F(FlowKeyMbuf, HeadersBeyondWhatIsCopied) {
  // Five 64-byte destination options headers: 360 bytes before the UDP
  // header. In one segment they parse in place; split across segments,
  // the parser copies only the first 256 bytes and says so.
  Bytes opts;
  for (int i = 0; i < 5; ++i) {
    Bytes h(64, 0);
    h[0] = i < 4 ? 60 : kProtoUdp;
    h[1] = 7;  // (7 + 1) * 8 bytes
    append(opts, h);
  }
  const Bytes pkt = v6(60, cat({opts, kUdp}));
  EXPECT_EQ(parsed(pkt).dport(), 53);
  FlowKey k;
  rte_mbuf* m = mbuf(pkt, 0, 2048);
  EXPECT_EQ(parse_flow_key(m, 0, &k), DropReason::kNone);
  EXPECT_EQ(k.dport(), 53);
  rte_pktmbuf_free(m);
  m = mbuf(pkt, 0, 100);
  EXPECT_EQ(parse_flow_key(m, 0, &k), DropReason::kUnsupported);
  rte_pktmbuf_free(m);
}

TEST_F(FlowKeyMbuf, Burst) {
  rte_mbuf* pkts[3] = {mbuf(v4(kProtoUdp, kUdp), 14, 2048), mbuf({0x45, 0}, 14, 2048),
                       mbuf(v6(kProtoTcp, kTcp), 18, 2048)};
  FlowKey keys[3];
  DropReason verdicts[3];
  EXPECT_EQ(parse_flow_keys_burst(pkts, keys, verdicts), 2u);
  EXPECT_EQ(verdicts[0], DropReason::kNone);
  EXPECT_EQ(verdicts[1], DropReason::kMalformed);
  EXPECT_EQ(verdicts[2], DropReason::kNone);
  EXPECT_EQ(keys[0].dport(), 53);
  EXPECT_EQ(keys[2].dport(), 80);
  FlowKey k;
  EXPECT_EQ(parse_flow_key(pkts[0], 500, &k), DropReason::kMalformed);  // offset past the end
  for (rte_mbuf* m : pkts) rte_pktmbuf_free(m);
}

}  // namespace
}  // namespace portcullis::dp
