// codec_net.cc: bodies of the policy, route, port and packet messages
// (policy_add/del, route_add/del, port_config, inject) and of the acquire
// and punt events.
#include "control/api/codec_internal.h"

namespace portcullis::ctl::api::detail {

void encode_body(const PolicyAdd& m, TlvWriter& w) {
  w.u32(Attr::kPolicyId, m.policy_id);
  w.u32(Attr::kPriority, m.priority);
  w.enumeration(Attr::kDirection, m.direction);
  w.selector(Attr::kSelector, m.selector);
  w.enumeration(Attr::kAction, m.action);
  if (m.action == Action::kProtect || m.sa_id != 0) w.u32(Attr::kSaId, m.sa_id);
}

void decode_body(AttrParser& p, PolicyAdd& m) {
  Tlv a;
  while (p.next(a)) {
    switch (a.attr()) {
      case Attr::kPolicyId:
        p.u32(a, m.policy_id);
        break;
      case Attr::kPriority:
        p.u32(a, m.priority);
        break;
      case Attr::kDirection:
        p.enumeration(a, m.direction, Direction::kOut);
        break;
      case Attr::kSelector:
        p.selector(a, m.selector);
        break;
      case Attr::kAction:
        p.enumeration(a, m.action, Action::kDiscard);
        break;
      case Attr::kSaId:
        p.u32(a, m.sa_id);
        break;
      default:
        break;
    }
  }
  for (Attr r : {Attr::kPolicyId, Attr::kDirection, Attr::kSelector, Attr::kAction}) {
    p.require(r);
  }
  if (!p.ok()) return;
  // An SA id on a bypass or discard policy is a daemon bug that would
  // otherwise go unnoticed: refuse it rather than guess.
  if (m.action == Action::kProtect) {
    p.require(Attr::kSaId);
  } else if (p.seen(Attr::kSaId)) {
    p.invalid("sa_id " + std::to_string(m.sa_id) +
              " given with a bypass or discard action; only protect policies name an SA");
  }
}

void encode_body(const PolicyDel& m, TlvWriter& w) { w.u32(Attr::kPolicyId, m.policy_id); }

void decode_body(AttrParser& p, PolicyDel& m) {
  Tlv a;
  while (p.next(a)) {
    if (a.attr() == Attr::kPolicyId) p.u32(a, m.policy_id);
  }
  p.require(Attr::kPolicyId);
}

void encode_body(const RouteAdd& m, TlvWriter& w) {
  w.prefix(Attr::kPrefix, m.prefix);
  if (m.next_hop) w.addr(Attr::kNextHop, *m.next_hop);
  w.u16(Attr::kPortId, m.port_id);
}

void decode_body(AttrParser& p, RouteAdd& m) {
  Tlv a;
  while (p.next(a)) {
    switch (a.attr()) {
      case Attr::kPrefix:
        p.prefix(a, m.prefix);
        break;
      case Attr::kNextHop:
        p.addr(a, m.next_hop.emplace());
        break;
      case Attr::kPortId:
        p.u16(a, m.port_id);
        break;
      default:
        break;
    }
  }
  p.require(Attr::kPrefix);
  p.require(Attr::kPortId);
  if (p.ok() && m.next_hop && m.next_hop->family != m.prefix.addr.family) {
    p.invalid("next_hop " + m.next_hop->str() + " is not of the family of prefix " +
              m.prefix.str());
  }
}

void encode_body(const RouteDel& m, TlvWriter& w) { w.prefix(Attr::kPrefix, m.prefix); }

void decode_body(AttrParser& p, RouteDel& m) {
  Tlv a;
  while (p.next(a)) {
    if (a.attr() == Attr::kPrefix) p.prefix(a, m.prefix);
  }
  p.require(Attr::kPrefix);
}

void encode_body(const NeighAdd& m, TlvWriter& w) {
  w.u16(Attr::kPortId, m.port_id);
  w.addr(Attr::kNextHop, m.ip);
  w.bytes(Attr::kMac, m.mac);
}

// decode_neigh reads the attributes NeighAdd and NeighDel share (port and
// address), and the MAC for NeighAdd.
template <typename Neigh>
void decode_neigh(AttrParser& p, Neigh& m) {
  Tlv a;
  while (p.next(a)) {
    switch (a.attr()) {
      case Attr::kPortId:
        p.u16(a, m.port_id);
        break;
      case Attr::kNextHop:
        p.addr(a, m.ip);
        break;
      case Attr::kMac:
        if constexpr (requires { m.mac; }) p.mac(a, m.mac);
        break;
      default:
        break;
    }
  }
  p.require(Attr::kPortId);
  p.require(Attr::kNextHop);
}

void decode_body(AttrParser& p, NeighAdd& m) {
  decode_neigh(p, m);
  p.require(Attr::kMac);
  if (!p.ok()) return;
  if (m.mac[0] & 1) p.invalid("mac is a multicast or broadcast address; a neighbour needs a unicast one");
}

void encode_body(const NeighDel& m, TlvWriter& w) {
  w.u16(Attr::kPortId, m.port_id);
  w.addr(Attr::kNextHop, m.ip);
}

void decode_body(AttrParser& p, NeighDel& m) { decode_neigh(p, m); }

void encode_body(const PortConfig& m, TlvWriter& w) {
  w.u16(Attr::kPortId, m.port_id);
  w.enumeration(Attr::kPortRole, m.role);
  for (const Prefix& a : m.addresses) w.prefix(Attr::kAddress, a);
  w.u16(Attr::kMtu, m.mtu);
}

void decode_body(AttrParser& p, PortConfig& m) {
  Tlv a;
  while (p.next(a)) {
    switch (a.attr()) {
      case Attr::kPortId:
        p.u16(a, m.port_id);
        break;
      case Attr::kPortRole:
        p.enumeration(a, m.role, PortRole::kUnprotected);
        break;
      case Attr::kMtu:
        p.u16(a, m.mtu);
        break;
      case Attr::kAddress:
        if (p.element(a, m.addresses.size(), kMaxAddresses)) {
          p.prefix_element(a, m.addresses.emplace_back());
        }
        break;
      default:
        break;
    }
  }
  p.require(Attr::kPortId);
  p.require(Attr::kPortRole);
  if (!p.ok()) return;
  // RFC 791 section 3.2 lets every IPv4 link carry 68 bytes; RFC 8200
  // section 5 asks 1280 of every IPv6 link.
  bool v6 = false;
  for (const Prefix& pf : m.addresses) v6 |= pf.addr.family == Family::kIpv6;
  const unsigned min_mtu = v6 ? 1280 : 68;
  if (m.mtu < min_mtu) {
    p.invalid("mtu " + std::to_string(m.mtu) + " is below the " + std::to_string(min_mtu) +
              " that " + (v6 ? "IPv6" : "IPv4") + " requires");
  }
}

// Inject and Punt carry the same two attributes: a port and a packet.
template <typename PortPacket>
void encode_port_packet(const PortPacket& m, TlvWriter& w) {
  w.u16(Attr::kPortId, m.port_id);
  w.bytes(Attr::kPacket, m.packet);
}

template <typename PortPacket>
void decode_port_packet(AttrParser& p, PortPacket& m) {
  Tlv a;
  while (p.next(a)) {
    switch (a.attr()) {
      case Attr::kPortId:
        p.u16(a, m.port_id);
        break;
      case Attr::kPacket:
        p.packet(a, m.packet);
        break;
      default:
        break;
    }
  }
  p.require(Attr::kPortId);
  p.require(Attr::kPacket);
}

void encode_body(const Inject& m, TlvWriter& w) { encode_port_packet(m, w); }
void decode_body(AttrParser& p, Inject& m) { decode_port_packet(p, m); }

void encode_body(const Acquire& m, TlvWriter& w) {
  w.u32(Attr::kPolicyId, m.policy_id);
  w.selector(Attr::kSelector, m.selector);
}

void decode_body(AttrParser& p, Acquire& m) {
  Tlv a;
  while (p.next(a)) {
    switch (a.attr()) {
      case Attr::kPolicyId:
        p.u32(a, m.policy_id);
        break;
      case Attr::kSelector:
        p.selector(a, m.selector);
        break;
      default:
        break;
    }
  }
  p.require(Attr::kPolicyId);
  p.require(Attr::kSelector);
}

void encode_body(const Punt& m, TlvWriter& w) { encode_port_packet(m, w); }
void decode_body(AttrParser& p, Punt& m) { decode_port_packet(p, m); }

}  // namespace portcullis::ctl::api::detail
