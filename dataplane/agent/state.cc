#include "dataplane/agent/state.h"

#include <time.h>

#include <cstring>
#include <iterator>
#include <tuple>

#include "crypto/engine.h"

namespace portcullis::dp {
namespace {

api::Reply ok() { return api::Reply{}; }

api::Reply fail(api::Status s, std::string msg) {
  api::Reply r;
  r.status = s;
  r.error = std::move(msg);
  return r;
}

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// locate returns where key goes in m and whether it is there already. The
// daemon numbers SAs, SPIs and policies upwards, so a key above every key
// in the map is the common case and costs no tree walk: a batch of 100,000
// would otherwise walk the trees 300,000 times.
template <typename Map>
std::pair<typename Map::iterator, bool> locate(Map& m, uint32_t key) {
  if (m.empty() || std::prev(m.end())->first < key) return {m.end(), false};
  auto it = m.lower_bound(key);
  return {it, it != m.end() && it->first == key};
}

std::optional<Prefix> to_prefix(const api::Prefix& p) {
  return Prefix::make(to_ip(p.addr), p.len);
}

// sa_config turns the channel's SaAdd into the engine's SaConfig. The key
// bytes are moved, so the message no longer holds them.
std::optional<SaConfig> sa_config(api::SaAdd& m, std::string* error) {
  SaConfig c;
  c.spi = m.spi;
  auto suite = crypto::parse_suite(m.suite);
  if (!suite) {
    *error = "unknown suite '" + m.suite +
             "': use aes128gcm16, aes256gcm16, chacha20poly1305 or aes{128,256}cbc-sha{256,384,512}";
    return std::nullopt;
  }
  c.suite = *suite;
  c.cipher_key = std::move(m.cipher_key.bytes);
  c.auth_key = std::move(m.auth_key.bytes);
  c.mode = m.mode == api::Mode::kTunnel ? Mode::kTunnel : Mode::kTransport;
  c.esn = m.esn;
  c.tunnel_src = to_ip(m.tunnel_src);
  c.tunnel_dst = to_ip(m.tunnel_dst);
  c.udp_encap = m.udp_encap;
  c.udp_src_port = m.udp_src_port;
  c.udp_dst_port = m.udp_dst_port;
  c.replay_window = m.replay_window;
  c.anti_replay = m.anti_replay;
  c.ttl = m.ttl;
  c.dscp = m.dscp;
  c.df = static_cast<DfMode>(m.df);
  c.lifetime = {m.lifetime.soft_bytes,   m.lifetime.hard_bytes,   m.lifetime.soft_packets,
                m.lifetime.hard_packets, m.lifetime.soft_seconds, m.lifetime.hard_seconds};
  c.first_seq = m.first_seq;
  c.soft_seq_remaining = m.soft_seq_remaining;
  c.seq_lease = m.seq_lease;
  return c;
}

}  // namespace

IpAddress to_ip(const api::IpAddr& a) {
  IpAddress ip;
  ip.v6 = a.family == api::Family::kIpv6;
  ip.bytes = a.bytes;
  return ip;
}

std::optional<Selector> to_selector(const api::Selector& s, std::string* error) {
  Selector sel;
  auto src = to_prefix(s.src), dst = to_prefix(s.dst);
  if (!src || !dst) {
    *error = "selector prefix is invalid: " + s.src.str() + " -> " + s.dst.str();
    return std::nullopt;
  }
  sel.src = *src;
  sel.dst = *dst;
  sel.proto = s.proto == 0 ? kAnyProtocol : s.proto;
  sel.sport = {s.src_ports.lo, s.src_ports.hi};
  sel.dport = {s.dst_ports.lo, s.dst_ports.hi};
  if (std::string e = sel.validate(); !e.empty()) {
    *error = e;
    return std::nullopt;
  }
  return sel;
}

DataplaneState::DataplaneState(crypto::Engine& engine, Published<TableSet>& tables)
    : engine_(engine), tables_(tables) {}

void DataplaneState::set_port_mac(uint16_t port, const rte_ether_addr& mac) {
  if (port < kMaxPorts) maps_.ports[port].mac = mac;
}

api::Reply DataplaneState::handle(api::Message& request) {
  return std::visit(
      [this](auto& m) -> api::Reply {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, api::Begin>) {
          if (snapshot_) return fail(api::Status::kBadState, "begin inside a transaction");
          snapshot_ = std::make_unique<Maps>(maps_);
          return ok();
        } else if constexpr (std::is_same_v<T, api::Commit>) {
          if (!snapshot_) return fail(api::Status::kBadState, "commit without begin");
          if (std::string e = publish(); !e.empty()) {
            maps_ = std::move(*snapshot_);
            snapshot_.reset();
            return fail(api::Status::kInvalid, "transaction rolled back: " + e);
          }
          snapshot_.reset();  // frees SAs deleted in it, after the grace period
          return ok();
        } else if constexpr (std::is_same_v<T, api::Abort>) {
          if (!snapshot_) return fail(api::Status::kBadState, "abort without begin");
          maps_ = std::move(*snapshot_);
          snapshot_.reset();
          return ok();
        } else if constexpr (std::is_same_v<T, api::Flush>) {
          maps_.sas.clear();
          maps_.inbound_spis.clear();
          maps_.policies.clear();
          maps_.routes.clear();
          return changed();
        } else if constexpr (std::is_same_v<T, api::SaAdd>) {
          return sa_add(m);
        } else if constexpr (std::is_same_v<T, api::SaUpdate>) {
          return sa_update(m);
        } else if constexpr (std::is_same_v<T, api::SaDel>) {
          return sa_del(m);
        } else if constexpr (std::is_same_v<T, api::SaQuery>) {
          return sa_query(m);
        } else if constexpr (std::is_same_v<T, api::PolicyAdd>) {
          return policy_add(m);
        } else if constexpr (std::is_same_v<T, api::PolicyDel>) {
          if (maps_.policies.erase(m.policy_id) == 0) {
            return fail(api::Status::kNotFound, "no policy " + std::to_string(m.policy_id));
          }
          return changed();
        } else if constexpr (std::is_same_v<T, api::RouteAdd>) {
          if (!to_prefix(m.prefix)) return fail(api::Status::kInvalid, "bad prefix " + m.prefix.str());
          if (m.port_id >= kMaxPorts) return fail(api::Status::kInvalid, "no port " + std::to_string(m.port_id));
          maps_.routes[m.prefix.str()] = m;
          return changed();
        } else if constexpr (std::is_same_v<T, api::RouteDel>) {
          if (maps_.routes.erase(m.prefix.str()) == 0) {
            return fail(api::Status::kNotFound, "no route " + m.prefix.str());
          }
          return changed();
        } else if constexpr (std::is_same_v<T, api::PortConfig>) {
          return port_config(m);
        } else {
          return fail(api::Status::kUnknownType, "not handled by the state");
        }
      },
      request);
}

