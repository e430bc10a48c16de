// routes_test.cc: longest-prefix match for IPv4 and IPv6, with default
// routes (/0), host routes (/32, /128) and the prefix lengths either side
// of rte_lpm's 24-bit first level; refused routes; then random tables
// against a brute-force longest match.
#include "dataplane/tables/routes.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace portcullis::dp {
namespace {

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

NextHop via(const char* gw, uint16_t port = 0) { return NextHop{port, false, ip(gw)}; }
NextHop connected(uint16_t port) { return NextHop{port, true, {}}; }

Route route(const char* prefix, NextHop nh) { return Route{*Prefix::parse(prefix), nh}; }

std::unique_ptr<Routes> build_ok(const std::vector<Route>& routes) {
  std::string error;
  auto t = Routes::build(routes, &error);
  EXPECT_NE(t, nullptr) << error;
  return t;
}

// hop returns the next hop a lookup of addr gives, or nullptr for none.
const NextHop* hop(const Routes& t, const char* addr) {
  const uint32_t i = t.lookup(ip(addr));
  return i == Routes::kNoRoute ? nullptr : &t.next_hop(i);
}

TEST(Routes, Ipv4LongestMatch) {
  auto t = build_ok({
      route("10.0.0.0/8", via("192.168.0.1")),
      route("10.1.0.0/16", connected(1)),
      route("10.1.2.3/32", via("192.168.0.3")),
      route("10.1.2.128/25", via("192.168.0.25")),
      route("10.1.3.0/24", via("192.168.0.24")),
      route("0.0.0.0/0", via("192.168.0.254", 2)),
  });
  ASSERT_NE(t, nullptr);
  struct {
    const char* addr;
    NextHop want;
  } cases[] = {
      {"10.1.2.3", via("192.168.0.3")},  // /32
      {"10.1.2.2", connected(1)},        // the /16 around it
      {"10.1.2.4", connected(1)},
      {"10.1.2.128", via("192.168.0.25")},  // /25: second level
      {"10.1.2.255", via("192.168.0.25")},
      {"10.1.2.127", connected(1)},
      {"10.1.3.0", via("192.168.0.24")},  // /24: first level exactly
      {"10.1.3.255", via("192.168.0.24")},
      {"10.1.4.0", connected(1)},
      {"10.1.255.255", connected(1)},
      {"10.2.0.0", via("192.168.0.1")},
      {"10.255.255.255", via("192.168.0.1")},
      {"10.0.0.0", via("192.168.0.1")},
      {"9.255.255.255", via("192.168.0.254", 2)},  // the default
      {"11.0.0.0", via("192.168.0.254", 2)},
      {"0.0.0.0", via("192.168.0.254", 2)},
      {"255.255.255.255", via("192.168.0.254", 2)},
  };
  for (const auto& c : cases) {
    const NextHop* got = hop(*t, c.addr);
    ASSERT_NE(got, nullptr) << c.addr;
    EXPECT_EQ(*got, c.want) << c.addr << " went to " << got->gateway.str();
  }
  EXPECT_EQ(hop(*t, "2001:db8::1"), nullptr);  // no IPv6 routes at all
}

// share: a second Routes over the same tries answers the same, and keeps
// them alive after the original is gone (the agent republishes it in a new
// TableSet and frees the old one after its grace period).
TEST(Routes, ShareOutlivesTheOriginal) {
  auto t = build_ok({
      route("10.0.0.0/8", via("192.168.0.1")),
      route("10.1.2.0/24", connected(3)),
      route("2001:db8::/32", via("fe80::1", 4)),
      route("0.0.0.0/0", via("192.168.0.254", 2)),
  });
  ASSERT_NE(t, nullptr);
  auto shared = t->share();
  const char* addrs[] = {"10.9.9.9", "10.1.2.3", "2001:db8::5", "8.8.8.8", "2001:db9::1"};
  for (const char* a : addrs) {
    const NextHop* want = hop(*t, a);
    const NextHop* got = hop(*shared, a);
    ASSERT_EQ(want == nullptr, got == nullptr) << a;
    if (want != nullptr) {
      EXPECT_EQ(*got, *want) << a;
    }
  }
  t.reset();  // the tries must survive this
  ASSERT_NE(hop(*shared, "10.1.2.3"), nullptr);
  EXPECT_EQ(*hop(*shared, "10.1.2.3"), connected(3));
  EXPECT_EQ(*hop(*shared, "2001:db8::5"), via("fe80::1", 4));
  EXPECT_EQ(hop(*shared, "2001:db9::1"), nullptr);
  EXPECT_EQ(shared->size(), 4u);
}

TEST(Routes, Ipv4WithoutDefault) {
  auto t = build_ok({route("10.0.0.0/8", connected(0)), route("10.1.2.3/32", connected(1))});
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(hop(*t, "11.0.0.1"), nullptr);
  EXPECT_EQ(hop(*t, "9.255.255.255"), nullptr);
  EXPECT_EQ(hop(*t, "10.1.2.3")->port_id, 1);
  EXPECT_EQ(hop(*t, "10.1.2.4")->port_id, 0);
}

TEST(Routes, OnlyDefaults) {
  auto t = build_ok({route("0.0.0.0/0", connected(3)), route("::/0", connected(4))});
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(hop(*t, "1.2.3.4")->port_id, 3);
  EXPECT_EQ(hop(*t, "2001:db8::1")->port_id, 4);
  auto none = build_ok({});
  ASSERT_NE(none, nullptr);
  EXPECT_EQ(hop(*none, "1.2.3.4"), nullptr);
  EXPECT_EQ(hop(*none, "::1"), nullptr);
}

TEST(Routes, Ipv6LongestMatch) {
  auto t = build_ok({
      route("2001:db8::/32", via("fe80::1")),
      route("2001:db8:1::/48", connected(1)),
      route("2001:db8:1::1/128", via("fe80::128")),
      route("2001:db8:1:2::/64", via("fe80::64")),
      route("2001:db8:100::/40", via("fe80::40")),
      route("::/0", via("fe80::ffff", 2)),
  });
  ASSERT_NE(t, nullptr);
  struct {
    const char* addr;
    NextHop want;
  } cases[] = {
      {"2001:db8:1::1", via("fe80::128")},
      {"2001:db8:1::2", connected(1)},
      {"2001:db8:1::", connected(1)},
      {"2001:db8:1:2::1", via("fe80::64")},
      {"2001:db8:1:2:ffff:ffff:ffff:ffff", via("fe80::64")},
      {"2001:db8:1:3::", connected(1)},
      {"2001:db8:1:ffff:ffff:ffff:ffff:ffff", connected(1)},
      {"2001:db8:2::", via("fe80::1")},
      {"2001:db8:100::1", via("fe80::40")},
      {"2001:db8:1ff:ffff::1", via("fe80::40")},
      {"2001:db8:200::", via("fe80::1")},
      {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", via("fe80::1")},
      {"2001:db9::", via("fe80::ffff", 2)},
      {"2001:db7:ffff::", via("fe80::ffff", 2)},
      {"::", via("fe80::ffff", 2)},
  };
  for (const auto& c : cases) {
    const NextHop* got = hop(*t, c.addr);
    ASSERT_NE(got, nullptr) << c.addr;
    EXPECT_EQ(*got, c.want) << c.addr << " went to " << got->gateway.str();
  }
  EXPECT_EQ(hop(*t, "10.0.0.1"), nullptr);  // no IPv4 routes
}

TEST(Routes, BurstsAndSharedNextHops) {
  auto t = build_ok({
      route("10.0.0.0/8", via("192.168.0.1")),
      route("172.16.0.0/12", via("192.168.0.1")),  // same next hop: same index
      route("10.1.0.0/16", connected(1)),
      route("10.5.0.0/16", connected(1)),
      route("2001:db8::/32", connected(1)),
      route("2001:db9::/32", connected(2)),
  });
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->next_hop_count(), 3u);
  EXPECT_EQ(t->size(), 6u);
  EXPECT_EQ(t->lookup(ip("10.1.0.1")), t->lookup(ip("2001:db8::1")));

  // More than one internal chunk (64) per call.
  std::vector<uint32_t> v4;
  std::vector<Ipv6Bytes> v6;
  for (int i = 0; i < 150; ++i) {
    const char* a = i % 3 == 0 ? "10.9.9.9" : i % 3 == 1 ? "10.5.0.1" : "8.8.8.8";
    uint32_t be;
    std::memcpy(&be, ip(a).bytes.data(), 4);
    v4.push_back(be);
    v6.push_back(ip(i % 2 ? "2001:db9::5" : "2001:dba::5").bytes);
  }
  std::vector<uint32_t> nh(150);
  EXPECT_EQ(t->lookup4_burst(v4, nh), 100u);
  for (int i = 0; i < 150; ++i) {
    const uint32_t want = i % 3 == 0   ? t->lookup(ip("10.0.0.1"))
                          : i % 3 == 1 ? t->lookup(ip("10.1.0.1"))
                                       : Routes::kNoRoute;
    ASSERT_EQ(nh[i], want) << i;
  }
  EXPECT_EQ(t->lookup6_burst(v6, nh), 75u);
  for (int i = 0; i < 150; ++i) {
    ASSERT_EQ(nh[i], i % 2 ? t->lookup(ip("2001:db9::1")) : Routes::kNoRoute) << i;
  }

  // Both families in one burst.
  std::vector<IpAddress> mixed;
  for (int i = 0; i < 150; ++i) {
    mixed.push_back(ip(i % 3 == 0 ? "10.5.0.1" : i % 3 == 1 ? "2001:db8::9" : "2001:dba::5"));
  }
  EXPECT_EQ(t->lookup_burst(mixed, nh), 100u);
  for (int i = 0; i < 150; ++i) ASSERT_EQ(nh[i], t->lookup(mixed[i])) << i;
}

TEST(Routes, InvalidRoutesRefused) {
  std::string error;
  EXPECT_EQ(Routes::build(std::vector<Route>{route("10.0.0.0/8", connected(0)),
                                             route("10.9.9.9/8", connected(1))},
                          &error),
            nullptr);
  EXPECT_NE(error.find("prefix 10.0.0.0/8 already routed by route 0"), std::string::npos) << error;
  EXPECT_EQ(Routes::build(std::vector<Route>{route("10.0.0.0/8", NextHop{0, false, ip("0.0.0.0")})},
                          &error),
            nullptr);
  EXPECT_NE(error.find("needs a gateway"), std::string::npos) << error;
  Route too_long = route("10.0.0.0/8", connected(0));
  too_long.prefix.len = 33;
  EXPECT_EQ(Routes::build(std::vector<Route>{too_long}, &error), nullptr);
  EXPECT_NE(error.find("prefix too long"), std::string::npos) << error;
  // The same prefix in the two families is two routes.
  EXPECT_NE(Routes::build(
                std::vector<Route>{route("0.0.0.0/0", connected(0)), route("::/0", connected(0))},
                &error),
            nullptr);
}

// A brute-force longest match over random routes, in a small address space
// so that prefixes nest.
TEST(Routes, AgreesWithBruteForce) {
  std::mt19937 rng(1812);
  for (bool v6 : {false, true}) {
    std::vector<Route> routes;
    std::vector<std::pair<Prefix, int>> seen;
    const int maxlen = v6 ? 128 : 32;
    auto rand_addr = [&] {
      IpAddress a;
      a.v6 = v6;
      a.bytes[0] = v6 ? 0x20 : 10;
      for (int i = 1; i < (v6 ? 16 : 4); ++i) a.bytes[i] = (rng() % 4 == 0) ? rng() & 0xff : 0;
      return a;
    };
    while (routes.size() < 400) {
      const auto len = static_cast<uint8_t>(rng() % (maxlen + 1));
      const Prefix p = *Prefix::make(rand_addr(), len);
      bool dup = false;
      for (const auto& s : seen) dup |= s.first == p;
      if (dup) continue;
      seen.push_back({p, static_cast<int>(routes.size())});
      routes.push_back(Route{p, NextHop{static_cast<uint16_t>(routes.size()), true, {}}});
    }
    auto t = build_ok(routes);
    ASSERT_NE(t, nullptr);
    for (int i = 0; i < 20000; ++i) {
      const IpAddress a = rand_addr();
      int best = -1;
      for (size_t r = 0; r < routes.size(); ++r) {
        if (routes[r].prefix.contains(a.bytes.data()) &&
            (best < 0 || routes[r].prefix.len > routes[best].prefix.len)) {
          best = static_cast<int>(r);
        }
      }
      const uint32_t got = t->lookup(a);
      if (best < 0) {
        ASSERT_EQ(got, Routes::kNoRoute) << a.str();
      } else {
        ASSERT_NE(got, Routes::kNoRoute) << a.str();
        ASSERT_EQ(t->next_hop(got).port_id, best) << a.str();
      }
    }
  }
}

}  // namespace
}  // namespace portcullis::dp
