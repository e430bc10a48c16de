// parser.cc: the first pass, from TOML to a Config (parser.h). Every key of
// every table is checked against the schema in config/README.md, so that a
// typo is an error rather than a setting silently left at its default.
#include "config/parser.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <toml++/toml.h>

#include "config/diag.h"
#include "config/toml_guard.h"

namespace portcullis::config {
namespace {

using detail::Diag;
using detail::quote;

constexpr uint64_t kMaxToml = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

const char* type_word(toml::node_type t) {
  switch (t) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

uint32_t line_of(const toml::node& n) { return n.source().begin.line; }

constexpr std::string_view kTopKeys[] = {"daemon", "crypto", "port", "route", "tunnel"};
constexpr std::string_view kDaemonKeys[] = {"dataplane_socket", "control_socket", "state_dir", "log_level",
                                            "group"};
constexpr std::string_view kCryptoKeys[] = {"profile", "allow"};
constexpr std::string_view kPortKeys[] = {"name", "id", "role", "addresses", "mtu"};
constexpr std::string_view kRouteKeys[] = {"prefix", "via", "port"};
constexpr std::string_view kTunnelKeys[] = {
    "name",       "local", "remote",        "local_ts",    "remote_ts",            "mode",
    "udp_encap",  "udp_port", "esp",        "esn",         "replay_window",        "anti_replay",
    "allow_no_anti_replay",  "keying",      "enabled",     "lifetime",             "manual",
    "ike"};
constexpr std::string_view kLifetimeKeys[] = {"soft_seconds", "hard_seconds", "soft_bytes",
                                              "hard_bytes",   "soft_packets", "hard_packets"};
constexpr std::string_view kManualKeys[] = {"spi_out", "spi_in",       "key_out",
                                            "key_in",  "auth_key_out", "auth_key_in"};
constexpr std::string_view kIkeKeys[] = {"local_id", "remote_id", "auth",     "certificate", "private_key",
                                         "ca",       "psk_file",  "proposal", "initiate",    "ike_lifetime"};

// Reader walks one document, reporting into a Diag. Each getter returns
// nothing both when the key is absent and when it is wrong (after saying
// so), which leaves the model's default in place and lets reading go on.
class Reader {
 public:
  Reader(Diag& d, std::string base_dir) : d_(d), base_dir_(std::move(base_dir)) {}

  void read(const toml::table& root, Config& c);

 private:
  // keys rejects keys outside `allowed` and records the line of the
  // others in origin->keys under `prefix`.
  void keys(const toml::table& t, const std::string& field, std::span<const std::string_view> allowed,
            Origin* origin, std::string_view prefix = {});

  const toml::node* typed(const toml::table& t, std::string_view key, const std::string& field,
                          toml::node_type want, const char* want_word);
  std::optional<std::string> string(const toml::table& t, std::string_view key, const std::string& field);
  std::optional<std::string> path(const toml::table& t, std::string_view key, const std::string& field);
  std::optional<bool> boolean(const toml::table& t, std::string_view key, const std::string& field);
  std::optional<uint64_t> uint(const toml::table& t, std::string_view key, const std::string& field,
                               uint64_t lo, uint64_t hi);
  std::optional<std::string> choice(const toml::table& t, std::string_view key, const std::string& field,
                                    std::span<const std::string_view> allowed);
  std::optional<std::vector<std::string>> strings(const toml::table& t, std::string_view key,
                                                  const std::string& field);
  std::optional<api::IpAddr> address(const toml::table& t, std::string_view key, const std::string& field);
  // prefixes reads an array of "addr/len". `interface` = true takes the
  // host's own address with its on-link length (10.1.0.1/24); false takes
  // networks, whose host bits must be zero.
  std::optional<std::vector<api::Prefix>> prefixes(const toml::table& t, std::string_view key,
                                                    const std::string& field, bool interface);
  std::optional<api::Prefix> prefix(const toml::node& n, const std::string& field, bool interface);
  const toml::table* subtable(const toml::table& t, std::string_view key, const std::string& field);
  void missing(const toml::table& t, std::string_view key, const std::string& field, std::string_view what);

  // list returns the tables of a top-level [[key]] array.
  std::vector<const toml::table*> list(const toml::table& root, std::string_view key);

  void daemon(const toml::table& t, Config& c);
  void crypto(const toml::table& t, Config& c);
  void port(const toml::table& t, size_t index, Config& c);
  void route(const toml::table& t, size_t index, Config& c);
  void tunnel(const toml::table& t, size_t index, Config& c);
  void lifetime(const toml::table& t, const std::string& field, Tunnel& tun);
  void manual(const toml::table& t, const std::string& field, Tunnel& tun);
  void ike(const toml::table& t, const std::string& field, Tunnel& tun);

  std::string resolve(std::string p) const {
    if (p.empty() || p.front() == '/' || base_dir_.empty()) return p;
    return base_dir_ == "/" ? "/" + p : base_dir_ + "/" + p;
  }
  Origin origin(const toml::node& n) const { return Origin{d_.file(), line_of(n), {}}; }

  Diag& d_;
  std::string base_dir_;
};

void Reader::keys(const toml::table& t, const std::string& field, std::span<const std::string_view> allowed,
                  Origin* origin, std::string_view prefix) {
  for (auto&& [k, v] : t) {
    const std::string_view key = k.str();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::vector<std::string> names(allowed.begin(), allowed.end());
      std::string msg = "unknown key " + quote(key) + "; allowed keys: " + detail::join(names);
      const std::string guess = detail::closest(key, allowed);
      if (!guess.empty()) msg += " (did you mean " + quote(guess) + "?)";
      const std::string where = field.empty() ? std::string(key) : field + "." + std::string(key);
      d_.add(k.source().begin.line ? k.source().begin.line : line_of(v), where, msg);
      continue;
    }
    if (origin) origin->keys[std::string(prefix) + std::string(key)] = line_of(v);
  }
}

const toml::node* Reader::typed(const toml::table& t, std::string_view key, const std::string& field,
                                toml::node_type want, const char* want_word) {
  const toml::node* n = t.get(key);
  if (!n) return nullptr;
  if (n->type() != want) {
    d_.add(line_of(*n), field + "." + std::string(key),
           std::string("expected ") + want_word + ", got " + type_word(n->type()));
    return nullptr;
  }
  return n;
}

std::optional<std::string> Reader::string(const toml::table& t, std::string_view key, const std::string& field) {
  const toml::node* n = typed(t, key, field, toml::node_type::string, "a string");
  if (!n) return std::nullopt;
  return n->as_string()->get();
}

std::optional<std::string> Reader::path(const toml::table& t, std::string_view key, const std::string& field) {
  auto s = string(t, key, field);
  if (!s) return std::nullopt;
  if (s->empty() || s->find('\0') != std::string::npos) {
    d_.add(line_of(*t.get(key)), field + "." + std::string(key), "expected a file path, got " + quote(*s));
    return std::nullopt;
  }
  return resolve(std::move(*s));
}

std::optional<bool> Reader::boolean(const toml::table& t, std::string_view key, const std::string& field) {
  const toml::node* n = typed(t, key, field, toml::node_type::boolean, "true or false");
  if (!n) return std::nullopt;
  return n->as_boolean()->get();
}

std::optional<uint64_t> Reader::uint(const toml::table& t, std::string_view key, const std::string& field,
                                     uint64_t lo, uint64_t hi) {
  const toml::node* n = typed(t, key, field, toml::node_type::integer, "an integer");
  if (!n) return std::nullopt;
  const int64_t v = n->as_integer()->get();
  if (v < 0 || static_cast<uint64_t>(v) < lo || static_cast<uint64_t>(v) > hi) {
    d_.add(line_of(*n), field + "." + std::string(key),
           std::to_string(v) + " is out of range; allowed: " + std::to_string(lo) + ".." + std::to_string(hi));
    return std::nullopt;
  }
  return static_cast<uint64_t>(v);
}

std::optional<std::string> Reader::choice(const toml::table& t, std::string_view key, const std::string& field,
                                          std::span<const std::string_view> allowed) {
  auto s = string(t, key, field);
  if (!s) return std::nullopt;
  if (std::find(allowed.begin(), allowed.end(), *s) != allowed.end()) return s;
  std::vector<std::string> names(allowed.begin(), allowed.end());
  std::string msg = quote(*s) + " is not allowed; allowed: " + detail::join(names);
  const std::string guess = detail::closest(*s, allowed);
  if (!guess.empty()) msg += " (did you mean " + quote(guess) + "?)";
  d_.add(line_of(*t.get(key)), field + "." + std::string(key), msg);
  return std::nullopt;
}

std::optional<std::vector<std::string>> Reader::strings(const toml::table& t, std::string_view key,
                                                        const std::string& field) {
  const toml::node* n = typed(t, key, field, toml::node_type::array, "an array of strings");
  if (!n) return std::nullopt;
  std::vector<std::string> out;
  bool good = true;
  size_t i = 0;
  for (const toml::node& el : *n->as_array()) {
    if (!el.is_string()) {
      d_.add(line_of(el), field + "." + std::string(key) + "[" + std::to_string(i) + "]",
             std::string("expected a string, got ") + type_word(el.type()));
      good = false;
    } else {
      out.push_back(el.as_string()->get());
    }
    ++i;
  }
  if (!good) return std::nullopt;
  return out;
}

std::optional<api::IpAddr> Reader::address(const toml::table& t, std::string_view key, const std::string& field) {
  auto s = string(t, key, field);
  if (!s) return std::nullopt;
  auto a = api::IpAddr::parse(*s);
  if (!a) {
    d_.add(line_of(*t.get(key)), field + "." + std::string(key),
           quote(*s) + " is not an IP address; write it like 192.0.2.1 or 2001:db8::1");
  }
  return a;
}

std::optional<api::Prefix> Reader::prefix(const toml::node& n, const std::string& field, bool interface) {
  if (!n.is_string()) {
    d_.add(line_of(n), field, std::string("expected a string, got ") + type_word(n.type()));
    return std::nullopt;
  }
  const std::string& s = n.as_string()->get();
  auto p = api::Prefix::parse(s);
  if (interface) {
    if (!p || s.find('/') == std::string::npos) {
      d_.add(line_of(n), field,
             quote(s) + " is not an address with its on-link prefix length; write it like 10.1.0.1/24 "
                        "or fd00:1::1/64");
      return std::nullopt;
    }
    return p;
  }
  if (!p) {
    d_.add(line_of(n), field,
           quote(s) + " is not an address prefix; write it like 10.1.0.0/24 or fd00:1::/64 "
                      "(a bare address means a single host)");
    return std::nullopt;
  }
  if (!detail::host_bits_zero(*p)) {
    d_.add(line_of(n), field,
           quote(s) + " has bits set after the prefix length; did you mean " + detail::network_of(*p).str() +
               "?");
    return std::nullopt;
  }
  return p;
}

std::optional<std::vector<api::Prefix>> Reader::prefixes(const toml::table& t, std::string_view key,
                                                          const std::string& field, bool interface) {
  const toml::node* n = typed(t, key, field, toml::node_type::array, "an array of address strings");
  if (!n) return std::nullopt;
  std::vector<api::Prefix> out;
  bool good = true;
  size_t i = 0;
  for (const toml::node& el : *n->as_array()) {
    auto p = prefix(el, field + "." + std::string(key) + "[" + std::to_string(i++) + "]", interface);
    if (p) {
      out.push_back(*p);
    } else {
      good = false;
    }
  }
  if (!good) return std::nullopt;
  return out;
}

const toml::table* Reader::subtable(const toml::table& t, std::string_view key, const std::string& field) {
  const toml::node* n = typed(t, key, field, toml::node_type::table, "a table");
  return n ? n->as_table() : nullptr;
}

void Reader::missing(const toml::table& t, std::string_view key, const std::string& field, std::string_view what) {
  if (t.contains(key)) return;  // present but wrong: already reported
  d_.add(line_of(t), field + "." + std::string(key), "missing; " + std::string(what));
}

std::vector<const toml::table*> Reader::list(const toml::table& root, std::string_view key) {
  std::vector<const toml::table*> out;
  const toml::node* n = root.get(key);
  if (!n) return out;
  const std::string how = "write each as a [[" + std::string(key) + "]] section";
  if (!n->is_array()) {
    d_.add(line_of(*n), std::string(key), std::string("expected an array of tables, got ") + type_word(n->type()) +
                                              "; " + how);
    return out;
  }
  size_t i = 0;
  for (const toml::node& el : *n->as_array()) {
    if (const toml::table* t = el.as_table()) {
      out.push_back(t);
    } else {
      d_.add(line_of(el), std::string(key) + "[" + std::to_string(i) + "]",
             std::string("expected a table, got ") + type_word(el.type()) + "; " + how);
    }
    ++i;
  }
  return out;
}

void Reader::read(const toml::table& root, Config& c) {
  keys(root, "", kTopKeys, nullptr);
  if (const toml::table* t = subtable(root, "daemon", "")) daemon(*t, c);
  if (const toml::table* t = subtable(root, "crypto", "")) crypto(*t, c);
  const auto ports = list(root, "port");
  for (size_t i = 0; i < ports.size(); ++i) port(*ports[i], i, c);
  const auto routes = list(root, "route");
  for (size_t i = 0; i < routes.size(); ++i) route(*routes[i], i, c);
  const auto tunnels = list(root, "tunnel");
  for (size_t i = 0; i < tunnels.size(); ++i) tunnel(*tunnels[i], i, c);
}

void Reader::daemon(const toml::table& t, Config& c) {
  const std::string f = "daemon";
  DaemonSettings& s = c.daemon;
  s.origin = origin(t);
  keys(t, f, kDaemonKeys, &s.origin);
  if (auto v = path(t, "dataplane_socket", f)) s.dataplane_socket = *v;
  if (auto v = path(t, "control_socket", f)) s.control_socket = *v;
  if (auto v = path(t, "state_dir", f)) s.state_dir = *v;
  constexpr std::string_view kLevels[] = {"error", "warn", "info", "debug"};
  if (auto v = choice(t, "log_level", f, kLevels)) s.log_level = *v;
  if (auto v = string(t, "group", f)) s.group = *v;
}

void Reader::crypto(const toml::table& t, Config& c) {
  const std::string f = "crypto";
  c.crypto.origin = origin(t);
  keys(t, f, kCryptoKeys, &c.crypto.origin);
  constexpr std::string_view kProfiles[] = {"prime", "prime-256"};
  if (auto v = choice(t, "profile", f, kProfiles)) c.crypto.profile = *v;
  if (auto v = strings(t, "allow", f)) c.crypto.allow = *v;
}

void Reader::port(const toml::table& t, size_t index, Config& c) {
  Port p;
  p.origin = origin(t);
  const auto* name_node = t.get("name");
  const std::string f = detail::label("port", name_node && name_node->is_string() ? name_node->as_string()->get()
                                                                                   : std::string(),
                                      index);
  keys(t, f, kPortKeys, &p.origin);
  if (auto v = string(t, "name", f)) p.name = *v;
  missing(t, "name", f, "give the port a name, e.g. name = \"wan\"");
  if (auto v = uint(t, "id", f, 0, 65535)) p.id = static_cast<uint16_t>(*v);
  missing(t, "id", f, "set the DPDK port id, e.g. id = 0");
  constexpr std::string_view kRoles[] = {"protected", "unprotected"};
  if (auto v = choice(t, "role", f, kRoles)) {
    p.role = *v == "protected" ? api::PortRole::kProtected : api::PortRole::kUnprotected;
  }
  missing(t, "role", f, "set role = \"protected\" (plaintext side) or \"unprotected\" (ciphertext side)");
  if (auto v = prefixes(t, "addresses", f, true)) p.addresses = *v;
  if (auto v = uint(t, "mtu", f, 0, 65535)) p.mtu = static_cast<uint16_t>(*v);
  c.ports.push_back(std::move(p));
}

void Reader::route(const toml::table& t, size_t index, Config& c) {
  Route r;
  r.origin = origin(t);
  const std::string f = "route[" + std::to_string(index) + "]";
  keys(t, f, kRouteKeys, &r.origin);
  if (const toml::node* n = typed(t, "prefix", f, toml::node_type::string, "a string")) {
    if (auto p = prefix(*n, f + ".prefix", false)) r.prefix = *p;
  }
  missing(t, "prefix", f, "set the destination, e.g. prefix = \"10.2.0.0/24\"");
  if (auto v = address(t, "via", f)) r.via = *v;
  if (auto v = string(t, "port", f)) r.port = *v;
  missing(t, "port", f, "name the port the route leaves by, e.g. port = \"wan\"");
  c.routes.push_back(std::move(r));
}

void Reader::tunnel(const toml::table& t, size_t index, Config& c) {
  Tunnel tun;
  tun.origin = origin(t);
  const auto* name_node = t.get("name");
  const std::string f = detail::label(
      "tunnel", name_node && name_node->is_string() ? name_node->as_string()->get() : std::string(), index);
  keys(t, f, kTunnelKeys, &tun.origin);

  if (auto v = string(t, "name", f)) tun.name = *v;
  missing(t, "name", f, "give the tunnel a name, e.g. name = \"to-gw2\"");
  if (auto v = address(t, "local", f)) tun.local = *v;
  missing(t, "local", f, "set the gateway's own outer address, one of an unprotected port's addresses");
  if (auto v = address(t, "remote", f)) tun.remote = *v;
  missing(t, "remote", f, "set the peer gateway's outer address");

  constexpr std::string_view kModes[] = {"tunnel", "transport"};
  if (auto v = choice(t, "mode", f, kModes)) tun.mode = *v == "tunnel" ? api::Mode::kTunnel : api::Mode::kTransport;

  if (auto v = prefixes(t, "local_ts", f, false)) tun.local_ts = *v;
  if (auto v = prefixes(t, "remote_ts", f, false)) tun.remote_ts = *v;
  // Transport mode protects traffic between the endpoints themselves, so
  // the endpoints are the natural default selectors.
  if (tun.mode == api::Mode::kTransport) {
    const uint8_t host = tun.local.family == api::Family::kIpv4 ? 32 : 128;
    if (!t.contains("local_ts") && tun.local.family != api::Family::kNone) tun.local_ts = {{tun.local, host}};
    if (!t.contains("remote_ts") && tun.remote.family != api::Family::kNone) {
      tun.remote_ts = {{tun.remote, tun.remote.family == api::Family::kIpv4 ? uint8_t{32} : uint8_t{128}}};
    }
  } else {
    missing(t, "local_ts", f, "list the protected networks on this side, e.g. local_ts = [\"10.1.0.0/24\"]");
    missing(t, "remote_ts", f, "list the protected networks behind the peer, e.g. remote_ts = [\"10.2.0.0/24\"]");
  }

  if (auto v = boolean(t, "udp_encap", f)) tun.udp_encap = *v;
  if (auto v = uint(t, "udp_port", f, 1, 65535)) tun.udp_port = static_cast<uint16_t>(*v);
  if (auto v = string(t, "esp", f)) tun.esp = *v;
  if (auto v = boolean(t, "esn", f)) tun.esn = *v;
  if (auto v = uint(t, "replay_window", f, 0, std::numeric_limits<uint32_t>::max())) {
    tun.replay_window = static_cast<uint32_t>(*v);
  }
  if (auto v = boolean(t, "anti_replay", f)) tun.anti_replay = *v;
  if (auto v = boolean(t, "allow_no_anti_replay", f)) tun.allow_no_anti_replay = *v;
  constexpr std::string_view kKeyings[] = {"manual", "ikev2"};
  if (auto v = choice(t, "keying", f, kKeyings)) tun.keying = *v == "manual" ? Keying::kManual : Keying::kIkev2;
  if (auto v = boolean(t, "enabled", f)) tun.enabled = *v;

  if (tun.keying == Keying::kIkev2) tun.lifetime.hard_seconds = kIkeChildHardSeconds;
  const toml::table* life = subtable(t, "lifetime", f);
  if (life) {
    lifetime(*life, f + ".lifetime", tun);
  } else if (tun.keying == Keying::kIkev2) {
    tun.lifetime.soft_seconds = kIkeChildHardSeconds * kSoftPercent / 100;
  }

  const toml::table* man = subtable(t, "manual", f);
  const toml::table* ik = subtable(t, "ike", f);
  if (tun.keying == Keying::kManual) {
    if (man) {
      manual(*man, f + ".manual", tun);
    } else if (!t.contains("manual")) {
      d_.add(line_of(t), f + ".manual",
             "missing; keying = \"manual\" needs a [tunnel.manual] section with spi_out, spi_in, key_out "
             "and key_in");
    }
    if (ik) d_.add(line_of(*ik), f + ".ike", "only used with keying = \"ikev2\"; remove it or change keying");
  } else {
    if (ik) ike(*ik, f + ".ike", tun);
    if (man) d_.add(line_of(*man), f + ".manual", "only used with keying = \"manual\"; remove it or change keying");
  }
  c.tunnels.push_back(std::move(tun));
}

void Reader::lifetime(const toml::table& t, const std::string& field, Tunnel& tun) {
  keys(t, field, kLifetimeKeys, &tun.origin, "lifetime.");
  api::Lifetime& l = tun.lifetime;
  // Each soft limit not given defaults to kSoftPercent of its hard limit,
  // so that the operator (or IKE) hears about expiry before traffic stops.
  auto pair = [&](std::string_view soft_key, std::string_view hard_key, uint64_t& soft, uint64_t& hard) {
    if (auto v = uint(t, hard_key, field, 0, kMaxToml)) hard = *v;
    if (auto v = uint(t, soft_key, field, 0, kMaxToml)) {
      soft = *v;
    } else if (!t.contains(soft_key)) {
      soft = hard / 100 * kSoftPercent + hard % 100 * kSoftPercent / 100;
    }
  };
  pair("soft_seconds", "hard_seconds", l.soft_seconds, l.hard_seconds);
  pair("soft_bytes", "hard_bytes", l.soft_bytes, l.hard_bytes);
  pair("soft_packets", "hard_packets", l.soft_packets, l.hard_packets);
}

void Reader::manual(const toml::table& t, const std::string& field, Tunnel& tun) {
  keys(t, field, kManualKeys, &tun.origin, "manual.");
  ManualKeys& m = tun.manual;
  constexpr uint64_t kMaxSpi = std::numeric_limits<uint32_t>::max();
  if (auto v = uint(t, "spi_out", field, 0, kMaxSpi)) m.spi_out = static_cast<uint32_t>(*v);
  if (auto v = uint(t, "spi_in", field, 0, kMaxSpi)) m.spi_in = static_cast<uint32_t>(*v);
  if (auto v = path(t, "key_out", field)) m.key_out = *v;
  if (auto v = path(t, "key_in", field)) m.key_in = *v;
  if (auto v = path(t, "auth_key_out", field)) m.auth_key_out = *v;
  if (auto v = path(t, "auth_key_in", field)) m.auth_key_in = *v;
}

void Reader::ike(const toml::table& t, const std::string& field, Tunnel& tun) {
  keys(t, field, kIkeKeys, &tun.origin, "ike.");
  IkeSettings& k = tun.ike;
  if (auto v = string(t, "local_id", field)) k.local_id = *v;
  if (auto v = string(t, "remote_id", field)) k.remote_id = *v;
  constexpr std::string_view kAuths[] = {"ecdsa", "psk", "ed25519"};
  if (auto v = choice(t, "auth", field, kAuths)) k.auth = *v;
  if (auto v = path(t, "certificate", field)) k.certificate = *v;
  if (auto v = path(t, "private_key", field)) k.private_key = *v;
  if (auto v = path(t, "ca", field)) k.ca = *v;
  if (auto v = path(t, "psk_file", field)) k.psk_file = *v;
  if (auto v = string(t, "proposal", field)) k.proposal = *v;
  if (auto v = boolean(t, "initiate", field)) k.initiate = *v;
  if (auto v = uint(t, "ike_lifetime", field, 1, kMaxToml)) k.ike_lifetime_seconds = *v;
}

std::string dir_of(const std::string& name) {
  const size_t slash = name.rfind('/');
  if (slash == std::string::npos) return {};
  if (slash == 0) return "/";
  return name.substr(0, slash);
}

}  // namespace

LoadResult parse_text(std::string_view text, const std::string& name) {
  LoadResult r;
  Diag d(name, &r.errors);
  if (auto bad = detail::toml_guard(text)) {
    d.add(bad->line, "", "TOML syntax error at column " + std::to_string(bad->column) + ": " + bad->message);
    return r;
  }
  toml::table root;
  try {
    root = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    d.add(at.line, "",
          "TOML syntax error at column " + std::to_string(at.column) + ": " + std::string(e.description()));
    return r;
  }
  Config c;
  c.path = name;
  Reader(d, dir_of(name)).read(root, c);
  // Errors in file order read best, whichever check found them.
  auto by_line = [](const ConfigError& a, const ConfigError& b) { return a.line < b.line; };
  if (!r.errors.empty()) {
    std::stable_sort(r.errors.begin(), r.errors.end(), by_line);
    return r;
  }
  r.errors = validate(c);
  std::stable_sort(r.errors.begin(), r.errors.end(), by_line);
  if (r.errors.empty()) r.config = std::move(c);
  return r;
}

LoadResult load_file(const std::string& path) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path, ec);
  const std::string name = ec ? path : abs.lexically_normal().string();
  LoadResult r;
  auto fail = [&](std::string msg) {
    r.errors.push_back(ConfigError{name, 0, "", std::move(msg)});
    return r;
  };
  const int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return fail(std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  std::string text;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail("not a regular file; give the path of a TOML config file");
  }
  constexpr off_t kMaxSize = 16 << 20;
  if (st.st_size > kMaxSize) {
    ::close(fd);
    return fail("larger than 16 MiB; this is not a Portcullis config");
  }
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return fail(std::string("cannot read: ") + std::strerror(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return parse_text(text, name);
}

}  // namespace portcullis::config
