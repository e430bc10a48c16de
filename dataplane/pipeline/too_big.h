// too_big.h: outbound packets that no longer fit once encapsulated.
//
// RFC 4301 section 8 leaves the tunnel's path MTU to the gateway: a packet
// whose ESP form would exceed the egress port's MTU is, for IPv4 with DF
// set and for IPv6, dropped and answered with ICMP "fragmentation needed"
// (RFC 792, RFC 1191) or ICMPv6 "packet too big" (RFC 4443 section 3.2)
// carrying the tunnel's effective MTU; an IPv4 packet without DF is
// fragmented before encryption (RFC 4301 section 8.1, RFC 791), each
// fragment then going out as its own ESP packet.
//
// The worker checks one length per packet against a per-SA limit; every
// function here runs only for packets that fail that check, so none of it
// is on the path of packets that fit.
#pragma once

#include <cstdint>
#include <span>

#include "dataplane/ipsec/drop_reason.h"
#include "dataplane/ipsec/ip_address.h"

struct rte_mbuf;
struct rte_mempool;

namespace portcullis::dp {

struct SaOutbound;

// kMinIpv6Mtu is the IPv6 minimum link MTU (RFC 8200 section 5).
constexpr uint32_t kMinIpv6Mtu = 1280;
// kMinIpv4Mtu is the smallest IPv4 MTU (RFC 791: every host must take
// 68-byte datagrams unfragmented).
constexpr uint32_t kMinIpv4Mtu = 68;

// tunnel_mtu is the largest inner packet that sa can carry within
// egress_mtu bytes: in tunnel mode exactly (the outer header, ESP header,
// IV, padding to the cipher block, pad length, next header and ICV); in
// transport mode with the worst-case padding, since the padding then
// depends on the IP header length. 0 when nothing fits.
uint32_t tunnel_mtu(const SaOutbound& sa, uint32_t egress_mtu);

// outer_destination is where sa's ESP packets go: the tunnel endpoint, or
// in transport mode the inner packet's own destination (ip points at it).
IpAddress outer_destination(const SaOutbound& sa, const uint8_t* ip);

// icmp_error_allowed says whether the packet at ip (an IPv4 or IPv6 header,
// len bytes) may be answered with an ICMP error: never for an ICMP error
// itself, a non-initial fragment, or an unspecified, multicast, broadcast
// or loopback source (RFC 1122 section 3.2.2, RFC 1812 section 4.3.2.7,
// RFC 4443 section 2.4 (e)).
bool icmp_error_allowed(const uint8_t* ip, uint32_t len);

// make_frag_needed turns m (an IPv4 packet, data at its header) into the
// ICMP destination unreachable, fragmentation needed (type 3, code 4) to
// send back to its source: from src, next-hop MTU mtu, quoting the
// original header and the first 8 bytes of its payload (RFC 792, RFC 1191
// section 4). Built in place in m's headroom; false when m cannot hold it.
bool make_frag_needed(rte_mbuf* m, const IpAddress& src, uint16_t mtu, uint16_t ip_id);

// make_packet_too_big turns m (an IPv6 packet) into the ICMPv6 packet too
// big (type 2) for its source: from src, MTU mtu, quoting as much of the
// original as keeps the error within 1280 bytes (RFC 4443 sections 2.4 (c)
// and 3.2). In place; false when m cannot hold it.
bool make_packet_too_big(rte_mbuf* m, const IpAddress& src, uint32_t mtu);

// fragment_ipv4 splits m (an IPv4 packet without DF, data at its header)
// into fragments of at most max_len bytes each (RFC 791 section 3.2:
// offsets in 8-byte units, the first fragment keeps every option, the
// others only those with the copied flag), allocated from pool as single
// segments with the pool's default headroom. A packet that is already a
// fragment is split further, keeping its offset and last MF flag. Returns
// how many fragments were written to out, or 0 (and allocates nothing)
// when m cannot be fragmented into out.size() fragments of max_len, or no
// mbuf was available, with the reason in *why (kTooBig or kNoMbuf). m
// itself is left untouched.
size_t fragment_ipv4(const rte_mbuf* m, uint32_t max_len, rte_mempool* pool,
                     std::span<rte_mbuf*> out, DropReason* why);

// IcmpRateLimiter is a token bucket for the ICMP errors one worker sends
// (RFC 1812 section 4.3.2.8, RFC 4443 section 2.4 (f)): `rate` a second,
// bursts up to `burst`. Times are TSC cycles. Owned by one worker.
class IcmpRateLimiter {
 public:
  IcmpRateLimiter(uint64_t tsc_hz, uint32_t rate, uint32_t burst);
  // allow takes a token at time now; false when none is left.
  bool allow(uint64_t now);

 private:
  uint64_t interval_;  // cycles per token
  uint32_t burst_;
  uint32_t tokens_;
  uint64_t last_ = 0;
};

// internet_checksum is the RFC 1071 ones'-complement checksum of bytes,
// starting from a partial sum.
uint16_t internet_checksum(const uint8_t* p, size_t len, uint32_t sum = 0);

}  // namespace portcullis::dp
