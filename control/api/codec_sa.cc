// codec_sa.cc: bodies of the SA messages (sa_add, sa_update, sa_del,
// sa_query) and of the sa_expire event.
#include "control/api/codec_internal.h"
#include "crypto/suite.h"

namespace portcullis::ctl::api::detail {

void encode_body(const SaAdd& m, TlvWriter& w) {
  w.u32(Attr::kSaId, m.sa_id);
  w.enumeration(Attr::kDirection, m.direction);
  w.u32(Attr::kSpi, m.spi);
  w.str(Attr::kSuite, m.suite);
  w.bytes(Attr::kCipherKey, m.cipher_key.span());
  if (!m.auth_key.empty()) w.bytes(Attr::kAuthKey, m.auth_key.span());
  w.enumeration(Attr::kMode, m.mode);
  w.boolean(Attr::kEsn, m.esn);
  w.addr(Attr::kTunnelSrc, m.tunnel_src);
  w.addr(Attr::kTunnelDst, m.tunnel_dst);
  w.boolean(Attr::kUdpEncap, m.udp_encap);
  w.u16(Attr::kUdpSrcPort, m.udp_src_port);
  w.u16(Attr::kUdpDstPort, m.udp_dst_port);
  w.u32(Attr::kReplayWindow, m.replay_window);
  w.boolean(Attr::kAntiReplay, m.anti_replay);
  w.u8(Attr::kTtl, m.ttl);
  w.u8(Attr::kDscp, static_cast<uint8_t>(m.dscp));  // -1 travels as 0xff
  w.enumeration(Attr::kDf, m.df);
  // Zero means no limit, which is also what an absent attribute means, so
  // unlimited lifetimes cost nothing on the wire.
  const Lifetime& l = m.lifetime;
  if (l.soft_bytes) w.u64(Attr::kSoftBytes, l.soft_bytes);
  if (l.hard_bytes) w.u64(Attr::kHardBytes, l.hard_bytes);
  if (l.soft_packets) w.u64(Attr::kSoftPackets, l.soft_packets);
  if (l.hard_packets) w.u64(Attr::kHardPackets, l.hard_packets);
  if (l.soft_seconds) w.u64(Attr::kSoftSeconds, l.soft_seconds);
  if (l.hard_seconds) w.u64(Attr::kHardSeconds, l.hard_seconds);
  w.u64(Attr::kFirstSeq, m.first_seq);
  if (m.soft_seq_remaining) w.u64(Attr::kSoftSeqRemaining, m.soft_seq_remaining);
  if (m.seq_lease) w.u64(Attr::kSeqLease, m.seq_lease);
  for (const Selector& s : m.selectors) w.selector(Attr::kSelector, s);
}

namespace {

// check_lifetime refuses a soft limit at or above its hard limit: the soft
// event exists to warn before the hard one (RFC 4301 section 4.4.2.1).
void check_lifetime(AttrParser& p, const char* what, uint64_t soft, uint64_t hard) {
  if (soft != 0 && hard != 0 && soft >= hard) {
    p.invalid(std::string("soft_") + what + " " + std::to_string(soft) + " is not below hard_" +
              what + " " + std::to_string(hard));
  }
}

// check_keys compares the key sizes with what the suite needs, so that a
// key of the wrong size is refused here with both numbers, not deep inside
// the key schedule.
void check_keys(AttrParser& p, const SaAdd& m) {
  const auto suite = crypto::parse_suite(m.suite);
  if (!suite) {
    p.invalid("suite '" + m.suite +
              "' unknown; use a name from crypto/suite.h such as aes128gcm16, "
              "aes256gcm16, chacha20poly1305 or aes256cbc-sha256");
    return;
  }
  const size_t want_cipher = suite->cipher_key_len() + suite->salt_len();
  if (m.cipher_key.size() != want_cipher) {
    p.invalid("cipher_key is " + std::to_string(m.cipher_key.size()) + " bytes; " + m.suite +
              " needs " + std::to_string(want_cipher) +
              (suite->salt_len() ? " (key then 4-byte salt)" : ""));
    return;
  }
  if (m.auth_key.size() != suite->auth_key_len()) {
    if (suite->is_aead()) {
      p.invalid("auth_key given, but " + m.suite + " is an AEAD and takes none");
    } else {
      p.invalid("auth_key is " + std::to_string(m.auth_key.size()) + " bytes; " + m.suite +
                " needs " + std::to_string(suite->auth_key_len()));
    }
  }
}

}  // namespace

void decode_body(AttrParser& p, SaAdd& m) {
  Tlv a;
  while (p.next(a)) {
    switch (a.attr()) {
      case Attr::kSaId:
        p.u32(a, m.sa_id);
        break;
      case Attr::kDirection:
        p.enumeration(a, m.direction, Direction::kOut);
        break;
      case Attr::kSpi:
        p.u32(a, m.spi);
        break;
      case Attr::kSuite:
        p.ascii(a, m.suite, kMaxSuiteNameLen);
        break;
      case Attr::kCipherKey:
        p.key(a, m.cipher_key);
        break;
      case Attr::kAuthKey:
        p.key(a, m.auth_key);
        break;
      case Attr::kMode:
        p.enumeration(a, m.mode, Mode::kTransport);
        break;
      case Attr::kEsn:
        p.boolean(a, m.esn);
        break;
      case Attr::kTunnelSrc:
        p.addr(a, m.tunnel_src);
        break;
      case Attr::kTunnelDst:
        p.addr(a, m.tunnel_dst);
        break;
      case Attr::kUdpEncap:
        p.boolean(a, m.udp_encap);
        break;
      case Attr::kUdpSrcPort:
        p.u16(a, m.udp_src_port);
        break;
      case Attr::kUdpDstPort:
        p.u16(a, m.udp_dst_port);
        break;
      case Attr::kReplayWindow:
        p.u32(a, m.replay_window);
        break;
      case Attr::kAntiReplay:
        p.boolean(a, m.anti_replay);
        break;
      case Attr::kTtl:
        p.u8(a, m.ttl);
        break;
      case Attr::kDscp: {
        uint8_t d = 0xff;
        p.u8(a, d);
        if (d <= 63) {
          m.dscp = static_cast<int8_t>(d);
        } else if (d != 0xff) {
          p.invalid(a, "value " + std::to_string(d) + " is neither a DSCP (0..63) nor 255 (copy)");
        }
        break;
      }
      case Attr::kDf:
        p.enumeration(a, m.df, DfMode::kClear);
        break;
      case Attr::kSoftBytes:
        p.u64(a, m.lifetime.soft_bytes);
        break;
      case Attr::kHardBytes:
        p.u64(a, m.lifetime.hard_bytes);
        break;
      case Attr::kSoftPackets:
        p.u64(a, m.lifetime.soft_packets);
        break;
      case Attr::kHardPackets:
        p.u64(a, m.lifetime.hard_packets);
        break;
      case Attr::kSoftSeconds:
        p.u64(a, m.lifetime.soft_seconds);
        break;
      case Attr::kHardSeconds:
        p.u64(a, m.lifetime.hard_seconds);
        break;
      case Attr::kFirstSeq:
        p.u64(a, m.first_seq);
        break;
      case Attr::kSoftSeqRemaining:
        p.u64(a, m.soft_seq_remaining);
        break;
      case Attr::kSeqLease:
        p.u64(a, m.seq_lease);
        break;
      case Attr::kSelector:
        if (p.element(a, m.selectors.size(), kMaxSelectors)) {
          const size_t index = m.selectors.size();
          p.selector(a, m.selectors.emplace_back(), index);
        }
        break;
      default:
        break;  // unknown: skipped for forward compatibility
    }
  }
  for (Attr r : {Attr::kSaId, Attr::kDirection, Attr::kSpi, Attr::kSuite, Attr::kCipherKey,
                 Attr::kMode, Attr::kTunnelSrc, Attr::kTunnelDst}) {
    p.require(r);
  }
  if (!p.ok()) return;
  // RFC 4303 section 2.1: SPI 0 is for local use and 1 to 255 are reserved
  // by IANA; none of them may appear on the wire.
  if (m.spi < 256) {
    p.invalid("spi " + std::to_string(m.spi) +
              " is reserved (RFC 4303 section 2.1); use 256 or more");
    return;
  }
  check_keys(p, m);
  if (!p.ok()) return;
  if (m.tunnel_src.family != m.tunnel_dst.family) {
    p.invalid("tunnel_src " + m.tunnel_src.str() + " and tunnel_dst " + m.tunnel_dst.str() +
              " differ in family");
    return;
  }
  check_lifetime(p, "bytes", m.lifetime.soft_bytes, m.lifetime.hard_bytes);
  check_lifetime(p, "packets", m.lifetime.soft_packets, m.lifetime.hard_packets);
  check_lifetime(p, "seconds", m.lifetime.soft_seconds, m.lifetime.hard_seconds);
}

void encode_body(const SaUpdate& m, TlvWriter& w) {
  w.u32(Attr::kSaId, m.sa_id);
  if (m.tunnel_src) w.addr(Attr::kTunnelSrc, *m.tunnel_src);
  if (m.tunnel_dst) w.addr(Attr::kTunnelDst, *m.tunnel_dst);
  if (m.udp_src_port) w.u16(Attr::kUdpSrcPort, *m.udp_src_port);
  if (m.udp_dst_port) w.u16(Attr::kUdpDstPort, *m.udp_dst_port);
  if (m.seq_lease) w.u64(Attr::kSeqLease, *m.seq_lease);
}

void decode_body(AttrParser& p, SaUpdate& m) {
  Tlv a;
  while (p.next(a)) {
    switch (a.attr()) {
      case Attr::kSaId:
        p.u32(a, m.sa_id);
        break;
      case Attr::kTunnelSrc:
        p.addr(a, m.tunnel_src.emplace());
        break;
      case Attr::kTunnelDst:
        p.addr(a, m.tunnel_dst.emplace());
        break;
      case Attr::kUdpSrcPort:
        p.u16(a, m.udp_src_port.emplace());
        break;
      case Attr::kUdpDstPort:
        p.u16(a, m.udp_dst_port.emplace());
        break;
      case Attr::kSeqLease:
        p.u64(a, m.seq_lease.emplace());
        break;
      default:
        break;
    }
  }
  p.require(Attr::kSaId);
  if (!p.ok()) return;
  if (!m.tunnel_src && !m.tunnel_dst && !m.udp_src_port && !m.udp_dst_port && !m.seq_lease) {
    p.invalid(
        "nothing to change: give tunnel_src, tunnel_dst, udp_src_port, udp_dst_port or seq_lease");
  } else if (m.tunnel_src && m.tunnel_dst && m.tunnel_src->family != m.tunnel_dst->family) {
    p.invalid("tunnel_src " + m.tunnel_src->str() + " and tunnel_dst " + m.tunnel_dst->str() +
              " differ in family");
  }
}

void encode_body(const SaDel& m, TlvWriter& w) { w.u32(Attr::kSaId, m.sa_id); }

void decode_body(AttrParser& p, SaDel& m) {
  Tlv a;
  while (p.next(a)) {
    if (a.attr() == Attr::kSaId) p.u32(a, m.sa_id);
  }
  p.require(Attr::kSaId);
}

void encode_body(const SaQuery& m, TlvWriter& w) { w.u32(Attr::kSaId, m.sa_id); }

void decode_body(AttrParser& p, SaQuery& m) {
  Tlv a;
  while (p.next(a)) {
    if (a.attr() == Attr::kSaId) p.u32(a, m.sa_id);
  }
  p.require(Attr::kSaId);
}

void encode_body(const SaExpire& m, TlvWriter& w) {
  w.u32(Attr::kSaId, m.sa_id);
  w.enumeration(Attr::kExpireKind, m.kind);
  w.enumeration(Attr::kExpireBy, m.by);
}

void decode_body(AttrParser& p, SaExpire& m) {
  Tlv a;
  while (p.next(a)) {
    switch (a.attr()) {
      case Attr::kSaId:
        p.u32(a, m.sa_id);
        break;
      case Attr::kExpireKind:
        p.enumeration(a, m.kind, ExpireKind::kHard);
        break;
      case Attr::kExpireBy:
        p.enumeration(a, m.by, ExpireBy::kSeq);
        break;
      default:
        break;
    }
  }
  for (Attr r : {Attr::kSaId, Attr::kExpireKind, Attr::kExpireBy}) p.require(r);
}

}  // namespace portcullis::ctl::api::detail
