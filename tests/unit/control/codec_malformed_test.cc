// codec_malformed_test.cc: a numbered table of malformed frames, each of
// which decode must refuse with a specific status and a message that says
// what is wrong. Numbers are stable: add cases at the end.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "control/api/codec.h"
#include "sample_messages.h"

namespace portcullis::ctl::api {
namespace {

using Bytes = std::vector<uint8_t>;

// Attrs builds a run of raw attributes, so that a case can hold any bytes.
struct Attrs {
  Bytes b;
  Attrs& raw(std::initializer_list<uint8_t> v) {
    b.insert(b.end(), v);
    return *this;
  }
  Attrs& attr(uint16_t type, const Bytes& value) {
    return attr_len(type, static_cast<uint16_t>(value.size()), value);
  }
  // attr_len writes a length that need not match the value.
  Attrs& attr_len(uint16_t type, uint16_t len, const Bytes& value) {
    b.push_back(static_cast<uint8_t>(type));
    b.push_back(static_cast<uint8_t>(type >> 8));
    b.push_back(static_cast<uint8_t>(len));
    b.push_back(static_cast<uint8_t>(len >> 8));
    b.insert(b.end(), value.begin(), value.end());
    return *this;
  }
  Attrs& attr(Attr a, const Bytes& value) { return attr(static_cast<uint16_t>(a), value); }
  Attrs& u8(Attr a, uint8_t v) { return attr(a, {v}); }
  Attrs& u16(Attr a, uint16_t v) { return attr(a, le(v, 2)); }
  Attrs& u32(Attr a, uint32_t v) { return attr(a, le(v, 4)); }
  Attrs& u64(Attr a, uint64_t v) { return attr(a, le(v, 8)); }
  Attrs& str(Attr a, const std::string& s) { return attr(a, Bytes(s.begin(), s.end())); }
  Attrs& nested(Attr a, const Attrs& inner) { return attr(a, inner.b); }
  static Bytes le(uint64_t v, int n) {
    Bytes r;
    for (int i = 0; i < n; ++i) r.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return r;
  }
};

Bytes v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return {a, b, c, d}; }
Bytes prefix4(uint8_t len, uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return {len, a, b, c, d}; }

Attrs selector(Bytes src = prefix4(8, 10, 0, 0, 0), Bytes dst = prefix4(8, 11, 0, 0, 0)) {
  return Attrs().attr(Attr::kSelSrc, src).attr(Attr::kSelDst, dst);
}

// sa_add_base is a valid SaAdd body; cases append to it or build their own.
Attrs sa_add_base(const std::string& suite = "aes128gcm16", size_t key_len = 20) {
  return Attrs()
      .u32(Attr::kSaId, 1)
      .u8(Attr::kDirection, 1)
      .u32(Attr::kSpi, 0x1000)
      .str(Attr::kSuite, suite)
      .attr(Attr::kCipherKey, Bytes(key_len, 0x42))
      .u8(Attr::kMode, 0)
      .attr(Attr::kTunnelSrc, v4(192, 0, 2, 1))
      .attr(Attr::kTunnelDst, v4(192, 0, 2, 2));
}

Bytes frame(MsgType type, const Attrs& a, uint32_t id = 77, uint16_t version = kVersion,
            uint32_t magic = kMagic) {
  Bytes f(kHeaderSize + a.b.size());
  Header h;
  h.magic = magic;
  h.version = version;
  h.type = static_cast<uint16_t>(type);
  h.request_id = id;
  h.payload_len = static_cast<uint32_t>(a.b.size());
  write_header(f.data(), h);
  std::copy(a.b.begin(), a.b.end(), f.begin() + kHeaderSize);
  return f;
}

Bytes with_payload_len(Bytes f, uint32_t len) {
  store_le32(f.data() + 12, len);
  return f;
}

struct Case {
  int number;
  const char* what;
  std::function<Bytes()> make;
  Status status;
  std::string message;  // a substring of the error
};

Attrs counters(size_t n) {
  Attrs a;
  a.u16(Attr::kStatus, 0).u8(Attr::kPayloadKind, 2);
  for (size_t i = 0; i < n; ++i) {
    a.nested(Attr::kCounter, Attrs().str(Attr::kCounterName, "c").u64(Attr::kCounterValue, i));
  }
  return a;
}

const Status kMal = Status::kMalformed;
const Status kInv = Status::kInvalid;

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {1, "truncated header", [] { return Bytes(10, 0); }, kMal,
       "frame of 10 bytes is shorter than the 16-byte header"},
      {2, "bad magic", [] { return frame(MsgType::kBegin, {}, 1, kVersion, 0x12345678); }, kMal,
       "bad magic 0x12345678"},
      {3, "wrong version", [] { return frame(MsgType::kBegin, {}, 77, 2); },
       Status::kVersionMismatch, "protocol version 2 not supported: this side speaks version 1"},
      {4, "oversized payload_len",
       [] { return with_payload_len(frame(MsgType::kBegin, {}), kMaxPayload + 1); },
       Status::kTooLarge, "payload of 16777217 bytes exceeds the 16777216-byte limit"},
      {5, "payload shorter than announced",
       [] { return with_payload_len(frame(MsgType::kSaDel, Attrs().u32(Attr::kSaId, 1)), 9); },
       kMal, "header announces 9 payload bytes but the frame holds 8"},
      {6, "bytes after the payload",
       [] {
         auto f = frame(MsgType::kBegin, {});
         f.push_back(0);
         return f;
       },
       kMal, "header announces 0 payload bytes but the frame holds 1"},
      {7, "unknown message type", [] { return frame(static_cast<MsgType>(999), {}); },
       Status::kUnknownType, "message type 999 unknown to protocol version 1"},
      {8, "attribute header cut short",
       [] {
         return frame(MsgType::kSaDel, Attrs().u32(Attr::kSaId, 1).raw({1, 0, 4}));
       },
       kMal, "sa_del: 3 trailing bytes, too few for an attribute header"},
      {9, "attribute length past the payload",
       [] {
         return frame(MsgType::kSaDel, Attrs().attr_len(1, 8, {1, 0, 0, 0}));
       },
       kMal, "sa_del: attribute sa_id (1): length 8 runs past the 4 bytes that remain"},
      {10, "nested attribute overflows its parent",
       [] {
         Attrs sel =
             Attrs().attr_len(static_cast<uint16_t>(Attr::kSelSrc), 17, prefix4(8, 10, 0, 0, 0));
         return frame(MsgType::kSaAdd, sa_add_base().nested(Attr::kSelector, sel));
       },
       kMal, "sa_add.selector[0]: attribute src (28): length 17 runs past the 5 bytes that remain"},
      {11, "integer attribute of the wrong size",
       [] {
         return frame(MsgType::kSaDel, Attrs().attr(Attr::kSaId, {1, 2, 3}));
       },
       kMal, "sa_del: attribute sa_id (1): 3 bytes, expected 4"},
      {12, "single-valued attribute twice",
       [] { return frame(MsgType::kSaDel, Attrs().u32(Attr::kSaId, 1).u32(Attr::kSaId, 2)); }, kMal,
       "sa_del: attribute sa_id (1): appears twice"},
      {13, "missing required attribute",
       [] {
         Attrs a = Attrs()
                       .u32(Attr::kSaId, 1)
                       .u8(Attr::kDirection, 1)
                       .str(Attr::kSuite, "aes128gcm16")
                       .attr(Attr::kCipherKey, Bytes(20, 1))
                       .u8(Attr::kMode, 0)
                       .attr(Attr::kTunnelSrc, v4(1, 1, 1, 1))
                       .attr(Attr::kTunnelDst, v4(2, 2, 2, 2));
         return frame(MsgType::kSaAdd, a);
       },
       kInv, "sa_add: missing required attribute spi (3)"},
      {14, "enum out of range",
       [] { return frame(MsgType::kSaAdd, sa_add_base().u8(Attr::kDf, 7)); }, kInv,
       "sa_add: attribute df (18): value 7 out of range 0..2"},
      {15, "boolean neither 0 nor 1",
       [] { return frame(MsgType::kSaAdd, sa_add_base().u8(Attr::kEsn, 2)); }, kInv,
       "attribute esn (8): value 2 is not a boolean"},
      {16, "address of 5 bytes",
       [] {
         return frame(MsgType::kRouteAdd, Attrs()
                                              .attr(Attr::kPrefix, prefix4(8, 10, 0, 0, 0))
                                              .u16(Attr::kPortId, 0)
                                              .attr(Attr::kNextHop, {1, 2, 3, 4, 5}));
       },
       kMal, "route_add: attribute next_hop (37): 5 bytes, expected 4 (IPv4) or 16 (IPv6)"},
      {17, "prefix length beyond the address",
       [] {
         return frame(MsgType::kRouteDel, Attrs().attr(Attr::kPrefix, prefix4(33, 10, 0, 0, 0)));
       },
       kInv, "route_del: attribute prefix (36): prefix length 33 exceeds 32"},
      {18, "port range upside down",
       [] {
         return frame(
             MsgType::kAcquire,
             Attrs()
                 .u32(Attr::kPolicyId, 1)
                 .nested(Attr::kSelector, selector().attr(Attr::kSelDstPorts, {0x50, 0, 0x14, 0})));
       },
       kInv, "acquire.selector: attribute dst_ports (32): port range 80-20 starts above its end"},
      {19, "selector mixing families",
       [] {
         Bytes src6(17, 0);
         src6[0] = 64;
         return frame(MsgType::kPolicyAdd, Attrs()
                                               .u32(Attr::kPolicyId, 1)
                                               .u8(Attr::kDirection, 0)
                                               .u8(Attr::kAction, 1)
                                               .nested(Attr::kSelector, selector(src6)));
       },
       kInv, "policy_add.selector: src ::/64 and dst 11.0.0.0/8 differ in family"},
      {20, "list count too big",
       [] {
         Attrs a = sa_add_base();
         for (int i = 0; i < 257; ++i) a.nested(Attr::kSelector, selector());
         return frame(MsgType::kSaAdd, a);
       },
       kInv, "sa_add: attribute selector (27): more than 256 in one message"},
      {21, "cipher key of the wrong size for the suite",
       [] { return frame(MsgType::kSaAdd, sa_add_base("aes128gcm16", 16)); }, kInv,
       "sa_add: cipher_key is 16 bytes; aes128gcm16 needs 20 (key then 4-byte salt)"},
      {22, "auth key with an AEAD",
       [] { return frame(MsgType::kSaAdd, sa_add_base().attr(Attr::kAuthKey, Bytes(32, 1))); },
       kInv, "auth_key given, but aes128gcm16 is an AEAD and takes none"},
      {23, "auth key of the wrong size",
       [] {
         return frame(MsgType::kSaAdd,
                      sa_add_base("aes128cbc-sha256", 16).attr(Attr::kAuthKey, Bytes(20, 1)));
       },
       kInv, "auth_key is 20 bytes; aes128cbc-sha256 needs 32"},
      {24, "key longer than any suite's",
       [] { return frame(MsgType::kSaAdd, sa_add_base("aes128gcm16", 65)); }, kInv,
       "attribute cipher_key (5): 65 bytes; a key has 1 to 64"},
      {25, "unknown suite", [] { return frame(MsgType::kSaAdd, sa_add_base("des3-md5")); }, kInv,
       "suite 'des3-md5' unknown"},
      {26, "suite name not printable ASCII",
       [] { return frame(MsgType::kSaAdd, sa_add_base("aes128 gcm16")); }, kInv,
       "attribute suite (4): byte 0x20 is not printable ASCII"},
      {27, "suite name too long",
       [] { return frame(MsgType::kSaAdd, sa_add_base(std::string(65, 'a'))); }, kInv,
       "attribute suite (4): 65 bytes; expected 1 to 64"},
      {28, "error text not UTF-8",
       [] {
         return frame(MsgType::kReply,
                      Attrs().u16(Attr::kStatus, 5).attr(Attr::kError, {'b', 0xff}));
       },
       kInv, "reply: attribute error (44): not well-formed UTF-8"},
      {29, "error text too long",
       [] {
         return frame(MsgType::kReply,
                      Attrs().u16(Attr::kStatus, 5).str(Attr::kError, std::string(4097, 'e')));
       },
       kInv, "attribute error (44): 4097 bytes; at most 4096"},
      {30, "counter name with a control byte",
       [] {
         return frame(
             MsgType::kReply,
             Attrs()
                 .u16(Attr::kStatus, 0)
                 .nested(
                     Attr::kCounter,
                     Attrs().attr(Attr::kCounterName, {'a', '\n'}).u64(Attr::kCounterValue, 1)));
       },
       kInv, "reply.counter[0]: attribute name (53): byte 0x0a is not printable ASCII"},
      {31, "too many port addresses",
       [] {
         Attrs a = Attrs().u16(Attr::kPortId, 0).u8(Attr::kPortRole, 0);
         for (int i = 0; i < 65; ++i) a.attr(Attr::kAddress, prefix4(24, 10, 0, 0, 1));
         return frame(MsgType::kPortConfig, a);
       },
       kInv, "port_config: attribute address (40): more than 64 in one message"},
      {32, "nested attribute twice",
       [] {
         return frame(
             MsgType::kAcquire,
             Attrs()
                 .u32(Attr::kPolicyId, 1)
                 .nested(Attr::kSelector, selector().attr(Attr::kSelSrc, prefix4(8, 10, 0, 0, 0))));
       },
       kMal, "acquire.selector: attribute src (28): appears twice"},
      {33, "DSCP out of range",
       [] { return frame(MsgType::kSaAdd, sa_add_base().u8(Attr::kDscp, 64)); }, kInv,
       "attribute dscp (17): value 64 is neither a DSCP (0..63) nor 255 (copy)"},
      {34, "tunnel endpoints of two families",
       [] {
         Attrs a = Attrs()
                       .u32(Attr::kSaId, 1)
                       .u8(Attr::kDirection, 1)
                       .u32(Attr::kSpi, 0x1000)
                       .str(Attr::kSuite, "aes128gcm16")
                       .attr(Attr::kCipherKey, Bytes(20, 1))
                       .u8(Attr::kMode, 0)
                       .attr(Attr::kTunnelSrc, v4(1, 1, 1, 1))
                       .attr(Attr::kTunnelDst, Bytes(16, 0));
         return frame(MsgType::kSaAdd, a);
       },
       kInv, "tunnel_src 1.1.1.1 and tunnel_dst :: differ in family"},
      {35, "soft lifetime not below hard",
       [] {
         return frame(MsgType::kSaAdd,
                      sa_add_base().u64(Attr::kSoftBytes, 10).u64(Attr::kHardBytes, 10));
       },
       kInv, "soft_bytes 10 is not below hard_bytes 10"},
      {36, "sa_update without a change",
       [] { return frame(MsgType::kSaUpdate, Attrs().u32(Attr::kSaId, 1)); }, kInv,
       "sa_update: nothing to change"},
      {37, "protect policy without an SA",
       [] {
         return frame(MsgType::kPolicyAdd, Attrs()
                                               .u32(Attr::kPolicyId, 1)
                                               .u8(Attr::kDirection, 0)
                                               .u8(Attr::kAction, 0)
                                               .nested(Attr::kSelector, selector()));
       },
       kInv, "policy_add: missing required attribute sa_id (1)"},
      {38, "bypass policy naming an SA",
       [] {
         return frame(MsgType::kPolicyAdd, Attrs()
                                               .u32(Attr::kPolicyId, 1)
                                               .u8(Attr::kDirection, 0)
                                               .u8(Attr::kAction, 1)
                                               .u32(Attr::kSaId, 5)
                                               .nested(Attr::kSelector, selector()));
       },
       kInv, "sa_id 5 given with a bypass or discard action"},
      {39, "next hop of the other family",
       [] {
         return frame(MsgType::kRouteAdd, Attrs()
                                              .attr(Attr::kPrefix, prefix4(8, 10, 0, 0, 0))
                                              .u16(Attr::kPortId, 0)
                                              .attr(Attr::kNextHop, Bytes(16, 0)));
       },
       kInv, "next_hop :: is not of the family of prefix 10.0.0.0/8"},
      {40, "empty packet",
       [] {
         return frame(MsgType::kInject, Attrs().u16(Attr::kPortId, 0).attr(Attr::kPacket, {}));
       },
       kInv, "inject: attribute packet (42): empty packet"},
      {41, "MTU too small for IPv6",
       [] {
         Bytes a6(17, 0);
         a6[0] = 64;
         return frame(MsgType::kPortConfig, Attrs()
                                                .u16(Attr::kPortId, 0)
                                                .u8(Attr::kPortRole, 0)
                                                .attr(Attr::kAddress, a6)
                                                .u16(Attr::kMtu, 1200));
       },
       kInv, "port_config: mtu 1200 is below the 1280 that IPv6 requires"},
      {42, "nested record missing a field",
       [] {
         return frame(MsgType::kReply,
                      Attrs()
                          .u16(Attr::kStatus, 0)
                          .u8(Attr::kPayloadKind, 2)
                          .nested(Attr::kCounter, Attrs().str(Attr::kCounterName, "x")));
       },
       kInv, "reply.counter[0]: missing required attribute value (54)"},
      {43, "too many counters", [] { return frame(MsgType::kReply, counters(kMaxCounters + 1)); },
       kInv, "reply: attribute counter (52): more than 262144 in one message"},
      {44, "reply without a status",
       [] { return frame(MsgType::kReply, Attrs().str(Attr::kError, "x")); }, kInv,
       "reply: missing required attribute status (43)"},
      {45, "overlong UTF-8",
       [] {
         return frame(MsgType::kReply,
                      Attrs().u16(Attr::kStatus, 5).attr(Attr::kError, {0xc0, 0xaf}));
       },
       kInv, "not well-formed UTF-8"},
      {46, "UTF-8 surrogate",
       [] {
         return frame(MsgType::kReply,
                      Attrs().u16(Attr::kStatus, 5).attr(Attr::kError, {0xed, 0xa0, 0x80}));
       },
       kInv, "not well-formed UTF-8"},
      {47, "prefix of 6 bytes",
       [] {
         return frame(MsgType::kRouteDel, Attrs().attr(Attr::kPrefix, {8, 10, 0, 0, 0, 0}));
       },
       kMal, "attribute prefix (36): 6 bytes, expected 5"},
      {48, "SPI in the reserved range",
       [] {
         Attrs a = Attrs()
                       .u32(Attr::kSaId, 1)
                       .u8(Attr::kDirection, 1)
                       .u32(Attr::kSpi, 255)
                       .str(Attr::kSuite, "aes128gcm16")
                       .attr(Attr::kCipherKey, Bytes(20, 1))
                       .u8(Attr::kMode, 0)
                       .attr(Attr::kTunnelSrc, v4(1, 1, 1, 1))
                       .attr(Attr::kTunnelDst, v4(2, 2, 2, 2));
         return frame(MsgType::kSaAdd, a);
       },
       kInv, "spi 255 is reserved (RFC 4303 section 2.1)"},
      {49, "empty key", [] { return frame(MsgType::kSaAdd, sa_add_base("aes128gcm16", 0)); }, kInv,
       "attribute cipher_key (5): 0 bytes; a key has 1 to 64"},
      {50, "selector without dst",
       [] {
         return frame(
             MsgType::kAcquire,
             Attrs()
                 .u32(Attr::kPolicyId, 1)
                 .nested(Attr::kSelector, Attrs().attr(Attr::kSelSrc, prefix4(8, 10, 0, 0, 0))));
       },
       kInv, "acquire.selector: missing required attribute dst (29)"},
  };
  return c;
}

