// sa.h: a Security Association, split in two.
//
// SaConfig is the control-side SA: keys, endpoints, mode, lifetimes, as the
// daemon describes it. SaOutbound and SaInbound are the small runtime
// objects the workers touch: built once from an SaConfig by the agent (key
// schedules, header template, processing functions chosen for the SA's
// mode, address families and suite), then read-only except for the
// mutable block, which sits on its own cache lines so that sequence-number
// and counter updates do not evict the read-mostly fields from other cores.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "crypto/key_schedule.h"
#include "crypto/slab.h"
#include "crypto/secure.h"
#include "crypto/suite.h"
#include "dataplane/ipsec/drop_reason.h"
#include "dataplane/ipsec/ip_address.h"
#include "dataplane/ipsec/replay_window.h"

struct rte_mbuf;

namespace portcullis::crypto {
class Engine;
struct CryptoOp;
}  // namespace portcullis::crypto

namespace portcullis::dp {

class EspWorker;
class SelectorList;

enum class Mode : uint8_t { kTunnel, kTransport };

// DfMode sets the outer IPv4 DF bit in tunnel mode (RFC 4301 section 8.1).
enum class DfMode : uint8_t { kCopy, kSet, kClear };

// Lifetime limits; 0 means no limit. Seconds are enforced by the agent's
// scan, bytes and packets by the workers themselves.
struct SaLifetime {
  uint64_t soft_bytes = 0, hard_bytes = 0;
  uint64_t soft_packets = 0, hard_packets = 0;
  uint64_t soft_seconds = 0, hard_seconds = 0;
};

// SaConfig describes one direction of one SA.
struct SaConfig {
  uint32_t spi = 0;
  crypto::Suite suite;
  crypto::SecretBytes cipher_key;  // key then salt for AEADs
  crypto::SecretBytes auth_key;    // CBC suites only
  Mode mode = Mode::kTunnel;
  bool esn = true;
  // Tunnel mode: the outer addresses (both of one family). Transport mode:
  // the endpoints, whose family selects the IPv4 or IPv6 path.
  IpAddress tunnel_src, tunnel_dst;
  // RFC 3948 UDP encapsulation.
  bool udp_encap = false;
  uint16_t udp_src_port = 4500, udp_dst_port = 4500;
  // Inbound: anti-replay. Turning it off must be asked for explicitly.
  uint32_t replay_window = 1024;
  bool anti_replay = true;
  // Outbound tunnel header fields.
  uint8_t ttl = 64;
  int dscp = -1;  // -1 copies the inner DSCP; 0..63 sets it
  DfMode df = DfMode::kCopy;
  SaLifetime lifetime;
  // Outbound: the first sequence number to send. A restarted SA resumes
  // above its persisted high-water mark, never below.
  uint64_t first_seq = 1;
  // Outbound AEAD: the explicit IV is the sequence number XOR this mask.
  // Any fixed mask keeps IVs unique under the key; 0 sends the sequence
  // number itself. Tests set it to reproduce published packets.
  uint64_t iv_mask = 0;
  // Outbound: raise the soft event when this many sequence numbers remain.
  // 0 picks the default: 1/8 of the space (2^29 for 32-bit sequence numbers).
  uint64_t soft_seq_remaining = 0;
  // Outbound: the last sequence number the daemon has leased (persisted on
  // its side before it hands it out); 0 means no lease, the whole space.
  uint64_t seq_lease = 0;
};

// validate_sa_config returns an empty string, or what is wrong with cfg.
std::string validate_sa_config(const SaConfig& cfg, bool outbound);

// SaEvent bits raised by workers for the agent to report (sa_expire).
enum SaEvent : uint32_t {
  kEventSoftBytes = 1u << 0,
  kEventSoftPackets = 1u << 1,
  kEventSoftSeq = 1u << 2,
  kEventHardBytes = 1u << 3,
  kEventHardPackets = 1u << 4,
  kEventSeqExhausted = 1u << 5,
  kEventSeqLease = 1u << 6,  // the daemon's sequence lease ran out (not an expiry)
};

// SaCounters is the mutable per-SA state that workers update besides the
// packet and byte totals; each SA puts it on a cache line of its own.
// Relaxed atomics. The soft limits sit here because this line is touched
// anyway.
struct SaCounters {
  std::atomic<uint32_t> events{0};  // SaEvent bits
  std::atomic<bool> dead{false};    // hard-expired: every packet is dropped
  uint64_t soft_packets = 0;        // set at build, read-only
  uint64_t soft_bytes = 0;          // set at build, read-only
  // raise sets event bits; returns true the first time any of them is set.
  bool raise(uint32_t bits) {
    return (events.fetch_or(bits, std::memory_order_relaxed) & bits) != bits;
  }
};

// SaTotals are an SA's packets and bytes so far.
struct SaTotals {
  uint64_t packets = 0, bytes = 0;
};

// CounterShard holds one share of an SA's packet and byte totals. A locked
// add costs 20-40 cycles and drains the store buffer: three of them per run
// of packets (sequence number, packets, bytes) were a quarter of a worker's
// time at 10,000 tunnels, where every run is one packet long. So a shard
// with a single writer is updated with a plain load and store (add_owned),
// one that workers share with fetch_add (add_shared).
struct CounterShard {
  std::atomic<uint64_t> packets{0}, bytes{0};
  SaTotals add_owned(uint64_t p, uint64_t b) {
    const SaTotals t{packets.load(std::memory_order_relaxed) + p,
                     bytes.load(std::memory_order_relaxed) + b};
    packets.store(t.packets, std::memory_order_relaxed);
    bytes.store(t.bytes, std::memory_order_relaxed);
    return t;
  }
  void add_shared(uint64_t p, uint64_t b) {
    packets.fetch_add(p, std::memory_order_relaxed);
    bytes.fetch_add(b, std::memory_order_relaxed);
  }
  SaTotals load() const {
    return {packets.load(std::memory_order_relaxed), bytes.load(std::memory_order_relaxed)};
  }
};

// kCounterShards: an outbound SA's totals are split over this many shards,
// one per worker index modulo kCounterShards (EspWorker::set_shard). With up
// to this many workers every shard has one writer.
inline constexpr unsigned kCounterShards = 4;

// Per-packet preparation chosen once per SA (mode x families x suite).
// Returns kNone and fills op, or the reason to drop.
struct SaOutbound;
using OutboundPrepareFn = DropReason (*)(const SaOutbound& sa, rte_mbuf* m, uint64_t seq,
                                         crypto::CryptoOp& op, EspWorker& w);

// SaOutbound is the worker-side outbound SA, on huge pages (crypto::Slab)
// with every other.
struct alignas(64) SaOutbound : crypto::SlabAllocated<SaOutbound, false> {
  // --- read-mostly (workers: ro; agent: set at build) ---
  const crypto::KeySchedule* ks = nullptr;
  OutboundPrepareFn prepare = nullptr;
  uint32_t spi_be = 0;    // network byte order
  uint8_t outer_len = 0;  // tunnel: outer IP (+ UDP); transport: UDP or 0
  uint8_t iv_len = 0;
  uint8_t icv_len = 0;
  uint8_t block_mask = 0;  // block_len - 1
  uint8_t ttl = 64;
  int8_t dscp = -1;
  DfMode df = DfMode::kCopy;
  bool esn = false;
  bool aead = false;
  bool cbc_esn = false;  // CBC with ESN: high bits appended for the ICV only
  bool outer_v6 = false;
  bool udp = false;
  uint64_t seq_last = 0;  // last usable sequence number
  uint64_t seq_soft = 0;  // raise kEventSoftSeq at this sequence number
  uint64_t iv_mask = 0;
  uint64_t hard_packets = 0;
  // Outer IP (+ UDP) header, built at SA install; lengths, ID, checksum,
  // DSCP and DF are patched per packet.
  alignas(64) uint8_t tmpl[48] = {};
  uint64_t hard_bytes = 0;
  // IPv4 tunnel: the template's header words summed with TOS, length, ID,
  // flags and checksum left zero; the per-packet checksum adds those.
  uint32_t tmpl_sum = 0;

