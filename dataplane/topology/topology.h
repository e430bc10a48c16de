// topology.h: the machine's CPUs and NUMA nodes as the core planner needs
// them, read once with hwloc at start-up.
//
// Topology is a plain snapshot: loading copies what the planner uses out of
// hwloc and destroys the hwloc handle, so a Topology can be copied, built
// from XML in tests and passed around without any hwloc lifetime to manage.
// Nothing here runs on the hot path; errors are exceptions that say what to
// fix.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::dp {

// CpuCore is one physical core. Its index is hwloc's logical index (lstopo's
// "Core L#n"), unique across the machine, unlike the OS core id, which
// restarts at 0 in every package.
struct CpuCore {
  unsigned index = 0;
  unsigned numa_node = 0;     // OS index of the node whose memory is local
  std::vector<unsigned> pus;  // OS indexes of its hardware threads, ascending
};

// PciAddress is a PCI function: domain:bus:device.function.
struct PciAddress {
  uint32_t domain = 0;
  uint8_t bus = 0, device = 0, function = 0;

  // parse accepts "0000:03:00.0" and DPDK's short "03:00.0" (domain 0), hex
  // in either case. Throws std::invalid_argument naming the bad address.
  static PciAddress parse(std::string_view text);
  std::string to_string() const;  // "0000:03:00.0"
  friend bool operator==(const PciAddress&, const PciAddress&) = default;
};

class Topology {
 public:
  // load_system reads this machine, restricted to the PUs this process may
  // run on (cgroup cpuset and taskset/sched_setaffinity), because DPDK
  // would honour that affinity if it picked the cores itself.
  static Topology load_system();
  // from_xml_file and from_xml_string read a topology exported by
  // `lstopo --of xml` or written by hand; tests use them.
  static Topology from_xml_file(const std::string& path);
  static Topology from_xml_string(std::string_view xml);

  // numa_nodes lists the OS indexes of the NUMA nodes, ascending. hwloc
  // reports one node on machines without NUMA.
  const std::vector<unsigned>& numa_nodes() const { return numa_nodes_; }
  // cores lists the physical cores by index.
  const std::vector<CpuCore>& cores() const { return cores_; }
  // core_of_pu returns the core holding PU `pu` (an OS index), or nullptr
  // when the machine has no such PU.
  const CpuCore* core_of_pu(unsigned pu) const;
  // pu_count counts hardware threads over all cores.
  size_t pu_count() const;

  // pci_numa_nodes returns the NUMA nodes local to a PCI device. It is empty
  // when the locality is unknown: hwloc does not see the device, or only
  // knows it hangs off the whole machine on a multi-node system. The planner
  // then treats the device as local to any node. Throws
  // std::invalid_argument on a malformed address.
  std::set<unsigned> pci_numa_nodes(std::string_view pci_address) const;

  // source says where the snapshot came from, for the start-up banner.
  const std::string& source() const { return source_; }

 private:
  struct PciDevice {
    PciAddress address;
    std::set<unsigned> numa_nodes;
  };
  friend class TopologyLoader;

  std::string source_;
  std::vector<unsigned> numa_nodes_;
  std::vector<CpuCore> cores_;
  std::vector<PciDevice> pci_devices_;
};

}  // namespace portcullis::dp
