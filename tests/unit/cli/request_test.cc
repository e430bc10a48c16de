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

TunnelOptions ike_tunnel() {
  TunnelOptions t;
  t.name = "to-branch";
  t.local = "192.0.2.1";
  t.remote = "203.0.113.7";
  t.local_ts = {"10.1.0.0/24"};
  t.remote_ts = {"10.3.0.0/24"};
  t.certificate = "certs/gw1.pem";
  t.private_key = "../keys/gw1.key";
  t.ca = "/etc/portcullis/certs/ca.pem";
  return t;
}

TEST(TunnelAdd, IkeTunnelHasNoManualBlock) {
  TunnelOptions t = ike_tunnel();
  t.keying = "ikev2";
  json tun = tunnel_add_request(t, "/")["args"]["tunnel"];
  EXPECT_EQ(tun["keying"], "ikev2");
  EXPECT_FALSE(tun.contains("manual"));
  t.spi_in = "0x2001";
  EXPECT_NE(usage_error(t).find("--keying manual"), std::string::npos);
}

TEST(TunnelAdd, IkeOptionsImplyIkev2AndUseTomlFieldNames) {
  TunnelOptions t = ike_tunnel();
  t.local_id = "gw1.example.net";
  t.remote_id = "C=GB, O=Example, CN=branch";
  t.proposal = "aes256gcm16-prfsha384-ecp384";
  t.initiate = false;
  t.ike_lifetime = "12h";
  json req = tunnel_add_request(t, "/home/op/pki");
  EXPECT_EQ(req["cmd"], "tunnel.add");
  EXPECT_EQ(req["args"]["tunnel"], json::parse(R"({
    "name": "to-branch", "local": "192.0.2.1", "remote": "203.0.113.7",
    "local_ts": ["10.1.0.0/24"], "remote_ts": ["10.3.0.0/24"], "keying": "ikev2",
    "ike": {"certificate": "/home/op/pki/certs/gw1.pem",
            "private_key": "/home/op/keys/gw1.key",
            "ca": "/etc/portcullis/certs/ca.pem",
            "local_id": "gw1.example.net", "remote_id": "C=GB, O=Example, CN=branch",
            "proposal": "aes256gcm16-prfsha384-ecp384", "initiate": false,
            "ike_lifetime": 43200}})"))
      << req.dump(2);

  // Only what was given: auth (ecdsa) and the rest take the daemon's defaults.
  json plain = tunnel_add_request(ike_tunnel(), "/")["args"]["tunnel"]["ike"];
  for (const char* absent : {"auth", "psk_file", "local_id", "remote_id", "proposal", "initiate",
                             "ike_lifetime"}) {
    EXPECT_FALSE(plain.contains(absent)) << absent;
  }
  TunnelOptions on = ike_tunnel();
  on.initiate = true;
  on.ike_auth = "ed25519";
  json ike = tunnel_add_request(on, "/")["args"]["tunnel"]["ike"];
  EXPECT_EQ(ike["initiate"], true);
  EXPECT_EQ(ike["auth"], "ed25519");
}

TEST(TunnelAdd, PskFileAloneMeansPskAuth) {
  TunnelOptions t;
  t.name = "to-branch";
  t.psk_file = "to-branch.psk";
  json tun = tunnel_add_request(t, "/etc/portcullis/keys")["args"]["tunnel"];
  EXPECT_EQ(tun["keying"], "ikev2");
  EXPECT_EQ(tun["ike"], json::parse(R"({"auth": "psk",
    "psk_file": "/etc/portcullis/keys/to-branch.psk"})"));
  t.ike_auth = "psk";
  EXPECT_EQ(tunnel_add_request(t, "/etc/portcullis/keys")["args"]["tunnel"]["ike"]["auth"], "psk");
}

TEST(TunnelAdd, IkeCredentialsSayWhatIsMissing) {
  TunnelOptions psk;
  psk.name = "x";
  psk.ike_auth = "psk";
  EXPECT_NE(usage_error(psk).find("--ike-auth psk needs --psk-file"), std::string::npos)
      << usage_error(psk);
  psk.psk_file = "k.psk";
  psk.ca = "ca.pem";
  EXPECT_NE(usage_error(psk).find("not psk"), std::string::npos) << usage_error(psk);

  TunnelOptions cert;
  cert.name = "x";
  cert.keying = "ikev2";
  EXPECT_NE(usage_error(cert).find("(missing: --certificate, --private-key, --ca)"),
            std::string::npos)
      << usage_error(cert);
  cert.remote_id = "branch";  // implies ikev2 without --keying too
  cert.keying.reset();
  cert.certificate = "c.pem";
  EXPECT_NE(usage_error(cert).find("(missing: --private-key, --ca)"), std::string::npos)
      << usage_error(cert);

  TunnelOptions both = ike_tunnel();
  both.psk_file = "k.psk";
  EXPECT_NE(usage_error(both).find("--psk-file is for --ike-auth psk, not ecdsa"),
            std::string::npos)
      << usage_error(both);
}

TEST(TunnelAdd, ManualAndIkeOptionsDoNotMix) {
  TunnelOptions t = manual_tunnel();
  t.remote_id = "branch";
  EXPECT_NE(usage_error(t).find("use one keying"), std::string::npos) << usage_error(t);
  t.keying = "manual";
  EXPECT_NE(usage_error(t).find("--keying ikev2"), std::string::npos) << usage_error(t);
  TunnelOptions i = ike_tunnel();
  i.keying = "manual";
  EXPECT_NE(usage_error(i).find("are for IKEv2"), std::string::npos) << usage_error(i);
}

TEST(TunnelAdd, BadIkeValuesNameTheirOption) {
  struct Case {
    void (*set)(TunnelOptions&);
    const char* option;
  };
  const Case cases[] = {
      {[](TunnelOptions& t) { t.ike_auth = "rsa"; }, "--ike-auth"},
      {[](TunnelOptions& t) { t.ike_lifetime = "soon"; }, "--ike-lifetime"},
      {[](TunnelOptions& t) { t.ike_lifetime = "0s"; }, "--ike-lifetime"},
  };
  for (const auto& c : cases) {
    TunnelOptions t = ike_tunnel();
    c.set(t);
    EXPECT_NE(usage_error(t).find(c.option), std::string::npos) << usage_error(t);
  }
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
