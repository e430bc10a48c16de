#include "dataplane/pipeline/too_big.h"

#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>

#include "dataplane/ipsec/esp_util.h"
#include "dataplane/ipsec/sa.h"

namespace portcullis::dp {
namespace {

using esp::kEspHdrLen;
using esp::kUdpHdrLen;
using esp::load16;
using esp::store16;

constexpr uint8_t kIcmp = 1, kIcmpv6 = 58;
constexpr uint32_t kIpv4HdrLen = 20, kIpv6HdrLen = 40, kIcmpHdrLen = 8;
constexpr uint16_t kDf = 0x4000, kMf = 0x2000, kOffsetMask = 0x1fff;

uint32_t sum_words(const uint8_t* p, size_t len, uint32_t sum) {
  for (; len >= 2; p += 2, len -= 2) sum += static_cast<uint32_t>(p[0] << 8 | p[1]);
  if (len != 0) sum += static_cast<uint32_t>(p[0] << 8);
  return sum;
}

// copied_options collects the IPv4 options whose copied flag (RFC 791
// section 3.1, the option type's top bit) says they belong in every
// fragment, padded to a multiple of four with end-of-list bytes. Returns
// their length, or -1 when the options are malformed.
int copied_options(const uint8_t* opt, uint32_t len, uint8_t* out) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < len;) {
    const uint8_t type = opt[i];
    if (type == 0) break;  // end of option list
    if (type == 1) {       // no-operation
      i++;
      continue;
    }
    if (i + 1 >= len || opt[i + 1] < 2 || i + opt[i + 1] > len) return -1;
    const uint8_t olen = opt[i + 1];
    if ((type & 0x80) != 0) {
      std::memcpy(out + n, opt + i, olen);
      n += olen;
    }
    i += olen;
  }
  while (n % 4 != 0) out[n++] = 0;
  return static_cast<int>(n);
}

}  // namespace

