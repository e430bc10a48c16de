// core_plan.cc: the automatic core plan, the checks on an explicit one, and
// the two renderings (the start-up table and DPDK's --lcores).
#include "dataplane/topology/core_plan.h"

#include <algorithm>
#include <limits>
#include <sstream>
#include <utility>

namespace portcullis::dp {

namespace {

// ranges writes ascending numbers as "0-3, 8": a 128-thread machine's idle
// siblings must still fit in one readable note.
std::string ranges(std::vector<unsigned> values) {
  std::sort(values.begin(), values.end());
  std::ostringstream out;
  for (size_t i = 0; i < values.size();) {
    size_t j = i;
    while (j + 1 < values.size() && values[j + 1] == values[j] + 1) ++j;
    if (i > 0) out << ", ";
    out << values[i];
    if (j > i) out << "-" << values[j];
    i = j + 1;
  }
  return out.str();
}

std::string ranges(const std::set<unsigned>& values) {
  return ranges(std::vector<unsigned>(values.begin(), values.end()));
}

std::string all_pus(const Topology& topology) {
  std::vector<unsigned> pus;
  for (const CpuCore& core : topology.cores()) {
    pus.insert(pus.end(), core.pus.begin(), core.pus.end());
  }
  return ranges(std::move(pus));
}

std::string node_word(size_t count) { return count == 1 ? "node" : "nodes"; }

// Planner builds one plan. A step that finds the plan impossible sets
// plan_.error (through fail()) and the steps after it do not run.
class Planner {
 public:
  Planner(const Topology& topology, const PlanOptions& options)
      : topology_(topology), options_(options) {}

  CorePlan run() && {
    if (check_options() && place_agent()) {
      if (options_.worker_pus.empty()) {
        plan_automatic();
      } else {
        plan_explicit();
      }
    }
    if (!plan_.ok()) plan_.workers.clear();
    return std::move(plan_);
  }

 private:
  bool fail(std::string message) {
    plan_.error = std::move(message);
    return false;
  }

  bool near_nics(const CpuCore& core) const {
    return options_.nic_numa_nodes.empty() || options_.nic_numa_nodes.count(core.numa_node) > 0;
  }

  void add_worker(const CpuCore& core, unsigned pu) {
    plan_.workers.push_back(WorkerPlacement{static_cast<unsigned>(plan_.workers.size()), pu,
                                            core.index, core.numa_node});
  }

  bool check_options() {
    if (topology_.cores().empty()) {
      return fail("the topology has no CPUs (is the hwloc XML complete?)");
    }
    if (options_.max_lcores < 2) {
      return fail("max lcores is " + std::to_string(options_.max_lcores) +
                  ": DPDK needs room for the agent and at least one worker");
    }
    if (options_.max_workers && *options_.max_workers == 0) {
      return fail(
          "max workers is 0: a data plane needs at least one worker (omit the limit to use "
          "every eligible core)");
    }
    const std::vector<unsigned>& nodes = topology_.numa_nodes();
    for (unsigned node : options_.nic_numa_nodes) {
      if (std::find(nodes.begin(), nodes.end(), node) == nodes.end()) {
        return fail("NIC NUMA node " + std::to_string(node) +
                    " does not exist (nodes: " + ranges(nodes) + ")");
      }
    }
    return true;
  }

  bool place_agent() {
    const unsigned pu = options_.agent_pu.value_or(topology_.cores().front().pus.front());
    agent_core_ = topology_.core_of_pu(pu);
    if (agent_core_ == nullptr) {
      return fail("agent PU " + std::to_string(pu) +
                  " is not available on this machine (PUs: " + all_pus(topology_) + ")");
    }
    plan_.agent_pu = pu;
    plan_.agent_core = agent_core_->index;
    plan_.agent_numa_node = agent_core_->numa_node;
    return true;
  }

  // worker_limit is how many workers the options and DPDK allow.
  size_t worker_limit() const {
    const size_t by_dpdk = options_.max_lcores - 1;  // lcore 0 is the agent's
    return std::min<size_t>(options_.max_workers.value_or(std::numeric_limits<unsigned>::max()),
                            by_dpdk);
  }

