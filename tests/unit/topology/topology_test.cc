// topology_test.cc: reading synthetic hwloc XML and this machine into a
// Topology: cores and their SMT siblings, NUMA nodes, NIC locality.
#include "dataplane/topology/topology.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "synthetic_topology.h"

namespace portcullis::dp {
namespace {

using test::SyntheticMachine;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Topology load(const SyntheticMachine& machine) {
  return Topology::from_xml_string(test::to_hwloc_xml(machine));
}

TEST(Topology, FourCoresTwoThreadsLinuxNumbering) {
  const Topology t = load({.packages = {{.numa_node = 0, .cores = 4}}, .threads_per_core = 2});
  EXPECT_THAT(t.numa_nodes(), ElementsAre(0u));
  ASSERT_EQ(t.cores().size(), 4u);
  EXPECT_EQ(t.pu_count(), 8u);
  for (unsigned c = 0; c < 4; ++c) {
    EXPECT_EQ(t.cores()[c].index, c);
    EXPECT_THAT(t.cores()[c].pus, ElementsAre(c, c + 4)) << "core " << c;
  }
  ASSERT_NE(t.core_of_pu(5), nullptr);
  EXPECT_EQ(t.core_of_pu(5)->index, 1u);
  EXPECT_EQ(t.core_of_pu(8), nullptr);
}

TEST(Topology, AdjacentSiblings) {
  const Topology t = load({.packages = {{.numa_node = 0, .cores = 4}},
                           .threads_per_core = 2,
                           .adjacent_siblings = true});
  ASSERT_EQ(t.cores().size(), 4u);
  EXPECT_THAT(t.cores()[1].pus, ElementsAre(2u, 3u));
}

TEST(Topology, TwoNodesCoreIndexesAreMachineWide) {
  // The second package's cores have OS indexes 0-3 again; the planner needs
  // indexes that tell them apart.
  const Topology t = load({.packages = {{.numa_node = 0, .cores = 4},
                                        {.numa_node = 1, .cores = 4, .pci = {"0000:81:00.0"}}},
                           .threads_per_core = 2});
  EXPECT_THAT(t.numa_nodes(), ElementsAre(0u, 1u));
  ASSERT_EQ(t.cores().size(), 8u);
  for (unsigned c = 0; c < 8; ++c) {
    EXPECT_EQ(t.cores()[c].index, c);
    EXPECT_EQ(t.cores()[c].numa_node, c < 4 ? 0u : 1u);
    EXPECT_THAT(t.cores()[c].pus, ElementsAre(c, c + 8));
  }
}

TEST(Topology, PciDeviceNumaNode) {
  const Topology t =
      load({.packages = {{.numa_node = 0, .cores = 2, .pci = {"0000:3b:00.0"}},
                         {.numa_node = 1, .cores = 2, .pci = {"0000:81:00.0", "0000:81:00.1"}}},
            .machine_pci = {"0000:c1:00.0"}});
  EXPECT_EQ(t.pci_numa_nodes("0000:3b:00.0"), std::set<unsigned>{0});
  EXPECT_EQ(t.pci_numa_nodes("0000:81:00.1"), std::set<unsigned>{1});
  // DPDK's short form and upper-case hex name the same device.
  EXPECT_EQ(t.pci_numa_nodes("81:00.0"), std::set<unsigned>{1});
  EXPECT_EQ(t.pci_numa_nodes("0000:3B:00.0"), std::set<unsigned>{0});
  // Hung off the whole two-node machine, or not seen at all: unknown.
  EXPECT_TRUE(t.pci_numa_nodes("0000:c1:00.0").empty());
  EXPECT_TRUE(t.pci_numa_nodes("0000:42:00.0").empty());
}

TEST(Topology, PciDeviceOfSingleNodeVmIsOnThatNode) {
  // Like this VM: no package locality, but one node is the only answer.
  const Topology t =
      load({.packages = {{.numa_node = 0, .cores = 2}}, .machine_pci = {"0000:00:03.0"}});
  EXPECT_EQ(t.pci_numa_nodes("0000:00:03.0"), std::set<unsigned>{0});
}

TEST(PciAddress, ParsesLongAndShortForms) {
  EXPECT_EQ(PciAddress::parse("0000:03:00.1"), (PciAddress{0, 3, 0, 1}));
  EXPECT_EQ(PciAddress::parse("03:1f.7"), (PciAddress{0, 3, 0x1f, 7}));
  EXPECT_EQ(PciAddress::parse("10000:AF:00.0"), (PciAddress{0x10000, 0xaf, 0, 0}));
  EXPECT_EQ(PciAddress::parse("0000:af:01.2").to_string(), "0000:af:01.2");
}

TEST(PciAddress, RejectsMalformed) {
  for (const char* bad : {"", "net_af_packet0", "03:00", "0000:03:00.8", "0000:03:20.0",
                          "0000:100:00.0", "0000:03:00.0x", ":03:00.0", "0000:03:00."}) {
    EXPECT_THROW(PciAddress::parse(bad), std::invalid_argument) << bad;
  }
  const Topology t = load({.packages = {{.numa_node = 0, .cores = 1}}});
  try {
    t.pci_numa_nodes("eth0");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("'eth0'"));
    EXPECT_THAT(e.what(), HasSubstr("0000:03:00.0"));
  }
}

TEST(Topology, XmlFile) {
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     ("portcullis_topology_" + std::to_string(getpid()) + ".xml");
  std::ofstream(path) << test::to_hwloc_xml({.packages = {{.numa_node = 0, .cores = 3}}});
  const Topology t = Topology::from_xml_file(path.string());
  std::filesystem::remove(path);
  EXPECT_EQ(t.cores().size(), 3u);
  EXPECT_THAT(t.source(), HasSubstr(path.string()));
}

TEST(Topology, BadXmlSaysWhatFailed) {
  EXPECT_THROW(Topology::from_xml_string("<topology>not hwloc"), std::runtime_error);
  try {
    Topology::from_xml_file("/nonexistent/machine.xml");
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/machine.xml"));
  }
}

TEST(Topology, ThisMachine) {
  const Topology t = Topology::load_system();
  ASSERT_FALSE(t.cores().empty());
  ASSERT_FALSE(t.numa_nodes().empty());
  // Every PU this process may run on, and no other, is in some core.
  cpu_set_t allowed;
  ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  EXPECT_EQ(t.pu_count(), static_cast<size_t>(CPU_COUNT(&allowed)));
  std::set<unsigned> seen;
  for (const CpuCore& core : t.cores()) {
    EXPECT_FALSE(core.pus.empty());
    for (unsigned pu : core.pus) {
      EXPECT_TRUE(CPU_ISSET(pu, &allowed)) << "PU " << pu;
      EXPECT_TRUE(seen.insert(pu).second) << "PU " << pu << " in two cores";
    }
    EXPECT_THAT(t.numa_nodes(), ::testing::Contains(core.numa_node));
  }
  // Every PCI device the kernel lists has an answer within the known nodes.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/bus/pci/devices", ec)) {
    for (unsigned node : t.pci_numa_nodes(entry.path().filename().string())) {
      EXPECT_THAT(t.numa_nodes(), ::testing::Contains(node)) << entry.path();
    }
  }
}

}  // namespace
}  // namespace portcullis::dp
