#include "dataplane/tables/spd.h"

#include <rte_acl.h>
#include <rte_errno.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <numeric>

namespace portcullis::dp {

namespace {

// rte_acl's field layout over FlowKey (acl_config below). The protocol must
// come first and be one byte; every later input group is four bytes (the two
// ports share one).
// IPv4: proto, flags, src, dst, sport, dport.
constexpr uint32_t kFields4 = 6;
// IPv6: proto, flags, src as four words, dst as four words, sport, dport.
constexpr uint32_t kFields6 = 12;

// Classify this many packets per rte_acl call: its SIMD paths want 8 or
// 16 flows in flight, and the stack arrays stay small.
constexpr size_t kChunk = 64;

rte_acl_field_def field(uint8_t type, uint8_t size, uint8_t index, uint8_t input, size_t off) {
  rte_acl_field_def d{};
  d.type = type;
  d.size = size;
  d.field_index = index;
  d.input_index = input;
  d.offset = static_cast<uint32_t>(off);
  return d;
}

rte_acl_config acl_config(bool v6) {
  rte_acl_config cfg{};
  cfg.num_categories = 1;
  uint8_t f = 0, in = 0;
  cfg.defs[f] = field(RTE_ACL_FIELD_TYPE_BITMASK, 1, f, in++, offsetof(FlowKey, proto));
  ++f;
  cfg.defs[f] = field(RTE_ACL_FIELD_TYPE_BITMASK, 4, f, in++, offsetof(FlowKey, flags_be));
  ++f;
  const int words = v6 ? 4 : 1;
  for (int w = 0; w < words; ++w, ++f) {
    cfg.defs[f] = field(RTE_ACL_FIELD_TYPE_MASK, 4, f, in++, offsetof(FlowKey, src) + 4 * w);
  }
  for (int w = 0; w < words; ++w, ++f) {
    cfg.defs[f] = field(RTE_ACL_FIELD_TYPE_MASK, 4, f, in++, offsetof(FlowKey, dst) + 4 * w);
  }
  cfg.defs[f] = field(RTE_ACL_FIELD_TYPE_RANGE, 2, f, in, offsetof(FlowKey, sport_be));
  ++f;
  cfg.defs[f] = field(RTE_ACL_FIELD_TYPE_RANGE, 2, f, in, offsetof(FlowKey, dport_be));
  ++f;
  cfg.num_fields = f;
  return cfg;
}

// mask_bytes sets the first len bits of a 16-byte mask.
void mask_bytes(int len, uint8_t out[16]) {
  for (int i = 0; i < 16; ++i)
    out[i] = static_cast<uint8_t>(0xff00u >> std::clamp(len - 8 * i, 0, 8));
}

uint32_t load_host32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}

// fill_fields writes a selector into an rte_acl rule's fields, in host byte
// order as rte_acl_add_rules expects (the keys it searches are big-endian).
void fill_fields(const Selector& s, rte_acl_field* fld) {
  int f = 0;
  fld[f].value.u8 = s.proto == kAnyProtocol ? 0 : static_cast<uint8_t>(s.proto);
  fld[f++].mask_range.u8 = s.proto == kAnyProtocol ? 0 : 0xff;
  // A narrowed port range can only match packets that carry ports.
  const bool need_ports = !(s.sport.any() && s.dport.any());
  fld[f].value.u32 = need_ports ? kFlowHasPorts : 0;
  fld[f++].mask_range.u32 = need_ports ? kFlowHasPorts : 0;
  const int words = s.src.v6() ? 4 : 1;
  for (const Prefix* p : {&s.src, &s.dst}) {
    for (int w = 0; w < words; ++w) {
      fld[f].value.u32 = load_host32(p->addr.bytes.data() + 4 * w);
      fld[f++].mask_range.u32 = static_cast<uint32_t>(std::clamp(p->len - 32 * w, 0, 32));
    }
  }
  fld[f].value.u16 = s.sport.lo;
  fld[f++].mask_range.u16 = s.sport.hi;
  fld[f].value.u16 = s.dport.lo;
  fld[f++].mask_range.u16 = s.dport.hi;
}

}  // namespace

