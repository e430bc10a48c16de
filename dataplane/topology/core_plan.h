// core_plan.h: which hardware thread runs the agent and which run workers.
//
// The default rule (DESIGN.md, "Cores"): one hardware thread per physical
// core on the NICs' NUMA node(s), never an SMT sibling of a used core, never
// the agent's core. Busy-polling workers that share a core's execution
// units each run slower, and a worker beside the agent delays the channel,
// so the planner leaves siblings idle rather than fill them. An explicit
// worker list overrides the rule; it is checked, and its risks are noted.
//
// The plan feeds DPDK: to_dpdk_lcores() builds the EAL --lcores argument,
// lcore 0 being the agent (the main lcore) and lcore i worker i-1.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dataplane/topology/topology.h"

namespace portcullis::dp {

struct PlanOptions {
  // agent_pu is the OS index of the agent's PU. Unset: the first PU of the
  // first core. The agent's whole physical core is kept from workers.
  std::optional<unsigned> agent_pu;
  // worker_pus, when not empty, replaces the automatic plan: worker i runs
  // on worker_pus[i]. Each must exist, appear once and not be the agent's.
  std::vector<unsigned> worker_pus;
  // max_workers caps the number of workers. Unset: every eligible core.
  std::optional<unsigned> max_workers;
  // nic_numa_nodes are the NUMA nodes local to the ports, from
  // Topology::pci_numa_nodes. Empty: the ports are local to any node.
  std::set<unsigned> nic_numa_nodes;
  // allow_shared_agent_core lets a worker time-share the agent's own PU. The
  // automatic plan needs it only on a machine with a single PU; with it, an
  // explicit list may also name the agent's PU. (A single core with SMT gets
  // its worker on the agent's sibling thread without asking: that shares a
  // core's execution units, not a CPU.)
  bool allow_shared_agent_core = false;
  // max_lcores is the DPDK build's RTE_MAX_LCORE: the agent and workers
  // take lcore ids 0..workers, which must stay below it.
  unsigned max_lcores = 128;
};

// WorkerPlacement says where worker `index` runs.
struct WorkerPlacement {
  unsigned index = 0;
  unsigned pu = 0;         // OS index, as taskset and DPDK number CPUs
  unsigned core = 0;       // CpuCore::index
  unsigned numa_node = 0;  // OS index of the core's NUMA node
};

struct CorePlan {
  unsigned agent_pu = 0;
  unsigned agent_core = 0;
  unsigned agent_numa_node = 0;
  std::vector<WorkerPlacement> workers;
  // notes explain the choices and warn about risky ones, one sentence each.
  std::vector<std::string> notes;
  // error, when not empty, says why no plan exists and what to change;
  // workers is then empty.
  std::string error;

  bool ok() const { return error.empty(); }
};

// plan_cores places the agent and the workers on `topology`.
CorePlan plan_cores(const Topology& topology, const PlanOptions& options);

// format_plan renders the plan as the table printed at start-up and by
// --dry-run: one line for the agent, one per worker, then the notes.
std::string format_plan(const CorePlan& plan);

// to_dpdk_lcores returns the EAL --lcores value for the plan, such as
// "0@0,1@2,2@4": lcore 0 (DPDK's main lcore, the lowest id) on the agent's
// PU, lcore i on worker i-1's PU. Empty when the plan has an error.
std::string to_dpdk_lcores(const CorePlan& plan);

}  // namespace portcullis::dp
