// selector.h: traffic selectors (RFC 4301 section 4.4.1.1) and the
// per-SA selector check of RFC 4301 section 5.2 step 4.
//
// A Selector is one SPD rule's match: source and destination prefixes of
// one address family, a next-layer protocol or any, and two port ranges.
// IKEv2 traffic selectors are address ranges; the daemon splits a range
// into prefixes (one Selector each) before it installs them.
//
// SelectorList is what an inbound SA carries: after decryption the inner
// packet must fall inside the selectors the SA was negotiated for, or a
// peer could use its SA to inject traffic that policy gives to another
// (RFC 4301 section 5.2 step 4, "policy mismatch"). The list is small, so
// it is scanned linearly, on precomputed 64-bit masks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/ipsec/ip_address.h"
#include "dataplane/tables/flow_key.h"

namespace portcullis::dp {

// Prefix is an address and a prefix length; host bits are kept zero.
struct Prefix {
  IpAddress addr;
  uint8_t len = 0;

  // make returns the prefix with the host bits of addr cleared, or nullopt
  // when len is longer than the family allows.
  static std::optional<Prefix> make(const IpAddress& addr, uint8_t len);
  // parse reads "10.1.0.0/16", "2001:db8::/32" or a bare address (full
  // length); host bits are cleared, as the kernel's "ip route" would refuse.
  static std::optional<Prefix> parse(std::string_view text);
  // any is 0.0.0.0/0 or ::/0.
  static Prefix any(bool v6);

  bool v6() const { return addr.v6; }
  // contains tests an address of the prefix's family (4 or 16 bytes).
  bool contains(const uint8_t* a) const;
  std::string str() const;
  bool operator==(const Prefix&) const = default;
};

// PortRange is an inclusive range; 0-65535 is ANY and matches packets
// without ports too (non-initial fragments, protocols without ports).
struct PortRange {
  uint16_t lo = 0;
  uint16_t hi = 65535;
  bool any() const { return lo == 0 && hi == 65535; }
  bool operator==(const PortRange&) const = default;
};

// kAnyProtocol in Selector::proto matches every next-layer protocol.
inline constexpr int kAnyProtocol = -1;

struct Selector {
  Prefix src;
  Prefix dst;
  int proto = kAnyProtocol;  // 0..255 or kAnyProtocol
  PortRange sport;           // ICMP: type << 8 | code (see flow_key.h)
  PortRange dport;

  // validate returns an empty string, or what is wrong.
  std::string validate() const;
  // matches is the reference semantics, written for clarity; the SPD's
  // rte_acl tries and SelectorList must agree with it.
  bool matches(const FlowKey& k) const;
  std::string str() const;
};

// SelectorList is an inbound SA's traffic selectors, immutable once built.
// An empty list matches nothing: an SA with no selectors admits no traffic.
class SelectorList {
 public:
  SelectorList() = default;
  // build checks each selector; returns nullopt and sets *error if one is
  // invalid.
  static std::optional<SelectorList> build(const std::vector<Selector>& selectors,
                                           std::string* error);

  // matches: does the decrypted inner packet fall inside any selector?
  bool matches(const FlowKey& k) const;
  size_t size() const { return rules_.size(); }

 private:
  // Rule is a Selector with its prefixes turned into masks over the key's
  // 16-byte address fields, so a match is a few ANDs and compares.
  struct Rule {
    uint64_t src[2], src_mask[2];
    uint64_t dst[2], dst_mask[2];
    uint8_t v6;
    bool any_proto;
    uint8_t proto;
    bool any_ports;  // both ranges ANY: the packet need not carry ports
    uint16_t sport_lo, sport_hi, dport_lo, dport_hi;
  };
  std::vector<Rule> rules_;
};

}  // namespace portcullis::dp
