// worker.h: one data-plane worker: run to completion per burst.
//
// Per loop iteration, for each port: receive a burst on this worker's
// queue, then
//   1. classify: ARP, NDP and IKE go to the agent (punt ring); ICMP echo to
//      the gateway is answered here; ESP and UDP-encapsulated ESP to the
//      gateway go inbound; anything from a protected port to elsewhere goes
//      outbound; the rest is dropped and counted;
//   2. outbound: SPD (rte_acl) per packet, then ESP for the protected ones
//      in one burst whatever their SA; bypass goes straight on. A packet
//      too big for its SA's tunnel MTU is answered with ICMP or, IPv4
//      without DF, fragmented before encryption (too_big.h);
//   3. inbound: SAD by SPI, ESP in one burst, then the decrypted packet is
//      checked against its SA's traffic selectors (RFC 4301 section 5.2);
//   4. route (LPM), neighbour, Ethernet header, transmit in bursts.
// No locks, no allocation, no system calls and no logging here: a drop is
// a counter. The worker loads the published TableSet once per burst and
// reports an RCU quiescent state once per loop.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

#include "dataplane/agent/rcu.h"
#include "dataplane/ipsec/esp_worker.h"
#include "dataplane/pipeline/table_set.h"
#include "dataplane/pipeline/too_big.h"
#include "dataplane/tables/flow_key.h"
#include "dataplane/tables/neighbours.h"

struct rte_mbuf;
struct rte_ring;

namespace portcullis::dp {

// WorkerStats are one worker's counters; only the worker writes them
// (relaxed load and store, no locked add), others read them (relaxed,
// possibly a little stale).
struct WorkerStats {
  std::atomic<uint64_t> rx{0}, tx{0};
  std::atomic<uint64_t> outbound{0}, inbound{0}, bypass{0}, local{0}, punted{0};
  std::atomic<uint64_t> busy_cycles{0}, idle_cycles{0};
  // Oversized outbound packets: ICMP errors sent and suppressed by the
  // rate limit; packets fragmented before encryption, and the fragments.
  std::atomic<uint64_t> icmp_too_big{0}, icmp_suppressed{0};
  std::atomic<uint64_t> fragmented{0}, fragments{0};
};

// AcquireRequest: a packet matched a protect policy that has no SA
// (RFC 4301 section 5.1): the agent tells the daemon, which negotiates one.
struct AcquireRequest {
  uint32_t policy_id = 0;
  FlowKey key;
};

struct WorkerConfig {
  unsigned index = 0;       // also the RCU reader id
  unsigned workers = 0;     // how many workers run (0: unknown); see EspWorker::set_shard
  uint16_t queue = 0;       // RX and TX queue on every port
  std::vector<uint16_t> ports;
  Published<TableSet>* tables = nullptr;
  RcuDomain* rcu = nullptr;
  const NeighbourTable* neighbours = nullptr;
  rte_ring* punt = nullptr;     // mbufs for the agent (multi-producer)
  rte_ring* resolve = nullptr;  // NeighbourKey requests for the agent
  rte_ring* acquire = nullptr;  // AcquireRequest for the agent (multi-producer)
  // agent_tx, when set, holds frames the agent wants sent (ARP, ND,
  // injected IKE), each with m->port set; this worker transmits them on its
  // own queue. The agent then needs no queue of its own: a queue it did not
  // poll would still receive a share of the traffic on devices that spread
  // RX over every queue (RSS, af_packet's fanout).
  rte_ring* agent_tx = nullptr;
  const std::atomic<bool>* stop = nullptr;
  // idle_sleep_us > 0 lets an idle worker sleep that long after 1,000 empty
  // polls in a row: for labs and CI machines where workers share CPUs.
  // 0 (the default) polls without pause, as an appliance should.
  unsigned idle_sleep_us = 0;
  // ICMP errors this worker may send a second, in bursts of up to
  // icmp_burst (RFC 1812 section 4.3.2.8, RFC 4443 section 2.4 (f)).
  uint32_t icmp_rate = 100;
  uint32_t icmp_burst = 100;
};

class Worker {
 public:
  static constexpr uint16_t kBurst = 32;
  // kMaxFragments bounds how many fragments one oversized packet becomes.
  static constexpr size_t kMaxFragments = 64;

  Worker(const WorkerConfig& cfg, crypto::Engine& engine);
  // run loops until *cfg.stop; call on the worker's own lcore.
  void run();
  // poll_once runs one iteration over every port; returns packets received.
  uint32_t poll_once();

