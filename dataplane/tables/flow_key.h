// flow_key.h: the fields of a packet that security policy selectors look at
// (RFC 4301 section 4.4.1.1), extracted once per packet.
//
// FlowKey is laid out to be the rte_acl search input itself, so the SPD
// classifies a burst by handing rte_acl pointers to keys the parser filled,
// with no copy in between. The layout is therefore fixed: rte_acl wants a
// one-byte first field (the protocol) and every later field in groups of
// four consecutive bytes, all in network byte order. IPv4 addresses sit in
// the first four bytes of src and dst so that both families share one type.
//
// Ports. RFC 4301 section 7 has non-initial fragments match only SPD entries
// whose port selectors are ANY or OPAQUE, and a protocol without ports
// (ESP, GRE, OSPF, ...) is in the same position. kFlowHasPorts records
// whether the packet carried the fields; a selector with a narrower port
// range than 0-65535 requires it, so such packets can only match
// port-agnostic rules. For ICMP and ICMPv6 the 16-bit value type << 8 | code
// stands in for both ports, as RFC 7296 section 3.13.1 encodes ICMP in a
// traffic selector's port range; either side's range then constrains it.
#pragma once

#include <cstdint>
#include <span>

#include "dataplane/ipsec/drop_reason.h"

struct rte_mbuf;

namespace portcullis::dp {

// kFlowHasPorts is the FlowKey flag bit for "ports (or ICMP type/code) present".
inline constexpr uint32_t kFlowHasPorts = 1;

// IP protocol numbers the parser and selectors care about.
inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIcmpv6 = 58;

struct alignas(4) FlowKey {
  uint8_t proto = 0;  // ACL field 0: the next-layer protocol
  uint8_t v6 = 0;     // address family: which ACL context to search
  uint8_t reserved[2] = {};
  uint32_t flags_be = 0;  // ACL field 1: kFlowHasPorts, network byte order
  uint8_t src[16] = {};   // ACL fields 2.. (IPv4: first four bytes)
  uint8_t dst[16] = {};
  uint16_t sport_be = 0;  // last ACL group: both ports, network byte order
  uint16_t dport_be = 0;

  bool has_ports() const;
  uint16_t sport() const;
  uint16_t dport() const;
};
static_assert(sizeof(FlowKey) == 44, "FlowKey is the rte_acl input; spd.cc has its offsets");

// parse_flow_key fills key from the IP header at l3, with len bytes of the
// packet from there. Returns kNone, or kMalformed for a header that is
// truncated or inconsistent (including a first fragment too short to hold
// the ports: a tiny-fragment attack), or kUnsupported for more than eight
// IPv6 extension headers.
DropReason parse_flow_key(const uint8_t* l3, uint32_t len, FlowKey* key);

// parse_flow_key reads the IP header at offset l3_off of m. The headers may
// span segments; they are then copied to the stack, and if they reach past
// the first 256 bytes the answer is kUnsupported.
DropReason parse_flow_key(const rte_mbuf* m, uint32_t l3_off, FlowKey* key);

// parse_flow_keys_burst parses pkts[i] (IP header at pkts[i]->l2_len) into
// keys[i] and sets verdicts[i]; returns how many parsed (kNone). keys and
// verdicts must be at least as long as pkts.
uint32_t parse_flow_keys_burst(std::span<rte_mbuf* const> pkts, std::span<FlowKey> keys,
                               std::span<DropReason> verdicts);

}  // namespace portcullis::dp
