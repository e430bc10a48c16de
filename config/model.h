// model.h: the desired state portcullisd holds, as read from
// portcullis.toml (DESIGN.md, "Control plane"). The parser (parser.h) fills
// it with line-numbered errors; the daemon turns it into dataplane channel
// messages; `portcullisctl config save` writes it back (writer.h).
//
// Nothing here holds key bytes: manual keys are named by file path and read
// by read_secret_file (secrets.h) only when an SA is built.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/api/message.h"

namespace portcullis::config {

namespace api = portcullis::ctl::api;

// Where a value came from, for error messages and `config check`.
struct Origin {
  std::string file;
  uint32_t line = 0;  // 1-based; 0 when unknown (e.g. added through the CLI)
  // The line of each key read inside the item ("esp", "manual.spi_out"),
  // so that validate() can point at the offending line, not only the
  // item's header.
  std::map<std::string, uint32_t, std::less<>> keys;

  // line_of is the line of `key` if it was read, else the item's line.
  uint32_t line_of(std::string_view key) const {
    auto it = keys.find(key);
    return it == keys.end() ? line : it->second;
  }
};

struct DaemonSettings {
  std::string dataplane_socket = "/run/portcullis/dataplane.sock";
  std::string control_socket = "/run/portcullis/portcullisd.sock";
  // Runtime changes and manual-key sequence leases are persisted here.
  std::string state_dir = "/var/lib/portcullis";
  std::string log_level = "info";  // error | warn | info | debug
  // Group allowed on the control socket besides root.
  std::string group = "portcullis";
  Origin origin;
  bool operator==(const DaemonSettings& o) const {
    return dataplane_socket == o.dataplane_socket && control_socket == o.control_socket &&
           state_dir == o.state_dir && log_level == o.log_level && group == o.group;
  }
};

// CryptoPolicy: which transforms tunnels may use. The default profile is
// "prime" (DESIGN.md, "Crypto profiles"): ESP aes128gcm16 with ESN, IKE
// aes128gcm16-prfsha256-ecp256 with ECDSA P-256. "prime-256" adds the
// stronger variant (aes256gcm16, prfsha384, ecp384, P-384). Anything else
// must be listed in `allow`, and the daemon logs each allowed item at start.
struct CryptoPolicy {
  std::string profile = "prime";  // prime | prime-256
  // Extra ESP suites (crypto::Suite names) and IKE items allowed on top of
  // the profile: "chacha20poly1305", "aes256cbc-sha384", "psk",
  // "curve25519", "ed25519", "noesn".
  std::vector<std::string> allow;
  Origin origin;

  // esp_allowed: the profile's own suites plus those in `allow`.
  bool esp_allowed(std::string_view suite) const;
  bool allows(std::string_view item) const;
  // profile_suites: the ESP suites the profile allows without `allow`.
  std::vector<std::string> profile_suites() const;
  bool operator==(const CryptoPolicy& o) const { return profile == o.profile && allow == o.allow; }
};

struct Port {
  std::string name;  // operator's name, e.g. "lan", "wan"
  uint16_t id = 0;   // DPDK port id
  api::PortRole role = api::PortRole::kProtected;
  std::vector<api::Prefix> addresses;  // own address with on-link length
  uint16_t mtu = 1500;
  Origin origin;
  bool operator==(const Port& o) const {
    return name == o.name && id == o.id && role == o.role && addresses == o.addresses && mtu == o.mtu;
  }
};

struct Route {
  api::Prefix prefix;
  std::optional<api::IpAddr> via;
  std::string port;  // a Port's name
  Origin origin;
  bool operator==(const Route& o) const { return prefix == o.prefix && via == o.via && port == o.port; }
};

enum class Keying : uint8_t { kManual, kIkev2 };

// ManualKeys: static SAs for lab and benchmark use. Key files hold the key
// as hex (whitespace ignored): for AEADs the cipher key followed by the
// 4-byte salt, for CBC suites the cipher key, with the HMAC key in the
// auth_* file. Files must be mode 0600 or stricter.
struct ManualKeys {
  uint32_t spi_out = 0, spi_in = 0;
  std::string key_out, key_in;
  std::string auth_key_out, auth_key_in;  // CBC suites only
  bool operator==(const ManualKeys&) const = default;
};

// IkeSettings: for keying = "ikev2": how portcullisd's IKEv2 engine
// (control/ike/) authenticates the tunnel and negotiates its SAs.
struct IkeSettings {
  std::string local_id, remote_id;
  std::string auth = "ecdsa";  // ecdsa | psk | ed25519
  std::string certificate, private_key, ca, psk_file;
  std::string proposal;  // empty: the profile's default
  bool initiate = true;
  uint64_t ike_lifetime_seconds = 86400;
  bool operator==(const IkeSettings&) const = default;
};

struct Tunnel {
  std::string name;  // [a-z0-9_-]{1,32}, unique
  api::IpAddr local, remote;  // outer endpoints, one family
  std::vector<api::Prefix> local_ts, remote_ts;  // traffic selectors
  api::Mode mode = api::Mode::kTunnel;
  bool udp_encap = false;
  uint16_t udp_port = 4500;
  std::string esp = "aes128gcm16";  // crypto::Suite name; must pass CryptoPolicy
  bool esn = true;
  uint32_t replay_window = 1024;
  // anti_replay = false is refused unless `allow_no_anti_replay = true` is
  // also set on the tunnel (benchmarks replaying one capture need it).
  bool anti_replay = true;
  bool allow_no_anti_replay = false;
  api::Lifetime lifetime;  // child SA limits; 0 = none
  Keying keying = Keying::kManual;
  ManualKeys manual;
  IkeSettings ike;
  bool enabled = true;  // `tunnel down` sets false
  Origin origin;
  bool operator==(const Tunnel& o) const {
    return name == o.name && local == o.local && remote == o.remote && local_ts == o.local_ts &&
           remote_ts == o.remote_ts && mode == o.mode && udp_encap == o.udp_encap && udp_port == o.udp_port &&
           esp == o.esp && esn == o.esn && replay_window == o.replay_window && anti_replay == o.anti_replay &&
           allow_no_anti_replay == o.allow_no_anti_replay && lifetime == o.lifetime && keying == o.keying && manual == o.manual && ike == o.ike &&
           enabled == o.enabled;
  }
};

struct Config {
  std::string path;  // the file it was read from
  DaemonSettings daemon;
  CryptoPolicy crypto;
  std::vector<Port> ports;
  std::vector<Route> routes;
  std::vector<Tunnel> tunnels;

  const Port* find_port(std::string_view name) const;
  const Tunnel* find_tunnel(std::string_view name) const;
  Tunnel* find_tunnel(std::string_view name);
  // Equal desired state; `path` and the origins are not compared.
  bool operator==(const Config& o) const {
    return daemon == o.daemon && crypto == o.crypto && ports == o.ports && routes == o.routes &&
           tunnels == o.tunnels;
  }
};

}  // namespace portcullis::config
