// synthetic_topology.h: hwloc XML for made-up machines, so that planner
// tests run the same on any host. The XML has the shape `lstopo --of xml`
// writes (hwloc 2): Machine > Package > (NUMANode, Core > PU), with PCI
// devices under a host bridge beneath the object they are local to.
#pragma once

#include <hwloc.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace portcullis::test {

struct SyntheticPackage {
  unsigned numa_node = 0;
  unsigned cores = 1;
  std::vector<std::string> pci;  // bus ids of devices local to this package
};

struct SyntheticMachine {
  std::vector<SyntheticPackage> packages;
  unsigned threads_per_core = 1;
  // Linux on Intel numbers thread t of core c as c + t * total_cores, so
  // siblings are far apart (0 and 4 on 4 cores); AMD and many VMs number
  // them adjacently (0 and 1). The planner must not care.
  bool adjacent_siblings = false;
  std::vector<std::string> machine_pci;  // devices hwloc cannot place
};

namespace detail {

// Set builds the cpuset and nodeset attributes, in hwloc's own format.
class Set {
 public:
  Set() : bitmap_(hwloc_bitmap_alloc()) {}
  ~Set() { hwloc_bitmap_free(bitmap_); }
  Set(const Set& other) : bitmap_(hwloc_bitmap_dup(other.bitmap_)) {}
  Set& operator=(const Set&) = delete;

  Set& add(unsigned bit) {
    hwloc_bitmap_set(bitmap_, bit);
    return *this;
  }
  Set& add(const Set& other) {
    hwloc_bitmap_or(bitmap_, bitmap_, other.bitmap_);
    return *this;
  }
  std::string text() const {
    char* s = nullptr;
    hwloc_bitmap_asprintf(&s, bitmap_);
    std::string result(s);
    std::free(s);
    return result;
  }

 private:
  hwloc_bitmap_t bitmap_;
};

inline std::string sets(const Set& cpus, const Set& nodes) {
  return " cpuset=\"" + cpus.text() + "\" complete_cpuset=\"" + cpus.text() + "\" nodeset=\"" +
         nodes.text() + "\" complete_nodeset=\"" + nodes.text() + "\"";
}

// host_bridge writes PCI devices behind a host bridge, as lstopo does.
inline void host_bridge(std::ostringstream& out, const std::vector<std::string>& devices,
                        const std::string& indent) {
  if (devices.empty()) return;
  out << indent << "<object type=\"Bridge\" bridge_type=\"0-1\" depth=\"0\""
      << " bridge_pci=\"0000:[00-ff]\">\n";
  for (const std::string& busid : devices) {
    // Class 0200 is an Ethernet controller; 8086:1572 an Intel X710.
    out << indent << "  <object type=\"PCIDev\" pci_busid=\"" << busid
        << "\" pci_type=\"0200 [8086:1572] [8086:0000] 01\" pci_link_speed=\"0.0\"/>\n";
  }
  out << indent << "</object>\n";
}

}  // namespace detail

// to_hwloc_xml writes `machine` as hwloc 2 XML.
inline std::string to_hwloc_xml(const SyntheticMachine& machine) {
  using detail::Set;
  unsigned total_cores = 0;
  for (const SyntheticPackage& p : machine.packages) total_cores += p.cores;
  const unsigned threads = machine.threads_per_core;
  const auto pu_of = [&](unsigned core, unsigned thread) {
    return machine.adjacent_siblings ? core * threads + thread : core + thread * total_cores;
  };

  // Sets per package, then for the whole machine.
  std::vector<Set> package_cpus(machine.packages.size()), package_nodes(machine.packages.size());
  Set all_cpus, all_nodes;
  unsigned first_core = 0;
  for (size_t i = 0; i < machine.packages.size(); ++i) {
    for (unsigned c = first_core; c < first_core + machine.packages[i].cores; ++c) {
      for (unsigned t = 0; t < threads; ++t) package_cpus[i].add(pu_of(c, t));
    }
    package_nodes[i].add(machine.packages[i].numa_node);
    all_cpus.add(package_cpus[i]);
    all_nodes.add(package_nodes[i]);
    first_core += machine.packages[i].cores;
  }

  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<!DOCTYPE topology SYSTEM \"hwloc2.dtd\">\n"
      << "<topology version=\"2.0\">\n"
      << "  <object type=\"Machine\" os_index=\"0\"" << detail::sets(all_cpus, all_nodes) << ">\n";
  first_core = 0;
  for (size_t i = 0; i < machine.packages.size(); ++i) {
    const SyntheticPackage& p = machine.packages[i];
    const Set& nodes = package_nodes[i];
    out << "    <object type=\"Package\" os_index=\"" << i << "\""
        << detail::sets(package_cpus[i], nodes) << ">\n"
        << "      <object type=\"NUMANode\" os_index=\"" << p.numa_node << "\""
        << detail::sets(package_cpus[i], nodes) << " local_memory=\"1073741824\"/>\n";
    for (unsigned c = first_core; c < first_core + p.cores; ++c) {
      Set core_cpus;
      for (unsigned t = 0; t < threads; ++t) core_cpus.add(pu_of(c, t));
      out << "      <object type=\"Core\" os_index=\"" << c - first_core << "\""
          << detail::sets(core_cpus, nodes) << ">\n";
      for (unsigned t = 0; t < threads; ++t) {
        Set pu;
        pu.add(pu_of(c, t));
        out << "        <object type=\"PU\" os_index=\"" << pu_of(c, t) << "\""
            << detail::sets(pu, nodes) << "/>\n";
      }
      out << "      </object>\n";
    }
    detail::host_bridge(out, p.pci, "      ");
    out << "    </object>\n";
    first_core += p.cores;
  }
  detail::host_bridge(out, machine.machine_pci, "    ");
  out << "  </object>\n</topology>\n";
  return out.str();
}

}  // namespace portcullis::test
