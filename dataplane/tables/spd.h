// spd.h: the outbound Security Policy Database (RFC 4301 section 4.4.1):
// ordered rules of selectors and an action, protect / bypass / discard.
//
// Immutable once built: the agent builds a new Spd for every change batch
// and publishes it with the other tables. classify_burst allocates
// nothing, takes no locks and never throws.
//
// Design note. Rules are compiled into two rte_acl contexts, IPv4 and IPv6,
// one category each. rte_acl walks a multi-bit trie over the key bytes with
// SIMD, several packets at a time, so its cost depends on the key length,
// not on the number of rules (memory and build time do grow with them).
// The FlowKey that the parser fills is the rte_acl input itself.
//
// Order. RFC 4301 section 4.4.1 makes the SPD an ordered list: the first
// matching entry decides. Here a rule's priority orders it (lower wins) and
// rules of equal priority keep the order they were given in; both are
// folded into one distinct rte_acl priority per rule, because rte_acl says
// nothing about which of two equal-priority matches it returns.
//
// Traffic that matches no rule is discarded (RFC 4301 section 4.4.1: the
// SPD must say what happens to every packet, and discarding is the safe
// default); the default action can be set, for lab use. Protect rules
// without an SA yet (sa == nullptr) tell the caller to raise an acquire.
//
// Bulk rules. rte_acl's build time grows with its rules (about 1.5 s for
// 100,000), so rules whose destination prefix length is shared by many
// rules go into a hash on the destination prefix instead (spd_index.h),
// and rte_acl keeps the rest. A packet is looked up in both; every rule has
// one rank across both structures (its place in the order above), and the
// lower-ranked of the two answers wins, which is exactly the answer the
// single ordered list gives.
//
// rte_acl allocates from the EAL heap: EAL must be initialised before build.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dataplane/tables/flow_key.h"
#include "dataplane/tables/huge_buffer.h"
#include "dataplane/tables/selector.h"
#include "dataplane/tables/spd_index.h"

struct rte_acl_ctx;

namespace portcullis::crypto {
class KeySchedule;
}  // namespace portcullis::crypto

namespace portcullis::dp {

struct SaOutbound;

enum class SpdAction : uint8_t { kDiscard, kBypass, kProtect };

// SpdRule is one policy as the agent installs it.
struct SpdRule {
  Selector sel;
  uint32_t priority = 0;  // lower wins
  SpdAction action = SpdAction::kDiscard;
  SaOutbound* sa = nullptr;  // kProtect: the SA to use; nullptr: acquire one
  uint32_t id = 0;           // the daemon's policy id, for counters and acquire
  const crypto::KeySchedule* ks = nullptr;  // sa's key schedule, for prefetching
  uint32_t ks_lines = 0;                    // ks->hot_lines(false): which lines to prefetch
};

// SpdPolicy is what classification returns: the action of the winning rule
// (or of the default), by pointer into the Spd, valid while it lives.
struct alignas(32) SpdPolicy {
  SpdAction action = SpdAction::kDiscard;
  bool is_default = false;  // no rule matched
  uint32_t id = 0;
  SaOutbound* sa = nullptr;
  // sa's key schedule, copied here so that a worker can start loading the
  // SA and its keys at once, on the policy's line, instead of one after
  // the other (a cold miss each at thousands of tunnels).
  const crypto::KeySchedule* ks = nullptr;
  uint32_t ks_lines = 0;  // ks->hot_lines(false), likewise
};
// Two policies a cache line, none straddling two: a worker prefetches one
// line for each.
static_assert(sizeof(SpdPolicy) == 32);

class Spd {
 public:
  struct Options {
    SpdAction default_action = SpdAction::kDiscard;
    int socket_id = -1;  // NUMA node for rte_acl's memory; -1: any
    // A destination prefix length shared by at least this many rules of a
    // family is hashed (spd_index.h), for at most SpdIndex::kMaxClasses
    // lengths a family, the most used first. 0: everything in rte_acl.
    uint32_t index_min_rules = 64;
    // A family left with at most this many rules for rte_acl gets a linear
    // scan instead: a handful of general rules beside a hashed bulk, where
    // an rte_acl call would cost more than the scan. 0: always rte_acl.
    uint32_t linear_max_rules = 8;
  };

  // build compiles rules; returns nullptr and sets *error naming the first
  // invalid rule, or the rte_acl failure.
  static std::unique_ptr<Spd> build(std::span<const SpdRule> rules, std::string* error);
  static std::unique_ptr<Spd> build(std::span<const SpdRule> rules, const Options& opts,
                                    std::string* error);
  ~Spd();
  Spd(const Spd&) = delete;
  Spd& operator=(const Spd&) = delete;

  // classify returns the policy for one packet.
  const SpdPolicy* classify(const FlowKey& key) const;

  // classify_burst sets out[i] to the policy for *keys[i] (never null: the
  // default when no rule matches) and returns how many matched a rule.
  // out must be at least as long as keys.
  uint32_t classify_burst(std::span<const FlowKey* const> keys,
                          std::span<const SpdPolicy*> out) const;
  uint32_t classify_burst(std::span<const FlowKey> keys, std::span<const SpdPolicy*> out) const;

  size_t size() const { return policies_.size(); }
  // How the rules were split: hashed on the destination, and in rte_acl.
  size_t indexed_rules() const { return index_.size(); }
  size_t acl_rules() const { return policies_.size() - index_.size(); }  // or scanned
  // linear says whether a family's non-hashed rules are scanned, not rte_acl's.
  bool linear(bool v6) const { return linear_[v6]; }
  const SpdPolicy& default_policy() const { return default_; }

 private:
  Spd() = default;

  // LinearRule is one rule of a family small enough to scan: a selector
  // as masks over the key's 16-byte address fields.
  struct LinearRule {
    uint64_t src[2], src_mask[2], dst[2], dst_mask[2];
    uint32_t rank, policy;  // policy: index into policies_
    uint16_t sport_lo, sport_hi, dport_lo, dport_hi;
    uint8_t proto;
    bool any_proto, any_ports;
  };
  // first_linear returns the userdata rte_acl would: 1 + the policy index
  // of the best-ranked matching rule of the family's scan list, or 0.
  uint32_t first_linear(int fam, const FlowKey& k) const;

  rte_acl_ctx* ctx_[2] = {nullptr, nullptr};  // [0] IPv4, [1] IPv6; null: no rules
  bool linear_[2] = {false, false};           // the family's rules are in linear_rules_
  std::vector<LinearRule> linear_rules_[2];   // by rank
  // rte_acl userdata n is policies_[n - 1]. On huge pages: read at random
  // per packet.
  std::vector<SpdPolicy, HugePageAllocator<SpdPolicy>> policies_;
  std::vector<uint32_t> rank_;                // rank_[i]: policies_[i]'s place in the order
  SpdIndex index_;                            // values are indexes into policies_
  // The best rank among each family's rte_acl rules: a packet whose hashed
  // match ranks better skips rte_acl.
  uint32_t acl_min_rank_[2] = {SpdIndex::kNoMatch, SpdIndex::kNoMatch};
  SpdPolicy default_;
};

}  // namespace portcullis::dp
