#include "sample_messages.h"

namespace portcullis::ctl::api::testing {

namespace {

Prefix v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t len) {
  return Prefix{IpAddr::v4(a, b, c, d), len};
}

Prefix v6(uint8_t last, uint8_t len) {
  std::array<uint8_t, 16> b{0x20, 0x01, 0x0d, 0xb8};
  b[15] = last;
  return Prefix{IpAddr::v6(b), len};
}

Selector selector4() {
  return Selector{v4(10, 1, 0, 0, 16), v4(10, 2, 0, 0, 16), 6, {1024, 65535}, {443, 443}};
}

Selector selector6() { return Selector{v6(1, 64), v6(2, 48), 17, {500, 500}, {4500, 4501}}; }

SaAdd full_sa_add() {
  SaAdd m;
  m.request_id = 11;
  m.sa_id = 42;
  m.direction = Direction::kIn;
  m.spi = 0xc0015eed;
  m.suite = "aes256cbc-sha512";
  m.cipher_key = KeyBytes(sample_key(32, 0x10));
  m.auth_key = KeyBytes(sample_key(64, 0x80));
  m.mode = Mode::kTransport;
  m.esn = false;
  m.tunnel_src = IpAddr::v4(192, 0, 2, 1);
  m.tunnel_dst = IpAddr::v4(198, 51, 100, 7);
  m.udp_encap = true;
  m.udp_src_port = 4501;
  m.udp_dst_port = 31337;
  m.replay_window = 4096;
  m.anti_replay = false;
  m.ttl = 17;
  m.dscp = 46;
  m.df = DfMode::kClear;
  m.lifetime = Lifetime{1000, 2000, 3000, 4000, 5000, 6000};
  m.first_seq = 0x1'0000'0005;
  m.seq_lease = 0x1'4000'0000;
  m.soft_seq_remaining = 99;
  m.selectors = {selector4(), Selector{v4(0, 0, 0, 0, 0), v4(0, 0, 0, 0, 0), 0, {}, {}}};
  return m;
}

}  // namespace

std::vector<uint8_t> sample_key(size_t n, uint8_t seed) {
  std::vector<uint8_t> k(n);
  for (size_t i = 0; i < n; ++i) k[i] = static_cast<uint8_t>(seed + 7 * i + 0x5a);
  return k;
}

SaAdd sample_sa_add(uint32_t i) {
  SaAdd m;
  m.sa_id = i + 1;
  m.direction = i % 2 ? Direction::kIn : Direction::kOut;
  m.spi = 0x10000 + i;
  m.suite = "aes128gcm16";
  uint8_t key[20];
  for (size_t b = 0; b < sizeof key; ++b) key[b] = static_cast<uint8_t>(i >> (8 * (b % 4)) ^ b);
  m.cipher_key = KeyBytes(key);
  m.tunnel_src = IpAddr::v4(192, 0, 2, 1);
  m.tunnel_dst = IpAddr::v4(198, 51, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i));
  m.lifetime.soft_seconds = 3000;
  m.lifetime.hard_seconds = 3600;
  m.selectors.push_back(
      Selector{v4(10, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8), 0, 24),
               v4(172, 16, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i), 32),
               0,
               {},
               {}});
  return m;
}

std::vector<Message> sample_messages() {
  std::vector<Message> v;
  v.push_back(Begin{1});
  v.push_back(Commit{2});
  v.push_back(Abort{3});
  v.push_back(Flush{4});
  v.push_back(StatsGet{5});
  v.push_back(full_sa_add());

  SaAdd gcm6;
  gcm6.request_id = 12;
  gcm6.sa_id = 43;
  gcm6.direction = Direction::kOut;
  gcm6.spi = 256;
  gcm6.suite = "chacha20poly1305";
  gcm6.cipher_key = KeyBytes(sample_key(36, 0x33));
  gcm6.tunnel_src = v6(0x11, 128).addr;
  gcm6.tunnel_dst = v6(0x22, 128).addr;
  gcm6.dscp = -1;
  gcm6.df = DfMode::kSet;
  gcm6.selectors = {selector6()};
  v.push_back(std::move(gcm6));

  SaUpdate up;
  up.request_id = 13;
  up.sa_id = 42;
  up.tunnel_src = IpAddr::v4(203, 0, 113, 9);
  up.tunnel_dst = IpAddr::v4(203, 0, 113, 10);
  up.udp_src_port = 1024;
  up.udp_dst_port = 62000;
  v.push_back(up);
  SaUpdate up_port;
  up_port.request_id = 14;
  up_port.sa_id = 44;
  up_port.udp_dst_port = 4500;
  v.push_back(up_port);
  SaUpdate up_lease;
  up_lease.request_id = 31;
  up_lease.sa_id = 45;
  up_lease.seq_lease = 0x1'0000'0000ull + 7;
  v.push_back(up_lease);
  v.push_back(NeighAdd{32, 1, IpAddr::v4(192, 0, 2, 254), {0x02, 0, 0, 0, 0, 0x01}});
  v.push_back(NeighDel{33, 1, IpAddr::v4(192, 0, 2, 254)});

  v.push_back(SaDel{15, 42});
  v.push_back(SaQuery{16, 42});
  v.push_back(PolicyAdd{17, 7, 100, Direction::kOut, selector4(), Action::kProtect, 42});
  v.push_back(PolicyAdd{18, 8, 5, Direction::kIn, selector6(), Action::kBypass, 0});
  v.push_back(PolicyAdd{19, 9, 0xffffffff, Direction::kOut, selector4(), Action::kDiscard, 0});
  v.push_back(PolicyDel{20, 7});
  v.push_back(RouteAdd{21, v4(10, 2, 0, 0, 16), IpAddr::v4(192, 0, 2, 254), 1});
  v.push_back(RouteAdd{22, v6(0, 32), std::nullopt, 0});
  v.push_back(RouteDel{23, v4(10, 2, 0, 0, 16)});
  v.push_back(PortConfig{24, 1, PortRole::kUnprotected, {v4(192, 0, 2, 1, 24), v6(1, 64)}, 9000});
  v.push_back(PortConfig{25, 0, PortRole::kProtected, {}, 1500});
  v.push_back(Inject{26, 1, {0x45, 0x00, 0x00, 0x1c, 0xde, 0xad, 0xbe, 0xef}});

  v.push_back(Reply{27, Status::kOk, "", {}});
  v.push_back(Reply{28, Status::kNotFound, "sa_del: no SA 42; it was never added or is gone", {}});
  v.push_back(Reply{29, Status::kOk, "", SaInfo{10, 15000, 123456789, 3, 0x1'0000'0000, 5}});
  v.push_back(Reply{30, Status::kOk, "",
                    Stats{{{"port.0.rx_packets", 12},
                           {"drop.replay", 0},
                           {"worker.1.busy_cycles", 0xffffffffffffffff}}}});
  v.push_back(Reply{31, Status::kOk, "", Stats{}});
  v.push_back(Reply{32, static_cast<Status>(777), "from the future: caf\xc3\xa9 \xe2\x9c\x93", {}});

  v.push_back(SaExpire{0, 42, ExpireKind::kHard, ExpireBy::kSeq});
  v.push_back(SaExpire{0, 43, ExpireKind::kSoft, ExpireBy::kBytes});
  v.push_back(Acquire{0, 7, Selector{v4(10, 1, 2, 3, 32), v4(10, 2, 3, 4, 32), 1, {}, {}}});
  v.push_back(Punt{0, 1, std::vector<uint8_t>(300, 0xab)});
  return v;
}

}  // namespace portcullis::ctl::api::testing
