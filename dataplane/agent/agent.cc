#include "dataplane/agent/agent.h"

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <time.h>

#include <cstring>

#include "crypto/key_schedule.h"
#include "crypto/slab.h"
#include "dataplane/ipsec/esp_util.h"

namespace portcullis::dp {
namespace {

constexpr uint8_t kNs = 135, kNa = 136;
constexpr uint8_t kOptSourceLl = 1, kOptTargetLl = 2;

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// own_address returns the port's address equal to ip, or null.
const IpAddress* own_address(const TableSet* ts, uint16_t port, const IpAddress& ip) {
  if (ts == nullptr || port >= kMaxPorts) return nullptr;
  const PortConf& p = ts->ports[port];
  for (uint8_t i = 0; i < p.n_addrs; i++) {
    if (p.addrs[i] == ip) return &p.addrs[i];
  }
  return nullptr;
}

// build_ns lays out an IPv6 neighbour solicitation (RFC 4861 section 4.3)
// for target from src, with our link-layer address, in m.
bool build_ns(rte_mbuf* m, const rte_ether_addr& mac, const IpAddress& src, const IpAddress& target) {
  constexpr uint16_t kLen = 14 + 40 + 24 + 8;
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kLen));
  if (p == nullptr) return false;
  std::memset(p, 0, kLen);
  // Solicited-node multicast: ff02::1:ffXX:XXXX and 33:33:ff:XX:XX:XX.
  uint8_t dst[16] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff};
  std::memcpy(dst + 13, target.bytes.data() + 13, 3);
  const uint8_t eth_dst[6] = {0x33, 0x33, 0xff, target.bytes[13], target.bytes[14], target.bytes[15]};
  std::memcpy(p, eth_dst, 6);
  std::memcpy(p + 6, mac.addr_bytes, 6);
  esp::store16(p + 12, RTE_ETHER_TYPE_IPV6);
  uint8_t* ip = p + 14;
  ip[0] = 0x60;
  esp::store16(ip + 4, 32);
  ip[6] = 58;
  ip[7] = 255;  // RFC 4861 section 7.1.1: hop limit must be 255
  std::memcpy(ip + 8, src.bytes.data(), 16);
  std::memcpy(ip + 24, dst, 16);
  uint8_t* icmp = ip + 40;
  icmp[0] = kNs;
  std::memcpy(icmp + 8, target.bytes.data(), 16);
  icmp[24] = kOptSourceLl;
  icmp[25] = 1;
  std::memcpy(icmp + 26, mac.addr_bytes, 6);
  esp::store16(icmp + 2, 0);
  const uint16_t sum = rte_ipv6_udptcp_cksum(reinterpret_cast<const rte_ipv6_hdr*>(ip), icmp);
  std::memcpy(icmp + 2, &sum, 2);
  return true;
}

}  // namespace

Agent::Agent(const AgentConfig& cfg, DataplaneState& state) : cfg_(cfg), state_(state) {
  api::ServerOptions so;
  so.path = cfg.socket_path;
  // A client that leaves with its transaction open (it crashed, or dpchan
  // stopped on an error) must not wedge the channel: abort it.
  so.on_disconnect = [this](uint64_t peer) {
    if (peer != txn_owner_) return;
    txn_owner_ = 0;
    if (state_.in_transaction()) {
      api::Message abort = api::Abort{};
      state_.handle(abort);
      ++aborted_txns_;
    }
  };
  server_ = std::make_unique<api::Server>(so, [this](api::Message& m) { return handle(m); });
  tsc_hz_ = rte_get_tsc_hz();
}

