// ike_link.cc: portcullisd's side of IKEv2 (issue 6). IKE packets arrive
// as the data plane's punt events and leave through inject; the engine's
// Child SAs become sa_add/policy_add batches on the channel.
//
// Per IKE tunnel the store's TunnelRecord names the Child SA pair that
// carries its outbound traffic and the policies pointing at it, so that a
// restarted daemon finds them (as "stale") and removes them once a new
// IKE SA has installed their replacement: make-before-break across
// daemon restarts too. Retired pairs (after a rekey) live only in
// ike_children_ until the engine removes them.
#include <algorithm>
#include <cstring>

#include "control/daemon/daemon.h"
#include "control/daemon/log.h"

namespace portcullis::ctl::daemon {

using nlohmann::json;

namespace {

constexpr uint32_t kIkePolicyPriority = 100;
constexpr uint16_t kNatTPort = 4500;

uint16_t checksum_fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

uint32_t checksum_add(uint32_t sum, const uint8_t* p, size_t n) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t{p[i]} << 8) | p[i + 1];
  if (n & 1) sum += uint32_t{p[n - 1]} << 8;
  return sum;
}

// build_udp makes an IPv4 or IPv6 packet around an IKE message, with the
// non-ESP marker on port 4500 (RFC 3948 section 2.2).
std::vector<uint8_t> build_udp(const ike::Datagram& d) {
  std::vector<uint8_t> payload;
  if (d.local.port == kNatTPort || d.remote.port == kNatTPort) payload.assign(4, 0);
  payload.insert(payload.end(), d.data.begin(), d.data.end());
  const bool v6 = d.local.addr.family == api::Family::kIpv6;
  const size_t ip_len = v6 ? 40 : 20;
  const size_t udp_len = 8 + payload.size();
  std::vector<uint8_t> p(ip_len + udp_len, 0);
  const size_t alen = v6 ? 16 : 4;
  if (v6) {
    p[0] = 0x60;
    p[4] = static_cast<uint8_t>(udp_len >> 8);
    p[5] = static_cast<uint8_t>(udp_len);
    p[6] = 17;
    p[7] = 64;
    std::memcpy(&p[8], d.local.addr.bytes.data(), 16);
    std::memcpy(&p[24], d.remote.addr.bytes.data(), 16);
  } else {
    const size_t total = ip_len + udp_len;
    p[0] = 0x45;
    p[2] = static_cast<uint8_t>(total >> 8);
    p[3] = static_cast<uint8_t>(total);
    static uint16_t ident = 1;
    ++ident;
    p[4] = static_cast<uint8_t>(ident >> 8);
    p[5] = static_cast<uint8_t>(ident);
    p[8] = 64;
    p[9] = 17;
    std::memcpy(&p[12], d.local.addr.bytes.data(), 4);
    std::memcpy(&p[16], d.remote.addr.bytes.data(), 4);
    const uint16_t c = checksum_fold(checksum_add(0, p.data(), 20));
    p[10] = static_cast<uint8_t>(c >> 8);
    p[11] = static_cast<uint8_t>(c);
  }
  uint8_t* u = &p[ip_len];
  u[0] = static_cast<uint8_t>(d.local.port >> 8);
  u[1] = static_cast<uint8_t>(d.local.port);
  u[2] = static_cast<uint8_t>(d.remote.port >> 8);
  u[3] = static_cast<uint8_t>(d.remote.port);
  u[4] = static_cast<uint8_t>(udp_len >> 8);
  u[5] = static_cast<uint8_t>(udp_len);
  std::memcpy(u + 8, payload.data(), payload.size());
  // Pseudo-header (RFC 768, RFC 8200 section 8.1) and the UDP datagram.
  uint32_t sum = checksum_add(0, d.local.addr.bytes.data(), alen);
  sum = checksum_add(sum, d.remote.addr.bytes.data(), alen);
  sum += 17 + static_cast<uint32_t>(udp_len);
  sum = checksum_add(sum, u, udp_len);
  uint16_t c = checksum_fold(sum);
  if (c == 0) c = 0xffff;
  u[6] = static_cast<uint8_t>(c >> 8);
  u[7] = static_cast<uint8_t>(c);
  return p;
}

