// commands.cc: the CLI commands of PROTOCOL.md.
#include <cstdio>

#include "config/parser.h"
#include "config/writer.h"
#include "control/daemon/daemon.h"
#include "control/daemon/log.h"

namespace portcullis::ctl::daemon {

using nlohmann::json;

namespace {

std::string hex32(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08x", v);
  return b;
}

json prefixes(const std::vector<api::Prefix>& v) {
  json a = json::array();
  for (const auto& p : v) a.push_back(p.str());
  return a;
}

std::string need_string(const json& args, const char* key) {
  auto it = args.find(key);
  if (it == args.end() || !it->is_string() || it->get<std::string>().empty()) {
    throw CliError(std::string("missing argument \"") + key + "\" (a string)");
  }
  return it->get<std::string>();
}

api::Prefix parse_prefix(const std::string& s, const char* what) {
  auto p = api::Prefix::parse(s);
  if (!p) throw CliError(std::string(what) + ": \"" + s + "\" is not a prefix like 10.1.0.0/24 or fd00:1::/64");
  return *p;
}

api::IpAddr parse_ip(const std::string& s, const char* what) {
  auto a = api::IpAddr::parse(s);
  if (!a) throw CliError(std::string(what) + ": \"" + s + "\" is not an IPv4 or IPv6 address");
  return *a;
}

template <typename T>
T get_or(const json& j, const char* key, T def) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return def;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw CliError(std::string("argument \"") + key + "\" has the wrong type");
  }
}

