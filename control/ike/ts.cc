#include "control/ike/ts.h"

#include <algorithm>
#include <cstring>

namespace portcullis::ctl::ike {

namespace {

using Addr = std::array<uint8_t, 16>;

Addr load(const Bytes& b) {
  Addr a{};
  std::memcpy(a.data(), b.data(), std::min<size_t>(b.size(), 16));
  return a;
}

Bytes store(const Addr& a, size_t n) { return Bytes(a.begin(), a.begin() + static_cast<long>(n)); }

int cmp(const Bytes& x, const Bytes& y) { return std::memcmp(x.data(), y.data(), x.size()); }

size_t addr_len(uint8_t type) { return type == kTsIpv4Range ? 4 : 16; }

bool well_formed(const TrafficSelector& t) {
  const size_t n = addr_len(t.type);
  return (t.type == kTsIpv4Range || t.type == kTsIpv6Range) && t.start.size() == n && t.end.size() == n &&
         cmp(t.start, t.end) <= 0 && t.start_port <= t.end_port;
}

// add1 / sub-range helpers on big-endian byte strings.
bool increment(Addr& a, size_t n) {
  for (size_t i = n; i-- > 0;) {
    if (++a[i] != 0) return true;
  }
  return false;  // wrapped
}

}  // namespace

std::vector<TrafficSelector> to_selectors(const std::vector<api::Prefix>& prefixes) {
  std::vector<TrafficSelector> out;
  for (const auto& p : prefixes) {
    const bool v4 = p.addr.family == api::Family::kIpv4;
    const size_t n = v4 ? 4 : 16;
    TrafficSelector t;
    t.type = v4 ? kTsIpv4Range : kTsIpv6Range;
    Addr lo{}, hi{};
    for (size_t i = 0; i < n; i++) {
      const int bits = std::clamp(int(p.len) - int(i) * 8, 0, 8);
      const uint8_t mask = static_cast<uint8_t>(bits == 0 ? 0 : 0xff << (8 - bits));
      lo[i] = p.addr.bytes[i] & mask;
      hi[i] = static_cast<uint8_t>(lo[i] | ~mask);
    }
    t.start = store(lo, n);
    t.end = store(hi, n);
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<TrafficSelector> intersect(const std::vector<TrafficSelector>& a, const std::vector<TrafficSelector>& b) {
  std::vector<TrafficSelector> out;
  for (const auto& x : a) {
    if (!well_formed(x)) continue;
    for (const auto& y : b) {
      if (!well_formed(y) || x.type != y.type) continue;
      if (x.ip_protocol != 0 && y.ip_protocol != 0 && x.ip_protocol != y.ip_protocol) continue;
      TrafficSelector t;
      t.type = x.type;
      t.ip_protocol = x.ip_protocol ? x.ip_protocol : y.ip_protocol;
      t.start_port = std::max(x.start_port, y.start_port);
      t.end_port = std::min(x.end_port, y.end_port);
      if (t.start_port > t.end_port) continue;
      t.start = cmp(x.start, y.start) >= 0 ? x.start : y.start;
      t.end = cmp(x.end, y.end) <= 0 ? x.end : y.end;
      if (cmp(t.start, t.end) > 0) continue;
      if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(std::move(t));
    }
  }
  return out;
}

bool covered(const std::vector<TrafficSelector>& inner, const std::vector<TrafficSelector>& outer) {
  for (const auto& x : inner) {
    if (!well_formed(x)) return false;
    const bool inside = std::any_of(outer.begin(), outer.end(), [&](const TrafficSelector& y) {
      return well_formed(y) && x.type == y.type && (y.ip_protocol == 0 || y.ip_protocol == x.ip_protocol) &&
             x.start_port >= y.start_port && x.end_port <= y.end_port && cmp(x.start, y.start) >= 0 &&
             cmp(x.end, y.end) <= 0;
    });
    if (!inside) return false;
  }
  return true;
}

bool to_prefixes(const std::vector<TrafficSelector>& ts, std::vector<api::Prefix>& out, size_t max) {
  for (const auto& t : ts) {
    if (!well_formed(t)) return false;
    const size_t n = addr_len(t.type);
    const int bits = int(n) * 8;
    Addr cur = load(t.start);
    const Addr end = load(t.end);
    for (;;) {
      // The largest aligned block starting at cur that stays within end.
      int len = bits;
      while (len > 0) {
        const int host = bits - (len - 1);
        // Is cur aligned to a block of 2^host addresses?
        bool aligned = true;
        for (int i = 0; i < host; i++) {
          const int bit = bits - 1 - i;
          if (cur[bit / 8] & (0x80 >> (bit % 8))) aligned = false;
        }
        if (!aligned) break;
        // Its last address: cur with the host bits set.
        Addr last = cur;
        for (int i = 0; i < host; i++) {
          const int bit = bits - 1 - i;
          last[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
        }
        if (std::memcmp(last.data(), end.data(), n) > 0) break;
        --len;
      }
      if (out.size() >= max) return false;
      api::Prefix p;
      p.addr.family = n == 4 ? api::Family::kIpv4 : api::Family::kIpv6;
      std::memcpy(p.addr.bytes.data(), cur.data(), n);
      p.len = static_cast<uint8_t>(len);
      out.push_back(p);
      // Advance past the block.
      Addr last = cur;
      for (int i = 0; i < bits - len; i++) {
        const int bit = bits - 1 - i;
        last[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
      }
      if (std::memcmp(last.data(), end.data(), n) >= 0) break;
      cur = last;
      if (!increment(cur, n)) break;
    }
  }
  return true;
}

std::string describe_ts(const std::vector<TrafficSelector>& ts) {
  std::string out;
  for (const auto& t : ts) {
    std::vector<api::Prefix> p;
    std::string one;
    if (to_prefixes({t}, p, 1)) {
      one = p[0].str();
    } else if (well_formed(t)) {
      api::IpAddr a, b;
      a.family = b.family = t.type == kTsIpv4Range ? api::Family::kIpv4 : api::Family::kIpv6;
      std::memcpy(a.bytes.data(), t.start.data(), t.start.size());
      std::memcpy(b.bytes.data(), t.end.data(), t.end.size());
      one = a.str() + ".." + b.str();
    } else {
      one = "(malformed)";
    }
    if (t.ip_protocol) one += " proto " + std::to_string(t.ip_protocol);
    if (t.start_port != 0 || t.end_port != 65535) {
      one += " ports " + std::to_string(t.start_port) + "-" + std::to_string(t.end_port);
    }
    out += (out.empty() ? "" : ", ") + one;
  }
  return out.empty() ? "(none)" : out;
}

}  // namespace portcullis::ctl::ike