// parse_udp reads a punted packet: false if it is not UDP to 500 or 4500
// with a whole IKE message.
bool parse_udp(const std::vector<uint8_t>& p, ike::Datagram& d) {
  size_t ip_len;
  if (p.size() >= 20 && (p[0] >> 4) == 4) {
    ip_len = static_cast<size_t>(p[0] & 15) * 4;
    const size_t total = (size_t{p[2]} << 8) | p[3];
    if (ip_len < 20 || p[9] != 17 || total > p.size() || total < ip_len + 8) return false;
    if (((p[6] & 0x3f) | p[7]) != 0) return false;  // a fragment: IKE fragments itself (RFC 7383)
    d.remote.addr.family = d.local.addr.family = api::Family::kIpv4;
    std::memcpy(d.remote.addr.bytes.data(), &p[12], 4);
    std::memcpy(d.local.addr.bytes.data(), &p[16], 4);
  } else if (p.size() >= 48 && (p[0] >> 4) == 6) {
    ip_len = 40;
    if (p[6] != 17) return false;
    d.remote.addr.family = d.local.addr.family = api::Family::kIpv6;
    std::memcpy(d.remote.addr.bytes.data(), &p[8], 16);
    std::memcpy(d.local.addr.bytes.data(), &p[24], 16);
  } else {
    return false;
  }
  const uint8_t* u = &p[ip_len];
  const size_t udp_len = (size_t{u[4]} << 8) | u[5];
  if (udp_len < 8 || ip_len + udp_len > p.size()) return false;
  d.remote.port = static_cast<uint16_t>((u[0] << 8) | u[1]);
  d.local.port = static_cast<uint16_t>((u[2] << 8) | u[3]);
  size_t off = 8;
  if (d.local.port == kNatTPort) {
    if (udp_len < 12 || u[8] || u[9] || u[10] || u[11]) return false;  // ESP, not IKE
    off = 12;
  } else if (d.local.port != 500) {
    return false;
  }
  d.data.assign(u + off, u + udp_len);
  return true;
}

}  // namespace

void Daemon::ike_datagram(const api::Punt& p) {
  ike::Datagram d;
  if (!parse_udp(p.packet, d)) {
    std::lock_guard lock(mu_);
    ++ike_not_ike_;
    return;
  }
  ike_->on_datagram(d);
}

void Daemon::ike_pump() {
  ike_->tick();
  std::vector<IkeAction> actions = ike_host_.take();
  for (auto& a : actions) {
    switch (a.kind) {
      case IkeAction::Kind::kSend:
        ike_send(a.datagram);
        break;
      case IkeAction::Kind::kInstall:
        ike_install(a.child, a.use_outbound);
        break;
      case IkeAction::Kind::kSwitch:
        ike_switch(a.tunnel, a.child_id);
        break;
      case IkeAction::Kind::kRemove:
        ike_remove(a.tunnel, a.child_id);
        break;
      case IkeAction::Kind::kLog: {
        std::lock_guard lock(mu_);
        add_event("ike", a.severity == ike::Severity::kError  ? "error"
                         : a.severity == ike::Severity::kWarn ? "warn"
                                                              : "info",
                  a.tunnel, 0, a.message);
        break;
      }
    }
  }
}

void Daemon::ike_send(const ike::Datagram& d) {
  if (!client_) return;
  std::optional<uint16_t> port;
  {
    std::lock_guard lock(mu_);
    for (const auto& p : cfg_.ports) {
      for (const auto& a : p.addresses) {
        if (a.addr == d.local.addr) port = p.id;
      }
    }
  }
  if (!port) {
    std::lock_guard lock(mu_);
    add_event("ike", "error", "", 0, "no port has address " + d.local.addr.str() + "; cannot send IKE from it");
    return;
  }
  api::Inject inj;
  inj.port_id = *port;
  inj.packet = build_udp(d);
  // The first packet to a peer may find no neighbour entry: the data
  // plane starts resolving and says so; try again shortly.
  for (int i = 0; i < 4; i++) {
    api::Reply r = client_->call(inj);
    if (r.ok()) return;
    if (r.status != api::Status::kNotFound) {
      std::lock_guard lock(mu_);
      add_event("ike", "warn", "", 0, "the data plane refused an IKE packet to " + d.remote.str() + ": " + r.error);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20 << i));
  }
}