// tunnel_from_json reads tunnel.add's `tunnel` object; validate() checks the rest.
config::Tunnel tunnel_from_json(const json& j) {
  if (!j.is_object()) throw CliError("argument \"tunnel\" must be an object with the [[tunnel]] fields");
  static const char* const kKnown[] = {"name", "local", "remote", "local_ts", "remote_ts", "mode", "udp_encap",
                                       "udp_port", "esp", "esn", "replay_window", "anti_replay",
                                       "allow_no_anti_replay", "lifetime", "keying", "manual", "ike", "enabled"};
  for (const auto& [k, v] : j.items()) {
    if (std::find(std::begin(kKnown), std::end(kKnown), k) == std::end(kKnown)) {
      throw CliError("unknown tunnel field \"" + k + "\"");
    }
  }
  config::Tunnel t;
  t.name = need_string(j, "name");
  t.local = parse_ip(need_string(j, "local"), "local");
  t.remote = parse_ip(need_string(j, "remote"), "remote");
  for (const char* side : {"local_ts", "remote_ts"}) {
    auto it = j.find(side);
    if (it == j.end() || !it->is_array() || it->empty()) {
      throw CliError(std::string("missing argument \"") + side + "\" (a list of prefixes)");
    }
    for (const auto& p : *it) {
      if (!p.is_string()) throw CliError(std::string(side) + " must hold strings");
      (std::string(side) == "local_ts" ? t.local_ts : t.remote_ts).push_back(parse_prefix(p, side));
    }
  }
  const std::string mode = get_or<std::string>(j, "mode", "tunnel");
  if (mode != "tunnel" && mode != "transport") throw CliError("mode must be \"tunnel\" or \"transport\"");
  t.mode = mode == "tunnel" ? api::Mode::kTunnel : api::Mode::kTransport;
  t.udp_encap = get_or(j, "udp_encap", false);
  t.udp_port = get_or<uint16_t>(j, "udp_port", 4500);
  t.esp = get_or<std::string>(j, "esp", "aes128gcm16");
  t.esn = get_or(j, "esn", true);
  t.replay_window = get_or<uint32_t>(j, "replay_window", 1024);
  t.anti_replay = get_or(j, "anti_replay", true);
  t.allow_no_anti_replay = get_or(j, "allow_no_anti_replay", false);
  t.enabled = get_or(j, "enabled", true);
  const std::string keying = get_or<std::string>(j, "keying", "manual");
  if (keying != "manual" && keying != "ikev2") throw CliError("keying must be \"manual\" or \"ikev2\"");
  t.keying = keying == "manual" ? config::Keying::kManual : config::Keying::kIkev2;
  // Lifetimes default as in the config file (config/parser.h): an IKEv2
  // Child SA lives kIkeChildHardSeconds; a soft limit not given is
  // kSoftPercent of its hard one.
  if (t.keying == config::Keying::kIkev2) t.lifetime.hard_seconds = config::kIkeChildHardSeconds;
  if (auto it = j.find("lifetime"); it != j.end()) {
    if (!it->is_object()) throw CliError("lifetime must be an object");
    static const char* const kLife[] = {"soft_bytes",   "hard_bytes",   "soft_packets",
                                        "hard_packets", "soft_seconds", "hard_seconds"};
    for (const auto& [k, v] : it->items()) {
      if (std::find(std::begin(kLife), std::end(kLife), k) == std::end(kLife)) {
        throw CliError("unknown lifetime field \"" + k + "\"");
      }
    }
  }
  const json life = j.contains("lifetime") ? j["lifetime"] : json::object();
  auto limits = [&](const char* soft_key, const char* hard_key, uint64_t& soft, uint64_t& hard) {
    hard = get_or<uint64_t>(life, hard_key, hard);
    const uint64_t dflt = hard / 100 * config::kSoftPercent + hard % 100 * config::kSoftPercent / 100;
    soft = get_or<uint64_t>(life, soft_key, dflt);
  };
  limits("soft_bytes", "hard_bytes", t.lifetime.soft_bytes, t.lifetime.hard_bytes);
  limits("soft_packets", "hard_packets", t.lifetime.soft_packets, t.lifetime.hard_packets);
  limits("soft_seconds", "hard_seconds", t.lifetime.soft_seconds, t.lifetime.hard_seconds);

  auto absolute_path = [](const std::string& f, const char* what) {
    if (f.find('\0') != std::string::npos) throw CliError(std::string(what) + " path holds a NUL byte");
    if (!f.empty() && f[0] != '/') {
      std::string e = std::string(what) + " \"";
      e += f;
      e += "\" must be an absolute path (the daemon's working directory is /)";
      throw CliError(e);
    }
  };
  if (t.keying == config::Keying::kIkev2) {
    if (j.contains("manual")) throw CliError("\"manual\" is only used with keying \"manual\"; remove it");
    // Like [tunnel.ike], "ike" may be left out; validate() then says what
    // the default auth ("ecdsa") needs.
    const json none = json::object();
    const json& ikej = j.contains("ike") && !j.at("ike").is_null() ? j.at("ike") : none;
    if (!ikej.is_object()) {
      throw CliError("\"ike\" must be an object {local_id, remote_id, auth, certificate, private_key, ca, psk_file, "
                     "proposal, initiate, ike_lifetime}");
    }
    static const char* const kIke[] = {"local_id", "remote_id", "auth",     "certificate", "private_key",
                                       "ca",       "psk_file",  "proposal", "initiate",    "ike_lifetime"};
    for (const auto& [key, v] : ikej.items()) {
      if (std::find(std::begin(kIke), std::end(kIke), key) == std::end(kIke)) {
        throw CliError("unknown ike field \"" + key + "\"");
      }
    }
    config::IkeSettings& is = t.ike;
    is.local_id = get_or<std::string>(ikej, "local_id", is.local_id);
    is.remote_id = get_or<std::string>(ikej, "remote_id", is.remote_id);
    is.auth = get_or<std::string>(ikej, "auth", is.auth);
    is.certificate = get_or<std::string>(ikej, "certificate", "");
    is.private_key = get_or<std::string>(ikej, "private_key", "");
    is.ca = get_or<std::string>(ikej, "ca", "");
    is.psk_file = get_or<std::string>(ikej, "psk_file", "");
    is.proposal = get_or<std::string>(ikej, "proposal", is.proposal);
    is.initiate = get_or<bool>(ikej, "initiate", is.initiate);
    if (auto l = ikej.find("ike_lifetime"); l != ikej.end() && !l->is_null()) {
      if (!l->is_number_unsigned() || l->get<uint64_t>() == 0) {
        throw CliError("ike_lifetime must be a number of seconds, at least 1");
      }
      is.ike_lifetime_seconds = l->get<uint64_t>();
    }
    absolute_path(is.certificate, "certificate");
    absolute_path(is.private_key, "private key");
    absolute_path(is.ca, "CA file");
    absolute_path(is.psk_file, "PSK file");
    return t;
  }
  if (j.contains("ike")) throw CliError("\"ike\" is only used with keying \"ikev2\"; remove it");
  auto m = j.find("manual");
  if (m == j.end() || !m->is_object()) {
    throw CliError("missing argument \"manual\" {spi_out, spi_in, key_out, key_in}");
  }
  t.manual.spi_out = get_or<uint32_t>(*m, "spi_out", 0);
  t.manual.spi_in = get_or<uint32_t>(*m, "spi_in", 0);
  t.manual.key_out = get_or<std::string>(*m, "key_out", "");
  t.manual.key_in = get_or<std::string>(*m, "key_in", "");
  t.manual.auth_key_out = get_or<std::string>(*m, "auth_key_out", "");
  t.manual.auth_key_in = get_or<std::string>(*m, "auth_key_in", "");
  for (const std::string* f : {&t.manual.key_out, &t.manual.key_in, &t.manual.auth_key_out, &t.manual.auth_key_in}) {
    absolute_path(*f, "key file");
  }
  return t;
}

