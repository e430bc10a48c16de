// esp_outbound.cc: ESP encapsulation (RFC 4303 sections 3.1 and 3.3),
// optionally inside UDP (RFC 3948 section 2), for bursts of mbufs.
//
// Each SA's prepare function is one instantiation of prepare_tunnel or
// prepare_transport, picked in sa.cc, so the per-packet code has no
// branches on mode, address family, UDP or suite.

#include "dataplane/ipsec/esp_outbound.h"

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include <algorithm>

#include "crypto/key_schedule.h"
#include "dataplane/ipsec/esp_util.h"
#include "dataplane/ipsec/esp_worker.h"
#include "dataplane/ipsec/sa.h"

namespace portcullis::dp {
namespace {

using crypto::CryptoOp;
using namespace esp;

// fill_op describes the crypto job for a packet laid out as
// [esp_off: ESP header][IV][payload + trailer: cipher_len][ICV].
template <bool kAead>
inline void fill_op(const SaOutbound& sa, uint8_t* p, uint32_t esp_off, uint32_t cipher_len,
                    uint64_t seq, CryptoOp& op, EspWorker& w) {
  uint8_t* esp = p + esp_off;
  std::memcpy(esp, &sa.spi_be, 4);
  store32(esp + 4, static_cast<uint32_t>(seq));
  op.ks = sa.ks;
  op.data = p;
  op.cipher_offset = esp_off + kEspHdrLen + sa.iv_len;
  op.cipher_len = cipher_len;
  op.tag_len = sa.icv_len;
  if constexpr (kAead) {
    // The explicit IV is the 64-bit sequence number (masked by a per-SA
    // constant): unique per key by construction, as RFC 4106 section 3.1
    // requires.
    store64(esp + kEspHdrLen, seq ^ sa.iv_mask);
    aead_nonce(op, sa.ks->salt(), esp + kEspHdrLen);
    aead_aad(op, sa.spi_be, seq, sa.esn);
  } else {
    w.iv_pool().take16(esp + kEspHdrLen);
    std::memcpy(op.iv, esp + kEspHdrLen, 16);
    op.auth_offset = esp_off;
    op.auth_len = kEspHdrLen + 16 + cipher_len;
    if (sa.cbc_esn) {
      // RFC 4303 section 2.2.1: the high 32 bits are appended to the ICV
      // input, not sent. They sit where the ICV will go.
      store32(p + op.cipher_offset + cipher_len, static_cast<uint32_t>(seq >> 32));
      op.auth_len += 4;
    }
  }
}

// inner_tos_df reads the inner packet's DSCP/ECN byte and DF bit.
inline bool inner_tos_df(const uint8_t* in, uint32_t len, uint8_t* next, uint8_t* tos, bool* df) {
  if (len == 0) return false;
  const uint8_t ver = in[0] >> 4;
  if (ver == 4 && len >= sizeof(rte_ipv4_hdr)) {
    *next = kProtoIpv4;
    *tos = in[1];
    *df = (in[6] & 0x40) != 0;
    return true;
  }
  if (ver == 6 && len >= sizeof(rte_ipv6_hdr)) {
    *next = kProtoIpv6;
    *tos = static_cast<uint8_t>((in[0] & 0x0f) << 4 | in[1] >> 4);
    *df = true;  // IPv6 is never fragmented on path
    return true;
  }
  return false;
}

template <bool kAead, bool kOuterV6, bool kUdp>
DropReason prepare_tunnel(const SaOutbound& sa, rte_mbuf* m, uint64_t seq, CryptoOp& op,
                          EspWorker& w) {
  if (m->nb_segs != 1) return DropReason::kUnsupported;
  const uint32_t inner_len = m->pkt_len;
  uint8_t next, tos;
  bool df;
  if (!inner_tos_df(data(m), inner_len, &next, &tos, &df)) return DropReason::kMalformed;

  const uint32_t pad = (0u - (inner_len + 2)) & sa.block_mask;
  const uint32_t cipher_len = inner_len + pad + 2;
  const uint32_t esp_off = sa.outer_len;
  const uint32_t hdr_len = esp_off + kEspHdrLen + sa.iv_len;
  const uint32_t tail_len = pad + 2 + sa.icv_len;
  if (rte_pktmbuf_headroom(m) < hdr_len || rte_pktmbuf_tailroom(m) < tail_len) {
    return DropReason::kNoRoom;
  }
  auto* tail = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, tail_len));
  write_trailer(tail, pad, next);
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, hdr_len));
  const uint32_t total = m->pkt_len;
  // The template's length is known here; a constant-size copy is a few
  // moves instead of a call to memcpy.
  constexpr uint32_t kTmplLen =
      (kOuterV6 ? sizeof(rte_ipv6_hdr) : sizeof(rte_ipv4_hdr)) + (kUdp ? kUdpHdrLen : 0);
  std::memcpy(p, sa.tmpl, kTmplLen);

  // RFC 4301 section 5.1.2.1 and RFC 6040 section 4.1: DSCP copied or set,
  // ECN copied.
  const uint8_t dscp =
      sa.dscp < 0 ? static_cast<uint8_t>(tos & 0xfc) : static_cast<uint8_t>(sa.dscp << 2);
  const uint8_t out_tos = static_cast<uint8_t>(dscp | (tos & 0x03));
  uint32_t ip_len;
  if constexpr (kOuterV6) {
    ip_len = sizeof(rte_ipv6_hdr);
    p[0] = static_cast<uint8_t>(0x60 | out_tos >> 4);
    p[1] = static_cast<uint8_t>((out_tos & 0x0f) << 4 | (p[1] & 0x0f));
    store16(p + 4, static_cast<uint16_t>(total - ip_len));
  } else {
    ip_len = sizeof(rte_ipv4_hdr);
    const uint16_t id = w.next_ip_id();
    const bool set_df = sa.df == DfMode::kSet || (sa.df == DfMode::kCopy && df);
    p[1] = out_tos;
    store16(p + 2, static_cast<uint16_t>(total));
    store16(p + 4, id);
    p[6] = set_df ? 0x40 : 0x00;
    p[7] = 0;
    // The checksum is summed from the values, not read back from the bytes
    // just stored: a wide load over narrow stores cannot be forwarded and
    // stalls until they reach the cache.
    uint32_t sum = sa.tmpl_sum + out_tos + total + id + (set_df ? 0x4000u : 0u);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    store16(p + 10, static_cast<uint16_t>(~sum));
  }
  if constexpr (kUdp) store16(p + ip_len + 4, static_cast<uint16_t>(total - ip_len));

  fill_op<kAead>(sa, p, esp_off, cipher_len, seq, op, w);
  return DropReason::kNone;
}