  const WorkerStats& stats() const { return stats_; }
  const DropCounters& drops() const { return esp_.drops(); }

 private:
  void handle_burst(const TableSet& ts, uint16_t port, rte_mbuf** pkts, uint16_t n);
  void outbound(const TableSet& ts, uint16_t rx_port);
  uint32_t sa_limit(const TableSet& ts, SaOutbound* sa, const rte_mbuf* m);
  uint32_t sa_limit_miss(const TableSet& ts, SaOutbound* sa, const rte_mbuf* m);
  void prefetch_sas(const SpdPolicy* const* pol, size_t n);
  void prefetch_in_sas();
  static constexpr uint64_t kNoteGenMask = (uint64_t{1} << 48) - 1;
  void too_big(const TableSet& ts, uint16_t rx_port, rte_mbuf* m, SaOutbound* sa, uint32_t limit);
  void stage_esp(const TableSet& ts, rte_mbuf* m, SaOutbound* sa);
  void seal_staged(const TableSet& ts);
  void inbound(const TableSet& ts);
  void forward(const TableSet& ts, rte_mbuf* m);
  void forward_esp(const TableSet& ts, rte_mbuf* m, const SaOutbound* sa);
  struct Egress {
    uint16_t port;
    bool v6;
    rte_ether_addr mac;
  };
  bool resolve(const TableSet& ts, rte_mbuf* m, Egress* out);
  void emit(const TableSet& ts, rte_mbuf* m, const Egress& e);
  void drop(rte_mbuf* m, DropReason r);
  void punt(rte_mbuf* m);
  void flush_tx();

  WorkerConfig cfg_;
  EspWorker esp_;
  WorkerStats stats_;
  // Per-burst staging, reused: no allocation after start.
  std::vector<rte_mbuf*> out_pkts_, in_pkts_;
  // Packets (and fragments) waiting for ESP, with their SAs in out_sas_;
  // sealed whenever kStage are waiting and at the end of the burst.
  static constexpr size_t kStage = 4 * kBurst;
  std::vector<rte_mbuf*> esp_pkts_;
  std::vector<SaOutbound*> out_sas_;
  std::vector<SaInbound*> in_sas_;
  std::vector<rte_mbuf*> in_orig_;
  std::vector<uint32_t> spis_;
  struct TxQueue {
    uint16_t n = 0;
    rte_mbuf* pkts[2 * kBurst];
  };
  std::vector<TxQueue> tx_;  // indexed by port id
  uint64_t last_resolve_tsc_ = 0;
  IcmpRateLimiter icmp_limit_;
  IcmpRateLimiter acquire_limit_;  // acquire requests, 100 a second
  // Neighbours forward resolved lately (slots of an older epoch are empty;
  // poll_once starts a new epoch every kNbCacheUs): packets mostly share a
  // few next hops, and a full seqlocked hash lookup per packet cost 10-17 %
  // of a worker. At 20 us, 16 LAN hosts were looked up again every six
  // bursts, 5 % of an inbound worker; a quarter of a millisecond is still
  // far below anything a neighbour change is noticed by.
  struct NeighbourSlot {
    uint64_t epoch = 0;
    uint64_t a0 = 0, a1 = 0;  // the address's 16 bytes as IpAddress holds them
    uint16_t port = 0;
    bool v6 = false;
    rte_ether_addr mac{};
  };
  static constexpr size_t kNbSlots = 16;
  std::array<NeighbourSlot, kNbSlots> nb_cache_{};
  uint64_t nb_epoch_ = 1;
  uint64_t nb_epoch_tsc_ = 0;
  uint64_t nb_cache_cycles_ = 0;
  static constexpr uint64_t kNbCacheUs = 250;
  // Where each SA's ESP packets went lately. Every packet of an outbound
  // SA has the same outer destination (tunnel: the peer; transport: the
  // one host), so its route and neighbour are the SA's: reused while the
  // table set and the neighbour epoch are the same (the neighbour cache's
  // rule), so a route or port change takes effect at once and a neighbour
  // change within kNbCacheUs.
  struct EgressSlot {
    const SaOutbound* sa = nullptr;
    uint64_t generation = 0;
    uint64_t epoch = 0;
    Egress e{};
  };
  static constexpr size_t kEgressSlots = 64;
  std::array<EgressSlot, kEgressSlots> egress_{};
  LocalAddrs local_;  // the gateway's addresses, rebuilt per TableSet generation
};

}  // namespace portcullis::dp
