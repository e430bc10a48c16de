// render.cc: tables and key-value blocks for portcullisd's replies.
#include "control/cli/render.h"

#include <algorithm>
#include <optional>

#include "control/cli/format.h"
#include "control/cli/table.h"

namespace portcullis::ctl::cli {

namespace {

const json& field(const json& obj, const std::string& key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

// as_u64 reads a non-negative integer whether the JSON holds it as
// unsigned (parsed from the wire) or signed (built in code).
std::optional<uint64_t> as_u64(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0)
    return static_cast<uint64_t>(v.get<int64_t>());
  return std::nullopt;
}

std::string value_text(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>().empty() ? "-" : v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_number_unsigned()) return group_thousands(v.get<uint64_t>());
  if (v.is_number_integer()) return group_thousands(v.get<int64_t>());
  if (v.is_number_float()) return si(v.get<double>());
  if (v.is_array()) {
    if (v.empty()) return "-";
    std::string out;
    for (const auto& e : v) out += (out.empty() ? "" : ", ") + value_text(e);
    return out;
  }
  return v.dump();
}

std::string bytes(const json& obj, const std::string& key) {
  const json& v = field(obj, key);
  if (auto n = as_u64(v)) return format_bytes(*n);
  return value_text(v);
}

std::string spi(const json& obj, const std::string& key) {
  const json& v = field(obj, key);
  if (auto n = as_u64(v)) return format_spi(*n);
  return value_text(v);
}

// fingerprint shows a key's fingerprint (never the key: the daemon only
// sends fingerprints), or "-" when the key is not loaded.
std::string fingerprint(const json& obj, const std::string& key) {
  std::string fp = value_text(field(obj, key));
  return fp == "-" ? fp : "fingerprint " + fp;
}

std::string seconds(const json& obj, const std::string& key) {
  const json& v = field(obj, key);
  if (auto n = as_u64(v)) return format_duration(*n);
  return value_text(v);
}

// rows_of returns the array of a list reply (an empty one for anything
// else), so that a table always has its header.
const json& rows_of(const json& data) {
  static const json kEmpty = json::array();
  return data.is_array() ? data : kEmpty;
}

std::string lifetime_text(const json& life) {
  if (!life.is_object() || life.empty()) return "-";
  std::string out;
  for (const auto& [k, v] : life.items()) {
    std::string val;
    const auto n = as_u64(v);
    if (n && *n == 0) {
      val = "none";
    } else if (n && k.ends_with("_seconds")) {
      val = format_duration(*n);
    } else if (n && k.ends_with("_bytes")) {
      val = format_bytes(*n);
    } else {
      val = value_text(v);
    }
    out += (out.empty() ? "" : ", ") + k + " " + val;
  }
  return out;
}

}  // namespace

std::string cell(const json& obj, const std::string& key) { return value_text(field(obj, key)); }

std::string render_status(const json& d) {
  KeyValues kv;
  std::string daemon = "portcullisd " + cell(d, "version");
  if (as_u64(field(d, "uptime_s"))) daemon += ", up " + seconds(d, "uptime_s");
  kv.emplace_back("daemon", daemon);
  kv.emplace_back("config", cell(d, "config"));
  std::string profile = cell(d, "profile");
  if (!field(d, "allow").empty() && field(d, "allow").is_array()) {
    profile += " (also allowed: " + cell(d, "allow") + ")";
  }
  kv.emplace_back("profile", profile);
  const json& dp = field(d, "dataplane");
  std::string dps;
  if (field(dp, "connected").is_boolean() && field(dp, "connected").get<bool>()) {
    dps = "connected on " + cell(dp, "socket");
    if (as_u64(field(dp, "since_s"))) dps += " for " + seconds(dp, "since_s");
  } else {
    dps = "NOT connected (waiting on " + cell(dp, "socket") + ")";
  }
  if (field(dp, "syncs").is_number()) dps += ", full syncs: " + cell(dp, "syncs");
  kv.emplace_back("dataplane", dps);
  const json& t = field(d, "tunnels");
  std::string tunnels = cell(t, "total");
  tunnels += " total: ";
  tunnels += cell(t, "up");
  tunnels += " up";
  // IKEv2 states and errors only when there are some (and the daemon
  // counts them: older ones did not).
  for (const char* key : {"connecting", "waiting"}) {
    if (as_u64(field(t, key)).value_or(0) > 0) {
      tunnels += ", ";
      tunnels += cell(t, key);
      tunnels += ' ';
      tunnels += key;
    }
  }
  tunnels += ", ";
  tunnels += cell(t, "down");
  tunnels += " down, ";
  tunnels += cell(t, "expired");
  tunnels += " expired";
  if (as_u64(field(t, "error")).value_or(0) > 0) {
    tunnels += ", ";
    tunnels += cell(t, "error");
    tunnels += " error";
  }
  kv.emplace_back("tunnels", tunnels);
  kv.emplace_back("SAs", cell(d, "sas"));
  return render_kv(kv);
}

