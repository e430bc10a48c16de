// ports.h: DPDK port and mempool set-up for the data plane process. Any
// port DPDK can drive works: real NICs and the virtual devices (net_tap,
// net_af_packet, net_pcap, net_memif, net_ring, net_null) alike.
#pragma once

#include <rte_ether.h>

#include <cstdint>
#include <string>
#include <vector>

struct rte_mempool;

namespace portcullis::dp {

struct PortInfo {
  uint16_t port_id = 0;
  std::string name;     // the device name given to EAL, e.g. net_tap0
  std::string driver;   // e.g. net_tap
  int numa_node = -1;   // -1: unknown (virtual devices)
  rte_ether_addr mac{};
  uint16_t queues = 0;  // RX and TX queues: one each per worker
  bool rss = false;     // flows spread over queues by the NIC
  uint16_t mtu = 1500;
};

// list_ports describes every port EAL probed.
std::vector<PortInfo> list_ports();

// create_pool makes the packet buffer pool for a NUMA node; nullptr and
// *error on failure.
rte_mempool* create_pool(const std::string& name, uint32_t mbufs, int numa_node,
                         std::string* error);

// start_port configures `queues` RX and TX queue pairs (one per worker),
// RSS when the device offers it, promiscuous mode, and starts the port.
// Returns an empty string or what went wrong.
std::string start_port(PortInfo& port, uint16_t queues, rte_mempool* pool);

// stop_port stops and closes a port.
void stop_port(uint16_t port_id);

std::string format_mac(const rte_ether_addr& mac);

}  // namespace portcullis::dp
