#include "dataplane/agent/telemetry.h"

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_telemetry.h>
#include <rte_version.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <string_view>

#include "control/api/wire.h"
#include "dataplane/ipsec/drop_reason.h"
#include "dataplane/pipeline/worker.h"

namespace portcullis::dp {

namespace {

constexpr auto kAgentTimeout = std::chrono::milliseconds(1000);

// The running Telemetry, or null. Commands hold g_mu while they run, so
// the destructor cannot free what a command is reading.
std::mutex g_mu;
Telemetry* g_tel = nullptr;

// parse_id reads a command's parameter: false if there is none, or if it
// is not a number below limit (*bad is then set).
bool parse_id(const char* params, uint64_t limit, uint32_t* id, bool* bad) {
  *bad = false;
  if (params == nullptr || *params == '\0') return false;
  const std::string_view p(params);
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  if (ec != std::errc() || end != p.data() + p.size() || v >= limit) {
    *bad = true;
    return false;
  }
  *id = v;
  return true;
}

// add_column adds name: [values...] to dict d.
void add_column(rte_tel_data* d, const char* name, const std::vector<uint64_t>& values) {
  rte_tel_data* a = rte_tel_data_alloc();
  if (a == nullptr) return;
  rte_tel_data_start_array(a, RTE_TEL_U64_VAL);
  for (uint64_t v : values) rte_tel_data_add_array_u64(a, v);
  if (rte_tel_data_add_dict_container(d, name, a, 0) != 0) rte_tel_data_free(a);
}

int cmd_stats(const char*, const char*, rte_tel_data* d) {
  std::lock_guard<std::mutex> lk(g_mu);
  if (g_tel == nullptr) return -ENODEV;
  TelemetryResponse r;
  if (!g_tel->mailbox().call({TelemetryRequest::Kind::kStats, 0}, &r, kAgentTimeout)) return -EBUSY;
  rte_tel_data_start_dict(d);
  // A dict holds RTE_TEL_MAX_DICT_ENTRIES; say so rather than cut silently.
  const size_t room = RTE_TEL_MAX_DICT_ENTRIES - 1;
  size_t n = 0;
  for (const auto& c : r.stats.counters) {
    if (n++ == room) {
      rte_tel_data_add_dict_u64(d, "truncated", 1);
      break;
    }
    std::string name = c.name;
    std::replace(name.begin(), name.end(), '.', '/');
    rte_tel_data_add_dict_u64(d, name.c_str(), c.value);
  }
  return 0;
}

struct PortRow {
  char name[RTE_ETH_NAME_MAX_LEN] = {};
  rte_eth_stats s{};
};

PortRow port_row(uint16_t port) {
  PortRow r;
  rte_eth_dev_get_name_by_port(port, r.name);
  rte_eth_stats_get(port, &r.s);
  return r;
}

int cmd_ports(const char*, const char* params, rte_tel_data* d) {
  std::lock_guard<std::mutex> lk(g_mu);
  if (g_tel == nullptr) return -ENODEV;
  const auto& ports = g_tel->config().ports;
  uint32_t id;
  bool bad;
  const bool one = parse_id(params, UINT16_MAX, &id, &bad);
  if (bad) return -EINVAL;
  rte_tel_data_start_dict(d);
  if (one) {
    if (std::find(ports.begin(), ports.end(), id) == ports.end()) return -EINVAL;
    const PortRow r = port_row(static_cast<uint16_t>(id));
    rte_tel_data_add_dict_u64(d, "port_id", id);
    rte_tel_data_add_dict_string(d, "name", r.name);
    rte_tel_data_add_dict_u64(d, "rx_packets", r.s.ipackets);
    rte_tel_data_add_dict_u64(d, "tx_packets", r.s.opackets);
    rte_tel_data_add_dict_u64(d, "rx_bytes", r.s.ibytes);
    rte_tel_data_add_dict_u64(d, "tx_bytes", r.s.obytes);
    rte_tel_data_add_dict_u64(d, "rx_missed", r.s.imissed);
    rte_tel_data_add_dict_u64(d, "rx_errors", r.s.ierrors);
    rte_tel_data_add_dict_u64(d, "tx_errors", r.s.oerrors);
    return 0;
  }
  std::vector<uint64_t> cols[8];
  rte_tel_data* names = rte_tel_data_alloc();
  if (names == nullptr) return -ENOMEM;
  rte_tel_data_start_array(names, RTE_TEL_STRING_VAL);
  for (uint16_t p : ports) {
    const PortRow r = port_row(p);
    rte_tel_data_add_array_string(names, r.name);
    const uint64_t v[8] = {p,          r.s.ipackets, r.s.opackets, r.s.ibytes,
                           r.s.obytes, r.s.imissed,  r.s.ierrors,  r.s.oerrors};
    for (int i = 0; i < 8; ++i) cols[i].push_back(v[i]);
  }
  const char* kNames[8] = {"port_id",  "rx_packets", "tx_packets", "rx_bytes",
                           "tx_bytes", "rx_missed",  "rx_errors",  "tx_errors"};
  add_column(d, kNames[0], cols[0]);
  if (rte_tel_data_add_dict_container(d, "name", names, 0) != 0) rte_tel_data_free(names);
  for (int i = 1; i < 8; ++i) add_column(d, kNames[i], cols[i]);
  return 0;
}

// first_cpu is the first CPU the lcore may run on (the core planner pins
// each worker to one hardware thread).
uint64_t first_cpu(unsigned lcore) {
  const rte_cpuset_t set = rte_lcore_cpuset(lcore);
  for (unsigned c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) return c;
  }
  return UINT64_MAX;
}

int cmd_workers(const char*, const char* params, rte_tel_data* d) {
  std::lock_guard<std::mutex> lk(g_mu);
  if (g_tel == nullptr) return -ENODEV;
  const auto& workers = *g_tel->config().workers;
  const auto& lcores = g_tel->config().worker_lcores;
  uint32_t id;
  bool bad;
  const bool one = parse_id(params, workers.size(), &id, &bad);
  if (bad) return -EINVAL;
  constexpr int kFields = 10;
  const char* kNames[kFields] = {"worker", "lcore", "cpu",      "busy_cycles", "idle_cycles",
                                 "rx",     "tx",    "outbound", "inbound",     "bypass"};
  std::vector<uint64_t> cols[kFields];
  for (size_t i = one ? id : 0; i < (one ? id + 1 : workers.size()); ++i) {
    const WorkerStats& s = workers[i]->stats();
    const unsigned lcore = i < lcores.size() ? lcores[i] : RTE_MAX_LCORE;
    const uint64_t v[kFields] = {i,
                                 lcore,
                                 lcore < RTE_MAX_LCORE ? first_cpu(lcore) : UINT64_MAX,
                                 s.busy_cycles.load(std::memory_order_relaxed),
                                 s.idle_cycles.load(std::memory_order_relaxed),
                                 s.rx.load(std::memory_order_relaxed),
                                 s.tx.load(std::memory_order_relaxed),
                                 s.outbound.load(std::memory_order_relaxed),
                                 s.inbound.load(std::memory_order_relaxed),
                                 s.bypass.load(std::memory_order_relaxed)};
    for (int f = 0; f < kFields; ++f) cols[f].push_back(v[f]);
  }
  rte_tel_data_start_dict(d);
  for (int f = 0; f < kFields; ++f) {
    if (one) {
      rte_tel_data_add_dict_u64(d, kNames[f], cols[f][0]);
    } else {
      add_column(d, kNames[f], cols[f]);
    }
  }
  return 0;
}

int cmd_drops(const char*, const char* params, rte_tel_data* d) {
  std::lock_guard<std::mutex> lk(g_mu);
  if (g_tel == nullptr) return -ENODEV;
  const auto& workers = *g_tel->config().workers;
  uint32_t id;
  bool bad;
  const bool one = parse_id(params, workers.size(), &id, &bad);
  if (bad) return -EINVAL;
  // Each worker writes its own array without atomics; like stats_get, this
  // reads a recent value of each.
  uint64_t total[kDropReasonCount] = {};
  for (size_t i = one ? id : 0; i < (one ? id + 1 : workers.size()); ++i) {
    const DropCounters& dc = workers[i]->drops();
    for (size_t r = 1; r < kDropReasonCount; ++r) total[r] += dc.count[r];
  }
  rte_tel_data_start_dict(d);
  for (size_t r = 1; r < kDropReasonCount; ++r) {
    const std::string name(drop_reason_name(static_cast<DropReason>(r)));
    rte_tel_data_add_dict_u64(d, name.c_str(), total[r]);
  }
  return 0;
}

int cmd_sa(const char*, const char* params, rte_tel_data* d) {
  std::lock_guard<std::mutex> lk(g_mu);
  if (g_tel == nullptr) return -ENODEV;
  uint32_t id;
  bool bad;
  const bool one = parse_id(params, UINT32_MAX, &id, &bad);
  if (bad) return -EINVAL;
  TelemetryRequest q{one ? TelemetryRequest::Kind::kSa : TelemetryRequest::Kind::kSaCount, id};
  TelemetryResponse r;
  if (!g_tel->mailbox().call(q, &r, kAgentTimeout)) return -EBUSY;
  if (!r.ok) return -ENOENT;
  rte_tel_data_start_dict(d);
  if (!one) {
    rte_tel_data_add_dict_u64(d, "count", r.sa_count);
    return 0;
  }
  rte_tel_data_add_dict_u64(d, "sa_id", id);
  rte_tel_data_add_dict_u64(d, "packets", r.sa.packets);
  rte_tel_data_add_dict_u64(d, "bytes", r.sa.bytes);
  rte_tel_data_add_dict_u64(d, "drops", r.sa.drops);
  rte_tel_data_add_dict_u64(d, "seq", r.sa.seq);
  rte_tel_data_add_dict_u64(d, "events", r.sa.events);
  rte_tel_data_add_dict_u64(d, "last_use_ns", r.sa.last_use_ns);
  return 0;
}

int cmd_version(const char*, const char*, rte_tel_data* d) {
  std::lock_guard<std::mutex> lk(g_mu);
  if (g_tel == nullptr) return -ENODEV;
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_string(d, "portcullis", g_tel->config().version.c_str());
  rte_tel_data_add_dict_string(d, "dpdk", rte_version());
  rte_tel_data_add_dict_u64(d, "channel_protocol", ctl::api::kVersion);
  return 0;
}

void register_commands() {
  struct Cmd {
    const char* name;
    telemetry_cb fn;
    const char* help;
  };
  static const Cmd kCmds[] = {
      {"/portcullis/stats", cmd_stats,
       "Every data plane counter, as the channel's stats_get names them ('.' as '/'). No "
       "parameters"},
      {"/portcullis/ports", cmd_ports, "Port counters. Parameters: int port_id (optional)"},
      {"/portcullis/workers", cmd_workers,
       "Worker lcore, cpu, busy/idle cycles and packets. Parameters: int worker (optional)"},
      {"/portcullis/drops", cmd_drops, "Drops by reason. Parameters: int worker (optional)"},
      {"/portcullis/sa", cmd_sa,
       "Without parameters the SA count; with int sa_id that SA's counters"},
      {"/portcullis/version", cmd_version, "Portcullis, DPDK and channel protocol versions"},
  };
  for (const Cmd& c : kCmds) rte_telemetry_register_cmd(c.name, c.fn, c.help);
}

}  // namespace

Telemetry::Telemetry(TelemetryConfig cfg) : cfg_(std::move(cfg)) {
  static std::once_flag once;
  std::call_once(once, register_commands);
  std::lock_guard<std::mutex> lk(g_mu);
  g_tel = this;
}

Telemetry::~Telemetry() {
  std::lock_guard<std::mutex> lk(g_mu);
  if (g_tel == this) g_tel = nullptr;
}

}  // namespace portcullis::dp