void Daemon::ike_install(const ike::ChildSa& c, bool use_outbound) {
  std::vector<api::Message> batch;
  IkeChildRec rec;
  {
    std::lock_guard lock(mu_);
    const config::Tunnel* t = cfg_.find_tunnel(c.tunnel);
    if (t == nullptr) return;
    rec.tunnel = c.tunnel;
    rec.spi_in = c.spi_in;
    rec.spi_out = c.spi_out;
    rec.suite = c.algs.suite;
    rec.sa_in = store_.allocate_id();
    rec.sa_out = store_.allocate_id();
    for (bool out : {false, true}) {
      api::SaAdd m;
      m.sa_id = out ? rec.sa_out : rec.sa_in;
      m.direction = out ? api::Direction::kOut : api::Direction::kIn;
      m.spi = out ? c.spi_out : c.spi_in;
      m.suite = c.algs.suite;
      m.cipher_key = api::KeyBytes((out ? c.key_out : c.key_in).span());
      if (!c.integ_out.empty()) m.auth_key = api::KeyBytes((out ? c.integ_out : c.integ_in).span());
      m.mode = c.transport ? api::Mode::kTransport : api::Mode::kTunnel;
      m.esn = c.algs.esn;
      m.tunnel_src = out ? c.local.addr : c.remote.addr;
      m.tunnel_dst = out ? c.remote.addr : c.local.addr;
      m.udp_encap = c.udp_encap;
      m.udp_src_port = out ? c.local.port : c.remote.port;
      m.udp_dst_port = out ? c.remote.port : c.local.port;
      m.replay_window = t->replay_window;
      m.anti_replay = t->anti_replay;
      m.lifetime = t->lifetime;
      if (!out) {
        for (const auto& r : c.remote_ts) {
          for (const auto& l : c.local_ts) {
            if (r.addr.family == l.addr.family) m.selectors.push_back(api::Selector{r, l, 0, {}, {}});
          }
        }
      }
      sa_index_[m.sa_id] = {c.tunnel, out};
      batch.push_back(std::move(m));
    }
    for (const auto& l : c.local_ts) {
      for (const auto& r : c.remote_ts) {
        if (l.addr.family == r.addr.family) rec.out_selectors.push_back(api::Selector{l, r, 0, {}, {}});
      }
    }
    ike_children_[c.id] = rec;
  }
  send_ike_batch(std::move(batch), c.tunnel, "install Child SA");
  if (use_outbound) ike_switch(c.tunnel, c.id);
}

void Daemon::ike_switch(const std::string& tunnel, uint64_t child) {
  std::vector<api::Message> batch;
  std::vector<api::Message> stale;
  {
    std::lock_guard lock(mu_);
    auto it = ike_children_.find(child);
    if (it == ike_children_.end()) return;
    TunnelRecord& rec = store_.tunnels[tunnel];
    for (uint32_t p : rec.policies) batch.push_back(api::PolicyDel{0, p});
    rec.policies.clear();
    for (const auto& s : it->second.out_selectors) {
      api::PolicyAdd p;
      p.policy_id = store_.allocate_id();
      p.priority = kIkePolicyPriority;
      p.direction = api::Direction::kOut;
      p.selector = s;
      p.action = api::Action::kProtect;
      p.sa_id = it->second.sa_out;
      rec.policies.push_back(p.policy_id);
      batch.push_back(std::move(p));
    }
    rec.sa_out = it->second.sa_out;
    rec.sa_in = it->second.sa_in;
    status_[tunnel].installed = true;
    // SAs a previous daemon left for this tunnel go once their
    // replacement carries the traffic.
    auto st = ike_stale_.find(tunnel);
    if (st != ike_stale_.end()) {
      for (uint32_t p : st->second.policies) stale.push_back(api::PolicyDel{0, p});
      if (st->second.sa_out) stale.push_back(api::SaDel{0, st->second.sa_out});
      if (st->second.sa_in) stale.push_back(api::SaDel{0, st->second.sa_in});
      ike_stale_.erase(st);
    }
    std::string err;
    if (!save_store(&err)) add_event("config", "error", tunnel, 0, "cannot write the state file: " + err);
  }
  // Old policies out and new ones in within one transaction: no packet
  // sees the tunnel without a policy.
  batch.insert(batch.end(), std::make_move_iterator(stale.begin()), std::make_move_iterator(stale.end()));
  send_ike_batch(std::move(batch), tunnel, "switch outbound traffic");
}

