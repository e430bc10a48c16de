// sad.h: the inbound Security Association Database, SPI (and destination)
// to SaInbound (RFC 4301 section 4.4.2).
//
// Immutable once built. The agent builds a new Sad for every change batch
// and publishes it with the other tables; workers only look up. Lookups
// allocate nothing, take no locks and never throw.
//
// Design note. The cost of a lookup must not grow with the number of SAs
// (1 to 1,000,000). The table is open addressing over a power-of-two array
// of 64-byte buckets, one cache line each, holding four slots {SPI,
// destination tag, SaInbound*} with the keys inline beside the values, at
// a load factor of at most one half. A lookup compares the SPI against the
// bucket's four keys at once; a bucket that is not full ends the search,
// and a full one sends it on to the next bucket (linear probing by cache
// line). At half load nearly every hit and miss reads exactly one line and
// takes one well-predicted branch, where probing slot by slot mispredicts
// on the variable run length and straddles lines. The SPI is mixed with a
// per-table random seed before the multiplicative hash, so operators
// numbering SPIs sequentially do not line them up into one long run, and a
// peer sending made-up SPIs cannot aim them at the longest runs. Tables of
// 2 MiB and more ask the kernel for transparent huge pages: at a million
// SAs the 32 MiB array would otherwise cost a TLB miss per lookup.
// lookup_burst hashes a whole burst first and prefetches every home
// bucket, so the cache misses of a burst overlap instead of queueing.
//
// DPDK's rte_hash (cuckoo, bulk lookup) was measured against this table;
// see tests/unit/tables/sad_bench.cc and the figures in sad.cc.
//
// Destinations. RFC 4301 section 4.1 lets the receiver choose SPIs so that
// the SPI alone finds the SA, which is what this gateway's daemon does;
// an entry without a destination matches any. An SPI may still be shared
// by entries with different destinations (say, two local addresses), and
// a destination-specific entry then wins over a wildcard one for its
// address. The SPI-only lookup refuses such ambiguous SPIs (returns null):
// use the destination lookup when spi_only_ok() is false.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dataplane/tables/huge_buffer.h"
#include "dataplane/ipsec/ip_address.h"

namespace portcullis::dp {

struct SaInbound;

// SadEntry is one SA as the agent installs it. SPIs are in host byte order.
struct SadEntry {
  uint32_t spi = 0;
  std::optional<IpAddress> dst;  // nullopt: any destination
  SaInbound* sa = nullptr;
};

class Sad {
 public:
  // build returns the table, or nullptr with *error saying which entry is
  // wrong: SPI 0 (reserved, RFC 4303 section 2.1), a null SA, or a
  // duplicate SPI and destination.
  static std::unique_ptr<Sad> build(std::span<const SadEntry> entries, std::string* error);
  ~Sad();
  Sad(const Sad&) = delete;
  Sad& operator=(const Sad&) = delete;

  // lookup returns the SA for spi (host byte order), or nullptr.
  SaInbound* lookup(uint32_t spi) const;
  // lookup with the packet's destination: a destination-specific entry
  // first, then a wildcard one.
  SaInbound* lookup(uint32_t spi, const IpAddress& dst) const;

  // lookup_burst fills out[i] for spis[i] (nullptr for a miss) and returns
  // the number of hits. out must be at least as long as spis.
  uint32_t lookup_burst(std::span<const uint32_t> spis, std::span<SaInbound*> out) const;
  uint32_t lookup_burst(std::span<const uint32_t> spis, std::span<const IpAddress> dsts,
                        std::span<SaInbound*> out) const;

  // spi_only_ok: no SPI is shared by two entries, so lookup(spi) suffices.
  bool spi_only_ok() const { return !any_ambiguous_; }
  size_t size() const { return size_; }
  size_t capacity() const { return (mask_ + 1) * size_t{kWays}; }  // slots
  size_t memory_bytes() const { return (mask_ + 1) * sizeof(Bucket); }
  // max_probe is the furthest any entry sits from its home bucket, in buckets.
  uint32_t max_probe() const { return max_probe_; }

 private:
  // tag: 0 for a wildcard destination, else 1 + index into dsts_;
  // kAmbiguous marks every entry of an SPI that more than one entry shares.
  // Slots fill from 0 up and are never emptied, so sa[kWays - 1] == nullptr
  // means the bucket has room, and an SPI's entries sit in probe order in
  // the order they were inserted.
  static constexpr uint32_t kAmbiguous = 1u << 31;
  static constexpr int kWays = 4;
  struct alignas(64) Bucket {
    uint32_t spi[kWays];
    uint32_t tag[kWays];
    SaInbound* sa[kWays];  // nullptr: empty slot (its spi is 0)
  };
  static_assert(sizeof(Bucket) == 64);

  Sad() = default;
  uint32_t home(uint32_t spi) const {
    return static_cast<uint32_t>((static_cast<uint64_t>(spi ^ seed_) * kMultiplier) >> shift_);
  }
  static uint32_t match(const Bucket& b, uint32_t spi);
  SaInbound* probe(uint32_t b, uint32_t spi) const;
  SaInbound* probe(uint32_t b, uint32_t spi, const IpAddress& dst) const;

  static constexpr uint64_t kMultiplier = 0x9e3779b97f4a7c15ull;  // 2^64 / golden ratio
  Bucket* buckets_ = nullptr;
  uint32_t mask_ = 0;  // buckets - 1
  uint32_t shift_ = 63;
  uint32_t seed_ = 0;
  uint32_t max_probe_ = 0;
  size_t size_ = 0;
  bool any_ambiguous_ = false;
  HugeBuffer bucket_mem_;  // behind buckets_
  std::vector<IpAddress> dsts_;  // the distinct destinations entries name
};

}  // namespace portcullis::dp
