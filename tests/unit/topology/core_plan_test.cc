// core_plan_test.cc: the core planner on synthetic machines (one socket with
// SMT, two NUMA nodes with the NIC on one, a 2-core VM, a single core), the
// checks on explicit worker lists, the renderings, and this machine.
#include "dataplane/topology/core_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <iostream>
#include <string>
#include <vector>

#include "synthetic_topology.h"

namespace portcullis::dp {
namespace {

using test::SyntheticMachine;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

Topology load(const SyntheticMachine& machine) {
  return Topology::from_xml_string(test::to_hwloc_xml(machine));
}

std::vector<unsigned> worker_pus(const CorePlan& plan) {
  std::vector<unsigned> pus;
  for (const WorkerPlacement& w : plan.workers) pus.push_back(w.pu);
  return pus;
}

auto NoteWith(const std::string& text) { return Contains(HasSubstr(text)); }

const SyntheticMachine kOneSocket4x2 = {.packages = {{.numa_node = 0, .cores = 4}},
                                        .threads_per_core = 2};
const SyntheticMachine kTwoNodes = {
    .packages = {{.numa_node = 0, .cores = 4},
                 {.numa_node = 1, .cores = 4, .pci = {"0000:81:00.0", "0000:81:00.1"}}},
    .threads_per_core = 2};
const SyntheticMachine kVm2Cores = {.packages = {{.numa_node = 0, .cores = 2}},
                                    .machine_pci = {"0000:00:03.0"}};
const SyntheticMachine kOneCore = {.packages = {{.numa_node = 0, .cores = 1}}};

// ---------------------------------------------------------------------------
// The automatic plan.

TEST(CorePlan, OneSocketFourCoresTwoThreads) {
  const CorePlan plan = plan_cores(load(kOneSocket4x2), {});
  ASSERT_TRUE(plan.ok()) << plan.error;
  EXPECT_EQ(plan.agent_pu, 0u);
  EXPECT_EQ(plan.agent_core, 0u);
  // One thread on each core but the agent's; siblings 4-7 stay idle.
  EXPECT_THAT(worker_pus(plan), ElementsAre(1u, 2u, 3u));
  for (unsigned i = 0; i < 3; ++i) {
    EXPECT_EQ(plan.workers[i].index, i);
    EXPECT_EQ(plan.workers[i].core, i + 1);
    EXPECT_EQ(plan.workers[i].numa_node, 0u);
  }
  EXPECT_THAT(plan.notes, NoteWith("SMT siblings left idle"));
  EXPECT_THAT(plan.notes, NoteWith("PU(s) 4-7"));
  EXPECT_EQ(to_dpdk_lcores(plan), "0@0,1@1,2@2,3@3");
}

TEST(CorePlan, AdjacentSiblingNumbering) {
  SyntheticMachine m = kOneSocket4x2;
  m.adjacent_siblings = true;
  const CorePlan plan = plan_cores(load(m), {});
  ASSERT_TRUE(plan.ok()) << plan.error;
  EXPECT_THAT(worker_pus(plan), ElementsAre(2u, 4u, 6u));
  EXPECT_THAT(plan.notes, NoteWith("PU(s) 1, 3, 5, 7"));
  EXPECT_THAT(format_plan(plan), HasSubstr("agent:    PU 0 (core 0, node 0)\n"
                                           "worker 0: PU 2 (core 1, node 0)\n"
                                           "worker 1: PU 4 (core 2, node 0)\n"));
}

TEST(CorePlan, AgentElsewhereKeepsItsWholeCore) {
  PlanOptions options;
  options.agent_pu = 6;  // core 2's second thread
  const CorePlan plan = plan_cores(load(kOneSocket4x2), options);
  ASSERT_TRUE(plan.ok()) << plan.error;
  EXPECT_EQ(plan.agent_core, 2u);
  EXPECT_THAT(worker_pus(plan), ElementsAre(0u, 1u, 3u));
  EXPECT_EQ(to_dpdk_lcores(plan), "0@6,1@0,2@1,3@3");
}

TEST(CorePlan, MaxWorkers) {
  PlanOptions options;
  options.max_workers = 2;
  const CorePlan plan = plan_cores(load(kOneSocket4x2), options);
  ASSERT_TRUE(plan.ok()) << plan.error;
  EXPECT_THAT(worker_pus(plan), ElementsAre(1u, 2u));
  EXPECT_THAT(plan.notes, NoteWith("1 eligible core(s) left idle by the limit of 2 workers"));
}

TEST(CorePlan, DpdkLcoreLimit) {
  PlanOptions options;
  options.max_lcores = 3;  // the agent and two workers
  const CorePlan plan = plan_cores(load(kOneSocket4x2), options);
  ASSERT_TRUE(plan.ok()) << plan.error;
  EXPECT_EQ(plan.workers.size(), 2u);
  EXPECT_THAT(plan.notes, NoteWith("RTE_MAX_LCORE (3)"));
}

TEST(CorePlan, TwoNodesWorkersFollowTheNic) {
  const Topology t = load(kTwoNodes);
  PlanOptions options;
  for (const char* nic : {"0000:81:00.0", "0000:81:00.1"}) {
    for (unsigned node : t.pci_numa_nodes(nic)) options.nic_numa_nodes.insert(node);
  }
  ASSERT_EQ(options.nic_numa_nodes, std::set<unsigned>{1});
  const CorePlan plan = plan_cores(t, options);
  ASSERT_TRUE(plan.ok()) << plan.error;
  EXPECT_EQ(plan.agent_pu, 0u);
  EXPECT_EQ(plan.agent_numa_node, 0u);
  EXPECT_THAT(worker_pus(plan), ElementsAre(4u, 5u, 6u, 7u));
  for (const WorkerPlacement& w : plan.workers) EXPECT_EQ(w.numa_node, 1u);
  EXPECT_THAT(plan.notes, NoteWith("3 core(s) on NUMA node 0 left idle"));

  // The agent on the NIC's node costs that node one core.
  options.agent_pu = 4;
  const CorePlan near = plan_cores(t, options);
  ASSERT_TRUE(near.ok()) << near.error;
  EXPECT_THAT(worker_pus(near), ElementsAre(5u, 6u, 7u));
}

TEST(CorePlan, TwoNodesWithoutNicLocalityUseEveryCore) {
  const CorePlan plan = plan_cores(load(kTwoNodes), {});
  ASSERT_TRUE(plan.ok()) << plan.error;
  EXPECT_THAT(worker_pus(plan), ElementsAre(1u, 2u, 3u, 4u, 5u, 6u, 7u));
}

TEST(CorePlan, NicNodeWithoutFreeCoreFallsBackToRemoteCores) {
  const Topology t = load({.packages = {{.numa_node = 0, .cores = 2},
                                        {.numa_node = 1, .cores = 1, .pci = {"0000:81:00.0"}}}});
  PlanOptions options;
  options.agent_pu = 2;  // node 1's only core
  options.nic_numa_nodes = {1};
  const CorePlan plan = plan_cores(t, options);
  ASSERT_TRUE(plan.ok()) << plan.error;
  EXPECT_THAT(worker_pus(plan), ElementsAre(0u, 1u));
  EXPECT_THAT(plan.notes, NoteWith("no free core on the NICs' NUMA node 1"));
}

TEST(CorePlan, TwoCoreVm) {
  const Topology t = load(kVm2Cores);
  PlanOptions options;
  options.nic_numa_nodes = t.pci_numa_nodes("0000:00:03.0");
  const CorePlan plan = plan_cores(t, options);
  ASSERT_TRUE(plan.ok()) << plan.error;
  EXPECT_THAT(plan.notes, IsEmpty());
  EXPECT_EQ(format_plan(plan),
            "agent:    PU 0 (core 0, node 0)\n"
            "worker 0: PU 1 (core 1, node 0)\n");
  EXPECT_EQ(to_dpdk_lcores(plan), "0@0,1@1");
}

TEST(CorePlan, OneCoreWithSmtUsesTheAgentsSibling) {
  SyntheticMachine m = kOneCore;
  m.threads_per_core = 2;
  const CorePlan plan = plan_cores(load(m), {});
  ASSERT_TRUE(plan.ok()) << plan.error;
  EXPECT_THAT(worker_pus(plan), ElementsAre(1u));
  EXPECT_THAT(plan.notes, NoteWith("the agent's SMT sibling"));
}

TEST(CorePlan, OnePuIsAnErrorUnlessSharingIsAllowed) {
  const Topology t = load(kOneCore);
  const CorePlan refused = plan_cores(t, {});
  EXPECT_FALSE(refused.ok());
  EXPECT_THAT(refused.error, HasSubstr("only one PU (0) is available"));
  EXPECT_THAT(refused.error, HasSubstr("allow_shared_agent_core"));
  EXPECT_THAT(refused.workers, IsEmpty());
  EXPECT_EQ(to_dpdk_lcores(refused), "");
  EXPECT_THAT(format_plan(refused), HasSubstr("core plan: error: only one PU (0)"));

  PlanOptions options;
  options.allow_shared_agent_core = true;
  const CorePlan shared = plan_cores(t, options);
  ASSERT_TRUE(shared.ok()) << shared.error;
  EXPECT_THAT(worker_pus(shared), ElementsAre(0u));
  EXPECT_THAT(shared.notes, NoteWith("time-share"));
  EXPECT_EQ(to_dpdk_lcores(shared), "0@0,1@0");
}

// ---------------------------------------------------------------------------
// Explicit worker lists.

TEST(CorePlan, ExplicitListOverridesTheRule) {
  PlanOptions options;
  options.worker_pus = {3, 1};
  options.max_workers = 2;
  const CorePlan plan = plan_cores(load(kOneSocket4x2), options);
  ASSERT_TRUE(plan.ok()) << plan.error;
  EXPECT_THAT(worker_pus(plan), ElementsAre(3u, 1u));
  EXPECT_EQ(plan.workers[0].core, 3u);
  EXPECT_THAT(plan.notes, IsEmpty());
  EXPECT_EQ(to_dpdk_lcores(plan), "0@0,1@3,2@1");
}

TEST(CorePlan, ExplicitSiblingsAreAllowedWithAWarning) {
  PlanOptions options;
  options.worker_pus = {1, 2, 5};  // 1 and 5 are core 1's two threads
  const CorePlan plan = plan_cores(load(kOneSocket4x2), options);
  ASSERT_TRUE(plan.ok()) << plan.error;
  EXPECT_THAT(worker_pus(plan), ElementsAre(1u, 2u, 5u));
  EXPECT_THAT(plan.notes,
              NoteWith("warning: workers 0 and 2 (PUs 1 and 5) are SMT siblings on core 1"));
  EXPECT_THAT(format_plan(plan), HasSubstr("note: warning: workers 0 and 2"));
}

TEST(CorePlan, ExplicitNotesAgentSiblingAndRemoteNode) {
  PlanOptions options;
  options.worker_pus = {8, 1};  // 8 shares core 0 with the agent; 1 is on node 0
  options.nic_numa_nodes = {0};
  const CorePlan plan = plan_cores(load(kTwoNodes), options);
  ASSERT_TRUE(plan.ok()) << plan.error;
  EXPECT_THAT(plan.notes, NoteWith("worker 0 on PU 8 is an SMT sibling of the agent's PU 0"));

  options.nic_numa_nodes = {1};
  const CorePlan remote = plan_cores(load(kTwoNodes), options);
  EXPECT_THAT(remote.notes, NoteWith("worker 1 on PU 1 is on NUMA node 0, remote from the NICs"));
}

TEST(CorePlan, ExplicitAgentPuIsAnError) {
  PlanOptions options;
  options.worker_pus = {1, 0};
  const CorePlan plan = plan_cores(load(kOneSocket4x2), options);
  EXPECT_FALSE(plan.ok());
  EXPECT_THAT(plan.error, HasSubstr("worker PU 0 is the agent's PU"));
  EXPECT_THAT(plan.workers, IsEmpty());

  options.allow_shared_agent_core = true;
  const CorePlan shared = plan_cores(load(kOneSocket4x2), options);
  ASSERT_TRUE(shared.ok()) << shared.error;
  EXPECT_THAT(shared.notes, NoteWith("worker 1 time-shares PU 0 with the agent"));
}

TEST(CorePlan, ExplicitMissingPuIsAnError) {
  PlanOptions options;
  options.worker_pus = {1, 42};
  const CorePlan plan = plan_cores(load(kOneSocket4x2), options);
  EXPECT_FALSE(plan.ok());
  EXPECT_EQ(plan.error, "worker PU 42 is not available on this machine (PUs: 0-7)");
}

TEST(CorePlan, ExplicitDuplicateIsAnError) {
  PlanOptions options;
  options.worker_pus = {2, 3, 2};
  const CorePlan plan = plan_cores(load(kOneSocket4x2), options);
  EXPECT_THAT(plan.error, HasSubstr("worker PU 2 is listed twice"));
}

TEST(CorePlan, ExplicitListLongerThanMaxWorkersIsAnError) {
  PlanOptions options;
  options.worker_pus = {1, 2, 3};
  options.max_workers = 2;
  const CorePlan plan = plan_cores(load(kOneSocket4x2), options);
  EXPECT_THAT(plan.error, HasSubstr("names 3 PUs but max workers is 2"));
}

// ---------------------------------------------------------------------------
// Bad options.

TEST(CorePlan, BadOptionsSayWhatToFix) {
  const Topology t = load(kTwoNodes);
  PlanOptions missing_agent;
  missing_agent.agent_pu = 99;
  EXPECT_EQ(plan_cores(t, missing_agent).error,
            "agent PU 99 is not available on this machine (PUs: 0-15)");

  PlanOptions zero;
  zero.max_workers = 0;
  EXPECT_THAT(plan_cores(t, zero).error, HasSubstr("max workers is 0"));

  PlanOptions no_room;
  no_room.max_lcores = 1;
  EXPECT_THAT(plan_cores(t, no_room).error, HasSubstr("max lcores is 1"));

  PlanOptions bad_node;
  bad_node.nic_numa_nodes = {0, 3};
  EXPECT_EQ(plan_cores(t, bad_node).error, "NIC NUMA node 3 does not exist (nodes: 0-1)");
}

// ---------------------------------------------------------------------------
// This machine.

TEST(CorePlan, ThisMachine) {
  const Topology t = Topology::load_system();
  const CorePlan plan = plan_cores(t, {});
  std::cout << "topology: " << t.source() << "\n"
            << format_plan(plan) << "--lcores " << to_dpdk_lcores(plan) << "\n";
  if (t.pu_count() == 1) {
    // Run under `taskset -c N`, say: the refusal, then the shared plan.
    EXPECT_THAT(plan.error, HasSubstr("only one PU"));
    PlanOptions options;
    options.allow_shared_agent_core = true;
    EXPECT_TRUE(plan_cores(t, options).ok());
    return;
  }
  ASSERT_TRUE(plan.ok()) << plan.error;
  ASSERT_FALSE(plan.workers.empty());
  EXPECT_EQ(plan.agent_pu, t.cores().front().pus.front());
  for (const WorkerPlacement& w : plan.workers) {
    EXPECT_NE(w.pu, plan.agent_pu);
    if (t.cores().size() > 1) {
      EXPECT_NE(w.core, plan.agent_core) << "PU " << w.pu;
    }
  }
}

}  // namespace
}  // namespace portcullis::dp