std::string join_errors(const std::vector<config::ConfigError>& errs) {
  std::string s;
  for (const auto& e : errs) {
    if (!s.empty()) s += '\n';
    s += e.str();
  }
  return s;
}

}  // namespace

std::string Daemon::tunnel_state(const config::Tunnel& t) const {
  auto it = status_.find(t.name);
  if (!t.enabled) return "down";
  if (t.keying == config::Keying::kIkev2) {
    const std::string s = ike_->tunnel_state(t.name, nullptr);
    if (s == "unknown") return "pending";  // not handed to the engine yet (no data plane)
    if (s == "up" && it != status_.end() && !it->second.installed) return "negotiated (installing)";
    if (s == "up" && !connected_) return "up (data plane away)";
    return s;
  }
  if (it == status_.end()) return "pending";
  if (!connected_ && it->second.state == "up") return "up (data plane away)";
  return it->second.state;
}

json Daemon::sa_json(const config::Tunnel& t, bool out) const {
  auto sit = status_.find(t.name);
  auto rit = store_.tunnels.find(t.name);
  json j;
  const TunnelRecord* rec = rit == store_.tunnels.end() ? nullptr : &rit->second;
  j["id"] = rec ? (out ? rec->sa_out : rec->sa_in) : 0;
  j["tunnel"] = t.name;
  j["direction"] = out ? "out" : "in";
  if (const IkeChildRec* c = t.keying == config::Keying::kIkev2 ? ike_active_child(t.name) : nullptr) {
    j["spi"] = hex32(out ? c->spi_out : c->spi_in);
  } else {
    j["spi"] = hex32(out ? t.manual.spi_out : t.manual.spi_in);
  }
  j["esp"] = t.esp;
  const api::SaInfo info = sit == status_.end() ? api::SaInfo{} : (out ? sit->second.out : sit->second.in);
  j["packets"] = info.packets;
  j["bytes"] = info.bytes;
  j["drops"] = info.drops;
  j["seq"] = info.seq;
  if (out && rec) j["seq_lease"] = rec->lease;
  j["key_fp"] = out ? (rec ? rec->key_out_fp : "") : (sit == status_.end() ? "" : sit->second.key_in_fp);
  j["installed"] = sit != status_.end() && sit->second.installed;
  json ev = json::array();
  static const char* const kBits[] = {"soft-bytes", "soft-packets", "soft-seq", "hard-bytes",
                                      "hard-packets", "seq-exhausted", "seq-lease"};
  for (int b = 0; b < 7; b++) {
    if (info.events & (1u << b)) ev.push_back(kBits[b]);
  }
  j["events"] = ev;
  return j;
}