Spd::~Spd() {
  rte_acl_free(ctx_[0]);
  rte_acl_free(ctx_[1]);
}

std::unique_ptr<Spd> Spd::build(std::span<const SpdRule> rules, std::string* error) {
  return build(rules, Options{}, error);
}

std::unique_ptr<Spd> Spd::build(std::span<const SpdRule> rules, const Options& opts,
                                std::string* error) {
  if (rules.size() >= static_cast<size_t>(RTE_ACL_MAX_PRIORITY)) {
    *error = "SPD: too many rules (" + std::to_string(rules.size()) + ")";
    return nullptr;
  }
  std::unique_ptr<Spd> spd(new Spd());
  spd->default_.action = opts.default_action;
  spd->default_.is_default = true;

  // Normalised copies: host bits of the prefixes cleared.
  std::vector<Selector> sels;
  sels.reserve(rules.size());
  spd->policies_.reserve(rules.size());
  for (size_t i = 0; i < rules.size(); ++i) {
    Selector s = rules[i].sel;
    if (std::string e = s.validate(); !e.empty()) {
      *error = "SPD rule " + std::to_string(i) + " (id " + std::to_string(rules[i].id) + "): " + e;
      return nullptr;
    }
    s.src = *Prefix::make(s.src.addr, s.src.len);
    s.dst = *Prefix::make(s.dst.addr, s.dst.len);
    sels.push_back(s);
    spd->policies_.push_back(
        SpdPolicy{rules[i].action, false, rules[i].id, rules[i].sa, rules[i].ks,
                  rules[i].ks_lines});
  }

  // rank[i]: position of rule i in (priority, given order); the first gets
  // the highest rte_acl priority.
  std::vector<uint32_t> order(rules.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return rules[a].priority < rules[b].priority; });
  std::vector<uint32_t> rank(rules.size());
  for (uint32_t r = 0; r < order.size(); ++r) rank[order[r]] = r;
  spd->rank_ = rank;

  // The bulk classes go to the hash on the destination (spd_index.h).
  std::vector<uint8_t> in_acl(rules.size(), 1);
  if (opts.index_min_rules > 0) {
    uint32_t per_len[2][129] = {};
    for (const Selector& s : sels) per_len[s.dst.v6()][s.dst.len]++;
    bool hashed[2][129] = {};
    for (int fam = 0; fam < 2; ++fam) {
      std::vector<uint8_t> lens;
      for (int len = 0; len <= 128; ++len) {
        if (per_len[fam][len] >= opts.index_min_rules) lens.push_back(static_cast<uint8_t>(len));
      }
      std::stable_sort(lens.begin(), lens.end(),
                       [&](uint8_t a, uint8_t b) { return per_len[fam][a] > per_len[fam][b]; });
      if (lens.size() > SpdIndex::kMaxClasses) lens.resize(SpdIndex::kMaxClasses);
      for (uint8_t len : lens) hashed[fam][len] = true;
    }
    std::vector<SpdIndexRule> indexed;
    for (size_t i = 0; i < sels.size(); ++i) {
      if (!hashed[sels[i].dst.v6()][sels[i].dst.len]) continue;
      indexed.push_back({sels[i], rank[i], static_cast<uint32_t>(i)});
      in_acl[i] = 0;
    }
    std::vector<uint32_t> overflow;
    if (!spd->index_.build(indexed, &overflow, error)) return nullptr;
    for (uint32_t i : overflow) in_acl[i] = 1;
  }

  static std::atomic<uint32_t> generation{0};
  for (int fam = 0; fam < 2; ++fam) {
    const bool v6 = fam == 1;
    const size_t fields = v6 ? kFields6 : kFields4;
    const size_t rule_size = RTE_ACL_RULE_SZ(fields);
    std::vector<uint8_t> buf;
    uint32_t count = 0;
    for (size_t i = 0; i < sels.size(); ++i) {
      if (sels[i].src.v6() != v6 || !in_acl[i]) continue;
      buf.resize(buf.size() + rule_size);
      auto* r = reinterpret_cast<rte_acl_rule*>(buf.data() + count * rule_size);
      r->data.category_mask = 1;
      r->data.priority = static_cast<int32_t>(RTE_ACL_MAX_PRIORITY - rank[i]);
      r->data.userdata = static_cast<uint32_t>(i + 1);
      // rte_acl_rule declares field[] with no elements; the rule buffer
      // holds `fields` of them (RTE_ACL_RULE_SZ).
      fill_fields(sels[i], reinterpret_cast<rte_acl_field*>(buf.data() + count * rule_size +
                                                            offsetof(rte_acl_rule, field)));
      ++count;
    }
    if (count == 0) continue;  // no rules of this family: everything takes the default
    if (count <= opts.linear_max_rules) {
      spd->linear_[fam] = true;
      for (size_t i = 0; i < sels.size(); ++i) {
        if (sels[i].src.v6() != v6 || !in_acl[i]) continue;
        const Selector& sel = sels[i];
        LinearRule r{};
        uint8_t m[16];
        mask_bytes(sel.src.len, m);
        std::memcpy(r.src_mask, m, 16);
        mask_bytes(sel.dst.len, m);
        std::memcpy(r.dst_mask, m, 16);
        std::memcpy(r.src, sel.src.addr.bytes.data(), 16);
        std::memcpy(r.dst, sel.dst.addr.bytes.data(), 16);
        for (int w = 0; w < 2; ++w) {
          r.src[w] &= r.src_mask[w];
          r.dst[w] &= r.dst_mask[w];
        }
        r.rank = rank[i];
        r.policy = static_cast<uint32_t>(i);
        r.any_proto = sel.proto == kAnyProtocol;
        r.proto = r.any_proto ? 0 : static_cast<uint8_t>(sel.proto);
        r.any_ports = sel.sport.any() && sel.dport.any();
        r.sport_lo = sel.sport.lo, r.sport_hi = sel.sport.hi;
        r.dport_lo = sel.dport.lo, r.dport_hi = sel.dport.hi;
        spd->linear_rules_[fam].push_back(r);
        spd->acl_min_rank_[fam] = std::min(spd->acl_min_rank_[fam], rank[i]);
      }
      std::sort(spd->linear_rules_[fam].begin(), spd->linear_rules_[fam].end(),
                [](const LinearRule& a, const LinearRule& b) { return a.rank < b.rank; });
      continue;
    }
    for (size_t i = 0; i < sels.size(); ++i) {
      if (sels[i].src.v6() == v6 && in_acl[i]) {
        spd->acl_min_rank_[fam] = std::min(spd->acl_min_rank_[fam], rank[i]);
      }
    }

    // rte_acl_create hands back an existing context of the same name, so
    // each build names its contexts afresh.
    char name[RTE_ACL_NAMESIZE];
    std::snprintf(name, sizeof(name), "spd%d_%u", v6 ? 6 : 4,
                  generation.fetch_add(1, std::memory_order_relaxed));
    rte_acl_param param{};
    param.name = name;
    param.socket_id = opts.socket_id;
    param.rule_size = static_cast<uint32_t>(rule_size);
    param.max_rule_num = count;
    rte_acl_ctx* ctx = rte_acl_create(&param);
    if (ctx == nullptr) {
      *error = std::string("SPD: rte_acl_create failed: ") + rte_strerror(rte_errno);
      return nullptr;
    }
    spd->ctx_[fam] = ctx;
    int rc = rte_acl_add_rules(ctx, reinterpret_cast<const rte_acl_rule*>(buf.data()), count);
    if (rc == 0) {
      const rte_acl_config cfg = acl_config(v6);
      rc = rte_acl_build(ctx, &cfg);
    }
    if (rc != 0) {
      *error = std::string("SPD: building the IPv") + (v6 ? "6" : "4") +
               " classifier failed: " + std::strerror(-rc);
      return nullptr;
    }
  }
  return spd;
}