// RFC 4303 section 3.1.1: in transport mode ESP goes between the IP
// header and the upper-layer protocol.
template <bool kAead, bool kV6, bool kUdp>
DropReason prepare_transport(const SaOutbound& sa, rte_mbuf* m, uint64_t seq, CryptoOp& op,
                             EspWorker& w) {
  if (m->nb_segs != 1) return DropReason::kUnsupported;
  uint8_t* ip = data(m);
  const uint32_t len = m->pkt_len;
  uint32_t ip_len;
  uint8_t next;
  if constexpr (kV6) {
    if (len < sizeof(rte_ipv6_hdr) || ip[0] >> 4 != 6) return DropReason::kMalformed;
    ip_len = sizeof(rte_ipv6_hdr);
    next = ip[6];
    // Extension headers would have to stay ahead of ESP; not handled yet.
    if (next == 0 || next == 43 || next == 44 || next == 60) return DropReason::kUnsupported;
  } else {
    if (len < sizeof(rte_ipv4_hdr) || ip[0] >> 4 != 4) return DropReason::kMalformed;
    ip_len = (ip[0] & 0x0f) * 4u;
    if (ip_len < sizeof(rte_ipv4_hdr) || ip_len > len) return DropReason::kMalformed;
    if ((load16(ip + 6) & 0x3fff) != 0) return DropReason::kFragment;
    next = ip[9];
  }
  const uint32_t payload_len = len - ip_len;
  const uint32_t pad = (0u - (payload_len + 2)) & sa.block_mask;
  const uint32_t cipher_len = payload_len + pad + 2;
  const uint32_t insert = (kUdp ? kUdpHdrLen : 0) + kEspHdrLen + sa.iv_len;
  const uint32_t tail_len = pad + 2 + sa.icv_len;
  if (rte_pktmbuf_headroom(m) < insert || rte_pktmbuf_tailroom(m) < tail_len) {
    return DropReason::kNoRoom;
  }
  auto* tail = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, tail_len));
  write_trailer(tail, pad, next);
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, insert));
  std::memmove(p, p + insert, ip_len);
  const uint32_t total = m->pkt_len;
  const uint8_t proto = kUdp ? kProtoUdp : kProtoEsp;
  if constexpr (kV6) {
    store16(p + 4, static_cast<uint16_t>(total - ip_len));
    p[6] = proto;
  } else {
    store16(p + 2, static_cast<uint16_t>(total));
    p[9] = proto;
    ipv4_fix_checksum(p);
  }
  uint32_t esp_off = ip_len;
  if constexpr (kUdp) {
    std::memcpy(p + ip_len, sa.tmpl, 4);  // ports from the template
    store16(p + ip_len + 4, static_cast<uint16_t>(total - ip_len));
    store16(p + ip_len + 6, 0);
    esp_off += kUdpHdrLen;
  }
  fill_op<kAead>(sa, p, esp_off, cipher_len, seq, op, w);
  return DropReason::kNone;
}

