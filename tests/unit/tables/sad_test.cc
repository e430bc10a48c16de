// sad_test.cc: the SAD at 1, 1,000 and 1,000,000 random SPIs (every SPI
// found, random misses not), destinations, refused entries, and a quick
// timing of burst lookups at 1 and 1,000,000 SAs (printed, not asserted).
#include "dataplane/tables/sad.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

namespace portcullis::dp {
namespace {

// The SAD never dereferences its SAs, so tests hand it distinct fake
// pointers instead of building a million real ones.
SaInbound* fake_sa(size_t i) { return reinterpret_cast<SaInbound*>(0x100000 + i * 256); }

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

// random_spis returns n distinct nonzero SPIs, and as many others that are
// not among them.
void random_spis(size_t n, uint32_t seed, std::vector<uint32_t>* hits,
                 std::vector<uint32_t>* misses) {
  std::mt19937 rng(seed);
  std::unordered_set<uint32_t> seen;
  seen.reserve(n * 2);
  while (hits->size() < n) {
    const uint32_t s = rng();
    if (s != 0 && seen.insert(s).second) hits->push_back(s);
  }
  while (misses->size() < n) {
    const uint32_t s = rng();
    if (seen.insert(s).second) misses->push_back(s);
  }
}

std::unique_ptr<Sad> build_ok(const std::vector<SadEntry>& entries) {
  std::string error;
  auto sad = Sad::build(entries, &error);
  EXPECT_NE(sad, nullptr) << error;
  return sad;
}

class SadRandom : public ::testing::TestWithParam<size_t> {};

TEST_P(SadRandom, FindsEverySpiAndNoOther) {
  const size_t n = GetParam();
  std::vector<uint32_t> spis, misses;
  random_spis(n, static_cast<uint32_t>(n), &spis, &misses);
  std::vector<SadEntry> entries;
  entries.reserve(n);
  for (size_t i = 0; i < n; ++i) entries.push_back({spis[i], std::nullopt, fake_sa(i)});
  auto sad = build_ok(entries);
  ASSERT_NE(sad, nullptr);
  EXPECT_EQ(sad->size(), n);
  EXPECT_LE(sad->size() * 2, sad->capacity());  // load factor at most one half
  EXPECT_TRUE(sad->spi_only_ok());

  // Burst lookups, in odd-sized bursts so the chunking is exercised.
  std::vector<SaInbound*> out(n);
  size_t hits = 0;
  for (size_t base = 0; base < n; base += 45) {
    const size_t len = std::min<size_t>(45, n - base);
    hits +=
        sad->lookup_burst(std::span(spis).subspan(base, len), std::span(out).subspan(base, len));
  }
  EXPECT_EQ(hits, n);
  size_t wrong = 0;
  for (size_t i = 0; i < n; ++i) wrong += out[i] != fake_sa(i);
  EXPECT_EQ(wrong, 0u);

  EXPECT_EQ(sad->lookup_burst(misses, out), 0u);
  size_t false_hits = 0;
  for (size_t i = 0; i < n; ++i) false_hits += out[i] != nullptr;
  EXPECT_EQ(false_hits, 0u);

  // The single lookups agree, with and without a destination.
  for (size_t i = 0; i < n; i += std::max<size_t>(1, n / 1000)) {
    EXPECT_EQ(sad->lookup(spis[i]), fake_sa(i));
    EXPECT_EQ(sad->lookup(spis[i], ip("192.0.2.1")), fake_sa(i));
    EXPECT_EQ(sad->lookup(misses[i]), nullptr);
  }
  EXPECT_EQ(sad->lookup(0), nullptr);
  std::printf("[   info   ] %zu SAs: %zu slots, %zu KiB, longest probe %u\n", n, sad->capacity(),
              sad->memory_bytes() >> 10, sad->max_probe());
}

INSTANTIATE_TEST_SUITE_P(Sizes, SadRandom, ::testing::Values(1, 1000, 1000000));

TEST(Sad, SequentialSpisSpreadOut) {
  // Operators number manual SAs 0x100, 0x101, ...: the hash must not line
  // them up into one probe run.
  std::vector<SadEntry> entries;
  for (uint32_t i = 0; i < 100000; ++i) entries.push_back({0x100 + i, std::nullopt, fake_sa(i)});
  auto sad = build_ok(entries);
  ASSERT_NE(sad, nullptr);
  EXPECT_LT(sad->max_probe(), 64u);
  for (uint32_t i = 0; i < 100000; ++i) ASSERT_EQ(sad->lookup(0x100 + i), fake_sa(i));
}

TEST(Sad, EmptyTableFindsNothing) {
  auto sad = build_ok({});
  ASSERT_NE(sad, nullptr);
  EXPECT_EQ(sad->lookup(1), nullptr);
  EXPECT_EQ(sad->lookup(0), nullptr);
}

TEST(Sad, DuplicateSpiRefused) {
  std::string error;
  std::vector<SadEntry> entries = {
      {0x1000, std::nullopt, fake_sa(0)},
      {0x2000, std::nullopt, fake_sa(1)},
      {0x1000, std::nullopt, fake_sa(2)},
  };
  EXPECT_EQ(Sad::build(entries, &error), nullptr);
  EXPECT_NE(error.find("SAD entry 2: duplicate SPI 0x00001000"), std::string::npos) << error;
  EXPECT_NE(error.find("also entry 0"), std::string::npos) << error;
}

TEST(Sad, DuplicateSpiAndDestinationRefused) {
  std::string error;
  std::vector<SadEntry> entries = {
      {0x1000, ip("192.0.2.1"), fake_sa(0)},
      {0x1000, ip("192.0.2.2"), fake_sa(1)},
      {0x1000, ip("192.0.2.1"), fake_sa(2)},
  };
  EXPECT_EQ(Sad::build(entries, &error), nullptr);
  EXPECT_NE(error.find("duplicate SPI 0x00001000 to 192.0.2.1"), std::string::npos) << error;
}

TEST(Sad, ReservedSpiAndMissingSaRefused) {
  std::string error;
  std::vector<SadEntry> zero = {{0, std::nullopt, fake_sa(0)}};
  EXPECT_EQ(Sad::build(zero, &error), nullptr);
  EXPECT_NE(error.find("SPI 0 is reserved"), std::string::npos) << error;
  std::vector<SadEntry> null_sa = {{7, std::nullopt, nullptr}};
  EXPECT_EQ(Sad::build(null_sa, &error), nullptr);
  EXPECT_NE(error.find("has no SA"), std::string::npos) << error;
}

TEST(Sad, SharedSpiNeedsTheDestination) {
  // The wildcard comes first in the input; the specific entries must still
  // win for their own addresses.
  std::vector<SadEntry> entries = {
      {0x1000, std::nullopt, fake_sa(9)},
      {0x1000, ip("192.0.2.1"), fake_sa(1)},
      {0x1000, ip("2001:db8::1"), fake_sa(2)},
      {0x2000, ip("192.0.2.1"), fake_sa(3)},
  };
  auto sad = build_ok(entries);
  ASSERT_NE(sad, nullptr);
  EXPECT_FALSE(sad->spi_only_ok());
  EXPECT_EQ(sad->lookup(0x1000), nullptr);  // ambiguous without the destination
  EXPECT_EQ(sad->lookup(0x1000, ip("192.0.2.1")), fake_sa(1));
  EXPECT_EQ(sad->lookup(0x1000, ip("2001:db8::1")), fake_sa(2));
  EXPECT_EQ(sad->lookup(0x1000, ip("192.0.2.99")), fake_sa(9));  // the wildcard
  // An SPI with one destination-specific entry: the SPI alone finds it, a
  // different destination does not.
  EXPECT_EQ(sad->lookup(0x2000), fake_sa(3));
  EXPECT_EQ(sad->lookup(0x2000, ip("192.0.2.1")), fake_sa(3));
  EXPECT_EQ(sad->lookup(0x2000, ip("192.0.2.2")), nullptr);
  // IPv4 192.0.2.1 and an IPv6 address with the same leading bytes differ.
  IpAddress v6_lookalike = ip("192.0.2.1");
  v6_lookalike.v6 = true;
  EXPECT_EQ(sad->lookup(0x2000, v6_lookalike), nullptr);

  const std::vector<uint32_t> spis = {0x1000, 0x1000, 0x2000, 0x3000};
  const std::vector<IpAddress> dsts = {ip("2001:db8::1"), ip("198.51.100.1"), ip("192.0.2.1"),
                                       ip("192.0.2.1")};
  std::vector<SaInbound*> out(4);
  EXPECT_EQ(sad->lookup_burst(spis, dsts, out), 3u);
  EXPECT_EQ(out, (std::vector<SaInbound*>{fake_sa(2), fake_sa(9), fake_sa(3), nullptr}));
}

// ns_per_lookup times burst lookups (32 at a time) of queries through sad.
double ns_per_lookup(const Sad& sad, const std::vector<uint32_t>& queries) {
  std::vector<SaInbound*> out(32);
  size_t hits = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t base = 0; base + 32 <= queries.size(); base += 32) {
    hits += sad.lookup_burst(std::span(queries).subspan(base, 32), out);
  }
  const auto t1 = std::chrono::steady_clock::now();
  EXPECT_EQ(hits, queries.size() / 32 * 32);
  return std::chrono::duration<double, std::nano>(t1 - t0).count() / (queries.size() / 32 * 32);
}

TEST(SadTiming, FlatFromOneToAMillion) {
  constexpr size_t kQueries = 1 << 22;
  std::mt19937 rng(42);
  for (size_t n : {size_t{1}, size_t{1000000}}) {
    std::vector<uint32_t> spis, misses;
    random_spis(n, 7, &spis, &misses);
    std::vector<SadEntry> entries;
    for (size_t i = 0; i < n; ++i) entries.push_back({spis[i], std::nullopt, fake_sa(i)});
    auto sad = build_ok(entries);
    ASSERT_NE(sad, nullptr);
    // Every packet of a burst from a different SA, uniformly at random:
    // the worst case for the cache. Real bursts share a few SAs.
    std::vector<uint32_t> queries(kQueries);
    for (uint32_t& q : queries) q = spis[rng() % n];
    ns_per_lookup(*sad, queries);  // warm up (and fault in the table)
    const double ns = ns_per_lookup(*sad, queries);
    std::printf("[  timing  ] SAD %7zu SAs: %.1f ns per lookup (bursts of 32, random SPIs)\n", n,
                ns);
  }
}

}  // namespace
}  // namespace portcullis::dp