uint32_t Spd::first_linear(int fam, const FlowKey& k) const {
  uint64_t src[2], dst[2];
  std::memcpy(src, k.src, 16);
  std::memcpy(dst, k.dst, 16);
  const bool has_ports = k.has_ports();
  const uint16_t sp = k.sport(), dp = k.dport();
  for (const LinearRule& r : linear_rules_[fam]) {
    if (((src[0] & r.src_mask[0]) ^ r.src[0]) | ((src[1] & r.src_mask[1]) ^ r.src[1]) |
        ((dst[0] & r.dst_mask[0]) ^ r.dst[0]) | ((dst[1] & r.dst_mask[1]) ^ r.dst[1])) {
      continue;
    }
    if (!r.any_proto && r.proto != k.proto) continue;
    if (r.any_ports || (has_ports && sp >= r.sport_lo && sp <= r.sport_hi && dp >= r.dport_lo &&
                        dp <= r.dport_hi)) {
      return r.policy + 1;
    }
  }
  return 0;
}

const SpdPolicy* Spd::classify(const FlowKey& key) const {
  const SpdPolicy* out;
  const FlowKey* k = &key;
  classify_burst(std::span<const FlowKey* const>(&k, 1), std::span<const SpdPolicy*>(&out, 1));
  return out;
}

