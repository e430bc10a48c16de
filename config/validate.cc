// validate.cc: the second pass (parser.h), over a whole Config: how items
// relate to each other, and what the crypto profile allows. It sees only
// the model, so it runs the same on a file just read and after CLI edits.
#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "config/diag.h"
#include "config/parser.h"
#include "crypto/suite.h"
#include "dataplane/ipsec/replay_window.h"

namespace portcullis::config {
namespace {

using detail::Diag;
using detail::quote;

constexpr uint64_t kMaxToml = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

const char* family_word(api::Family f) {
  switch (f) {
    case api::Family::kIpv4:
      return "IPv4";
    case api::Family::kIpv6:
      return "IPv6";
    case api::Family::kNone:
      break;
  }
  return "no address";
}

class Validator {
 public:
  Validator(const Config& c, Diag& d) : c_(c), d_(d) {}

  void run() {
    daemon();
    crypto();
    for (size_t i = 0; i < c_.ports.size(); ++i) port(i);
    for (size_t i = 0; i < c_.routes.size(); ++i) route(i);
    if (!c_.tunnels.empty()) port_roles();
    for (size_t i = 0; i < c_.tunnels.size(); ++i) tunnel(i);
  }

 private:
  void daemon();
  void crypto();
  void port(size_t i);
  void route(size_t i);
  void port_roles();
  void tunnel(size_t i);
  void endpoints(const Tunnel& t, const std::string& f);
  void selectors(const Tunnel& t, const std::string& f);
  void esp(const Tunnel& t, const std::string& f);
  void lifetime(const Tunnel& t, const std::string& f);
  void manual(const Tunnel& t, const std::string& f, const crypto::Suite* suite);
  void ike(const Tunnel& t, const std::string& f);

  // error points at the line of `key` within the item if it was read.
  void error(const Origin& o, std::string_view key, const std::string& field, std::string msg) {
    d_.add(o.line_of(key), field + "." + std::string(key), std::move(msg));
  }
  std::string allowed_esp() const {
    std::vector<std::string> names = c_.crypto.profile_suites();
    for (const auto& a : c_.crypto.allow) {
      if (crypto::parse_suite(a) && std::find(names.begin(), names.end(), a) == names.end()) names.push_back(a);
    }
    return names.empty() ? std::string("none") : detail::join(names);
  }