void Agent::step(int timeout_ms) {
  server_->poll(timeout_ms);
  if (telemetry_ != nullptr) {
    telemetry_->serve([this](const TelemetryRequest& q, TelemetryResponse& r) { answer_telemetry(q, r); });
  }

  rte_mbuf* pkts[32];
  unsigned n;
  while ((n = rte_ring_dequeue_burst(cfg_.punt, reinterpret_cast<void**>(pkts), 32, nullptr)) > 0) {
    for (unsigned i = 0; i < n; i++) handle_punt(pkts[i]);
  }
  NeighbourKey keys[32];
  while ((n = rte_ring_dequeue_burst_elem(cfg_.resolve, keys, sizeof(NeighbourKey), 32, nullptr)) > 0) {
    for (unsigned i = 0; i < n; i++) resolve(keys[i]);
  }
  const uint64_t now = rte_rdtsc();
  if (cfg_.acquire != nullptr) {
    AcquireRequest reqs[32];
    while ((n = rte_ring_dequeue_burst_elem(cfg_.acquire, reqs, sizeof(AcquireRequest), 32, nullptr)) > 0) {
      for (unsigned i = 0; i < n; i++) acquire(reqs[i], now);
    }
  }
  if (now - last_scan_tsc_ > tsc_hz_ / 10) {
    last_scan_tsc_ = now;
    scan_lifetimes();
    const AgeingPolicy policy{30 * tsc_hz_, 300 * tsc_hz_, 3 * tsc_hz_};
    cfg_.neighbours->age(now, policy, nullptr);
  }
}

api::Reply Agent::handle(api::Message& m) {
  if (std::holds_alternative<api::StatsGet>(m)) {
    return api::Reply{0, api::Status::kOk, {}, api::ReplyPayload(std::in_place_type<api::Stats>, stats())};
  }
  if (auto* inj = std::get_if<api::Inject>(&m)) return inject(*inj);
  // One transaction at a time, owned by the client that began it; others
  // may read (stats_get above, sa_query) but not change state meanwhile.
  const uint64_t peer = server_->current_peer();
  if (state_.in_transaction() && peer != txn_owner_ && !std::holds_alternative<api::SaQuery>(m)) {
    return api::Reply{0, api::Status::kBadState,
                      "another client has a transaction open; retry when it commits or aborts", {}};
  }
  if (std::holds_alternative<api::Begin>(m) || std::holds_alternative<api::Commit>(m) ||
      std::holds_alternative<api::Abort>(m)) {
    api::Reply r = state_.handle(m);
    if (r.ok()) txn_owner_ = std::holds_alternative<api::Begin>(m) ? peer : 0;
    return r;
  }
  // Neighbours change in place (see neighbours.h), at once and outside
  // any transaction.
  if (auto* na = std::get_if<api::NeighAdd>(&m)) {
    if (na->port_id >= kMaxPorts) {
      return api::Reply{0, api::Status::kInvalid, "no port " + std::to_string(na->port_id), {}};
    }
    rte_ether_addr mac;
    std::copy(na->mac.begin(), na->mac.end(), mac.addr_bytes);
    if (!cfg_.neighbours->update({na->port_id, to_ip(na->ip)}, mac, NeighbourState::kPermanent, rte_rdtsc())) {
      return api::Reply{0, api::Status::kNoSpace, "the neighbour table is full", {}};
    }
    return api::Reply{};
  }
  if (auto* nd = std::get_if<api::NeighDel>(&m)) {
    if (!cfg_.neighbours->remove({nd->port_id, to_ip(nd->ip)})) {
      return api::Reply{0, api::Status::kNotFound,
                        "no neighbour " + nd->ip.str() + " on port " + std::to_string(nd->port_id), {}};
    }
    return api::Reply{};
  }
  return state_.handle(m);
}

void Agent::acquire(const AcquireRequest& r, uint64_t now) {
  auto [it, fresh] = acquired_.try_emplace(r.policy_id, now);
  if (!fresh) {
    if (now - it->second < tsc_hz_) return;
    it->second = now;
  }
  if (acquired_.size() > 65536) acquired_.clear();  // bounded; at worst a repeat event
  // The selector is the packet's own (RFC 4301 section 5.1.1's "populate
  // from packet"): host prefixes, its protocol and ports.
  api::Acquire ev;
  ev.policy_id = r.policy_id;
  const FlowKey& k = r.key;
  const size_t n = k.v6 ? 16 : 4;
  ev.selector.src.addr.family = ev.selector.dst.addr.family = k.v6 ? api::Family::kIpv6 : api::Family::kIpv4;
  std::copy(k.src, k.src + n, ev.selector.src.addr.bytes.begin());
  std::copy(k.dst, k.dst + n, ev.selector.dst.addr.bytes.begin());
  ev.selector.src.len = ev.selector.dst.len = static_cast<uint8_t>(n * 8);
  ev.selector.proto = k.proto;
  if (k.has_ports()) {
    ev.selector.src_ports = {k.sport(), k.sport()};
    ev.selector.dst_ports = {k.dport(), k.dport()};
  }
  server_->broadcast(ev);
  ++acquires_;
}

