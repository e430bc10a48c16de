#include "control/daemon/daemon.h"

#include <sodium.h>

#include <algorithm>

#include "config/writer.h"
#include "control/daemon/log.h"
#include "crypto/suite.h"

namespace portcullis::ctl::daemon {

using nlohmann::json;

namespace {

constexpr uint64_t kSeqMax32 = 0xffffffffull;
constexpr uint64_t kSeqMaxEsn = ~0ull - (1ull << 32);  // the data plane stops here too
constexpr size_t kMaxEvents = 1000;
constexpr uint32_t kTunnelPriority = 100;

const char* expire_by(api::ExpireBy b) {
  switch (b) {
    case api::ExpireBy::kTime:
      return "time";
    case api::ExpireBy::kBytes:
      return "bytes";
    case api::ExpireBy::kPackets:
      return "packets";
    case api::ExpireBy::kSeq:
      return "sequence numbers";
  }
  return "?";
}

uint64_t lease_chunk(const config::Tunnel& t) { return t.esn ? kLeaseEsn : kLease32; }
uint64_t seq_max(const config::Tunnel& t) { return t.esn ? kSeqMaxEsn : kSeqMax32; }

// The keys of one tunnel, read from their files for one reconcile.
struct TunnelKeys {
  std::unique_ptr<GuardedKey> out, in, auth_out, auth_in;
};

std::optional<TunnelKeys> load_keys(const config::Tunnel& t, std::string* error) {
  auto suite = crypto::parse_suite(t.esp);
  if (!suite) {
    *error = "unknown ESP suite " + t.esp;
    return std::nullopt;
  }
  const size_t klen = suite->cipher_key_len() + suite->salt_len();
  TunnelKeys k;
  k.out = GuardedKey::load(t.manual.key_out, klen, error);
  if (!k.out) return std::nullopt;
  k.in = GuardedKey::load(t.manual.key_in, klen, error);
  if (!k.in) return std::nullopt;
  if (!suite->is_aead()) {
    k.auth_out = GuardedKey::load(t.manual.auth_key_out, suite->auth_key_len(), error);
    if (!k.auth_out) return std::nullopt;
    k.auth_in = GuardedKey::load(t.manual.auth_key_in, suite->auth_key_len(), error);
    if (!k.auth_in) return std::nullopt;
  }
  return k;
}

api::SaAdd sa_message(const config::Tunnel& t, bool out, const TunnelKeys& k) {
  api::SaAdd m;
  m.direction = out ? api::Direction::kOut : api::Direction::kIn;
  m.spi = out ? t.manual.spi_out : t.manual.spi_in;
  m.suite = t.esp;
  m.cipher_key = (out ? k.out : k.in)->copy();
  if (k.auth_out) m.auth_key = (out ? k.auth_out : k.auth_in)->copy();
  m.mode = t.mode;
  m.esn = t.esn;
  m.tunnel_src = out ? t.local : t.remote;
  m.tunnel_dst = out ? t.remote : t.local;
  m.udp_encap = t.udp_encap;
  m.udp_src_port = m.udp_dst_port = t.udp_port;
  m.replay_window = t.replay_window;
  m.anti_replay = t.anti_replay;
  m.lifetime = t.lifetime;
  if (!out) {
    for (const auto& r : t.remote_ts) {
      for (const auto& l : t.local_ts) {
        if (r.addr.family == l.addr.family) m.selectors.push_back(api::Selector{r, l, 0, {}, {}});
      }
    }
  }
  return m;
}

}  // namespace

std::string check_tunnel_keys(const config::Tunnel& t) {
  if (t.keying == config::Keying::kIkev2) return ike::check_credentials(t);
  std::string err;
  if (!load_keys(t, &err)) return err;
  return {};
}

std::vector<config::ConfigError> check_key_files(const config::Config& c) {
  std::vector<config::ConfigError> errors;
  for (const auto& t : c.tunnels) {
    std::string msg = check_tunnel_keys(t);
    if (msg.empty()) continue;
    config::ConfigError e;
    e.file = t.origin.file.empty() ? c.path : t.origin.file;
    e.line = t.origin.line;
    e.field = "tunnel \"";
    e.field += t.name;
    e.field += '"';
    // The messages start with the failing file's name, or with the
    // identity's key: point at that key's line.
    const std::string local_id = "ike.local_id", remote_id = "ike.remote_id";
    const std::pair<const char*, const std::string*> starts[] = {
        {"manual.key_out", &t.manual.key_out},
        {"manual.key_in", &t.manual.key_in},
        {"manual.auth_key_out", &t.manual.auth_key_out},
        {"manual.auth_key_in", &t.manual.auth_key_in},
        {"ike.psk_file", &t.ike.psk_file},
        {"ike.private_key", &t.ike.private_key},
        {"ike.certificate", &t.ike.certificate},
        {"ike.ca", &t.ike.ca},
        {"ike.local_id", &local_id},
        {"ike.remote_id", &remote_id}};
    for (const auto& [key, start] : starts) {
      const size_t n = start->size();
      if (n == 0 || msg.size() <= n || msg.compare(0, n, *start) != 0 || (msg[n] != ':' && msg[n] != ' ')) {
        continue;
      }
      e.line = t.origin.line_of(key);
      if (start == &local_id || start == &remote_id) break;  // the message names the key
      e.field += '.';
      e.field += key;
      break;
    }
    e.message = std::move(msg);
    errors.push_back(std::move(e));
  }
  return errors;
}

std::string tunnel_digest(const config::Tunnel& t, const std::string& key_out_fp,
                          const std::string& key_in_fp) {
  config::Config c;
  c.tunnels.push_back(t);
  c.tunnels.back().enabled = true;
  c.tunnels.back().origin = {};
  const std::string text = config::to_toml(c) + key_out_fp + "/" + key_in_fp;
  uint8_t h[16];
  crypto_generichash(h, sizeof h, reinterpret_cast<const uint8_t*>(text.data()), text.size(), nullptr, 0);
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (uint8_t b : h) {
    s += hex[b >> 4];
    s += hex[b & 15];
  }
  return s;
}

json Event::to_json() const {
  json j = {{"time", time}, {"kind", kind}, {"severity", severity}, {"message", message}};
  if (!tunnel.empty()) j["tunnel"] = tunnel;
  if (sa != 0) j["sa"] = sa;
  return j;
}

Daemon::Daemon(config::Config cfg, Store store) : cfg_(std::move(cfg)), store_(std::move(store)) {
  started_ = std::chrono::steady_clock::now();
  ike_ = std::make_unique<ike::Engine>(ike_host_);
  for (const auto& [name, rec] : store_.tunnels) {
    if (rec.sa_out) sa_index_[rec.sa_out] = {name, true};
    if (rec.sa_in) sa_index_[rec.sa_in] = {name, false};
  }
}

Daemon::~Daemon() { stop(); }

void Daemon::start() {
  std::string allowed;
  for (const auto& a : cfg_.crypto.allow) allowed += (allowed.empty() ? "" : ", ") + a;
  log_info("crypto profile " + cfg_.crypto.profile +
           (allowed.empty() ? ", nothing else allowed" : "; also allowed by crypto.allow: " + allowed));
  for (const auto& a : cfg_.crypto.allow) {
    log_warn("crypto.allow lets tunnels use \"" + a + "\", which is outside profile " + cfg_.crypto.profile);
  }
  {
    std::lock_guard lock(mu_);
    ike_reconcile();
  }
  link_ = std::thread([this] { link_main(); });
}

void Daemon::stop() {
  if (stopping_.exchange(true)) return;
  cv_.notify_all();
  if (link_.joinable()) link_.join();
  std::lock_guard lock(mu_);
  client_.reset();
}

void Daemon::add_event(std::string kind, std::string severity, std::string tunnel, uint32_t sa,
                       std::string message) {
  Event e{++event_seq_, utc_now(), std::move(kind), std::move(severity), std::move(tunnel), sa, std::move(message)};
  const std::string line = (e.tunnel.empty() ? "" : "tunnel " + e.tunnel + ": ") + e.message;
  if (e.severity == "error") {
    log_error(line);
  } else if (e.severity == "warn") {
    log_warn(line);
  } else {
    log_info(line);
  }
  events_.push_back(std::move(e));
  if (events_.size() > kMaxEvents) events_.pop_front();
  cv_.notify_all();
}

std::vector<Event> Daemon::events_after(uint64_t seq, size_t last) const {
  std::lock_guard lock(mu_);
  std::vector<Event> out;
  for (const auto& e : events_) {
    if (e.seq > seq) out.push_back(e);
  }
  if (out.size() > last) out.erase(out.begin(), out.end() - static_cast<long>(last));
  return out;
}

bool Daemon::wait_event(uint64_t seq, int timeout_ms) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                      [&] { return event_seq_ > seq || stopping_.load(); }) &&
         event_seq_ > seq;
}

