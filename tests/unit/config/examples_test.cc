// Every config in config/examples/ loads, and says what the demo needs.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include "config/parser.h"

namespace portcullis::config {
namespace {

namespace fs = std::filesystem;

const std::string kDir = PORTCULLIS_CONFIG_EXAMPLES;

LoadResult load(const std::string& name) {
  LoadResult r = load_file(kDir + "/" + name);
  for (const auto& e : r.errors) ADD_FAILURE() << e.str();
  return r;
}

TEST(Examples, EveryExampleLoads) {
  std::set<std::string> seen;
  for (const auto& entry : fs::directory_iterator(kDir)) {
    if (entry.path().extension() != ".toml") continue;
    SCOPED_TRACE(entry.path().string());
    const LoadResult r = load_file(entry.path().string());
    for (const auto& e : r.errors) ADD_FAILURE() << e.str();
    EXPECT_TRUE(r.ok());
    seen.insert(entry.path().filename().string());
  }
  // The demo's two gateways and the reference file must be among them.
  EXPECT_TRUE(seen.count("gw1.toml"));
  EXPECT_TRUE(seen.count("gw2.toml"));
  EXPECT_TRUE(seen.count("full.toml"));
}

TEST(Examples, Gw1IsTheDemoTopology) {
  const LoadResult r = load("gw1.toml");
  ASSERT_TRUE(r.ok());
  const Config& c = *r.config;
  ASSERT_EQ(c.ports.size(), 2u);
  const Port* lan = c.find_port("lan");
  const Port* wan = c.find_port("wan");
  ASSERT_TRUE(lan && wan);
  EXPECT_EQ(lan->id, 0);
  EXPECT_EQ(lan->role, api::PortRole::kProtected);
  ASSERT_EQ(lan->addresses.size(), 2u);
  EXPECT_EQ(lan->addresses[0].str(), "10.1.0.1/24");
  EXPECT_EQ(lan->addresses[1].str(), "fd00:1::1/64");
  EXPECT_EQ(wan->id, 1);
  EXPECT_EQ(wan->role, api::PortRole::kUnprotected);
  const Tunnel* t = c.find_tunnel("gw1-gw2");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->local.str(), "192.0.2.1");
  EXPECT_EQ(t->remote.str(), "192.0.2.2");
  EXPECT_EQ(t->esp, "aes128gcm16");
  EXPECT_EQ(t->keying, Keying::kManual);
  EXPECT_EQ(t->manual.spi_out, 0x1001u);
  EXPECT_EQ(t->manual.spi_in, 0x2001u);
  // Manual keys have no default lifetime.
  EXPECT_EQ(t->lifetime, api::Lifetime{});
  // Relative key paths are resolved against the config's directory.
  EXPECT_EQ(t->manual.key_out, fs::path(kDir).lexically_normal().string() + "/keys/gw1-to-gw2.key");
  EXPECT_EQ(c.path, fs::path(kDir + "/gw1.toml").lexically_normal().string());
  // Origins: the tunnel's header line and the line of its esp key.
  EXPECT_GT(t->origin.line, 0u);
  EXPECT_GT(t->origin.line_of("esp"), t->origin.line);
  EXPECT_GT(t->origin.line_of("manual.spi_out"), t->origin.line_of("esp"));
}

TEST(Examples, Gw2MirrorsGw1) {
  const LoadResult a = load("gw1.toml");
  const LoadResult b = load("gw2.toml");
  ASSERT_TRUE(a.ok() && b.ok());
  const Tunnel& t1 = a.config->tunnels.at(0);
  const Tunnel& t2 = b.config->tunnels.at(0);
  EXPECT_EQ(t1.local, t2.remote);
  EXPECT_EQ(t1.remote, t2.local);
  EXPECT_EQ(t1.local_ts, t2.remote_ts);
  EXPECT_EQ(t1.remote_ts, t2.local_ts);
  EXPECT_EQ(t1.manual.spi_out, t2.manual.spi_in);
  EXPECT_EQ(t1.manual.spi_in, t2.manual.spi_out);
  EXPECT_EQ(t1.manual.key_out, t2.manual.key_in);
  EXPECT_EQ(t1.manual.key_in, t2.manual.key_out);
  // Different sockets, so both daemons can run on one machine.
  EXPECT_NE(a.config->daemon.control_socket, b.config->daemon.control_socket);
  EXPECT_NE(a.config->daemon.dataplane_socket, b.config->daemon.dataplane_socket);
}

TEST(Examples, FullShowsDefaultsAndOptions) {
  const LoadResult r = load("full.toml");
  ASSERT_TRUE(r.ok());
  const Config& c = *r.config;
  EXPECT_EQ(c.crypto.profile, "prime-256");
  EXPECT_TRUE(c.crypto.allows("psk"));
  EXPECT_TRUE(c.crypto.esp_allowed("aes256gcm16"));
  EXPECT_TRUE(c.crypto.esp_allowed("aes256cbc-sha384"));
  EXPECT_FALSE(c.crypto.esp_allowed("aes128cbc-sha256"));
  ASSERT_EQ(c.routes.size(), 2u);
  ASSERT_TRUE(c.routes[0].via.has_value());
  EXPECT_EQ(c.routes[0].via->str(), "192.0.2.254");

  const Tunnel* m = c.find_tunnel("to-gw2");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->replay_window, 4096u);
  EXPECT_EQ(m->lifetime.hard_seconds, 86400u);
  EXPECT_EQ(m->lifetime.soft_seconds, 79200u);

  const Tunnel* v6 = c.find_tunnel("v6-host");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->mode, api::Mode::kTransport);
  EXPECT_TRUE(v6->udp_encap);
  // Transport mode: the selectors default to the endpoints.
  ASSERT_EQ(v6->local_ts.size(), 1u);
  EXPECT_EQ(v6->local_ts[0].str(), "2001:db8:0:1::1/128");
  EXPECT_EQ(v6->remote_ts.at(0).str(), "2001:db8:0:2::2/128");
  EXPECT_FALSE(v6->manual.auth_key_in.empty());

  const Tunnel* ike = c.find_tunnel("to-branch");
  ASSERT_TRUE(ike);
  EXPECT_EQ(ike->keying, Keying::kIkev2);
  // IKEv2 child SAs default to 8 h hard and 90% soft.
  EXPECT_EQ(ike->lifetime.hard_seconds, kIkeChildHardSeconds);
  EXPECT_EQ(ike->lifetime.soft_seconds, 25920u);
  EXPECT_EQ(ike->lifetime.hard_bytes, 0u);
  EXPECT_EQ(ike->ike.auth, "psk");
  EXPECT_EQ(ike->ike.ike_lifetime_seconds, 86400u);
}

TEST(Examples, EmptyFileIsTheDefaults) {
  // Nothing configured is valid: a daemon with no ports and no tunnels.
  const LoadResult r = parse_text("", "empty.toml");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config->daemon, DaemonSettings{});
  EXPECT_EQ(r.config->crypto.profile, "prime");
  EXPECT_TRUE(r.config->crypto.esp_allowed("aes128gcm"));  // an alias of aes128gcm16
  EXPECT_FALSE(r.config->crypto.esp_allowed("aes256gcm16"));
}

}  // namespace
}  // namespace portcullis::config