void Agent::send_frame(uint16_t port, rte_mbuf* m) {
  m->port = port;
  if (rte_ring_enqueue(cfg_.tx, m) != 0) rte_pktmbuf_free(m);
}

void Agent::handle_punt(rte_mbuf* m) {
  const auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
  const uint16_t type = rte_be_to_cpu_16(eth->ether_type);
  if (type == RTE_ETHER_TYPE_ARP) {
    arp(m);
    return;
  }
  const uint8_t* ip = rte_pktmbuf_mtod_offset(m, const uint8_t*, sizeof(rte_ether_hdr));
  if (type == RTE_ETHER_TYPE_IPV6 && m->pkt_len >= 14 + 41 && ip[6] == 58 && ip[40] >= 133) {
    ndp(m);
    return;
  }
  // IKE: up to the daemon, from the IP header on.
  api::Punt ev;
  ev.port_id = m->port;
  ev.packet.assign(ip, ip + (m->pkt_len - sizeof(rte_ether_hdr)));
  events_ += server_->broadcast(api::Message(ev)) > 0;
  punts_++;
  rte_pktmbuf_free(m);
}

// arp answers requests for the gateway's IPv4 addresses (RFC 826) and
// learns the sender of anything addressed to it.
void Agent::arp(rte_mbuf* m) {
  if (m->pkt_len < sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr)) {
    rte_pktmbuf_free(m);
    return;
  }
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  auto* a = rte_pktmbuf_mtod_offset(m, rte_arp_hdr*, sizeof(rte_ether_hdr));
  const TableSet* ts = cfg_.tables->get();
  IpAddress target = IpAddress::v4(0, 0, 0, 0), sender = target;
  std::memcpy(target.bytes.data(), &a->arp_data.arp_tip, 4);
  std::memcpy(sender.bytes.data(), &a->arp_data.arp_sip, 4);
  const uint16_t port = m->port;
  if (a->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
      a->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
      own_address(ts, port, target) == nullptr) {
    rte_pktmbuf_free(m);
    return;
  }
  const uint16_t op = rte_be_to_cpu_16(a->arp_opcode);
  const uint64_t now = rte_rdtsc();
  cfg_.neighbours->update({port, sender}, a->arp_data.arp_sha,
                          op == RTE_ARP_OP_REPLY ? NeighbourState::kReachable : NeighbourState::kStale,
                          now);
  if (op != RTE_ARP_OP_REQUEST) {
    rte_pktmbuf_free(m);
    return;
  }
  const rte_ether_addr mine = ts->ports[port].mac;
  a->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
  a->arp_data.arp_tha = a->arp_data.arp_sha;
  a->arp_data.arp_tip = a->arp_data.arp_sip;
  a->arp_data.arp_sha = mine;
  std::memcpy(&a->arp_data.arp_sip, target.bytes.data(), 4);
  eth->dst_addr = eth->src_addr;
  eth->src_addr = mine;
  arp_replies_++;
  send_frame(port, m);
}