uint64_t Daemon::last_event_seq() const {
  std::lock_guard lock(mu_);
  return event_seq_;
}

bool Daemon::save_store(std::string* error) { return store_.save(cfg_.daemon.state_dir, error); }

void Daemon::persist_running() {
  std::string err;
  if (!config::write_file_atomic(cfg_.daemon.state_dir + "/running.toml", config::to_toml(cfg_), &err)) {
    add_event("config", "error", "", 0, "cannot persist the running config: " + err);
  }
}

void Daemon::request_reconcile_and_wait(std::unique_lock<std::mutex>& lock) {
  const uint64_t want = ++reconcile_wanted_;
  cv_.notify_all();
  if (!connected_) return;  // applied when the data plane connects
  cv_.wait_for(lock, std::chrono::seconds(20), [&] { return reconcile_done_ >= want || !connected_; });
}

// --- the link thread -----------------------------------------------------------

void Daemon::link_main() {
  auto last_refresh = std::chrono::steady_clock::now();
  bool warned = false;
  while (!stopping_) {
    if (!client_) {
      try {
        connect_and_sync();
        warned = false;
      } catch (const std::exception& e) {
        client_.reset();
        {
          std::lock_guard lock(mu_);
          connected_ = false;
          if (!warned) {
            add_event("dataplane", "warn", "", 0,
                      "no data plane at " + cfg_.daemon.dataplane_socket + " (" + e.what() +
                          "); retrying every 200 ms");
          }
          cv_.notify_all();
        }
        warned = true;
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return stopping_.load(); });
      }
      continue;
    }
    try {
      bool want;
      {
        std::lock_guard lock(mu_);
        want = reconcile_wanted_ > reconcile_done_;
      }
      if (want) reconcile();
      if (auto ev = client_->poll_event(50)) on_event(*ev);
      ike_pump();
      if (std::chrono::steady_clock::now() - last_refresh >= std::chrono::seconds(1)) {
        refresh();
        last_refresh = std::chrono::steady_clock::now();
      }
    } catch (const api::ChannelError& e) {
      client_.reset();
      std::lock_guard lock(mu_);
      connected_ = false;
      for (auto& [name, st] : status_) st.installed = false;
      add_event("dataplane", "error", "", 0,
                std::string("lost the data plane: ") + e.what() +
                    "; traffic continues on installed SAs while it runs; reconnecting");
      cv_.notify_all();
    }
  }
}

