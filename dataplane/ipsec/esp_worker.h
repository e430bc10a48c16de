// esp_worker.h: the ESP engine's per-lcore state and its burst functions.
//
// The pipeline in esp_outbound.cc and esp_inbound.cc is the same shape:
//   1. per packet, in runs of consecutive packets that share an SA: check
//      lengths and state, reserve sequence numbers, lay out headers and
//      trailer, describe the crypto job (the SA's prepare function);
//   2. one IPsec-MB burst over every surviving packet of the burst,
//      whatever SA it belongs to, so a burst of 1,000,000 tunnels still
//      fills the multi-buffer lanes;
//   3. per packet: finish (tag, replay window update, padding check,
//      decapsulation), count;
//   4. move the failed packets behind the good ones, keeping order, and
//      record their reasons.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "crypto/engine.h"
#include "crypto/iv_pool.h"
#include "dataplane/ipsec/drop_reason.h"
#include "dataplane/ipsec/sa.h"

struct rte_mbuf;

namespace portcullis::dp {

struct SaOutbound;
struct SaInbound;

// EspWorker is one lcore's ESP state. Not shared between threads.
class EspWorker {
 public:
  // kMaxBurst is the most packets one *_burst call takes; any beyond it are
  // failed with kUnsupported. RX bursts are 32 to 64.
  static constexpr size_t kMaxBurst = 256;

  explicit EspWorker(crypto::Engine& engine) : engine_(engine) {}

  // reasons holds, after a *_burst call that returned n good packets of
  // pkts.size(), the drop reason of pkts[n + i] at index i.
  std::span<const DropReason> reasons() const { return {reasons_.data(), n_failed_}; }
  const DropCounters& drops() const { return drops_; }
  DropCounters& drops() { return drops_; }
  crypto::Engine& engine() { return engine_; }
  crypto::IvPool& iv_pool() { return iv_pool_; }
  uint16_t next_ip_id() { return ip_id_++; }

  // set_shard picks the outbound SA counter shard this worker adds to:
  // index % kCounterShards, owned (plain stores) only when no other worker
  // maps to it, i.e. when there are at most kCounterShards workers (0:
  // unknown, shared). The default, shard 0 shared, is right for any number
  // of EspWorkers.
  void set_shard(unsigned index, unsigned workers) {
    shard_ = index % kCounterShards;
    shard_owned_ = workers != 0 && workers <= kCounterShards;
  }
  unsigned shard() const { return shard_; }
  bool shard_owned() const { return shard_owned_; }

  // Per-op scratch for the inbound CBC+ESN path, whose received ICV is
  // overwritten in the buffer by the high sequence bits.
  uint8_t* icv_save(size_t slot) { return icv_save_[slot].data(); }

 private:
  friend size_t esp_outbound_burst(EspWorker&, std::span<rte_mbuf*>, std::span<SaOutbound* const>);
  friend size_t esp_inbound_burst(EspWorker&, std::span<rte_mbuf*>, std::span<SaInbound* const>);
  size_t compact(std::span<rte_mbuf*> pkts);

  crypto::Engine& engine_;
  crypto::IvPool iv_pool_;
  DropCounters drops_;
  uint16_t ip_id_ = 1;
  unsigned shard_ = 0;
  bool shard_owned_ = false;
  size_t n_failed_ = 0;
  std::array<DropReason, kMaxBurst> status_{};   // per input packet
  std::array<DropReason, kMaxBurst> reasons_{};  // per failed packet, in output order
  std::array<uint16_t, kMaxBurst> op_pkt_{};     // crypto slot -> packet index
  std::array<uint64_t, kMaxBurst> seq_{};        // per packet: 64-bit sequence number
  std::array<crypto::CryptoOp, kMaxBurst> ops_{};
  std::array<std::array<uint8_t, 32>, kMaxBurst> icv_save_{};
  std::array<rte_mbuf*, kMaxBurst> failed_{};
};

// esp_outbound_burst encapsulates pkts[i] (an IP packet, data starting at
// the IP header) with sas[i]. Returns how many succeeded; they come first,
// in order, now starting at the outer IP header. The rest follow, with
// their reasons in w.reasons(); the caller frees them.
size_t esp_outbound_burst(EspWorker& w, std::span<rte_mbuf*> pkts,
                          std::span<SaOutbound* const> sas);

// esp_inbound_burst checks, decrypts and decapsulates pkts[i] (data
// starting at the outer IP header) with sas[i]; a null SA is counted as
// kNoSa. Good packets come first, starting at the inner IP header (tunnel)
// or the rebuilt IP header (transport).
size_t esp_inbound_burst(EspWorker& w, std::span<rte_mbuf*> pkts, std::span<SaInbound* const> sas);

// esp_inbound_spi reads the SPI (host byte order) of an ESP or
// UDP-encapsulated ESP packet starting at its outer IP header, for SAD
// lookup. Returns false for anything that is not ESP.
bool esp_inbound_spi(const rte_mbuf* m, uint32_t* spi);

}  // namespace portcullis::dp
