#include "dataplane/pipeline/worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "dataplane/ipsec/esp_util.h"
#include "dataplane/ipsec/sa.h"
#include "dataplane/pipeline/packet.h"
#include "dataplane/tables/flow_key.h"
#include "dataplane/tables/selector.h"

namespace portcullis::dp {
namespace {

// bump adds to a WorkerStats counter. The worker is its only writer, so a
// relaxed load and store do: a locked add per packet cost as much as a
// cold cache line.
inline void bump(std::atomic<uint64_t>& c, uint64_t n) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// prefetch_key_schedule loads the lines of a key schedule that IPsec-MB
// reads for a short packet (KeySchedule::hot_lines, copied next to the
// pointer so as not to wait for ks itself): at scale every line loaded
// and not used takes a fill buffer from one that is.
inline void prefetch_key_schedule(const crypto::KeySchedule* ks, uint32_t lines) {
  const auto* k = reinterpret_cast<const char*>(ks);
  for (; lines != 0; lines &= lines - 1) rte_prefetch0(k + 64 * __builtin_ctz(lines));
}

}  // namespace

using esp::load16;
using esp::load32;

Worker::Worker(const WorkerConfig& cfg, crypto::Engine& engine)
    : cfg_(cfg), esp_(engine), icmp_limit_(rte_get_tsc_hz(), cfg.icmp_rate, cfg.icmp_burst),
      acquire_limit_(rte_get_tsc_hz(), 100, 10) {
  nb_cache_cycles_ = rte_get_tsc_hz() / 1000000 * kNbCacheUs;
  esp_.set_shard(cfg.index, cfg.workers);
  out_pkts_.reserve(kBurst);
  esp_pkts_.reserve(kStage);
  in_pkts_.reserve(kBurst);
  out_sas_.reserve(kStage);
  in_sas_.reserve(kBurst);
  in_orig_.reserve(kBurst);
  spis_.reserve(kBurst);
  tx_.resize(kMaxPorts);
}

void Worker::run() {
  cfg_.rcu->register_reader(cfg_.index);
  cfg_.rcu->online(cfg_.index);
  uint32_t idle = 0;
  while (!cfg_.stop->load(std::memory_order_relaxed)) {
    const uint64_t t0 = rte_rdtsc();
    const uint32_t n = poll_once();
    const uint64_t dt = rte_rdtsc() - t0;
    bump(n != 0 ? stats_.busy_cycles : stats_.idle_cycles, dt);
    cfg_.rcu->quiescent(cfg_.index);
    idle = n != 0 ? 0 : idle + 1;
    if (cfg_.idle_sleep_us != 0 && idle > 1000) {
      // Offline while asleep, so that the agent's grace periods need not
      // wait for us.
      cfg_.rcu->offline(cfg_.index);
      rte_delay_us_sleep(cfg_.idle_sleep_us);
      cfg_.rcu->online(cfg_.index);
    }
  }
  cfg_.rcu->offline(cfg_.index);
  cfg_.rcu->unregister_reader(cfg_.index);
}

uint32_t Worker::poll_once() {
  const TableSet* ts = cfg_.tables->get();
  // The neighbour table changes in place; an answer is reused for at most
  // kNbCacheUs, so a change takes effect within that (as if the lookup had
  // raced with it). Per iteration only, 16 LAN hosts in bursts of 32 hit
  // half the time.
  const uint64_t now = rte_rdtsc();
  if (now - nb_epoch_tsc_ > nb_cache_cycles_) {
    nb_epoch_++;
    nb_epoch_tsc_ = now;
  }
  uint32_t total = 0;
  rte_mbuf* pkts[kBurst];
  for (uint16_t port : cfg_.ports) {
    const uint16_t n = rte_eth_rx_burst(port, cfg_.queue, pkts, kBurst);
    if (n == 0) continue;
    total += n;
    bump(stats_.rx, n);
    if (ts == nullptr) {
      // Nothing configured yet: nothing may pass.
      for (uint16_t i = 0; i < n; i++) drop(pkts[i], DropReason::kDiscard);
      continue;
    }
    handle_burst(*ts, port, pkts, n);
  }
  if (cfg_.agent_tx != nullptr) {
    const unsigned n = rte_ring_dequeue_burst(cfg_.agent_tx, reinterpret_cast<void**>(pkts), kBurst, nullptr);
    for (unsigned i = 0; i < n; i++) {
      TxQueue& q = tx_[pkts[i]->port < kMaxPorts ? pkts[i]->port : 0];
      q.pkts[q.n++] = pkts[i];
      if (q.n == std::size(q.pkts)) flush_tx();
    }
  }
  flush_tx();
  return total;
}

void Worker::drop(rte_mbuf* m, DropReason r) {
  esp_.drops().add(r);
  rte_pktmbuf_free(m);
}

void Worker::punt(rte_mbuf* m) {
  if (rte_ring_enqueue(cfg_.punt, m) != 0) {
    drop(m, DropReason::kPuntFull);
    return;
  }
  bump(stats_.punted, 1);
}

void Worker::handle_burst(const TableSet& ts, uint16_t port, rte_mbuf** pkts, uint16_t n) {
  const PortConf& pc = ts.ports[port < kMaxPorts ? port : 0];
  if (local_.generation != ts.generation) local_.build(ts);
  out_pkts_.clear();
  in_pkts_.clear();
  for (uint16_t i = 0; i < n; i++) {
    rte_mbuf* m = pkts[i];
    if (i + 1 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void*));
    const Classified c = classify(local_, pc, m);
    switch (c.verdict) {
      case Verdict::kPunt:
        punt(m);
        break;
      case Verdict::kDrop:
        drop(m, c.reason);
        break;
      case Verdict::kEchoReply:
        bump(stats_.local, 1);
        forward(ts, m);
        break;
      case Verdict::kInbound:
        in_pkts_.push_back(m);
        break;
      case Verdict::kOutbound:
        out_pkts_.push_back(m);
        break;
    }
  }
  if (!out_pkts_.empty()) outbound(ts, port);
  if (!in_pkts_.empty()) inbound(ts);
}