void Daemon::connect_and_sync() {
  api::ClientOptions opts;
  opts.timeout_ms = 10'000;
  client_.emplace(api::Client::connect(cfg_.daemon.dataplane_socket, opts));
  api::Reply r = client_->call(api::StatsGet{});
  uint64_t sas = 0;
  if (auto* st = std::get_if<api::Stats>(&r.payload)) {
    for (const auto& c : st->counters) {
      if (c.name == "agent.sas") sas = c.value;
    }
  }
  std::unique_lock lock(mu_);
  fresh_ = sas == 0;
  installed_ports_.clear();
  installed_routes_.clear();
  if (fresh_) {
    sa_index_.clear();
    // Child SAs died with the data plane: negotiate them again.
    ike_children_.clear();
    ike_stale_.clear();
    for (const auto& t : cfg_.tunnels) {
      if (t.keying == config::Keying::kIkev2) ike_->restart_tunnel(t.name);
    }
    for (auto& [name, rec] : store_.tunnels) {
      rec.sa_out = rec.sa_in = 0;
      rec.policies.clear();
      status_[name].installed = false;
    }
  } else {
    // The data plane kept its state (the daemon restarted): keep every SA
    // that is there, reinstall what is missing.
    lock.unlock();
    std::map<std::string, bool> present;
    std::map<std::string, TunnelRecord> recs;
    {
      std::lock_guard l(mu_);
      recs = store_.tunnels;
    }
    for (const auto& [name, rec] : recs) {
      if (rec.sa_out == 0 || rec.sa_in == 0) continue;
      const bool out = client_->call(api::SaQuery{0, rec.sa_out}).ok();
      const bool in = client_->call(api::SaQuery{0, rec.sa_in}).ok();
      present[name] = out && in;
    }
    lock.lock();
    for (auto& [name, rec] : store_.tunnels) {
      status_[name].installed = present[name];
    }
  }
  connected_ = true;
  connected_since_ = std::chrono::steady_clock::now();
  ++syncs_;
  add_event("dataplane", "info", "", 0,
            std::string("connected to the data plane at ") + cfg_.daemon.dataplane_socket +
                (fresh_ ? ": it holds no SAs, pushing the full state"
                        : ": it kept " + std::to_string(sas) + " SAs, resynchronising"));
  ++reconcile_wanted_;
  lock.unlock();
  reconcile();
}

