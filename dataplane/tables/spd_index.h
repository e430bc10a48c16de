// spd_index.h: the part of the SPD that a hash on the destination prefix
// answers, beside the rte_acl part (spd.h).
//
// Why. An rte_acl build grows with its rules and dominates a provisioning
// batch: 100,000 policies took about a second and a half to compile. A
// gateway's bulk policies are mostly alike, though: many rules whose
// destinations are prefixes of one or a few lengths (a /32 per remote host,
// a /24 per remote site). Such a rule is found by masking the packet's
// destination to that length and looking the result up in a hash table,
// which builds in linear time.
//
// How. This is tuple-space search on one field: rules are grouped by
// (family, destination prefix length), a "class"; a packet probes one hash
// entry per class of its family. The entry for a masked destination holds
// that prefix's rules in rank order, each checked in full (source prefix,
// protocol, ports) with a few masks and compares; the first that matches is
// the entry's best. Spd::build decides which rules come here (at most
// kMaxClasses classes a family, so a packet makes at most that many probes;
// at most kMaxPerKey rules an entry, so none is a long list) and which stay
// in rte_acl.
//
// Priority. Every rule of the SPD has one rank, its position in (priority,
// given order), unique across both structures. Each structure returns the
// lowest-ranked rule that matches, so the better of the two answers is the
// SPD's answer, exactly as if every rule were in one ordered list.
//
// Immutable once built; lookups allocate nothing and take no locks.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dataplane/tables/flow_key.h"
#include "dataplane/tables/huge_buffer.h"
#include "dataplane/tables/selector.h"

namespace portcullis::dp {

// SpdIndexRule is one rule as the index takes it: the selector (host bits
// already cleared), its rank and the caller's value for it.
struct SpdIndexRule {
  Selector sel;
  uint32_t rank = 0;
  uint32_t value = 0;
};

class SpdIndex {
 public:
  static constexpr int kMaxClasses = 4;      // per family: probes per packet
  static constexpr uint32_t kMaxPerKey = 8;  // rules per destination prefix
  static constexpr uint32_t kNoMatch = UINT32_MAX;

  SpdIndex() = default;
  SpdIndex(const SpdIndex&) = delete;
  SpdIndex& operator=(const SpdIndex&) = delete;
  // build indexes rules, whose destination lengths must be at most
  // kMaxClasses per family (Spd::build picks the classes); returns false
  // and sets *error otherwise. Of the rules sharing one destination prefix
  // only the kMaxPerKey best-ranked are indexed: the values of the others
  // are appended to *overflow, for the caller to put elsewhere.
  bool build(std::span<const SpdIndexRule> rules, std::vector<uint32_t>* overflow,
             std::string* error);

  // Match is the lowest-ranked rule matching a key: its rank and value, or
  // rank kNoMatch.
  struct Match {
    uint32_t rank = kNoMatch;
    uint32_t value = 0;
  };
  Match lookup(const FlowKey& k) const;
  // lookup_burst fills out[i] for *keys[i]; it prefetches every probe of
  // the burst before it reads any. out must be at least as long as keys.
  void lookup_burst(std::span<const FlowKey* const> keys, std::span<Match> out) const;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t memory_bytes() const { return n_slots_ * sizeof(Slot) + rules_.size() * sizeof(Rule); }
  // classes lists the destination lengths indexed for a family.
  std::span<const uint8_t> classes(bool v6) const {
    return {class_len_[v6], static_cast<size_t>(n_classes_[v6])};
  }

 private:
  // Rule is one rule's match beyond the destination, which the slot's key
  // already decided: source prefix (host bits clear), protocol, ports.
  struct Rule {
    uint64_t src[2];
    uint32_t rank, value;
    uint16_t sport_lo, sport_hi, dport_lo, dport_hi;
    uint8_t src_len;
    uint8_t proto;
    bool any_proto, any_ports;
  };
  static_assert(sizeof(Rule) == 40);
  // Slot: one destination prefix of one class, one cache line, with its
  // best-ranked rule inline: the common case (one rule per destination)
  // costs one line. count == 0: empty; count > 1: the rest are
  // rules_[more, more + count - 1), by rank.
  struct alignas(64) Slot {
    uint64_t dst[2];
    Rule first;
    uint32_t more;
    uint8_t count;
    uint8_t tag;  // class: v6 << 7 | prefix length
  };
  static_assert(sizeof(Slot) == 64);

  uint32_t home(const uint64_t dst[2], uint8_t tag) const;
  // find returns the slot of (dst, tag), searching from slot s, or null.
  const Slot* find(uint32_t s, const uint64_t dst[2], uint8_t tag) const;
  // best returns the first of the slot's rules that matches k.
  Match best(const Slot& slot, const FlowKey& k) const;

  HugeBuffer slot_mem_;
  Slot* slots_ = nullptr;    // mask_ + 1 of them, at most half full
  std::vector<Rule> rules_;  // second and later rules of crowded slots
  size_t size_ = 0;          // rules indexed
  size_t n_slots_ = 0;
  uint32_t mask_ = 0;
  uint64_t seed_ = 0;
  uint8_t n_classes_[2] = {0, 0};
  uint8_t class_len_[2][kMaxClasses] = {};
  uint64_t class_mask_[2][kMaxClasses][2] = {};
};

}  // namespace portcullis::dp
