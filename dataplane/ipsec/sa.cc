#include "dataplane/ipsec/sa.h"

#include <rte_ip.h>

#include <cstring>

#include "crypto/engine.h"
#include "dataplane/ipsec/esp_inbound.h"
#include "dataplane/ipsec/esp_outbound.h"
#include "dataplane/ipsec/esp_util.h"

namespace portcullis::dp {
namespace {

constexpr uint64_t kSeqLast32 = 0xffffffffull;
// With ESN the space is 2^64; stop well short of it so that a run's
// fetch_add can never wrap the counter back to small numbers.
constexpr uint64_t kSeqLast64 = ~0ull - (1ull << 32);

void common_fields(const SaConfig& cfg, uint32_t* spi_be, uint8_t* iv_len, uint8_t* icv_len,
                   uint8_t* block_mask, bool* aead, bool* cbc_esn) {
  *spi_be = rte_cpu_to_be_32(cfg.spi);
  *iv_len = static_cast<uint8_t>(cfg.suite.iv_len());
  *icv_len = static_cast<uint8_t>(cfg.suite.icv_len());
  *block_mask = static_cast<uint8_t>(cfg.suite.block_len() - 1);
  *aead = cfg.suite.is_aead();
  *cbc_esn = !*aead && cfg.esn;
}

// build_template writes the outer IP (+ UDP) header that every packet of
// the SA starts from.
uint8_t build_template(const SaConfig& cfg, uint8_t* t) {
  uint8_t len = 0;
  if (cfg.mode == Mode::kTunnel) {
    if (cfg.tunnel_src.v6) {
      t[0] = 0x60;
      t[6] = cfg.udp_encap ? esp::kProtoUdp : esp::kProtoEsp;
      t[7] = cfg.ttl;  // hop limit
      std::memcpy(t + 8, cfg.tunnel_src.bytes.data(), 16);
      std::memcpy(t + 24, cfg.tunnel_dst.bytes.data(), 16);
      len = sizeof(rte_ipv6_hdr);
    } else {
      t[0] = 0x45;
      t[8] = cfg.ttl;
      t[9] = cfg.udp_encap ? esp::kProtoUdp : esp::kProtoEsp;
      std::memcpy(t + 12, cfg.tunnel_src.bytes.data(), 4);
      std::memcpy(t + 16, cfg.tunnel_dst.bytes.data(), 4);
      len = sizeof(rte_ipv4_hdr);
    }
  }
  if (cfg.udp_encap) {
    esp::store16(t + len, cfg.udp_src_port);
    esp::store16(t + len + 2, cfg.udp_dst_port);
    // Checksum 0: RFC 3948 section 2.1 for IPv4; IPv6 computes it per packet.
    len += esp::kUdpHdrLen;
  }
  return len;
}

std::unique_ptr<crypto::KeySchedule> make_schedule(const SaConfig& cfg, crypto::Engine& engine,
                                                   std::string* error) {
  return crypto::KeySchedule::create(engine, cfg.suite, cfg.cipher_key.span(), cfg.auth_key.span(),
                                     error);
}

}  // namespace

std::string validate_sa_config(const SaConfig& cfg, bool outbound) {
  if (cfg.spi < 256) {
    return "SPI " + std::to_string(cfg.spi) +
           " is reserved (RFC 4303 section 2.1): use 256 or more";
  }
  if (!cfg.suite.valid()) return "suite is not a valid cipher/integrity pairing";
  if (cfg.mode == Mode::kTunnel && outbound && cfg.tunnel_src.v6 != cfg.tunnel_dst.v6) {
    return "tunnel source " + cfg.tunnel_src.str() + " and destination " + cfg.tunnel_dst.str() +
           " are of different address families";
  }
  if (cfg.udp_encap && (cfg.udp_src_port == 0 || cfg.udp_dst_port == 0)) {
    return "UDP encapsulation needs non-zero source and destination ports";
  }
  if (cfg.dscp < -1 || cfg.dscp > 63) return "dscp must be -1 (copy) or 0..63";
  if (cfg.ttl == 0) return "ttl must be 1..255";
  if (!outbound && cfg.anti_replay) {
    if (const char* e = ReplayWindow::validate(cfg.replay_window)) return e;
  }
  if (outbound && cfg.first_seq == 0) return "first sequence number must be 1 or more";
  if (outbound && cfg.seq_lease != 0 && cfg.seq_lease < cfg.first_seq) {
    return "sequence lease " + std::to_string(cfg.seq_lease) + " ends below the first sequence number " +
           std::to_string(cfg.first_seq);
  }
  if (outbound && !cfg.esn && cfg.first_seq > kSeqLast32) {
    return "first sequence number is beyond the 32-bit space: the SA needs new keys";
  }
  return "";
}

std::unique_ptr<SaOutbound> build_outbound(const SaConfig& cfg, crypto::Engine& engine,
                                           std::string* error) {
  if (std::string e = validate_sa_config(cfg, true); !e.empty()) {
    *error = e;
    return nullptr;
  }
  auto ks = make_schedule(cfg, engine, error);
  if (!ks) return nullptr;
  auto sa = std::make_unique<SaOutbound>();
  sa->ks = ks.get();
  common_fields(cfg, &sa->spi_be, &sa->iv_len, &sa->icv_len, &sa->block_mask, &sa->aead,
                &sa->cbc_esn);
  sa->esn = cfg.esn;
  sa->ttl = cfg.ttl;
  sa->dscp = static_cast<int8_t>(cfg.dscp);
  sa->df = cfg.df;
  sa->udp = cfg.udp_encap;
  const bool tunnel = cfg.mode == Mode::kTunnel;
  // The family of the header the packet leaves with: the tunnel's, or in
  // transport mode the endpoints' own.
  sa->outer_v6 = tunnel ? cfg.tunnel_src.v6 : cfg.tunnel_dst.v6;
  sa->outer_len = build_template(cfg, sa->tmpl);
  if (tunnel && !sa->outer_v6) {
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
      sum += static_cast<uint32_t>(sa->tmpl[i] << 8 | sa->tmpl[i + 1]);
    sa->tmpl_sum = sum;
  }
  if (!tunnel) {
    // Transport keeps the packet's own IP header; the template holds only
    // the UDP ports, placed after it per packet.
    sa->outer_len = 0;
  }
  sa->prepare = select_outbound_prepare(tunnel, sa->aead, sa->outer_v6, cfg.udp_encap);
  sa->seq_last = cfg.esn ? kSeqLast64 : kSeqLast32;
  uint64_t margin = cfg.soft_seq_remaining;
  if (margin == 0) margin = cfg.esn ? (1ull << 61) : (1ull << 29);
  sa->seq_soft = sa->seq_last > margin ? sa->seq_last - margin : 1;
  sa->counters.soft_bytes = cfg.lifetime.soft_bytes;
  sa->hard_bytes = cfg.lifetime.hard_bytes;
  sa->counters.soft_packets = cfg.lifetime.soft_packets;
  sa->hard_packets = cfg.lifetime.hard_packets;
  sa->iv_mask = cfg.iv_mask;
  sa->next_seq.store(cfg.first_seq, std::memory_order_relaxed);
  sa->seq_lease.store(cfg.seq_lease == 0 ? UINT64_MAX : cfg.seq_lease, std::memory_order_relaxed);
  sa->spi = cfg.spi;
  sa->owned_ks = std::move(ks);
  return sa;
}

std::unique_ptr<SaInbound> build_inbound(const SaConfig& cfg, crypto::Engine& engine,
                                         std::string* error) {
  if (std::string e = validate_sa_config(cfg, false); !e.empty()) {
    *error = e;
    return nullptr;
  }
  auto ks = make_schedule(cfg, engine, error);
  if (!ks) return nullptr;
  const uint32_t window = cfg.anti_replay ? cfg.replay_window : ReplayWindow::kMinSize;
  auto sa = std::make_unique<SaInbound>(ReplayWindow(window, cfg.esn, cfg.anti_replay));
  sa->ks = ks.get();
  common_fields(cfg, &sa->spi_be, &sa->iv_len, &sa->icv_len, &sa->block_mask, &sa->aead,
                &sa->cbc_esn);
  sa->esn = cfg.esn;
  sa->mode = cfg.mode;
  sa->ks_lines = sa->ks->hot_lines(true);
  sa->decap = cfg.mode == Mode::kTunnel ? decap_tunnel : decap_transport;
  sa->counters.soft_bytes = cfg.lifetime.soft_bytes;
  sa->hard_bytes = cfg.lifetime.hard_bytes;
  sa->counters.soft_packets = cfg.lifetime.soft_packets;
  sa->hard_packets = cfg.lifetime.hard_packets;
  sa->spi = cfg.spi;
  sa->owned_ks = std::move(ks);
  return sa;
}

}  // namespace portcullis::dp
