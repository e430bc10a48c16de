#include "control/api/wire.h"

#include <array>
#include <cstdio>

namespace portcullis::ctl::api {

Header read_header(const uint8_t* p) {
  Header h;
  h.magic = load_le32(p);
  h.version = load_le16(p + 4);
  h.type = load_le16(p + 6);
  h.request_id = load_le32(p + 8);
  h.payload_len = load_le32(p + 12);
  return h;
}

void write_header(uint8_t* p, const Header& h) {
  store_le32(p, h.magic);
  store_le16(p + 4, h.version);
  store_le16(p + 6, h.type);
  store_le32(p + 8, h.request_id);
  store_le32(p + 12, h.payload_len);
}

std::optional<DecodeError> check_framing(const Header& h) {
  if (h.magic != kMagic) {
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "bad magic 0x%08x (expected 0x%08x): not a dataplane channel peer, or the "
                  "stream lost its framing",
                  h.magic, kMagic);
    return DecodeError{Status::kMalformed, buf, 0, true};
  }
  if (h.payload_len > kMaxPayload) {
    return DecodeError{Status::kTooLarge,
                       "payload of " + std::to_string(h.payload_len) + " bytes exceeds the " +
                           std::to_string(kMaxPayload) + "-byte limit: split the batch",
                       h.request_id, false};
  }
  return std::nullopt;
}

namespace {

constexpr auto kAttrNames = [] {
  std::array<const char*, kAttrLimit> n{};
  auto set = [&n](Attr a, const char* s) { n[static_cast<uint16_t>(a)] = s; };
  set(Attr::kSaId, "sa_id");
  set(Attr::kDirection, "direction");
  set(Attr::kSpi, "spi");
  set(Attr::kSuite, "suite");
  set(Attr::kCipherKey, "cipher_key");
  set(Attr::kAuthKey, "auth_key");
  set(Attr::kMode, "mode");
  set(Attr::kEsn, "esn");
  set(Attr::kTunnelSrc, "tunnel_src");
  set(Attr::kTunnelDst, "tunnel_dst");
  set(Attr::kUdpEncap, "udp_encap");
  set(Attr::kUdpSrcPort, "udp_src_port");
  set(Attr::kUdpDstPort, "udp_dst_port");
  set(Attr::kReplayWindow, "replay_window");
  set(Attr::kAntiReplay, "anti_replay");
  set(Attr::kTtl, "ttl");
  set(Attr::kDscp, "dscp");
  set(Attr::kDf, "df");
  set(Attr::kSoftBytes, "soft_bytes");
  set(Attr::kHardBytes, "hard_bytes");
  set(Attr::kSoftPackets, "soft_packets");
  set(Attr::kHardPackets, "hard_packets");
  set(Attr::kSoftSeconds, "soft_seconds");
  set(Attr::kHardSeconds, "hard_seconds");
  set(Attr::kFirstSeq, "first_seq");
  set(Attr::kSoftSeqRemaining, "soft_seq_remaining");
  set(Attr::kSelector, "selector");
  set(Attr::kSelSrc, "src");
  set(Attr::kSelDst, "dst");
  set(Attr::kSelProto, "proto");
  set(Attr::kSelSrcPorts, "src_ports");
  set(Attr::kSelDstPorts, "dst_ports");
  set(Attr::kPolicyId, "policy_id");
  set(Attr::kPriority, "priority");
  set(Attr::kAction, "action");
  set(Attr::kPrefix, "prefix");
  set(Attr::kNextHop, "next_hop");
  set(Attr::kPortId, "port_id");
  set(Attr::kPortRole, "role");
  set(Attr::kAddress, "address");
  set(Attr::kMtu, "mtu");
  set(Attr::kPacket, "packet");
  set(Attr::kStatus, "status");
  set(Attr::kError, "error");
  set(Attr::kPayloadKind, "payload_kind");
  set(Attr::kInfoPackets, "packets");
  set(Attr::kInfoBytes, "bytes");
  set(Attr::kInfoLastUseNs, "last_use_ns");
  set(Attr::kInfoDrops, "drops");
  set(Attr::kInfoSeq, "seq");
  set(Attr::kInfoEvents, "events");
  set(Attr::kCounter, "counter");
  set(Attr::kCounterName, "name");
  set(Attr::kCounterValue, "value");
  set(Attr::kExpireKind, "kind");
  set(Attr::kExpireBy, "by");
  set(Attr::kMac, "mac");
  set(Attr::kSeqLease, "seq_lease");
  return n;
}();

}  // namespace

const char* attr_name(uint16_t type) { return type < kAttrLimit ? kAttrNames[type] : nullptr; }

}  // namespace portcullis::ctl::api