// outbound: SPD, then ESP for every protected packet of the burst at once.
void Worker::outbound(const TableSet& ts, uint16_t rx_port) {
  FlowKey keys[kBurst];
  const SpdPolicy* pol[kBurst];
  size_t nk = 0;
  for (rte_mbuf* m : out_pkts_) {
    const DropReason r = parse_flow_key(m, 0, &keys[nk]);
    if (r != DropReason::kNone) {
      drop(m, r);
      continue;
    }
    out_pkts_[nk++] = m;
  }
  out_pkts_.resize(nk);
  if (nk == 0) return;
  if (ts.spd) {
    ts.spd->classify_burst(std::span<const FlowKey>(keys, nk), std::span<const SpdPolicy*>(pol, nk));
  } else {
    for (size_t i = 0; i < nk; i++) pol[i] = nullptr;
  }
  prefetch_sas(pol, nk);
  esp_pkts_.clear();
  out_sas_.clear();
  for (size_t i = 0; i < nk; i++) {
    rte_mbuf* m = out_pkts_[i];
    const SpdPolicy* p = pol[i];
    if (p == nullptr || p->action == SpdAction::kDiscard) {
      drop(m, DropReason::kDiscard);
      continue;
    }
    if (p->action == SpdAction::kBypass) {
      if (!decrement_ttl(m)) {
        drop(m, DropReason::kMalformed);
        continue;
      }
      bump(stats_.bypass, 1);
      forward(ts, m);
      continue;
    }
    if (p->sa == nullptr) {  // protect, but no SA yet: the daemon must acquire one
      if (cfg_.acquire != nullptr && acquire_limit_.allow(rte_rdtsc())) {
        AcquireRequest req{p->id, keys[i]};
        rte_ring_enqueue_elem(cfg_.acquire, &req, sizeof req);  // full: the agent is behind; drop it
      }
      drop(m, DropReason::kNoSa);
      continue;
    }
    const uint32_t limit = sa_limit(ts, p->sa, m);
    if (m->pkt_len > limit) [[unlikely]] {
      too_big(ts, rx_port, m, p->sa, limit);
      continue;
    }
    if (!decrement_ttl(m)) {
      drop(m, DropReason::kMalformed);
      continue;
    }
    stage_esp(ts, m, p->sa);
  }
  seal_staged(ts);
}

void Worker::stage_esp(const TableSet& ts, rte_mbuf* m, SaOutbound* sa) {
  if (esp_pkts_.size() == kStage) seal_staged(ts);
  esp_pkts_.push_back(m);
  out_sas_.push_back(sa);
}

void Worker::seal_staged(const TableSet& ts) {
  if (esp_pkts_.empty()) return;
  std::span<rte_mbuf*> burst(esp_pkts_.data(), esp_pkts_.size());
  const size_t good = esp_outbound_burst(esp_, burst, out_sas_);
  bump(stats_.outbound, good);
  for (size_t i = 0; i < good; i++) forward_esp(ts, burst[i], out_sas_[i]);
  // The engine counted the failures.
  for (size_t i = good; i < burst.size(); i++) rte_pktmbuf_free(burst[i]);
  esp_pkts_.clear();
  out_sas_.clear();
}

