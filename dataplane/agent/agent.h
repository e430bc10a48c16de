// agent.h: the data plane's main lcore.
//
// One thread, one loop (step()):
//   1. serve the dataplane channel (control/api Server): requests change
//      DataplaneState, which publishes new tables;
//   2. drain the punt ring: answer ARP and IPv6 neighbour solicitations for
//      the gateway's addresses, learn neighbours from what arrives, and
//      send IKE packets up to the daemon as Punt events;
//   3. drain the resolve ring: workers that lacked a neighbour ask for it;
//      send an ARP request or a neighbour solicitation;
//   4. about ten times a second: age neighbours, scan SA lifetimes (time
//      limits here; byte, packet and sequence limits are raised by the
//      workers) and send SaExpire events. A hard expiry stops the SA in the
//      data plane whether or not a daemon is connected.
// Frames the agent sends go to worker 0 through a ring (tx), which sends
// them on its own queue: the agent touches no port queue.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <string>
#include <vector>

#include "control/api/server.h"
#include "dataplane/agent/state.h"
#include "dataplane/agent/telemetry_mailbox.h"
#include "dataplane/pipeline/worker.h"
#include "dataplane/tables/neighbours.h"

struct rte_mempool;
struct rte_ring;

namespace portcullis::dp {

struct AgentConfig {
  std::string socket_path;
  rte_ring* tx = nullptr;  // frames to send, each with m->port set
  std::vector<uint16_t> ports;
  rte_mempool* pool = nullptr;
  rte_ring* punt = nullptr;
  rte_ring* resolve = nullptr;
  rte_ring* acquire = nullptr;  // AcquireRequest from the workers
  NeighbourTable* neighbours = nullptr;
  const Published<TableSet>* tables = nullptr;
  const std::vector<std::unique_ptr<Worker>>* workers = nullptr;
};

class Agent {
 public:
  Agent(const AgentConfig& cfg, DataplaneState& state);
  // step runs one loop iteration, waiting at most timeout_ms for the channel.
  void step(int timeout_ms);
  api::Stats stats() const;
  // set_telemetry makes step() answer the requests DPDK telemetry posts in
  // mb (telemetry.h); mb must outlive the agent's use of it.
  void set_telemetry(TelemetryMailbox* mb) { telemetry_ = mb; }

 private:
  api::Reply handle(api::Message& m);
  void handle_punt(rte_mbuf* m);
  void arp(rte_mbuf* m);
  void ndp(rte_mbuf* m);
  void resolve(const NeighbourKey& k);
  void scan_lifetimes();
  void scan_one(uint32_t id, InstalledSa& sa, uint64_t now);
  void send_frame(uint16_t port, rte_mbuf* m);
  api::Reply inject(const api::Inject& m);
  void answer_telemetry(const TelemetryRequest& q, TelemetryResponse& r);

  AgentConfig cfg_;
  DataplaneState& state_;
  std::unique_ptr<api::Server> server_;
  uint64_t last_scan_tsc_ = 0;
  uint32_t scan_cursor_ = 0;  // the sa_id the next lifetime scan starts at
  uint64_t tsc_hz_ = 0;
  TelemetryMailbox* telemetry_ = nullptr;
  // Counters of the agent's own work.
  uint64_t arp_replies_ = 0, nd_replies_ = 0, resolutions_ = 0, punts_ = 0, events_ = 0;
  // acquire turns a worker's request into an acquire event, at most one
  // per policy a second.
  void acquire(const AcquireRequest& r, uint64_t now);
  std::unordered_map<uint32_t, uint64_t> acquired_;  // policy id -> last event (TSC)
  uint64_t acquires_ = 0;
  uint64_t txn_owner_ = 0;     // the peer whose transaction is open
  uint64_t aborted_txns_ = 0;  // transactions aborted because their client left
};

}  // namespace portcullis::dp
