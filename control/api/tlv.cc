// tlv.cc: the attribute writer and parser of codec_internal.h.
#include <cstring>
#include <stdexcept>

#include "control/api/codec_internal.h"

namespace portcullis::ctl::api::detail {

// --- TlvWriter ----------------------------------------------------------------

uint8_t* TlvWriter::append(Attr a, size_t len) {
  if (len > kMaxAttrLen) {
    const char* n = attr_name(static_cast<uint16_t>(a));
    throw std::length_error(std::string("attribute ") + (n ? n : "?") + " of " +
                            std::to_string(len) + " bytes exceeds the " +
                            std::to_string(kMaxAttrLen) + "-byte attribute limit");
  }
  const size_t at = out_.size();
  out_.resize(at + kTlvHeaderSize + len);
  uint8_t* p = out_.data() + at;
  store_le16(p, static_cast<uint16_t>(a));
  store_le16(p + 2, static_cast<uint16_t>(len));
  return p + kTlvHeaderSize;
}

void TlvWriter::u8(Attr a, uint8_t v) { *append(a, 1) = v; }
void TlvWriter::u16(Attr a, uint16_t v) { store_le16(append(a, 2), v); }
void TlvWriter::u32(Attr a, uint32_t v) { store_le32(append(a, 4), v); }
void TlvWriter::u64(Attr a, uint64_t v) { store_le64(append(a, 8), v); }

void TlvWriter::bytes(Attr a, std::span<const uint8_t> v) {
  uint8_t* p = append(a, v.size());
  if (!v.empty()) std::memcpy(p, v.data(), v.size());
}

void TlvWriter::str(Attr a, std::string_view s) {
  uint8_t* p = append(a, s.size());
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
}

void TlvWriter::addr(Attr a, const IpAddr& ip) {
  const size_t n = ip.size();
  uint8_t* p = append(a, n);
  if (n != 0) std::memcpy(p, ip.bytes.data(), n);
}

void TlvWriter::prefix(Attr a, const Prefix& pf) {
  const size_t n = pf.addr.size();
  uint8_t* p = append(a, 1 + n);
  p[0] = pf.len;
  if (n != 0) std::memcpy(p + 1, pf.addr.bytes.data(), n);
}

void TlvWriter::port_range(Attr a, const PortRange& r) {
  uint8_t* p = append(a, 4);
  store_le16(p, r.lo);
  store_le16(p + 2, r.hi);
}

void TlvWriter::selector(Attr a, const Selector& s) {
  const size_t mark = open(a);
  prefix(Attr::kSelSrc, s.src);
  prefix(Attr::kSelDst, s.dst);
  u8(Attr::kSelProto, s.proto);
  port_range(Attr::kSelSrcPorts, s.src_ports);
  port_range(Attr::kSelDstPorts, s.dst_ports);
  close(mark);
}

size_t TlvWriter::open(Attr a) {
  const size_t at = out_.size();
  append(a, 0);
  return at;
}

void TlvWriter::close(size_t mark) {
  const size_t len = out_.size() - mark - kTlvHeaderSize;
  if (len > kMaxAttrLen) {
    const char* n = attr_name(load_le16(out_.data() + mark));
    throw std::length_error(std::string("nested attribute ") + (n ? n : "?") + " of " +
                            std::to_string(len) + " bytes exceeds the " +
                            std::to_string(kMaxAttrLen) + "-byte attribute limit");
  }
  store_le16(out_.data() + mark + 2, static_cast<uint16_t>(len));
}

// --- AttrParser -----------------------------------------------------------------

AttrParser::AttrParser(std::span<const uint8_t> data, const char* what)
    : rest_(data), what_(what) {}

AttrParser::AttrParser(std::span<const uint8_t> data, const char* what, AttrParser& parent,
                       size_t index)
    : rest_(data), what_(what), index_(index), parent_(&parent), root_(parent.root_) {}

bool AttrParser::next(Tlv& a) {
  if (!ok() || rest_.empty()) return false;
  if (rest_.size() < kTlvHeaderSize) {
    fail(Status::kMalformed,
         std::to_string(rest_.size()) + " trailing bytes, too few for an attribute header (4)");
    return false;
  }
  a.type = load_le16(rest_.data());
  const size_t len = load_le16(rest_.data() + 2);
  if (len > rest_.size() - kTlvHeaderSize) {
    fail(Status::kMalformed, attr_label(a) + ": length " + std::to_string(len) + " runs past the " +
                                 std::to_string(rest_.size() - kTlvHeaderSize) +
                                 " bytes that remain");
    return false;
  }
  a.value = rest_.subspan(kTlvHeaderSize, len);
  rest_ = rest_.subspan(kTlvHeaderSize + len);
  return true;
}

bool AttrParser::mark(const Tlv& a) {
  if (!ok()) return false;
  uint64_t& word = seen_[a.type / 64];
  const uint64_t bit = uint64_t{1} << (a.type % 64);
  if (word & bit) {
    malformed(a, "appears twice; it takes one value");
    return false;
  }
  word |= bit;
  return true;
}

bool AttrParser::seen(Attr a) const {
  const auto t = static_cast<uint16_t>(a);
  return (seen_[t / 64] >> (t % 64)) & 1;
}

bool AttrParser::fixed(const Tlv& a, size_t n) {
  if (!mark(a)) return false;
  if (a.value.size() != n) {
    malformed(a, std::to_string(a.value.size()) + " bytes, expected " + std::to_string(n));
    return false;
  }
  return true;
}

void AttrParser::u8(const Tlv& a, uint8_t& v) {
  if (fixed(a, 1)) v = a.value[0];
}
void AttrParser::u16(const Tlv& a, uint16_t& v) {
  if (fixed(a, 2)) v = load_le16(a.value.data());
}
void AttrParser::u32(const Tlv& a, uint32_t& v) {
  if (fixed(a, 4)) v = load_le32(a.value.data());
}
void AttrParser::u64(const Tlv& a, uint64_t& v) {
  if (fixed(a, 8)) v = load_le64(a.value.data());
}

void AttrParser::mac(const Tlv& a, std::array<uint8_t, 6>& m) {
  if (fixed(a, 6)) std::copy(a.value.begin(), a.value.end(), m.begin());
}

void AttrParser::boolean(const Tlv& a, bool& v) {
  if (!fixed(a, 1)) return;
  if (a.value[0] > 1) {
    invalid(a, "value " + std::to_string(a.value[0]) + " is not a boolean (0 or 1)");
    return;
  }
  v = a.value[0] == 1;
}

void AttrParser::addr(const Tlv& a, IpAddr& ip) {
  if (!mark(a)) return;
  const size_t n = a.value.size();
  if (n != 4 && n != 16) {
    malformed(a, std::to_string(n) + " bytes, expected 4 (IPv4) or 16 (IPv6)");
    return;
  }
  ip = IpAddr{};
  ip.family = n == 4 ? Family::kIpv4 : Family::kIpv6;
  std::memcpy(ip.bytes.data(), a.value.data(), n);
}

void AttrParser::prefix(const Tlv& a, Prefix& p) {
  if (mark(a)) prefix_element(a, p);
}

void AttrParser::prefix_element(const Tlv& a, Prefix& p) {
  if (!ok()) return;
  const size_t n = a.value.size();
  if (n != 5 && n != 17) {
    malformed(a, std::to_string(n) +
                     " bytes, expected 5 (length and IPv4 address) or 17 (length and IPv6)");
    return;
  }
  const unsigned len = a.value[0];
  const unsigned max = n == 5 ? 32 : 128;
  if (len > max) {
    invalid(a, "prefix length " + std::to_string(len) + " exceeds " + std::to_string(max));
    return;
  }
  p = Prefix{};
  p.len = static_cast<uint8_t>(len);
  p.addr.family = n == 5 ? Family::kIpv4 : Family::kIpv6;
  std::memcpy(p.addr.bytes.data(), a.value.data() + 1, n - 1);
}

void AttrParser::port_range(const Tlv& a, PortRange& r) {
  if (!fixed(a, 4)) return;
  const uint16_t lo = load_le16(a.value.data()), hi = load_le16(a.value.data() + 2);
  if (lo > hi) {
    invalid(
        a, "port range " + std::to_string(lo) + "-" + std::to_string(hi) + " starts above its end");
    return;
  }
  r = PortRange{lo, hi};
}

void AttrParser::key(const Tlv& a, KeyBytes& k) {
  if (!mark(a)) return;
  if (a.value.empty() || a.value.size() > kMaxKeyLen) {
    invalid(a, std::to_string(a.value.size()) + " bytes; a key has 1 to " +
                   std::to_string(kMaxKeyLen) + " (omit auth_key for AEAD suites)");
    return;
  }
  k = KeyBytes(a.value);
}

void AttrParser::packet(const Tlv& a, std::vector<uint8_t>& p) {
  if (!mark(a)) return;
  if (a.value.empty()) {
    invalid(a, "empty packet");
    return;
  }
  p.assign(a.value.begin(), a.value.end());
}

void AttrParser::ascii(const Tlv& a, std::string& s, size_t max) {
  if (!mark(a)) return;
  if (a.value.empty() || a.value.size() > max) {
    invalid(a, std::to_string(a.value.size()) + " bytes; expected 1 to " + std::to_string(max));
    return;
  }
  for (uint8_t c : a.value) {
    if (c < 0x21 || c > 0x7e) {
      invalid(a, "byte 0x" + std::string(1, "0123456789abcdef"[c >> 4]) +
                     "0123456789abcdef"[c & 15] + " is not printable ASCII");
      return;
    }
  }
  s.assign(a.value.begin(), a.value.end());
}

void AttrParser::utf8(const Tlv& a, std::string& s, size_t max) {
  if (!mark(a)) return;
  if (a.value.size() > max) {
    invalid(a, std::to_string(a.value.size()) + " bytes; at most " + std::to_string(max));
    return;
  }
  std::string_view v(reinterpret_cast<const char*>(a.value.data()), a.value.size());
  if (!utf8_valid(v)) {
    invalid(a, "not well-formed UTF-8");
    return;
  }
  s.assign(v);
}

void AttrParser::selector(const Tlv& a, Selector& s, size_t index) {
  if (index == kNoIndex && !mark(a)) return;
  AttrParser sub(a.value, "selector", *this, index);
  Tlv t;
  while (sub.next(t)) {
    switch (t.attr()) {
      case Attr::kSelSrc:
        sub.prefix(t, s.src);
        break;
      case Attr::kSelDst:
        sub.prefix(t, s.dst);
        break;
      case Attr::kSelProto:
        sub.u8(t, s.proto);
        break;
      case Attr::kSelSrcPorts:
        sub.port_range(t, s.src_ports);
        break;
      case Attr::kSelDstPorts:
        sub.port_range(t, s.dst_ports);
        break;
      default:
        break;  // unknown here: skipped
    }
  }
  sub.require(Attr::kSelSrc);
  sub.require(Attr::kSelDst);
  if (ok() && s.src.addr.family != s.dst.addr.family) {
    sub.invalid("src " + s.src.str() + " and dst " + s.dst.str() +
                " differ in family; a selector covers one family");
  }
}

bool AttrParser::element(const Tlv& a, size_t count, size_t max) {
  if (!ok()) return false;
  if (count >= max) {
    invalid(a, "more than " + std::to_string(max) + " in one message");
    return false;
  }
  return true;
}

void AttrParser::require(Attr a) {
  if (!ok() || seen(a)) return;
  const auto t = static_cast<uint16_t>(a);
  fail(Status::kInvalid,
       std::string("missing required attribute ") + attr_name(t) + " (" + std::to_string(t) + ")");
}

void AttrParser::invalid(const Tlv& a, const std::string& why) {
  fail(Status::kInvalid, attr_label(a) + ": " + why);
}
void AttrParser::invalid(const std::string& why) { fail(Status::kInvalid, why); }
void AttrParser::malformed(const Tlv& a, const std::string& why) {
  fail(Status::kMalformed, attr_label(a) + ": " + why);
}

void AttrParser::fail(Status s, const std::string& why) {
  if (!ok()) return;
  root_->status_ = s;
  root_->error_ = path() + ": " + why;
}

std::string AttrParser::path() const {
  std::string p;
  if (parent_) {
    p = parent_->path();
    p += '.';
  }
  p += what_;
  if (index_ != kNoIndex) {
    p += '[';
    p += std::to_string(index_);
    p += ']';
  }
  return p;
}

std::string AttrParser::attr_label(const Tlv& a) const {
  const char* n = attr_name(a.type);
  return std::string("attribute ") + (n ? n : "?") + " (" + std::to_string(a.type) + ")";
}

DecodeError AttrParser::take_error(uint32_t request_id) {
  return DecodeError{root_->status_, std::move(root_->error_), request_id, false};
}

// --- UTF-8 --------------------------------------------------------------------------

bool utf8_valid(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      len = 2, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4, cp = c & 0x07;
    } else {
      return false;  // a continuation byte, or 0xf8 and above
    }
    if (n - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = cp << 6 | (cc & 0x3f);
    }
    static constexpr uint32_t kMinForLen[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLen[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

}  // namespace portcullis::ctl::api::detail
