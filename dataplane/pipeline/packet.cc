#include "dataplane/pipeline/packet.h"

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <cstring>

#include "dataplane/ipsec/esp_util.h"

namespace portcullis::dp {
namespace {

using esp::load16;
using esp::store16;

constexpr uint16_t kIkePort = 500;
constexpr uint16_t kNattPort = 4500;
constexpr uint8_t kIcmp = 1, kIcmpv6 = 58;

// echo_reply turns an ICMP or ICMPv6 echo request into its reply in place:
// swap the addresses, change the type, fix the checksums incrementally.
void echo_reply(uint8_t* ip, bool v6, uint32_t l4_off) {
  uint8_t tmp[16];
  const size_t a = v6 ? 16 : 4, src = v6 ? 8 : 12;
  std::memcpy(tmp, ip + src, a);
  std::memmove(ip + src, ip + src + a, a);
  std::memcpy(ip + src + a, tmp, a);
  uint8_t* icmp = ip + l4_off;
  const uint16_t old_word = load16(icmp);
  icmp[0] = v6 ? 129 : 0;  // echo reply
  store16(icmp + 2, checksum_adjust(load16(icmp + 2), old_word, load16(icmp)));
  if (v6) {
    ip[7] = 64;
  } else {
    ip[8] = 64;
    esp::ipv4_fix_checksum(ip);
  }
}

}  // namespace

bool decrement_ttl(rte_mbuf* m) {
  uint8_t* ip = rte_pktmbuf_mtod(m, uint8_t*);
  if (ip[0] >> 4 == 6) {
    if (ip[7] <= 1) return false;
    ip[7]--;
    return true;
  }
  if (ip[8] <= 1) return false;
  const uint16_t old_word = load16(ip + 8);
  ip[8]--;
  store16(ip + 10, checksum_adjust(load16(ip + 10), old_word, load16(ip + 8)));
  return true;
}

Classified classify(const LocalAddrs& local, const PortConf& port, rte_mbuf* m) {
  if (m->nb_segs != 1 || m->pkt_len < sizeof(rte_ether_hdr)) return {Verdict::kDrop, DropReason::kMalformed};
  const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
  const uint16_t type = rte_be_to_cpu_16(eth->ether_type);
  if (type == RTE_ETHER_TYPE_ARP) return {Verdict::kPunt};
  if (type != RTE_ETHER_TYPE_IPV4 && type != RTE_ETHER_TYPE_IPV6) {
    return {Verdict::kDrop, DropReason::kUnsupported};
  }
  const bool v6 = type == RTE_ETHER_TYPE_IPV6;
  const uint8_t* ip = rte_pktmbuf_mtod_offset(m, const uint8_t*, sizeof(rte_ether_hdr));
  const uint32_t len = m->pkt_len - sizeof(rte_ether_hdr);
  uint32_t ip_len, total;
  uint8_t proto;
  bool is_local;
  if (v6) {
    if (len < 40 || ip[0] >> 4 != 6) return {Verdict::kDrop, DropReason::kMalformed};
    ip_len = 40;
    total = 40 + load16(ip + 4);
    proto = ip[6];
    IpAddress dst;
    dst.v6 = true;
    std::memcpy(dst.bytes.data(), ip + 24, 16);
    is_local = local.contains6(dst);
    // Neighbour discovery (RFC 4861 types 133-137) goes to the agent,
    // whatever the destination (solicited-node multicast).
    if (proto == kIcmpv6 && len >= 41 && ip[40] >= 133 && ip[40] <= 137) return {Verdict::kPunt};
  } else {
    if (len < 20 || ip[0] >> 4 != 4) return {Verdict::kDrop, DropReason::kMalformed};
    ip_len = (ip[0] & 0x0f) * 4u;
    total = load16(ip + 2);
    if (ip_len < 20) return {Verdict::kDrop, DropReason::kMalformed};
    proto = ip[9];
    uint32_t dst_be;
    std::memcpy(&dst_be, ip + 16, 4);
    is_local = local.contains4(dst_be);
  }
  if (total > len || total < ip_len) return {Verdict::kDrop, DropReason::kMalformed};

  if (!is_local) {
    if (port.role == PortRole::kProtected) {
      // Drop Ethernet and any link-layer padding: ESP must carry exactly
      // the IP packet.
      rte_pktmbuf_adj(m, sizeof(rte_ether_hdr));
      rte_pktmbuf_trim(m, static_cast<uint16_t>(m->pkt_len - total));
      return {Verdict::kOutbound};
    }
    return {Verdict::kDrop, DropReason::kNotForUs};
  }
  // For the gateway itself.
  const bool first_fragment_or_whole = v6 || (load16(ip + 6) & 0x1fff) == 0;
  if (proto == esp::kProtoEsp && port.role == PortRole::kUnprotected) {
    rte_pktmbuf_adj(m, sizeof(rte_ether_hdr));
    return {Verdict::kInbound};
  }
  if (proto == esp::kProtoUdp && first_fragment_or_whole && total >= ip_len + 8) {
    const uint16_t dport = load16(ip + ip_len + 2);
    const uint32_t udp_payload = total - ip_len - 8;
    if (dport == kIkePort) return {Verdict::kPunt};
    if (dport == kNattPort) {
      // RFC 3948 section 2.2: one 0xff byte is a NAT-keepalive; a zero
      // non-ESP marker is IKE; anything else is ESP.
      if (udp_payload == 1 && ip[ip_len + 8] == 0xff) return {Verdict::kDrop, DropReason::kLocal};
      if (udp_payload >= 4 && esp::load32(ip + ip_len + 8) == 0) return {Verdict::kPunt};
      if (port.role == PortRole::kUnprotected) {
        rte_pktmbuf_adj(m, sizeof(rte_ether_hdr));
        return {Verdict::kInbound};
      }
    }
  }
  const uint8_t echo_request = v6 ? 128 : 8;
  if (proto == (v6 ? kIcmpv6 : kIcmp) && first_fragment_or_whole && total >= ip_len + 8 &&
      ip[ip_len] == echo_request) {
    rte_pktmbuf_adj(m, sizeof(rte_ether_hdr));
    rte_pktmbuf_trim(m, static_cast<uint16_t>(m->pkt_len - total));
    echo_reply(rte_pktmbuf_mtod(m, uint8_t*), v6, ip_len);
    return {Verdict::kEchoReply};
  }
  return {Verdict::kDrop, DropReason::kLocal};
}

}  // namespace portcullis::dp