std::string render_tunnel_list(const json& data) {
  Table t({{"NAME"},
           {"STATE"},
           {"LOCAL"},
           {"REMOTE"},
           {"ESP"},
           {"SPI-OUT"},
           {"SPI-IN"},
           {"PKTS-OUT", Align::kRight},
           {"PKTS-IN", Align::kRight}});
  std::string notes;
  for (const auto& tun : rows_of(data)) {
    t.add_row({cell(tun, "name"), cell(tun, "state"), cell(tun, "local"), cell(tun, "remote"),
               cell(tun, "esp"), spi(tun, "spi_out"), spi(tun, "spi_in"), cell(tun, "packets_out"),
               cell(tun, "packets_in")});
    if (field(tun, "error").is_string()) {
      notes += cell(tun, "name") + ": " + cell(tun, "error") + "\n";
    }
  }
  return t.render() + (notes.empty() ? "" : "\n" + notes);
}

std::string render_tunnel_detail(const json& d) {
  KeyValues kv = {
      {"tunnel", cell(d, "name")},
      {"state", cell(d, "state")},
  };
  if (field(d, "error").is_string()) kv.emplace_back("error", cell(d, "error"));
  kv.insert(kv.end(), {
                          {"local", cell(d, "local")},
                          {"remote", cell(d, "remote")},
                          {"local ts", cell(d, "local_ts")},
                          {"remote ts", cell(d, "remote_ts")},
                          {"mode", cell(d, "mode")},
                          {"esp", cell(d, "esp")},
                          {"esn", cell(d, "esn")},
                          {"udp encap", cell(d, "udp_encap")},
                          {"replay window", cell(d, "replay_window")},
                          {"anti-replay", cell(d, "anti_replay")},
                          {"keying", cell(d, "keying")},
                          {"spi out", spi(d, "spi_out")},
                          {"spi in", spi(d, "spi_in")},
                          {"key out", fingerprint(d, "key_out_fp")},
                          {"key in", fingerprint(d, "key_in_fp")},
                          {"seq lease", cell(d, "seq_lease")},
                          {"lifetime", lifetime_text(field(d, "lifetime"))},
                          {"out", cell(d, "packets_out") + " packets, " + bytes(d, "bytes_out")},
                          {"in", cell(d, "packets_in") + " packets, " + bytes(d, "bytes_in")},
                          {"origin", cell(d, "origin")},
                      });
  std::string out = render_kv(kv);
  const json& sas = field(d, "sas");
  if (sas.is_array() && !sas.empty()) out += "\n" + render_sa_list(sas);
  return out;
}

std::string render_tunnel_state(const json& d) {
  std::string out = "tunnel " + cell(d, "name") + ": " + cell(d, "state") + "\n";
  if (field(d, "error").is_string()) out += "  " + cell(d, "error") + "\n";
  return out;
}

std::string render_sa_list(const json& data) {
  Table t({{"ID", Align::kRight},
           {"TUNNEL"},
           {"DIR"},
           {"SPI"},
           {"ESP"},
           {"PACKETS", Align::kRight},
           {"BYTES", Align::kRight},
           {"DROPS", Align::kRight},
           {"SEQ", Align::kRight},
           {"INSTALLED"},
           {"EVENTS"}});
  for (const auto& sa : rows_of(data)) {
    t.add_row({cell(sa, "id"), cell(sa, "tunnel"), cell(sa, "direction"), spi(sa, "spi"),
               cell(sa, "esp"), cell(sa, "packets"), bytes(sa, "bytes"), cell(sa, "drops"),
               cell(sa, "seq"), cell(sa, "installed"), cell(sa, "events")});
  }
  return t.render();
}