  const Config& c_;
  Diag& d_;
  std::map<uint32_t, std::string> spi_in_, spi_out_;  // SPI -> tunnel that has it
};

void Validator::daemon() {
  const DaemonSettings& s = c_.daemon;
  const std::string f = "daemon";
  auto path = [&](std::string_view key, const std::string& v) {
    if (v.empty()) error(s.origin, key, f, "must not be empty; give a path");
  };
  path("dataplane_socket", s.dataplane_socket);
  path("control_socket", s.control_socket);
  path("state_dir", s.state_dir);
  if (s.dataplane_socket == s.control_socket && !s.control_socket.empty()) {
    error(s.origin, "control_socket", f, "is the same path as dataplane_socket; give each socket its own path");
  }
  constexpr std::string_view kLevels[] = {"error", "warn", "info", "debug"};
  if (std::find(std::begin(kLevels), std::end(kLevels), s.log_level) == std::end(kLevels)) {
    error(s.origin, "log_level", f, quote(s.log_level) + " is not allowed; allowed: error, warn, info, debug");
  }
  if (s.group.empty()) error(s.origin, "group", f, "must not be empty; name the group allowed on the control socket");
}

void Validator::crypto() {
  const CryptoPolicy& p = c_.crypto;
  if (p.profile != "prime" && p.profile != "prime-256") {
    error(p.origin, "profile", "crypto", quote(p.profile) + " is not allowed; allowed: prime, prime-256");
  }
  std::vector<std::string> known(detail::allow_words().begin(), detail::allow_words().end());
  known.insert(known.end(), detail::esp_suite_names().begin(), detail::esp_suite_names().end());
  std::set<std::string> seen;
  for (size_t i = 0; i < p.allow.size(); ++i) {
    const std::string& a = p.allow[i];
    const std::string f = "crypto.allow[" + std::to_string(i) + "]";
    if (!detail::known_allow_item(a)) {
      d_.add(p.origin.line_of("allow"), f, quote(a) + " is not a known item; allowed: " + detail::join(known));
    } else if (!seen.insert(a).second) {
      d_.add(p.origin.line_of("allow"), f, quote(a) + " is listed twice; remove one");
    }
  }
}

void Validator::port(size_t i) {
  const Port& p = c_.ports[i];
  const std::string f = detail::label("port", p.name, i);
  if (!valid_name(p.name)) {
    error(p.origin, "name", f, quote(p.name) + " is not a valid name; use 1 to 32 of a-z, 0-9, '-' and '_'");
  }
  for (size_t j = 0; j < i; ++j) {
    const Port& q = c_.ports[j];
    if (!p.name.empty() && q.name == p.name) {
      error(p.origin, "name", f, "the name " + quote(p.name) + " is already used by the port on line " +
                                     std::to_string(q.origin.line) + "; port names must be unique");
    }
    if (q.id == p.id) {
      error(p.origin, "id", f, "id " + std::to_string(p.id) + " is already used by port " + quote(q.name) +
                                   "; each DPDK port can be configured once");
    }
  }
  bool v6 = false;
  for (size_t k = 0; k < p.addresses.size(); ++k) {
    const api::Prefix& a = p.addresses[k];
    const std::string af = f + ".addresses[" + std::to_string(k) + "]";
    const uint32_t line = p.origin.line_of("addresses");
    v6 |= a.addr.family == api::Family::kIpv6;
    if (a.addr.family == api::Family::kNone) {
      d_.add(line, af, "has no address; write it like 10.1.0.1/24");
      continue;
    }
    const bool multicast = a.addr.family == api::Family::kIpv4 ? (a.addr.bytes[0] & 0xf0) == 0xe0
                                                               : a.addr.bytes[0] == 0xff;
    if (a.addr == api::IpAddr{a.addr.family, {}} || multicast) {
      d_.add(line, af, a.str() + " cannot be a port's own address (unspecified or multicast)");
    } else if (a.addr.family == api::Family::kIpv4 && a.len < 31 && detail::host_bits_zero(a)) {
      d_.add(line, af, a.str() + " is the network address of its subnet; give the port's own address, e.g. " +
                           api::IpAddr::v4(a.addr.bytes[0], a.addr.bytes[1], a.addr.bytes[2],
                                           static_cast<uint8_t>(a.addr.bytes[3] | 1))
                               .str() +
                           "/" + std::to_string(a.len));
    }
    // The same address on two ports (or twice) makes ARP/ND answers ambiguous.
    for (size_t j = 0; j <= i; ++j) {
      const auto& other = c_.ports[j].addresses;
      const size_t end = j == i ? k : other.size();
      for (size_t m = 0; m < end; ++m) {
        if (other[m].addr == a.addr) {
          d_.add(line, af, a.addr.str() + " is already an address of port " + quote(c_.ports[j].name) +
                               "; an address belongs to one port");
        }
      }
    }
  }
  const uint16_t min_mtu = v6 ? 1280 : 576;
  if (p.mtu < min_mtu || p.mtu > 9216) {
    error(p.origin, "mtu", f,
          std::to_string(p.mtu) + " is out of range; allowed: " + std::to_string(min_mtu) + "..9216" +
              (v6 ? " (IPv6 needs at least 1280)" : ""));
  }
}

void Validator::route(size_t i) {
  const Route& r = c_.routes[i];
  const std::string f = "route[" + std::to_string(i) + "]";
  if (r.prefix.addr.family == api::Family::kNone) {
    error(r.origin, "prefix", f, "missing; set the destination, e.g. prefix = \"10.2.0.0/24\"");
  } else if (!detail::host_bits_zero(r.prefix)) {
    error(r.origin, "prefix", f,
          r.prefix.str() + " has bits set after the prefix length; did you mean " +
              detail::network_of(r.prefix).str() + "?");
  }
  for (size_t j = 0; j < i; ++j) {
    if (c_.routes[j].prefix == r.prefix) {
      error(r.origin, "prefix", f, r.prefix.str() + " already has a route (route[" + std::to_string(j) +
                                       "]); routes are keyed by prefix, keep one");
    }
  }
  const Port* p = c_.find_port(r.port);
  if (!p) {
    std::vector<std::string> names;
    for (const auto& q : c_.ports) names.push_back(q.name);
    error(r.origin, "port", f, "no port is named " + quote(r.port) + "; ports: " +
                                   (names.empty() ? std::string("none defined") : detail::join(names)));
  }
  if (!r.via) return;
  if (r.via->family != r.prefix.addr.family) {
    error(r.origin, "via", f, std::string(family_word(r.via->family)) + " next hop " + r.via->str() +
                                  " for an " + family_word(r.prefix.addr.family) +
                                  " prefix; the next hop must be of the prefix's family");
    return;
  }
  if (!p) return;
  bool on_link = false;
  std::vector<std::string> subnets;
  for (const auto& a : p->addresses) {
    on_link |= detail::prefix_contains(a, *r.via);
    if (a.addr.family == r.via->family) subnets.push_back(detail::network_of(a).str());
  }
  if (!on_link) {
    error(r.origin, "via", f, r.via->str() + " is not on a subnet of port " + quote(p->name) + " (" +
                                  (subnets.empty() ? std::string("it has no ") + family_word(r.via->family) +
                                                         " address"
                                                   : detail::join(subnets)) +
                                  "); a next hop must be directly reachable");
  }
}

void Validator::port_roles() {
  bool prot = false, unprot = false;
  for (const auto& p : c_.ports) {
    prot |= p.role == api::PortRole::kProtected;
    unprot |= p.role == api::PortRole::kUnprotected;
  }
  const uint32_t line = c_.tunnels.front().origin.line;
  if (!prot) {
    d_.add(line, "port", "tunnels need at least one port with role = \"protected\" (the plaintext side)");
  }
  if (!unprot) {
    d_.add(line, "port", "tunnels need at least one port with role = \"unprotected\" (the ciphertext side)");
  }
}

void Validator::tunnel(size_t i) {
  const Tunnel& t = c_.tunnels[i];
  const std::string f = detail::label("tunnel", t.name, i);
  if (!valid_name(t.name)) {
    error(t.origin, "name", f, quote(t.name) + " is not a valid name; use 1 to 32 of a-z, 0-9, '-' and '_'");
  }
  for (size_t j = 0; j < i; ++j) {
    if (!t.name.empty() && c_.tunnels[j].name == t.name) {
      error(t.origin, "name", f, "the name " + quote(t.name) + " is already used by the tunnel on line " +
                                     std::to_string(c_.tunnels[j].origin.line) + "; tunnel names must be unique");
    }
  }
  endpoints(t, f);
  selectors(t, f);
  esp(t, f);
  if (t.udp_port == 0) error(t.origin, "udp_port", f, "0 is out of range; allowed: 1..65535");
  lifetime(t, f);
  if (t.keying == Keying::kManual) {
    auto suite = crypto::parse_suite(t.esp);
    manual(t, f, suite ? &*suite : nullptr);
  } else {
    ike(t, f);
  }
}

void Validator::endpoints(const Tunnel& t, const std::string& f) {
  if (t.local.family == api::Family::kNone) error(t.origin, "local", f, "missing; set the gateway's outer address");
  if (t.remote.family == api::Family::kNone) error(t.origin, "remote", f, "missing; set the peer's outer address");
  if (t.local.family == api::Family::kNone || t.remote.family == api::Family::kNone) return;
  if (t.local.family != t.remote.family) {
    error(t.origin, "remote", f, std::string(family_word(t.remote.family)) + " address " + t.remote.str() +
                                     " with an " + family_word(t.local.family) + " local address " +
                                     t.local.str() + "; both endpoints must be of one family");
  }
  if (t.local == t.remote) error(t.origin, "remote", f, "is the same as local; give the peer's address");
  std::vector<std::string> candidates;
  for (const auto& p : c_.ports) {
    if (p.role != api::PortRole::kUnprotected) continue;
    for (const auto& a : p.addresses) {
      if (a.addr == t.local) return;
      candidates.push_back(a.addr.str() + " (port " + quote(p.name) + ")");
    }
  }
  error(t.origin, "local", f, t.local.str() + " is not an address of an unprotected port; allowed: " +
                                  (candidates.empty() ? std::string("none (no unprotected port has an address)")
                                                      : detail::join(candidates)));
}

void Validator::selectors(const Tunnel& t, const std::string& f) {
  if (t.local_ts.empty()) error(t.origin, "local_ts", f, "is empty; list at least one protected prefix");
  if (t.remote_ts.empty()) error(t.origin, "remote_ts", f, "is empty; list at least one protected prefix");
  auto check = [&](std::string_view key, const std::vector<api::Prefix>& ts) {
    for (const auto& p : ts) {
      if (p.addr.family == api::Family::kNone || !detail::host_bits_zero(p)) {
        error(t.origin, key, f, p.str() + " is not a network prefix; did you mean " +
                                    detail::network_of(p).str() + "?");
      }
    }
  };
  check("local_ts", t.local_ts);
  check("remote_ts", t.remote_ts);
  // Policies pair each local prefix with each remote prefix of its family;
  // a family present on one side only would pair with nothing.
  for (const auto fam : {api::Family::kIpv4, api::Family::kIpv6}) {
    auto has = [&](const std::vector<api::Prefix>& ts) {
      return std::any_of(ts.begin(), ts.end(), [&](const api::Prefix& p) { return p.addr.family == fam; });
    };
    if (has(t.local_ts) && !has(t.remote_ts)) {
      error(t.origin, "remote_ts", f, std::string("has no ") + family_word(fam) + " prefix but local_ts has; " +
                                          "add the peer's " + family_word(fam) +
                                          " networks or remove them from local_ts");
    } else if (has(t.remote_ts) && !has(t.local_ts)) {
      error(t.origin, "local_ts", f, std::string("has no ") + family_word(fam) + " prefix but remote_ts has; " +
                                         "add this side's " + family_word(fam) +
                                         " networks or remove them from remote_ts");
    }
  }
  if (t.mode != api::Mode::kTransport) return;
  // Transport mode carries the endpoints' own packets: every selector must
  // cover its endpoint.
  for (const auto& p : t.local_ts) {
    if (!detail::prefix_contains(p, t.local)) {
      error(t.origin, "local_ts", f, p.str() + " does not contain local " + t.local.str() +
                                         "; in transport mode selectors cover the endpoints themselves");
    }
  }
  for (const auto& p : t.remote_ts) {
    if (!detail::prefix_contains(p, t.remote)) {
      error(t.origin, "remote_ts", f, p.str() + " does not contain remote " + t.remote.str() +
                                          "; in transport mode selectors cover the endpoints themselves");
    }
  }
}

void Validator::esp(const Tunnel& t, const std::string& f) {
  const auto suite = crypto::parse_suite(t.esp);
  if (!suite) {
    error(t.origin, "esp", f, quote(t.esp) + " is not an ESP suite; known: " +
                                  detail::join(detail::esp_suite_names()));
  } else if (!c_.crypto.esp_allowed(t.esp)) {
    error(t.origin, "esp", f, quote(t.esp) + " is not allowed by profile " + quote(c_.crypto.profile) +
                                  "; allowed: " + allowed_esp() + "; add it to crypto.allow to use it");
  }
  if (!t.esn && !c_.crypto.allows("noesn")) {
    error(t.origin, "esn", f, "false (32-bit sequence numbers) is not allowed by profile " +
                                  quote(c_.crypto.profile) + "; add \"noesn\" to crypto.allow to use it");
  }
  if (!t.anti_replay && !t.allow_no_anti_replay) {
    error(t.origin, "anti_replay", f,
          "false is refused unless the tunnel also sets allow_no_anti_replay = true (for benchmarks "
          "that replay one capture)");
  }
  if (t.anti_replay) {
    // The data plane's limits (replay_window.h); its validate() lives in
    // the DPDK library, which the daemon does not link.
    constexpr uint32_t kMin = dp::ReplayWindow::kMinSize, kMax = dp::ReplayWindow::kMaxSize;
    if (t.replay_window < kMin || t.replay_window > kMax) {
      error(t.origin, "replay_window", f,
            std::to_string(t.replay_window) + " packets is " + (t.replay_window < kMin ? "smaller than 64" : "larger than 1048576") +
                " packets; allowed: " + std::to_string(kMin) + ".." + std::to_string(kMax));
    }
  }
}

void Validator::lifetime(const Tunnel& t, const std::string& f) {
  const api::Lifetime& l = t.lifetime;
  auto pair = [&](std::string_view soft_key, uint64_t soft, std::string_view hard_key, uint64_t hard) {
    const std::string sk = "lifetime." + std::string(soft_key);
    if (soft > kMaxToml) error(t.origin, sk, f, "is too large; at most " + std::to_string(kMaxToml));
    if (hard > kMaxToml) {
      error(t.origin, "lifetime." + std::string(hard_key), f, "is too large; at most " + std::to_string(kMaxToml));
    }
    if (hard != 0 && soft >= hard) {
      error(t.origin, sk, f, std::to_string(soft) + " must be below " + std::string(hard_key) + " (" +
                                 std::to_string(hard) + "), or the SA dies before its soft expiry warns anyone");
    }
  };
  pair("soft_seconds", l.soft_seconds, "hard_seconds", l.hard_seconds);
  pair("soft_bytes", l.soft_bytes, "hard_bytes", l.hard_bytes);
  pair("soft_packets", l.soft_packets, "hard_packets", l.hard_packets);
}

void Validator::manual(const Tunnel& t, const std::string& f, const crypto::Suite* suite) {
  const ManualKeys& m = t.manual;
  const std::string mf = f;
  auto spi = [&](std::string_view key, uint32_t v, std::map<uint32_t, std::string>& seen, const char* dir) {
    const std::string k = "manual." + std::string(key);
    if (v == 0) {
      error(t.origin, k, mf, "missing; set a " + std::string(dir) + " SPI of 256 or more, e.g. 0x1001");
      return;
    }
    if (v < 256) {
      error(t.origin, k, mf, std::to_string(v) + " is reserved (RFC 4303 section 2.1: SPIs 1-255 belong to "
                                                 "IANA); use 256 or more");
      return;
    }
    auto [it, fresh] = seen.emplace(v, t.name);
    if (!fresh) {
      char hex[16];
      std::snprintf(hex, sizeof hex, "0x%08x", v);
      error(t.origin, k, mf, std::string(hex) + " is already the " + dir + " SPI of tunnel " + quote(it->second) +
                                 "; SPIs must be unique per direction");
    }
  };
  spi("spi_out", m.spi_out, spi_out_, "outbound");
  spi("spi_in", m.spi_in, spi_in_, "inbound");
  auto need = [&](std::string_view key, const std::string& v, const char* what) {
    if (v.empty()) error(t.origin, "manual." + std::string(key), mf, std::string("missing; give the path of ") + what);
  };
  need("key_out", m.key_out, "the outbound key file (hex, mode 0600)");
  need("key_in", m.key_in, "the inbound key file (hex, mode 0600)");
  if (!suite) return;
  if (suite->is_aead()) {
    auto unused = [&](std::string_view key, const std::string& v) {
      if (!v.empty()) {
        error(t.origin, "manual." + std::string(key), mf,
              "is only used with CBC suites; " + std::string(suite->name()) +
                  " is an AEAD whose key file holds key and salt; remove it");
      }
    };
    unused("auth_key_out", m.auth_key_out);
    unused("auth_key_in", m.auth_key_in);
  } else {
    need("auth_key_out", m.auth_key_out, "the outbound HMAC key file (CBC suites need one)");
    need("auth_key_in", m.auth_key_in, "the inbound HMAC key file (CBC suites need one)");
  }
}

void Validator::ike(const Tunnel& t, const std::string& f) {
  const IkeSettings& k = t.ike;
  const std::string kf = f;
  if (k.auth == "psk") {
    if (!c_.crypto.allows("psk")) {
      error(t.origin, "ike.auth", kf, "\"psk\" is not allowed by profile " + quote(c_.crypto.profile) +
                                          " (certificates only); add \"psk\" to crypto.allow to use it");
    }
    if (k.psk_file.empty()) error(t.origin, "ike.psk_file", kf, "missing; auth = \"psk\" needs a key file (mode 0600)");
  } else if (k.auth == "ecdsa" || k.auth == "ed25519") {
    if (k.auth == "ed25519" && !c_.crypto.allows("ed25519")) {
      error(t.origin, "ike.auth", kf, "\"ed25519\" is not allowed by profile " + quote(c_.crypto.profile) +
                                          "; add \"ed25519\" to crypto.allow to use it");
    }
    if (k.certificate.empty()) error(t.origin, "ike.certificate", kf, "missing; auth = " + quote(k.auth) + " needs this gateway's certificate");
    if (k.private_key.empty()) error(t.origin, "ike.private_key", kf, "missing; auth = " + quote(k.auth) + " needs the certificate's private key (mode 0600)");
    if (k.ca.empty()) error(t.origin, "ike.ca", kf, "missing; auth = " + quote(k.auth) + " needs the CA certificate that signs the peer's");
  } else {
    error(t.origin, "ike.auth", kf, quote(k.auth) + " is not allowed; allowed: ecdsa, psk, ed25519");
  }
  if (k.ike_lifetime_seconds == 0) error(t.origin, "ike.ike_lifetime", kf, "0 is out of range; give seconds, e.g. 86400");
  if (k.proposal.empty()) return;
  // proposal is ENC-PRF-DH, e.g. aes128gcm16-prfsha256-ecp256; each part
  // must be in the profile or allowed explicitly.
  const bool p256 = c_.crypto.profile == "prime-256";
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t dash = k.proposal.find('-', start);
    parts.push_back(k.proposal.substr(start, dash - start));
    if (dash == std::string::npos) break;
    start = dash + 1;
  }
  const std::string want = "write ENC-PRF-DH, e.g. aes128gcm16-prfsha256-ecp256";
  if (parts.size() != 3) {
    error(t.origin, "ike.proposal", kf, quote(k.proposal) + " is not a proposal; " + want);
    return;
  }
  auto check = [&](const std::string& part, std::initializer_list<std::string_view> profile,
                   std::initializer_list<std::string_view> strong, std::initializer_list<std::pair<std::string_view, std::string_view>> extra,
                   const char* what) {
    if (std::find(profile.begin(), profile.end(), part) != profile.end()) return;
    if (std::find(strong.begin(), strong.end(), part) != strong.end()) {
      if (!p256) {
        error(t.origin, "ike.proposal", kf, quote(part) + " needs profile = \"prime-256\"");
      }
      return;
    }
    for (const auto& [name, item] : extra) {
      if (part == name) {
        if (!c_.crypto.allows(item)) {
          error(t.origin, "ike.proposal", kf, quote(part) + " is not allowed by profile " + quote(c_.crypto.profile) +
                                                  "; add " + quote(item) + " to crypto.allow to use it");
        }
        return;
      }
    }
    error(t.origin, "ike.proposal", kf, quote(part) + " is not a known " + what + "; " + want);
  };
  check(parts[0], {"aes128gcm16"}, {"aes256gcm16"}, {{"chacha20poly1305", "chacha20poly1305"}}, "IKE cipher");
  check(parts[1], {"prfsha256"}, {"prfsha384"}, {}, "PRF");
  check(parts[2], {"ecp256"}, {"ecp384"}, {{"curve25519", "curve25519"}}, "DH group");
}

}  // namespace

std::vector<ConfigError> validate(const Config& c) {
  std::vector<ConfigError> errors;
  Diag d(c.path, &errors);
  Validator(c, d).run();
  return errors;
}

}  // namespace portcullis::config