std::vector<api::Reply> Daemon::send_batch(std::vector<api::Message> msgs) {
  std::vector<api::Reply> out;
  if (msgs.empty()) return out;
  client_->send_async(api::Begin{});
  for (auto& m : msgs) client_->send_async(std::move(m));
  client_->send_async(api::Commit{});
  std::vector<api::Reply> all = client_->wait_all();
  if (all.size() != msgs.size() + 2) throw api::ChannelError("batch: reply count mismatch");
  if (!all.back().ok()) {
    // The commit failed: nothing of the batch took effect.
    const std::string why = all.back().error;
    for (size_t i = 1; i + 1 < all.size(); i++) {
      out.push_back(api::Reply{0, api::Status::kInternal, "commit failed: " + why, {}});
    }
    return out;
  }
  out.assign(std::make_move_iterator(all.begin() + 1), std::make_move_iterator(all.end() - 1));
  return out;
}

void Daemon::remove_tunnel(const std::string& name, TunnelRecord& rec, std::vector<api::Message>* batch) {
  for (uint32_t p : rec.policies) batch->push_back(api::PolicyDel{0, p});
  if (rec.sa_out) batch->push_back(api::SaDel{0, rec.sa_out});
  if (rec.sa_in) batch->push_back(api::SaDel{0, rec.sa_in});
  sa_index_.erase(rec.sa_out);
  sa_index_.erase(rec.sa_in);
  rec.sa_out = rec.sa_in = 0;
  rec.policies.clear();
  rec.digest.clear();
  status_[name].installed = false;
}

