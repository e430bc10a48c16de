// neighbours.h: the neighbour table, a next hop (port and IP address) to
// its Ethernet address, with the reachability state that drives ARP
// (RFC 826) and IPv6 Neighbour Discovery (RFC 4861 section 7.3): kIncomplete
// while a request is out, kReachable once answered, kStale when the answer
// is old (still used to send, while the agent probes again).
//
// Concurrency contract. Unlike the other tables this one changes in place,
// because answers arrive one at a time and must take effect at once.
//  - One writer: the agent thread. Only it calls the members marked
//    "agent", and it never blocks the workers.
//  - Any number of readers: the workers call lookup and lookup_burst,
//    concurrently with the agent. They never wait on the agent, allocate,
//    or write anything but an entry's last-used time (a relaxed atomic,
//    stored at most once per touch interval so the line is not bounced).
//  - Each slot is a seqlock: the agent makes its counter odd, writes the
//    slot, makes it even. A reader copies the slot between two reads of the
//    counter and retries if it was odd or moved. After a few tries (the
//    agent was preempted mid-write) the lookup answers kNone, "not
//    resolved now": never a torn address. Every field is a std::atomic, so
//    the protocol is data-race-free C++, and on x86 each is a plain move.
//  - Slots never move and never become empty again while a table is in
//    use: removal leaves a tombstone, so the probe chains readers walk stay
//    whole. A lookup that races with adding or removing the same neighbour
//    may see it either way; the next burst sees the new state.
//  - Capacity is fixed at construction; inserting fails beyond half of it.
//    Tombstones pile up under churn: when needs_compaction(), the agent
//    publishes compacted() through the same RCU pointer swap as the other
//    tables (DESIGN.md, "Publishing state to workers"), writes only to the
//    new table from then on, and frees the old one after a grace period.
//
// Time is the caller's monotonic clock in any unit (TSC cycles,
// milliseconds); AgeingPolicy and touch_interval use the same unit.
#pragma once

#include <rte_ether.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "dataplane/ipsec/ip_address.h"

namespace portcullis::dp {

// kPermanent is a static entry installed over the channel (neigh_add): it
// never ages, and ARP or ND answers do not change it.
enum class NeighbourState : uint8_t { kNone, kIncomplete, kReachable, kStale, kPermanent };

// usable: the state has an Ethernet address to send to.
inline bool usable(NeighbourState s) {
  return s == NeighbourState::kReachable || s == NeighbourState::kStale ||
         s == NeighbourState::kPermanent;
}

struct NeighbourKey {
  uint16_t port = 0;
  IpAddress ip;
  bool operator==(const NeighbourKey&) const = default;
};

struct AgeingPolicy {
  uint64_t reachable_time = 0;   // kReachable turns kStale this long after confirmation
  uint64_t stale_time = 0;       // kStale unused this long is removed
  uint64_t incomplete_time = 0;  // resolution given up this long after it began
};

// NeighbourInfo is one entry as the agent sees it (CLI, telemetry).
struct NeighbourInfo {
  NeighbourKey key;
  NeighbourState state = NeighbourState::kNone;
  rte_ether_addr mac{};
  uint64_t updated = 0;    // when the state last changed or was confirmed
  uint64_t last_used = 0;  // when a worker last sent with it (coarse)
};

class NeighbourTable {
 public:
  // capacity is rounded up to a power of two; touch_interval bounds how
  // often readers store an entry's last-used time.
  explicit NeighbourTable(uint32_t capacity, uint64_t touch_interval);
  NeighbourTable(const NeighbourTable&) = delete;
  NeighbourTable& operator=(const NeighbourTable&) = delete;

  // --- agent ---
  // start_resolution adds k as kIncomplete unless it is already known.
  // Returns false when the table is full.
  bool start_resolution(const NeighbourKey& k, uint64_t now);
  // update sets k's address and state (kReachable for a solicited answer,
  // kStale for an address learned unsolicited, RFC 4861 section 7.2.3),
  // adding k if needed. Returns false when the table is full.
  bool update(const NeighbourKey& k, const rte_ether_addr& mac, NeighbourState state, uint64_t now);
  // remove returns whether k was present.
  bool remove(const NeighbourKey& k);
  struct AgeStats {
    uint32_t to_stale = 0;
    uint32_t removed = 0;
  };
  // age moves entries along their lifecycle and appends to *probe the
  // neighbours to (re)send a request for: incomplete ones, and stale ones
  // used since they went stale.
  AgeStats age(uint64_t now, const AgeingPolicy& policy, std::vector<NeighbourKey>* probe);
  std::vector<NeighbourInfo> snapshot() const;
  bool needs_compaction() const;
  // compacted copies the live entries into a new table without tombstones.
  std::unique_ptr<NeighbourTable> compacted() const;
  size_t size() const { return live_; }
  size_t capacity() const { return mask_ + 1; }

  // --- any thread ---
  // lookup returns k's state and, when usable, its address in *mac; now
  // refreshes the entry's last-used time.
  NeighbourState lookup(const NeighbourKey& k, rte_ether_addr* mac, uint64_t now) const;
  // lookup_burst does the same for each key and returns how many are usable.
  uint32_t lookup_burst(std::span<const NeighbourKey> keys, std::span<rte_ether_addr> macs,
                        std::span<NeighbourState> states, uint64_t now) const;

 private:
  // Slot.meta: port (bits 0-15), IPv6 (bit 16), status (bits 24-31).
  // Slot.mac_state: the address (bits 0-47) and NeighbourState (48-55).
  enum Status : uint8_t { kEmpty = 0, kLive = 1, kTombstone = 2 };
  struct alignas(64) Slot {
    std::atomic<uint32_t> seq{0};  // odd while the agent writes
    std::atomic<uint64_t> meta{0};
    std::atomic<uint64_t> addr[2];
    std::atomic<uint64_t> mac_state{0};
    mutable std::atomic<uint64_t> last_used{0};  // workers: relaxed stores
    uint64_t updated = 0;                        // agent only
  };
  static_assert(sizeof(Slot) == 64);
  // View is a consistent copy of a slot's seqlocked words.
  struct View {
    uint64_t meta, addr0, addr1, mac_state;
  };
  // Packed is a key in the slot's representation.
  struct Packed {
    uint64_t meta, addr0, addr1;
  };

  static Packed pack(const NeighbourKey& k);
  uint32_t home(const Packed& p) const;
  bool read(const Slot& s, View* v) const;
  void write(Slot& s, uint64_t meta, uint64_t addr0, uint64_t addr1, uint64_t mac_state);
  int64_t find(const Packed& p) const;  // agent: slot index or -1
  // place returns the slot for p (existing, else a new one), or -1 if full.
  int64_t place(const Packed& p, bool* existing);
  void set_max_probe(uint32_t d);

  std::unique_ptr<Slot[]> slots_;
  uint32_t mask_;
  uint32_t shift_;
  uint64_t touch_interval_;
  std::atomic<uint32_t> max_probe_{0};  // longest chain a reader must walk
  size_t live_ = 0;                     // agent only
  size_t tombstones_ = 0;               // agent only
};

}  // namespace portcullis::dp
