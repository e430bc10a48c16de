// spd_test.cc: the SPD against a numbered table of selector cases (prefix
// boundaries, port ranges, any versus one protocol, priority and order,
// IPv4 and IPv6, fragments, ICMP), the default action, refused rules, then
// rte_acl against the plain Selector::matches model on random rules and
// packets. Also the inbound per-SA selector check (SelectorList).
#include "dataplane/tables/spd.h"

#include <gtest/gtest.h>
#include <rte_byteorder.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace portcullis::dp {
namespace {

SaOutbound* fake_sa(size_t i) { return reinterpret_cast<SaOutbound*>(0x200000 + i * 256); }

Prefix pfx(const char* s) { return *Prefix::parse(s); }

Selector sel(const char* src, const char* dst, int proto = kAnyProtocol, PortRange sport = {},
             PortRange dport = {}) {
  return Selector{pfx(src), pfx(dst), proto, sport, dport};
}

// key builds a FlowKey; ports < 0 means the packet has none (a non-initial
// fragment, or a protocol without ports).
FlowKey key(const char* src, const char* dst, uint8_t proto, int sport = -1, int dport = -1) {
  FlowKey k;
  const IpAddress s = *IpAddress::parse(src), d = *IpAddress::parse(dst);
  k.v6 = s.v6;
  k.proto = proto;
  std::memcpy(k.src, s.bytes.data(), 16);
  std::memcpy(k.dst, d.bytes.data(), 16);
  if (sport >= 0) {
    k.flags_be = rte_cpu_to_be_32(kFlowHasPorts);
    k.sport_be = rte_cpu_to_be_16(static_cast<uint16_t>(sport));
    k.dport_be = rte_cpu_to_be_16(static_cast<uint16_t>(dport));
  }
  return k;
}

constexpr uint8_t kGre = 47;
constexpr int kIcmpEchoRequest = 8 << 8;  // type 8, code 0
constexpr uint32_t kDefault = 0;          // "no rule matched" in the case table

std::vector<SpdRule> case_rules() {
  using A = SpdAction;
  return {
      // sel, priority, action, sa, id
      {sel("10.0.0.0/8", "192.168.1.0/24"), 100, A::kProtect, fake_sa(1), 1},
      {sel("10.1.0.0/16", "192.168.1.0/24", kProtoTcp, {}, {80, 80}), 50, A::kBypass, nullptr, 2},
      {sel("10.1.2.3/32", "0.0.0.0/0", kProtoUdp, {1000, 2000}), 10, A::kDiscard, nullptr, 3},
      // Same priority as rule 2 and listed after it: rule 2 wins where both match.
      {sel("10.1.0.0/16", "192.168.1.128/25"), 50, A::kDiscard, nullptr, 4},
      {sel("2001:db8::/32", "2001:db8:1::/48", kProtoTcp, {}, {443, 443}), 10, A::kProtect,
       fake_sa(5), 5},
      {sel("2001:db8::/32", "::/0"), 20, A::kBypass, nullptr, 6},
      {sel("0.0.0.0/0", "172.16.0.0/12", kProtoIcmp, {0x0800, 0x08ff}), 5, A::kBypass, nullptr, 7},
      {sel("0.0.0.0/0", "172.16.0.0/12"), 6, A::kDiscard, nullptr, 8},
      {sel("2001:db8:5::7/128", "2001:db8:9::9/128", kProtoUdp), 1, A::kDiscard, nullptr, 9},
      // Listed last but with the best priority of all: order in the list
      // only breaks ties.
      {sel("10.9.9.9/32", "192.168.1.1/32"), 0, A::kBypass, nullptr, 10},
      // A protect rule with no SA yet: the caller raises an acquire.
      {sel("10.20.0.0/16", "192.168.1.0/24"), 40, A::kProtect, nullptr, 11},
  };
}

struct Case {
  int line;
  FlowKey key;
  uint32_t want_id;
};

TEST(Spd, SelectorCases) {
  const std::vector<Case> cases = {
      // Prefix boundaries.
      {__LINE__, key("10.0.0.0", "192.168.1.0", kProtoUdp, 5, 5), 1},
      {__LINE__, key("10.255.255.255", "192.168.1.255", kProtoUdp, 5, 5), 1},
      {__LINE__, key("9.255.255.255", "192.168.1.1", kProtoUdp, 5, 5), kDefault},
      {__LINE__, key("11.0.0.0", "192.168.1.1", kProtoUdp, 5, 5), kDefault},
      {__LINE__, key("10.0.0.1", "192.168.2.0", kProtoUdp, 5, 5), kDefault},
      {__LINE__, key("10.0.0.1", "192.168.0.255", kProtoUdp, 5, 5), kDefault},
      // A port range of one port, and either side of it.
      {__LINE__, key("10.1.0.1", "192.168.1.1", kProtoTcp, 33000, 80), 2},
      {__LINE__, key("10.1.0.1", "192.168.1.1", kProtoTcp, 33000, 79), 1},
      {__LINE__, key("10.1.0.1", "192.168.1.1", kProtoTcp, 33000, 81), 1},
      // Protocol: rule 2 is TCP only.
      {__LINE__, key("10.1.0.1", "192.168.1.1", kProtoUdp, 33000, 80), 1},
      // Equal priorities (2 and 4) keep their order; 4 alone where 2 does not match.
      {__LINE__, key("10.1.0.1", "192.168.1.200", kProtoTcp, 33000, 80), 2},
      {__LINE__, key("10.1.0.1", "192.168.1.200", kProtoUdp, 33000, 80), 4},
      {__LINE__, key("10.1.0.1", "192.168.1.127", kProtoUdp, 33000, 80), 1},
      // Source port range 1000-2000, inclusive at both ends.
      {__LINE__, key("10.1.2.3", "192.168.1.1", kProtoUdp, 1000, 53), 3},
      {__LINE__, key("10.1.2.3", "192.168.1.1", kProtoUdp, 2000, 53), 3},
      {__LINE__, key("10.1.2.3", "192.168.1.1", kProtoUdp, 999, 53), 1},
      {__LINE__, key("10.1.2.3", "192.168.1.1", kProtoUdp, 2001, 53), 1},
      {__LINE__, key("10.1.2.3", "8.8.8.8", kProtoUdp, 1500, 53), 3},
      {__LINE__, key("10.1.2.3", "8.8.8.8", kProtoTcp, 1500, 53), kDefault},
      // Non-initial fragments carry no ports: only port-agnostic rules.
      {__LINE__, key("10.1.0.1", "192.168.1.1", kProtoTcp), 1},
      {__LINE__, key("10.1.2.3", "192.168.1.1", kProtoUdp), 1},
      {__LINE__, key("10.1.2.3", "8.8.8.8", kProtoUdp), kDefault},
      // Ports 0/0 are still ports: a packet with them is not a fragment.
      {__LINE__, key("10.1.2.3", "8.8.8.8", kProtoUdp, 0, 0), kDefault},
      // ICMP type and code stand in for the ports; GRE has none.
      {__LINE__, key("1.2.3.4", "172.16.5.5", kProtoIcmp, kIcmpEchoRequest, kIcmpEchoRequest), 7},
      {__LINE__, key("1.2.3.4", "172.31.255.255", kProtoIcmp, 0x0000, 0x0000), 8},
      {__LINE__, key("1.2.3.4", "172.16.5.5", kGre), 8},
      {__LINE__, key("1.2.3.4", "172.32.0.0", kGre), kDefault},
      // IPv6.
      {__LINE__, key("2001:db8::1", "2001:db8:1::1", kProtoTcp, 40000, 443), 5},
      {__LINE__, key("2001:db8:ffff:ffff::1", "2001:db8:1:ffff::1", kProtoTcp, 40000, 443), 5},
      {__LINE__, key("2001:db8::1", "2001:db8:1::1", kProtoTcp, 40000, 444), 6},
      {__LINE__, key("2001:db8::1", "2001:db8:2::1", kProtoTcp, 40000, 443), 6},
      {__LINE__, key("2001:db8::1", "2001:db8:1::1", kProtoTcp), 6},  // fragment
      {__LINE__, key("2001:db9::1", "2001:db8:1::1", kProtoTcp, 40000, 443), kDefault},
      {__LINE__, key("2001:db7:ffff::1", "2001:db8:1::1", kProtoTcp, 40000, 443), kDefault},
      {__LINE__, key("2001:db8:5::7", "2001:db8:9::9", kProtoUdp, 1, 1), 9},
      {__LINE__, key("2001:db8:5::6", "2001:db8:9::9", kProtoUdp, 1, 1), 6},
      {__LINE__, key("2001:db8:5::7", "2001:db8:9::8", kProtoUdp, 1, 1), 6},
      {__LINE__, key("2001:db8:5::7", "2001:db8:9::9", kProtoTcp, 1, 1), 6},
      // An IPv4 key never matches an IPv6 rule or the reverse, even with
      // the same leading bytes (0x20010db8 is 32.1.13.184).
      {__LINE__, key("32.1.13.184", "2.3.4.5", kProtoTcp, 1, 443), kDefault},
      {__LINE__, key("::a01:203", "::c0a8:101", kProtoUdp, 1500, 53), kDefault},
      // Priority 0 listed last beats everything.
      {__LINE__, key("10.9.9.9", "192.168.1.1", kProtoTcp, 1, 80), 10},
      {__LINE__, key("10.20.1.1", "192.168.1.1", kProtoTcp, 1, 80), 11},
  };

  const auto rules = case_rules();
  std::string error;
  auto spd = Spd::build(rules, &error);
  ASSERT_NE(spd, nullptr) << error;
  EXPECT_EQ(spd->size(), rules.size());

  std::vector<FlowKey> keys;
  for (const Case& c : cases) keys.push_back(c.key);
  std::vector<const SpdPolicy*> out(keys.size());
  const uint32_t matched = spd->classify_burst(keys, out);
  uint32_t want_matched = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    want_matched += c.want_id != kDefault;
    ASSERT_NE(out[i], nullptr);
    EXPECT_EQ(out[i]->is_default ? kDefault : out[i]->id, c.want_id) << "case at line " << c.line;
    EXPECT_EQ(spd->classify(c.key), out[i]) << "case at line " << c.line;
  }
  EXPECT_EQ(matched, want_matched);
}

