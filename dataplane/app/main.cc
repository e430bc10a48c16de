// portcullis-dataplane: the DPDK primary process (DESIGN.md, "Data plane").
//
//   portcullis-dataplane [options] -- [EAL arguments]
//
// It never reads the config file and never negotiates keys: it holds what
// the daemon installs over the dataplane channel. Start-up:
//   1. plan cores with hwloc (printed; --dry-run stops here);
//   2. start DPDK's EAL with that plan as --lcores;
//   3. start every port with one RX/TX queue pair per worker, plus a TX
//      queue for the agent;
//   4. launch the workers on their lcores; run the agent on the main lcore
//      until SIGTERM or SIGINT; then stop the workers and wipe the keys.
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include <sys/prctl.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "crypto/engine.h"
#include "dataplane/agent/agent.h"
#include "dataplane/agent/rcu.h"
#include "dataplane/agent/state.h"
#include "dataplane/agent/telemetry.h"
#include "dataplane/app/ports.h"
#include "dataplane/pipeline/worker.h"
#include "dataplane/topology/core_plan.h"
#include "dataplane/topology/topology.h"

namespace {

using namespace portcullis;
using namespace portcullis::dp;

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true); }

struct Options {
  std::string socket = "/run/portcullis/dataplane.sock";
  std::vector<unsigned> workers;
  std::optional<unsigned> max_workers;
  std::optional<unsigned> agent_pu;
  bool allow_shared_agent_core = false;
  bool dry_run = false;
  uint32_t mbufs = 16383;
  unsigned idle_sleep_us = 0;
  bool core_dumps = false;
};

struct LaunchArg {
  Worker* worker;
};

int worker_main(void* arg) {
  static_cast<LaunchArg*>(arg)->worker->run();
  return 0;
}

// pci_addresses finds the PCI devices in EAL's allow list, whose NUMA
// nodes steer the core plan.
std::vector<std::string> pci_addresses(const std::vector<std::string>& eal) {
  std::vector<std::string> out;
  for (size_t i = 0; i < eal.size(); i++) {
    const std::string& a = eal[i];
    std::string v;
    if ((a == "-a" || a == "--allow" || a == "-w") && i + 1 < eal.size()) {
      v = eal[i + 1];
    } else if (a.rfind("--allow=", 0) == 0) {
      v = a.substr(8);
    } else if (a.rfind("-a", 0) == 0 && a.size() > 2) {
      v = a.substr(2);
    }
    if (!v.empty()) out.push_back(v.substr(0, v.find(',')));
  }
  return out;
}