// ndp answers neighbour solicitations for the gateway's IPv6 addresses and
// learns from solicitations and advertisements (RFC 4861 section 7.2).
void Agent::ndp(rte_mbuf* m) {
  const TableSet* ts = cfg_.tables->get();
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  uint8_t* ip = p + 14;
  const uint32_t len = m->pkt_len - 14;
  uint8_t* icmp = ip + 40;
  const uint16_t port = m->port;
  if (len < 40 + 24 || ip[7] != 255 || (icmp[0] != kNs && icmp[0] != kNa)) {
    rte_pktmbuf_free(m);
    return;
  }
  IpAddress target, src;
  target.v6 = src.v6 = true;
  std::memcpy(target.bytes.data(), icmp + 8, 16);
  std::memcpy(src.bytes.data(), ip + 8, 16);
  // The link-layer address option, if any.
  const rte_ether_addr* ll = nullptr;
  for (uint32_t off = 24; off + 8 <= len - 40;) {
    const uint8_t olen = icmp[off + 1] * 8u;
    if (olen == 0 || off + olen > len - 40) break;
    if ((icmp[0] == kNs && icmp[off] == kOptSourceLl) || (icmp[0] == kNa && icmp[off] == kOptTargetLl)) {
      ll = reinterpret_cast<const rte_ether_addr*>(icmp + off + 2);
    }
    off += olen;
  }
  const uint64_t now = rte_rdtsc();
  if (icmp[0] == kNa) {
    if (ll != nullptr) cfg_.neighbours->update({port, target}, *ll, NeighbourState::kReachable, now);
    rte_pktmbuf_free(m);
    return;
  }
  if (own_address(ts, port, target) == nullptr || ll == nullptr) {
    rte_pktmbuf_free(m);
    return;
  }
  cfg_.neighbours->update({port, src}, *ll, NeighbourState::kStale, now);
  // Reply in place: a solicited advertisement with our address.
  const rte_ether_addr mine = ts->ports[port].mac;
  rte_pktmbuf_trim(m, static_cast<uint16_t>(m->pkt_len - (14 + 40 + 32)));
  auto* eth = reinterpret_cast<rte_ether_hdr*>(p);
  eth->dst_addr = *ll;
  eth->src_addr = mine;
  std::memcpy(ip + 24, ip + 8, 16);             // to the solicitor
  std::memcpy(ip + 8, target.bytes.data(), 16);  // from the target address
  esp::store16(ip + 4, 32);
  std::memset(icmp, 0, 32);
  icmp[0] = kNa;
  icmp[4] = 0x60;  // solicited, override
  std::memcpy(icmp + 8, target.bytes.data(), 16);
  icmp[24] = kOptTargetLl;
  icmp[25] = 1;
  std::memcpy(icmp + 26, mine.addr_bytes, 6);
  const uint16_t sum = rte_ipv6_udptcp_cksum(reinterpret_cast<const rte_ipv6_hdr*>(ip), icmp);
  std::memcpy(icmp + 2, &sum, 2);
  nd_replies_++;
  send_frame(port, m);
}

// resolve sends one ARP request or neighbour solicitation for k, unless one
// is already out (start_resolution deduplicates).
void Agent::resolve(const NeighbourKey& k) {
  const TableSet* ts = cfg_.tables->get();
  const uint64_t now = rte_rdtsc();
  rte_ether_addr mac;
  const NeighbourState st = cfg_.neighbours->lookup(k, &mac, now);
  if (st != NeighbourState::kNone) return;  // known, or a request is out
  if (!cfg_.neighbours->start_resolution(k, now) || ts == nullptr) return;
  const IpAddress* src = ts->source_for(k.port, k.ip.v6);
  if (src == nullptr) return;
  rte_mbuf* m = rte_pktmbuf_alloc(cfg_.pool);
  if (m == nullptr) return;
  const rte_ether_addr mine = ts->ports[k.port].mac;
  if (k.ip.v6) {
    if (!build_ns(m, mine, *src, k.ip)) {
      rte_pktmbuf_free(m);
      return;
    }
  } else {
    auto* eth = reinterpret_cast<rte_ether_hdr*>(
        rte_pktmbuf_append(m, sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr)));
    if (eth == nullptr) {
      rte_pktmbuf_free(m);
      return;
    }
    std::memset(eth, 0, sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr));
    std::memset(&eth->dst_addr, 0xff, 6);
    eth->src_addr = mine;
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
    auto* a = reinterpret_cast<rte_arp_hdr*>(eth + 1);
    a->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
    a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    a->arp_hlen = 6;
    a->arp_plen = 4;
    a->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
    a->arp_data.arp_sha = mine;
    std::memcpy(&a->arp_data.arp_sip, src->bytes.data(), 4);
    std::memcpy(&a->arp_data.arp_tip, k.ip.bytes.data(), 4);
  }
  m->port = k.port;
  resolutions_++;
  send_frame(k.port, m);
}