// sa_limit is the largest inner packet sa carries without exceeding its
// egress port's MTU, noted in the SA for the current table set.
inline uint32_t Worker::sa_limit(const TableSet& ts, SaOutbound* sa, const rte_mbuf* m) {
  const uint64_t note = sa->mtu_note.load(std::memory_order_relaxed);
  if (note >> 16 == ((ts.generation + 1) & kNoteGenMask)) [[likely]] return note & 0xffff;
  return sa_limit_miss(ts, sa, m);
}

uint32_t Worker::sa_limit_miss(const TableSet& ts, SaOutbound* sa, const rte_mbuf* m) {
  const IpAddress dst = outer_destination(*sa, rte_pktmbuf_mtod(m, const uint8_t*));
  const uint32_t nh = ts.routes ? ts.routes->lookup(dst) : Routes::kNoRoute;
  // Without a route the ESP packet is dropped after encapsulation anyway
  // (no_route); no size limit applies before it.
  uint32_t limit = UINT16_MAX;
  if (nh != Routes::kNoRoute) {
    const uint16_t port = ts.routes->next_hop(nh).port_id;
    if (port < kMaxPorts) limit = std::min<uint32_t>(tunnel_mtu(*sa, ts.ports[port].mtu), UINT16_MAX);
  }
  // Transport-mode SAs are keyed by SA alone too: their packets all go to
  // the one peer.
  sa->mtu_note.store(((ts.generation + 1) & kNoteGenMask) << 16 | limit, std::memory_order_relaxed);
  return limit;
}

// prefetch_sas starts loading what ESP will touch for a burst's protected
// packets. At 10,000 tunnels and more each packet's policy, SA and key
// schedule are cold, and a dependent miss each, per packet, cost a fifth
// of the worker: here they go in two waves (policies, then SAs and key
// schedules), each wave's misses overlapping, one latency per wave for
// the whole burst.
void Worker::prefetch_sas(const SpdPolicy* const* pol, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (pol[i] != nullptr) rte_prefetch0(pol[i]);
  }
  const SaOutbound* prev = nullptr;
  for (size_t i = 0; i < n; i++) {
    const SaOutbound* sa = pol[i] != nullptr ? pol[i]->sa : nullptr;
    if (sa == nullptr || sa == prev) continue;
    prev = sa;
    const auto* b = reinterpret_cast<const char*>(sa);
    rte_prefetch0(b);                             // read-mostly fields
    rte_prefetch0(b + offsetof(SaOutbound, tmpl));  // header template
    __builtin_prefetch(b + offsetof(SaOutbound, next_seq), 1, 3);  // written: sequence, events
    __builtin_prefetch(b + offsetof(SaOutbound, shards), 1, 3);    // written: totals
    // The policy carries the SA's key schedule: no wait for the SA's line.
    if (pol[i]->ks != nullptr) prefetch_key_schedule(pol[i]->ks, pol[i]->ks_lines);
  }
}

// prefetch_in_sas is prefetch_sas for inbound: each SA's read-mostly line,
// its replay window and counters (written), and its key schedule.
void Worker::prefetch_in_sas() {
  const SaInbound* prev = nullptr;
  for (const SaInbound* sa : in_sas_) {
    if (sa == nullptr || sa == prev) continue;
    prev = sa;
    const auto* b = reinterpret_cast<const char*>(sa);
    rte_prefetch0(b);
    __builtin_prefetch(b + offsetof(SaInbound, replay), 1, 3);
  }
  prev = nullptr;
  for (const SaInbound* sa : in_sas_) {
    if (sa == nullptr || sa == prev || sa->ks == nullptr) continue;
    prev = sa;
    prefetch_key_schedule(sa->ks, sa->ks_lines);
  }
}

