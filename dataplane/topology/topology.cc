// topology.cc: reading the machine with hwloc 2 into a Topology snapshot.
#include "dataplane/topology/topology.h"

#include <hwloc.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <utility>

namespace portcullis::dp {

namespace {

// parse_hex reads all of `text` as a hex number no larger than `max`.
bool parse_hex(std::string_view text, uint32_t max, uint32_t* out) {
  if (text.empty() || text.size() > 8) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out, 16);
  return ec == std::errc() && end == text.data() + text.size() && *out <= max;
}

// HwlocHandle owns an hwloc topology for the length of one load.
class HwlocHandle {
 public:
  HwlocHandle() {
    if (hwloc_topology_init(&topology_) != 0) {
      throw std::runtime_error("hwloc: cannot initialise a topology (out of memory?)");
    }
  }
  ~HwlocHandle() { hwloc_topology_destroy(topology_); }
  HwlocHandle(const HwlocHandle&) = delete;
  HwlocHandle& operator=(const HwlocHandle&) = delete;
  hwloc_topology_t get() const { return topology_; }

 private:
  hwloc_topology_t topology_ = nullptr;
};

// Bitmap owns an hwloc bitmap.
class Bitmap {
 public:
  Bitmap() : bitmap_(hwloc_bitmap_alloc()) {
    if (bitmap_ == nullptr) throw std::runtime_error("hwloc: out of memory");
  }
  ~Bitmap() { hwloc_bitmap_free(bitmap_); }
  Bitmap(const Bitmap&) = delete;
  Bitmap& operator=(const Bitmap&) = delete;
  hwloc_bitmap_t get() const { return bitmap_; }

  // list formats the bitmap as "0-3,8".
  std::string list() const {
    char* text = nullptr;
    if (hwloc_bitmap_list_asprintf(&text, bitmap_) < 0) return "?";
    std::string result(text);
    std::free(text);  // hwloc allocates it with malloc
    return result;
  }

 private:
  hwloc_bitmap_t bitmap_;
};

std::set<unsigned> bits_of(hwloc_const_bitmap_t bitmap) {
  std::set<unsigned> bits;
  if (bitmap == nullptr) return bits;
  for (int i = hwloc_bitmap_first(bitmap); i >= 0; i = hwloc_bitmap_next(bitmap, i)) {
    bits.insert(static_cast<unsigned>(i));
  }
  return bits;
}

}  // namespace

PciAddress PciAddress::parse(std::string_view text) {
  const auto fail = [text]() -> PciAddress {
    throw std::invalid_argument("bad PCI address '" + std::string(text) +
                                "': expected domain:bus:device.function, such as 0000:03:00.0");
  };
  // Split from the right: function after '.', then device, bus and the
  // optional domain before the colons.
  const size_t dot = text.rfind('.');
  if (dot == std::string_view::npos) return fail();
  const std::string_view function = text.substr(dot + 1);
  std::string_view rest = text.substr(0, dot);
  const size_t colon2 = rest.rfind(':');
  if (colon2 == std::string_view::npos) return fail();
  const std::string_view device = rest.substr(colon2 + 1);
  rest = rest.substr(0, colon2);
  const size_t colon1 = rest.rfind(':');
  const std::string_view bus = colon1 == std::string_view::npos ? rest : rest.substr(colon1 + 1);
  const std::string_view domain = colon1 == std::string_view::npos ? "0" : rest.substr(0, colon1);

  uint32_t d = 0, b = 0, dev = 0, f = 0;
  if (!parse_hex(domain, 0xffffffff, &d) || !parse_hex(bus, 0xff, &b) ||
      !parse_hex(device, 0x1f, &dev) || !parse_hex(function, 0x7, &f)) {
    return fail();
  }
  return PciAddress{d, static_cast<uint8_t>(b), static_cast<uint8_t>(dev), static_cast<uint8_t>(f)};
}

std::string PciAddress::to_string() const {
  char text[32];
  std::snprintf(text, sizeof text, "%04x:%02x:%02x.%x", domain, bus, device, function);
  return text;
}

// TopologyLoader drives hwloc and copies its answer into a Topology.
class TopologyLoader {
 public:
  enum class From { kSystem, kXmlFile, kXmlString };

  static Topology load(From from, std::string_view argument) {
    HwlocHandle handle;
    hwloc_topology_t t = handle.get();
    // Keep PCI devices (and the bridges and OS devices around them): hwloc
    // drops all I/O objects by default, and NIC locality comes from them.
    hwloc_topology_set_io_types_filter(t, HWLOC_TYPE_FILTER_KEEP_ALL);

    // hwloc may read `arg` as late as hwloc_topology_load, so it lives here.
    const std::string arg(argument);
    std::string source = "this machine";
    if (from == From::kXmlFile) {
      source = "hwloc XML file " + arg;
      if (hwloc_topology_set_xml(t, arg.c_str()) != 0) {
        throw std::runtime_error("cannot read " + source +
                                 ": check that it exists and was written by lstopo --of xml");
      }
    } else if (from == From::kXmlString) {
      source = "hwloc XML text";
      // The length counts a terminating NUL, as hwloc's own export does.
      if (hwloc_topology_set_xmlbuffer(t, arg.c_str(), static_cast<int>(arg.size() + 1)) != 0) {
        throw std::runtime_error("cannot parse the hwloc XML text given");
      }
    }
    if (hwloc_topology_load(t) != 0) {
      throw std::runtime_error("hwloc cannot load the topology of " + source +
                               (from == From::kSystem ? "" : ": is it valid hwloc XML?"));
    }
    if (from == From::kSystem) source += restrict_to_affinity(t);
    return snapshot(t, std::move(source));
  }

