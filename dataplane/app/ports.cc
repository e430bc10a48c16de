#include "dataplane/app/ports.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <cstdio>

namespace portcullis::dp {
namespace {

constexpr uint16_t kRxDesc = 1024;
constexpr uint16_t kTxDesc = 1024;

std::string rte_error(const char* what, int rc) {
  return std::string(what) + ": " + rte_strerror(-rc) + " (" + std::to_string(rc) + ")";
}

}  // namespace

std::string format_mac(const rte_ether_addr& mac) {
  char buf[RTE_ETHER_ADDR_FMT_SIZE];
  rte_ether_format_addr(buf, sizeof(buf), &mac);
  return buf;
}

std::vector<PortInfo> list_ports() {
  std::vector<PortInfo> out;
  uint16_t id;
  RTE_ETH_FOREACH_DEV(id) {
    PortInfo p;
    p.port_id = id;
    char name[RTE_ETH_NAME_MAX_LEN] = {};
    rte_eth_dev_get_name_by_port(id, name);
    p.name = name;
    rte_eth_dev_info info{};
    if (rte_eth_dev_info_get(id, &info) == 0 && info.driver_name != nullptr) {
      p.driver = info.driver_name;
    }
    p.numa_node = rte_eth_dev_socket_id(id);
    rte_eth_macaddr_get(id, &p.mac);
    out.push_back(p);
  }
  return out;
}

rte_mempool* create_pool(const std::string& name, uint32_t mbufs, int numa_node,
                         std::string* error) {
  rte_mempool* mp = rte_pktmbuf_pool_create(name.c_str(), mbufs, 256, 0,
                                            RTE_MBUF_DEFAULT_BUF_SIZE,
                                            numa_node < 0 ? SOCKET_ID_ANY : numa_node);
  if (mp == nullptr) {
    *error = "cannot create mbuf pool " + name + " (" + std::to_string(mbufs) +
             " mbufs): " + rte_strerror(rte_errno) + "; are hugepages set up (scripts/setup.sh)?";
  }
  return mp;
}

std::string start_port(PortInfo& port, uint16_t queues, rte_mempool* pool) {
  rte_eth_dev_info info{};
  int rc = rte_eth_dev_info_get(port.port_id, &info);
  if (rc != 0) return rte_error("rte_eth_dev_info_get", rc);
  if (queues > info.max_rx_queues || queues > info.max_tx_queues) {
    return "port " + port.name + " offers " + std::to_string(info.max_rx_queues) + " RX and " +
           std::to_string(info.max_tx_queues) + " TX queues; " + std::to_string(queues) +
           " are needed, one per worker (fewer workers, or a device argument such as qpairs=N)";
  }
  rte_eth_conf conf{};
  // RSS spreads flows over the workers' queues where the device can.
  const uint64_t rss = info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_TCP);
  if (queues > 1 && rss != 0) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = rss;
    port.rss = true;
  }
  rc = rte_eth_dev_configure(port.port_id, queues, queues, &conf);
  if (rc != 0) return rte_error("rte_eth_dev_configure", rc);
  uint16_t rxd = kRxDesc, txd = kTxDesc;
  rte_eth_dev_adjust_nb_rx_tx_desc(port.port_id, &rxd, &txd);
  const int socket = rte_eth_dev_socket_id(port.port_id);
  for (uint16_t q = 0; q < queues; q++) {
    rc = rte_eth_rx_queue_setup(port.port_id, q, rxd, socket, nullptr, pool);
    if (rc != 0) return rte_error("rte_eth_rx_queue_setup", rc);
    rc = rte_eth_tx_queue_setup(port.port_id, q, txd, socket, nullptr);
    if (rc != 0) return rte_error("rte_eth_tx_queue_setup", rc);
  }
  rc = rte_eth_dev_start(port.port_id);
  if (rc != 0) return rte_error("rte_eth_dev_start", rc);
  // Promiscuous mode fails on some virtual devices; the gateway's own MAC
  // is enough there.
  rte_eth_promiscuous_enable(port.port_id);
  uint16_t mtu = 0;
  if (rte_eth_dev_get_mtu(port.port_id, &mtu) == 0) port.mtu = mtu;
  port.queues = queues;
  return "";
}

void stop_port(uint16_t port_id) {
  rte_eth_dev_stop(port_id);
  rte_eth_dev_close(port_id);
}

}  // namespace portcullis::dp