json Daemon::tunnel_json(const config::Tunnel& t, bool detail) const {
  auto sit = status_.find(t.name);
  json j;
  j["name"] = t.name;
  j["state"] = tunnel_state(t);
  if (t.keying == config::Keying::kIkev2) {
    std::string err;
    ike_->tunnel_state(t.name, &err);
    if (!err.empty()) j["error"] = err;
  } else if (sit != status_.end() && !sit->second.error.empty()) {
    j["error"] = sit->second.error;
  }
  j["local"] = t.local.str();
  j["remote"] = t.remote.str();
  j["local_ts"] = prefixes(t.local_ts);
  j["remote_ts"] = prefixes(t.remote_ts);
  j["esp"] = t.esp;
  j["mode"] = t.mode == api::Mode::kTunnel ? "tunnel" : "transport";
  j["udp_encap"] = t.udp_encap;
  j["keying"] = t.keying == config::Keying::kManual ? "manual" : "ikev2";
  if (t.keying == config::Keying::kIkev2) {
    const IkeChildRec* c = ike_active_child(t.name);
    j["spi_out"] = hex32(c ? c->spi_out : 0);
    j["spi_in"] = hex32(c ? c->spi_in : 0);
  } else {
    j["spi_out"] = hex32(t.manual.spi_out);
    j["spi_in"] = hex32(t.manual.spi_in);
  }
  const api::SaInfo none{};
  const api::SaInfo& o = sit == status_.end() ? none : sit->second.out;
  const api::SaInfo& i = sit == status_.end() ? none : sit->second.in;
  j["packets_out"] = o.packets;
  j["packets_in"] = i.packets;
  j["bytes_out"] = o.bytes;
  j["bytes_in"] = i.bytes;
  if (!detail) return j;
  j["esn"] = t.esn;
  j["replay_window"] = t.replay_window;
  j["anti_replay"] = t.anti_replay;
  j["lifetime"] = {{"soft_bytes", t.lifetime.soft_bytes},     {"hard_bytes", t.lifetime.hard_bytes},
                   {"soft_packets", t.lifetime.soft_packets}, {"hard_packets", t.lifetime.hard_packets},
                   {"soft_seconds", t.lifetime.soft_seconds}, {"hard_seconds", t.lifetime.hard_seconds}};
  j["sas"] = json::array({sa_json(t, true), sa_json(t, false)});
  auto rit = store_.tunnels.find(t.name);
  j["key_out_fp"] = rit == store_.tunnels.end() ? "" : rit->second.key_out_fp;
  j["key_in_fp"] = sit == status_.end() ? "" : sit->second.key_in_fp;
  j["seq_lease"] = rit == store_.tunnels.end() ? 0 : rit->second.lease;
  j["origin"] = t.origin.line ? t.origin.file + ":" + std::to_string(t.origin.line) : "cli";
  return j;
}

const Daemon::IkeChildRec* Daemon::ike_active_child(const std::string& tunnel) const {
  auto rit = store_.tunnels.find(tunnel);
  if (rit == store_.tunnels.end() || rit->second.sa_out == 0) return nullptr;
  for (const auto& [id, c] : ike_children_) {
    if (c.sa_out == rit->second.sa_out) return &c;
  }
  return nullptr;
}

