#include "dataplane/tables/flow_key.h"

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>

namespace portcullis::dp {

namespace {

constexpr uint8_t kProtoHopByHop = 0;
constexpr uint8_t kProtoDccp = 33;
constexpr uint8_t kProtoRouting = 43;
constexpr uint8_t kProtoFragment = 44;
constexpr uint8_t kProtoDstOpts = 60;
constexpr uint8_t kProtoSctp = 132;
constexpr uint8_t kProtoUdpLite = 136;

// More IPv6 extension headers than this is not a packet anyone sends for
// real; bounding the walk bounds the per-packet cost.
constexpr int kMaxExtHeaders = 8;
// The most header bytes parse_flow_key(mbuf) copies when they span segments.
constexpr uint32_t kMaxHeaderBytes = 256;

uint16_t load_be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

bool carries_ports(uint8_t proto) {
  return proto == kProtoTcp || proto == kProtoUdp || proto == kProtoSctp ||
         proto == kProtoUdpLite || proto == kProtoDccp;
}

// Span is the part of a datagram the parser may read: avail bytes are in
// memory at p, and the datagram (as its IP header says) ends at end, which
// may lie beyond avail when only the first 256 bytes were copied out of a
// segmented mbuf. Reading past end is malformed; past avail, unsupported.
struct Span {
  const uint8_t* p;
  uint32_t avail;
  uint32_t end;
  DropReason need(uint32_t off, uint32_t n) const {
    if (off > end || end - off < n) return DropReason::kMalformed;
    if (off > avail || avail - off < n) return DropReason::kUnsupported;
    return DropReason::kNone;
  }
};

// fill_ports reads the ports (or ICMP type and code) at offset l4.
DropReason fill_ports(const Span& s, uint32_t l4, FlowKey* key) {
  if (carries_ports(key->proto)) {
    if (auto r = s.need(l4, 4); r != DropReason::kNone) return r;
    std::memcpy(&key->sport_be, s.p + l4, 2);
    std::memcpy(&key->dport_be, s.p + l4 + 2, 2);
  } else if (key->proto == kProtoIcmp || key->proto == kProtoIcmpv6) {
    if (auto r = s.need(l4, 2); r != DropReason::kNone) return r;
    std::memcpy(&key->sport_be, s.p + l4, 2);  // type then code: already big-endian
    key->dport_be = key->sport_be;
  } else {
    return DropReason::kNone;  // no port fields: OPAQUE
  }
  key->flags_be = rte_cpu_to_be_32(kFlowHasPorts);
  return DropReason::kNone;
}

// parse_v4 follows RFC 791. pkt_len is the packet's length from the header.
DropReason parse_v4(const uint8_t* p, uint32_t avail, uint32_t pkt_len, FlowKey* key) {
  if (pkt_len < 20 || avail < 20) return DropReason::kMalformed;
  const uint32_t ihl = (p[0] & 0x0f) * 4u;
  const uint32_t total = load_be16(p + 2);
  // Trailing bytes beyond total (Ethernet padding) are allowed.
  if (ihl < 20 || total < ihl || total > pkt_len) return DropReason::kMalformed;
  const Span s{p, std::min(avail, total), total};
  if (auto r = s.need(0, ihl); r != DropReason::kNone) return r;
  key->v6 = 0;
  key->proto = p[9];
  std::memcpy(key->src, p + 12, 4);
  std::memcpy(key->dst, p + 16, 4);
  const uint16_t frag_offset = load_be16(p + 6) & 0x1fff;
  if (frag_offset != 0) return DropReason::kNone;  // non-initial fragment: no ports
  return fill_ports(s, ihl, key);
}

// parse_v6 follows RFC 8200 section 4 through the extension headers to the
// next-layer protocol, which is what RFC 4301 section 4.4.1.1 has selectors
// match (not the first Next Header value).
DropReason parse_v6(const uint8_t* p, uint32_t avail, uint32_t pkt_len, FlowKey* key) {
  if (pkt_len < 40 || avail < 40) return DropReason::kMalformed;
  const uint32_t end = 40u + load_be16(p + 4);
  if (end > pkt_len) return DropReason::kMalformed;
  const Span s{p, std::min(avail, end), end};
  key->v6 = 1;
  std::memcpy(key->src, p + 8, 16);
  std::memcpy(key->dst, p + 24, 16);
  uint8_t next = p[6];
  uint32_t off = 40;
  for (int i = 0; i < kMaxExtHeaders; ++i) {
    switch (next) {
      case kProtoHopByHop:
      case kProtoRouting:
      case kProtoDstOpts: {
        if (auto r = s.need(off, 8); r != DropReason::kNone) return r;
        const uint32_t hlen = (p[off + 1] + 1u) * 8u;
        if (auto r = s.need(off, hlen); r != DropReason::kNone) return r;
        next = p[off];
        off += hlen;
        continue;
      }
      case kProtoFragment: {
        if (auto r = s.need(off, 8); r != DropReason::kNone) return r;
        const uint16_t frag_offset = load_be16(p + off + 2) >> 3;
        next = p[off];
        off += 8;
        if (frag_offset != 0) {  // non-initial fragment: no ports
          key->proto = next;
          return DropReason::kNone;
        }
        continue;
      }
      default:
        key->proto = next;
        return fill_ports(s, off, key);
    }
  }
  return DropReason::kUnsupported;
}

// parse dispatches on the version nibble.
DropReason parse(const uint8_t* p, uint32_t avail, uint32_t pkt_len, FlowKey* key) {
  *key = FlowKey{};
  if (avail < 1) return DropReason::kMalformed;
  switch (p[0] >> 4) {
    case 4:
      return parse_v4(p, avail, pkt_len, key);
    case 6:
      return parse_v6(p, avail, pkt_len, key);
    default:
      return DropReason::kMalformed;
  }
}

}  // namespace

bool FlowKey::has_ports() const { return (rte_be_to_cpu_32(flags_be) & kFlowHasPorts) != 0; }
uint16_t FlowKey::sport() const { return rte_be_to_cpu_16(sport_be); }
uint16_t FlowKey::dport() const { return rte_be_to_cpu_16(dport_be); }

DropReason parse_flow_key(const uint8_t* l3, uint32_t len, FlowKey* key) {
  return parse(l3, len, len, key);
}

DropReason parse_flow_key(const rte_mbuf* m, uint32_t l3_off, FlowKey* key) {
  if (l3_off >= m->pkt_len) {
    *key = FlowKey{};
    return DropReason::kMalformed;
  }
  const uint32_t pkt_bytes = m->pkt_len - l3_off;
  // The usual case: the first segment holds the headers (or all of them
  // that there are room for in the copy below). Parse in place.
  if (l3_off < m->data_len) {
    const uint32_t first = m->data_len - l3_off;
    if (first >= pkt_bytes || first >= kMaxHeaderBytes) {
      return parse(rte_pktmbuf_mtod_offset(m, const uint8_t*, l3_off), std::min(first, pkt_bytes),
                   pkt_bytes, key);
    }
  }
  // Headers that span segments are copied out, up to kMaxHeaderBytes.
  const uint32_t want = std::min(pkt_bytes, kMaxHeaderBytes);
  alignas(8) uint8_t copy[kMaxHeaderBytes];
  const auto* p = static_cast<const uint8_t*>(rte_pktmbuf_read(m, l3_off, want, copy));
  return parse(p, want, pkt_bytes, key);
}

uint32_t parse_flow_keys_burst(std::span<rte_mbuf* const> pkts, std::span<FlowKey> keys,
                               std::span<DropReason> verdicts) {
  uint32_t ok = 0;
  for (size_t i = 0; i < pkts.size(); ++i) {
    verdicts[i] = parse_flow_key(pkts[i], pkts[i]->l2_len, &keys[i]);
    ok += verdicts[i] == DropReason::kNone;
  }
  return ok;
}

}  // namespace portcullis::dp
