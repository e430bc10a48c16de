#include "dataplane/tables/spd_index.h"

#include <rte_prefetch.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <random>

namespace portcullis::dp {

namespace {

void mask_words(int len, uint64_t out[2]) {
  uint8_t b[16] = {};
  for (int i = 0; i < 16; ++i) {
    const int bits = std::clamp(len - 8 * i, 0, 8);
    b[i] = static_cast<uint8_t>(0xff00u >> bits);
  }
  std::memcpy(out, b, 16);
}

uint8_t tag_of(bool v6, uint8_t len) { return static_cast<uint8_t>((v6 ? 0x80 : 0) | len); }

// kMasks.m[len] is mask_words(len), for the source check per packet.
struct Mask {
  uint64_t w[2];
};
struct Masks {
  Mask m[129];
  Masks() {
    for (int len = 0; len <= 128; ++len) mask_words(len, m[len].w);
  }
};
const Masks kMasks;

}  // namespace

uint32_t SpdIndex::home(const uint64_t dst[2], uint8_t tag) const {
  uint64_t h = (dst[0] ^ seed_) * 0x9e3779b97f4a7c15ull;
  h ^= std::rotl(dst[1] * 0xc2b2ae3d27d4eb4full, 31) ^ (uint64_t{tag} << 56);
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  return static_cast<uint32_t>(h >> 32) & mask_;
}

bool SpdIndex::build(std::span<const SpdIndexRule> rules, std::vector<uint32_t>* overflow,
                     std::string* error) {
  rules_.clear();
  size_ = 0;
  n_classes_[0] = n_classes_[1] = 0;
  // Classes first: they bound the probes a packet makes.
  for (const SpdIndexRule& r : rules) {
    const bool v6 = r.sel.dst.v6();
    const uint8_t len = r.sel.dst.len;
    uint8_t& n = n_classes_[v6];
    if (std::find(class_len_[v6], class_len_[v6] + n, len) != class_len_[v6] + n) continue;
    if (n == kMaxClasses) {
      *error = "SPD index: more than " + std::to_string(kMaxClasses) +
               " destination prefix lengths for IPv" + (v6 ? "6" : "4");
      return false;
    }
    class_len_[v6][n] = len;
    mask_words(len, class_mask_[v6][n]);
    ++n;
  }

  // Group the rules by (class, destination prefix), each group in rank
  // order: a slot's rules are then one run of rules_.
  struct Keyed {
    uint64_t dst[2];
    uint8_t tag;
    const SpdIndexRule* r;
  };
  std::vector<Keyed> keyed;
  keyed.reserve(rules.size());
  for (const SpdIndexRule& r : rules) {
    Keyed k;
    std::memcpy(k.dst, r.sel.dst.addr.bytes.data(), 16);
    uint64_t m[2];
    mask_words(r.sel.dst.len, m);
    k.dst[0] &= m[0];
    k.dst[1] &= m[1];
    k.tag = tag_of(r.sel.dst.v6(), r.sel.dst.len);
    k.r = &r;
    keyed.push_back(k);
  }
  std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    if (a.tag != b.tag) return a.tag < b.tag;
    if (a.dst[0] != b.dst[0]) return a.dst[0] < b.dst[0];
    if (a.dst[1] != b.dst[1]) return a.dst[1] < b.dst[1];
    return a.r->rank < b.r->rank;
  });
  size_t groups = 0;  // distinct destination prefixes
  for (size_t i = 0; i < keyed.size(); ++i) {
    if (i == 0 || keyed[i].tag != keyed[i - 1].tag || keyed[i].dst[0] != keyed[i - 1].dst[0] ||
        keyed[i].dst[1] != keyed[i - 1].dst[1]) {
      ++groups;
    }
  }
  n_slots_ = std::max<size_t>(16, std::bit_ceil(2 * groups));
  slots_ = static_cast<Slot*>(slot_mem_.allocate(n_slots_ * sizeof(Slot)));
  if (slots_ == nullptr) {
    *error = "SPD index: out of memory for " + std::to_string(n_slots_) + " slots";
    n_slots_ = 0;
    return false;
  }
  mask_ = static_cast<uint32_t>(n_slots_ - 1);
  seed_ = (uint64_t{std::random_device{}()} << 32) | std::random_device{}();

  for (size_t i = 0; i < keyed.size();) {
    size_t j = i;
    while (j < keyed.size() && keyed[j].tag == keyed[i].tag && keyed[j].dst[0] == keyed[i].dst[0] &&
           keyed[j].dst[1] == keyed[i].dst[1]) {
      ++j;
    }
    const size_t end = std::min<size_t>(j, i + kMaxPerKey);
    for (size_t k = end; k < j; ++k) overflow->push_back(keyed[k].r->value);
    uint32_t s = home(keyed[i].dst, keyed[i].tag);
    while (slots_[s].count != 0) s = (s + 1) & mask_;
    Slot& slot = slots_[s];
    slot.dst[0] = keyed[i].dst[0];
    slot.dst[1] = keyed[i].dst[1];
    slot.count = static_cast<uint8_t>(end - i);
    slot.tag = keyed[i].tag;
    slot.more = static_cast<uint32_t>(rules_.size());
    for (size_t k = i; k < end; ++k) {
      const Selector& sel = keyed[k].r->sel;
      Rule r{};
      std::memcpy(r.src, sel.src.addr.bytes.data(), 16);
      uint64_t m[2];
      mask_words(sel.src.len, m);
      r.src[0] &= m[0];
      r.src[1] &= m[1];
      r.src_len = sel.src.len;
      r.rank = keyed[k].r->rank;
      r.value = keyed[k].r->value;
      r.any_proto = sel.proto == kAnyProtocol;
      r.proto = r.any_proto ? 0 : static_cast<uint8_t>(sel.proto);
      r.any_ports = sel.sport.any() && sel.dport.any();
      r.sport_lo = sel.sport.lo, r.sport_hi = sel.sport.hi;
      r.dport_lo = sel.dport.lo, r.dport_hi = sel.dport.hi;
      if (k == i) {
        slot.first = r;
      } else {
        rules_.push_back(r);
      }
    }
    size_ += end - i;
    i = j;
  }
  return true;
}