json Daemon::cmd_status() const {
  using namespace std::chrono;
  const auto now = steady_clock::now();
  json tunnels = {{"total", cfg_.tunnels.size()}, {"up", 0},      {"connecting", 0}, {"waiting", 0},
                  {"down", 0},                     {"expired", 0}, {"error", 0}};
  size_t sas = 0;
  for (const auto& t : cfg_.tunnels) {
    const std::string s = tunnel_state(t);
    // "up (data plane away)" is up; an IKEv2 tunnel "negotiated
    // (installing)", and one the daemon has not applied yet ("pending"),
    // are on their way up: connecting.
    std::string key = s;
    if (s.rfind("up", 0) == 0) {
      key = "up";
    } else if (s == "negotiated (installing)" || s == "pending") {
      key = "connecting";
    }
    if (tunnels.contains(key)) tunnels[key] = tunnels[key].get<int>() + 1;
    auto it = status_.find(t.name);
    if (it != status_.end() && it->second.installed) sas += 2;
  }
  json dp = {{"socket", cfg_.daemon.dataplane_socket}, {"connected", connected_}, {"syncs", syncs_}};
  if (connected_) dp["since_s"] = duration_cast<seconds>(now - connected_since_).count();
  return {{"version", PORTCULLIS_VERSION},
          {"uptime_s", duration_cast<seconds>(now - started_).count()},
          {"config", cfg_.path},
          {"profile", cfg_.crypto.profile},
          {"allow", cfg_.crypto.allow},
          {"dataplane", dp},
          {"tunnels", tunnels},
          {"sas", sas},
          {"ike", ike_counters()}};
}

json Daemon::ike_counters() const {
  json c = ike_->counters();
  c["not_ike"] = ike_not_ike_;
  return c;
}

json Daemon::handle(const std::string& cmd, const json& args) {
  if (!args.is_object()) throw CliError("\"args\" must be an object");
  std::unique_lock lock(mu_);
  const auto dot = cmd.find('.');
  const std::string noun = cmd.substr(0, dot);
  const std::string verb = dot == std::string::npos ? "" : cmd.substr(dot + 1);
  if (cmd == "status") return cmd_status();
  if (noun == "tunnel") return cmd_tunnel(verb, args, lock);
  if (noun == "route") return cmd_route(verb, args, lock);
  if (noun == "config") return cmd_config(verb, args, lock);
  if (noun == "ike") return cmd_ike(verb, args);
  if (cmd == "sa.list" || cmd == "sa.show") {
    json all = json::array();
    for (const auto& t : cfg_.tunnels) {
      for (bool out : {true, false}) {
        json s = sa_json(t, out);
        if (s["id"] == 0) continue;
        if (cmd == "sa.show") {
          if (!args.contains("id") || !args["id"].is_number_unsigned()) {
            throw CliError("missing argument \"id\" (an SA id from `portcullisctl sa list`)");
          }
          if (s["id"] == args["id"]) return s;
        }
        all.push_back(std::move(s));
      }
    }
    if (cmd == "sa.show") throw CliError("no SA " + args["id"].dump() + "; `portcullisctl sa list` shows them");
    return all;
  }
  if (cmd == "policy.list") {
    json all = json::array();
    for (const auto& t : cfg_.tunnels) {
      auto rit = store_.tunnels.find(t.name);
      if (rit == store_.tunnels.end()) continue;
      size_t k = 0;
      for (const auto& l : t.local_ts) {
        for (const auto& r : t.remote_ts) {
          if (l.addr.family != r.addr.family || k >= rit->second.policies.size()) continue;
          all.push_back({{"id", rit->second.policies[k++]}, {"tunnel", t.name}, {"direction", "out"},
                         {"src", l.str()}, {"dst", r.str()}, {"proto", "any"}, {"action", "protect"},
                         {"sa", rit->second.sa_out}, {"priority", 100}});
        }
      }
    }
    return all;
  }
  if (cmd == "port.list") {
    json all = json::array();
    for (const auto& p : cfg_.ports) {
      const std::string pre = "port." + std::to_string(p.id) + ".";
      auto c = [&](const char* n) {
        auto it = counters_.find(pre + n);
        return it == counters_.end() ? uint64_t{0} : it->second;
      };
      all.push_back({{"name", p.name},
                     {"id", p.id},
                     {"role", p.role == api::PortRole::kProtected ? "protected" : "unprotected"},
                     {"addresses", prefixes(p.addresses)},
                     {"mtu", p.mtu},
                     {"rx_packets", c("rx_packets")},
                     {"tx_packets", c("tx_packets")},
                     {"rx_bytes", c("rx_bytes")},
                     {"tx_bytes", c("tx_bytes")},
                     {"rx_dropped", c("rx_missed")}});
    }
    return all;
  }
  if (cmd == "stats") {
    json c = json::object();
    for (const auto& [k, v] : counters_) c[k] = v;
    c["ike.not_ike"] = ike_not_ike_;
    return {{"counters", c}, {"connected", connected_}};
  }
  throw CliError("unknown command \"" + cmd + "\"; `portcullisctl --help` lists the commands");
}