uint32_t Spd::classify_burst(std::span<const FlowKey* const> keys,
                             std::span<const SpdPolicy*> out) const {
  uint32_t matched = 0;
  const uint8_t* data[2][kChunk];
  uint32_t pos[2][kChunk];
  uint32_t res[kChunk];
  SpdIndex::Match hashed[kChunk];
  for (size_t base = 0; base < keys.size(); base += kChunk) {
    const size_t n = std::min(kChunk, keys.size() - base);
    index_.lookup_burst(keys.subspan(base, n), std::span<SpdIndex::Match>(hashed, n));
    uint32_t count[2] = {0, 0};
    for (size_t j = 0; j < n; ++j) {
      const FlowKey* k = keys[base + j];
      const int fam = k->v6 ? 1 : 0;
      // rte_acl cannot beat a hashed match ranked above all of its rules.
      if (hashed[j].rank < acl_min_rank_[fam]) {
        out[base + j] = &policies_[hashed[j].value];
        ++matched;
        continue;
      }
      data[fam][count[fam]] = reinterpret_cast<const uint8_t*>(k);
      pos[fam][count[fam]++] = static_cast<uint32_t>(base + j);
    }
    for (int fam = 0; fam < 2; ++fam) {
      if (count[fam] == 0) continue;
      if (linear_[fam]) {
        for (uint32_t j = 0; j < count[fam]; ++j) {
          res[j] = first_linear(fam, *reinterpret_cast<const FlowKey*>(data[fam][j]));
        }
      } else if (ctx_[fam] == nullptr) {
        std::fill(res, res + count[fam], 0u);
      } else {
        rte_acl_classify(ctx_[fam], data[fam], res, count[fam], 1);
      }
      // The better-ranked of the two answers (see the header).
      for (uint32_t j = 0; j < count[fam]; ++j) {
        const SpdIndex::Match& h = hashed[pos[fam][j] - base];
        const uint32_t acl_rank = res[j] != 0 ? rank_[res[j] - 1] : SpdIndex::kNoMatch;
        const SpdPolicy* p = &default_;
        if (h.rank < acl_rank) {
          p = &policies_[h.value];
        } else if (res[j] != 0) {
          p = &policies_[res[j] - 1];
        }
        out[pos[fam][j]] = p;
        matched += p != &default_;
      }
    }
  }
  return matched;
}

uint32_t Spd::classify_burst(std::span<const FlowKey> keys, std::span<const SpdPolicy*> out) const {
  const FlowKey* ptrs[kChunk];
  uint32_t matched = 0;
  for (size_t base = 0; base < keys.size(); base += kChunk) {
    const size_t n = std::min(kChunk, keys.size() - base);
    for (size_t j = 0; j < n; ++j) ptrs[j] = &keys[base + j];
    matched += classify_burst(std::span<const FlowKey* const>(ptrs, n), out.subspan(base, n));
  }
  return matched;
}

}  // namespace portcullis::dp