TEST(Spd, ActionsAndSas) {
  std::string error;
  auto spd = Spd::build(case_rules(), &error);
  ASSERT_NE(spd, nullptr) << error;
  const SpdPolicy* p = spd->classify(key("10.0.0.1", "192.168.1.1", kProtoUdp, 5, 5));
  EXPECT_EQ(p->action, SpdAction::kProtect);
  EXPECT_EQ(p->sa, fake_sa(1));
  p = spd->classify(key("10.20.0.1", "192.168.1.1", kProtoUdp, 5, 5));
  EXPECT_EQ(p->action, SpdAction::kProtect);
  EXPECT_EQ(p->sa, nullptr);  // acquire
  p = spd->classify(key("10.1.0.1", "192.168.1.1", kProtoTcp, 5, 80));
  EXPECT_EQ(p->action, SpdAction::kBypass);
}

TEST(Spd, NoMatchDiscardsByDefault) {
  std::string error;
  auto empty = Spd::build({}, &error);
  ASSERT_NE(empty, nullptr) << error;
  const SpdPolicy* p = empty->classify(key("10.0.0.1", "10.0.0.2", kProtoTcp, 1, 2));
  EXPECT_TRUE(p->is_default);
  EXPECT_EQ(p->action, SpdAction::kDiscard);
  p = empty->classify(key("2001:db8::1", "2001:db8::2", kProtoTcp, 1, 2));
  EXPECT_EQ(p->action, SpdAction::kDiscard);

  // The default can be changed, and a family without rules takes it too.
  Spd::Options opts;
  opts.default_action = SpdAction::kBypass;
  std::vector<SpdRule> v4_only = {{sel("10.0.0.0/8", "10.0.0.0/8"), 1, SpdAction::kDiscard}};
  auto spd = Spd::build(v4_only, opts, &error);
  ASSERT_NE(spd, nullptr) << error;
  EXPECT_EQ(spd->classify(key("10.0.0.1", "10.0.0.2", kProtoTcp, 1, 2))->action,
            SpdAction::kDiscard);
  EXPECT_EQ(spd->classify(key("11.0.0.1", "10.0.0.2", kProtoTcp, 1, 2))->action,
            SpdAction::kBypass);
  EXPECT_EQ(spd->classify(key("2001:db8::1", "2001:db8::2", kProtoTcp, 1, 2))->action,
            SpdAction::kBypass);
}