  // --- mutable (workers: rw) ---
  // next_seq is the next sequence number to hand out. Workers reserve a run
  // with one fetch_add, so no number is given out twice even when RSS
  // spreads one SA's flows over several workers.
  alignas(64) std::atomic<uint64_t> next_seq{1};
  // seq_lease is the last sequence number the daemon has leased to this SA
  // (SaConfig::seq_lease; the agent raises it on sa_update). Numbers above
  // it are not used: packets are dropped as kSeqExhausted and kEventSeqLease
  // is raised, but the SA stays usable once the lease grows.
  std::atomic<uint64_t> seq_lease{UINT64_MAX};
  SaCounters counters;
  // mtu_note is the pipeline's note of this SA's tunnel MTU for one
  // published table set: (generation + 1) << 16 | largest inner packet,
  // 0 for none. Any worker may replace it (relaxed); all compute the same
  // value for a generation. It lives on this line because every packet
  // touches the line anyway, where a per-worker cache missed at scale.
  std::atomic<uint64_t> mtu_note{0};
  // Packets and bytes sent, in per-worker shards (CounterShard); totals()
  // sums them.
  alignas(64) std::array<CounterShard, kCounterShards> shards;

  // --- cold (agent only) ---
  alignas(64) uint32_t spi = 0;
  std::unique_ptr<crypto::KeySchedule> owned_ks;