 private:
  // restrict_to_affinity drops the PUs this process may not run on, so that
  // a `taskset -c 2-5 portcullis-dataplane` plans within PUs 2-5. (hwloc
  // already hides PUs outside the cgroup's cpuset.) Returns a remark for
  // the source line, or "" when nothing was dropped.
  static std::string restrict_to_affinity(hwloc_topology_t t) {
    Bitmap allowed;
    if (hwloc_get_cpubind(t, allowed.get(), HWLOC_CPUBIND_PROCESS) != 0) return "";
    if (hwloc_bitmap_iszero(allowed.get()) ||
        hwloc_bitmap_isincluded(hwloc_topology_get_topology_cpuset(t), allowed.get())) {
      return "";
    }
    if (hwloc_topology_restrict(t, allowed.get(), 0) != 0) return "";
    return ", restricted to this process's CPU affinity (PUs " + allowed.list() + ")";
  }

  static Topology snapshot(hwloc_topology_t t, std::string source) {
    Topology topo;
    topo.source_ = std::move(source);

    for (hwloc_obj_t node = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_NUMANODE, nullptr);
         node != nullptr; node = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_NUMANODE, node)) {
      topo.numa_nodes_.push_back(node->os_index);
    }
    std::sort(topo.numa_nodes_.begin(), topo.numa_nodes_.end());

    // Walk the PUs in topology order and group them by core. Some VMs and
    // architectures report PUs without a Core object: each such PU is then
    // a core of its own, which is what the scheduler sees too.
    std::map<hwloc_obj_t, size_t> core_slot;
    for (hwloc_obj_t pu = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_PU, nullptr); pu != nullptr;
         pu = hwloc_get_next_obj_by_type(t, HWLOC_OBJ_PU, pu)) {
      hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_CORE, pu);
      if (core == nullptr) core = pu;
      auto [it, added] = core_slot.emplace(core, topo.cores_.size());
      if (added) {
        const int node = hwloc_bitmap_first(core->nodeset);
        topo.cores_.push_back(CpuCore{
            static_cast<unsigned>(it->second), node < 0 ? 0u : static_cast<unsigned>(node), {}});
      }
      topo.cores_[it->second].pus.push_back(pu->os_index);
    }
    for (CpuCore& core : topo.cores_) std::sort(core.pus.begin(), core.pus.end());

    // A PCI device's locality is the nodeset of its nearest CPU-side
    // ancestor. Linux attaches devices whose firmware gives no NUMA node to
    // the whole machine; on a multi-node machine that means "unknown".
    const std::set<unsigned> all_nodes = bits_of(hwloc_topology_get_topology_nodeset(t));
    for (hwloc_obj_t dev = hwloc_get_next_pcidev(t, nullptr); dev != nullptr;
         dev = hwloc_get_next_pcidev(t, dev)) {
      hwloc_obj_t parent = hwloc_get_non_io_ancestor_obj(t, dev);
      std::set<unsigned> nodes = bits_of(parent == nullptr ? nullptr : parent->nodeset);
      if (all_nodes.size() > 1 && nodes == all_nodes) nodes.clear();
      const auto& pci = dev->attr->pcidev;
      topo.pci_devices_.push_back(Topology::PciDevice{
          PciAddress{pci.domain, pci.bus, pci.dev, pci.func}, std::move(nodes)});
    }
    return topo;
  }
};

Topology Topology::load_system() { return TopologyLoader::load(TopologyLoader::From::kSystem, ""); }

Topology Topology::from_xml_file(const std::string& path) {
  return TopologyLoader::load(TopologyLoader::From::kXmlFile, path);
}

Topology Topology::from_xml_string(std::string_view xml) {
  return TopologyLoader::load(TopologyLoader::From::kXmlString, xml);
}

const CpuCore* Topology::core_of_pu(unsigned pu) const {
  for (const CpuCore& core : cores_) {
    if (std::find(core.pus.begin(), core.pus.end(), pu) != core.pus.end()) return &core;
  }
  return nullptr;
}

size_t Topology::pu_count() const {
  size_t count = 0;
  for (const CpuCore& core : cores_) count += core.pus.size();
  return count;
}

std::set<unsigned> Topology::pci_numa_nodes(std::string_view pci_address) const {
  const PciAddress address = PciAddress::parse(pci_address);
  for (const PciDevice& dev : pci_devices_) {
    if (dev.address == address) return dev.numa_nodes;
  }
  return {};
}

}  // namespace portcullis::dp