TEST(Spd, InvalidRulesRefused) {
  struct Bad {
    Selector sel;
    const char* why;
  };
  Selector mixed = sel("10.0.0.0/8", "10.0.0.0/8");
  mixed.dst = pfx("2001:db8::/32");
  Selector long_v4 = sel("10.0.0.0/8", "10.0.0.0/8");
  long_v4.src.len = 33;
  const std::vector<Bad> bad = {
      {mixed, "mixes IPv4 and IPv6"},
      {long_v4, "prefix length too long"},
      {sel("10.0.0.0/8", "10.0.0.0/8", kProtoTcp, {}, {90, 80}), "low end above its high end"},
      {sel("10.0.0.0/8", "10.0.0.0/8", 50, {}, {500, 500}), "ports for protocol 50"},
      {sel("10.0.0.0/8", "10.0.0.0/8", 256), "protocol 256"},
  };
  for (const Bad& b : bad) {
    std::vector<SpdRule> rules = {{sel("1.0.0.0/8", "1.0.0.0/8"), 1}, {b.sel, 2, {}, nullptr, 77}};
    std::string error;
    EXPECT_EQ(Spd::build(rules, &error), nullptr) << b.why;
    EXPECT_NE(error.find("SPD rule 1 (id 77)"), std::string::npos) << error;
    EXPECT_NE(error.find(b.why), std::string::npos) << error;
  }
}

