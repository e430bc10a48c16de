// drop_reason.h: why the data plane dropped a packet. Every drop is counted
// per lcore under one of these; none is ever logged per packet.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace portcullis::dp {

enum class DropReason : uint8_t {
  kNone = 0,
  kMalformed,       // headers or lengths inconsistent with the buffer
  kFragment,        // an outer fragment: ESP is not reassembled here
  kNoSa,            // no SA for the SPI, or the SPI does not match the SA
  kReplay,          // sequence number already seen
  kOutOfWindow,     // sequence number older than the replay window
  kIntegrity,       // ICV did not verify
  kBadPadding,      // RFC 4303 section 2.4 padding bytes or length wrong
  kBadNextHeader,   // next header not allowed for the SA's mode
  kDummy,           // next header 59: a TFC dummy packet (RFC 4303 section 2.6)
  kEcn,             // outer CE over a Not-ECT inner packet (RFC 6040 section 4.2)
  kSeqExhausted,    // outbound sequence number space used up
  kHardLifetime,    // SA past its hard byte or packet limit
  kNoRoom,          // mbuf lacks headroom or tailroom for ESP
  kUnsupported,     // chained mbufs, or an IP option the engine does not handle
  kCryptoError,     // IPsec-MB refused the job
  kPolicyMismatch,  // decrypted packet outside the SA's traffic selectors
  kNoRoute,
  kNoNeighbour,
  kTooBig,
  kDiscard,         // an SPD discard rule, or no rule matched
  kNotForUs,        // arrived on the unprotected side for someone else
  kLocal,           // addressed to the gateway, nothing listens (counted, RFC 1122)
  kPuntFull,        // the agent's queue for ARP, ND and IKE was full
  kTxFull,          // the port's transmit queue was full
  kNoMbuf,          // no mbuf for a fragment of an oversized packet
  kCount
};

constexpr size_t kDropReasonCount = static_cast<size_t>(DropReason::kCount);

// drop_reason_name is the stable snake_case name used in counters and JSON.
std::string_view drop_reason_name(DropReason r);

// DropCounters is one lcore's count of drops by reason. Owned by that lcore
// (written without atomics); readers on other threads see a recent value.
struct DropCounters {
  std::array<uint64_t, kDropReasonCount> count{};
  void add(DropReason r) { count[static_cast<size_t>(r)]++; }
  uint64_t operator[](DropReason r) const { return count[static_cast<size_t>(r)]; }
  uint64_t total() const;
};

}  // namespace portcullis::dp
