#include "dataplane/tables/selector.h"

#include <charconv>
#include <cstring>

namespace portcullis::dp {

namespace {

uint8_t max_len(bool v6) { return v6 ? 128 : 32; }

// mask_bytes sets out to len leading one bits over 16 bytes.
void mask_bytes(uint8_t len, uint8_t out[16]) {
  for (int i = 0; i < 16; ++i) {
    const int bits = len - i * 8;
    out[i] = bits >= 8 ? 0xff : bits <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - bits));
  }
}

std::string range_str(const PortRange& r) {
  if (r.any()) return "any";
  if (r.lo == r.hi) return std::to_string(r.lo);
  return std::to_string(r.lo) + "-" + std::to_string(r.hi);
}

bool proto_has_ports(int proto) {
  switch (proto) {
    case kProtoTcp:
    case kProtoUdp:
    case kProtoIcmp:
    case kProtoIcmpv6:
    case 33:   // DCCP
    case 132:  // SCTP
    case 136:  // UDP-Lite
      return true;
    default:
      return false;
  }
}

}  // namespace

std::optional<Prefix> Prefix::make(const IpAddress& addr, uint8_t len) {
  if (len > max_len(addr.v6)) return std::nullopt;
  Prefix p;
  p.addr = addr;
  p.len = len;
  uint8_t mask[16];
  mask_bytes(len, mask);
  for (int i = 0; i < 16; ++i) p.addr.bytes[i] &= mask[i];
  return p;
}

std::optional<Prefix> Prefix::parse(std::string_view text) {
  const size_t slash = text.find('/');
  auto addr = IpAddress::parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  unsigned len = max_len(addr->v6);
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
    if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty() ||
        len > max_len(addr->v6)) {
      return std::nullopt;
    }
  }
  return make(*addr, static_cast<uint8_t>(len));
}

Prefix Prefix::any(bool v6) {
  Prefix p;
  p.addr.v6 = v6;
  return p;
}

bool Prefix::contains(const uint8_t* a) const {
  const int whole = len / 8;
  if (std::memcmp(a, addr.bytes.data(), whole) != 0) return false;
  const int bits = len % 8;
  if (bits == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - bits));
  return ((a[whole] ^ addr.bytes[whole]) & mask) == 0;
}

std::string Prefix::str() const { return addr.str() + "/" + std::to_string(len); }

std::string Selector::validate() const {
  if (src.v6() != dst.v6()) return "selector mixes IPv4 and IPv6 prefixes: " + str();
  if (src.len > max_len(src.v6()) || dst.len > max_len(dst.v6())) {
    return "selector prefix length too long for its family: " + str();
  }
  if (proto < kAnyProtocol || proto > 255) {
    return "selector protocol " + std::to_string(proto) + " is not 0-255 or any";
  }
  if (sport.lo > sport.hi || dport.lo > dport.hi) {
    return "selector port range has its low end above its high end: " + str();
  }
  if (proto != kAnyProtocol && !proto_has_ports(proto) && !(sport.any() && dport.any())) {
    return "selector gives ports for protocol " + std::to_string(proto) +
           ", which has none: " + str();
  }
  return {};
}

bool Selector::matches(const FlowKey& k) const {
  if ((k.v6 != 0) != src.v6()) return false;
  if (!src.contains(k.src) || !dst.contains(k.dst)) return false;
  if (proto != kAnyProtocol && proto != k.proto) return false;
  if (sport.any() && dport.any()) return true;
  if (!k.has_ports()) return false;
  const uint16_t sp = k.sport(), dp = k.dport();
  return sp >= sport.lo && sp <= sport.hi && dp >= dport.lo && dp <= dport.hi;
}

std::string Selector::str() const {
  return src.str() + " -> " + dst.str() + " proto " +
         (proto == kAnyProtocol ? std::string("any") : std::to_string(proto)) + " sport " +
         range_str(sport) + " dport " + range_str(dport);
}

std::optional<SelectorList> SelectorList::build(const std::vector<Selector>& selectors,
                                                std::string* error) {
  SelectorList list;
  list.rules_.reserve(selectors.size());
  for (const Selector& s : selectors) {
    if (std::string e = s.validate(); !e.empty()) {
      *error = e;
      return std::nullopt;
    }
    Rule r{};
    uint8_t mask[16];
    mask_bytes(s.src.len, mask);
    std::memcpy(r.src_mask, mask, 16);
    mask_bytes(s.dst.len, mask);
    std::memcpy(r.dst_mask, mask, 16);
    std::memcpy(r.src, s.src.addr.bytes.data(), 16);
    std::memcpy(r.dst, s.dst.addr.bytes.data(), 16);
    for (int i = 0; i < 2; ++i) {
      r.src[i] &= r.src_mask[i];  // host bits never decide a match
      r.dst[i] &= r.dst_mask[i];
    }
    r.v6 = s.src.v6() ? 1 : 0;
    r.any_proto = s.proto == kAnyProtocol;
    r.proto = r.any_proto ? 0 : static_cast<uint8_t>(s.proto);
    r.any_ports = s.sport.any() && s.dport.any();
    r.sport_lo = s.sport.lo, r.sport_hi = s.sport.hi;
    r.dport_lo = s.dport.lo, r.dport_hi = s.dport.hi;
    list.rules_.push_back(r);
  }
  return list;
}

bool SelectorList::matches(const FlowKey& k) const {
  uint64_t src[2], dst[2];
  std::memcpy(src, k.src, 16);
  std::memcpy(dst, k.dst, 16);
  const bool has_ports = k.has_ports();
  const uint16_t sp = k.sport(), dp = k.dport();
  for (const Rule& r : rules_) {
    if (r.v6 != k.v6) continue;
    if (((src[0] & r.src_mask[0]) ^ r.src[0]) | ((src[1] & r.src_mask[1]) ^ r.src[1]) |
        ((dst[0] & r.dst_mask[0]) ^ r.dst[0]) | ((dst[1] & r.dst_mask[1]) ^ r.dst[1])) {
      continue;
    }
    if (!r.any_proto && r.proto != k.proto) continue;
    if (r.any_ports) return true;
    if (has_ports && sp >= r.sport_lo && sp <= r.sport_hi && dp >= r.dport_lo && dp <= r.dport_hi) {
      return true;
    }
  }
  return false;
}

}  // namespace portcullis::dp