  SaTotals totals() const {
    SaTotals t;
    for (const CounterShard& s : shards) {
      const SaTotals x = s.load();
      t.packets += x.packets;
      t.bytes += x.bytes;
    }
    return t;
  }
};
static_assert(offsetof(SaOutbound, next_seq) == 128, "read-mostly part is two cache lines");
static_assert(offsetof(SaOutbound, shards) == 192, "mutable part is one cache line");
static_assert(offsetof(SaOutbound, spi) == 256, "the shards are one cache line");
static_assert(sizeof(SaOutbound) == 320);

struct SaInbound;
using InboundDecapFn = DropReason (*)(const SaInbound& sa, rte_mbuf* m, uint32_t esp_off,
                                      uint32_t payload_len, uint8_t next_header);

// SaInbound is the worker-side inbound SA. Its replay window has a single
// writer: the worker whose RX queue the SA's packets arrive on. On huge
// pages, as SaOutbound.
struct alignas(64) SaInbound : crypto::SlabAllocated<SaInbound, false> {
  // --- read-mostly ---
  const crypto::KeySchedule* ks = nullptr;
  InboundDecapFn decap = nullptr;
  uint32_t spi_be = 0;
  uint8_t iv_len = 0;
  uint8_t icv_len = 0;
  uint8_t block_mask = 0;
  bool esn = false;
  bool aead = false;
  bool cbc_esn = false;
  Mode mode = Mode::kTunnel;
  uint32_t ks_lines = 0;  // ks->hot_lines(true): what a worker prefetches of ks
  uint64_t hard_bytes = 0, hard_packets = 0;
  // Traffic selectors a decrypted packet must match (RFC 4301 section 5.2
  // step 4); set by the agent before the SA is published, owned by it, and
  // never changed afterwards. Null: no check. Read for every packet, so on
  // the first line.
  const SelectorList* selectors = nullptr;

  // --- mutable (owning worker: rw) ---
  alignas(64) ReplayWindow replay;
  SaCounters counters;
  // Packets and bytes received; only the owning worker writes them, so
  // with a plain load and store (CounterShard::add_owned).
  CounterShard received;

  // --- cold ---
  alignas(64) uint32_t spi = 0;
  std::unique_ptr<crypto::KeySchedule> owned_ks;
  explicit SaInbound(ReplayWindow w) : replay(std::move(w)) {}
  SaTotals totals() const { return received.load(); }
};
static_assert(offsetof(SaInbound, replay) == 64, "read-mostly part is one cache line");
static_assert(sizeof(SaInbound) <= 256);

// build_outbound / build_inbound turn a config into a runtime SA: key
// schedules are computed here, on the calling (agent) thread, with its
// engine. They return nullptr and set *error when cfg is invalid.
std::unique_ptr<SaOutbound> build_outbound(const SaConfig& cfg, crypto::Engine& engine,
                                           std::string* error);
std::unique_ptr<SaInbound> build_inbound(const SaConfig& cfg, crypto::Engine& engine,
                                         std::string* error);

}  // namespace portcullis::dp