uint16_t internet_checksum(const uint8_t* p, size_t len, uint32_t sum) {
  sum = sum_words(p, len, sum);
  while ((sum >> 16) != 0) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

uint32_t tunnel_mtu(const SaOutbound& sa, uint32_t egress_mtu) {
  const uint32_t mask = sa.block_mask;
  if (sa.outer_len != 0) {
    // Tunnel mode: the whole inner packet plus the two trailer bytes is
    // padded to the block, so the room left after the fixed parts, rounded
    // down to the block, less those two bytes, is exact.
    const uint32_t fixed = sa.outer_len + kEspHdrLen + sa.iv_len + sa.icv_len;
    if (egress_mtu < fixed + 2) return 0;
    const uint32_t room = (egress_mtu - fixed) & ~mask;
    return room >= 2 ? room - 2 : 0;
  }
  // Transport mode pads the payload after the packet's own IP header,
  // whose length varies: assume the worst padding.
  const uint32_t fixed = (sa.udp ? kUdpHdrLen : 0) + kEspHdrLen + sa.iv_len + sa.icv_len + 2 + mask;
  return egress_mtu > fixed ? egress_mtu - fixed : 0;
}

IpAddress outer_destination(const SaOutbound& sa, const uint8_t* ip) {
  IpAddress a;
  if (sa.outer_len != 0) {
    a.v6 = sa.outer_v6;
    std::memcpy(a.bytes.data(), sa.tmpl + (a.v6 ? 24 : 16), a.v6 ? 16 : 4);
  } else {
    a.v6 = ip[0] >> 4 == 6;
    std::memcpy(a.bytes.data(), ip + (a.v6 ? 24 : 16), a.v6 ? 16 : 4);
  }
  return a;
}

bool icmp_error_allowed(const uint8_t* ip, uint32_t len) {
  if (len < 1) return false;
  if (ip[0] >> 4 == 6) {
    if (len < kIpv6HdrLen) return false;
    const uint8_t* s = ip + 8;
    static constexpr uint8_t kZero[16] = {};
    if (s[0] == 0xff) return false;                                  // multicast
    if (std::memcmp(s, kZero, 15) == 0 && s[15] <= 1) return false;  // :: and ::1
    // An ICMPv6 error (types 0-127) is never answered with another.
    if (ip[6] == kIcmpv6 && (len < kIpv6HdrLen + 1 || ip[kIpv6HdrLen] < 128)) return false;
    return true;
  }
  if (len < kIpv4HdrLen) return false;
  const uint32_t ihl = (ip[0] & 0x0f) * 4u;
  if ((load16(ip + 6) & kOffsetMask) != 0) return false;  // only the first fragment
  const uint8_t s0 = ip[12], d0 = ip[16];
  if (s0 == 0 || s0 == 127 || s0 >= 224) return false;  // this host, loopback, multicast, class E
  if (d0 >= 224) return false;                          // multicast or broadcast destination
  if (ip[9] == kIcmp) {
    if (len < ihl + 1) return false;
    // RFC 1122 section 3.2.2: never about an ICMP error message.
    switch (ip[ihl]) {
      case 3:   // destination unreachable
      case 4:   // source quench
      case 5:   // redirect
      case 11:  // time exceeded
      case 12:  // parameter problem
        return false;
      default:
        break;
    }
  }
  return true;
}

bool make_frag_needed(rte_mbuf* m, const IpAddress& src, uint16_t mtu, uint16_t ip_id) {
  if (m->nb_segs != 1 || m->pkt_len < kIpv4HdrLen || src.v6) return false;
  const uint8_t* orig = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t ihl = (orig[0] & 0x0f) * 4u;
  if (ihl < kIpv4HdrLen || ihl > m->pkt_len) return false;
  const uint32_t quote = std::min<uint32_t>(m->pkt_len, ihl + 8);
  if (rte_pktmbuf_trim(m, static_cast<uint16_t>(m->pkt_len - quote)) != 0) return false;
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, kIpv4HdrLen + kIcmpHdrLen));
  if (p == nullptr) return false;
  const uint8_t* q = p + kIpv4HdrLen + kIcmpHdrLen;  // the quoted original
  std::memset(p, 0, kIpv4HdrLen + kIcmpHdrLen);
  p[0] = 0x45;
  p[1] = 0xc0;  // precedence "internetwork control" (RFC 1812 section 4.3.2.5)
  store16(p + 2, static_cast<uint16_t>(m->pkt_len));
  store16(p + 4, ip_id);
  p[8] = 64;
  p[9] = kIcmp;
  std::memcpy(p + 12, src.bytes.data(), 4);
  std::memcpy(p + 16, q + 12, 4);  // back to the original's source
  store16(p + 10, internet_checksum(p, kIpv4HdrLen));
  uint8_t* icmp = p + kIpv4HdrLen;
  icmp[0] = 3;             // destination unreachable
  icmp[1] = 4;             // fragmentation needed and DF set
  store16(icmp + 6, mtu);  // RFC 1191 section 4: next-hop MTU in the low 16 bits
  store16(icmp + 2, internet_checksum(icmp, kIcmpHdrLen + quote));
  return true;
}

bool make_packet_too_big(rte_mbuf* m, const IpAddress& src, uint32_t mtu) {
  if (m->nb_segs != 1 || m->pkt_len < kIpv6HdrLen || !src.v6) return false;
  constexpr uint32_t kMaxQuote = kMinIpv6Mtu - kIpv6HdrLen - kIcmpHdrLen;
  const uint32_t quote = std::min<uint32_t>(m->pkt_len, kMaxQuote);
  if (rte_pktmbuf_trim(m, static_cast<uint16_t>(m->pkt_len - quote)) != 0) return false;
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, kIpv6HdrLen + kIcmpHdrLen));
  if (p == nullptr) return false;
  const uint8_t* q = p + kIpv6HdrLen + kIcmpHdrLen;
  std::memset(p, 0, kIpv6HdrLen + kIcmpHdrLen);
  p[0] = 0x60;
  const uint32_t icmp_len = kIcmpHdrLen + quote;
  store16(p + 4, static_cast<uint16_t>(icmp_len));
  p[6] = kIcmpv6;
  p[7] = 64;
  std::memcpy(p + 8, src.bytes.data(), 16);
  std::memcpy(p + 24, q + 8, 16);  // back to the original's source
  uint8_t* icmp = p + kIpv6HdrLen;
  icmp[0] = 2;  // packet too big
  esp::store32(icmp + 4, mtu);
  // RFC 4443 section 2.3: the checksum covers the RFC 8200 section 8.1
  // pseudo-header: addresses, upper-layer length, next header.
  uint32_t sum = sum_words(p + 8, 32, 0);
  sum += icmp_len + kIcmpv6;
  store16(icmp + 2, internet_checksum(icmp, icmp_len, sum));
  return true;
}

