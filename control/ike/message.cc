// message.cc: the IKEv2 wire format (RFC 7296 section 3, RFC 7383 section
// 2.5 for SKF). See message.h for the contract.
//
// Parsing walks a chain of generic payload headers (section 3.2). Every
// length is compared with what is left of its container before anything
// is read through it, and each substructure (proposals, transforms,
// attributes, selectors) must end exactly where its container says it
// ends: a parser that tolerated slack would read the next payload out of
// the wrong bytes. Reserved fields are ignored on receipt and sent as zero,
// as section 3 asks throughout.
#include "control/ike/message.h"

#include <cstdio>
#include <stdexcept>
#include <utility>

namespace portcullis::ctl::ike {
namespace {

using ByteSpan = std::span<const uint8_t>;

// kMaxPayloads bounds a chain so that a message of tiny payloads cannot
// make the engine walk thousands of them; real exchanges carry under 20.
constexpr size_t kMaxPayloads = 64;
constexpr size_t kGenericHeaderSize = 4;
constexpr size_t kSkfPrefixSize = 4;  // Fragment Number, Total Fragments
constexpr uint8_t kCriticalBit = 0x80;
constexpr uint16_t kAttrFormatTv = 0x8000;  // section 3.3.5: AF bit
constexpr uint16_t kAttrKeyLength = 14;
constexpr uint16_t kNotifyInvalidSyntax = static_cast<uint16_t>(NotifyType::kInvalidSyntax);

uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t get32(const uint8_t* p) { return uint32_t{get16(p)} << 16 | get16(p + 2); }
uint64_t get64(const uint8_t* p) { return uint64_t{get32(p)} << 32 | get32(p + 4); }

void put8(Bytes& o, uint8_t v) { o.push_back(v); }
void put16(Bytes& o, uint16_t v) {
  o.push_back(static_cast<uint8_t>(v >> 8));
  o.push_back(static_cast<uint8_t>(v));
}
void put32(Bytes& o, uint32_t v) {
  put16(o, static_cast<uint16_t>(v >> 16));
  put16(o, static_cast<uint16_t>(v));
}
void put_bytes(Bytes& o, ByteSpan b) { o.insert(o.end(), b.begin(), b.end()); }
void put_zeros(Bytes& o, size_t n) { o.insert(o.end(), n, 0); }
void store16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void store32(uint8_t* p, uint32_t v) {
  store16(p, static_cast<uint16_t>(v >> 16));
  store16(p + 2, static_cast<uint16_t>(v));
}
void store64(uint8_t* p, uint64_t v) {
  store32(p, static_cast<uint32_t>(v >> 32));
  store32(p + 4, static_cast<uint32_t>(v));
}

// fail records why and returns false, so that checks read as one line.
bool fail(ParseError& err, std::string what, uint16_t notify = kNotifyInvalidSyntax) {
  err.what = std::move(what);
  err.notify = notify;
  err.critical_type = 0;
  return false;
}

std::string num(size_t v) { return std::to_string(v); }

// Name tables for logs and error messages, one entry a line.
struct Name {
  unsigned value;
  const char* name;
};

constexpr Name kPayloadNames[] = {
    {33, "SA"},   {34, "KE"}, {35, "IDi"}, {36, "IDr"}, {37, "CERT"}, {38, "CERTREQ"},
    {39, "AUTH"}, {40, "No"}, {41, "N"},   {42, "D"},   {43, "V"},    {44, "TSi"},
    {45, "TSr"},  {46, "SK"}, {47, "CP"},  {48, "EAP"}, {53, "SKF"},
};

// The exchange names of section 3.1.
constexpr Name kExchangeNames[] = {
    {34, "IKE_SA_INIT"}, {35, "IKE_AUTH"}, {36, "CREATE_CHILD_SA"}, {37, "INFORMATIONAL"}};

// Notify names are short, in the manner of strongSwan's logs, so that a
// describe() line stays on one screen line.
constexpr Name kNotifyNames[] = {
    {1, "UNSUPPORTED_CRITICAL"},
    {4, "INVAL_IKE_SPI"},
    {5, "INVAL_MAJOR"},
    {7, "INVAL_SYN"},
    {9, "INVAL_MID"},
    {11, "INVAL_SPI"},
    {14, "NO_PROP"},
    {17, "INVAL_KE"},
    {24, "AUTH_FAILED"},
    {34, "SINGLE_PAIR"},
    {35, "NO_ADD_SAS"},
    {36, "INT_ADDR_FAIL"},
    {37, "FAIL_CP_REQ"},
    {38, "TS_UNACCEPT"},
    {39, "INVAL_SEL"},
    {43, "TEMP_FAIL"},
    {44, "NO_CHILD_SA"},
    {16384, "INIT_CONTACT"},
    {16385, "SET_WINSIZE"},
    {16386, "ADD_TS_POSS"},
    {16387, "IPCOMP_SUP"},
    {16388, "NATD_S_IP"},
    {16389, "NATD_D_IP"},
    {16390, "COOKIE"},
    {16391, "USE_TRANSP"},
    {16393, "REKEY_SA"},
    {16394, "ESP_TFC_PAD_N"},
    {16395, "NON_FIRST_FRAG"},
    {16396, "MOBIKE_SUP"},
    {16430, "FRAG_SUP"},
    {16431, "HASH_ALG"},
};

template <size_t N>
const char* lookup(const Name (&table)[N], unsigned value) {
  for (const Name& n : table)
    if (n.value == value) return n.name;
  return nullptr;
}

const char* short_name(uint8_t type) { return lookup(kPayloadNames, type); }

std::string payload_label(uint8_t type) {
  const char* n = short_name(type);
  return n ? std::string(n) + " payload" : "payload type " + num(type);
}

// ---- SA payload (section 3.3) ----

// parse_attributes reads a transform's attributes (section 3.3.5). Only
// Key Length is defined for IKEv2, and only in TV form; any other
// attribute is skipped once its own length is seen to fit.
bool parse_attributes(ByteSpan b, Transform& t, ParseError& err) {
  size_t pos = 0;
  while (pos < b.size()) {
    if (b.size() - pos < 4) return fail(err, "SA payload: transform attribute truncated");
    const uint8_t* p = b.data() + pos;
    const uint16_t af_type = get16(p);
    const uint16_t type = af_type & ~kAttrFormatTv;
    if (af_type & kAttrFormatTv) {
      if (type == kAttrKeyLength) {
        if (t.key_bits != 0)
          return fail(err, "SA payload: transform has two Key Length attributes");
        t.key_bits = get16(p + 2);
        if (t.key_bits == 0) return fail(err, "SA payload: Key Length attribute of 0 bits");
      }
      pos += 4;
    } else {
      if (type == kAttrKeyLength)
        return fail(err, "SA payload: Key Length attribute in TLV form (must be TV)");
      const size_t len = get16(p + 2);
      if (len > b.size() - pos - 4)
        return fail(err, "SA payload: attribute length " + num(len) + " overruns its transform");
      pos += 4 + len;
    }
  }
  return true;
}

// parse_transforms reads exactly `count` transforms filling `b`. The last
// one says 0 in its first byte, the others 3 (section 3.3.2).
bool parse_transforms(ByteSpan b, unsigned count, std::vector<Transform>& out, ParseError& err) {
  size_t pos = 0;
  for (unsigned i = 0; i < count; ++i) {
    if (b.size() - pos < 8)
      return fail(err, "SA payload: transform " + num(i + 1) + " of " + num(count) + " truncated");
    const uint8_t* p = b.data() + pos;
    const uint8_t want_last = i + 1 == count ? 0 : 3;
    if (p[0] != want_last)
      return fail(err, "SA payload: transform " + num(i + 1) + " of " + num(count) +
                           " has last byte " + num(p[0]) + " (expected " + num(want_last) + ")");
    const size_t len = get16(p + 2);
    if (len < 8 || len > b.size() - pos)
      return fail(
          err, "SA payload: transform length " + num(len) + " outside 8.." + num(b.size() - pos));
    Transform t;
    t.type = static_cast<TransformType>(p[4]);
    t.id = get16(p + 6);
    if (!parse_attributes(b.subspan(pos + 8, len - 8), t, err)) return false;
    out.push_back(t);
    pos += len;
  }
  if (pos != b.size())
    return fail(err, "SA payload: " + num(b.size() - pos) + " bytes after the " + num(count) +
                         " transforms the proposal announces");
  return true;
}

// spi_size_ok: section 3.3.1: 4 bytes for AH and ESP; for IKE none in
// IKE_SA_INIT and 8 when rekeying the IKE SA in CREATE_CHILD_SA.
bool spi_size_ok(Protocol proto, size_t size) {
  switch (proto) {
    case Protocol::kIke:
      return size == 0 || size == 8;
    case Protocol::kAh:
    case Protocol::kEsp:
      return size == 4;
    default:
      return false;
  }
}

bool parse_sa(ByteSpan b, SaPayload& sa, ParseError& err) {
  if (b.empty()) return fail(err, "SA payload has no proposal");
  size_t pos = 0;
  for (bool more = true; more;) {
    const std::string which = "SA payload: proposal " + num(sa.proposals.size() + 1);
    if (b.size() - pos < 8) return fail(err, which + " truncated");
    const uint8_t* p = b.data() + pos;
    if (p[0] != 0 && p[0] != 2)
      return fail(err, which + " has last byte " + num(p[0]) + " (0 or 2 expected)");
    more = p[0] == 2;
    const size_t len = get16(p + 2);
    if (len < 8 || len > b.size() - pos)
      return fail(err, which + " length " + num(len) + " outside 8.." + num(b.size() - pos));
    Proposal pr;
    pr.number = p[4];
    pr.protocol = static_cast<Protocol>(p[5]);
    const size_t spi_size = p[6];
    if (!spi_size_ok(pr.protocol, spi_size))
      return fail(err,
                  which + ": SPI size " + num(spi_size) + " does not fit protocol " + num(p[5]));
    if (8 + spi_size > len) return fail(err, which + ": SPI overruns the proposal");
    // Section 3.3.1: proposals of one SA payload are numbered 1, 2, ... in
    // a request; a response carries the one chosen, with its number.
    if (!sa.proposals.empty() && pr.number != sa.proposals.back().number + 1)
      return fail(err, which + " is numbered " + num(pr.number) + " after " +
                           num(sa.proposals.back().number));
    pr.spi.assign(p + 8, p + 8 + spi_size);
    if (!parse_transforms(b.subspan(pos + 8 + spi_size, len - 8 - spi_size), p[7], pr.transforms,
                          err))
      return false;
    sa.proposals.push_back(std::move(pr));
    pos += len;
  }
  if (pos != b.size())
    return fail(err, "SA payload: " + num(b.size() - pos) + " bytes after the last proposal");
  return true;
}

// ---- the other payload bodies (sections 3.4 to 3.15) ----

bool parse_ts(ByteSpan b, TsPayload& ts, ParseError& err) {
  if (b.size() < 4) return fail(err, "TS payload shorter than its 4-byte header");
  const unsigned count = b[0];
  if (count == 0) return fail(err, "TS payload with no traffic selector");
  size_t pos = 4;
  for (unsigned i = 0; i < count; ++i) {
    const std::string which = "TS payload: selector " + num(i + 1) + " of " + num(count);
    if (b.size() - pos < 4) return fail(err, which + " truncated");
    const uint8_t* p = b.data() + pos;
    TrafficSelector s;
    s.type = p[0];
    s.ip_protocol = p[1];
    // Section 3.13.1: the address range types have fixed lengths.
    size_t addr;
    if (s.type == kTsIpv4Range) {
      addr = 4;
    } else if (s.type == kTsIpv6Range) {
      addr = 16;
    } else {
      return fail(
          err, which + " has type " + num(s.type) + " (only 7, IPv4, and 8, IPv6, are supported)");
    }
    const size_t len = get16(p + 2);
    if (len != 8 + 2 * addr)
      return fail(err, which + " length " + num(len) + " (type " + num(s.type) + " needs " +
                           num(8 + 2 * addr) + ")");
    if (len > b.size() - pos) return fail(err, which + " overruns the payload");
    s.start_port = get16(p + 4);
    s.end_port = get16(p + 6);
    s.start.assign(p + 8, p + 8 + addr);
    s.end.assign(p + 8 + addr, p + len);
    ts.selectors.push_back(std::move(s));
    pos += len;
  }
  if (pos != b.size())
    return fail(err, "TS payload: " + num(b.size() - pos) + " bytes after the selectors");
  return true;
}

bool parse_notify(ByteSpan b, NotifyPayload& n, ParseError& err) {
  if (b.size() < 4) return fail(err, "N payload shorter than its 4-byte header");
  const size_t spi_size = b[1];
  n.type = get16(b.data() + 2);
  if (spi_size > b.size() - 4)
    return fail(err, "N payload: SPI size " + num(spi_size) + " overruns the payload");
  // Section 3.10: with no SPI the protocol id is sent as zero and ignored
  // on receipt, so it is kept as kNone whatever was sent.
  n.protocol = spi_size == 0 ? Protocol::kNone : static_cast<Protocol>(b[0]);
  if (spi_size != 0 && !spi_size_ok(n.protocol, spi_size))
    return fail(err,
                "N payload: SPI size " + num(spi_size) + " does not fit protocol " + num(b[0]));
  n.spi.assign(b.begin() + 4, b.begin() + 4 + spi_size);
  n.data.assign(b.begin() + 4 + spi_size, b.end());
  return true;
}

bool parse_delete(ByteSpan b, DeletePayload& d, ParseError& err) {
  if (b.size() < 4) return fail(err, "D payload shorter than its 4-byte header");
  d.protocol = static_cast<Protocol>(b[0]);
  const size_t spi_size = b[1], count = get16(b.data() + 2);
  // Section 3.11: an IKE SA is named by the message's own SPIs, so its
  // Delete carries none; ESP and AH SPIs are 4 bytes.
  size_t want;
  switch (d.protocol) {
    case Protocol::kIke:
      want = 0;
      break;
    case Protocol::kAh:
    case Protocol::kEsp:
      want = 4;
      break;
    default:
      return fail(err, "D payload: protocol " + num(b[0]) + " is not IKE, AH or ESP");
  }
  if (spi_size != want)
    return fail(err, "D payload: SPI size " + num(spi_size) + " for protocol " + num(b[0]) +
                         " (expected " + num(want) + ")");
  if (want == 0 ? (count != 0 || b.size() != 4) : count * want != b.size() - 4)
    return fail(err, "D payload: " + num(count) + " SPIs of " + num(want) + " bytes in " +
                         num(b.size() - 4) + " bytes");
  for (size_t i = 0; i < count; ++i) d.spis.push_back(get32(b.data() + 4 + 4 * i));
  return true;
}

// parse_body turns one payload's body (after its generic header) into a
// Payload. `next` is the generic header's next-payload byte, which for SK
// and SKF names the first inner payload instead (section 3.14).
bool parse_body(uint8_t type, bool critical, uint8_t next, ByteSpan b, Payload& out,
                ParseError& err) {
  const auto tail = [&b](size_t from) { return Bytes(b.begin() + from, b.end()); };
  switch (static_cast<PayloadType>(type)) {
    case PayloadType::kSa: {
      SaPayload sa;
      if (!parse_sa(b, sa, err)) return false;
      out = std::move(sa);
      return true;
    }
    case PayloadType::kKe:
      if (b.size() < 4) return fail(err, "KE payload shorter than its 4-byte header");
      out = KePayload{get16(b.data()), tail(4)};
      return true;
    case PayloadType::kIdi:
    case PayloadType::kIdr:
      if (b.size() < 4) return fail(err, payload_label(type) + " shorter than its 4-byte header");
      out = IdPayload{type == static_cast<uint8_t>(PayloadType::kIdr), b[0], tail(4)};
      return true;
    case PayloadType::kCert:
    case PayloadType::kCertReq:
      if (b.empty()) return fail(err, payload_label(type) + " has no encoding byte");
      if (type == static_cast<uint8_t>(PayloadType::kCert)) {
        out = CertPayload{b[0], tail(1)};
      } else {
        out = CertReqPayload{b[0], tail(1)};
      }
      return true;
    case PayloadType::kAuth:
      if (b.size() < 4) return fail(err, "AUTH payload shorter than its 4-byte header");
      out = AuthPayload{b[0], tail(4)};
      return true;
    case PayloadType::kNonce:
      // Section 3.9: 16 to 256 bytes.
      if (b.size() < 16 || b.size() > 256)
        return fail(err, "nonce of " + num(b.size()) + " bytes (16..256 allowed)");
      out = NoncePayload{tail(0)};
      return true;
    case PayloadType::kNotify: {
      NotifyPayload n;
      if (!parse_notify(b, n, err)) return false;
      out = std::move(n);
      return true;
    }
    case PayloadType::kDelete: {
      DeletePayload d;
      if (!parse_delete(b, d, err)) return false;
      out = std::move(d);
      return true;
    }
    case PayloadType::kVendor:
      out = VendorPayload{tail(0)};
      return true;
    case PayloadType::kTsi:
    case PayloadType::kTsr: {
      TsPayload ts;
      ts.responder = type == static_cast<uint8_t>(PayloadType::kTsr);
      if (!parse_ts(b, ts, err)) return false;
      out = std::move(ts);
      return true;
    }
    case PayloadType::kCp:
      if (b.size() < 4) return fail(err, "CP payload shorter than its 4-byte header");
      out = CpPayload{b[0], tail(4)};
      return true;
    case PayloadType::kSk:
      out = SkPayload{static_cast<PayloadType>(next), tail(0)};
      return true;
    case PayloadType::kSkf: {
      if (b.size() < kSkfPrefixSize)
        return fail(err, "SKF payload shorter than its fragment numbers");
      SkfPayload f{static_cast<PayloadType>(next), get16(b.data()), get16(b.data() + 2),
                   tail(kSkfPrefixSize)};
      // RFC 7383 section 2.5: fragments are numbered 1..Total.
      if (f.total == 0 || f.number == 0 || f.number > f.total)
        return fail(err, "SKF payload: fragment " + num(f.number) + " of " + num(f.total));
      out = std::move(f);
      return true;
    }
    case PayloadType::kEap:  // no EAP here: treated as unknown
    case PayloadType::kNone:
      break;
  }
  // Section 2.5: an unknown payload is skipped unless marked critical, in
  // which case the whole message is refused and the type reported back.
  if (critical) {
    fail(err, payload_label(type) + " is critical and not supported",
         static_cast<uint16_t>(NotifyType::kUnsupportedCriticalPayload));
    err.critical_type = type;
    return false;
  }
  out = UnknownPayload{type, false, tail(0)};
  return true;
}

// parse_chain walks generic payload headers from `first` until a payload
// says kNone (or an SK/SKF ends the chain) and checks that the chain ends
// exactly at the end of `bytes`.
bool parse_chain(uint8_t first, ByteSpan bytes, bool outer, std::vector<Payload>& out,
                 ParseError& err) {
  size_t pos = 0;
  uint8_t type = first;
  while (type != 0) {
    if (out.size() == kMaxPayloads)
      return fail(err, "more than " + num(kMaxPayloads) + " payloads");
    const std::string where = payload_label(type) + " at offset " + num(pos);
    if (bytes.size() - pos < kGenericHeaderSize)
      return fail(err, where + ": truncated generic header");
    const uint8_t* p = bytes.data() + pos;
    const size_t len = get16(p + 2);
    if (len < kGenericHeaderSize || len > bytes.size() - pos)
      return fail(err, where + ": length " + num(len) + " outside 4.." + num(bytes.size() - pos));
    const bool encrypted = type == static_cast<uint8_t>(PayloadType::kSk) ||
                           type == static_cast<uint8_t>(PayloadType::kSkf);
    if (encrypted && !outer)
      return fail(err, where + ": an encrypted payload inside an encrypted payload");
    // Section 3.14: SK, and RFC 7383 section 2.5: SKF, are last; their
    // next-payload byte belongs to the chain inside them.
    if (encrypted && pos + len != bytes.size())
      return fail(
          err, where + ": " + num(bytes.size() - pos - len) + " bytes follow it (it must be last)");
    Payload payload;
    if (!parse_body(type, p[1] & kCriticalBit, p[0],
                    bytes.subspan(pos + kGenericHeaderSize, len - kGenericHeaderSize), payload,
                    err)) {
      if (err.notify == kNotifyInvalidSyntax) err.what += " (at chain offset " + num(pos) + ")";
      return false;
    }
    out.push_back(std::move(payload));
    pos += len;
    type = encrypted ? 0 : p[0];
  }
  if (pos != bytes.size())
    return fail(err, num(bytes.size() - pos) + " bytes after the last payload");
  return true;
}

// ---- serialization ----

// BodyWriter appends a payload's body (everything after the generic
// header) in the layouts of section 3.
struct BodyWriter {
  Bytes& o;
  void operator()(const SaPayload& sa) {
    for (size_t i = 0; i < sa.proposals.size(); ++i) {
      const Proposal& pr = sa.proposals[i];
      if (pr.spi.size() > 255 || pr.transforms.size() > 255)
        throw std::length_error("SA payload: proposal SPI or transform count too large");
      const size_t start = o.size();
      put8(o, i + 1 == sa.proposals.size() ? 0 : 2);
      put8(o, 0);
      put16(o, 0);  // length, set below
      put8(o, pr.number);
      put8(o, static_cast<uint8_t>(pr.protocol));
      put8(o, static_cast<uint8_t>(pr.spi.size()));
      put8(o, static_cast<uint8_t>(pr.transforms.size()));
      put_bytes(o, pr.spi);
      for (size_t j = 0; j < pr.transforms.size(); ++j) {
        const Transform& t = pr.transforms[j];
        put8(o, j + 1 == pr.transforms.size() ? 0 : 3);
        put8(o, 0);
        put16(o, t.key_bits ? 12 : 8);
        put8(o, static_cast<uint8_t>(t.type));
        put8(o, 0);
        put16(o, t.id);
        if (t.key_bits) {
          put16(o, kAttrFormatTv | kAttrKeyLength);
          put16(o, t.key_bits);
        }
      }
      if (o.size() - start > 0xffff)
        throw std::length_error("SA payload: proposal over 65535 bytes");
      store16(o.data() + start + 2, static_cast<uint16_t>(o.size() - start));
    }
  }
  void operator()(const KePayload& ke) {
    put16(o, ke.group);
    put16(o, 0);
    put_bytes(o, ke.data);
  }
  void operator()(const IdPayload& id) { put_bytes(o, id.body()); }
  void operator()(const CertPayload& c) {
    put8(o, c.encoding);
    put_bytes(o, c.data);
  }
  void operator()(const CertReqPayload& c) {
    put8(o, c.encoding);
    put_bytes(o, c.authorities);
  }
  void operator()(const AuthPayload& a) {
    put8(o, a.method);
    put_zeros(o, 3);
    put_bytes(o, a.data);
  }
  void operator()(const NoncePayload& n) { put_bytes(o, n.data); }
  void operator()(const NotifyPayload& n) {
    if (n.spi.size() > 255) throw std::length_error("N payload: SPI over 255 bytes");
    put8(o, n.spi.empty() ? 0 : static_cast<uint8_t>(n.protocol));
    put8(o, static_cast<uint8_t>(n.spi.size()));
    put16(o, n.type);
    put_bytes(o, n.spi);
    put_bytes(o, n.data);
  }
  void operator()(const DeletePayload& d) {
    if (d.spis.size() > 0xffff) throw std::length_error("D payload: more than 65535 SPIs");
    put8(o, static_cast<uint8_t>(d.protocol));
    put8(o, d.protocol == Protocol::kIke ? 0 : 4);
    put16(o, static_cast<uint16_t>(d.spis.size()));
    for (uint32_t spi : d.spis) put32(o, spi);
  }
  void operator()(const VendorPayload& v) { put_bytes(o, v.id); }
  void operator()(const TsPayload& ts) {
    if (ts.selectors.size() > 255) throw std::length_error("TS payload: more than 255 selectors");
    put8(o, static_cast<uint8_t>(ts.selectors.size()));
    put_zeros(o, 3);
    for (const TrafficSelector& s : ts.selectors) {
      put8(o, s.type);
      put8(o, s.ip_protocol);
      put16(o, static_cast<uint16_t>(8 + s.start.size() + s.end.size()));
      put16(o, s.start_port);
      put16(o, s.end_port);
      put_bytes(o, s.start);
      put_bytes(o, s.end);
    }
  }
  void operator()(const CpPayload& cp) {
    put8(o, cp.cfg_type);
    put_zeros(o, 3);
    put_bytes(o, cp.attributes);
  }
  void operator()(const SkPayload& sk) { put_bytes(o, sk.body); }
  void operator()(const SkfPayload& f) {
    put16(o, f.number);
    put16(o, f.total);
    put_bytes(o, f.body);
  }
  void operator()(const UnknownPayload& u) { put_bytes(o, u.body); }
};

}  // namespace

PayloadType payload_type(const Payload& p) {
  switch (p.index()) {
    case 0:
      return PayloadType::kSa;
    case 1:
      return PayloadType::kKe;
    case 2:
      return std::get<IdPayload>(p).responder ? PayloadType::kIdr : PayloadType::kIdi;
    case 3:
      return PayloadType::kCert;
    case 4:
      return PayloadType::kCertReq;
    case 5:
      return PayloadType::kAuth;
    case 6:
      return PayloadType::kNonce;
    case 7:
      return PayloadType::kNotify;
    case 8:
      return PayloadType::kDelete;
    case 9:
      return PayloadType::kVendor;
    case 10:
      return std::get<TsPayload>(p).responder ? PayloadType::kTsr : PayloadType::kTsi;
    case 11:
      return PayloadType::kCp;
    case 12:
      return PayloadType::kSk;
    case 13:
      return PayloadType::kSkf;
    default:
      return static_cast<PayloadType>(std::get<UnknownPayload>(p).type);
  }
}

Bytes IdPayload::body() const {
  Bytes b{type, 0, 0, 0};
  put_bytes(b, data);
  return b;
}

const NotifyPayload* find_notify(const std::vector<Payload>& payloads, NotifyType t) {
  for (const auto& p : payloads)
    if (auto* n = std::get_if<NotifyPayload>(&p); n && n->type == static_cast<uint16_t>(t))
      return n;
  return nullptr;
}

const IdPayload* find_id(const std::vector<Payload>& payloads, bool responder) {
  for (const auto& p : payloads)
    if (auto* id = std::get_if<IdPayload>(&p); id && id->responder == responder) return id;
  return nullptr;
}

const TsPayload* find_ts(const std::vector<Payload>& payloads, bool responder) {
  for (const auto& p : payloads)
    if (auto* ts = std::get_if<TsPayload>(&p); ts && ts->responder == responder) return ts;
  return nullptr;
}

std::string error_notifies(const std::vector<Payload>& payloads) {
  std::string out;
  for (const auto& p : payloads) {
    if (auto* n = std::get_if<NotifyPayload>(&p); n && n->error()) {
      if (!out.empty()) out += ", ";
      out += notify_name(n->type);
    }
  }
  return out;
}

NotifyPayload make_notify(NotifyType t, Bytes data, Protocol protocol, Bytes spi) {
  NotifyPayload n;
  n.type = static_cast<uint16_t>(t);
  n.data = std::move(data);
  n.protocol = protocol;
  n.spi = std::move(spi);
  return n;
}

Bytes spi_bytes(uint32_t spi) {
  return {static_cast<uint8_t>(spi >> 24), static_cast<uint8_t>(spi >> 16), static_cast<uint8_t>(spi >> 8),
          static_cast<uint8_t>(spi)};
}

Bytes spi_bytes(uint64_t spi) {
  Bytes b(8);
  for (int i = 7; i >= 0; i--, spi >>= 8) b[static_cast<size_t>(i)] = static_cast<uint8_t>(spi);
  return b;
}

uint64_t spi_value(const Bytes& b) {
  uint64_t v = 0;
  for (uint8_t x : b) v = (v << 8) | x;
  return v;
}

bool parse_header(std::span<const uint8_t> bytes, Header& out, ParseError& err) {
  // Framing faults carry no notify: section 2.21.1 has a responder drop
  // what it cannot even read as an IKE message.
  if (bytes.size() < kHeaderSize)
    return fail(err, num(bytes.size()) + " bytes: shorter than the 28-byte IKE header", 0);
  if (bytes.size() > kMaxMessageSize)
    return fail(err, num(bytes.size()) + " bytes: over the " + num(kMaxMessageSize) + "-byte limit",
                0);
  const uint8_t* p = bytes.data();
  Header h;
  h.spi_i = get64(p);
  h.spi_r = get64(p + 8);
  h.next = static_cast<PayloadType>(p[16]);
  h.version = p[17];
  h.exchange = static_cast<Exchange>(p[18]);
  h.flags = p[19];
  h.message_id = get32(p + 20);
  h.length = get32(p + 24);
  // Section 2.5: a major version above ours is answered with
  // INVALID_MAJOR_VERSION; below 2 is IKEv1, which is not spoken here.
  if (h.version >> 4 != 2)
    return fail(err, "IKE major version " + num(h.version >> 4) + " (only 2 is spoken)",
                static_cast<uint16_t>(NotifyType::kInvalidMajorVersion));
  if (h.length != bytes.size())
    return fail(
        err, "header length " + num(h.length) + " but " + num(bytes.size()) + " bytes received", 0);
  out = h;
  return true;
}

bool parse_message(std::span<const uint8_t> bytes, Message& out, ParseError& err) {
  Message m;
  if (!parse_header(bytes, m.header, err)) return false;
  if (!parse_chain(static_cast<uint8_t>(m.header.next), bytes.subspan(kHeaderSize), true,
                   m.payloads, err))
    return false;
  out = std::move(m);
  return true;
}

bool parse_payloads(PayloadType first, std::span<const uint8_t> bytes, std::vector<Payload>& out,
                    ParseError& err) {
  std::vector<Payload> v;
  if (!parse_chain(static_cast<uint8_t>(first), bytes, false, v, err)) return false;
  out = std::move(v);
  return true;
}

Bytes serialize_payloads(const std::vector<Payload>& payloads, PayloadType& first) {
  Bytes o;
  first = payloads.empty() ? PayloadType::kNone : payload_type(payloads.front());
  for (size_t i = 0; i < payloads.size(); ++i) {
    const Payload& p = payloads[i];
    uint8_t next =
        i + 1 < payloads.size() ? static_cast<uint8_t>(payload_type(payloads[i + 1])) : 0;
    if (auto* sk = std::get_if<SkPayload>(&p)) next = static_cast<uint8_t>(sk->first);
    if (auto* f = std::get_if<SkfPayload>(&p)) next = static_cast<uint8_t>(f->first);
    if ((std::holds_alternative<SkPayload>(p) || std::holds_alternative<SkfPayload>(p)) &&
        i + 1 != payloads.size())
      throw std::invalid_argument(
          "an SK or SKF payload must be the last payload (RFC 7296 section 3.14)");
    const auto* u = std::get_if<UnknownPayload>(&p);
    const size_t start = o.size();
    put8(o, next);
    put8(o, u && u->critical ? kCriticalBit : 0);
    put16(o, 0);
    std::visit(BodyWriter{o}, p);
    const size_t len = o.size() - start;
    if (len > 0xffff)
      throw std::length_error(payload_label(static_cast<uint8_t>(payload_type(p))) +
                              " over 65535 bytes");
    store16(o.data() + start + 2, static_cast<uint16_t>(len));
  }
  return o;
}

void serialize_header(const Header& h, PayloadType next, uint32_t length,
                      uint8_t out[kHeaderSize]) {
  store64(out, h.spi_i);
  store64(out + 8, h.spi_r);
  out[16] = static_cast<uint8_t>(next);
  out[17] = h.version;
  out[18] = static_cast<uint8_t>(h.exchange);
  out[19] = h.flags;
  store32(out + 20, h.message_id);
  store32(out + 24, length);
}

Bytes serialize_message(const Header& h, const std::vector<Payload>& payloads) {
  PayloadType first;
  const Bytes body = serialize_payloads(payloads, first);
  if (kHeaderSize + body.size() > kMaxMessageSize)
    throw std::length_error("IKE message of " + num(kHeaderSize + body.size()) +
                            " bytes: over the limit");
  Bytes o(kHeaderSize);
  serialize_header(h, first, static_cast<uint32_t>(kHeaderSize + body.size()), o.data());
  put_bytes(o, body);
  return o;
}

const char* exchange_name(Exchange e) {
  const char* n = lookup(kExchangeNames, static_cast<uint8_t>(e));
  return n ? n : "UNKNOWN";
}

const char* notify_name(uint16_t type) {
  const char* n = lookup(kNotifyNames, type);
  return n ? n : "UNKNOWN";
}

std::string describe(const std::vector<Payload>& payloads) {
  std::string s = "[ ";
  for (const Payload& p : payloads) {
    if (auto* n = std::get_if<NotifyPayload>(&p)) {
      const char* name = lookup(kNotifyNames, n->type);
      s += "N(" + (name ? std::string(name) : num(n->type)) + ")";
    } else if (auto* f = std::get_if<SkfPayload>(&p)) {
      s += "SKF(" + num(f->number) + "/" + num(f->total) + ")";
    } else {
      const auto type = static_cast<uint8_t>(payload_type(p));
      const char* name = short_name(type);
      s += name ? name : "UNKNOWN(" + num(type) + ")";
    }
    s += ' ';
  }
  return s + "]";
}

std::string describe(const Message& m) {
  const auto ex = static_cast<uint8_t>(m.header.exchange);
  const char* name = lookup(kExchangeNames, ex);
  return (name ? std::string(name) : "EXCHANGE(" + num(ex) + ")") +
         (m.header.response() ? " response " : " request ") + num(m.header.message_id) + " " +
         describe(m.payloads);
}

}  // namespace portcullis::ctl::ike
