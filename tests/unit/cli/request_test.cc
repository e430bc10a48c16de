// portcullisctl's requests, checked against control/daemon/PROTOCOL.md.
#include "control/cli/request.h"

#include <gtest/gtest.h>

#include "control/cli/format.h"

namespace portcullis::ctl::cli {
namespace {

TunnelOptions manual_tunnel() {
  TunnelOptions t;
  t.name = "gw1-gw2";
  t.local = "192.0.2.1";
  t.remote = "198.51.100.2";
  t.local_ts = {"10.1.0.0/24", "fd00:1::/64"};
  t.remote_ts = {"10.2.0.0/24"};
  t.esp = "aes128gcm16";
  t.spi_out = "0x1001";
  t.spi_in = "8193";
  t.key_out = "keys/out.key";
  t.key_in = "/etc/portcullis/keys/in.key";
  return t;
}

std::string usage_error(const TunnelOptions& t) {
  try {
    tunnel_add_request(t, "/home/op");
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(Request, Envelope) {
  EXPECT_EQ(make_request("status"), json::parse(R"({"cmd":"status","args":{}})"));
  EXPECT_EQ(make_request("tunnel.show", {{"name", "x"}}),
            json::parse(R"({"cmd":"tunnel.show","args":{"name":"x"}})"));
}

TEST(TunnelAdd, ManualTunnelUsesTomlFieldNames) {
  json req = tunnel_add_request(manual_tunnel(), "/home/op");
  EXPECT_EQ(req["cmd"], "tunnel.add");
  EXPECT_EQ(req["args"]["tunnel"], json::parse(R"({
    "name": "gw1-gw2", "local": "192.0.2.1", "remote": "198.51.100.2",
    "local_ts": ["10.1.0.0/24", "fd00:1::/64"], "remote_ts": ["10.2.0.0/24"],
    "esp": "aes128gcm16", "keying": "manual",
    "manual": {"spi_out": 4097, "spi_in": 8193,
               "key_out": "/home/op/keys/out.key",
               "key_in": "/etc/portcullis/keys/in.key"}})"));
}

TEST(TunnelAdd, OptionalFieldsOnlyWhenGiven) {
  TunnelOptions t = manual_tunnel();
  t.mode = "transport";
  t.udp_encap = true;
  t.udp_port = "4501";
  t.no_esn = true;
  t.replay_window = "4096";
  t.no_anti_replay = true;
  t.allow_no_anti_replay = true;
  t.disabled = true;
  t.auth_key_out = "a.out";
  t.auth_key_in = "../b.in";
  t.lifetime = {{"hard_seconds", "8h"}, {"soft_bytes", "10G"}, {"hard_packets", "0"}};
  json tun = tunnel_add_request(t, "/home/op/run")["args"]["tunnel"];
  EXPECT_EQ(tun["mode"], "transport");
  EXPECT_EQ(tun["udp_encap"], true);
  EXPECT_EQ(tun["udp_port"], 4501);
  EXPECT_EQ(tun["esn"], false);
  EXPECT_EQ(tun["replay_window"], 4096);
  EXPECT_EQ(tun["anti_replay"], false);
  EXPECT_EQ(tun["allow_no_anti_replay"], true);
  EXPECT_EQ(tun["enabled"], false);
  EXPECT_EQ(tun["manual"]["auth_key_out"], "/home/op/run/a.out");
  EXPECT_EQ(tun["manual"]["auth_key_in"], "/home/op/b.in");
  EXPECT_EQ(tun["lifetime"], json::parse(R"({"hard_seconds": 28800,
      "soft_bytes": 10000000000, "hard_packets": 0})"));

  json plain = tunnel_add_request(manual_tunnel(), "/")["args"]["tunnel"];
  for (const char* absent : {"mode", "udp_encap", "udp_port", "esn", "replay_window", "anti_replay",
                             "allow_no_anti_replay", "enabled", "lifetime"}) {
    EXPECT_FALSE(plain.contains(absent)) << absent;
  }
  EXPECT_FALSE(plain["manual"].contains("auth_key_out"));
}

TEST(TunnelAdd, IkeTunnelHasNoManualBlock) {
  TunnelOptions t;
  t.name = "to-branch";
  t.keying = "ikev2";
  json tun = tunnel_add_request(t, "/")["args"]["tunnel"];
  EXPECT_EQ(tun["keying"], "ikev2");
  EXPECT_FALSE(tun.contains("manual"));
  t.spi_in = "0x2001";
  EXPECT_NE(usage_error(t).find("--keying manual"), std::string::npos);
}

TEST(TunnelAdd, ManualKeyingSaysWhatIsMissing) {
  TunnelOptions t = manual_tunnel();
  t.key_in.reset();
  t.spi_out.reset();
  EXPECT_NE(usage_error(t).find("(missing: --spi-out, --key-in)"), std::string::npos)
      << usage_error(t);

  TunnelOptions k;
  k.name = "x";
  k.keying = "manual";
  EXPECT_NE(usage_error(k).find("missing: --spi-out, --spi-in, --key-out, --key-in"),
            std::string::npos);

  TunnelOptions a = manual_tunnel();
  a.auth_key_out = "a";
  EXPECT_NE(usage_error(a).find("--auth-key-in"), std::string::npos);
}

TEST(TunnelAdd, BadValuesNameTheirOption) {
  struct Case {
    void (*set)(TunnelOptions&);
    const char* option;
  };
  const Case cases[] = {
      {[](TunnelOptions& t) { t.spi_out = "0x1zz"; }, "--spi-out"},
      {[](TunnelOptions& t) { t.spi_in = "99999999999"; }, "--spi-in"},
      {[](TunnelOptions& t) { t.replay_window = "lots"; }, "--replay-window"},
      {[](TunnelOptions& t) { t.udp_port = "70000"; }, "--udp-port"},
      {[](TunnelOptions& t) { t.mode = "bridge"; }, "--mode"},
      {[](TunnelOptions& t) { t.keying = "ikev1"; }, "--keying"},
      {[](TunnelOptions& t) { t.lifetime["soft_seconds"] = "1y"; }, "--soft-seconds"},
      {[](TunnelOptions& t) { t.lifetime["hard_bytes"] = "1.5G"; }, "--hard-bytes"},
  };
  for (const auto& c : cases) {
    TunnelOptions t = manual_tunnel();
    c.set(t);
    EXPECT_NE(usage_error(t).find(c.option), std::string::npos) << usage_error(t);
  }
}

TEST(RouteAdd, ViaOnlyWhenGiven) {
  EXPECT_EQ(route_add_request("10.2.0.0/16", "192.0.2.254", "wan")["args"],
            json::parse(R"({"prefix":"10.2.0.0/16","via":"192.0.2.254","port":"wan"})"));
  EXPECT_EQ(route_add_request("10.2.0.0/16", "", "lan")["args"],
            json::parse(R"({"prefix":"10.2.0.0/16","port":"lan"})"));
  EXPECT_THROW(route_add_request("10.2.0.0/16", "", ""), UsageError);
}

TEST(SaShow, IdIsANumber) {
  EXPECT_EQ(sa_show_request("42"), json::parse(R"({"cmd":"sa.show","args":{"id":42}})"));
  EXPECT_THROW(sa_show_request("gw1"), UsageError);
  EXPECT_THROW(sa_show_request(""), UsageError);
  EXPECT_THROW(sa_show_request("4x"), UsageError);
}

TEST(Events, FollowAndLast) {
  EXPECT_EQ(events_request(true, 50)["args"], json::parse(R"({"follow":true,"last":50})"));
  EXPECT_EQ(events_request(false, 0)["args"], json::parse(R"({"follow":false,"last":0})"));
}

TEST(ConfigPath, AbsoluteOrAbsent) {
  EXPECT_EQ(config_path_request("config.check", std::nullopt, "/x"),
            json::parse(R"({"cmd":"config.check","args":{}})"));
  EXPECT_EQ(config_path_request("config.save", "gw.toml", "/srv/cfg")["args"]["path"],
            "/srv/cfg/gw.toml");
  EXPECT_EQ(config_path_request("config.save", "/etc/p.toml", "/srv")["args"]["path"],
            "/etc/p.toml");
}

}  // namespace
}  // namespace portcullis::ctl::cli
