// packet.h: per-packet classification and small in-place edits for the
// worker: where a received frame goes, ICMP echo replies, TTL.
#pragma once

#include <cstdint>

#include "dataplane/ipsec/drop_reason.h"
#include "dataplane/pipeline/table_set.h"

struct rte_mbuf;

namespace portcullis::dp {

enum class Verdict : uint8_t { kDrop, kPunt, kEchoReply, kInbound, kOutbound };

struct Classified {
  Verdict verdict;
  DropReason reason = DropReason::kNone;  // kDrop only
};

// classify decides a received frame's path. Frames for the agent (ARP,
// NDP, IKE) keep their Ethernet header; every other verdict strips it, so
// the mbuf starts at the IP header. kEchoReply has already been turned into
// the reply. local holds ts's addresses (LocalAddrs::build).
Classified classify(const LocalAddrs& local, const PortConf& port, rte_mbuf* m);

// decrement_ttl lowers an IPv4 TTL (with an incremental checksum update,
// RFC 1624) or an IPv6 hop limit; false when it would reach zero.
bool decrement_ttl(rte_mbuf* m);

// checksum_adjust updates a 16-bit ones'-complement checksum for one
// 16-bit word changing from old_word to new_word (RFC 1624 eqn. 3).
inline uint16_t checksum_adjust(uint16_t sum, uint16_t old_word, uint16_t new_word) {
  uint32_t s = static_cast<uint16_t>(~sum) + static_cast<uint32_t>(static_cast<uint16_t>(~old_word)) +
               new_word;
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(~s);
}

}  // namespace portcullis::dp