void Daemon::ike_remove(const std::string& tunnel, uint64_t child) {
  std::vector<api::Message> batch;
  {
    std::lock_guard lock(mu_);
    auto it = ike_children_.find(child);
    if (it == ike_children_.end()) return;
    auto rit = store_.tunnels.find(tunnel);
    if (rit != store_.tunnels.end() && rit->second.sa_out == it->second.sa_out) {
      // The pair that carries the tunnel: its policies go too.
      for (uint32_t p : rit->second.policies) batch.push_back(api::PolicyDel{0, p});
      rit->second.policies.clear();
      rit->second.sa_out = rit->second.sa_in = 0;
      status_[tunnel].installed = false;
      std::string err;
      if (!save_store(&err)) add_event("config", "error", tunnel, 0, "cannot write the state file: " + err);
    }
    batch.push_back(api::SaDel{0, it->second.sa_out});
    batch.push_back(api::SaDel{0, it->second.sa_in});
    sa_index_.erase(it->second.sa_out);
    sa_index_.erase(it->second.sa_in);
    ike_children_.erase(it);
  }
  send_ike_batch(std::move(batch), tunnel, "remove Child SA");
}

void Daemon::send_ike_batch(std::vector<api::Message> batch, const std::string& tunnel, const char* what) {
  if (!client_ || batch.empty()) return;
  std::vector<api::Reply> replies = send_batch(std::move(batch));
  for (const auto& r : replies) {
    if (r.ok() || r.status == api::Status::kNotFound) continue;
    std::lock_guard lock(mu_);
    add_event("ike", "error", tunnel, 0, std::string(what) + ": the data plane refused it: " + r.error);
    return;
  }
}

// ike_reconcile hands the running config to the engine and sorts out
// records that no IKE child explains (a previous daemon's, or a tunnel
// that switched from manual keys): they become stale, removed when the
// tunnel's new Child SA takes over or the tunnel goes away. mu_ held.
void Daemon::ike_reconcile() {
  std::set<uint32_t> ours;
  for (const auto& [id, c] : ike_children_) ours.insert(c.sa_out);
  for (const config::Tunnel& t : cfg_.tunnels) {
    if (t.keying != config::Keying::kIkev2) continue;
    TunnelRecord& rec = store_.tunnels[t.name];
    if (rec.sa_out != 0 && ours.count(rec.sa_out) == 0) {
      ike_stale_[t.name] = rec;
      rec.sa_out = rec.sa_in = 0;
      rec.policies.clear();
      status_[t.name].installed = false;
    }
  }
  ike_->configure(cfg_.tunnels, cfg_.crypto);
}

std::vector<api::Message> Daemon::ike_stale_removals() {
  std::vector<api::Message> dels;
  for (auto it = ike_stale_.begin(); it != ike_stale_.end();) {
    const config::Tunnel* t = cfg_.find_tunnel(it->first);
    if (t != nullptr && t->enabled && t->keying == config::Keying::kIkev2) {
      ++it;
      continue;
    }
    for (uint32_t p : it->second.policies) dels.push_back(api::PolicyDel{0, p});
    if (it->second.sa_out) dels.push_back(api::SaDel{0, it->second.sa_out});
    if (it->second.sa_in) dels.push_back(api::SaDel{0, it->second.sa_in});
    it = ike_stale_.erase(it);
  }
  return dels;
}

// cmd_ike: `portcullisctl ike list|show NAME`. mu_ held.
json Daemon::cmd_ike(const std::string& verb, const json& args) {
  json all = ike_->list();
  if (verb == "list") return all;
  if (verb == "show") {
    auto it = args.find("name");
    if (it == args.end() || !it->is_string()) throw CliError("missing argument \"name\" (a tunnel name)");
    const std::string name = it->get<std::string>();
    const config::Tunnel* t = cfg_.find_tunnel(name);
    if (t == nullptr) throw CliError("no tunnel \"" + name + "\"; `portcullisctl tunnel list` shows them");
    if (t->keying != config::Keying::kIkev2) throw CliError("tunnel \"" + name + "\" uses manual keys, not IKEv2");
    std::string error;
    json j = {{"tunnel", name}, {"state", ike_->tunnel_state(name, &error)}, {"ike_sas", json::array()}};
    if (!error.empty()) j["error"] = error;
    for (auto& sa : all) {
      if (sa["tunnel"] == name) j["ike_sas"].push_back(sa);
    }
    return j;
  }
  if (verb == "stats") return ike_counters();
  throw CliError("unknown command \"ike." + verb + "\"; try ike.list, ike.show, ike.stats");
}

}  // namespace portcullis::ctl::daemon
