// state.h: what the daemon has installed, held by the agent, and the
// tables built from it.
//
// Requests change the state; each change outside a transaction, or each
// Commit, builds a new TableSet and publishes it. A transaction is all or
// nothing: Begin takes a snapshot of the maps (SA runtime objects are
// shared, not copied), Abort or a failed Commit returns to it. SA runtime
// objects removed from the state live on until the table that referred to
// them has been replaced and its grace period has passed.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "control/api/message.h"
#include "dataplane/agent/rcu.h"
#include "dataplane/ipsec/sa.h"
#include "dataplane/pipeline/table_set.h"
#include "dataplane/tables/selector.h"

namespace portcullis::crypto {
class Engine;
}

namespace portcullis::dp {

namespace api = ctl::api;

// InstalledSa is one SA direction as the agent keeps it.
struct InstalledSa {
  uint32_t sa_id = 0;
  bool inbound = false;
  uint32_t spi = 0;
  std::unique_ptr<SaOutbound> out;
  std::unique_ptr<SaInbound> in;
  std::unique_ptr<SelectorList> selectors;
  SaLifetime lifetime;
  uint64_t installed_ns = 0;    // CLOCK_MONOTONIC
  uint32_t reported_events = 0;  // SaEvent bits already sent to the daemon
  bool soft_time_reported = false;
  bool hard_time_reported = false;
};

class DataplaneState {
 public:
  DataplaneState(crypto::Engine& engine, Published<TableSet>& tables);

  // set_port_mac records a port's MAC (from DPDK) for Ethernet headers.
  void set_port_mac(uint16_t port, const rte_ether_addr& mac);

  // handle applies one request and answers it.
  api::Reply handle(api::Message& request);

  // The installed SAs, for the lifetime scan and queries.
  std::map<uint32_t, std::shared_ptr<InstalledSa>>& sas() { return maps_.sas; }
  bool in_transaction() const { return snapshot_ != nullptr; }
  uint64_t publishes() const { return tables_.publishes(); }

 private:
  api::Reply sa_add(api::SaAdd& m);
  api::Reply sa_update(const api::SaUpdate& m);
  api::Reply sa_del(const api::SaDel& m);
  api::Reply sa_query(const api::SaQuery& m);
  api::Reply policy_add(const api::PolicyAdd& m);
  api::Reply port_config(const api::PortConfig& m);
  // changed publishes now, or at Commit inside a transaction.
  api::Reply changed();
  // publish builds a TableSet from the state; an error leaves the old one.
  std::string publish();

  crypto::Engine& engine_;
  Published<TableSet>& tables_;
  uint64_t generation_ = 0;

  struct Maps {
    std::map<uint32_t, std::shared_ptr<InstalledSa>> sas;
    // Policies as the SPD takes them: the selector converted and checked
    // once, at policy_add, not at every publish. rule.sa is set at publish.
    struct Policy {
      api::Direction direction = api::Direction::kOut;
      uint32_t sa_id = 0;
      SpdRule rule;
    };
    std::map<uint32_t, Policy> policies;
    std::map<std::string, api::RouteAdd> routes;  // keyed by prefix text
    std::array<PortConf, kMaxPorts> ports{};
    std::map<uint32_t, uint32_t> inbound_spis;  // SPI -> sa_id, for uniqueness
  };
  Maps maps_;
  std::unique_ptr<Maps> snapshot_;  // set inside a transaction
  // The routes the published TableSet's Routes was built from.
  std::vector<Route> published_routes_;
};

// Conversions from the channel's types.
IpAddress to_ip(const api::IpAddr& a);
std::optional<Selector> to_selector(const api::Selector& s, std::string* error);

}  // namespace portcullis::dp