json Daemon::cmd_tunnel(const std::string& verb, const json& args, std::unique_lock<std::mutex>& lock) {
  if (verb == "list") {
    json all = json::array();
    for (const auto& t : cfg_.tunnels) all.push_back(tunnel_json(t, false));
    return all;
  }
  if (verb == "add") {
    if (!args.contains("tunnel")) throw CliError("missing argument \"tunnel\"");
    config::Tunnel t = tunnel_from_json(args["tunnel"]);
    if (cfg_.find_tunnel(t.name)) {
      throw CliError("tunnel \"" + t.name + "\" exists; `portcullisctl tunnel del " + t.name + "` first");
    }
    config::Config next = cfg_;
    next.tunnels.push_back(t);
    if (auto errs = config::validate(next); !errs.empty()) throw CliError(join_errors(errs));
    if (std::string e = check_tunnel_keys(t); !e.empty()) throw CliError("tunnel \"" + t.name + "\": " + e);
    cfg_ = std::move(next);
    persist_running();
    add_event("config", "info", t.name, 0, "tunnel added through the CLI");
    request_reconcile_and_wait(lock);
    return tunnel_json(*cfg_.find_tunnel(t.name), true);
  }
  const std::string name = need_string(args, "name");
  config::Tunnel* t = cfg_.find_tunnel(name);
  if (t == nullptr) throw CliError("no tunnel \"" + name + "\"; `portcullisctl tunnel list` shows the tunnels");
  if (verb == "show") return tunnel_json(*t, true);
  if (verb == "del") {
    cfg_.tunnels.erase(cfg_.tunnels.begin() + (t - cfg_.tunnels.data()));
    persist_running();
    add_event("config", "info", name, 0, "tunnel deleted through the CLI");
    request_reconcile_and_wait(lock);
    return json::object();
  }
  if (verb == "up" || verb == "down") {
    t->enabled = verb == "up";
    persist_running();
    add_event("config", "info", name, 0, "set " + verb + " through the CLI");
    request_reconcile_and_wait(lock);
    const config::Tunnel* now = cfg_.find_tunnel(name);
    if (now == nullptr) throw CliError("tunnel \"" + name + "\" was removed meanwhile");
    return tunnel_json(*now, false);
  }
  if (verb == "rekey") {
    if (t->keying == config::Keying::kIkev2) {
      std::string err;
      const bool ike = get_or<bool>(args, "ike", false);
      const bool ok = ike ? ike_->rekey_ike(name, err) : ike_->rekey_child(name, err);
      if (!ok) throw CliError(err);
      add_event("tunnel", "info", name, 0, std::string(ike ? "IKE SA" : "Child SA") + " rekey requested through the CLI");
      return json{{"rekey", ike ? "ike" : "child"}, {"tunnel", name}};
    }
    throw CliError("tunnel \"" + name + "\" uses manual keys, which the daemon cannot renew: put new keys in " +
                   t->manual.key_out + " and " + t->manual.key_in +
                   " on both gateways, then `portcullisctl config reload`");
  }
  throw CliError("unknown command \"tunnel." + verb + "\"");
}

