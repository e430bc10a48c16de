#include "dataplane/tables/sad.h"

#include <rte_prefetch.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <algorithm>
#include <bit>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string_view>
#include <unordered_map>

namespace portcullis::dp {

// Measured with tests/unit/tables/sad_bench.cc on the development VM
// (Xeon at 2.3 GHz, 4 KiB EAL pages, the other core often busy), bursts of
// 32 lookups each of a random SA, all hits, ns per lookup over runs:
//
//   SAs         this table                rte_hash_lookup_bulk_data
//   1           2.4-6                     15-30
//   1,000       4-5     (32 KiB)          15-30   (45 KiB)
//   100,000     4-5     (4 MiB)           19-30   (3.4 MiB)
//   1,000,000   7-12    (32 MiB)          36-53   (43 MiB)
//               14-16 without huge pages
//
// Build at 1,000,000: 50-65 ms here, 105-210 ms for rte_hash. rte_hash is
// a general cuckoo table: it hashes with CRC, reads a bucket of
// signatures, then the key store, then the data. Here the key and SA sit
// in the one line the hash points at. rte_hash would also tie the SAD,
// and its tests, to the EAL heap.

namespace {

// Hashing a whole burst before probing lets the prefetches overlap; more
// than 32 in flight gains nothing on current cores (about 12-16 line fill
// buffers) and would only grow the stack arrays.
constexpr size_t kChunk = 32;

std::string spi_str(uint32_t spi) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08" PRIx32, spi);
  return buf;
}

std::string entry_str(const SadEntry& e) {
  return "SPI " + spi_str(e.spi) + (e.dst ? " to " + e.dst->str() : " (any destination)");
}

struct IpHash {
  size_t operator()(const IpAddress& a) const {
    return std::hash<std::string_view>()(
               std::string_view(reinterpret_cast<const char*>(a.bytes.data()), 16)) ^
           a.v6;
  }
};

}  // namespace

Sad::~Sad() = default;

std::unique_ptr<Sad> Sad::build(std::span<const SadEntry> entries, std::string* error) {
  if (entries.size() > (1u << 30)) {
    *error = "SAD: too many SAs (" + std::to_string(entries.size()) + ")";
    return nullptr;
  }
  std::unique_ptr<Sad> t(new Sad());
  // At least two buckets: the hash shifts by 64 - log2(buckets).
  const size_t nb = std::max<size_t>(2, std::bit_ceil((entries.size() * 2 + kWays - 1) / kWays));
  t->mask_ = static_cast<uint32_t>(nb - 1);
  t->shift_ = 64 - std::countr_zero(nb);
  t->seed_ = std::random_device()();
  const size_t bytes = nb * sizeof(Bucket);
  // On huge pages from 2 MiB (HugeBuffer): probed at random per packet.
  t->buckets_ = static_cast<Bucket*>(t->bucket_mem_.allocate(bytes));
  if (t->buckets_ == nullptr) {
    *error = "SAD: cannot allocate " + std::to_string(bytes >> 20) + " MiB for the table";
    return nullptr;
  }

  // Which entry each slot came from, for error messages only.
  std::vector<uint32_t> origin(nb * kWays);
  std::unordered_map<IpAddress, uint32_t, IpHash> dst_index;
  // Destination-specific entries go in first: entries of one SPI share a
  // home bucket, so probing meets them in insertion order, and a lookup by
  // destination takes the first entry that fits.
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t n = 0; n < entries.size(); ++n) {
      const SadEntry& e = entries[n];
      if (e.dst.has_value() != (pass == 0)) continue;
      if (e.spi == 0) {
        *error = "SAD entry " + std::to_string(n) + ": SPI 0 is reserved (RFC 4303 section 2.1)";
        return nullptr;
      }
      if (e.sa == nullptr) {
        *error = "SAD entry " + std::to_string(n) + " (" + entry_str(e) + ") has no SA";
        return nullptr;
      }
      uint32_t tag = 0;
      if (e.dst) {
        auto [it, added] = dst_index.try_emplace(*e.dst, static_cast<uint32_t>(t->dsts_.size()));
        if (added) t->dsts_.push_back(*e.dst);
        tag = it->second + 1;
      }
      // Walk the buckets from home to the first with room, meeting every
      // earlier entry of this SPI on the way.
      const uint32_t home = t->home(e.spi);
      bool shared = false;
      for (uint32_t d = 0;; ++d) {
        const uint32_t bi = (home + d) & t->mask_;
        Bucket& b = t->buckets_[bi];
        int w = 0;
        for (; w < kWays && b.sa[w] != nullptr; ++w) {
          if (b.spi[w] != e.spi) continue;
          if ((b.tag[w] & ~kAmbiguous) == tag) {
            *error = "SAD entry " + std::to_string(n) + ": duplicate " + entry_str(e) +
                     " (also entry " + std::to_string(origin[bi * kWays + w]) + ")";
            return nullptr;
          }
          b.tag[w] |= kAmbiguous;
          shared = true;
        }
        if (w == kWays) continue;  // full: on to the next bucket
        b.spi[w] = e.spi;
        b.tag[w] = tag | (shared ? kAmbiguous : 0);
        b.sa[w] = e.sa;
        origin[bi * kWays + w] = static_cast<uint32_t>(n);
        t->max_probe_ = std::max(t->max_probe_, d);
        break;
      }
      t->any_ambiguous_ |= shared;
      ++t->size_;
    }
  }
  return t;
}