TEST(Spd, HostBitsInRulesAreIgnored) {
  Selector s = sel("10.1.2.3/32", "0.0.0.0/0");
  s.src.len = 8;  // 10.1.2.3/8: means 10.0.0.0/8
  std::vector<SpdRule> rules = {{s, 1, SpdAction::kBypass, nullptr, 1}};
  std::string error;
  auto spd = Spd::build(rules, &error);
  ASSERT_NE(spd, nullptr) << error;
  EXPECT_FALSE(spd->classify(key("10.200.0.1", "1.1.1.1", kGre))->is_default);
}

// random_selector draws from a small address space so rules overlap and
// packets hit them: the interesting cases are the near misses.
Selector random_selector(std::mt19937& rng, bool v6) {
  auto addr = [&](IpAddress* a) {
    a->v6 = v6;
    a->bytes = {};
    if (v6) {
      a->bytes[0] = 0x20, a->bytes[1] = 0x01;
      a->bytes[6] = rng() & 3;
      a->bytes[15] = rng() & 7;
    } else {
      a->bytes[0] = 10;
      a->bytes[2] = rng() & 3;
      a->bytes[3] = rng() & 7;
    }
  };
  Selector s;
  const int maxlen = v6 ? 128 : 32;
  for (Prefix* p : {&s.src, &s.dst}) {
    addr(&p->addr);
    const int lens[] = {0, 8, 16, 23, 24, maxlen - 3, maxlen - 1, maxlen};
    *p = *Prefix::make(p->addr, static_cast<uint8_t>(lens[rng() % 8]));
    if (v6 && p->len == 23) p->len = 55;  // reach into the second word
  }
  const int protos[] = {kAnyProtocol, kAnyProtocol, kProtoTcp, kProtoUdp, kGre};
  s.proto = protos[rng() % 5];
  if (s.proto != kGre) {
    auto range = [&](PortRange* r) {
      if (rng() % 2) return;
      r->lo = rng() % 8;
      r->hi = static_cast<uint16_t>(r->lo + rng() % 4);
    };
    range(&s.sport);
    range(&s.dport);
  }
  return s;
}

FlowKey random_key(std::mt19937& rng, bool v6) {
  Selector s = random_selector(rng, v6);  // reuse its address draw
  FlowKey k;
  k.v6 = v6;
  std::memcpy(k.src, s.src.addr.bytes.data(), 16);
  std::memcpy(k.dst, s.dst.addr.bytes.data(), 16);
  // Full addresses, not the prefix-masked ones.
  k.src[v6 ? 15 : 3] = rng() & 7;
  k.dst[v6 ? 15 : 3] = rng() & 7;
  const uint8_t protos[] = {kProtoTcp, kProtoUdp, kGre, kProtoIcmp};
  k.proto = protos[rng() % 4];
  if (k.proto != kGre && rng() % 8 != 0) {  // some fragments
    k.flags_be = rte_cpu_to_be_32(kFlowHasPorts);
    k.sport_be = rte_cpu_to_be_16(static_cast<uint16_t>(rng() % 12));
    k.dport_be = rte_cpu_to_be_16(static_cast<uint16_t>(rng() % 12));
  }
  return k;
}

