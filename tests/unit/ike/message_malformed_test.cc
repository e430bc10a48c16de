// message_malformed_test.cc: a numbered table of inputs parse_message must
// refuse, each with the notify RFC 7296 asks for and words that say what is
// wrong, plus the few near misses it must accept. Numbers are stable: add
// cases at the end.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "control/ike/message.h"
#include "ike_test_util.h"

namespace portcullis::ctl::ike {
namespace {

using test::chain;
using test::hex;
using test::message;
using test::Raw;

constexpr uint16_t kSyntax = static_cast<uint16_t>(NotifyType::kInvalidSyntax);
constexpr uint16_t kMajor = static_cast<uint16_t>(NotifyType::kInvalidMajorVersion);
constexpr uint16_t kCritical = static_cast<uint16_t>(NotifyType::kUnsupportedCriticalPayload);
constexpr uint16_t kOk = 0xffff;  // marks a case that must parse

constexpr uint8_t kSa = 33, kIdi = 35, kCert = 37, kAuth = 39, kNonce = 40, kN = 41, kD = 42,
                  kV = 43, kTsi = 44, kSk = 46, kCp = 47, kEap = 48, kSkf = 53;

struct Case {
  int number;
  std::string name;
  Bytes wire;
  uint16_t notify;   // kOk, or the notify expected in ParseError
  std::string what;  // a substring of ParseError::what
  uint8_t critical_type = 0;
};

// sa_init returns the hand-built IKE_SA_INIT with byte `at` set to `v`.
Bytes sa_init(std::initializer_list<std::pair<size_t, uint8_t>> edits = {}) {
  Bytes b = hex(test::kSaInitHex);
  for (auto [at, v] : edits) b.at(at) = v;
  return b;
}

// with_tail replaces the last notify's next payload with `next` and
// appends `tail`, fixing the header's length.
Bytes with_tail(uint8_t next, const Bytes& tail) {
  Bytes b = sa_init({{164, next}});
  b.insert(b.end(), tail.begin(), tail.end());
  b[26] = static_cast<uint8_t>(b.size() >> 8);
  b[27] = static_cast<uint8_t>(b.size());
  return b;
}

// One proposal of protocol `proto` with `spi` and the given raw transforms.
Bytes proposal(uint8_t last, uint8_t number, uint8_t proto, const Bytes& spi, uint8_t count,
               const Bytes& transforms) {
  const size_t len = 8 + spi.size() + transforms.size();
  // Built byte by byte: gcc 12 misreads an insert into a fresh 8-byte
  // vector as an overflow (-Warray-bounds).
  Bytes b;
  b.reserve(len);
  for (const uint8_t v :
       {last, uint8_t{0}, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len), number, proto,
        static_cast<uint8_t>(spi.size()), count})
    b.push_back(v);
  for (const uint8_t v : spi) b.push_back(v);
  for (const uint8_t v : transforms) b.push_back(v);
  return b;
}

Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const Bytes kEncr = hex("00 00 0008 01 00 0014");  // a lone (last) transform

std::vector<Case> cases() {
  std::vector<Payload> vids(65, VendorPayload{{1}});
  Header h;
  const Bytes v65 = serialize_message(h, vids);
  vids.pop_back();
  const Bytes v64 = serialize_message(h, vids);
  Bytes huge = message({{kV, Bytes(65536 - 32, 0)}});

  return {
      {1, "major version 1", sa_init({{17, 0x10}}), kMajor, "major version 1"},
      {2, "major version 3", sa_init({{17, 0x30}}), kMajor, "major version 3"},
      {3, "minor version 1 is accepted", sa_init({{17, 0x21}}), kOk, ""},
      {4, "length field one too many", sa_init({{27, 0xad}}), 0, "header length 173"},
      {5, "length field one too few", sa_init({{27, 0xab}}), 0, "header length 171"},
      {6, "shorter than a header", Bytes(27, 0), 0, "shorter than the 28-byte"},
      {7, "payload length 3", sa_init({{31, 3}}), kSyntax, "length 3 outside 4.."},
      {8, "payload length past the end", sa_init({{30, 0xff}, {31, 0xff}}), kSyntax,
       "outside 4..144"},
      {9, "proposal last byte 1", sa_init({{32, 1}}), kSyntax, "last byte 1 (0 or 2 expected)"},
      {10, "proposal says more, none follows", sa_init({{32, 2}}), kSyntax, "proposal 2 truncated"},
      {11, "proposal length 7", sa_init({{35, 7}}), kSyntax, "length 7 outside 8..44"},
      {12, "proposal length past the SA", sa_init({{35, 0x2d}}), kSyntax,
       "length 45 outside 8..44"},
      {13, "5 transforms announced, 4 present", sa_init({{39, 5}}), kSyntax,
       "transform 4 of 5 has last byte 0"},
      {14, "3 transforms announced, 4 present", sa_init({{39, 3}}), kSyntax,
       "transform 3 of 3 has last byte 3"},
      {15, "first transform marked last", sa_init({{40, 0}}), kSyntax,
       "transform 1 of 4 has last byte 0"},
      {16, "transform length 7", sa_init({{43, 7}}), kSyntax, "transform length 7"},
      {17, "Key Length in TLV form", sa_init({{48, 0x00}}), kSyntax, "TLV form"},
      {18, "Key Length of 0", sa_init({{50, 0}, {51, 0}}), kSyntax,
       "Key Length attribute of 0 bits"},
      {19, "4-byte SPI for IKE", sa_init({{38, 4}}), kSyntax, "SPI size 4 does not fit protocol 1"},
      {20, "proposal protocol 0", sa_init({{37, 0}}), kSyntax,
       "SPI size 0 does not fit protocol 0"},
      {21, "KE body of 3 bytes", sa_init({{79, 7}}), kSyntax, "KE payload shorter"},
      {22, "nonce of 15 bytes", sa_init({{119, 0x13}}), kSyntax, "nonce of 15 bytes"},
      {23, "notify SPI size overruns", sa_init({{141, 25}}), kSyntax, "SPI size 25 overruns"},
      {24, "notify 4-byte SPI for IKE", sa_init({{140, 1}, {141, 4}}), kSyntax,
       "SPI size 4 does not fit protocol 1"},
      {25, "bytes after the last payload", with_tail(0, {0, 0, 0, 0}), kSyntax,
       "4 bytes after the last payload"},
      {26, "last payload names a next that is absent", sa_init({{164, kN}}), kSyntax,
       "truncated generic header"},
      {27, "unknown critical payload", with_tail(99, hex("00 80 0004")), kCritical,
       "payload type 99 is critical", 99},
      {28, "unknown non-critical payload is kept", with_tail(99, hex("00 00 0006 abcd")), kOk, ""},
      {29, "EAP marked critical (no EAP here)", with_tail(kEap, hex("00 80 0008 01 00 0004")),
       kCritical, "EAP payload is critical", kEap},
      {30, "delete: 2 ESP SPIs in 4 bytes", message({{kD, hex("03 04 0002 01020304")}}), kSyntax,
       "2 SPIs of 4 bytes in 4 bytes"},
      {31, "delete: IKE with SPI size 4", message({{kD, hex("01 04 0000")}}), kSyntax,
       "SPI size 4 for protocol 1"},
      {32, "delete: protocol 7", message({{kD, hex("07 04 0000")}}), kSyntax,
       "protocol 7 is not IKE, AH or ESP"},
      {33, "delete: IKE with a count", message({{kD, hex("01 00 0001")}}), kSyntax,
       "1 SPIs of 0 bytes"},
      {34, "TS: count 0", message({{kTsi, hex("00 000000")}}), kSyntax, "no traffic selector"},
      {35, "TS: IPv4 selector of 17 bytes",
       message({{kTsi, hex("01 000000 07 00 0011 0000ffff 0a000000 0a0000ff 00")}}), kSyntax,
       "length 17 (type 7 needs 16)"},
      {36, "TS: IPv6 selector of 16 bytes",
       message({{kTsi, hex("01 000000 08 00 0010 0000ffff 0a000000 0a0000ff")}}), kSyntax,
       "length 16 (type 8 needs 40)"},
      {37, "TS: type 9", message({{kTsi, hex("01 000000 09 00 0010 0000ffff 0a000000 0a0000ff")}}),
       kSyntax, "type 9"},
      {38, "TS: 2 announced, 1 present",
       message({{kTsi, hex("02 000000 07 00 0010 0000ffff 0a000000 0a0000ff")}}), kSyntax,
       "selector 2 of 2 truncated"},
      {39, "TS: bytes after the selectors",
       message({{kTsi, hex("01 000000 07 00 0010 0000ffff 0a000000 0a0000ff 00")}}), kSyntax,
       "1 bytes after the selectors"},
      {40, "SK followed by a payload",
       message({{kSk, Bytes(30, 0), 0, kIdi}, {kN, hex("00 00 4000")}}), kSyntax,
       "8 bytes follow it (it must be last)"},
      {41, "SKF fragment 0 of 2", message({{kSkf, hex("0000 0002 00000000"), 0, kIdi}}), kSyntax,
       "fragment 0 of 2"},
      {42, "SKF fragment 3 of 2", message({{kSkf, hex("0003 0002 00000000")}}), kSyntax,
       "fragment 3 of 2"},
      {43, "SKF fragment 1 of 0", message({{kSkf, hex("0001 0000 00000000")}}), kSyntax,
       "fragment 1 of 0"},
      {44, "SKF shorter than its numbers", message({{kSkf, hex("0001 00")}}), kSyntax,
       "shorter than its fragment"},
      {45, "65 payloads", v65, kSyntax, "more than 64 payloads"},
      {46, "64 payloads are accepted", v64, kOk, ""},
      {47, "a message of 65536 bytes", huge, 0, "over the 65535-byte limit"},
      {48, "nonce of 257 bytes", message({{kNonce, Bytes(257, 1)}}), kSyntax, "nonce of 257 bytes"},
      {49, "CERT without encoding", message({{kCert, {}}}), kSyntax,
       "CERT payload has no encoding"},
      {50, "AUTH body of 3 bytes", message({{kAuth, {2, 0, 0}}}), kSyntax, "AUTH payload shorter"},
      {51, "ID body of 3 bytes", message({{kIdi, {2, 0, 0}}}), kSyntax, "IDi payload shorter"},
      {52, "CP body of 3 bytes", message({{kCp, {1, 0, 0}}}), kSyntax, "CP payload shorter"},
      {53, "SA with no proposal", message({{kSa, {}}}), kSyntax, "SA payload has no proposal"},
      {54, "proposals numbered 1 then 3",
       message({{kSa, cat(proposal(2, 1, 3, {1, 2, 3, 4}, 1, kEncr),
                          proposal(0, 3, 3, {1, 2, 3, 4}, 1, kEncr))}}),
       kSyntax, "proposal 2 is numbered 3 after 1"},
      {55, "proposals numbered 1 then 2 are accepted",
       message({{kSa, cat(proposal(2, 1, 3, {1, 2, 3, 4}, 1, kEncr),
                          proposal(0, 2, 3, {1, 2, 3, 4}, 1, kEncr))}}),
       kOk, ""},
      {56, "TLV attribute overruns its transform",
       message({{kSa, proposal(0, 1, 1, {}, 1, hex("00 00 000c 01 00 0014 0001 0001"))}}), kSyntax,
       "attribute length 1 overruns"},
      {57, "attribute cut after 2 bytes",
       message({{kSa, proposal(0, 1, 1, {}, 1, hex("00 00 000a 01 00 0014 800e"))}}), kSyntax,
       "attribute truncated"},
      {58, "two Key Length attributes",
       message({{kSa, proposal(0, 1, 1, {}, 1, hex("00 00 0010 01 00 0014 800e 0080 800e 0100"))}}),
       kSyntax, "two Key Length attributes"},
      {59, "SPI longer than its proposal", message({{kSa, hex("00 00 0008 01 03 04 00")}}), kSyntax,
       "SPI overruns the proposal"},
      {60, "bytes after the last transform",
       message({{kSa, proposal(0, 1, 1, {}, 1, cat(kEncr, {0, 0}))}}), kSyntax,
       "2 bytes after the 1 transforms"},
      {61, "bytes after the last proposal",
       message({{kSa, cat(proposal(0, 1, 1, {}, 1, kEncr), {0})}}), kSyntax,
       "1 bytes after the last proposal"},
      {62, "header names no payload but bytes follow", message(0, hex("00 00 0004")), kSyntax,
       "4 bytes after the last payload"},
      {63, "SK with a critical bit is still SK", message({{kSk, Bytes(30, 0), 0x80, kIdi}}), kOk,
       ""},
      {64, "AH SPI of 8 bytes in a proposal",
       message({{kSa, proposal(0, 1, 2, Bytes(8, 1), 1, kEncr)}}), kSyntax,
       "SPI size 8 does not fit protocol 2"},
      {65, "notify with unknown protocol and SPI", message({{kN, hex("09 04 4000 01020304")}}),
       kSyntax, "does not fit protocol 9"},
  };
}

TEST(IkeMessageMalformed, Table) {
  int previous = 0;
  for (const Case& c : cases()) {
    SCOPED_TRACE("case " + std::to_string(c.number) + ": " + c.name);
    EXPECT_EQ(c.number, previous + 1) << "case numbers run 1, 2, 3...";
    previous = c.number;
    Message m;
    ParseError err;
    const bool ok = parse_message(c.wire, m, err);
    if (c.notify == kOk) {
      EXPECT_TRUE(ok) << err.what;
      continue;
    }
    ASSERT_FALSE(ok);
    EXPECT_EQ(err.notify, c.notify) << err.what;
    EXPECT_NE(err.what.find(c.what), std::string::npos) << "what: " << err.what;
    EXPECT_EQ(err.critical_type, c.critical_type);
  }
}

TEST(IkeMessageMalformed, UnknownNonCriticalIsKept) {
  Message m;
  ParseError err;
  ASSERT_TRUE(parse_message(with_tail(99, hex("00 00 0006 abcd")), m, err)) << err.what;
  ASSERT_EQ(m.payloads.size(), 6u);
  EXPECT_EQ(std::get<UnknownPayload>(m.payloads[5]), (UnknownPayload{99, false, {0xab, 0xcd}}));
}

TEST(IkeMessageMalformed, EncryptedInsideEncryptedIsRefused) {
  // parse_payloads reads a decrypted SK: another SK or an SKF there is not
  // something a peer may send.
  for (const uint8_t t : {kSk, kSkf}) {
    const Bytes body = chain({{kN, hex("00 00 4000")}, {t, hex("0001 0001 00000000")}});
    std::vector<Payload> out;
    ParseError err;
    EXPECT_FALSE(parse_payloads(PayloadType::kNotify, body, out, err));
    EXPECT_NE(err.what.find("inside an encrypted payload"), std::string::npos) << err.what;
    EXPECT_EQ(err.notify, kSyntax);
  }
}

TEST(IkeMessageMalformed, ParseHeaderAloneChecksFraming) {
  Header h;
  ParseError err;
  // parse_header reads no payload: a broken chain still routes.
  EXPECT_TRUE(parse_header(sa_init({{31, 3}}), h, err)) << err.what;
  EXPECT_EQ(h.spi_i, 0x0102030405060708u);
  EXPECT_FALSE(parse_header(sa_init({{17, 0x10}}), h, err));
  EXPECT_EQ(err.notify, kMajor);
  EXPECT_FALSE(parse_header(sa_init({{24, 1}}), h, err));
  EXPECT_EQ(err.notify, 0);
}

}  // namespace
}  // namespace portcullis::ctl::ike
