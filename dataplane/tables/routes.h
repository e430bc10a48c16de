// routes.h: static routes, longest-prefix match to a next hop, for IPv4
// (rte_lpm) and IPv6 (rte_lpm6).
//
// Immutable once built: the agent builds a new Routes when routes change
// and publishes it with the other tables; lookups allocate nothing, take no
// locks and never throw. rte_lpm and rte_lpm6 each hold a 2^24-entry first
// level (64 MiB) on the EAL heap, so a family without routes gets no table,
// and the agent should carry an unchanged Routes over to the next table set
// rather than rebuild it. EAL must be initialised before build.
//
// rte_lpm takes prefix lengths 1 to 32 (rte_lpm6 1 to 128); a default route
// (/0) is therefore kept beside the trie and answers its misses.
//
// A lookup gives an index into the next-hop table: the port to send on and
// either a gateway to resolve or, for a directly connected prefix, the
// packet's own destination. Routes sharing a next hop share its index.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dataplane/ipsec/ip_address.h"
#include "dataplane/tables/selector.h"

struct rte_lpm;
struct rte_lpm6;

namespace portcullis::dp {

struct NextHop {
  uint16_t port_id = 0;
  bool connected = false;  // on-link: the packet's destination is the neighbour
  IpAddress gateway;       // !connected: the neighbour to send to
  bool operator==(const NextHop&) const = default;
};

struct Route {
  Prefix prefix;
  NextHop next_hop;
  bool operator==(const Route&) const = default;
};

// Ipv6Bytes is one IPv6 address in network byte order, as lookup6_burst
// takes them (the layout rte_lpm6 wants).
using Ipv6Bytes = std::array<uint8_t, 16>;

class Routes {
 public:
  // kNoRoute is the next-hop index of a destination no route covers.
  static constexpr uint32_t kNoRoute = UINT32_MAX;
  struct Options {
    int socket_id = -1;  // NUMA node for the tries; -1: any
  };

  // build returns the table, or nullptr and *error naming the bad route:
  // a duplicate prefix, or a gatewayed route without a gateway.
  static std::unique_ptr<Routes> build(std::span<const Route> routes, std::string* error);
  static std::unique_ptr<Routes> build(std::span<const Route> routes, const Options& opts,
                                       std::string* error);
  ~Routes();
  Routes(const Routes&) = delete;
  Routes& operator=(const Routes&) = delete;

  // lookup4 takes an address in network byte order, as in the header.
  uint32_t lookup4(uint32_t dst_be) const;
  uint32_t lookup6(const Ipv6Bytes& dst) const;
  uint32_t lookup(const IpAddress& dst) const;

  // lookup*_burst set nh[i] to the next-hop index for dsts[i] (kNoRoute
  // for none) and return how many had a route. nh must be at least as
  // long as dsts.
  uint32_t lookup4_burst(std::span<const uint32_t> dsts_be, std::span<uint32_t> nh) const;
  uint32_t lookup6_burst(std::span<const Ipv6Bytes> dsts, std::span<uint32_t> nh) const;
  // lookup_burst takes both families mixed and sorts them out itself.
  uint32_t lookup_burst(std::span<const IpAddress> dsts, std::span<uint32_t> nh) const;

  // share returns another Routes over the same tries, without building
  // anything: the agent publishes it in a new TableSet when a batch did
  // not touch routes or port addresses. The tries are freed with the last
  // Routes that uses them, so each TableSet's grace period still covers it.
  std::unique_ptr<Routes> share() const;

  const NextHop& next_hop(uint32_t index) const { return next_hops_[index]; }
  size_t next_hop_count() const { return next_hops_.size(); }
  size_t size() const { return size_; }

 private:
  Routes() = default;

  // Tries owns the rte_lpm tables, which share() hands to more than one
  // Routes; lpm4_ and lpm6_ below are its pointers, kept here so that a
  // lookup does not go through one more pointer.
  struct Tries {
    rte_lpm* lpm4 = nullptr;
    rte_lpm6* lpm6 = nullptr;
    ~Tries();
  };
  std::shared_ptr<const Tries> tries_;
  rte_lpm* lpm4_ = nullptr;   // null: no IPv4 route longer than /0
  rte_lpm6* lpm6_ = nullptr;  // null: no IPv6 route longer than /0
  uint32_t default4_ = kNoRoute;
  uint32_t default6_ = kNoRoute;
  std::vector<NextHop> next_hops_;
  size_t size_ = 0;
};

}  // namespace portcullis::dp
