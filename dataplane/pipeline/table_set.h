// table_set.h: everything a worker looks up, as one immutable snapshot.
//
// The agent builds a new TableSet whenever the configuration changes (one
// per committed batch) and publishes it with one pointer store
// (agent/rcu.h); workers load the pointer once per burst. SA runtime
// objects are not part of the snapshot: they are owned by the agent and
// survive republishing, because their sequence numbers, replay windows and
// counters must.
#pragma once

#include <rte_ether.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "dataplane/ipsec/ip_address.h"
#include "dataplane/tables/routes.h"
#include "dataplane/tables/sad.h"
#include "dataplane/tables/spd.h"

namespace portcullis::dp {

enum class PortRole : uint8_t { kNone, kProtected, kUnprotected };

constexpr uint16_t kMaxPorts = 16;
constexpr size_t kMaxPortAddrs = 8;

// PortConf is one port's role and addresses.
struct PortConf {
  PortRole role = PortRole::kNone;
  uint16_t mtu = 1500;
  rte_ether_addr mac{};
  uint8_t n_addrs = 0;
  std::array<IpAddress, kMaxPortAddrs> addrs{};
  std::array<uint8_t, kMaxPortAddrs> prefix_len{};
};

struct TableSet {
  uint64_t generation = 0;
  std::array<PortConf, kMaxPorts> ports{};
  std::unique_ptr<Sad> sad;
  std::unique_ptr<Spd> spd;  // outbound (protected -> unprotected)
  std::unique_ptr<Routes> routes;

  // is_local says whether dst is one of the gateway's addresses.
  bool is_local(const IpAddress& dst) const {
    for (const PortConf& p : ports) {
      for (uint8_t i = 0; i < p.n_addrs; i++) {
        if (p.addrs[i] == dst) return true;
      }
    }
    return false;
  }
  // source_for picks the port's own address of dst's family, for replies
  // the gateway originates (ICMP errors, ARP).
  const IpAddress* source_for(uint16_t port, bool v6) const {
    if (port >= kMaxPorts) return nullptr;
    const PortConf& p = ports[port];
    for (uint8_t i = 0; i < p.n_addrs; i++) {
      if (p.addrs[i].v6 == v6) return &p.addrs[i];
    }
    return nullptr;
  }
};

// LocalAddrs is the gateway's own addresses packed for the per-packet "is
// this for us" test of classify: IPv4 addresses as 32-bit words, IPv6 apart,
// so a packet compares with a handful of words instead of walking every
// port's address array. A worker builds one per published TableSet
// (keyed by its generation) and owns it.
struct LocalAddrs {
  static constexpr size_t kMax = kMaxPorts * kMaxPortAddrs;
  uint64_t generation = ~0ull;
  uint32_t n4 = 0, n6 = 0;
  std::array<uint32_t, kMax> v4{};  // network byte order, as in the header
  std::array<IpAddress, kMax> v6{};

  void build(const TableSet& ts) {
    n4 = n6 = 0;
    for (const PortConf& p : ts.ports) {
      for (uint8_t i = 0; i < p.n_addrs; i++) {
        const IpAddress& a = p.addrs[i];
        if (a.v6) {
          v6[n6++] = a;
        } else {
          std::memcpy(&v4[n4++], a.bytes.data(), 4);
        }
      }
    }
    generation = ts.generation;
  }
  bool contains4(uint32_t dst_be) const {
    for (uint32_t i = 0; i < n4; i++) {
      if (v4[i] == dst_be) return true;
    }
    return false;
  }
  bool contains6(const IpAddress& dst) const {
    for (uint32_t i = 0; i < n6; i++) {
      if (v6[i] == dst) return true;
    }
    return false;
  }
};

}  // namespace portcullis::dp
