// message_test.cc: the IKEv2 codec (control/ike/message.cc). A hand-built
// IKE_SA_INIT read field by field, round trips of every payload type, and
// every truncation of a valid message refused. The numbered table of
// malformed inputs lives in message_malformed_test.cc.
#include "control/ike/message.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ike_test_util.h"

namespace portcullis::ctl::ike {
namespace {

using test::hex;
using test::kSaInitHex;

TEST(IkeMessage, HandBuiltIkeSaInitFieldByField) {
  const Bytes wire = hex(kSaInitHex);
  ASSERT_EQ(wire.size(), 172u);
  Message m;
  ParseError err;
  ASSERT_TRUE(parse_message(wire, m, err)) << err.what;

  EXPECT_EQ(m.header.spi_i, 0x0102030405060708u);
  EXPECT_EQ(m.header.spi_r, 0u);
  EXPECT_EQ(m.header.next, PayloadType::kSa);
  EXPECT_EQ(m.header.version, kVersion2);
  EXPECT_EQ(m.header.exchange, Exchange::kIkeSaInit);
  EXPECT_TRUE(m.header.initiator());
  EXPECT_FALSE(m.header.response());
  EXPECT_EQ(m.header.message_id, 0u);
  EXPECT_EQ(m.header.length, 172u);
  ASSERT_EQ(m.payloads.size(), 5u);

  const auto& sa = std::get<SaPayload>(m.payloads[0]);
  ASSERT_EQ(sa.proposals.size(), 1u);
  const Proposal& pr = sa.proposals[0];
  EXPECT_EQ(pr.number, 1);
  EXPECT_EQ(pr.protocol, Protocol::kIke);
  EXPECT_TRUE(pr.spi.empty());
  const std::vector<Transform> want{{TransformType::kEncr, kEncrAesGcm16, 256},
                                    {TransformType::kPrf, kPrfHmacSha256, 0},
                                    {TransformType::kDh, kDhCurve25519, 0},
                                    {TransformType::kDh, kDhEcp256, 0}};
  EXPECT_EQ(pr.transforms, want);

  const auto& ke = std::get<KePayload>(m.payloads[1]);
  EXPECT_EQ(ke.group, kDhCurve25519);
  EXPECT_EQ(ke.data, Bytes(32, 0x11));

  EXPECT_EQ(std::get<NoncePayload>(m.payloads[2]).data, Bytes(16, 0x22));

  const auto& natd = std::get<NotifyPayload>(m.payloads[3]);
  EXPECT_EQ(natd.protocol, Protocol::kNone);
  EXPECT_TRUE(natd.spi.empty());
  EXPECT_EQ(natd.type, static_cast<uint16_t>(NotifyType::kNatDetectionSourceIp));
  EXPECT_EQ(natd.data, Bytes(20, 0x33));
  EXPECT_FALSE(natd.error());

  const auto& frag = std::get<NotifyPayload>(m.payloads[4]);
  EXPECT_EQ(frag.type, static_cast<uint16_t>(NotifyType::kIkev2FragmentationSupported));
  EXPECT_TRUE(frag.data.empty());

  EXPECT_EQ(m.find_notify(NotifyType::kIkev2FragmentationSupported), &frag);
  EXPECT_EQ(m.find_notify(NotifyType::kCookie), nullptr);
  EXPECT_EQ(m.find<KePayload>(), &ke);
  EXPECT_EQ(describe(m), "IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(FRAG_SUP) ]");

  // The serializer writes the same bytes back.
  EXPECT_EQ(serialize_message(m.header, m.payloads), wire);

  Header h;
  ASSERT_TRUE(parse_header(wire, h, err));
  EXPECT_EQ(h, m.header);
}

TEST(IkeMessage, EveryTruncationIsRefused) {
  const Bytes wire = hex(kSaInitHex);
  for (size_t n = 0; n < wire.size(); ++n) {
    Bytes cut(wire.begin(), wire.begin() + n);
    Message m;
    ParseError err;
    EXPECT_FALSE(parse_message(cut, m, err)) << "prefix " << n;
    EXPECT_FALSE(err.what.empty());
    // With the length field patched to match, the cut reaches the payload
    // chain, which must still notice it.
    if (n >= kHeaderSize) {
      cut[27] = static_cast<uint8_t>(n);
      err = {};
      EXPECT_FALSE(parse_message(cut, m, err)) << "prefix " << n << " with matching length";
      EXPECT_EQ(err.notify, static_cast<uint16_t>(NotifyType::kInvalidSyntax)) << "prefix " << n;
    }
  }
  // And the payload chain alone (as parse_payloads sees a decrypted SK).
  const std::span<const uint8_t> chain = std::span(wire).subspan(kHeaderSize);
  for (size_t n = 0; n < chain.size(); ++n) {
    std::vector<Payload> out;
    ParseError err;
    EXPECT_FALSE(parse_payloads(PayloadType::kSa, chain.first(n), out, err))
        << "chain prefix " << n;
  }
  std::vector<Payload> out;
  ParseError err;
  ASSERT_TRUE(parse_payloads(PayloadType::kSa, chain, out, err)) << err.what;
  EXPECT_EQ(out.size(), 5u);
}

// everything: one of each payload type the codec knows, in the values'
// edge shapes (empty data, several proposals and selectors, IPv6).
std::vector<Payload> everything() {
  SaPayload sa;
  sa.proposals.push_back({1,
                          Protocol::kEsp,
                          {0xde, 0xad, 0xbe, 0xef},
                          {{TransformType::kEncr, kEncrAesGcm16, 128},
                           {TransformType::kEsn, kEsnNone, 0},
                           {TransformType::kEsn, kEsnYes, 0}}});
  sa.proposals.push_back(
      {2, Protocol::kEsp, {0, 0, 0, 1}, {{TransformType::kEncr, kEncrChaCha20Poly1305, 0}}});
  sa.proposals.push_back({3,
                          Protocol::kIke,
                          Bytes(8, 0x42),
                          {{TransformType::kEncr, kEncrAesGcm16, 256},
                           {TransformType::kPrf, kPrfHmacSha512, 0},
                           {TransformType::kDh, kDhEcp384, 0},
                           {static_cast<TransformType>(77), 999, 0}}});
  TrafficSelector v4{kTsIpv4Range, 6, 80, 443, {10, 0, 0, 0}, {10, 0, 255, 255}};
  TrafficSelector v6{kTsIpv6Range, 0, 0, 65535, Bytes(16, 0), Bytes(16, 0xff)};
  return {
      sa,
      KePayload{kDhEcp256, Bytes(64, 0x07)},
      IdPayload{false, kIdFqdn, {'g', 'w', '1'}},
      IdPayload{true, kIdIpv4, {192, 0, 2, 1}},
      IdPayload{true, kIdKeyId, {}},
      CertPayload{kCertX509Signature, Bytes(300, 0x30)},
      CertReqPayload{kCertX509Signature, Bytes(40, 0x5a)},
      AuthPayload{kAuthDigitalSignature, Bytes(72, 0x99)},
      NoncePayload{Bytes(16, 1)},
      NoncePayload{Bytes(256, 2)},
      NotifyPayload{Protocol::kEsp, {1, 2, 3, 4}, static_cast<uint16_t>(NotifyType::kRekeySa), {}},
      NotifyPayload{
          Protocol::kNone, {}, static_cast<uint16_t>(NotifyType::kCookie), Bytes(24, 0xc0)},
      NotifyPayload{Protocol::kIke, Bytes(8, 0x11), 40000, {9}},
      DeletePayload{Protocol::kEsp, {0x01020304, 0xfffffffe}},
      DeletePayload{Protocol::kIke, {}},
      VendorPayload{{'p', 'c'}},
      TsPayload{false, {v4, v6}},
      TsPayload{true, {v6}},
      CpPayload{1, {0, 1, 0, 0}},
      UnknownPayload{99, false, {1, 2, 3}},
      UnknownPayload{static_cast<uint8_t>(PayloadType::kEap), false, {1, 0, 0, 4}},
  };
}

TEST(IkeMessage, RoundTripOfEveryPayloadType) {
  Header h;
  h.spi_i = 0x1111222233334444;
  h.spi_r = 0x5555666677778888;
  h.exchange = Exchange::kCreateChildSa;
  h.flags = kFlagResponse;
  h.message_id = 0xfedcba98;
  for (const bool with_sk : {false, true}) {
    std::vector<Payload> payloads = everything();
    if (with_sk) payloads.push_back(SkPayload{PayloadType::kNonce, Bytes(40, 0xee)});
    const Bytes wire = serialize_message(h, payloads);
    Message m;
    ParseError err;
    ASSERT_TRUE(parse_message(wire, m, err)) << err.what;
    EXPECT_EQ(m.header.length, wire.size());
    EXPECT_EQ(m.header.next, PayloadType::kSa);
    Header want = h;
    want.next = PayloadType::kSa;
    want.length = static_cast<uint32_t>(wire.size());
    EXPECT_EQ(m.header, want);
    ASSERT_EQ(m.payloads.size(), payloads.size());
    for (size_t i = 0; i < payloads.size(); ++i)
      EXPECT_TRUE(m.payloads[i] == payloads[i])
          << "payload " << i << " " << describe({payloads[i]});
  }
  // Payload chains alone, as SK carries them.
  PayloadType first;
  const Bytes chain = serialize_payloads(everything(), first);
  EXPECT_EQ(first, PayloadType::kSa);
  std::vector<Payload> back;
  ParseError err;
  ASSERT_TRUE(parse_payloads(first, chain, back, err)) << err.what;
  EXPECT_TRUE(back == everything());
}

TEST(IkeMessage, FragmentRoundTrip) {
  Header h;
  h.exchange = Exchange::kIkeAuth;
  h.message_id = 1;
  for (const auto& f : {SkfPayload{PayloadType::kIdi, 1, 3, Bytes(30, 1)},
                        SkfPayload{PayloadType::kNone, 3, 3, Bytes(30, 2)}}) {
    const Bytes wire = serialize_message(h, {f});
    EXPECT_EQ(wire[16], static_cast<uint8_t>(PayloadType::kSkf));
    EXPECT_EQ(wire[28], static_cast<uint8_t>(f.first));  // SKF's next = inner first
    Message m;
    ParseError err;
    ASSERT_TRUE(parse_message(wire, m, err)) << err.what;
    ASSERT_EQ(m.payloads.size(), 1u);
    EXPECT_EQ(std::get<SkfPayload>(m.payloads[0]), f);
  }
}

TEST(IkeMessage, EmptyMessage) {
  // An INFORMATIONAL with no payloads at all is a liveness check's shape
  // (once encrypted); unencrypted it is still well-formed.
  Header h;
  h.exchange = Exchange::kInformational;
  const Bytes wire = serialize_message(h, {});
  ASSERT_EQ(wire.size(), kHeaderSize);
  EXPECT_EQ(wire[16], 0);
  Message m;
  ParseError err;
  ASSERT_TRUE(parse_message(wire, m, err)) << err.what;
  EXPECT_TRUE(m.payloads.empty());
  EXPECT_EQ(describe(m), "INFORMATIONAL request 0 [ ]");
}

TEST(IkeMessage, NotifyWithoutSpiSendsAndReadsProtocolZero) {
  // Section 3.10: the protocol id of an SPI-less notify is sent as zero and
  // ignored on receipt.
  const std::vector<Payload> in{NotifyPayload{Protocol::kEsp, {}, 16384, {}}};
  PayloadType first;
  Bytes chain = serialize_payloads(in, first);
  EXPECT_EQ(chain[4], 0);
  chain[4] = 3;  // as a sloppy peer might send it
  std::vector<Payload> out;
  ParseError err;
  ASSERT_TRUE(parse_payloads(first, chain, out, err)) << err.what;
  EXPECT_EQ(std::get<NotifyPayload>(out[0]).protocol, Protocol::kNone);
}

TEST(IkeMessage, UnknownAttributesAreSkippedAndCriticalBitOnKnownIgnored) {
  // One SA: proposal with one transform carrying an unknown TV attribute,
  // an unknown TLV attribute (3 bytes of value), then Key Length 128.
  const Bytes chain =
      hex("00 80 0023"  // SA, last, critical bit set (ignored: SA is understood)
          "00 00 001f 01 01 00 01"
          "00 00 0017 01 00 0014 8001 0007 0002 0003 aabbcc 800e 0080");
  std::vector<Payload> out;
  ParseError err;
  ASSERT_TRUE(parse_payloads(PayloadType::kSa, chain, out, err)) << err.what;
  const auto& sa = std::get<SaPayload>(out[0]);
  ASSERT_EQ(sa.proposals.size(), 1u);
  ASSERT_EQ(sa.proposals[0].transforms.size(), 1u);
  EXPECT_EQ(sa.proposals[0].transforms[0], (Transform{TransformType::kEncr, kEncrAesGcm16, 128}));
}

TEST(IkeMessage, IdBodyIsWhatAuthSigns) {
  const IdPayload id{false, kIdIpv4, {192, 0, 2, 7}};
  EXPECT_EQ(id.body(), (Bytes{1, 0, 0, 0, 192, 0, 2, 7}));
  // And it is the ID payload on the wire minus its generic header.
  PayloadType first;
  const Bytes chain = serialize_payloads({id}, first);
  EXPECT_EQ(first, PayloadType::kIdi);
  EXPECT_EQ(Bytes(chain.begin() + 4, chain.end()), id.body());
}

TEST(IkeMessage, Lookups) {
  Message m;
  m.payloads = everything();
  ASSERT_NE(m.find_id(false), nullptr);
  EXPECT_EQ(m.find_id(false)->data, (Bytes{'g', 'w', '1'}));
  ASSERT_NE(m.find_id(true), nullptr);
  EXPECT_EQ(m.find_id(true)->type, kIdIpv4);  // the first IDr
  ASSERT_NE(m.find_ts(false), nullptr);
  EXPECT_EQ(m.find_ts(false)->selectors.size(), 2u);
  ASSERT_NE(m.find_ts(true), nullptr);
  EXPECT_EQ(m.find_ts(true)->selectors.size(), 1u);
  ASSERT_NE(m.find_notify(NotifyType::kCookie), nullptr);
  EXPECT_EQ(m.find_notify(NotifyType::kCookie)->data.size(), 24u);
  EXPECT_EQ(m.find_notify(NotifyType::kInitialContact), nullptr);
  EXPECT_EQ(m.find<SkPayload>(), nullptr);
  m.payloads.clear();
  EXPECT_EQ(m.find_id(false), nullptr);
  EXPECT_EQ(m.find_ts(true), nullptr);
}

TEST(IkeMessage, PayloadTypes) {
  const std::vector<Payload> all = everything();
  std::vector<PayloadType> got;
  for (const auto& p : all) got.push_back(payload_type(p));
  const std::vector<PayloadType> want{PayloadType::kSa,      PayloadType::kKe,
                                      PayloadType::kIdi,     PayloadType::kIdr,
                                      PayloadType::kIdr,     PayloadType::kCert,
                                      PayloadType::kCertReq, PayloadType::kAuth,
                                      PayloadType::kNonce,   PayloadType::kNonce,
                                      PayloadType::kNotify,  PayloadType::kNotify,
                                      PayloadType::kNotify,  PayloadType::kDelete,
                                      PayloadType::kDelete,  PayloadType::kVendor,
                                      PayloadType::kTsi,     PayloadType::kTsr,
                                      PayloadType::kCp,      static_cast<PayloadType>(99),
                                      PayloadType::kEap};
  EXPECT_EQ(got, want);
  EXPECT_EQ(payload_type(SkPayload{}), PayloadType::kSk);
  EXPECT_EQ(payload_type(SkfPayload{}), PayloadType::kSkf);
}

TEST(IkeMessage, Describe) {
  Message m;
  m.header.exchange = Exchange::kIkeAuth;
  m.header.message_id = 1;
  m.header.flags = kFlagInitiator;
  m.payloads = {
      IdPayload{false, kIdFqdn, {'a'}},
      CertPayload{},
      AuthPayload{},
      SaPayload{},
      TsPayload{false, {}},
      TsPayload{true, {}},
      NotifyPayload{Protocol::kNone, {}, static_cast<uint16_t>(NotifyType::kInitialContact), {}}};
  EXPECT_EQ(describe(m), "IKE_AUTH request 1 [ IDi CERT AUTH SA TSi TSr N(INIT_CONTACT) ]");
  m.header.flags = kFlagResponse;
  m.header.message_id = 7;
  m.header.exchange = Exchange::kInformational;
  m.payloads = {NotifyPayload{Protocol::kNone, {}, 12345, {}},
                DeletePayload{},
                UnknownPayload{99, false, {}},
                VendorPayload{},
                CpPayload{},
                SkPayload{}};
  EXPECT_EQ(describe(m), "INFORMATIONAL response 7 [ N(12345) D UNKNOWN(99) V CP SK ]");
  m.header.exchange = static_cast<Exchange>(43);
  m.payloads = {SkfPayload{PayloadType::kNone, 2, 3, {}}};
  EXPECT_EQ(describe(m), "EXCHANGE(43) response 7 [ SKF(2/3) ]");
  EXPECT_EQ(describe(std::vector<Payload>{}), "[ ]");

  EXPECT_STREQ(exchange_name(Exchange::kCreateChildSa), "CREATE_CHILD_SA");
  EXPECT_STREQ(exchange_name(static_cast<Exchange>(1)), "UNKNOWN");
  EXPECT_STREQ(notify_name(static_cast<uint16_t>(NotifyType::kNoProposalChosen)), "NO_PROP");
  EXPECT_STREQ(notify_name(static_cast<uint16_t>(NotifyType::kNatDetectionDestinationIp)),
               "NATD_D_IP");
  EXPECT_STREQ(notify_name(2), "UNKNOWN");
}

TEST(IkeMessage, SerializerRefusesWhatItCannotEncode) {
  Header h;
  // SK must be last (section 3.14): anything after it would be read as
  // ciphertext by the peer.
  EXPECT_THROW(serialize_message(h, {SkPayload{}, NoncePayload{Bytes(16, 0)}}),
               std::invalid_argument);
  EXPECT_THROW(serialize_message(h, {SkfPayload{}, VendorPayload{}}), std::invalid_argument);
  // A payload's length field is 16 bits.
  PayloadType first;
  EXPECT_THROW(serialize_payloads({VendorPayload{Bytes(65532, 0)}}, first), std::length_error);
  EXPECT_EQ(serialize_payloads({VendorPayload{Bytes(65531, 0)}}, first).size(), 65535u);
  // The whole message is capped at kMaxMessageSize.
  EXPECT_THROW(
      serialize_message(h, {VendorPayload{Bytes(40000, 0)}, VendorPayload{Bytes(40000, 0)}}),
      std::length_error);
  TsPayload ts;
  ts.selectors.resize(256, TrafficSelector{kTsIpv4Range, 0, 0, 0, Bytes(4), Bytes(4)});
  EXPECT_THROW(serialize_message(h, {ts}), std::length_error);
}

}  // namespace
}  // namespace portcullis::ctl::ike
