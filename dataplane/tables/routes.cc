#include "dataplane/tables/routes.h"

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <tuple>
#include <utility>

namespace portcullis::dp {

namespace {

// Lookups convert addresses to the host order rte_lpm wants a chunk at a
// time, on the stack.
constexpr size_t kChunk = 64;
// rte_lpm keeps next hops in 24 bits, rte_lpm6 in 21.
constexpr size_t kMaxNextHops = 1u << 21;

std::string route_str(const Route& r) {
  return r.prefix.str() + " via " +
         (r.next_hop.connected ? std::string("connected") : r.next_hop.gateway.str()) + " port " +
         std::to_string(r.next_hop.port_id);
}

bool unspecified(const IpAddress& a) {
  return std::all_of(a.bytes.begin(), a.bytes.begin() + (a.v6 ? 16 : 4),
                     [](uint8_t b) { return b == 0; });
}

// The ordered key of a prefix, for finding duplicates.
std::pair<std::array<uint8_t, 17>, uint8_t> prefix_key(const Prefix& p) {
  std::array<uint8_t, 17> k{};
  k[0] = p.v6();
  std::copy(p.addr.bytes.begin(), p.addr.bytes.end(), k.begin() + 1);
  return {k, p.len};
}

}  // namespace

Routes::Tries::~Tries() {
  rte_lpm_free(lpm4);
  rte_lpm6_free(lpm6);
}

Routes::~Routes() = default;

std::unique_ptr<Routes> Routes::share() const {
  std::unique_ptr<Routes> t(new Routes());
  t->tries_ = tries_;
  t->lpm4_ = lpm4_;
  t->lpm6_ = lpm6_;
  t->default4_ = default4_;
  t->default6_ = default6_;
  t->next_hops_ = next_hops_;
  t->size_ = size_;
  return t;
}

std::unique_ptr<Routes> Routes::build(std::span<const Route> routes, std::string* error) {
  return build(routes, Options{}, error);
}

std::unique_ptr<Routes> Routes::build(std::span<const Route> routes, const Options& opts,
                                      std::string* error) {
  std::unique_ptr<Routes> t(new Routes());
  std::vector<Route> norm;  // host bits cleared
  norm.reserve(routes.size());
  std::map<std::pair<std::array<uint8_t, 17>, uint8_t>, size_t> seen;
  uint32_t count4 = 0, count6 = 0, tbl8_4 = 0, tbl8_6 = 0;
  for (size_t i = 0; i < routes.size(); ++i) {
    const Route& r = routes[i];
    auto p = Prefix::make(r.prefix.addr, r.prefix.len);
    if (!p) {
      *error = "route " + std::to_string(i) + " (" + route_str(r) + "): prefix too long";
      return nullptr;
    }
    if (!r.next_hop.connected && unspecified(r.next_hop.gateway)) {
      *error = "route " + std::to_string(i) + " (" + route_str(r) +
               "): needs a gateway or to be directly connected";
      return nullptr;
    }
    auto [it, added] = seen.try_emplace(prefix_key(*p), i);
    if (!added) {
      *error = "route " + std::to_string(i) + " (" + route_str(r) + "): prefix " + p->str() +
               " already routed by route " + std::to_string(it->second);
      return nullptr;
    }
    norm.push_back(Route{*p, r.next_hop});
    if (p->len == 0) continue;
    // Upper bounds on the second-level groups each trie may need: one per
    // IPv4 prefix longer than /24, one per byte beyond the third for IPv6.
    if (p->v6()) {
      ++count6;
      tbl8_6 += p->len > 24 ? (p->len - 24 + 7) / 8 : 0;
    } else {
      ++count4;
      tbl8_4 += p->len > 24 ? 1 : 0;
    }
  }

  std::vector<uint32_t> nh_index(norm.size());
  std::map<std::tuple<uint16_t, bool, std::array<uint8_t, 17>>, uint32_t> nh_seen;
  for (size_t i = 0; i < norm.size(); ++i) {
    const NextHop& nh = norm[i].next_hop;
    std::array<uint8_t, 17> gw{};
    if (!nh.connected) {  // a connected next hop's gateway field means nothing
      gw[0] = nh.gateway.v6;
      std::copy(nh.gateway.bytes.begin(), nh.gateway.bytes.end(), gw.begin() + 1);
    }
    auto [it, added] = nh_seen.try_emplace({nh.port_id, nh.connected, gw},
                                           static_cast<uint32_t>(t->next_hops_.size()));
    if (added) {
      if (t->next_hops_.size() == kMaxNextHops) {
        *error = "routes: more than " + std::to_string(kMaxNextHops) + " distinct next hops";
        return nullptr;
      }
      NextHop stored = nh;
      if (nh.connected) stored.gateway = IpAddress{};
      t->next_hops_.push_back(stored);
    }
    nh_index[i] = it->second;
  }

  // rte_lpm_create refuses a name already in use, so each build names its
  // tries afresh.
  static std::atomic<uint32_t> generation{0};
  const uint32_t gen = generation.fetch_add(1, std::memory_order_relaxed);
  auto tries = std::make_shared<Tries>();  // frees them, also on the error paths
  t->tries_ = tries;
  char name[64];
  if (count4 > 0) {
    std::snprintf(name, sizeof(name), "routes4_%u", gen);
    rte_lpm_config cfg{};
    cfg.max_rules = count4;
    cfg.number_tbl8s = std::max(tbl8_4, 1u);
    t->lpm4_ = tries->lpm4 = rte_lpm_create(name, opts.socket_id, &cfg);
    if (t->lpm4_ == nullptr) {
      *error = std::string("routes: rte_lpm_create failed: ") + rte_strerror(rte_errno);
      return nullptr;
    }
  }
  if (count6 > 0) {
    std::snprintf(name, sizeof(name), "routes6_%u", gen);
    rte_lpm6_config cfg{};
    cfg.max_rules = count6;
    cfg.number_tbl8s = std::max(tbl8_6, 1u);
    t->lpm6_ = tries->lpm6 = rte_lpm6_create(name, opts.socket_id, &cfg);
    if (t->lpm6_ == nullptr) {
      *error = std::string("routes: rte_lpm6_create failed: ") + rte_strerror(rte_errno);
      return nullptr;
    }
  }

  for (size_t i = 0; i < norm.size(); ++i) {
    const Prefix& p = norm[i].prefix;
    int rc = 0;
    if (p.len == 0) {
      (p.v6() ? t->default6_ : t->default4_) = nh_index[i];
    } else if (p.v6()) {
      rc = rte_lpm6_add(t->lpm6_, p.addr.bytes.data(), p.len, nh_index[i]);
    } else {
      uint32_t host;
      std::memcpy(&host, p.addr.bytes.data(), 4);
      rc = rte_lpm_add(t->lpm4_, rte_be_to_cpu_32(host), p.len, nh_index[i]);
    }
    if (rc != 0) {
      *error = "route " + std::to_string(i) + " (" + route_str(norm[i]) +
               "): adding to the trie failed: " + std::strerror(-rc);
      return nullptr;
    }
  }
  t->size_ = norm.size();
  return t;
}

// lookup4 is the single-address lookup the worker does per packet: one
// rte_lpm_lookup, without the burst version's staging arrays.
uint32_t Routes::lookup4(uint32_t dst_be) const {
  if (lpm4_ == nullptr) return default4_;
  uint32_t nh;
  if (rte_lpm_lookup(lpm4_, rte_be_to_cpu_32(dst_be), &nh) != 0) return default4_;
  return nh & 0x00ffffff;
}

uint32_t Routes::lookup6(const Ipv6Bytes& dst) const {
  uint32_t nh;
  lookup6_burst(std::span<const Ipv6Bytes>(&dst, 1), std::span<uint32_t>(&nh, 1));
  return nh;
}

uint32_t Routes::lookup(const IpAddress& dst) const {
  if (dst.v6) return lookup6(dst.bytes);
  uint32_t be;
  std::memcpy(&be, dst.bytes.data(), 4);
  return lookup4(be);
}

uint32_t Routes::lookup4_burst(std::span<const uint32_t> dsts_be, std::span<uint32_t> nh) const {
  uint32_t hits = 0;
  if (lpm4_ == nullptr) {
    for (size_t i = 0; i < dsts_be.size(); ++i) nh[i] = default4_;
    return default4_ == kNoRoute ? 0 : static_cast<uint32_t>(dsts_be.size());
  }
  uint32_t host[kChunk];
  for (size_t base = 0; base < dsts_be.size(); base += kChunk) {
    const size_t n = std::min(kChunk, dsts_be.size() - base);
    for (size_t j = 0; j < n; ++j) host[j] = rte_be_to_cpu_32(dsts_be[base + j]);
    uint32_t* out = nh.data() + base;
    rte_lpm_lookup_bulk(lpm4_, host, out, static_cast<unsigned>(n));
    for (size_t j = 0; j < n; ++j) {
      out[j] = (out[j] & RTE_LPM_LOOKUP_SUCCESS) ? (out[j] & 0x00ffffff) : default4_;
      hits += out[j] != kNoRoute;
    }
  }
  return hits;
}

uint32_t Routes::lookup6_burst(std::span<const Ipv6Bytes> dsts, std::span<uint32_t> nh) const {
  static_assert(sizeof(Ipv6Bytes) == RTE_LPM6_IPV6_ADDR_SIZE);
  uint32_t hits = 0;
  if (lpm6_ == nullptr) {
    for (size_t i = 0; i < dsts.size(); ++i) nh[i] = default6_;
    return default6_ == kNoRoute ? 0 : static_cast<uint32_t>(dsts.size());
  }
  int32_t res[kChunk];
  for (size_t base = 0; base < dsts.size(); base += kChunk) {
    const size_t n = std::min(kChunk, dsts.size() - base);
    // rte_lpm6 declares its input non-const but only reads it.
    auto* ips = reinterpret_cast<uint8_t(*)[RTE_LPM6_IPV6_ADDR_SIZE]>(
        const_cast<uint8_t*>(dsts[base].data()));
    rte_lpm6_lookup_bulk_func(lpm6_, ips, res, static_cast<unsigned>(n));
    for (size_t j = 0; j < n; ++j) {
      nh[base + j] = res[j] >= 0 ? static_cast<uint32_t>(res[j]) : default6_;
      hits += nh[base + j] != kNoRoute;
    }
  }
  return hits;
}

uint32_t Routes::lookup_burst(std::span<const IpAddress> dsts, std::span<uint32_t> nh) const {
  uint32_t hits = 0;
  uint32_t v4[kChunk], pos4[kChunk], pos6[kChunk], res[kChunk];
  Ipv6Bytes v6[kChunk];
  for (size_t base = 0; base < dsts.size(); base += kChunk) {
    const size_t n = std::min(kChunk, dsts.size() - base);
    size_t n4 = 0, n6 = 0;
    for (size_t j = 0; j < n; ++j) {
      const IpAddress& a = dsts[base + j];
      if (a.v6) {
        v6[n6] = a.bytes;
        pos6[n6++] = static_cast<uint32_t>(base + j);
      } else {
        std::memcpy(&v4[n4], a.bytes.data(), 4);
        pos4[n4++] = static_cast<uint32_t>(base + j);
      }
    }
    if (n4 > 0) {
      hits += lookup4_burst(std::span<const uint32_t>(v4, n4), std::span<uint32_t>(res, n4));
      for (size_t j = 0; j < n4; ++j) nh[pos4[j]] = res[j];
    }
    if (n6 > 0) {
      hits += lookup6_burst(std::span<const Ipv6Bytes>(v6, n6), std::span<uint32_t>(res, n6));
      for (size_t j = 0; j < n6; ++j) nh[pos6[j]] = res[j];
    }
  }
  return hits;
}

}  // namespace portcullis::dp
