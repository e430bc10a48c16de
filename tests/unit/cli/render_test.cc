// portcullisctl's human output for portcullisd's replies (PROTOCOL.md shapes).
#include "control/cli/render.h"

#include <gtest/gtest.h>

namespace portcullis::ctl::cli {
namespace {

json summary() {
  return json::parse(R"({"name": "gw1-gw2", "state": "up", "local": "192.0.2.1",
    "remote": "198.51.100.2", "local_ts": ["10.1.0.0/24"], "remote_ts": ["10.2.0.0/24"],
    "esp": "aes128gcm16", "mode": "tunnel", "udp_encap": false, "keying": "manual",
    "spi_out": 4097, "spi_in": 8193, "packets_out": 1234567, "packets_in": 12,
    "bytes_out": 1500000000, "bytes_in": 900})");
}

TEST(Cell, EveryJsonKind) {
  json o = json::parse(R"({"s": "x", "n": 1234, "neg": -5, "t": true, "f": false,
    "l": ["a", "b"], "e": [], "z": null})");
  EXPECT_EQ(cell(o, "s"), "x");
  EXPECT_EQ(cell(json{{"s", ""}}, "s"), "-");
  EXPECT_EQ(cell(o, "n"), "1,234");
  EXPECT_EQ(cell(o, "neg"), "-5");
  EXPECT_EQ(cell(o, "t"), "yes");
  EXPECT_EQ(cell(o, "f"), "no");
  EXPECT_EQ(cell(o, "l"), "a, b");
  EXPECT_EQ(cell(o, "e"), "-");
  EXPECT_EQ(cell(o, "z"), "-");
  EXPECT_EQ(cell(o, "missing"), "-");
  EXPECT_EQ(cell(json::array(), "s"), "-");
}

TEST(TunnelList, TableWithHexSpisAndGroupedCounters) {
  json down = summary();
  down["name"] = "b";
  down["state"] = "error";
  down["error"] = "key file keys/b.key: mode 0644; chmod 600 it";
  down["packets_out"] = 0;
  EXPECT_EQ(render_tunnel_list(json::array({summary(), down})),
            "NAME     STATE  LOCAL      REMOTE        ESP          SPI-OUT     SPI-IN       "
            "PKTS-OUT  PKTS-IN\n"
            "gw1-gw2  up     192.0.2.1  198.51.100.2  aes128gcm16  0x00001001  0x00002001  "
            "1,234,567       12\n"
            "b        error  192.0.2.1  198.51.100.2  aes128gcm16  0x00001001  0x00002001          "
            "0       12\n"
            "\n"
            "b: key file keys/b.key: mode 0644; chmod 600 it\n");
  // No tunnels (or a reply that is not a list): just the header.
  EXPECT_EQ(render_tunnel_list(json::array()).find('\n'), render_tunnel_list(json()).size() - 1);
}

TEST(TunnelDetail, FingerprintsNotKeysAndSas) {
  json d = summary();
  d["esn"] = true;
  d["replay_window"] = 1024;
  d["key_out_fp"] = "3f9a1c22b07e41d5";
  d["key_in_fp"] = "0011223344556677";
  d["lifetime"] = {{"hard_seconds", 86400}, {"hard_bytes", 0}};
  d["origin"] = "/etc/portcullis/portcullis.toml:42";
  d["sas"] = json::array({{{"id", 7},
                           {"tunnel", "gw1-gw2"},
                           {"direction", "out"},
                           {"spi", 4097},
                           {"packets", 10},
                           {"installed", true},
                           {"events", json::array({"soft-bytes"})}}});
  std::string out = render_tunnel_detail(d);
  EXPECT_NE(out.find("tunnel:         gw1-gw2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("spi out:        0x00001001\n"), std::string::npos) << out;
  EXPECT_NE(out.find("key out:        fingerprint 3f9a1c22b07e41d5\n"), std::string::npos);
  // The daemon sends the SPIs of PROTOCOL.md as numbers or as "0x%08x" text.
  d["spi_in"] = "0x00002001";
  d["key_in_fp"] = "";  // no key loaded
  out = render_tunnel_detail(d);
  EXPECT_NE(out.find("spi in:         0x00002001\n"), std::string::npos) << out;
  EXPECT_NE(out.find("key in:         -\n"), std::string::npos) << out;
  EXPECT_NE(out.find("lifetime:       hard_bytes none, hard_seconds 1d 0h\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("out:            1,234,567 packets, 1.50 GB\n"), std::string::npos) << out;
  EXPECT_NE(out.find("origin:         /etc/portcullis/portcullis.toml:42\n"), std::string::npos);
  // The SA table follows the block.
  EXPECT_NE(out.find("\n\nID  TUNNEL   DIR  SPI         ESP"), std::string::npos) << out;
  EXPECT_NE(out.find("\n 7  gw1-gw2  out  0x00001001  -         10      -      -    -  yes        "
                     "soft-bytes\n"),
            std::string::npos)
      << out;
}

TEST(TunnelState, ErrorOnItsOwnLine) {
  EXPECT_EQ(render_tunnel_state(summary()), "tunnel gw1-gw2: up\n");
  json e = summary();
  e["state"] = "error";
  e["error"] = "the data plane is not connected";
  EXPECT_EQ(render_tunnel_state(e), "tunnel gw1-gw2: error\n  the data plane is not connected\n");
}

TEST(Status, ConnectedAndNot) {
  json s = json::parse(R"({"version": "0.1.0", "uptime_s": 93784,
    "config": "/etc/portcullis/portcullis.toml", "profile": "prime", "allow": ["noesn"],
    "dataplane": {"socket": "/run/portcullis/dataplane.sock", "connected": true,
                  "since_s": 125, "syncs": 2},
    "tunnels": {"total": 3, "up": 2, "down": 1, "expired": 0}, "sas": 4})");
  EXPECT_EQ(render_status(s),
            "daemon:     portcullisd 0.1.0, up 1d 2h\n"
            "config:     /etc/portcullis/portcullis.toml\n"
            "profile:    prime (also allowed: noesn)\n"
            "dataplane:  connected on /run/portcullis/dataplane.sock for 2m 5s, full syncs: 2\n"
            "tunnels:    3 total: 2 up, 1 down, 0 expired\n"
            "SAs:        4\n");
  s["dataplane"]["connected"] = false;
  EXPECT_NE(render_status(s).find("NOT connected (waiting on /run/portcullis/dataplane.sock)"),
            std::string::npos);
}

TEST(Status, IkeStatesAndErrorsWhenThereAreSome) {
  json s = json::parse(R"({"version": "0.1.0", "uptime_s": 5, "config": "/c.toml",
    "profile": "prime", "allow": [], "dataplane": {"socket": "/d.sock", "connected": true},
    "tunnels": {"total": 7, "up": 2, "connecting": 1, "waiting": 2, "down": 0, "expired": 0,
                "error": 2}, "sas": 4})");
  EXPECT_NE(render_status(s).find(
                "tunnels:    7 total: 2 up, 1 connecting, 2 waiting, 0 down, 0 expired, 2 error\n"),
            std::string::npos)
      << render_status(s);
  s["tunnels"] = json::parse(R"({"total": 1, "up": 1, "connecting": 0, "waiting": 0,
    "down": 0, "expired": 0, "error": 0})");
  EXPECT_NE(render_status(s).find("tunnels:    1 total: 1 up, 0 down, 0 expired\n"),
            std::string::npos)
      << render_status(s);
}

TEST(Routes, OnLinkWhenNoVia) {
  json r = json::parse(R"([{"prefix": "0.0.0.0/0", "via": "192.0.2.254", "port": "wan",
    "origin": "file"}, {"prefix": "10.9.0.0/16", "port": "lan", "origin": "cli"}])");
  EXPECT_EQ(render_route_list(r),
            "PREFIX       VIA          PORT  ORIGIN\n"
            "0.0.0.0/0    192.0.2.254  wan   file\n"
            "10.9.0.0/16  on-link      lan   cli\n");
}