// scan_lifetimes reports the SA events the workers raised and enforces
// time limits (RFC 4301 section 4.4.2.1). Each call looks at up to
// kScanSlice SAs, resuming where the last one stopped, so that a million
// SAs cost the agent's loop a bounded slice per tick, not a long pause.
void Agent::scan_lifetimes() {
  constexpr size_t kScanSlice = 4096;
  auto& sas = state_.sas();
  if (sas.empty()) return;
  const uint64_t now = now_ns();
  auto it = sas.lower_bound(scan_cursor_);
  const size_t n = std::min(kScanSlice, sas.size());
  for (size_t done = 0; done < n; done++, ++it) {
    if (it == sas.end()) it = sas.begin();
    scan_one(it->first, *it->second, now);
  }
  scan_cursor_ = it == sas.end() ? 0 : it->first;
}

void Agent::scan_one(uint32_t id, InstalledSa& sa, uint64_t now) {
  SaCounters& c = sa.inbound ? sa.in->counters : sa.out->counters;
  const uint64_t age_s = (now - sa.installed_ns) / 1000000000ull;
  if (sa.lifetime.soft_seconds != 0 && age_s >= sa.lifetime.soft_seconds &&
      !sa.soft_time_reported) {
    sa.soft_time_reported = true;
    events_ += server_->broadcast(api::SaExpire{0, id, api::ExpireKind::kSoft, api::ExpireBy::kTime}) > 0;
  }
  if (sa.lifetime.hard_seconds != 0 && age_s >= sa.lifetime.hard_seconds &&
      !sa.hard_time_reported) {
    sa.hard_time_reported = true;
    c.dead.store(true, std::memory_order_relaxed);  // stops it, daemon or not
    events_ += server_->broadcast(api::SaExpire{0, id, api::ExpireKind::kHard, api::ExpireBy::kTime}) > 0;
  }
  const uint32_t bits = c.events.load(std::memory_order_relaxed) & ~sa.reported_events;
  if (bits == 0) return;
  sa.reported_events |= bits;
  struct Map {
    uint32_t bit;
    api::ExpireKind kind;
    api::ExpireBy by;
  };
  static constexpr Map kMap[] = {
      {kEventSoftBytes, api::ExpireKind::kSoft, api::ExpireBy::kBytes},
      {kEventSoftPackets, api::ExpireKind::kSoft, api::ExpireBy::kPackets},
      {kEventSoftSeq, api::ExpireKind::kSoft, api::ExpireBy::kSeq},
      {kEventHardBytes, api::ExpireKind::kHard, api::ExpireBy::kBytes},
      {kEventHardPackets, api::ExpireKind::kHard, api::ExpireBy::kPackets},
      {kEventSeqExhausted, api::ExpireKind::kHard, api::ExpireBy::kSeq},
  };
  for (const Map& e : kMap) {
    if (bits & e.bit) events_ += server_->broadcast(api::SaExpire{0, id, e.kind, e.by}) > 0;
  }
}

api::Reply Agent::inject(const api::Inject& m) {
  api::Reply r;
  const TableSet* ts = cfg_.tables->get();
  if (ts == nullptr || m.port_id >= kMaxPorts || m.packet.size() < 20 || m.packet.size() > 1500) {
    r.status = api::Status::kInvalid;
    r.error = "inject needs a configured port and an IP packet of 20..1500 bytes";
    return r;
  }
  IpAddress dst;
  dst.v6 = (m.packet[0] >> 4) == 6;
  if (dst.v6 && m.packet.size() < 40) {
    r.status = api::Status::kInvalid;
    r.error = "IPv6 packet shorter than its header";
    return r;
  }
  std::memcpy(dst.bytes.data(), m.packet.data() + (dst.v6 ? 24 : 16), dst.v6 ? 16 : 4);
  const uint32_t nh = ts->routes ? ts->routes->lookup(dst) : Routes::kNoRoute;
  NeighbourKey key{m.port_id, dst};
  if (nh != Routes::kNoRoute && !ts->routes->next_hop(nh).connected) {
    key.ip = ts->routes->next_hop(nh).gateway;
  }
  rte_ether_addr mac;
  if (!usable(cfg_.neighbours->lookup(key, &mac, rte_rdtsc()))) {
    resolve(key);
    r.status = api::Status::kNotFound;
    r.error = "no neighbour for " + key.ip.str() + " yet; resolution started, retry";
    return r;
  }
  rte_mbuf* mb = rte_pktmbuf_alloc(cfg_.pool);
  if (mb == nullptr) {
    r.status = api::Status::kNoSpace;
    r.error = "no mbufs";
    return r;
  }
  auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_append(mb, static_cast<uint16_t>(14 + m.packet.size())));
  if (eth == nullptr) {
    rte_pktmbuf_free(mb);
    r.status = api::Status::kNoSpace;
    r.error = "packet does not fit an mbuf";
    return r;
  }
  eth->dst_addr = mac;
  eth->src_addr = ts->ports[m.port_id].mac;
  eth->ether_type = rte_cpu_to_be_16(dst.v6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4);
  std::memcpy(eth + 1, m.packet.data(), m.packet.size());
  send_frame(m.port_id, mb);
  return r;
}