size_t fragment_ipv4(const rte_mbuf* m, uint32_t max_len, rte_mempool* pool,
                     std::span<rte_mbuf*> out, DropReason* why) {
  *why = DropReason::kTooBig;
  if (m->nb_segs != 1 || m->pkt_len < kIpv4HdrLen) return 0;
  const uint8_t* ip = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t ihl = (ip[0] & 0x0f) * 4u;
  const uint32_t total = load16(ip + 2);
  const uint16_t frag = load16(ip + 6);
  if (ihl < kIpv4HdrLen || total < ihl || total > m->pkt_len || (frag & kDf) != 0) return 0;
  uint8_t opts[40];
  const int olen = copied_options(ip + kIpv4HdrLen, ihl - kIpv4HdrLen, opts);
  if (olen < 0) return 0;
  const uint32_t later_ihl = kIpv4HdrLen + static_cast<uint32_t>(olen);
  if (max_len < ihl + 8 || max_len < later_ihl + 8) return 0;
  // Every fragment but the last carries a multiple of 8 payload bytes.
  const uint32_t first_chunk = (max_len - ihl) & ~7u;
  const uint32_t later_chunk = (max_len - later_ihl) & ~7u;
  const uint32_t payload = total - ihl;
  size_t n = 1;
  if (payload > first_chunk) n += (payload - first_chunk + later_chunk - 1) / later_chunk;
  const uint32_t orig_offset = frag & kOffsetMask;
  if (n > out.size() || orig_offset + (payload + 7) / 8 > kOffsetMask + 1u) return 0;
  *why = DropReason::kNoMbuf;
  if (rte_pktmbuf_alloc_bulk(pool, out.data(), static_cast<unsigned>(n)) != 0) return 0;

  uint32_t off = 0;
  for (size_t k = 0; k < n; k++) {
    rte_mbuf* f = out[k];
    const uint32_t hl = k == 0 ? ihl : later_ihl;
    const uint32_t chunk = std::min(k == 0 ? first_chunk : later_chunk, payload - off);
    auto* p =
        rte_pktmbuf_tailroom(f) >= hl + chunk
            ? reinterpret_cast<uint8_t*>(rte_pktmbuf_append(f, static_cast<uint16_t>(hl + chunk)))
            : nullptr;
    if (p == nullptr) {
      for (size_t j = 0; j < n; j++) rte_pktmbuf_free(out[j]);
      *why = DropReason::kNoRoom;
      return 0;
    }
    if (k == 0) {
      std::memcpy(p, ip, ihl);
    } else {
      std::memcpy(p, ip, kIpv4HdrLen);
      p[0] = static_cast<uint8_t>(0x40 | later_ihl / 4);
      std::memcpy(p + kIpv4HdrLen, opts, static_cast<size_t>(olen));
    }
    const bool last = off + chunk == payload;
    store16(p + 2, static_cast<uint16_t>(hl + chunk));
    // The reserved bit and DF (clear here) are kept; MF is set on all but
    // the last, which keeps the original's (it may be a fragment itself).
    const uint16_t flags = static_cast<uint16_t>((frag & 0x8000) | (last ? frag & kMf : kMf));
    store16(p + 6, static_cast<uint16_t>(flags | (orig_offset + off / 8)));
    store16(p + 10, 0);
    store16(p + 10, internet_checksum(p, hl));
    std::memcpy(p + hl, ip + ihl + off, chunk);
    f->port = m->port;
    off += chunk;
  }
  return n;
}

IcmpRateLimiter::IcmpRateLimiter(uint64_t tsc_hz, uint32_t rate, uint32_t burst)
    : interval_(std::max<uint64_t>(1, rate == 0 ? tsc_hz : tsc_hz / rate)),
      burst_(burst),
      tokens_(burst) {}

bool IcmpRateLimiter::allow(uint64_t now) {
  if (now > last_) {
    const uint64_t add = (now - last_) / interval_;
    if (add != 0) {
      tokens_ = static_cast<uint32_t>(std::min<uint64_t>(burst_, tokens_ + add));
      last_ += add * interval_;
    }
  }
  if (tokens_ == 0) return false;
  tokens_--;
  return true;
}

}  // namespace portcullis::dp