json Daemon::cmd_route(const std::string& verb, const json& args, std::unique_lock<std::mutex>& lock) {
  auto route_json = [](const config::Route& r) {
    json j = {{"prefix", r.prefix.str()}, {"port", r.port},
              {"origin", r.origin.line ? r.origin.file + ":" + std::to_string(r.origin.line) : "cli"}};
    if (r.via) j["via"] = r.via->str();
    return j;
  };
  if (verb == "list") {
    json all = json::array();
    for (const auto& r : cfg_.routes) all.push_back(route_json(r));
    return all;
  }
  const api::Prefix prefix = parse_prefix(need_string(args, "prefix"), "prefix");
  auto it = std::find_if(cfg_.routes.begin(), cfg_.routes.end(),
                         [&](const config::Route& r) { return r.prefix == prefix; });
  if (verb == "add") {
    if (it != cfg_.routes.end()) throw CliError("a route to " + prefix.str() + " exists; delete it first");
    config::Route r;
    r.prefix = prefix;
    r.port = need_string(args, "port");
    if (args.contains("via") && !args["via"].is_null()) {
      if (!args["via"].is_string()) throw CliError("\"via\" must be an address string");
      r.via = parse_ip(args["via"], "via");
    }
    config::Config next = cfg_;
    next.routes.push_back(r);
    if (auto errs = config::validate(next); !errs.empty()) throw CliError(join_errors(errs));
    cfg_ = std::move(next);
    persist_running();
    request_reconcile_and_wait(lock);
    return route_json(r);
  }
  if (verb == "del") {
    if (it == cfg_.routes.end()) throw CliError("no route to " + prefix.str() + "; `portcullisctl route list`");
    cfg_.routes.erase(it);
    persist_running();
    request_reconcile_and_wait(lock);
    return json::object();
  }
  throw CliError("unknown command \"route." + verb + "\"");
}

json Daemon::cmd_config(const std::string& verb, const json& args, std::unique_lock<std::mutex>& lock) {
  if (verb == "check") {
    const std::string path = args.contains("path") ? need_string(args, "path") : cfg_.path;
    config::LoadResult r = config::load_file(path);
    // A valid file's key files and IKE credentials are opened as an
    // install would (portcullisd --check does the same).
    if (r.ok()) r.errors = check_key_files(*r.config);
    json errs = json::array();
    for (const auto& e : r.errors) errs.push_back(e.str());
    return {{"ok", r.errors.empty()}, {"path", path}, {"errors", errs}};
  }
  if (verb == "reload") {
    config::LoadResult r = config::load_file(cfg_.path);
    if (r.ok()) r.errors = check_key_files(*r.config);
    if (!r.config || !r.errors.empty()) {
      std::string msg = "the running state is unchanged; fix ";
      msg += cfg_.path;
      msg += ":\n";
      msg += join_errors(r.errors);
      throw CliError(msg);
    }
    if (!(r.config->daemon == cfg_.daemon)) {
      add_event("config", "warn", "", 0, "[daemon] settings changed: they take effect at the next restart");
    }
    json changed = json::array();
    for (const auto& t : r.config->tunnels) {
      const config::Tunnel* old = cfg_.find_tunnel(t.name);
      if (old == nullptr || !(*old == t)) changed.push_back("tunnel " + t.name);
    }
    for (const auto& t : cfg_.tunnels) {
      if (r.config->find_tunnel(t.name) == nullptr) changed.push_back("tunnel " + t.name + " (removed)");
    }
    if (!(r.config->ports == cfg_.ports)) changed.push_back("ports");
    if (!(r.config->routes == cfg_.routes)) changed.push_back("routes");
    r.config->daemon = cfg_.daemon;
    cfg_ = std::move(*r.config);
    persist_running();
    add_event("config", "info", "", 0, "reloaded " + cfg_.path);
    // Key files are read again at every reconcile, so new keys take effect.
    request_reconcile_and_wait(lock);
    return {{"changed", changed}};
  }
  if (verb == "save") {
    const std::string path = args.contains("path") ? need_string(args, "path") : cfg_.path;
    std::string err;
    if (!config::write_file_atomic(path, config::to_toml(cfg_), &err)) throw CliError("cannot save: " + err);
    add_event("config", "info", "", 0, "running config saved to " + path);
    return {{"path", path}};
  }
  throw CliError("unknown command \"config." + verb + "\"");
}

}  // namespace portcullis::ctl::daemon