const SpdIndex::Slot* SpdIndex::find(uint32_t s, const uint64_t dst[2], uint8_t tag) const {
  for (;; s = (s + 1) & mask_) {
    const Slot& slot = slots_[s];
    if (slot.count == 0) return nullptr;
    if (slot.tag == tag && slot.dst[0] == dst[0] && slot.dst[1] == dst[1]) return &slot;
  }
}

SpdIndex::Match SpdIndex::best(const Slot& slot, const FlowKey& k) const {
  uint64_t src[2];
  std::memcpy(src, k.src, 16);
  const bool has_ports = k.has_ports();
  const uint16_t sp = k.sport(), dp = k.dport();
  auto matches = [&](const Rule& r) {
    const Mask& m = kMasks.m[r.src_len];
    if (((src[0] & m.w[0]) ^ r.src[0]) | ((src[1] & m.w[1]) ^ r.src[1])) return false;
    if (!r.any_proto && r.proto != k.proto) return false;
    return r.any_ports || (has_ports && sp >= r.sport_lo && sp <= r.sport_hi && dp >= r.dport_lo &&
                           dp <= r.dport_hi);
  };
  if (matches(slot.first)) return {slot.first.rank, slot.first.value};
  for (uint32_t i = slot.more; i < slot.more + slot.count - 1u; ++i) {
    if (matches(rules_[i])) return {rules_[i].rank, rules_[i].value};
  }
  return {};
}

SpdIndex::Match SpdIndex::lookup(const FlowKey& k) const {
  const FlowKey* p = &k;
  Match m;
  lookup_burst(std::span<const FlowKey* const>(&p, 1), std::span<Match>(&m, 1));
  return m;
}

void SpdIndex::lookup_burst(std::span<const FlowKey* const> keys, std::span<Match> out) const {
  constexpr size_t kChunk = 32;
  if (size_ == 0) {
    std::fill(out.begin(), out.begin() + static_cast<ptrdiff_t>(keys.size()), Match{});
    return;
  }
  // Two passes over a chunk, so that the cache misses of a burst overlap
  // instead of queueing: hash every key and prefetch its home slots, then
  // probe. A slot holds its first rule, so one line is usually all.
  uint32_t homes[kChunk][kMaxClasses];
  for (size_t base = 0; base < keys.size(); base += kChunk) {
    const size_t n = std::min(kChunk, keys.size() - base);
    for (size_t j = 0; j < n; ++j) {
      const FlowKey& k = *keys[base + j];
      const int fam = k.v6 ? 1 : 0;
      uint64_t d[2];
      std::memcpy(d, k.dst, 16);
      for (int c = 0; c < n_classes_[fam]; ++c) {
        const uint64_t m[2] = {d[0] & class_mask_[fam][c][0], d[1] & class_mask_[fam][c][1]};
        homes[j][c] = home(m, tag_of(fam == 1, class_len_[fam][c]));
        rte_prefetch0(&slots_[homes[j][c]]);
      }
    }
    for (size_t j = 0; j < n; ++j) {
      const FlowKey& k = *keys[base + j];
      const int fam = k.v6 ? 1 : 0;
      uint64_t d[2];
      std::memcpy(d, k.dst, 16);
      Match m;
      for (int c = 0; c < n_classes_[fam]; ++c) {
        const uint64_t md[2] = {d[0] & class_mask_[fam][c][0], d[1] & class_mask_[fam][c][1]};
        const Slot* slot = find(homes[j][c], md, tag_of(fam == 1, class_len_[fam][c]));
        if (slot == nullptr) continue;
        const Match got = best(*slot, k);
        if (got.rank < m.rank) m = got;
      }
      out[base + j] = m;
    }
  }
}

}  // namespace portcullis::dp