void Daemon::reconcile() {
  std::unique_lock lock(mu_);
  const uint64_t target = reconcile_wanted_;
  std::vector<api::Message> batch;
  // What each message is about, to put its error on the right tunnel.
  std::vector<std::string> owner;
  auto push = [&](api::Message m, const std::string& who) {
    batch.push_back(std::move(m));
    owner.push_back(who);
  };
  if (fresh_) push(api::Flush{}, "");

  // Tunnels: work out what each should be.
  struct Plan {
    TunnelKeys keys;
    std::string digest;
  };
  std::map<std::string, Plan> install;
  for (auto& [name, rec] : store_.tunnels) {
    const config::Tunnel* t = cfg_.find_tunnel(name);
    const bool has = rec.sa_out != 0 || rec.sa_in != 0;
    if (has && (t == nullptr || !t->enabled)) {
      std::vector<api::Message> dels;
      remove_tunnel(name, rec, &dels);
      for (auto& m : dels) push(std::move(m), name);
      status_[name].state = t == nullptr ? "removed" : "down";
    }
  }
  for (const config::Tunnel& t : cfg_.tunnels) {
    TunnelStatus& st = status_[t.name];
    TunnelRecord& rec = store_.tunnels[t.name];
    if (!t.enabled) {
      st.state = "down";
      continue;
    }
    if (t.keying != config::Keying::kManual) continue;  // the IKE engine's (ike_link.cc)
    std::string err;
    auto keys = load_keys(t, &err);
    if (!keys) {
      if (st.error != err) add_event("tunnel", "error", t.name, 0, "cannot load its keys: " + err);
      st.state = "error";
      st.error = err;
      continue;  // what is installed stays: better old keys than none
    }
    st.key_in_fp = keys->in->fingerprint();
    const std::string digest = tunnel_digest(t, keys->out->fingerprint(), st.key_in_fp);
    if (rec.key_out_fp != keys->out->fingerprint()) {
      // A new outbound key starts a new sequence space.
      rec.key_out_fp = keys->out->fingerprint();
      rec.lease = 0;
      rec.expired = false;
      rec.expired_reason.clear();
    }
    const bool has = rec.sa_out != 0 || rec.sa_in != 0;
    if (rec.expired) {
      if (has) {
        std::vector<api::Message> dels;
        remove_tunnel(t.name, rec, &dels);
        for (auto& m : dels) push(std::move(m), t.name);
      }
      st.state = "expired";
      st.error = rec.expired_reason;
      continue;
    }
    if (has && st.installed && rec.digest == digest) {
      st.state = "up";
      st.error.clear();
      continue;
    }
    if (has) {
      std::vector<api::Message> dels;
      remove_tunnel(t.name, rec, &dels);
      for (auto& m : dels) push(std::move(m), t.name);
    }
    if (rec.lease >= seq_max(t)) {
      st.state = "error";
      st.error = "the sequence numbers of key " + rec.key_out_fp +
                 " are used up; put new keys in " + t.manual.key_out + " and " + t.manual.key_in;
      continue;
    }
    install[t.name] = Plan{std::move(*keys), digest};
  }

  ike_reconcile();
  for (auto& m : ike_stale_removals()) push(std::move(m), "");

  // Ports and routes.
  bool ports_changed = installed_ports_ != cfg_.ports;
  if (ports_changed) {
    for (const auto& p : cfg_.ports) {
      push(api::PortConfig{0, p.id, p.role, p.addresses, p.mtu}, "port " + p.name);
    }
  }
  auto port_id = [&](const std::string& n) -> uint16_t {
    const config::Port* p = cfg_.find_port(n);
    return p ? p->id : 0;
  };
  for (const auto& r : installed_routes_) {
    const bool keep = std::any_of(cfg_.routes.begin(), cfg_.routes.end(), [&](const config::Route& x) {
      return x == r && !ports_changed;
    });
    if (!keep) push(api::RouteDel{0, r.prefix}, "route " + r.prefix.str());
  }
  for (const auto& r : cfg_.routes) {
    const bool have = std::any_of(installed_routes_.begin(), installed_routes_.end(),
                                  [&](const config::Route& x) { return x == r && !ports_changed; });
    if (!have) push(api::RouteAdd{0, r.prefix, r.via, port_id(r.port)}, "route " + r.prefix.str());
  }

  // New SAs: leases first, persisted before the data plane hears of them.
  for (auto& [name, plan] : install) {
    const config::Tunnel& t = *cfg_.find_tunnel(name);
    TunnelRecord& rec = store_.tunnels[name];
    const uint64_t first = rec.lease + 1;
    rec.lease = std::min(seq_max(t), rec.lease + lease_chunk(t));
    rec.sa_in = store_.allocate_id();
    rec.sa_out = store_.allocate_id();
    rec.digest = plan.digest;
    api::SaAdd in = sa_message(t, false, plan.keys);
    in.sa_id = rec.sa_in;
    api::SaAdd out = sa_message(t, true, plan.keys);
    out.sa_id = rec.sa_out;
    out.first_seq = first;
    out.seq_lease = rec.lease;
    push(std::move(in), name);
    push(std::move(out), name);
    uint32_t n = 0;
    for (const auto& l : t.local_ts) {
      for (const auto& r : t.remote_ts) {
        if (l.addr.family != r.addr.family) continue;
        api::PolicyAdd p;
        p.policy_id = store_.allocate_id();
        p.priority = kTunnelPriority;
        p.direction = api::Direction::kOut;
        p.selector = api::Selector{l, r, 0, {}, {}};
        p.action = api::Action::kProtect;
        p.sa_id = rec.sa_out;
        rec.policies.push_back(p.policy_id);
        push(std::move(p), name);
        ++n;
      }
    }
    sa_index_[rec.sa_out] = {name, true};
    sa_index_[rec.sa_in] = {name, false};
  }
  std::string err;
  if (!batch.empty() && !save_store(&err)) {
    // Without the lease on disk, no SA may be installed.
    add_event("config", "error", "", 0, "cannot write the state file, nothing applied: " + err);
    for (auto& [name, plan] : install) {
      store_.tunnels[name].sa_in = store_.tunnels[name].sa_out = 0;
      store_.tunnels[name].policies.clear();
      status_[name].state = "error";
      status_[name].error = "state file not writable: " + err;
    }
    reconcile_done_ = target;
    cv_.notify_all();
    return;
  }
  lock.unlock();
  std::vector<api::Reply> replies = send_batch(std::move(batch));
  lock.lock();
  fresh_ = false;
  std::map<std::string, std::string> failed;
  for (size_t i = 0; i < replies.size(); i++) {
    const api::Reply& r = replies[i];
    if (r.ok() || r.status == api::Status::kNotFound || r.status == api::Status::kExists) continue;
    if (failed.count(owner[i]) == 0) failed[owner[i]] = r.error;
  }
  if (ports_changed) installed_ports_ = cfg_.ports;
  installed_routes_ = cfg_.routes;
  std::vector<api::Message> cleanup;
  for (auto& [who, why] : failed) {
    auto it = install.find(who);
    if (it == install.end()) {
      add_event("dataplane", "error", "", 0, who + ": the data plane refused it: " + why);
      continue;
    }
    TunnelRecord& rec = store_.tunnels[who];
    remove_tunnel(who, rec, &cleanup);
    status_[who].state = "error";
    status_[who].error = "the data plane refused it: " + why;
    add_event("tunnel", "error", who, 0, status_[who].error);
  }
  for (auto& [name, plan] : install) {
    if (failed.count(name)) continue;
    status_[name].installed = true;
    status_[name].state = "up";
    status_[name].error.clear();
    const config::Tunnel& t = *cfg_.find_tunnel(name);
    char spi[16];
    std::snprintf(spi, sizeof spi, "%08x", t.manual.spi_out);
    add_event("tunnel", "info", name, 0,
              std::string("installed: SPI out 0x") + spi + ", key " + store_.tunnels[name].key_out_fp +
                  ", sequence from " + std::to_string(store_.tunnels[name].lease - lease_chunk(t) + 1));
  }
  // Forget records of tunnels that are gone and hold nothing.
  for (auto it = store_.tunnels.begin(); it != store_.tunnels.end();) {
    if (cfg_.find_tunnel(it->first) == nullptr && it->second.sa_out == 0 && it->second.sa_in == 0) {
      status_.erase(it->first);
      it = store_.tunnels.erase(it);
    } else {
      ++it;
    }
  }
  if (!save_store(&err)) add_event("config", "error", "", 0, "cannot write the state file: " + err);
  reconcile_done_ = target;
  cv_.notify_all();
  lock.unlock();
  if (!cleanup.empty()) send_batch(std::move(cleanup));
}