// too_big handles a packet larger than its SA's tunnel MTU (too_big.h):
// IPv4 without DF is fragmented and each fragment encrypted; anything else
// is dropped and its sender told the MTU, from the address of the port it
// came in on.
void Worker::too_big(const TableSet& ts, uint16_t rx_port, rte_mbuf* m, SaOutbound* sa,
                     uint32_t limit) {
  const uint8_t* ip = rte_pktmbuf_mtod(m, const uint8_t*);
  const bool v6 = ip[0] >> 4 == 6;
  if (!v6 && (load16(ip + 6) & 0x4000) == 0) {
    if (!decrement_ttl(m)) {
      drop(m, DropReason::kMalformed);
      return;
    }
    rte_mbuf* frags[kMaxFragments];
    DropReason why;
    const size_t n = fragment_ipv4(m, limit, m->pool, frags, &why);
    if (n == 0) {
      drop(m, why);
      return;
    }
    rte_pktmbuf_free(m);
    bump(stats_.fragmented, 1);
    bump(stats_.fragments, n);
    for (size_t k = 0; k < n; k++) stage_esp(ts, frags[k], sa);
    return;
  }
  // The error quotes the packet as it arrived, so TTL is only checked.
  if ((v6 ? ip[7] : ip[8]) <= 1) {
    drop(m, DropReason::kMalformed);
    return;
  }
  const IpAddress* src = ts.source_for(rx_port, v6);
  if (src == nullptr || !icmp_error_allowed(ip, m->pkt_len)) {
    drop(m, DropReason::kTooBig);
    return;
  }
  if (!icmp_limit_.allow(rte_rdtsc())) {
    bump(stats_.icmp_suppressed, 1);
    drop(m, DropReason::kTooBig);
    return;
  }
  // The original is dropped (and counted) here; its mbuf carries the error.
  const bool built =
      v6 ? make_packet_too_big(m, *src, std::max(limit, kMinIpv6Mtu))
         : make_frag_needed(m, *src, static_cast<uint16_t>(limit), esp_.next_ip_id());
  if (!built) {
    drop(m, DropReason::kTooBig);
    return;
  }
  esp_.drops().add(DropReason::kTooBig);
  bump(stats_.icmp_too_big, 1);
  forward(ts, m);
}

// inbound: SAD by SPI, ESP in one burst, then the SA's selectors.
void Worker::inbound(const TableSet& ts) {
  spis_.clear();
  for (rte_mbuf* m : in_pkts_) {
    uint32_t spi = 0;
    esp_inbound_spi(m, &spi);  // not ESP: spi 0, which no SA has
    spis_.push_back(spi);
  }
  in_sas_.resize(in_pkts_.size());
  if (ts.sad) {
    ts.sad->lookup_burst(spis_, in_sas_);
  } else {
    std::fill(in_sas_.begin(), in_sas_.end(), nullptr);
  }
  prefetch_in_sas();
  in_orig_.assign(in_pkts_.begin(), in_pkts_.end());
  const size_t good = esp_inbound_burst(esp_, in_pkts_, in_sas_);
  // Good packets keep their order, so walking the originals pairs each
  // with its SA.
  size_t j = 0;
  for (size_t i = 0; i < in_orig_.size() && j < good; i++) {
    if (in_orig_[i] != in_pkts_[j]) continue;
    rte_mbuf* m = in_pkts_[j++];
    const SaInbound* sa = in_sas_[i];
    if (sa->selectors != nullptr) {
      FlowKey k;
      if (parse_flow_key(m, 0, &k) != DropReason::kNone ||
          !sa->selectors->matches(k)) {
        drop(m, DropReason::kPolicyMismatch);
        continue;
      }
    }
    if (!decrement_ttl(m)) {
      drop(m, DropReason::kMalformed);
      continue;
    }
    bump(stats_.inbound, 1);
    forward(ts, m);
  }
  for (size_t i = good; i < in_pkts_.size(); i++) rte_pktmbuf_free(in_pkts_[i]);
}

// forward routes an L3 packet, finds the neighbour, adds Ethernet and
// queues it for transmission.
void Worker::forward(const TableSet& ts, rte_mbuf* m) {
  Egress e;
  if (resolve(ts, m, &e)) emit(ts, m, e);
}

// forward_esp is forward for an ESP packet of sa, whose route and
// neighbour are the SA's (egress_). The port's MTU is still checked per
// packet: it is what resolve checks, and packets differ in size.
void Worker::forward_esp(const TableSet& ts, rte_mbuf* m, const SaOutbound* sa) {
  EgressSlot& s = egress_[(reinterpret_cast<uintptr_t>(sa) >> 6) & (kEgressSlots - 1)];
  if (s.sa == sa && s.generation == ts.generation && s.epoch == nb_epoch_) [[likely]] {
    if (m->pkt_len > ts.ports[s.e.port].mtu) [[unlikely]] {
      drop(m, DropReason::kTooBig);
      return;
    }
    emit(ts, m, s.e);
    return;
  }
  Egress e;
  if (!resolve(ts, m, &e)) return;
  s = {sa, ts.generation, nb_epoch_, e};
  emit(ts, m, e);
}