// The reference model runs with several splits of the rules, as
// (index_min_rules, linear_max_rules): all in rte_acl; as many as possible
// hashed on the destination, where the random draw puts rules of eight
// destination lengths and many rules on one destination into both
// structures at once; the defaults; and the linear scan instead of rte_acl,
// with and without the hash.
class SpdModel : public ::testing::TestWithParam<std::pair<uint32_t, uint32_t>> {};

TEST_P(SpdModel, AgreesWithTheReferenceModel) {
  std::mt19937 rng(4301);
  Spd::Options opts;
  opts.index_min_rules = GetParam().first;
  opts.linear_max_rules = GetParam().second;
  for (int round = 0; round < 4; ++round) {
    std::vector<SpdRule> rules;
    const size_t n = round == 0 ? 5 : 300;
    for (size_t i = 0; i < n; ++i) {
      rules.push_back({random_selector(rng, rng() % 2), static_cast<uint32_t>(rng() % 20),
                       SpdAction::kBypass, nullptr, static_cast<uint32_t>(i)});
    }
    std::string error;
    auto spd = Spd::build(rules, opts, &error);
    ASSERT_NE(spd, nullptr) << error;
    if (opts.index_min_rules == 1 && n > 5) {
      EXPECT_GT(spd->indexed_rules(), n / 4);
      EXPECT_GT(spd->acl_rules(), 0u);
    }
    if (opts.index_min_rules == 0) {
      EXPECT_EQ(spd->indexed_rules(), 0u);
    }
    const bool scanned = opts.linear_max_rules >= 1000 || (n == 5 && opts.linear_max_rules > 0);
    if (spd->acl_rules() > 0) {
      EXPECT_EQ(spd->linear(false) || spd->linear(true), scanned);
    }
    std::vector<FlowKey> keys;
    for (int i = 0; i < 20000; ++i) keys.push_back(random_key(rng, rng() % 2));
    std::vector<const SpdPolicy*> out(keys.size());
    spd->classify_burst(keys, out);
    size_t matched = 0, wrong = 0;
    for (size_t i = 0; i < keys.size(); ++i) {
      // The model: lowest priority wins, then the earliest listed.
      const SpdRule* best = nullptr;
      for (const SpdRule& r : rules) {
        if (r.sel.matches(keys[i]) && (best == nullptr || r.priority < best->priority)) best = &r;
      }
      const bool got_default = out[i]->is_default;
      matched += best != nullptr;
      if ((best == nullptr) != got_default || (best != nullptr && best->id != out[i]->id)) {
        if (++wrong <= 5) {
          ADD_FAILURE() << "key " << i << ": want "
                        << (best ? best->sel.str() + " id " + std::to_string(best->id) : "default")
                        << ", got "
                        << (got_default ? std::string("default") : rules[out[i]->id].sel.str());
        }
      }
    }
    EXPECT_EQ(wrong, 0u);
    if (n > 5) {
      EXPECT_GT(matched, keys.size() / 10) << "the random draw should hit rules";
    }
    // One at a time agrees with the burst.
    for (size_t i = 0; i < 200; ++i) EXPECT_EQ(spd->classify(keys[i]), out[i]);
  }
}

INSTANTIATE_TEST_SUITE_P(Splits, SpdModel,
                         ::testing::Values(std::pair{0u, 0u}, std::pair{1u, 0u}, std::pair{64u, 8u},
                                           std::pair{1u, 1000u}, std::pair{0u, 1000u}));