// answer_telemetry answers a DPDK telemetry request with the code that
// answers the channel's stats_get and sa_query, on the agent's thread.
void Agent::answer_telemetry(const TelemetryRequest& q, TelemetryResponse& r) {
  switch (q.kind) {
    case TelemetryRequest::Kind::kStats:
      r.stats = stats();
      r.ok = true;
      break;
    case TelemetryRequest::Kind::kSaCount:
      r.sa_count = state_.sas().size();
      r.ok = true;
      break;
    case TelemetryRequest::Kind::kSa: {
      api::Message m = api::SaQuery{0, q.sa_id};
      api::Reply reply = state_.handle(m);
      if (auto* info = std::get_if<api::SaInfo>(&reply.payload); reply.ok() && info != nullptr) {
        r.sa = *info;
        r.ok = true;
      } else {
        r.error = reply.error;
      }
      break;
    }
  }
}

api::Stats Agent::stats() const {
  api::Stats s;
  auto add = [&s](std::string name, uint64_t v) { s.counters.push_back({std::move(name), v}); };
  for (uint16_t port : cfg_.ports) {
    rte_eth_stats es{};
    rte_eth_stats_get(port, &es);
    const std::string p = "port." + std::to_string(port) + ".";
    add(p + "rx_packets", es.ipackets);
    add(p + "tx_packets", es.opackets);
    add(p + "rx_bytes", es.ibytes);
    add(p + "tx_bytes", es.obytes);
    add(p + "rx_missed", es.imissed);
    add(p + "rx_errors", es.ierrors);
  }
  DropCounters total;
  for (size_t i = 0; i < cfg_.workers->size(); i++) {
    const Worker& w = *(*cfg_.workers)[i];
    const WorkerStats& ws = w.stats();
    const std::string p = "worker." + std::to_string(i) + ".";
    add(p + "rx", ws.rx.load());
    add(p + "tx", ws.tx.load());
    add(p + "outbound", ws.outbound.load());
    add(p + "inbound", ws.inbound.load());
    add(p + "bypass", ws.bypass.load());
    add(p + "local", ws.local.load());
    add(p + "punted", ws.punted.load());
    add(p + "busy_cycles", ws.busy_cycles.load());
    add(p + "idle_cycles", ws.idle_cycles.load());
    add(p + "icmp_too_big", ws.icmp_too_big.load());
    add(p + "icmp_suppressed", ws.icmp_suppressed.load());
    add(p + "fragmented", ws.fragmented.load());
    add(p + "fragments", ws.fragments.load());
    for (size_t r = 1; r < kDropReasonCount; r++) total.count[r] += w.drops().count[r];
  }
  for (size_t r = 1; r < kDropReasonCount; r++) {
    add("drop." + std::string(drop_reason_name(static_cast<DropReason>(r))), total.count[r]);
  }
  add("agent.arp_replies", arp_replies_);
  add("agent.nd_replies", nd_replies_);
  add("agent.resolutions", resolutions_);
  add("agent.punts", punts_);
  add("agent.events", events_);
  add("agent.publishes", state_.publishes());
  add("agent.aborted_transactions", aborted_txns_);
  add("agent.acquires", acquires_);
  add("agent.sas", state_.sas().size());
  // Key schedules live in a locked slab kept out of core dumps
  // (crypto/slab.h); locking is best effort, so say how much of it took.
  const crypto::Slab::Stats ks = crypto::KeySchedule::slab().stats();
  add("memory.key_schedules", ks.in_use);
  add("memory.key_chunks", ks.chunks);
  add("memory.key_chunks_locked", ks.locked);
  return s;
}

}  // namespace portcullis::dp