// resolve finds m's port and next hop's MAC, or drops m (counted) and
// returns false.
[[gnu::always_inline]] inline bool Worker::resolve(const TableSet& ts, rte_mbuf* m, Egress* out) {
  const uint8_t* ip = rte_pktmbuf_mtod(m, const uint8_t*);
  const bool v6 = (ip[0] >> 4) == 6;
  // The destination is kept in registers as two words (IPv4: the address,
  // zero-extended, and 0), as IpAddress holds it: building an IpAddress on
  // the stack and reading it back as words stalled store forwarding.
  uint64_t d0 = 0, d1 = 0;
  uint32_t nh = Routes::kNoRoute;
  if (v6) {
    std::memcpy(&d0, ip + 24, 8);
    std::memcpy(&d1, ip + 32, 8);
    if (ts.routes) {
      Ipv6Bytes b;
      std::memcpy(b.data(), ip + 24, 16);
      nh = ts.routes->lookup6(b);
    }
  } else {
    uint32_t d;
    std::memcpy(&d, ip + 16, 4);
    d0 = d;
    if (ts.routes) nh = ts.routes->lookup4(d);
  }
  if (nh == Routes::kNoRoute) {
    drop(m, DropReason::kNoRoute);
    return false;
  }
  const NextHop& hop = ts.routes->next_hop(nh);
  if (hop.port_id >= kMaxPorts || m->pkt_len > ts.ports[hop.port_id].mtu) {
    drop(m, hop.port_id >= kMaxPorts ? DropReason::kNoRoute : DropReason::kTooBig);
    return false;
  }
  // The neighbour: the destination itself on a connected route, else the
  // gateway (read from the route table, not just written: no stall).
  bool n6 = v6;
  uint64_t n0 = d0, n1 = d1;
  if (!hop.connected) {
    n6 = hop.gateway.v6;
    std::memcpy(&n0, hop.gateway.bytes.data(), 8);
    std::memcpy(&n1, hop.gateway.bytes.data() + 8, 8);
  }
  const uint16_t nport = hop.port_id;
  NeighbourSlot& slot =
      nb_cache_[(n0 >> 24 ^ n0 >> 56 ^ n1 >> 56 ^ nport) & (kNbSlots - 1)];
  rte_ether_addr mac;
  if (slot.epoch == nb_epoch_ && slot.a0 == n0 && slot.a1 == n1 && slot.port == nport &&
      slot.v6 == n6) [[likely]] {
    mac = slot.mac;
  } else {
    NeighbourKey key{nport, {}};
    key.ip.v6 = n6;
    std::memcpy(key.ip.bytes.data(), &n0, 8);
    std::memcpy(key.ip.bytes.data() + 8, &n1, 8);
    if (!usable(cfg_.neighbours->lookup(key, &mac, rte_rdtsc()))) {
      // Ask the agent to resolve it (it deduplicates); this packet is lost.
      rte_ring_enqueue_elem(cfg_.resolve, &key, sizeof(key));
      drop(m, DropReason::kNoNeighbour);
      return false;
    }
    slot = {nb_epoch_, n0, n1, nport, n6, mac};
  }
  *out = {nport, v6, mac};
  return true;
}

// emit adds the Ethernet header and queues m on e's port.
[[gnu::always_inline]] inline void Worker::emit(const TableSet& ts, rte_mbuf* m, const Egress& e) {
  auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(m, sizeof(rte_ether_hdr)));
  if (eth == nullptr) {
    drop(m, DropReason::kNoRoom);
    return;
  }
  eth->dst_addr = e.mac;
  eth->src_addr = ts.ports[e.port].mac;
  eth->ether_type = rte_cpu_to_be_16(e.v6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4);
  TxQueue& q = tx_[e.port];
  q.pkts[q.n++] = m;
  if (q.n == std::size(q.pkts)) flush_tx();
}

void Worker::flush_tx() {
  for (uint16_t port = 0; port < tx_.size(); port++) {
    TxQueue& q = tx_[port];
    if (q.n == 0) continue;
    const uint16_t sent = rte_eth_tx_burst(port, cfg_.queue, q.pkts, q.n);
    bump(stats_.tx, sent);
    for (uint16_t i = sent; i < q.n; i++) drop(q.pkts[i], DropReason::kTxFull);
    q.n = 0;
  }
}

}  // namespace portcullis::dp