class Malformed : public ::testing::TestWithParam<Case> {};

TEST_P(Malformed, IsRefusedWithItsReason) {
  const Case& c = GetParam();
  const Bytes f = c.make();
  const DecodeResult d = decode(f);
  ASSERT_FALSE(d.ok()) << "case " << c.number << " (" << c.what << ") decoded";
  EXPECT_EQ(d.error().status, c.status)
      << "case " << c.number << ": " << status_name(d.error().status) << ": " << d.error().message;
  EXPECT_NE(d.error().message.find(c.message), std::string::npos)
      << "case " << c.number << " (" << c.what << ")\n  got:  " << d.error().message
      << "\n  want: " << c.message;
  // The receiver's answer echoes the request id whenever the header could
  // be trusted, so the sender can tell which request failed.
  const Reply r = error_reply(d.error());
  EXPECT_EQ(r.status, c.status);
  if (f.size() >= kHeaderSize && load_le32(f.data()) == kMagic) {
    EXPECT_EQ(r.request_id, load_le32(f.data() + 8)) << "case " << c.number;
  }
  EXPECT_EQ(d.error().fatal, c.number == 2);
  EXPECT_TRUE(decode(encode(r)).ok()) << "the error reply itself must encode";
}

INSTANTIATE_TEST_SUITE_P(Table, Malformed, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           return "case" + std::to_string(i.param.number);
                         });

TEST(MalformedTable, NumbersAreUniqueAndInOrder) {
  int last = 0;
  for (const Case& c : cases()) {
    EXPECT_EQ(c.number, last + 1) << c.what;
    last = c.number;
  }
}

// Every prefix of a valid frame, and every frame with one byte flipped,
// decodes to something or to an error: never a crash (the fuzzer goes
// further; this runs in every build).
TEST(MalformedSweep, TruncationsAndBitFlips) {
  for (const Message& m : testing::sample_messages()) {
    const WireBuffer f = encode(m);
    for (size_t n = 0; n < f.size(); ++n) {
      EXPECT_FALSE(decode(std::span<const uint8_t>(f.data(), n)).ok());
    }
    Bytes g(f.begin(), f.end());
    for (size_t i = 0; i < g.size(); ++i) {
      for (uint8_t bit = 1; bit; bit = static_cast<uint8_t>(bit << 1)) {
        g[i] ^= bit;
        DecodeResult d = decode(g);
        if (d.ok()) {
          EXPECT_TRUE(decode(encode(*d)).ok());
        }
        g[i] ^= bit;
      }
    }
  }
}

}  // namespace
}  // namespace portcullis::ctl::api
