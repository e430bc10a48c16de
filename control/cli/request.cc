// request.cc: the JSON requests of control/daemon/PROTOCOL.md.
#include "control/cli/request.h"

#include <algorithm>
#include <charconv>

#include "control/cli/format.h"

namespace portcullis::ctl::cli {

const std::vector<std::string> kLifetimeFields = {"soft_seconds", "hard_seconds", "soft_bytes",
                                                  "hard_bytes",   "soft_packets", "hard_packets"};

json make_request(const std::string& cmd, json args) {
  return json{{"cmd", cmd}, {"args", std::move(args)}};
}

namespace {

std::string absolute(const std::string& path, const std::filesystem::path& cwd) {
  std::filesystem::path p(path);
  if (p.is_relative()) p = cwd / p;
  return p.lexically_normal().string();
}

std::string dashed(std::string field) {
  for (char& c : field) {
    if (c == '_') c = '-';
  }
  return "--" + field;
}

}  // namespace

json tunnel_add_request(const TunnelOptions& t, const std::filesystem::path& cwd) {
  if (t.name.empty()) throw UsageError("tunnel add: give the tunnel's NAME");
  json tun = {{"name", t.name}};
  if (t.local) tun["local"] = *t.local;
  if (t.remote) tun["remote"] = *t.remote;
  if (!t.local_ts.empty()) tun["local_ts"] = t.local_ts;
  if (!t.remote_ts.empty()) tun["remote_ts"] = t.remote_ts;
  if (t.esp) tun["esp"] = *t.esp;
  if (t.mode) {
    if (*t.mode != "tunnel" && *t.mode != "transport") {
      throw UsageError("--mode: \"" + *t.mode + "\" is not tunnel or transport");
    }
    tun["mode"] = *t.mode;
  }
  if (t.udp_encap) tun["udp_encap"] = true;
  if (t.udp_port) {
    uint32_t port = parse_u32(*t.udp_port, "--udp-port");
    if (port == 0 || port > 65535) throw UsageError("--udp-port: give a port from 1 to 65535");
    tun["udp_port"] = port;
  }
  if (t.no_esn) tun["esn"] = false;
  if (t.replay_window) tun["replay_window"] = parse_count(*t.replay_window, "--replay-window");
  if (t.no_anti_replay) tun["anti_replay"] = false;
  if (t.allow_no_anti_replay) tun["allow_no_anti_replay"] = true;
  if (t.disabled) tun["enabled"] = false;

  if (!t.lifetime.empty()) {
    json life = json::object();
    for (const auto& [field, text] : t.lifetime) {
      if (std::find(kLifetimeFields.begin(), kLifetimeFields.end(), field) ==
          kLifetimeFields.end()) {
        throw UsageError("unknown lifetime field \"" + field + "\"");
      }
      const std::string opt = dashed(field);
      life[field] = field.ends_with("_seconds") ? parse_seconds(text, opt) : parse_count(text, opt);
    }
    tun["lifetime"] = life;
  }

  const bool any_manual =
      t.spi_out || t.spi_in || t.key_out || t.key_in || t.auth_key_out || t.auth_key_in;
  const bool any_cert = t.certificate || t.private_key || t.ca;
  const bool any_ike = t.ike_auth || t.psk_file || any_cert || t.local_id || t.remote_id ||
                       t.proposal || t.ike_lifetime || t.initiate;
  if (!t.keying && any_manual && any_ike) {
    throw UsageError(
        "SPI or key options (manual keying) and IKE options (IKEv2) both given; use one "
        "keying");
  }
  std::string keying = t.keying.value_or(any_manual ? "manual" : any_ike ? "ikev2" : "");
  if (!keying.empty()) {
    if (keying != "manual" && keying != "ikev2") {
      throw UsageError("--keying: \"" + keying + "\" is not manual or ikev2");
    }
    tun["keying"] = keying;
  }
  if (keying == "ikev2" && any_manual) {
    throw UsageError(
        "--spi-out, --spi-in and the key files are for manual keying; drop them or use "
        "--keying manual");
  }
  if (keying == "manual" && any_ike) {
    throw UsageError(
        "--ike-auth, --psk-file, --certificate, --private-key, --ca, --local-id, --remote-id, "
        "--proposal, --initiate/--no-initiate and --ike-lifetime are for IKEv2; drop them or use "
        "--keying ikev2");
  }
  if (keying == "ikev2") {
    std::string auth = t.ike_auth.value_or(t.psk_file && !any_cert ? "psk" : "ecdsa");
    if (auth != "ecdsa" && auth != "psk" && auth != "ed25519") {
      throw UsageError("--ike-auth: \"" + auth + "\" is not ecdsa, psk or ed25519");
    }
    json ike = json::object();
    if (t.ike_auth || auth == "psk") ike["auth"] = auth;
    if (auth == "psk") {
      if (!t.psk_file) throw UsageError("--ike-auth psk needs --psk-file FILE (hex, mode 0600)");
      if (any_cert) {
        throw UsageError(
            "--certificate, --private-key and --ca are for --ike-auth ecdsa or ed25519, not psk");
      }
      ike["psk_file"] = absolute(*t.psk_file, cwd);
    } else {
      if (t.psk_file) {
        throw UsageError("--psk-file is for --ike-auth psk, not " + auth);
      }
      std::vector<std::string> missing;
      if (!t.certificate) missing.push_back("--certificate");
      if (!t.private_key) missing.push_back("--private-key");
      if (!t.ca) missing.push_back("--ca");
      if (!missing.empty()) {
        std::string msg = "--ike-auth ";
        msg += auth;
        msg += " needs --certificate, --private-key and --ca (missing: ";
        for (size_t i = 0; i < missing.size(); i++) {
          if (i) msg += ", ";
          msg += missing[i];
        }
        msg += "); for a pre-shared key give --psk-file";
        throw UsageError(msg);
      }
      ike["certificate"] = absolute(*t.certificate, cwd);
      ike["private_key"] = absolute(*t.private_key, cwd);
      ike["ca"] = absolute(*t.ca, cwd);
    }
    if (t.local_id) ike["local_id"] = *t.local_id;
    if (t.remote_id) ike["remote_id"] = *t.remote_id;
    if (t.proposal) ike["proposal"] = *t.proposal;
    if (t.initiate) ike["initiate"] = *t.initiate;
    if (t.ike_lifetime) {
      const uint64_t s = parse_seconds(*t.ike_lifetime, "--ike-lifetime");
      if (s == 0) throw UsageError("--ike-lifetime: give at least 1 second (e.g. 24h)");
      ike["ike_lifetime"] = s;
    }
    tun["ike"] = ike;
  }
  if (keying == "manual") {
    std::vector<std::string> missing;
    if (!t.spi_out) missing.push_back("--spi-out");
    if (!t.spi_in) missing.push_back("--spi-in");
    if (!t.key_out) missing.push_back("--key-out");
    if (!t.key_in) missing.push_back("--key-in");
    if (!missing.empty()) {
      std::string list;
      for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
      throw UsageError(
          "manual keying needs --spi-out, --spi-in, --key-out and --key-in (missing: " + list +
          ")");
    }
    if (static_cast<bool>(t.auth_key_out) != static_cast<bool>(t.auth_key_in)) {
      throw UsageError("give both --auth-key-out and --auth-key-in (CBC suites), or neither");
    }
    json manual = {{"spi_out", parse_u32(*t.spi_out, "--spi-out")},
                   {"spi_in", parse_u32(*t.spi_in, "--spi-in")},
                   {"key_out", absolute(*t.key_out, cwd)},
                   {"key_in", absolute(*t.key_in, cwd)}};
    if (t.auth_key_out) {
      manual["auth_key_out"] = absolute(*t.auth_key_out, cwd);
      manual["auth_key_in"] = absolute(*t.auth_key_in, cwd);
    }
    tun["manual"] = manual;
  }
  return make_request("tunnel.add", {{"tunnel", tun}});
}

json route_add_request(const std::string& prefix, const std::string& via, const std::string& port) {
  if (port.empty()) throw UsageError("route add: give the port with --port NAME");
  json args = {{"prefix", prefix}, {"port", port}};
  if (!via.empty()) args["via"] = via;
  return make_request("route.add", args);
}

json sa_show_request(const std::string& id) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), v);
  if (id.empty() || ec != std::errc() || end != id.data() + id.size()) {
    throw UsageError("sa show: \"" + id + "\" is not an SA id; `portcullisctl sa list` shows them");
  }
  return make_request("sa.show", {{"id", v}});
}

json events_request(bool follow, unsigned last) {
  return make_request("events", {{"follow", follow}, {"last", last}});
}

json config_path_request(const std::string& cmd, const std::optional<std::string>& path,
                         const std::filesystem::path& cwd) {
  json args = json::object();
  if (path) args["path"] = absolute(*path, cwd);
  return make_request(cmd, args);
}

}  // namespace portcullis::ctl::cli