void Daemon::refresh() {
  api::Reply r = client_->call(api::StatsGet{});
  std::map<std::string, uint64_t> counters;
  if (auto* st = std::get_if<api::Stats>(&r.payload)) {
    for (const auto& c : st->counters) counters[c.name] = c.value;
  }
  std::vector<std::pair<std::string, TunnelRecord>> recs;
  {
    std::lock_guard lock(mu_);
    counters_ = std::move(counters);
    for (const auto& [name, rec] : store_.tunnels) {
      if (rec.sa_out && status_[name].installed) recs.emplace_back(name, rec);
    }
  }
  for (auto& [name, rec] : recs) {
    api::Reply ro = client_->call(api::SaQuery{0, rec.sa_out});
    api::Reply ri = client_->call(api::SaQuery{0, rec.sa_in});
    std::unique_lock lock(mu_);
    TunnelStatus& st = status_[name];
    const config::Tunnel* tc = cfg_.find_tunnel(name);
    if (tc && tc->keying == config::Keying::kIkev2) {
      // Counters only: IKE Child SAs have fresh keys and no lease, and
      // the engine, not a reinstall, repairs them.
      if (auto* i = std::get_if<api::SaInfo>(&ro.payload)) st.out = *i;
      if (auto* i = std::get_if<api::SaInfo>(&ri.payload)) st.in = *i;
      continue;
    }
    if (!ro.ok() || !ri.ok()) {
      // The data plane lost it (or someone removed it): put it back.
      if (st.installed) {
        add_event("tunnel", "warn", name, 0, "its SAs are missing from the data plane; reinstalling");
      }
      st.installed = false;
      ++reconcile_wanted_;
      continue;
    }
    if (auto* i = std::get_if<api::SaInfo>(&ro.payload)) st.out = *i;
    if (auto* i = std::get_if<api::SaInfo>(&ri.payload)) st.in = *i;
    // Extend the lease when less than half of it is left.
    const config::Tunnel* t = cfg_.find_tunnel(name);
    TunnelRecord& live = store_.tunnels[name];
    if (t == nullptr || live.sa_out != rec.sa_out) continue;
    const uint64_t chunk = lease_chunk(*t);
    if (st.out.seq + chunk / 2 > live.lease && live.lease < seq_max(*t)) {
      const uint64_t old = live.lease;
      live.lease = std::min(seq_max(*t), std::max(live.lease, st.out.seq - 1) + chunk);
      std::string err;
      if (!save_store(&err)) {
        live.lease = old;
        add_event("lease", "error", name, rec.sa_out,
                  "cannot persist a new sequence lease (" + err + "); the SA stops at " + std::to_string(old));
        continue;
      }
      const uint64_t lease = live.lease;
      lock.unlock();
      api::SaUpdate up;
      up.sa_id = rec.sa_out;
      up.seq_lease = lease;
      api::Reply u = client_->call(up);
      lock.lock();
      if (!u.ok()) add_event("lease", "error", name, rec.sa_out, "sa_update refused: " + u.error);
    }
  }
}