// Priority across the two structures: hashed /32 rules against general
// rules left in rte_acl, each way round, and equal priorities decided by
// the order the rules were given in.
TEST(Spd, PriorityAcrossHashAndAcl) {
  using A = SpdAction;
  std::vector<SpdRule> rules;
  // 100 host rules, hashed: 10.1.0.0/16 -> 192.168.0.i/32, priority 100.
  for (uint32_t i = 0; i < 100; ++i) {
    const std::string dst = "192.168.0." + std::to_string(i) + "/32";
    rules.push_back({sel("10.1.0.0/16", dst.c_str()), 100, A::kProtect, fake_sa(i), 1000 + i});
  }
  // General rules (in rte_acl):
  rules.push_back({sel("10.1.2.0/24", "192.168.0.0/24", kProtoTcp, {}, {22, 22}), 50, A::kDiscard,
                   nullptr, 1});  // beats the hashed rules for ssh
  rules.push_back({sel("10.1.0.0/16", "192.168.0.0/16"), 200, A::kBypass, nullptr, 2});  // loses to them
  rules.push_back({sel("10.1.9.0/24", "192.168.0.6/31", kProtoUdp), 100, A::kDiscard, nullptr,
                   3});  // same priority as the hashed 192.168.0.7 rule, listed after it
  // Same priority as the hashed 192.168.0.8 rule and listed after it, but
  // hashed too (same /32 class): order decides inside the hash as well.
  rules.push_back({sel("10.1.0.0/16", "192.168.0.8/32"), 100, A::kDiscard, nullptr, 4});
  // Better priority than the hashed rules, listed last, in the hash.
  rules.push_back({sel("10.1.5.5/32", "192.168.0.9/32"), 10, A::kBypass, nullptr, 5});
  std::string error;
  auto spd = Spd::build(rules, &error);
  ASSERT_NE(spd, nullptr) << error;
  EXPECT_EQ(spd->indexed_rules(), 102u);
  EXPECT_EQ(spd->acl_rules(), 3u);
  EXPECT_TRUE(spd->linear(false));  // three general rules: scanned, not rte_acl
  struct {
    int line;
    FlowKey k;
    uint32_t want;
  } cases[] = {
      {__LINE__, key("10.1.3.3", "192.168.0.5", kProtoTcp, 999, 443), 1005},  // hash
      {__LINE__, key("10.1.2.3", "192.168.0.5", kProtoTcp, 999, 22), 1},      // acl beats hash
      {__LINE__, key("10.1.2.3", "192.168.0.5", kProtoTcp, 999, 23), 1005},   // hash beats acl 2
      {__LINE__, key("10.1.2.3", "192.168.1.5", kGre), 2},                    // only acl 2
      {__LINE__, key("10.2.2.3", "192.168.0.5", kGre), kDefault},             // nothing
      {__LINE__, key("10.1.9.1", "192.168.0.7", kProtoUdp, 1, 1), 1007},      // tie: given order
      {__LINE__, key("10.1.9.1", "192.168.0.8", kGre), 1008},                 // tie in the hash
      {__LINE__, key("10.1.5.5", "192.168.0.9", kGre), 5},                    // priority in the hash
      {__LINE__, key("10.1.5.6", "192.168.0.9", kGre), 1009},
  };
  for (const auto& c : cases) {
    const SpdPolicy* p = spd->classify(c.k);
    EXPECT_EQ(p->is_default ? kDefault : p->id, c.want) << "case at line " << c.line;
  }
  // Reversed: rule 3 listed before the hashed rules wins the tie.
  std::vector<SpdRule> rev = {rules[102]};
  rev.insert(rev.end(), rules.begin(), rules.begin() + 100);
  spd = Spd::build(rev, &error);
  ASSERT_NE(spd, nullptr) << error;
  EXPECT_EQ(spd->classify(key("10.1.9.1", "192.168.0.7", kProtoUdp, 1, 1))->id, 3u);
}

// More rules for one destination than the hash keeps a slot: the best
// kMaxPerKey are hashed, the rest go to rte_acl, and the order still holds.
TEST(Spd, CrowdedDestinationOverflowsToAcl) {
  std::vector<SpdRule> rules;
  for (uint32_t i = 0; i < 80; ++i) {
    const std::string dst = "192.168.1." + std::to_string(i) + "/32";
    rules.push_back({sel("0.0.0.0/0", dst.c_str()), 100, SpdAction::kBypass, nullptr, 1000 + i});
  }
  // 20 rules for 192.168.1.1, priorities 19..0 so the last listed is best;
  // each for a narrower source.
  for (uint32_t i = 0; i < 20; ++i) {
    const std::string src = "10.0.0.0/" + std::to_string(8 + i);
    rules.push_back({sel(src.c_str(), "192.168.1.1/32"), 19 - i, SpdAction::kDiscard, nullptr, i});
  }
  std::string error;
  auto spd = Spd::build(rules, &error);
  ASSERT_NE(spd, nullptr) << error;
  EXPECT_EQ(spd->indexed_rules(), 79u + SpdIndex::kMaxPerKey);
  EXPECT_EQ(spd->acl_rules(), 1u + 20u - SpdIndex::kMaxPerKey);
  // 10.0.0.1 is in every source prefix: the best (id 19) wins.
  EXPECT_EQ(spd->classify(key("10.0.0.1", "192.168.1.1", kGre))->id, 19u);
  // 10.128.0.1 is only in 10.0.0.0/8 (id 0, priority 19): it still beats
  // the /32 bypass rule of priority 100.
  EXPECT_EQ(spd->classify(key("10.128.0.1", "192.168.1.1", kGre))->id, 0u);
  // 10.0.128.1 is in /8../16: ids 0..8; best is 8, which sits in rte_acl.
  EXPECT_EQ(spd->classify(key("10.0.128.1", "192.168.1.1", kGre))->id, 8u);
  EXPECT_EQ(spd->classify(key("11.0.0.1", "192.168.1.1", kGre))->id, 1001u);
}