  void plan_automatic() {
    // Every core but the agent's is a candidate, split by NIC locality.
    std::vector<const CpuCore*> near, far;
    for (const CpuCore& core : topology_.cores()) {
      if (&core == agent_core_) continue;
      (near_nics(core) ? near : far).push_back(&core);
    }
    std::set<unsigned> far_nodes;
    for (const CpuCore* core : far) far_nodes.insert(core->numa_node);
    const std::string nic_nodes = ranges(options_.nic_numa_nodes);
    const size_t nic_count = options_.nic_numa_nodes.size();

    std::vector<const CpuCore*> chosen = near;
    if (near.empty() && !far.empty()) {
      // Remote workers are slower, but a gateway that refuses to start is
      // worse: use them and say so.
      plan_.notes.push_back("no free core on the NICs' NUMA " + node_word(nic_count) + " " +
                            nic_nodes + ": workers run on " + node_word(far_nodes.size()) + " " +
                            ranges(far_nodes) + ", and every packet crosses the NUMA interconnect");
      chosen = far;
    } else if (!far.empty()) {
      plan_.notes.push_back(std::to_string(far.size()) + " core(s) on NUMA " +
                            node_word(far_nodes.size()) + " " + ranges(far_nodes) +
                            " left idle: they are remote from the NICs (" + node_word(nic_count) +
                            " " + nic_nodes + ")");
    }

    if (chosen.empty()) {
      plan_single_core();
      return;
    }

    const size_t limit = worker_limit();
    if (chosen.size() > limit) {
      const bool by_option = options_.max_workers && *options_.max_workers <= limit;
      plan_.notes.push_back(
          std::to_string(chosen.size() - limit) + " eligible core(s) left idle by " +
          (by_option ? "the limit of " + std::to_string(limit) + " workers"
                     : "DPDK's RTE_MAX_LCORE (" + std::to_string(options_.max_lcores) + ")"));
      chosen.resize(limit);
    }
    // One thread per core: the lowest-numbered, which is also the one the
    // kernel lists first. The rest of each used core stays idle.
    std::vector<unsigned> idle_siblings(agent_core_->pus.begin(), agent_core_->pus.end());
    idle_siblings.erase(std::remove(idle_siblings.begin(), idle_siblings.end(), plan_.agent_pu),
                        idle_siblings.end());
    for (const CpuCore* core : chosen) {
      add_worker(*core, core->pus.front());
      idle_siblings.insert(idle_siblings.end(), core->pus.begin() + 1, core->pus.end());
    }
    if (!idle_siblings.empty()) {
      plan_.notes.push_back(
          "SMT siblings left idle so that no two busy threads share a core: PU(s) " +
          ranges(idle_siblings));
    }
  }

  // plan_single_core handles a machine whose only physical core is the
  // agent's: its SMT sibling if it has one, else the agent's PU if allowed.
  void plan_single_core() {
    for (unsigned pu : agent_core_->pus) {
      if (pu == plan_.agent_pu) continue;
      add_worker(*agent_core_, pu);
      plan_.notes.push_back("only one physical core: worker 0 runs on PU " + std::to_string(pu) +
                            ", the agent's SMT sibling, and shares the core's execution units "
                            "with it");
      return;
    }
    if (!options_.allow_shared_agent_core) {
      fail("only one PU (" + std::to_string(plan_.agent_pu) +
           ") is available and the agent uses it, so no worker can have a CPU of its own: run "
           "on two or more CPUs, or allow the worker to share the agent's core "
           "(allow_shared_agent_core)");
      return;
    }
    add_worker(*agent_core_, plan_.agent_pu);
    plan_.notes.push_back("only one PU: worker 0 shares PU " + std::to_string(plan_.agent_pu) +
                          " with the agent (allow_shared_agent_core); they time-share it, so "
                          "expect less throughput and slower channel replies");
  }