api::Reply DataplaneState::sa_add(api::SaAdd& m) {
  const auto [sa_at, sa_exists] = locate(maps_.sas, m.sa_id);
  if (sa_exists) {
    return fail(api::Status::kExists, "sa " + std::to_string(m.sa_id) + " exists");
  }
  std::string err;
  auto cfg = sa_config(m, &err);
  if (!cfg) return fail(api::Status::kInvalid, err);
  auto sa = std::make_shared<InstalledSa>();
  sa->sa_id = m.sa_id;
  sa->inbound = m.direction == api::Direction::kIn;
  sa->spi = m.spi;
  sa->lifetime = cfg->lifetime;
  sa->installed_ns = now_ns();
  auto spi_at = maps_.inbound_spis.end();
  if (sa->inbound) {
    bool spi_exists;
    std::tie(spi_at, spi_exists) = locate(maps_.inbound_spis, m.spi);
    if (spi_exists) {
      return fail(api::Status::kExists, "inbound SPI " + std::to_string(m.spi) +
                                             " is already used by sa " + std::to_string(spi_at->second));
    }
    sa->in = build_inbound(*cfg, engine_, &err);
    if (!sa->in) return fail(api::Status::kInvalid, err);
    if (!m.selectors.empty()) {
      std::vector<Selector> sels;
      for (const auto& s : m.selectors) {
        auto sel = to_selector(s, &err);
        if (!sel) return fail(api::Status::kInvalid, err);
        sels.push_back(*sel);
      }
      auto list = SelectorList::build(sels, &err);
      if (!list) return fail(api::Status::kInvalid, err);
      sa->selectors = std::make_unique<SelectorList>(std::move(*list));
      sa->in->selectors = sa->selectors.get();
    }
  } else {
    sa->out = build_outbound(*cfg, engine_, &err);
    if (!sa->out) return fail(api::Status::kInvalid, err);
  }
  if (sa->inbound) maps_.inbound_spis.emplace_hint(spi_at, m.spi, m.sa_id);
  maps_.sas.emplace_hint(sa_at, m.sa_id, std::move(sa));
  return changed();
}