void Daemon::on_event(api::Message& ev) {
  if (auto* p = std::get_if<api::Punt>(&ev)) {
    ike_datagram(*p);
    return;
  }
  auto* ex = std::get_if<api::SaExpire>(&ev);
  if (ex == nullptr) return;
  std::unique_lock lock(mu_);
  auto it = sa_index_.find(ex->sa_id);
  if (it == sa_index_.end()) return;
  const std::string name = it->second.first;
  for (const auto& [id, c] : ike_children_) {
    if (c.sa_in == ex->sa_id || c.sa_out == ex->sa_id) {
      // A negotiated Child SA: the engine rekeys it (soft) or replaces it
      // (hard, the data plane already stopped it).
      const uint32_t spi = c.spi_in;
      lock.unlock();
      ike_->child_expiring(name, spi, ex->kind == api::ExpireKind::kHard);
      return;
    }
  }
  const char* dir = it->second.second ? "outbound" : "inbound";
  const config::Tunnel* t = cfg_.find_tunnel(name);
  const std::string files = t ? t->manual.key_out + " and " + t->manual.key_in : "the key files";
  if (ex->kind == api::ExpireKind::kSoft) {
    add_event("sa_expire", "warn", name, ex->sa_id,
              std::string("soft lifetime of the ") + dir + " SA reached (" + expire_by(ex->by) +
                  "): manual keys are not renewed automatically; put new keys in " + files +
                  " on both gateways and run `portcullisctl config reload` before the hard limit");
    return;
  }
  TunnelRecord& rec = store_.tunnels[name];
  rec.expired = true;
  rec.expired_reason = std::string("hard lifetime of the ") + dir + " SA reached (" + expire_by(ex->by) + ")";
  add_event("sa_expire", "error", name, ex->sa_id,
            rec.expired_reason + "; its SAs are removed and the tunnel is down. Put new keys in " + files +
                " on both gateways, then run `portcullisctl config reload`");
  ++reconcile_wanted_;
}

}  // namespace portcullis::ctl::daemon