// The provisioning shape: 100,000 host rules (perf/provision.sh) and a few
// general ones. Build time and ns per packet, hashed against all-rte_acl.
TEST(SpdTiming, BulkHostRules) {
  std::vector<SpdRule> rules;
  const uint32_t n = 100000;
  for (uint32_t i = 0; i < n; ++i) {
    Selector s = sel("10.1.0.0/16", "10.128.0.0/32");
    s.dst.addr = IpAddress::v4(10, static_cast<uint8_t>(128 + (i >> 16)), static_cast<uint8_t>(i >> 8),
                               static_cast<uint8_t>(i));
    rules.push_back({s, 100, SpdAction::kProtect, fake_sa(i), i});
  }
  rules.push_back({sel("10.1.0.0/16", "10.0.0.0/8", kProtoUdp, {}, {500, 500}), 10,
                   SpdAction::kBypass, nullptr, n});
  rules.push_back({sel("0.0.0.0/0", "0.0.0.0/0"), 1000, SpdAction::kDiscard, nullptr, n + 1});
  std::mt19937 rng(11);
  std::vector<FlowKey> keys;
  for (int i = 0; i < 1 << 16; ++i) {
    const uint32_t h = rng() % (n + n / 8);  // some miss the host rules
    const std::string d = "10." + std::to_string(128 + (h >> 16)) + "." +
                          std::to_string((h >> 8) & 255) + "." + std::to_string(h & 255);
    keys.push_back(key("10.1.3.4", d.c_str(), i % 8 == 0 ? kProtoUdp : kProtoTcp, 1000, 500));
  }
  for (uint32_t min_rules : {64u, 0u}) {
    Spd::Options opts;
    opts.index_min_rules = min_rules;
    std::string error;
    const auto t0 = std::chrono::steady_clock::now();
    auto spd = Spd::build(rules, opts, &error);
    const auto t1 = std::chrono::steady_clock::now();
    ASSERT_NE(spd, nullptr) << error;
    std::vector<const SpdPolicy*> out(keys.size());
    spd->classify_burst(keys, out);
    for (size_t i = 0; i < keys.size(); ++i) {
      const uint32_t h = (keys[i].dst[1] - 128u) << 16 | keys[i].dst[2] << 8 | keys[i].dst[3];
      const uint32_t want = keys[i].proto == kProtoUdp ? n : h < n ? h : n + 1;
      ASSERT_EQ(out[i]->id, want) << "key " << i;
    }
    double best = 1e99;
    for (int round = 0; round < 5; ++round) {
      const auto a = std::chrono::steady_clock::now();
      for (size_t base = 0; base < keys.size(); base += 32) {
        spd->classify_burst(std::span(keys).subspan(base, 32), std::span(out).subspan(base, 32));
      }
      const auto b = std::chrono::steady_clock::now();
      best = std::min(best, std::chrono::duration<double, std::nano>(b - a).count());
    }
    std::printf("[  timing  ] SPD %u host rules + 2, %s: build %.0f ms, %.1f ns per packet\n", n,
                min_rules ? "hashed" : "all rte_acl",
                std::chrono::duration<double, std::milli>(t1 - t0).count(), best / keys.size());
  }
}