// finish_packet places the tag; for UDP over IPv6, whose checksum may not
// be zero (RFC 8200 section 8.1), it is computed over the final bytes.
inline void finish_packet(const SaOutbound& sa, rte_mbuf* m, const CryptoOp& op) {
  uint8_t* icv = op.data + op.cipher_offset + op.cipher_len;
  if (sa.aead) {
    std::memcpy(icv, op.tag, 16);  // every AEAD suite has a 16-byte ICV
  } else {
    std::memcpy(icv, op.tag, sa.icv_len);
  }
  if (sa.udp && sa.outer_v6) {
    uint8_t* p = data(m);
    auto* udp = reinterpret_cast<rte_udp_hdr*>(p + sizeof(rte_ipv6_hdr));
    udp->dgram_cksum = 0;
    udp->dgram_cksum = rte_ipv6_udptcp_cksum(reinterpret_cast<const rte_ipv6_hdr*>(p), udp);
  }
}

}  // namespace

OutboundPrepareFn select_outbound_prepare(bool tunnel, bool aead, bool v6, bool udp) {
  // Index: tunnel x aead x v6 x udp.
  static constexpr OutboundPrepareFn kTable[16] = {
      prepare_transport<false, false, false>, prepare_transport<false, false, true>,
      prepare_transport<false, true, false>,  prepare_transport<false, true, true>,
      prepare_transport<true, false, false>,  prepare_transport<true, false, true>,
      prepare_transport<true, true, false>,   prepare_transport<true, true, true>,
      prepare_tunnel<false, false, false>,    prepare_tunnel<false, false, true>,
      prepare_tunnel<false, true, false>,     prepare_tunnel<false, true, true>,
      prepare_tunnel<true, false, false>,     prepare_tunnel<true, false, true>,
      prepare_tunnel<true, true, false>,      prepare_tunnel<true, true, true>,
  };
  return kTable[(tunnel ? 8 : 0) | (aead ? 4 : 0) | (v6 ? 2 : 0) | (udp ? 1 : 0)];
}

