// esp_inbound.cc: ESP inbound processing (RFC 4303 section 3.4), with
// UDP-encapsulated ESP (RFC 3948 section 3), for bursts of mbufs.
//
// Order per packet, as section 3.4 prescribes: header and length checks,
// SA match, anti-replay check (3.4.3), ICV verification and decryption
// (3.4.4), and only then the replay window update, padding check and
// decapsulation. Nothing is decrypted before its length is known to be
// sane, and the window never moves for a packet that failed its ICV.

#include "dataplane/ipsec/esp_inbound.h"

#include <rte_ip.h>
#include <rte_mbuf.h>

#include <algorithm>

#include "crypto/key_schedule.h"
#include "dataplane/ipsec/esp_util.h"
#include "dataplane/ipsec/esp_worker.h"
#include "dataplane/ipsec/sa.h"

namespace portcullis::dp {
namespace {

using crypto::CryptoOp;
using namespace esp;

// OuterInfo is what parsing the outer headers found.
struct OuterInfo {
  uint32_t esp_off;   // offset of the ESP header
  uint32_t esp_len;   // bytes from the ESP header to the end of the IP packet
  uint32_t ip_total;  // the outer IP packet's length; any more is L2 padding
};

// parse_outer checks the outer IP (and UDP) headers. Returns kNone and
// fills out, or the drop reason.
DropReason parse_outer(const rte_mbuf* m, OuterInfo* out) {
  if (m->nb_segs != 1) return DropReason::kUnsupported;
  const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t len = m->pkt_len;
  if (len < 1) return DropReason::kMalformed;
  uint32_t ip_len, ip_total;
  uint8_t proto;
  if (p[0] >> 4 == 4) {
    if (len < sizeof(rte_ipv4_hdr)) return DropReason::kMalformed;
    ip_len = (p[0] & 0x0f) * 4u;
    ip_total = load16(p + 2);
    if (ip_len < sizeof(rte_ipv4_hdr) || ip_total < ip_len || ip_total > len) {
      return DropReason::kMalformed;
    }
    if ((load16(p + 6) & 0x3fff) != 0) return DropReason::kFragment;
    proto = p[9];
  } else if (p[0] >> 4 == 6) {
    if (len < sizeof(rte_ipv6_hdr)) return DropReason::kMalformed;
    ip_len = sizeof(rte_ipv6_hdr);
    ip_total = ip_len + load16(p + 4);
    if (ip_total > len) return DropReason::kMalformed;
    proto = p[6];
  } else {
    return DropReason::kMalformed;
  }
  uint32_t esp_off = ip_len;
  if (proto == kProtoUdp) {
    // RFC 3948 section 2.2: a non-zero first word is ESP; zero is IKE,
    // which is never handed to this function by the classifier.
    if (ip_total < ip_len + kUdpHdrLen + 4) return DropReason::kMalformed;
    const uint32_t udp_len = load16(p + ip_len + 4);
    if (udp_len < kUdpHdrLen || ip_len + udp_len != ip_total) return DropReason::kMalformed;
    if (load32(p + ip_len + kUdpHdrLen) == 0) return DropReason::kMalformed;
    esp_off += kUdpHdrLen;
  } else if (proto != kProtoEsp) {
    return DropReason::kMalformed;
  }
  out->ip_total = ip_total;
  out->esp_off = esp_off;
  out->esp_len = ip_total - esp_off;
  return DropReason::kNone;
}

// prepare checks an ESP packet against its SA and describes its crypto job.
DropReason prepare(SaInbound& sa, rte_mbuf* m, uint64_t* seq, CryptoOp& op, uint8_t* icv_save) {
  OuterInfo o;
  const DropReason r = parse_outer(m, &o);
  if (r != DropReason::kNone) return r;
  if (o.ip_total < m->pkt_len) rte_pktmbuf_trim(m, static_cast<uint16_t>(m->pkt_len - o.ip_total));
  uint8_t* p = data(m);
  uint8_t* esp = p + o.esp_off;
  // Shortest legal packet: header, IV, one block holding pad length and
  // next header, ICV.
  const uint32_t overhead = kEspHdrLen + sa.iv_len + sa.icv_len;
  if (o.esp_len < overhead + 2) return DropReason::kMalformed;
  const uint32_t cipher_len = o.esp_len - overhead;
  if ((cipher_len & sa.block_mask) != 0) return DropReason::kMalformed;
  if (std::memcmp(esp, &sa.spi_be, 4) != 0) return DropReason::kNoSa;

  switch (sa.replay.check(load32(esp + 4), seq)) {
    case ReplayWindow::Verdict::kOk:
      break;
    case ReplayWindow::Verdict::kDuplicate:
      return DropReason::kReplay;
    case ReplayWindow::Verdict::kTooOld:
      return DropReason::kOutOfWindow;
  }

  op.ks = sa.ks;
  op.data = p;
  op.cipher_offset = o.esp_off + kEspHdrLen + sa.iv_len;
  op.cipher_len = cipher_len;
  op.tag_len = sa.icv_len;
  uint8_t* icv = p + op.cipher_offset + cipher_len;
  if (sa.aead) {
    aead_nonce(op, sa.ks->salt(), esp + kEspHdrLen);
    aead_aad(op, sa.spi_be, *seq, sa.esn);
    op.expected_tag = icv;
  } else {
    std::memcpy(op.iv, esp + kEspHdrLen, 16);
    op.auth_offset = o.esp_off;
    op.auth_len = kEspHdrLen + 16 + cipher_len;
    op.expected_tag = icv;
    if (sa.cbc_esn) {
      // RFC 4303 section 2.2.1: the ICV covers the high sequence bits,
      // appended after the payload; they take the received ICV's place.
      std::memcpy(icv_save, icv, sa.icv_len);
      op.expected_tag = icv_save;
      store32(icv, static_cast<uint32_t>(*seq >> 32));
      op.auth_len += 4;
    }
  }
  return DropReason::kNone;
}

// check_trailer validates RFC 4303 section 2.4 padding; returns the
// payload length or a negative value.
inline int64_t check_trailer(const uint8_t* payload, uint32_t cipher_len, uint8_t* next) {
  const uint8_t pad = payload[cipher_len - 2];
  *next = payload[cipher_len - 1];
  if (pad + 2u > cipher_len) return -1;
  const uint8_t* pp = payload + cipher_len - 2 - pad;
  uint8_t bad = 0;
  for (uint32_t i = 0; i < pad; i++) bad |= static_cast<uint8_t>(pp[i] ^ (i + 1));
  if (bad != 0) return -1;
  return cipher_len - 2 - pad;
}

}  // namespace

// decap_ecn combines the outer and inner ECN fields per RFC 6040 section
// 4.2 (figure 4). Codepoints: 0 Not-ECT, 1 ECT(1), 2 ECT(0), 3 CE. Returns
// the inner field to write, or -1 to drop.
inline int decap_ecn(uint8_t outer, uint8_t inner) {
  if (outer == 3) return inner == 0 ? -1 : 3;
  if (outer == 1 && inner == 2) return 1;
  return inner;
}

// RFC 4303 section 3.4.4.1 / RFC 4301 section 5.2: tunnel mode strips the
// outer headers; the inner packet must be IP and fit its payload (extra
// bytes are TFC padding, RFC 4303 section 2.7, and are removed).
DropReason decap_tunnel(const SaInbound&, rte_mbuf* m, uint32_t off, uint32_t payload_len,
                        uint8_t next) {
  uint8_t* p = data(m);
  uint8_t* in = p + off;
  const uint8_t outer_ecn = (p[0] >> 4 == 4) ? (p[1] & 3) : ((p[1] >> 4) & 3);
  uint32_t inner_len;
  if (next == kProtoIpv4) {
    if (payload_len < sizeof(rte_ipv4_hdr) || in[0] >> 4 != 4) return DropReason::kMalformed;
    inner_len = load16(in + 2);
    if (inner_len < sizeof(rte_ipv4_hdr) || inner_len > payload_len) return DropReason::kMalformed;
    const int ecn = decap_ecn(outer_ecn, in[1] & 3);
    if (ecn < 0) return DropReason::kEcn;
    if (ecn != (in[1] & 3)) {
      in[1] = static_cast<uint8_t>((in[1] & 0xfc) | ecn);
      ipv4_fix_checksum(in);
    }
  } else if (next == kProtoIpv6) {
    if (payload_len < sizeof(rte_ipv6_hdr) || in[0] >> 4 != 6) return DropReason::kMalformed;
    inner_len = sizeof(rte_ipv6_hdr) + load16(in + 4);
    if (inner_len > payload_len) return DropReason::kMalformed;
    const int ecn = decap_ecn(outer_ecn, (in[1] >> 4) & 3);
    if (ecn < 0) return DropReason::kEcn;
    in[1] = static_cast<uint8_t>((in[1] & 0xcf) | ecn << 4);
  } else {
    return DropReason::kBadNextHeader;
  }
  rte_pktmbuf_adj(m, static_cast<uint16_t>(off));
  rte_pktmbuf_trim(m, static_cast<uint16_t>(m->pkt_len - inner_len));
  return DropReason::kNone;
}

// RFC 4303 section 3.4.4.1, transport mode: the IP header moves up to meet
// the payload and takes the trailer's next header as its protocol.
DropReason decap_transport(const SaInbound&, rte_mbuf* m, uint32_t off, uint32_t payload_len,
                           uint8_t next) {
  uint8_t* p = data(m);
  const bool v6 = p[0] >> 4 == 6;
  const uint32_t ip_len = v6 ? sizeof(rte_ipv6_hdr) : (p[0] & 0x0f) * 4u;
  const uint32_t shift = off - ip_len;
  std::memmove(p + shift, p, ip_len);
  rte_pktmbuf_adj(m, static_cast<uint16_t>(shift));
  rte_pktmbuf_trim(m, static_cast<uint16_t>(m->pkt_len - ip_len - payload_len));
  p = data(m);
  if (v6) {
    store16(p + 4, static_cast<uint16_t>(payload_len));
    p[6] = next;
  } else {
    store16(p + 2, static_cast<uint16_t>(ip_len + payload_len));
    p[9] = next;
    ipv4_fix_checksum(p);
  }
  return DropReason::kNone;
}

bool esp_inbound_spi(const rte_mbuf* m, uint32_t* spi) {
  OuterInfo o;
  if (parse_outer(m, &o) != DropReason::kNone || o.esp_len < kEspHdrLen) return false;
  *spi = load32(rte_pktmbuf_mtod(m, const uint8_t*) + o.esp_off);
  return true;
}

size_t esp_inbound_burst(EspWorker& w, std::span<rte_mbuf*> pkts, std::span<SaInbound* const> sas) {
  const size_t n = std::min(pkts.size(), EspWorker::kMaxBurst);
  size_t nops = 0;
  for (size_t i = 0; i < n;) {
    SaInbound* sa = sas[i];
    const size_t end = run_end(sas, i, n);
    if (sa == nullptr || sa->counters.dead.load(std::memory_order_relaxed)) {
      const DropReason r = sa == nullptr ? DropReason::kNoSa : DropReason::kHardLifetime;
      for (; i < end; i++) w.status_[i] = r;
      continue;
    }
    for (; i < end; i++) {
      const DropReason r = prepare(*sa, pkts[i], &w.seq_[i], w.ops_[nops], w.icv_save(nops));
      w.status_[i] = r;
      if (r == DropReason::kNone) w.op_pkt_[nops++] = static_cast<uint16_t>(i);
    }
  }

  w.engine().open_burst({w.ops_.data(), nops});

  for (size_t k = 0; k < nops;) {
    // Runs of one SA again, to sum its counters once.
    SaInbound& sa = *sas[w.op_pkt_[k]];
    SaCounters& c = sa.counters;
    uint64_t good = 0, bytes = 0;
    // RFC 4301 section 4.4.2.1: no packet past the hard limit, even within
    // the burst that reaches it.
    uint64_t room = ~0ull;
    if (sa.hard_packets != 0) {
      const uint64_t used = sa.received.load().packets;
      room = used >= sa.hard_packets ? 0 : sa.hard_packets - used;
    }
    for (; k < nops && sas[w.op_pkt_[k]] == &sa; k++) {
      const size_t i = w.op_pkt_[k];
      CryptoOp& op = w.ops_[k];
      DropReason& st = w.status_[i];
      if (!op.ok) {
        st = DropReason::kIntegrity;
        continue;
      }
      if (good == room) {
        st = DropReason::kHardLifetime;
        continue;
      }
      switch (sa.replay.update(w.seq_[i])) {
        case ReplayWindow::Verdict::kOk:
          break;
        case ReplayWindow::Verdict::kDuplicate:
          st = DropReason::kReplay;
          continue;
        case ReplayWindow::Verdict::kTooOld:
          st = DropReason::kOutOfWindow;
          continue;
      }
      uint8_t next;
      const int64_t payload_len = check_trailer(op.data + op.cipher_offset, op.cipher_len, &next);
      if (payload_len < 0) {
        st = DropReason::kBadPadding;
        continue;
      }
      if (next == kProtoNone) {
        st = DropReason::kDummy;
        continue;
      }
      st = sa.decap(sa, pkts[i], op.cipher_offset, static_cast<uint32_t>(payload_len), next);
      if (st != DropReason::kNone) continue;
      good++;
      bytes += pkts[i]->pkt_len;
    }
    // This worker owns the SA (its replay window too): no locked adds.
    const SaTotals t = sa.received.add_owned(good, bytes);
    const uint64_t pk = t.packets, by = t.bytes;
    if (c.soft_packets != 0 && pk >= c.soft_packets) c.raise(kEventSoftPackets);
    if (c.soft_bytes != 0 && by >= c.soft_bytes) c.raise(kEventSoftBytes);
    if ((sa.hard_packets != 0 && pk >= sa.hard_packets) ||
        (sa.hard_bytes != 0 && by >= sa.hard_bytes)) {
      c.dead.store(true, std::memory_order_relaxed);
      c.raise(sa.hard_packets != 0 && pk >= sa.hard_packets ? kEventHardPackets : kEventHardBytes);
    }
  }
  return w.compact(pkts);
}

}  // namespace portcullis::dp