// match returns a bit per slot of b whose SPI is spi. An empty slot's SPI
// is 0, which build() refuses, so a lookup of SPI 0 matches an empty slot
// and returns its null SA.
[[gnu::always_inline]] inline uint32_t Sad::match(const Bucket& b, uint32_t spi) {
#ifdef __SSE2__
  const __m128i keys = _mm_load_si128(reinterpret_cast<const __m128i*>(b.spi));
  const __m128i eq = _mm_cmpeq_epi32(keys, _mm_set1_epi32(static_cast<int>(spi)));
  return static_cast<uint32_t>(_mm_movemask_ps(_mm_castsi128_ps(eq)));
#else
  return (b.spi[0] == spi) | (b.spi[1] == spi) << 1 | (b.spi[2] == spi) << 2 |
         (b.spi[3] == spi) << 3;
#endif
}

// probe searches from bucket bi. The load factor of one half guarantees a
// bucket with room, so this ends.
[[gnu::always_inline]] inline SaInbound* Sad::probe(uint32_t bi, uint32_t spi) const {
  for (;; bi = (bi + 1) & mask_) {
    const Bucket& b = buckets_[bi];
    if (const uint32_t m = match(b, spi)) {
      const int w = std::countr_zero(m);
      return (b.tag[w] & kAmbiguous) ? nullptr : b.sa[w];
    }
    if (b.sa[kWays - 1] == nullptr) return nullptr;
  }
}

[[gnu::always_inline]] inline SaInbound* Sad::probe(uint32_t bi, uint32_t spi,
                                                    const IpAddress& dst) const {
  for (;; bi = (bi + 1) & mask_) {
    const Bucket& b = buckets_[bi];
    for (uint32_t m = match(b, spi); m != 0; m &= m - 1) {
      const int w = std::countr_zero(m);
      const uint32_t tag = b.tag[w] & ~kAmbiguous;
      if (tag == 0 || dsts_[tag - 1] == dst) return b.sa[w];
    }
    if (b.sa[kWays - 1] == nullptr) return nullptr;
  }
}

SaInbound* Sad::lookup(uint32_t spi) const { return probe(home(spi), spi); }

SaInbound* Sad::lookup(uint32_t spi, const IpAddress& dst) const {
  return probe(home(spi), spi, dst);
}

uint32_t Sad::lookup_burst(std::span<const uint32_t> spis, std::span<SaInbound*> out) const {
  uint32_t hits = 0;
  uint32_t idx[kChunk];
  for (size_t base = 0; base < spis.size(); base += kChunk) {
    const size_t n = std::min(kChunk, spis.size() - base);
    for (size_t j = 0; j < n; ++j) {
      idx[j] = home(spis[base + j]);
      rte_prefetch0(&buckets_[idx[j]]);
    }
    for (size_t j = 0; j < n; ++j) {
      SaInbound* sa = probe(idx[j], spis[base + j]);
      out[base + j] = sa;
      hits += sa != nullptr;
    }
  }
  return hits;
}

uint32_t Sad::lookup_burst(std::span<const uint32_t> spis, std::span<const IpAddress> dsts,
                           std::span<SaInbound*> out) const {
  uint32_t hits = 0;
  uint32_t idx[kChunk];
  for (size_t base = 0; base < spis.size(); base += kChunk) {
    const size_t n = std::min(kChunk, spis.size() - base);
    for (size_t j = 0; j < n; ++j) {
      idx[j] = home(spis[base + j]);
      rte_prefetch0(&buckets_[idx[j]]);
    }
    for (size_t j = 0; j < n; ++j) {
      SaInbound* sa = probe(idx[j], spis[base + j], dsts[base + j]);
      out[base + j] = sa;
      hits += sa != nullptr;
    }
  }
  return hits;
}

}  // namespace portcullis::dp
