// request.h: turning portcullisctl's command line into the JSON requests of
// control/daemon/PROTOCOL.md. Nothing here touches a socket, so every
// request can be checked in unit tests.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace portcullis::ctl::cli {

using json = nlohmann::json;

// make_request builds {"cmd": cmd, "args": args}.
json make_request(const std::string& cmd, json args = json::object());

// TunnelOptions holds `tunnel add` as typed on the command line: strings
// exactly as given, parsed and checked by tunnel_add_request. Empty
// optionals were not given and are left for the daemon's defaults.
struct TunnelOptions {
  std::string name;
  std::optional<std::string> local, remote;
  std::vector<std::string> local_ts, remote_ts;
  std::optional<std::string> esp, mode, keying;
  bool udp_encap = false;
  std::optional<std::string> udp_port;
  bool no_esn = false;
  std::optional<std::string> replay_window;
  bool no_anti_replay = false;
  bool allow_no_anti_replay = false;
  bool disabled = false;
  // Manual keying.
  std::optional<std::string> spi_out, spi_in;
  std::optional<std::string> key_out, key_in, auth_key_out, auth_key_in;
  // Lifetimes by TOML field name: soft_seconds, hard_bytes, ...
  std::map<std::string, std::string> lifetime;
  // IKEv2 ([tunnel.ike]).
  std::optional<std::string> ike_auth, psk_file, certificate, private_key, ca;
  std::optional<std::string> local_id, remote_id, proposal, ike_lifetime;
  std::optional<bool> initiate;  // --initiate, --no-initiate (--passive)
};

// The lifetime fields of [tunnel.lifetime]; `tunnel add` has one option per
// field, spelled with dashes (--soft-seconds).
extern const std::vector<std::string> kLifetimeFields;

// tunnel_add_request builds the `tunnel.add` request: args.tunnel with the
// TOML [[tunnel]] field names. SPIs accept 0x hex; lifetimes accept units
// (8h, 10G); key, certificate and PSK file paths are made absolute against
// `cwd` because the daemon runs elsewhere. Manual keying (given with
// --keying manual, or implied by any SPI or key option) needs both SPIs
// and both key files. IKEv2 (--keying ikev2, or implied by any IKE option)
// sends args.tunnel.ike: auth psk (the default when --psk-file is the only
// credential given) needs --psk-file; ecdsa (the default) and ed25519 need
// --certificate, --private-key and --ca. Throws UsageError saying which
// option to fix.
json tunnel_add_request(const TunnelOptions& t, const std::filesystem::path& cwd);

// route_add_request builds `route.add` (via may be empty: on-link).
json route_add_request(const std::string& prefix, const std::string& via, const std::string& port);

// sa_show_request builds `sa.show`; the id must be a number.
json sa_show_request(const std::string& id);

// events_request builds `events`.
json events_request(bool follow, unsigned last);

// config_path_request builds config.check / config.save with an optional
// path, made absolute against `cwd`.
json config_path_request(const std::string& cmd, const std::optional<std::string>& path,
                         const std::filesystem::path& cwd);

}  // namespace portcullis::ctl::cli