api::Reply DataplaneState::sa_update(const api::SaUpdate& m) {
  // Endpoint changes rebuild the outer header template, which workers read
  // without locks: not supported in place yet; the daemon replaces the SA.
  if (m.tunnel_src || m.tunnel_dst || m.udp_src_port || m.udp_dst_port) {
    return fail(api::Status::kInvalid,
                "sa_update of endpoints is not supported yet: add a new SA with the new endpoints "
                "and delete the old one");
  }
  auto it = maps_.sas.find(m.sa_id);
  if (it == maps_.sas.end()) return fail(api::Status::kNotFound, "no sa " + std::to_string(m.sa_id));
  SaOutbound* out = it->second->out.get();
  if (out == nullptr) {
    return fail(api::Status::kInvalid, "sa " + std::to_string(m.sa_id) + " is inbound; only outbound SAs have a sequence lease");
  }
  // One relaxed store: workers read the lease once per run. It applies at
  // once, also inside a transaction (a lease only ever grants numbers the
  // daemon has already persisted).
  out->seq_lease.store(*m.seq_lease == 0 ? UINT64_MAX : *m.seq_lease, std::memory_order_relaxed);
  return ok();
}

api::Reply DataplaneState::sa_del(const api::SaDel& m) {
  auto it = maps_.sas.find(m.sa_id);
  if (it == maps_.sas.end()) return fail(api::Status::kNotFound, "no sa " + std::to_string(m.sa_id));
  if (it->second->inbound) maps_.inbound_spis.erase(it->second->spi);
  maps_.sas.erase(it);
  return changed();
}

api::Reply DataplaneState::sa_query(const api::SaQuery& m) {
  auto it = maps_.sas.find(m.sa_id);
  if (it == maps_.sas.end()) return fail(api::Status::kNotFound, "no sa " + std::to_string(m.sa_id));
  const InstalledSa& sa = *it->second;
  const SaCounters& c = sa.inbound ? sa.in->counters : sa.out->counters;
  const SaTotals t = sa.inbound ? sa.in->totals() : sa.out->totals();
  api::SaInfo info;
  info.packets = t.packets;
  info.bytes = t.bytes;
  info.events = c.events.load(std::memory_order_relaxed);
  // The replay window belongs to a worker; its top is read only for display.
  info.seq = sa.inbound ? 0 : sa.out->next_seq.load(std::memory_order_relaxed);
  return api::Reply{0, api::Status::kOk, {}, api::ReplyPayload(std::in_place_type<api::SaInfo>, info)};
}

api::Reply DataplaneState::policy_add(const api::PolicyAdd& m) {
  const auto [at, exists] = locate(maps_.policies, m.policy_id);
  if (exists) {
    return fail(api::Status::kExists, "policy " + std::to_string(m.policy_id) + " exists");
  }
  std::string err;
  auto sel = to_selector(m.selector, &err);
  if (!sel) return fail(api::Status::kInvalid, err);
  if (m.action == api::Action::kProtect && m.direction == api::Direction::kOut) {
    auto it = maps_.sas.find(m.sa_id);
    if (it != maps_.sas.end() && it->second->inbound) {
      return fail(api::Status::kInvalid, "sa " + std::to_string(m.sa_id) + " is inbound");
    }
  }
  Maps::Policy& p = maps_.policies.emplace_hint(at, m.policy_id, Maps::Policy{})->second;
  p.direction = m.direction;
  p.sa_id = m.sa_id;
  p.rule.sel = *sel;
  p.rule.priority = m.priority;
  p.rule.id = m.policy_id;
  p.rule.action = m.action == api::Action::kProtect  ? SpdAction::kProtect
                  : m.action == api::Action::kBypass ? SpdAction::kBypass
                                                     : SpdAction::kDiscard;
  return changed();
}

