#include "sa_pair.h"

#include <cstdio>
#include <cstdlib>

namespace portcullis::test {

dp::IpAddress host_a(bool v6) {
  return v6 ? *dp::IpAddress::parse("fd00:a::1") : dp::IpAddress::v4(10, 1, 0, 1);
}
dp::IpAddress host_b(bool v6) {
  return v6 ? *dp::IpAddress::parse("fd00:b::1") : dp::IpAddress::v4(10, 2, 0, 1);
}
dp::IpAddress gw_a(bool v6) {
  return v6 ? *dp::IpAddress::parse("2001:db8::a") : dp::IpAddress::v4(192, 0, 2, 1);
}
dp::IpAddress gw_b(bool v6) {
  return v6 ? *dp::IpAddress::parse("2001:db8::b") : dp::IpAddress::v4(192, 0, 2, 2);
}

dp::SaConfig sa_config(const SaPairOptions& o) {
  dp::SaConfig c;
  c.spi = o.spi;
  c.suite = o.suite;
  c.cipher_key = crypto::SecretBytes::random(o.suite.cipher_key_len() + o.suite.salt_len());
  c.auth_key = crypto::SecretBytes::random(o.suite.auth_key_len());
  c.mode = o.mode;
  c.esn = o.esn;
  const bool outer_v6 = o.mode == dp::Mode::kTunnel ? o.outer_v6 : o.inner_v6;
  c.tunnel_src = o.mode == dp::Mode::kTunnel ? gw_a(outer_v6) : host_a(outer_v6);
  c.tunnel_dst = o.mode == dp::Mode::kTunnel ? gw_b(outer_v6) : host_b(outer_v6);
  c.udp_encap = o.udp;
  c.replay_window = o.replay_window;
  c.anti_replay = o.anti_replay;
  return c;
}

SaPair make_sa_pair(crypto::Engine& engine, const SaPairOptions& o) {
  SaPair p;
  p.cfg = sa_config(o);
  std::string err;
  p.out = dp::build_outbound(p.cfg, engine, &err);
  if (p.out) p.in = dp::build_inbound(p.cfg, engine, &err);
  if (!p.out || !p.in) {
    std::fprintf(stderr, "make_sa_pair: %s\n", err.c_str());
    std::abort();
  }
  return p;
}

}  // namespace portcullis::test