size_t esp_outbound_burst(EspWorker& w, std::span<rte_mbuf*> pkts,
                          std::span<SaOutbound* const> sas) {
  const size_t n = std::min(pkts.size(), EspWorker::kMaxBurst);
  size_t nops = 0;
  for (size_t i = 0; i < n;) {
    SaOutbound* sa = sas[i];
    const size_t end = run_end(sas, i, n);
    if (sa == nullptr || sa->counters.dead.load(std::memory_order_relaxed)) {
      const DropReason r = sa == nullptr ? DropReason::kNoSa : DropReason::kHardLifetime;
      for (; i < end; i++) w.status_[i] = r;
      continue;
    }
    // Hard packet and byte limits (RFC 4301 section 4.4.2.1) are enforced
    // here, at run granularity for bytes.
    size_t allowed = end - i;
    SaCounters& c = sa->counters;
    if (sa->hard_packets != 0 || sa->hard_bytes != 0) {
      const SaTotals used = sa->totals();
      if (sa->hard_packets != 0) {
        allowed = used.packets >= sa->hard_packets
                      ? 0
                      : std::min<uint64_t>(allowed, sa->hard_packets - used.packets);
      }
      if (sa->hard_bytes != 0 && used.bytes >= sa->hard_bytes) allowed = 0;
    }
    if (allowed < end - i) {
      c.dead.store(true, std::memory_order_relaxed);
      c.raise(sa->hard_packets != 0 ? kEventHardPackets : kEventHardBytes);
    }
    const uint64_t first = sa->next_seq.fetch_add(allowed, std::memory_order_relaxed);
    const uint64_t lease = sa->seq_lease.load(std::memory_order_relaxed);
    const uint64_t last = std::min(lease, sa->seq_last);
    uint64_t bytes = 0, good = 0;
    for (size_t k = 0; k < allowed; k++, i++) {
      const uint64_t seq = first + k;
      if (seq > last || seq < first) {
        w.status_[i] = DropReason::kSeqExhausted;
        c.raise(seq > sa->seq_last || seq < first ? kEventSeqExhausted : kEventSeqLease);
        continue;
      }
      const uint32_t in_len = pkts[i]->pkt_len;
      const DropReason r = sa->prepare(*sa, pkts[i], seq, w.ops_[nops], w);
      w.status_[i] = r;
      if (r != DropReason::kNone) continue;
      w.op_pkt_[nops++] = static_cast<uint16_t>(i);
      bytes += in_len;
      good++;
    }
    for (; i < end; i++) w.status_[i] = DropReason::kHardLifetime;
    if (allowed != 0 && first + allowed - 1 >= sa->seq_soft) c.raise(kEventSoftSeq);
    CounterShard& shard = sa->shards[w.shard()];
    if (w.shard_owned()) {
      shard.add_owned(good, bytes);
    } else {
      shard.add_shared(good, bytes);
    }
    // Limits are checked against the sum of every worker's shard.
    if (c.soft_packets == 0 && c.soft_bytes == 0 && sa->hard_packets == 0) continue;
    const SaTotals t = sa->totals();
    const uint64_t pk = t.packets, by = t.bytes;
    if (c.soft_packets != 0 && pk >= c.soft_packets) c.raise(kEventSoftPackets);
    if (c.soft_bytes != 0 && by >= c.soft_bytes) c.raise(kEventSoftBytes);
    if (sa->hard_packets != 0 && pk >= sa->hard_packets) {
      // Tell the agent as soon as the last allowed packet has gone.
      c.dead.store(true, std::memory_order_relaxed);
      c.raise(kEventHardPackets);
    }
  }

  w.engine().seal_burst({w.ops_.data(), nops});
  for (size_t k = 0; k < nops; k++) {
    const size_t i = w.op_pkt_[k];
    const CryptoOp& op = w.ops_[k];
    if (!op.ok) {
      w.status_[i] = DropReason::kCryptoError;
      continue;
    }
    finish_packet(*sas[i], pkts[i], op);
  }
  return w.compact(pkts);
}

}  // namespace portcullis::dp
