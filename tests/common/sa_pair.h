// sa_pair.h: an outbound SA and the matching inbound SA with fresh random
// keys, for tests and benchmarks.
#pragma once

#include <memory>
#include <string>

#include "crypto/engine.h"
#include "dataplane/ipsec/sa.h"

namespace portcullis::test {

struct SaPairOptions {
  crypto::Suite suite;
  dp::Mode mode = dp::Mode::kTunnel;
  bool inner_v6 = false;
  bool outer_v6 = false;
  bool esn = true;
  bool udp = false;
  uint32_t spi = 0x1000;
  uint32_t replay_window = 1024;
  bool anti_replay = true;
};

struct SaPair {
  dp::SaConfig cfg;
  std::unique_ptr<dp::SaOutbound> out;
  std::unique_ptr<dp::SaInbound> in;
};

// Addresses used by the helpers: inner hosts and outer gateways.
dp::IpAddress host_a(bool v6);
dp::IpAddress host_b(bool v6);
dp::IpAddress gw_a(bool v6);
dp::IpAddress gw_b(bool v6);

// sa_config makes the config both directions share; keys are random.
dp::SaConfig sa_config(const SaPairOptions& o);

// make_sa_pair builds both directions; aborts the test on error.
SaPair make_sa_pair(crypto::Engine& engine, const SaPairOptions& o);

}  // namespace portcullis::test
