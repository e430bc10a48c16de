#include "dataplane/tables/neighbours.h"

#include <rte_pause.h>
#include <rte_prefetch.h>

#include <algorithm>
#include <bit>
#include <cstring>

namespace portcullis::dp {

namespace {

constexpr uint64_t kStatusShift = 24;
constexpr uint64_t kKeyMask = 0x1ffff;  // port and IPv6 bit
constexpr uint64_t kMacMask = (uint64_t{1} << 48) - 1;
constexpr uint64_t kStateShift = 48;
// How often a reader re-reads a slot the agent is writing before it gives
// up. The agent's write is a handful of stores; only preemption makes it
// last longer than one retry.
constexpr int kMaxRetries = 16;
// Compact when probe chains grow past this or tombstones fill a quarter.
constexpr uint32_t kCompactProbe = 32;
constexpr size_t kChunk = 32;

uint8_t status_of(uint64_t meta) { return static_cast<uint8_t>(meta >> kStatusShift); }

uint64_t mac_bits(const rte_ether_addr& mac) {
  uint64_t v = 0;
  std::memcpy(&v, mac.addr_bytes, RTE_ETHER_ADDR_LEN);
  return v;
}

rte_ether_addr mac_of(uint64_t mac_state) {
  rte_ether_addr mac;
  const uint64_t v = mac_state & kMacMask;
  std::memcpy(mac.addr_bytes, &v, RTE_ETHER_ADDR_LEN);
  return mac;
}

NeighbourState state_of(uint64_t mac_state) {
  return static_cast<NeighbourState>(mac_state >> kStateShift);
}

uint64_t mac_state(uint64_t mac, NeighbourState s) {
  return mac | static_cast<uint64_t>(s) << kStateShift;
}

}  // namespace

NeighbourTable::NeighbourTable(uint32_t capacity, uint64_t touch_interval)
    : touch_interval_(touch_interval) {
  const uint32_t cap = std::bit_ceil(std::max<uint32_t>(capacity, 16));
  slots_.reset(new Slot[cap]);
  mask_ = cap - 1;
  shift_ = 64 - std::countr_zero(cap);
}

NeighbourTable::Packed NeighbourTable::pack(const NeighbourKey& k) {
  Packed p{k.port | (k.ip.v6 ? uint64_t{1} << 16 : 0), 0, 0};
  std::memcpy(&p.addr0, k.ip.bytes.data(), k.ip.v6 ? 8 : 4);  // IPv4: the rest stays zero
  if (k.ip.v6) std::memcpy(&p.addr1, k.ip.bytes.data() + 8, 8);
  return p;
}

uint32_t NeighbourTable::home(const Packed& p) const {
  uint64_t x = p.addr0 * 0x9e3779b97f4a7c15ull ^ p.addr1 * 0xc2b2ae3d27d4eb4full ^ p.meta;
  x ^= x >> 31;
  x *= 0xff51afd7ed558ccdull;
  return static_cast<uint32_t>(x >> shift_);
}

// read is the reader side of the seqlock. The acquire loads of the data
// keep the second counter load after them; if any of them saw a value the
// agent stored after making the counter odd, that load's acquire also makes
// the odd (or a later) counter visible, and the copy is retried.
bool NeighbourTable::read(const Slot& s, View* v) const {
  for (int i = 0; i < kMaxRetries; ++i) {
    const uint32_t q1 = s.seq.load(std::memory_order_acquire);
    if (q1 & 1) {
      rte_pause();
      continue;
    }
    v->meta = s.meta.load(std::memory_order_acquire);
    v->addr0 = s.addr[0].load(std::memory_order_acquire);
    v->addr1 = s.addr[1].load(std::memory_order_acquire);
    v->mac_state = s.mac_state.load(std::memory_order_acquire);
    if (s.seq.load(std::memory_order_relaxed) == q1) return true;
  }
  return false;
}

// write is the agent side: counter odd, release stores of the data (each
// orders the odd counter before itself), counter even with release.
void NeighbourTable::write(Slot& s, uint64_t meta, uint64_t addr0, uint64_t addr1,
                           uint64_t mac_st) {
  const uint32_t q = s.seq.load(std::memory_order_relaxed);
  s.seq.store(q + 1, std::memory_order_relaxed);
  s.meta.store(meta, std::memory_order_release);
  s.addr[0].store(addr0, std::memory_order_release);
  s.addr[1].store(addr1, std::memory_order_release);
  s.mac_state.store(mac_st, std::memory_order_release);
  s.seq.store(q + 2, std::memory_order_release);
}

NeighbourState NeighbourTable::lookup(const NeighbourKey& k, rte_ether_addr* mac,
                                      uint64_t now) const {
  const Packed p = pack(k);
  const uint32_t h = home(p);
  const uint32_t limit = max_probe_.load(std::memory_order_acquire);
  for (uint32_t d = 0; d <= limit; ++d) {
    const Slot& s = slots_[(h + d) & mask_];
    View v;
    if (!read(s, &v)) return NeighbourState::kNone;  // agent mid-write: not resolved now
    const uint8_t status = status_of(v.meta);
    if (status == kEmpty) return NeighbourState::kNone;
    if (status != kLive || (v.meta & kKeyMask) != p.meta || v.addr0 != p.addr0 ||
        v.addr1 != p.addr1) {
      continue;
    }
    const NeighbourState st = state_of(v.mac_state);
    if (usable(st)) {
      *mac = mac_of(v.mac_state);
      // Coarse on purpose: a store per packet would bounce this line
      // between the workers. A slot reused meanwhile gets a harmless touch.
      if (now > s.last_used.load(std::memory_order_relaxed) + touch_interval_) {
        s.last_used.store(now, std::memory_order_relaxed);
      }
    }
    return st;
  }
  return NeighbourState::kNone;
}

uint32_t NeighbourTable::lookup_burst(std::span<const NeighbourKey> keys,
                                      std::span<rte_ether_addr> macs,
                                      std::span<NeighbourState> states, uint64_t now) const {
  uint32_t found = 0;
  for (size_t base = 0; base < keys.size(); base += kChunk) {
    const size_t n = std::min(kChunk, keys.size() - base);
    for (size_t j = 0; j < n; ++j) rte_prefetch0(&slots_[home(pack(keys[base + j]))]);
    for (size_t j = 0; j < n; ++j) {
      states[base + j] = lookup(keys[base + j], &macs[base + j], now);
      found += usable(states[base + j]);
    }
  }
  return found;
}

int64_t NeighbourTable::find(const Packed& p) const {
  const uint32_t h = home(p);
  const uint32_t limit = max_probe_.load(std::memory_order_relaxed);
  for (uint32_t d = 0; d <= limit; ++d) {
    const uint32_t i = (h + d) & mask_;
    const uint64_t meta = slots_[i].meta.load(std::memory_order_relaxed);
    if (status_of(meta) == kEmpty) return -1;
    if (status_of(meta) == kLive && (meta & kKeyMask) == p.meta &&
        slots_[i].addr[0].load(std::memory_order_relaxed) == p.addr0 &&
        slots_[i].addr[1].load(std::memory_order_relaxed) == p.addr1) {
      return i;
    }
  }
  return -1;
}

void NeighbourTable::set_max_probe(uint32_t d) {
  // Raised before the slot is written, so a reader never stops short of a
  // complete entry; one that loaded the old bound just misses it this once.
  if (d > max_probe_.load(std::memory_order_relaxed)) {
    max_probe_.store(d, std::memory_order_release);
  }
}

int64_t NeighbourTable::place(const Packed& p, bool* existing) {
  *existing = false;
  if (int64_t i = find(p); i >= 0) {
    *existing = true;
    return i;
  }
  if (live_ >= (mask_ + 1) / 2) return -1;
  // Reuse the first tombstone on the chain, else the first empty slot.
  // Less than half the slots are live, so the walk ends.
  const uint32_t h = home(p);
  for (uint32_t d = 0;; ++d) {
    const uint32_t i = (h + d) & mask_;
    const uint8_t status = status_of(slots_[i].meta.load(std::memory_order_relaxed));
    if (status == kLive) continue;
    if (status == kTombstone) --tombstones_;
    set_max_probe(d);
    ++live_;
    return i;
  }
}

bool NeighbourTable::start_resolution(const NeighbourKey& k, uint64_t now) {
  const Packed p = pack(k);
  bool existing;
  const int64_t i = place(p, &existing);
  if (i < 0) return false;
  if (existing) return true;
  Slot& s = slots_[i];
  s.updated = now;
  s.last_used.store(now, std::memory_order_relaxed);
  write(s, p.meta | uint64_t{kLive} << kStatusShift, p.addr0, p.addr1,
        mac_state(0, NeighbourState::kIncomplete));
  return true;
}

bool NeighbourTable::update(const NeighbourKey& k, const rte_ether_addr& mac, NeighbourState state,
                            uint64_t now) {
  if (!usable(state)) return false;
  const Packed p = pack(k);
  bool existing;
  const int64_t i = place(p, &existing);
  if (i < 0) return false;
  Slot& s = slots_[i];
  // A static entry is changed only by another static entry or remove().
  if (existing && state != NeighbourState::kPermanent &&
      state_of(s.mac_state.load(std::memory_order_relaxed)) == NeighbourState::kPermanent) {
    return true;
  }
  s.updated = now;
  if (!existing) s.last_used.store(0, std::memory_order_relaxed);
  write(s, p.meta | uint64_t{kLive} << kStatusShift, p.addr0, p.addr1,
        mac_state(mac_bits(mac), state));
  return true;
}

bool NeighbourTable::remove(const NeighbourKey& k) {
  const Packed p = pack(k);
  const int64_t i = find(p);
  if (i < 0) return false;
  Slot& s = slots_[i];
  // The key stays, so the tombstone still reads as "someone else's slot".
  write(s, p.meta | uint64_t{kTombstone} << kStatusShift, p.addr0, p.addr1, 0);
  --live_;
  ++tombstones_;
  return true;
}

NeighbourTable::AgeStats NeighbourTable::age(uint64_t now, const AgeingPolicy& policy,
                                             std::vector<NeighbourKey>* probe) {
  AgeStats stats;
  for (uint32_t i = 0; i <= mask_; ++i) {
    Slot& s = slots_[i];
    const uint64_t meta = s.meta.load(std::memory_order_relaxed);
    if (status_of(meta) != kLive) continue;
    const uint64_t a0 = s.addr[0].load(std::memory_order_relaxed);
    const uint64_t a1 = s.addr[1].load(std::memory_order_relaxed);
    const uint64_t ms = s.mac_state.load(std::memory_order_relaxed);
    const uint64_t used = s.last_used.load(std::memory_order_relaxed);
    NeighbourKey key;
    key.port = static_cast<uint16_t>(meta & 0xffff);
    key.ip.v6 = (meta >> 16) & 1;
    std::memcpy(key.ip.bytes.data(), &a0, 8);
    std::memcpy(key.ip.bytes.data() + 8, &a1, 8);
    const uint64_t since = now - std::min(now, s.updated);
    switch (state_of(ms)) {
      case NeighbourState::kReachable:
        if (since >= policy.reachable_time) {
          s.updated = now;
          write(s, meta, a0, a1, mac_state(ms & kMacMask, NeighbourState::kStale));
          ++stats.to_stale;
        }
        break;
      case NeighbourState::kStale: {
        const uint64_t active = std::max(s.updated, used);
        if (now - std::min(now, active) >= policy.stale_time) {
          remove(key);
          ++stats.removed;
        } else if (used > s.updated && probe != nullptr) {
          probe->push_back(key);  // in use but unconfirmed: ask again
        }
        break;
      }
      case NeighbourState::kIncomplete:
        if (since >= policy.incomplete_time) {
          remove(key);
          ++stats.removed;
        } else if (probe != nullptr) {
          probe->push_back(key);
        }
        break;
      case NeighbourState::kNone:
      case NeighbourState::kPermanent:
        break;
    }
  }
  return stats;
}

std::vector<NeighbourInfo> NeighbourTable::snapshot() const {
  std::vector<NeighbourInfo> out;
  for (uint32_t i = 0; i <= mask_; ++i) {
    const Slot& s = slots_[i];
    const uint64_t meta = s.meta.load(std::memory_order_relaxed);
    if (status_of(meta) != kLive) continue;
    NeighbourInfo n;
    n.key.port = static_cast<uint16_t>(meta & 0xffff);
    n.key.ip.v6 = (meta >> 16) & 1;
    const uint64_t a0 = s.addr[0].load(std::memory_order_relaxed);
    const uint64_t a1 = s.addr[1].load(std::memory_order_relaxed);
    std::memcpy(n.key.ip.bytes.data(), &a0, 8);
    std::memcpy(n.key.ip.bytes.data() + 8, &a1, 8);
    const uint64_t ms = s.mac_state.load(std::memory_order_relaxed);
    n.state = state_of(ms);
    n.mac = mac_of(ms);
    n.updated = s.updated;
    n.last_used = s.last_used.load(std::memory_order_relaxed);
    out.push_back(n);
  }
  return out;
}

bool NeighbourTable::needs_compaction() const {
  return tombstones_ * 4 > mask_ + 1 || max_probe_.load(std::memory_order_relaxed) > kCompactProbe;
}

std::unique_ptr<NeighbourTable> NeighbourTable::compacted() const {
  auto t = std::make_unique<NeighbourTable>(mask_ + 1, touch_interval_);
  for (const NeighbourInfo& n : snapshot()) {
    const Packed p = pack(n.key);
    bool existing;
    Slot& s = t->slots_[t->place(p, &existing)];
    s.updated = n.updated;
    s.last_used.store(n.last_used, std::memory_order_relaxed);
    t->write(s, p.meta | uint64_t{kLive} << kStatusShift, p.addr0, p.addr1,
             mac_state(mac_bits(n.mac), n.state));
  }
  return t;
}

}  // namespace portcullis::dp