TEST(SpdTiming, BurstClassification) {
  std::mt19937 rng(7);
  std::vector<FlowKey> keys;
  for (int i = 0; i < 1 << 16; ++i) keys.push_back(random_key(rng, i % 4 == 0));
  for (size_t n : {size_t{10}, size_t{1000}}) {
    std::vector<SpdRule> rules;
    for (size_t i = 0; i < n; ++i) {
      rules.push_back({random_selector(rng, i % 4 == 0), static_cast<uint32_t>(rng() % 100),
                       SpdAction::kBypass, nullptr, static_cast<uint32_t>(i)});
    }
    std::string error;
    auto spd = Spd::build(rules, &error);
    ASSERT_NE(spd, nullptr) << error;
    std::vector<const SpdPolicy*> out(32);
    double best = 1e99;
    for (int round = 0; round < 5; ++round) {
      const auto t0 = std::chrono::steady_clock::now();
      for (size_t base = 0; base < keys.size(); base += 32) {
        spd->classify_burst(std::span(keys).subspan(base, 32), out);
      }
      const auto t1 = std::chrono::steady_clock::now();
      best = std::min(best, std::chrono::duration<double, std::nano>(t1 - t0).count());
    }
    std::printf("[  timing  ] SPD %4zu rules: %.1f ns per packet (bursts of 32, 1/4 IPv6)\n", n,
                best / keys.size());
  }
}

TEST(SelectorList, InboundCheck) {
  std::string error;
  auto list = SelectorList::build({sel("10.0.0.0/24", "192.168.0.0/16", kProtoTcp, {}, {22, 22}),
                                   sel("2001:db8::/64", "2001:db8:1::/64")},
                                  &error);
  ASSERT_TRUE(list.has_value()) << error;
  EXPECT_TRUE(list->matches(key("10.0.0.9", "192.168.3.3", kProtoTcp, 5000, 22)));
  EXPECT_FALSE(list->matches(key("10.0.0.9", "192.168.3.3", kProtoTcp, 5000, 23)));
  EXPECT_FALSE(list->matches(key("10.0.0.9", "192.168.3.3", kProtoTcp)));  // fragment
  EXPECT_FALSE(list->matches(key("10.0.1.9", "192.168.3.3", kProtoTcp, 5000, 22)));
  EXPECT_TRUE(list->matches(key("2001:db8::5", "2001:db8:1::5", kGre)));
  EXPECT_FALSE(list->matches(key("2001:db8:0:1::5", "2001:db8:1::5", kGre)));

  auto empty = SelectorList::build({}, &error);
  ASSERT_TRUE(empty.has_value());
  EXPECT_FALSE(empty->matches(key("10.0.0.9", "192.168.3.3", kProtoTcp, 5000, 22)));

  EXPECT_FALSE(SelectorList::build({sel("10.0.0.0/8", "::/0")}, &error).has_value());
  EXPECT_NE(error.find("mixes IPv4 and IPv6"), std::string::npos) << error;
}

TEST(SelectorList, AgreesWithTheReferenceModel) {
  std::mt19937 rng(5204);
  for (int round = 0; round < 50; ++round) {
    std::vector<Selector> sels;
    for (int i = 0; i < 4; ++i) sels.push_back(random_selector(rng, rng() % 2));
    std::string error;
    auto list = SelectorList::build(sels, &error);
    ASSERT_TRUE(list.has_value()) << error;
    for (int i = 0; i < 2000; ++i) {
      const FlowKey k = random_key(rng, rng() % 2);
      bool want = false;
      for (const Selector& s : sels) want |= s.matches(k);
      ASSERT_EQ(list->matches(k), want) << "round " << round << " key " << i;
    }
  }
}

// The policy array workers index per packet sits on huge pages once it is
// large (HugePageAllocator); small ones come from the heap. Both behave as
// ordinary vectors.
TEST(HugePageAllocator, LargeVectorsAreHugePageAlignedSmallOnesOnTheHeap) {
  std::vector<SpdPolicy, HugePageAllocator<SpdPolicy>> big;
  big.reserve(200000);  // 6.4 MB
  for (uint32_t i = 0; i < 200000; i++) big.push_back(SpdPolicy{SpdAction::kBypass, false, i});
  EXPECT_EQ(reinterpret_cast<uintptr_t>(big.data()) % (2u << 20), 0u);
  for (uint32_t i = 0; i < 200000; i += 997) ASSERT_EQ(big[i].id, i);
  std::vector<SpdPolicy, HugePageAllocator<SpdPolicy>> small(3);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(small.data()) % 64, 0u);
  small[2].id = 7;
  auto copy = small;  // the allocator copies with the vector
  EXPECT_EQ(copy[2].id, 7u);
  big.clear();
  big.shrink_to_fit();  // unmapped through huge_unmap
  EXPECT_EQ(big.capacity(), 0u);
}

}  // namespace
}  // namespace portcullis::dp