api::Reply DataplaneState::port_config(const api::PortConfig& m) {
  if (m.port_id >= kMaxPorts) return fail(api::Status::kInvalid, "no port " + std::to_string(m.port_id));
  if (m.addresses.size() > kMaxPortAddrs) {
    return fail(api::Status::kInvalid, "at most " + std::to_string(kMaxPortAddrs) + " addresses a port");
  }
  PortConf& p = maps_.ports[m.port_id];
  p.role = m.role == api::PortRole::kProtected ? PortRole::kProtected : PortRole::kUnprotected;
  p.mtu = m.mtu;
  p.n_addrs = static_cast<uint8_t>(m.addresses.size());
  for (size_t i = 0; i < m.addresses.size(); i++) {
    p.addrs[i] = to_ip(m.addresses[i].addr);
    p.prefix_len[i] = m.addresses[i].len;
  }
  return changed();
}

api::Reply DataplaneState::changed() {
  if (snapshot_) return ok();
  if (std::string e = publish(); !e.empty()) return fail(api::Status::kInvalid, e);
  return ok();
}

std::string DataplaneState::publish() {
  auto ts = std::make_unique<TableSet>();
  ts->generation = ++generation_;
  ts->ports = maps_.ports;
  std::string err;

  std::vector<SadEntry> sad;
  sad.reserve(maps_.inbound_spis.size());
  for (const auto& [id, sa] : maps_.sas) {
    if (sa->inbound) sad.push_back({sa->spi, std::nullopt, sa->in.get()});
  }
  ts->sad = Sad::build(sad, &err);
  if (!ts->sad) return "SAD: " + err;

  std::vector<SpdRule> rules;
  rules.reserve(maps_.policies.size());
  for (const auto& [id, p] : maps_.policies) {
    if (p.direction != api::Direction::kOut) continue;
    SpdRule r = p.rule;
    if (r.action == SpdAction::kProtect) {
      auto it = maps_.sas.find(p.sa_id);
      r.sa = it != maps_.sas.end() && !it->second->inbound ? it->second->out.get() : nullptr;
      r.ks = r.sa != nullptr ? r.sa->ks : nullptr;
      r.ks_lines = r.ks != nullptr ? r.ks->hot_lines(false) : 0;
    }
    rules.push_back(r);
  }
  ts->spd = Spd::build(rules, &err);
  if (!ts->spd) return "SPD: " + err;

  std::vector<Route> routes;
  // Each port address's prefix is on-link.
  for (uint16_t port = 0; port < kMaxPorts; port++) {
    const PortConf& pc = maps_.ports[port];
    for (uint8_t i = 0; i < pc.n_addrs; i++) {
      auto pfx = Prefix::make(pc.addrs[i], pc.prefix_len[i]);
      if (!pfx) return "port " + std::to_string(port) + ": bad address " + pc.addrs[i].str();
      Route r;
      r.prefix = *pfx;
      r.next_hop = {port, true, {}};
      routes.push_back(r);
    }
  }
  for (const auto& [key, ra] : maps_.routes) {
    Route r;
    r.prefix = *to_prefix(ra.prefix);
    r.next_hop.port_id = ra.port_id;
    r.next_hop.connected = !ra.next_hop.has_value();
    if (ra.next_hop) r.next_hop.gateway = to_ip(*ra.next_hop);
    routes.push_back(r);
  }
  // Most batches (SAs, policies) leave the routes as they were: share the
  // published tries instead of building new ones, which would cost a few
  // tens of milliseconds and, until the old ones are freed, 64 MiB of EAL
  // memory per family.
  const TableSet* cur = tables_.get();
  if (cur != nullptr && cur->routes != nullptr && routes == published_routes_) {
    ts->routes = cur->routes->share();
  } else {
    ts->routes = Routes::build(routes, &err);
    if (!ts->routes) return "routes: " + err;
  }

  tables_.publish(std::move(ts));
  published_routes_ = std::move(routes);
  return "";
}

}  // namespace portcullis::dp