TEST(Ports, BytesWithSuffix) {
  json p = json::parse(R"([{"name": "wan", "id": 1, "role": "unprotected",
    "addresses": ["192.0.2.1/24", "2001:db8::1/64"], "mtu": 1500, "rx_packets": 1000000,
    "tx_packets": 5, "rx_bytes": 64000000, "tx_bytes": 320, "rx_dropped": 0}])");
  std::string out = render_port_list(p);
  EXPECT_NE(out.find("wan    1  unprotected  192.0.2.1/24, 2001:db8::1/64  1,500  1,000,000"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("64.0 MB"), std::string::npos) << out;
  EXPECT_NE(out.find("320 B"), std::string::npos) << out;
}

TEST(Policies, OneRowEach) {
  json p = json::parse(R"([{"id": 1, "tunnel": "gw1", "direction": "out", "src": "10.1.0.0/24",
    "dst": "10.2.0.0/24", "proto": "any", "action": "protect", "sa": 7, "priority": 100}])");
  EXPECT_EQ(render_policy_list(p),
            "ID  TUNNEL  DIR  SRC          DST          PROTO  ACTION   SA  PRIO\n"
            " 1  gw1     out  10.1.0.0/24  10.2.0.0/24  any    protect   7   100\n");
}

TEST(Events, OneLineEach) {
  json e = json::parse(R"j({"time": "2026-11-28T10:47:11Z", "kind": "sa_expire",
    "severity": "warn", "tunnel": "gw1-gw2", "sa": 7, "message": "soft lifetime (bytes)"})j");
  EXPECT_EQ(
      render_event(e),
      "2026-11-28T10:47:11Z  warn   sa_expire  tunnel=gw1-gw2  sa=7  soft lifetime (bytes)\n");
  json d = json::parse(R"({"time": "t", "kind": "dataplane", "severity": "info",
    "message": "connected"})");
  EXPECT_EQ(render_event(d), "t  info   dataplane  connected\n");
}

TEST(ConfigCheck, ErrorsThenCount) {
  EXPECT_EQ(render_config_check(json{{"ok", true}, {"errors", json::array()}}, "gw1.toml"),
            "gw1.toml: OK\n");
  json bad = {{"ok", false},
              {"errors", {"gw1.toml:4: port.mtu: 100 is below 576", "gw1.toml:9: x: unknown"}}};
  EXPECT_EQ(render_config_check(bad, "gw1.toml"),
            "gw1.toml:4: port.mtu: 100 is below 576\n"
            "gw1.toml:9: x: unknown\n"
            "gw1.toml: 2 errors\n");
}

TEST(ConfigReload, ListsChanges) {
  EXPECT_EQ(render_config_reload(json{{"changed", json::array()}}), "reloaded: no changes\n");
  EXPECT_EQ(render_config_reload(json{{"changed", {"tunnel gw1-gw2", "route 0.0.0.0/0"}}}),
            "reloaded: 2 changed\n  tunnel gw1-gw2\n  route 0.0.0.0/0\n");
}

}  // namespace
}  // namespace portcullis::ctl::cli