std::string render_sa(const json& d) {
  KeyValues kv = {
      {"sa", cell(d, "id")},
      {"tunnel", cell(d, "tunnel")},
      {"direction", cell(d, "direction")},
      {"spi", spi(d, "spi")},
      {"esp", cell(d, "esp")},
      {"key", fingerprint(d, "key_fp")},
      {"installed", cell(d, "installed")},
      {"packets", cell(d, "packets")},
      {"bytes", bytes(d, "bytes")},
      {"drops", cell(d, "drops")},
      {"seq", cell(d, "seq")},
  };
  if (!field(d, "seq_lease").is_null()) kv.emplace_back("seq lease", cell(d, "seq_lease"));
  kv.emplace_back("events", cell(d, "events"));
  return render_kv(kv);
}

std::string render_policy_list(const json& data) {
  Table t({{"ID", Align::kRight},
           {"TUNNEL"},
           {"DIR"},
           {"SRC"},
           {"DST"},
           {"PROTO"},
           {"ACTION"},
           {"SA", Align::kRight},
           {"PRIO", Align::kRight}});
  for (const auto& p : rows_of(data)) {
    t.add_row({cell(p, "id"), cell(p, "tunnel"), cell(p, "direction"), cell(p, "src"),
               cell(p, "dst"), cell(p, "proto"), cell(p, "action"), cell(p, "sa"),
               cell(p, "priority")});
  }
  return t.render();
}

std::string render_route_list(const json& data) {
  Table t({{"PREFIX"}, {"VIA"}, {"PORT"}, {"ORIGIN"}});
  for (const auto& r : rows_of(data)) {
    t.add_row({cell(r, "prefix"), field(r, "via").is_null() ? "on-link" : cell(r, "via"),
               cell(r, "port"), cell(r, "origin")});
  }
  return t.render();
}

std::string render_port_list(const json& data) {
  Table t({{"NAME"},
           {"ID", Align::kRight},
           {"ROLE"},
           {"ADDRESSES"},
           {"MTU", Align::kRight},
           {"RX-PKTS", Align::kRight},
           {"TX-PKTS", Align::kRight},
           {"RX-BYTES", Align::kRight},
           {"TX-BYTES", Align::kRight},
           {"RX-DROP", Align::kRight}});
  for (const auto& p : rows_of(data)) {
    t.add_row({cell(p, "name"), cell(p, "id"), cell(p, "role"), cell(p, "addresses"),
               cell(p, "mtu"), cell(p, "rx_packets"), cell(p, "tx_packets"), bytes(p, "rx_bytes"),
               bytes(p, "tx_bytes"), cell(p, "rx_dropped")});
  }
  return t.render();
}

std::string render_event(const json& e) {
  std::string sev = cell(e, "severity");
  sev.resize(std::max<size_t>(sev.size(), 5), ' ');
  std::string out = cell(e, "time") + "  " + sev + "  " + cell(e, "kind");
  if (!field(e, "tunnel").is_null()) out += "  tunnel=" + cell(e, "tunnel");
  if (!field(e, "sa").is_null()) out += "  sa=" + cell(e, "sa");
  out += "  " + cell(e, "message") + "\n";
  return out;
}

std::string render_config_check(const json& d, const std::string& what) {
  const json& ok = field(d, "ok");
  const json& errors = field(d, "errors");
  if (ok.is_boolean() && ok.get<bool>() && (!errors.is_array() || errors.empty())) {
    return what + ": OK\n";
  }
  std::string out;
  for (const auto& e : rows_of(errors)) out += value_text(e) + "\n";
  const size_t n = errors.is_array() ? errors.size() : 0;
  out += what + ": " + std::to_string(n) + (n == 1 ? " error" : " errors") + "\n";
  return out;
}

std::string render_config_reload(const json& d) {
  const json& changed = field(d, "changed");
  if (!changed.is_array() || changed.empty()) return "reloaded: no changes\n";
  std::string out = "reloaded: " + std::to_string(changed.size()) + " changed\n";
  for (const auto& c : changed) out += "  " + value_text(c) + "\n";
  return out;
}

}  // namespace portcullis::ctl::cli