  void plan_explicit() {
    const std::vector<unsigned>& pus = options_.worker_pus;
    if (options_.max_workers && pus.size() > *options_.max_workers) {
      fail("the worker list names " + std::to_string(pus.size()) + " PUs but max workers is " +
           std::to_string(*options_.max_workers) + ": shorten the list or raise the limit");
      return;
    }
    if (pus.size() + 1 > options_.max_lcores) {
      fail("the worker list names " + std::to_string(pus.size()) + " PUs but DPDK has room for " +
           std::to_string(options_.max_lcores - 1) +
           " workers beside the agent (RTE_MAX_LCORE): shorten the list");
      return;
    }
    std::set<unsigned> seen;
    for (unsigned pu : pus) {
      const CpuCore* core = topology_.core_of_pu(pu);
      const std::string name = "worker PU " + std::to_string(pu);
      if (core == nullptr) {
        fail(name + " is not available on this machine (PUs: " + all_pus(topology_) + ")");
        return;
      }
      if (!seen.insert(pu).second) {
        fail(name + " is listed twice: give each worker its own PU");
        return;
      }
      if (pu == plan_.agent_pu && !options_.allow_shared_agent_core) {
        fail(name +
             " is the agent's PU: remove it from the worker list or move the agent "
             "(or allow_shared_agent_core to let them time-share it)");
        return;
      }
      const std::string who = "worker " + std::to_string(plan_.workers.size());
      if (pu == plan_.agent_pu) {
        plan_.notes.push_back(who + " time-shares PU " + std::to_string(pu) + " with the agent");
      } else if (core == agent_core_) {
        plan_.notes.push_back(who + " on PU " + std::to_string(pu) + " is an SMT sibling of " +
                              "the agent's PU " + std::to_string(plan_.agent_pu) + " on core " +
                              std::to_string(core->index));
      }
      if (!near_nics(*core)) {
        plan_.notes.push_back(who + " on PU " + std::to_string(pu) + " is on NUMA node " +
                              std::to_string(core->numa_node) + ", remote from the NICs (" +
                              node_word(options_.nic_numa_nodes.size()) + " " +
                              ranges(options_.nic_numa_nodes) + ")");
      }
      add_worker(*core, pu);
    }
    // Siblings among the workers: legal, but each runs slower than alone.
    for (size_t i = 0; i < plan_.workers.size(); ++i) {
      for (size_t j = i + 1; j < plan_.workers.size(); ++j) {
        const WorkerPlacement& a = plan_.workers[i];
        const WorkerPlacement& b = plan_.workers[j];
        if (a.core != b.core) continue;
        plan_.notes.push_back("warning: workers " + std::to_string(a.index) + " and " +
                              std::to_string(b.index) + " (PUs " + std::to_string(a.pu) + " and " +
                              std::to_string(b.pu) + ") are SMT siblings on core " +
                              std::to_string(a.core) +
                              ": they share its execution units and each runs slower");
      }
    }
  }

  const Topology& topology_;
  const PlanOptions& options_;
  const CpuCore* agent_core_ = nullptr;
  CorePlan plan_;
};

}  // namespace

CorePlan plan_cores(const Topology& topology, const PlanOptions& options) {
  return Planner(topology, options).run();
}

std::string format_plan(const CorePlan& plan) {
  std::ostringstream out;
  if (!plan.ok()) {
    out << "core plan: error: " << plan.error << "\n";
    return out.str();
  }
  // Pad the labels to one width so the PU column lines up.
  const std::string last =
      "worker " + std::to_string(plan.workers.empty() ? 0 : plan.workers.size() - 1) + ":";
  const size_t width = std::max<size_t>(last.size(), 6) + 1;
  const auto line = [&](const std::string& label, unsigned pu, unsigned core, unsigned node) {
    out << label << std::string(width - label.size(), ' ') << "PU " << pu << " (core " << core
        << ", node " << node << ")\n";
  };
  line("agent:", plan.agent_pu, plan.agent_core, plan.agent_numa_node);
  for (const WorkerPlacement& w : plan.workers) {
    line("worker " + std::to_string(w.index) + ":", w.pu, w.core, w.numa_node);
  }
  for (const std::string& note : plan.notes) out << "note: " << note << "\n";
  return out.str();
}

std::string to_dpdk_lcores(const CorePlan& plan) {
  if (!plan.ok()) return "";
  std::ostringstream lcores;
  lcores << "0@" << plan.agent_pu;
  for (const WorkerPlacement& w : plan.workers) lcores << "," << w.index + 1 << "@" << w.pu;
  return lcores.str();
}

}  // namespace portcullis::dp