int run(const Options& opt, std::vector<std::string> eal) {
  // 1. The core plan.
  Topology topo;
  try {
    topo = Topology::load_system();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "portcullis-dataplane: reading the CPU topology: %s\n", e.what());
    return 1;
  }
  PlanOptions po;
  po.agent_pu = opt.agent_pu;
  po.worker_pus = opt.workers;
  po.max_workers = opt.max_workers;
  po.allow_shared_agent_core = opt.allow_shared_agent_core;
  po.max_lcores = RTE_MAX_LCORE;
  for (const std::string& pci : pci_addresses(eal)) {
    try {
      for (unsigned n : topo.pci_numa_nodes(pci)) po.nic_numa_nodes.insert(n);
    } catch (const std::exception&) {
      // Not a PCI address we can place: the plan treats it as local to any node.
    }
  }
  const CorePlan plan = plan_cores(topo, po);
  std::printf("%s", format_plan(plan).c_str());
  if (!plan.ok()) {
    std::fprintf(stderr, "portcullis-dataplane: %s\n", plan.error.c_str());
    return 1;
  }
  if (opt.dry_run) return 0;

  // 2. EAL.
  std::vector<std::string> args = {"portcullis-dataplane", "--lcores", to_dpdk_lcores(plan)};
  args.insert(args.end(), eal.begin(), eal.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
    std::fprintf(stderr, "portcullis-dataplane: EAL: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  int rc = 0;
  {
    const unsigned n_workers = static_cast<unsigned>(plan.workers.size());
    std::string err;
    rte_mempool* pool = create_pool("pc_mbufs", opt.mbufs, -1, &err);
    if (pool == nullptr) {
      std::fprintf(stderr, "portcullis-dataplane: %s\n", err.c_str());
      rte_eal_cleanup();
      return 1;
    }
    // 3. Ports.
    std::vector<PortInfo> ports = list_ports();
    if (ports.empty()) {
      std::fprintf(stderr, "portcullis-dataplane: no ports: give EAL a device, e.g. -- --vdev net_tap0\n");
      rte_eal_cleanup();
      return 1;
    }
    auto engine = crypto::Engine::create(&err);
    if (!engine) {
      std::fprintf(stderr, "portcullis-dataplane: %s\n", err.c_str());
      rte_eal_cleanup();
      return 1;
    }
    RcuDomain rcu(n_workers);
    Published<TableSet> tables(rcu);
    DataplaneState state(*engine, tables);
    std::vector<uint16_t> port_ids;
    for (PortInfo& p : ports) {
      // A queue pair per worker; the agent has none (WorkerConfig::agent_tx).
      if (std::string e = start_port(p, static_cast<uint16_t>(n_workers), pool); !e.empty()) {
        std::fprintf(stderr, "portcullis-dataplane: port %u (%s): %s\n", p.port_id, p.name.c_str(),
                     e.c_str());
        rte_eal_cleanup();
        return 1;
      }
      state.set_port_mac(p.port_id, p.mac);
      port_ids.push_back(p.port_id);
      std::printf("port %u: %s (%s) %s mtu %u, %u queues%s\n", p.port_id, p.name.c_str(),
                  p.driver.c_str(), format_mac(p.mac).c_str(), p.mtu, p.queues,
                  p.rss ? ", RSS" : "");
    }
    rte_ring* punt = rte_ring_create("pc_punt", 1024, SOCKET_ID_ANY, RING_F_SC_DEQ);
    rte_ring* resolve =
        rte_ring_create_elem("pc_resolve", sizeof(NeighbourKey), 1024, SOCKET_ID_ANY, RING_F_SC_DEQ);
    rte_ring* acquire =
        rte_ring_create_elem("pc_acquire", sizeof(AcquireRequest), 256, SOCKET_ID_ANY, RING_F_SC_DEQ);
    NeighbourTable neighbours(4096, rte_get_tsc_hz());
    if (punt == nullptr || resolve == nullptr || acquire == nullptr) {
      std::fprintf(stderr, "portcullis-dataplane: cannot create rings: %s\n", rte_strerror(rte_errno));
      rte_eal_cleanup();
      return 1;
    }
    // 4. Workers, then the agent.
    std::vector<std::unique_ptr<crypto::Engine>> engines;
    std::vector<std::unique_ptr<Worker>> workers;
    std::vector<LaunchArg> launch(n_workers);
    // Frames the agent sends go through worker 0 (see WorkerConfig::agent_tx).
    rte_ring* agent_tx = rte_ring_create("pc_agent_tx", 1024, SOCKET_ID_ANY, RING_F_SC_DEQ | RING_F_SP_ENQ);
    if (agent_tx == nullptr) {
      std::fprintf(stderr, "portcullis-dataplane: cannot create rings: %s\n", rte_strerror(rte_errno));
      rte_eal_cleanup();
      return 1;
    }
    for (unsigned i = 0; i < n_workers; i++) {
      engines.push_back(crypto::Engine::create(&err));
      WorkerConfig wc;
      wc.index = i;
      wc.workers = n_workers;
      wc.queue = static_cast<uint16_t>(i);
      wc.ports = port_ids;
      wc.tables = &tables;
      wc.rcu = &rcu;
      wc.neighbours = &neighbours;
      wc.punt = punt;
      wc.resolve = resolve;
      wc.acquire = acquire;
      wc.stop = &g_stop;
      wc.idle_sleep_us = opt.idle_sleep_us;
      if (i == 0) wc.agent_tx = agent_tx;
      workers.push_back(std::make_unique<Worker>(wc, *engines.back()));
      launch[i].worker = workers.back().get();
    }
    AgentConfig ac;
    ac.socket_path = opt.socket;
    ac.tx = agent_tx;
    ac.ports = port_ids;
    ac.pool = pool;
    ac.punt = punt;
    ac.resolve = resolve;
    ac.acquire = acquire;
    ac.neighbours = &neighbours;
    ac.tables = &tables;
    ac.workers = &workers;
    try {
      Agent agent(ac, state);
      TelemetryConfig tc;
      tc.ports = port_ids;
      tc.workers = &workers;
      tc.version = PORTCULLIS_VERSION;
      unsigned lcore, i = 0;
      RTE_LCORE_FOREACH_WORKER(lcore) {
        if (i < n_workers) {
          tc.worker_lcores.push_back(lcore);
          rte_eal_remote_launch(worker_main, &launch[i++], lcore);
        }
      }
      // DPDK telemetry: /portcullis/... commands (telemetry.h).
      Telemetry telemetry(std::move(tc));
      agent.set_telemetry(&telemetry.mailbox());
      std::printf("portcullis-dataplane: %u worker(s) running; channel on %s\n", n_workers,
                  opt.socket.c_str());
      std::fflush(stdout);
      while (!g_stop.load()) agent.step(10);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "portcullis-dataplane: %s\n", e.what());
      g_stop.store(true);
      rc = 1;
    }
    rte_eal_mp_wait_lcore();
    // Tables, SAs and key schedules (wiped in their destructors) go here.
    for (uint16_t p : port_ids) stop_port(p);
  }
  rte_eal_cleanup();
  std::printf("portcullis-dataplane: stopped\n");
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  // Everything after "--" goes to DPDK's EAL untouched.
  std::vector<std::string> eal;
  int ours = argc;
  for (int i = 1; i < argc; i++) {
    if (std::strcmp(argv[i], "--") == 0) {
      ours = i;
      for (int j = i + 1; j < argc; j++) eal.emplace_back(argv[j]);
      break;
    }
  }
  Options opt;
  CLI::App app{
      "portcullis-dataplane: the Portcullis IPsec data plane (DPDK primary process).\n"
      "Usage: portcullis-dataplane [options] -- [EAL arguments, e.g. --vdev net_tap0]"};
  app.add_option("--socket", opt.socket, "dataplane channel UNIX socket")->capture_default_str();
  app.add_option("--workers", opt.workers, "worker CPUs (OS PU numbers), overriding the plan")
      ->delimiter(',');
  app.add_option("--max-workers", opt.max_workers, "at most this many workers");
  app.add_option("--agent-cpu", opt.agent_pu, "the agent's CPU (default: the first)");
  app.add_flag("--allow-shared-agent-core", opt.allow_shared_agent_core,
               "let a worker share the agent's CPU (single-CPU machines)");
  app.add_option("--mbufs", opt.mbufs, "packet buffers in the pool")->capture_default_str();
  app.add_flag("--dry-run", opt.dry_run, "print the core plan and exit");
  app.add_option("--idle-sleep-us", opt.idle_sleep_us,
                 "idle workers sleep this long (labs, shared CPUs); 0 polls without pause")
      ->capture_default_str();
  app.add_flag("--core-dumps", opt.core_dumps,
               "allow core dumps (they would hold SA keys and key schedules); off by default");
  try {
    app.parse(ours, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  // Key schedules live in this process's memory: no core dumps and no
  // ptrace by other users unless asked for (DESIGN.md, "Keys").
  if (!opt.core_dumps) {
    ::prctl(PR_SET_DUMPABLE, 0);
  } else {
    std::fprintf(stderr, "portcullis-dataplane: --core-dumps: a core dump will contain key material\n");
  }
  return run(opt, eal);
}
