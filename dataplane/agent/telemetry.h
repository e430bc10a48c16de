// telemetry.h: the data plane's counters through DPDK telemetry
// (dpdk-telemetry.py; socket /var/run/dpdk/<file-prefix>/dpdk_telemetry.v2).
//
// Commands, each answering a JSON dict:
//   /portcullis/stats        every counter of the channel's stats_get, by the
//                            same names with '.' written as '/' (DPDK
//                            telemetry allows only letters, digits, '_'
//                            and '/' in names): port/0/rx_packets, drop/no_sa
//   /portcullis/ports[,ID]   per port: name, packets, bytes, misses, errors;
//                            without ID one array per field, by port
//   /portcullis/workers[,N]  per worker: lcore, cpu, busy and idle cycles,
//                            packet counts; without N one array per field
//   /portcullis/drops[,N]    drops by reason, summed over workers or for
//                            worker N
//   /portcullis/sa[,ID]      without ID the SA count; with it that SA's
//                            packets, bytes, drops, sequence number, events
//   /portcullis/version      Portcullis, DPDK and channel protocol versions
//
// Threads. DPDK calls these on its telemetry threads. Ports, workers and
// drops are read there directly, as stats_get reads them: ethdev's own
// stats call, the workers' relaxed atomics, the per-lcore drop arrays.
// stats and sa need the agent's own state, so they go through the
// TelemetryMailbox (telemetry_mailbox.h) and the agent answers them; if the
// agent does not take the request within a second (a long commit), the
// command answers null.
//
// DPDK 22.11 cannot unregister a command: they are registered once per
// process and answer null while no Telemetry object is running.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/agent/telemetry_mailbox.h"

namespace portcullis::dp {

class Worker;

struct TelemetryConfig {
  std::vector<uint16_t> ports;
  const std::vector<std::unique_ptr<Worker>>* workers = nullptr;
  std::vector<unsigned> worker_lcores;  // worker i runs on worker_lcores[i]
  std::string version;                  // Portcullis's
};

class Telemetry {
 public:
  // The constructor registers the commands (once per process) and makes
  // them answer from cfg and the mailbox; the destructor stops that,
  // waiting for a command in progress.
  explicit Telemetry(TelemetryConfig cfg);
  ~Telemetry();
  Telemetry(const Telemetry&) = delete;
  Telemetry& operator=(const Telemetry&) = delete;

  // mailbox is what the agent serves (Agent::set_telemetry).
  TelemetryMailbox& mailbox() { return mailbox_; }
  const TelemetryConfig& config() const { return cfg_; }

 private:
  TelemetryConfig cfg_;
  TelemetryMailbox mailbox_;
};

}  // namespace portcullis::dp
