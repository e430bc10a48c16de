// sk_test.cc: the Encrypted payload and IKE fragmentation (control/ike/
// sk.cc) with the real AEADs: seal and open round trips, any flipped bit
// or a wrong key refused, RFC 7383 fragments split at several sizes and
// reassembled out of order with duplicates, tampered fragments and
// disagreeing totals refused.
#include "control/ike/sk.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "control/ike/message.h"

namespace portcullis::ctl::ike {
namespace {

struct Suite {
  uint16_t id, bits;
  const char* name;
};

class IkeSk : public ::testing::TestWithParam<Suite> {
 protected:
  void SetUp() override {
    aead_ = Aead::make(GetParam().id, GetParam().bits);
    ASSERT_NE(aead_, nullptr);
    key_.resize(aead_->key_size());
    for (size_t i = 0; i < key_.size(); ++i) key_[i] = static_cast<uint8_t>(i * 7 + 1);
    header_.spi_i = 0x0123456789abcdef;
    header_.spi_r = 0xfedcba9876543210;
    header_.exchange = Exchange::kIkeAuth;
    header_.flags = kFlagInitiator;
    header_.message_id = 1;
  }

  // open parses `wire` and opens its SK payload.
  bool open(const Bytes& wire, std::vector<Payload>& inner, std::string& why,
            const Bytes* key = nullptr) {
    Message m;
    ParseError err;
    if (!parse_message(wire, m, err)) {
      why = "parse: " + err.what;
      return false;
    }
    return open_message(wire, m, *aead_, key ? *key : key_, inner, why);
  }

  Reassembly::Result add(Reassembly& r, const Bytes& wire, std::vector<Payload>& inner,
                         std::string& why, const Bytes* key = nullptr) {
    Message m;
    ParseError err;
    if (!parse_message(wire, m, err)) {
      why = "parse: " + err.what;
      return Reassembly::Result::kRejected;
    }
    return r.add(wire, m, *aead_, key ? *key : key_, inner, why);
  }

  std::unique_ptr<Aead> aead_;
  Bytes key_;
  Header header_;
};

// auth_payloads: an IKE_AUTH request's contents, about 3 KB with the
// certificate (large enough to need fragments at common sizes).
std::vector<Payload> auth_payloads() {
  TrafficSelector ts{kTsIpv4Range, 0, 0, 65535, {10, 1, 0, 0}, {10, 1, 255, 255}};
  SaPayload sa;
  sa.proposals.push_back(
      {1, Protocol::kEsp, {1, 2, 3, 4}, {{TransformType::kEncr, kEncrAesGcm16, 256}}});
  Bytes cert(2800);
  for (size_t i = 0; i < cert.size(); ++i) cert[i] = static_cast<uint8_t>(i);
  return {
      IdPayload{false, kIdFqdn, {'g', 'w', '1'}},
      CertPayload{kCertX509Signature, cert},
      AuthPayload{kAuthDigitalSignature, Bytes(72, 0xab)},
      sa,
      TsPayload{false, {ts}},
      TsPayload{true, {ts}},
      NotifyPayload{Protocol::kNone, {}, static_cast<uint16_t>(NotifyType::kInitialContact), {}}};
}

Bytes serialized(const std::vector<Payload>& p, PayloadType& first) {
  return serialize_payloads(p, first);
}

TEST_P(IkeSk, SealOpenRoundTrip) {
  PayloadType first;
  const Bytes inner = serialized(auth_payloads(), first);
  const Bytes wire = seal_message(header_, first, inner, *aead_, key_);
  // Header, SK header, IV, inner, Pad Length, ICV.
  ASSERT_EQ(wire.size(), kHeaderSize + 4 + 8 + inner.size() + 1 + 16);
  EXPECT_EQ(wire[16], static_cast<uint8_t>(PayloadType::kSk));
  EXPECT_EQ(wire[28], static_cast<uint8_t>(PayloadType::kIdi));  // SK's next = inner first
  Message m;
  ParseError err;
  ASSERT_TRUE(parse_message(wire, m, err)) << err.what;
  EXPECT_EQ(m.header.message_id, 1u);
  EXPECT_EQ(m.header.spi_i, header_.spi_i);
  EXPECT_EQ(describe(m), "IKE_AUTH request 1 [ SK ]");
  std::vector<Payload> out;
  std::string why;
  ASSERT_TRUE(open_message(wire, m, *aead_, key_, out, why)) << why;
  EXPECT_TRUE(out == auth_payloads());
  // The plaintext does not show through.
  const Bytes cert_start(inner.begin() + 15, inner.begin() + 47);
  EXPECT_EQ(std::search(wire.begin(), wire.end(), cert_start.begin(), cert_start.end()),
            wire.end());
}

TEST_P(IkeSk, EmptyInnerIsALivenessCheck) {
  Header h = header_;
  h.exchange = Exchange::kInformational;
  const Bytes wire = seal_message(h, PayloadType::kNone, {}, *aead_, key_);
  EXPECT_EQ(wire.size(), kHeaderSize + 4 + 8 + 1 + 16);
  std::vector<Payload> out{VendorPayload{}};
  std::string why;
  ASSERT_TRUE(open(wire, out, why)) << why;
  EXPECT_TRUE(out.empty());
}

TEST_P(IkeSk, FreshIvEachTime) {
  const Bytes inner{0, 0, 0, 8, 0, 0, 0x40, 0};  // one N(INIT_CONTACT)
  const Bytes a = seal_message(header_, PayloadType::kNotify, inner, *aead_, key_);
  const Bytes b = seal_message(header_, PayloadType::kNotify, inner, *aead_, key_);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_NE(Bytes(a.begin() + 32, a.begin() + 40), Bytes(b.begin() + 32, b.begin() + 40));
  EXPECT_NE(a, b);
}

TEST_P(IkeSk, EveryFlippedBitIsRefused) {
  PayloadType first;
  const Bytes inner =
      serialized({IdPayload{false, kIdFqdn, {'x'}}, AuthPayload{kAuthPsk, Bytes(32, 1)}}, first);
  const Bytes wire = seal_message(header_, first, inner, *aead_, key_);
  for (size_t i = 0; i < wire.size(); ++i) {
    for (const uint8_t bit : {0x01, 0x80}) {
      Bytes bad = wire;
      bad[i] ^= bit;
      std::vector<Payload> out;
      std::string why;
      EXPECT_FALSE(open(bad, out, why)) << "byte " << i << " bit " << int{bit};
      EXPECT_FALSE(why.empty());
    }
  }
  // Dropping the last byte, or adding one, is refused too.
  for (const Bytes& bad : {Bytes(wire.begin(), wire.end() - 1), [&wire] {
                             Bytes b = wire;
                             b.push_back(0);
                             return b;
                           }()}) {
    std::vector<Payload> out;
    std::string why;
    EXPECT_FALSE(open(bad, out, why));
  }
}

TEST_P(IkeSk, WrongKeyIsRefused) {
  PayloadType first;
  const Bytes inner = serialized(auth_payloads(), first);
  const Bytes wire = seal_message(header_, first, inner, *aead_, key_);
  for (size_t i : {size_t{0}, key_.size() - 1}) {  // cipher key, salt
    Bytes other = key_;
    other[i] ^= 1;
    std::vector<Payload> out;
    std::string why;
    EXPECT_FALSE(open(wire, out, why, &other)) << "key byte " << i;
    EXPECT_NE(why.find("ICV mismatch"), std::string::npos) << why;
    EXPECT_TRUE(out.empty());
  }
  // A key of the wrong size cannot seal.
  const Bytes short_key(key_.begin(), key_.end() - 1);
  EXPECT_THROW(seal_message(header_, first, inner, *aead_, short_key), std::invalid_argument);
}

// seal_raw builds an SK message by hand around any plaintext (padding
// included), so that the opener's padding checks can be reached.
Bytes seal_raw(const Header& h, const Bytes& before, uint8_t first_outer, PayloadType inner_first,
               const Bytes& plain, const Aead& aead, const Bytes& key) {
  const size_t sk_len = 4 + 8 + plain.size() + 16;
  Bytes out(kHeaderSize);
  serialize_header(h, static_cast<PayloadType>(first_outer),
                   static_cast<uint32_t>(kHeaderSize + before.size() + sk_len), out.data());
  out.insert(out.end(), before.begin(), before.end());
  out.insert(out.end(), {static_cast<uint8_t>(inner_first), 0, static_cast<uint8_t>(sk_len >> 8),
                         static_cast<uint8_t>(sk_len)});
  const Bytes aad = out;
  const Bytes iv{1, 2, 3, 4, 5, 6, 7, 8};
  out.insert(out.end(), iv.begin(), iv.end());
  if (!aead.seal(key, iv, aad, plain, out)) throw std::runtime_error("seal_raw");
  return out;
}

TEST_P(IkeSk, PaddingIsCheckedAndItsContentsIgnored) {
  const Bytes notify{0, 0, 0, 8, 0, 0, 0x40, 0};
  // Three bytes of padding, not zeros: section 3.14 lets them be anything.
  Bytes plain = notify;
  plain.insert(plain.end(), {0xaa, 0xbb, 0xcc, 3});
  std::vector<Payload> out;
  std::string why;
  ASSERT_TRUE(open(seal_raw(header_, {}, 46, PayloadType::kNotify, plain, *aead_, key_), out, why))
      << why;
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(std::get<NotifyPayload>(out[0]).type, 16384);
  // A pad length that reaches past the start of the plaintext.
  plain = notify;
  plain.push_back(9);
  EXPECT_FALSE(
      open(seal_raw(header_, {}, 46, PayloadType::kNotify, plain, *aead_, key_), out, why));
  EXPECT_NE(why.find("pad length 9 exceeds the 8 bytes"), std::string::npos) << why;
  // All padding, nothing else: the inner chain is empty, which an inner
  // first of kNone allows.
  EXPECT_TRUE(
      open(seal_raw(header_, {}, 46, PayloadType::kNone, {0, 0, 2}, *aead_, key_), out, why))
      << why;
  EXPECT_TRUE(out.empty());
  // Authentic but malformed inside: refused, saying where.
  plain = {0, 0, 0, 3, 0};
  EXPECT_FALSE(
      open(seal_raw(header_, {}, 46, PayloadType::kNotify, plain, *aead_, key_), out, why));
  EXPECT_NE(why.find("inside the Encrypted payload"), std::string::npos) << why;
}

TEST_P(IkeSk, AadCoversPayloadsBeforeSk) {
  // RFC 5282 section 5.1: the AAD runs from the header to the end of the SK
  // payload header, so an unencrypted payload before SK is covered too.
  const Bytes vendor{46, 0, 0, 6, 'p', 'c'};  // V, next SK
  const Bytes plain{0, 0, 0, 8, 0, 0, 0x40, 0, 0};
  const Bytes wire = seal_raw(header_, vendor, 43, PayloadType::kNotify, plain, *aead_, key_);
  std::vector<Payload> out;
  std::string why;
  ASSERT_TRUE(open(wire, out, why)) << why;
  EXPECT_EQ(out.size(), 1u);
  Bytes bad = wire;
  bad[kHeaderSize + 5] ^= 1;  // 'c' -> 'b'
  EXPECT_FALSE(open(bad, out, why));
  EXPECT_NE(why.find("ICV mismatch"), std::string::npos) << why;
}

TEST_P(IkeSk, OpenWantsAnSkAndItsOwnBytes) {
  std::vector<Payload> out;
  std::string why;
  Message m;
  m.payloads = {NoncePayload{Bytes(16, 0)}};
  EXPECT_FALSE(open_message({}, m, *aead_, key_, out, why));
  EXPECT_NE(why.find("no Encrypted payload"), std::string::npos);
  m.payloads = {SkfPayload{}};
  EXPECT_FALSE(open_message({}, m, *aead_, key_, out, why));
  EXPECT_NE(why.find("reassemble"), std::string::npos);
  // A parse of one message with the bytes of another.
  const Bytes a = seal_message(header_, PayloadType::kNone, {}, *aead_, key_);
  const Bytes b = seal_message(header_, PayloadType::kNone, {}, *aead_, key_);
  ParseError err;
  ASSERT_TRUE(parse_message(a, m, err));
  EXPECT_FALSE(open_message(b, m, *aead_, key_, out, why));
  EXPECT_NE(why.find("not the ones"), std::string::npos) << why;
  // An SK body too short to hold IV and ICV.
  m.payloads = {SkPayload{PayloadType::kNone, Bytes(24, 0)}};
  EXPECT_FALSE(open_message(Bytes(60, 0), m, *aead_, key_, out, why));
  EXPECT_NE(why.find("too short"), std::string::npos) << why;
}

// ---- fragments (RFC 7383) ----

TEST_P(IkeSk, FragmentsSplitAndReassembleShuffledWithDuplicates) {
  PayloadType first;
  const Bytes inner = serialized(auth_payloads(), first);
  std::mt19937 rng(7);
  for (const size_t max : {size_t{200}, size_t{576}, size_t{1000}, size_t{1280}, inner.size() + 56,
                           inner.size() + 57, size_t{65535}}) {
    SCOPED_TRACE("max_size " + std::to_string(max));
    const std::vector<Bytes> frags = seal_fragments(header_, first, inner, *aead_, key_, max, true);
    const size_t whole = kHeaderSize + 4 + 8 + inner.size() + 1 + 16;
    if (whole <= max) {
      // Fits: one plain SK message.
      ASSERT_EQ(frags.size(), 1u);
      EXPECT_EQ(frags[0][16], static_cast<uint8_t>(PayloadType::kSk));
      continue;
    }
    const size_t per = max - (kHeaderSize + 8 + 8 + 1 + 16);
    ASSERT_EQ(frags.size(), (inner.size() + per - 1) / per);
    for (size_t i = 0; i < frags.size(); ++i) {
      EXPECT_LE(frags[i].size(), max);
      Message m;
      ParseError err;
      ASSERT_TRUE(parse_message(frags[i], m, err)) << err.what;
      EXPECT_EQ(m.header.next, PayloadType::kSkf);
      EXPECT_EQ(m.header.message_id, header_.message_id);
      const auto& f = std::get<SkfPayload>(m.payloads.at(0));
      EXPECT_EQ(f.number, i + 1);
      EXPECT_EQ(f.total, frags.size());
      EXPECT_EQ(f.first, i == 0 ? PayloadType::kIdi : PayloadType::kNone);
      // Every fragment but the last is filled to the size asked for.
      if (i + 1 < frags.size()) {
        EXPECT_EQ(frags[i].size(), max);
      }
    }
    // Shuffled, with every fragment sent twice.
    std::vector<size_t> order;
    for (size_t i = 0; i < frags.size(); ++i) order.insert(order.end(), {i, i});
    std::shuffle(order.begin(), order.end(), rng);
    Reassembly r;
    std::vector<bool> seen(frags.size());
    size_t distinct = 0;
    for (size_t k = 0; k < order.size(); ++k) {
      std::vector<Payload> out;
      std::string why;
      const bool fresh = !seen[order[k]];
      seen[order[k]] = true;
      distinct += fresh;
      const auto res = add(r, frags[order[k]], out, why);
      if (fresh && distinct == frags.size()) {
        ASSERT_EQ(res, Reassembly::Result::kComplete) << why;
        EXPECT_TRUE(out == auth_payloads());
        break;  // the rest would start a new reassembly of the same message
      }
      ASSERT_EQ(res, Reassembly::Result::kIncomplete) << "step " << k << ": " << why;
    }
  }
}

TEST_P(IkeSk, FragmentsNotAllowedMeansOneMessage) {
  PayloadType first;
  const Bytes inner = serialized(auth_payloads(), first);
  const auto one = seal_fragments(header_, first, inner, *aead_, key_, 576, false);
  ASSERT_EQ(one.size(), 1u);
  std::vector<Payload> out;
  std::string why;
  ASSERT_TRUE(open(one[0], out, why)) << why;
  EXPECT_TRUE(out == auth_payloads());
  // 61 bytes are headers, IV, pad length and ICV: no room at all.
  EXPECT_THROW(seal_fragments(header_, first, inner, *aead_, key_, 61, true),
               std::invalid_argument);
  EXPECT_EQ(seal_fragments(header_, first, inner, *aead_, key_, 62 + 40, true).size(),
            (inner.size() + 40) / 41);
}

TEST_P(IkeSk, TamperedOrWrongKeyFragmentIsRefusedAndTheRestSurvives) {
  PayloadType first;
  const Bytes inner = serialized(auth_payloads(), first);
  const auto frags = seal_fragments(header_, first, inner, *aead_, key_, 1000, true);
  ASSERT_EQ(frags.size(), 4u);
  Reassembly r;
  std::vector<Payload> out;
  std::string why;
  ASSERT_EQ(add(r, frags[0], out, why), Reassembly::Result::kIncomplete);
  // Fragment 2 with a flipped bit in the header (AAD), in the fragment
  // numbers (AAD), and in the ciphertext.
  for (const size_t at : {size_t{20}, size_t{33}, size_t{500}}) {
    Bytes bad = frags[1];
    bad[at] ^= 4;
    EXPECT_EQ(add(r, bad, out, why), Reassembly::Result::kRejected) << "byte " << at;
  }
  Bytes other = key_;
  other[3] ^= 1;
  EXPECT_EQ(add(r, frags[1], out, why, &other), Reassembly::Result::kRejected);
  EXPECT_NE(why.find("ICV mismatch"), std::string::npos) << why;
  // What had arrived is still there.
  ASSERT_EQ(add(r, frags[1], out, why), Reassembly::Result::kIncomplete) << why;
  ASSERT_EQ(add(r, frags[3], out, why), Reassembly::Result::kIncomplete) << why;
  ASSERT_EQ(add(r, frags[2], out, why), Reassembly::Result::kComplete) << why;
  EXPECT_TRUE(out == auth_payloads());
}

TEST_P(IkeSk, TotalsMustAgree) {
  PayloadType first;
  const Bytes inner = serialized(auth_payloads(), first);
  const auto big = seal_fragments(header_, first, inner, *aead_, key_, 1500, true);   // 3 fragments
  const auto small = seal_fragments(header_, first, inner, *aead_, key_, 600, true);  // 6 fragments
  ASSERT_EQ(big.size(), 3u);
  ASSERT_EQ(small.size(), 6u);
  Reassembly r;
  std::vector<Payload> out;
  std::string why;
  ASSERT_EQ(add(r, big[0], out, why), Reassembly::Result::kIncomplete);
  ASSERT_EQ(add(r, big[1], out, why), Reassembly::Result::kIncomplete);
  // RFC 7383 section 2.6: a greater total starts over...
  ASSERT_EQ(add(r, small[5], out, why), Reassembly::Result::kIncomplete) << why;
  // ...after which the rest of the first attempt is refused.
  EXPECT_EQ(add(r, big[2], out, why), Reassembly::Result::kRejected);
  EXPECT_NE(why.find("of 3 while 6"), std::string::npos) << why;
  for (size_t i = 0; i < 4; ++i)
    ASSERT_EQ(add(r, small[i], out, why), Reassembly::Result::kIncomplete) << why;
  // Had the big fragments been kept, this would mix two splits.
  ASSERT_EQ(add(r, small[4], out, why), Reassembly::Result::kComplete) << why;
  EXPECT_TRUE(out == auth_payloads());
}

TEST_P(IkeSk, MessageIds) {
  PayloadType first;
  const Bytes inner = serialized(auth_payloads(), first);
  Header h2 = header_, h3 = header_;
  h2.message_id = 2;
  h3.message_id = 3;
  const auto m2 = seal_fragments(h2, first, inner, *aead_, key_, 1500, true);
  const auto m3 = seal_fragments(h3, first, inner, *aead_, key_, 1500, true);
  Reassembly r;
  std::vector<Payload> out;
  std::string why;
  ASSERT_EQ(add(r, m2[0], out, why), Reassembly::Result::kIncomplete);
  // A newer message id abandons message 2...
  ASSERT_EQ(add(r, m3[0], out, why), Reassembly::Result::kIncomplete);
  // ...whose fragments are then older, and refused.
  EXPECT_EQ(add(r, m2[1], out, why), Reassembly::Result::kRejected);
  EXPECT_NE(why.find("older"), std::string::npos) << why;
  ASSERT_EQ(add(r, m3[1], out, why), Reassembly::Result::kIncomplete);
  ASSERT_EQ(add(r, m3[2], out, why), Reassembly::Result::kComplete) << why;
  // Complete: state is cleared, so message 2 could start again (the engine
  // judges message ids; Reassembly only keeps fragments apart).
  EXPECT_EQ(add(r, m2[0], out, why), Reassembly::Result::kIncomplete);
  r.clear();
  // A plain SK message is not a fragment.
  const Bytes sk = seal_message(header_, first, inner, *aead_, key_);
  EXPECT_EQ(add(r, sk, out, why), Reassembly::Result::kRejected);
  EXPECT_NE(why.find("not an Encrypted Fragment"), std::string::npos);
}

TEST_P(IkeSk, LimitsOnFragmentsAndBytes) {
  PayloadType first;
  const Bytes inner = serialized(auth_payloads(), first);
  // 41 data bytes a fragment: about 75 fragments, over kMaxFragments.
  const auto many = seal_fragments(header_, first, inner, *aead_, key_, 102, true);
  ASSERT_GT(many.size(), Reassembly::kMaxFragments);
  Reassembly r;
  std::vector<Payload> out;
  std::string why;
  EXPECT_EQ(add(r, many[0], out, why), Reassembly::Result::kRejected);
  EXPECT_NE(why.find("more than 64 fragments"), std::string::npos) << why;

  // 80 KB of vendor ids in 60 fragments: under the count, over kMaxBytes.
  const std::vector<Payload> fat(4, VendorPayload{Bytes(20000, 0x56)});
  const Bytes big = serialized(fat, first);
  const auto frags = seal_fragments(header_, first, big, *aead_, key_, 1400, true);
  ASSERT_LE(frags.size(), Reassembly::kMaxFragments);
  size_t accepted = 0;
  Reassembly::Result res = Reassembly::Result::kIncomplete;
  for (const Bytes& f : frags) {
    res = add(r, f, out, why);
    if (res != Reassembly::Result::kIncomplete) break;
    ++accepted;
  }
  EXPECT_EQ(res, Reassembly::Result::kRejected);
  EXPECT_NE(why.find("over 65536 bytes"), std::string::npos) << why;
  EXPECT_EQ(accepted, Reassembly::kMaxBytes / (1400 - 61));
}

TEST_P(IkeSk, MalformedInnerAcrossFragmentsIsRefusedOnceComplete) {
  // Authentic fragments whose joined contents are not a payload chain.
  const Bytes junk(1500, 0xff);
  const auto frags = seal_fragments(header_, PayloadType::kNonce, junk, *aead_, key_, 600, true);
  Reassembly r;
  std::vector<Payload> out;
  std::string why;
  for (size_t i = 0; i + 1 < frags.size(); ++i)
    ASSERT_EQ(add(r, frags[i], out, why), Reassembly::Result::kIncomplete) << why;
  EXPECT_EQ(add(r, frags.back(), out, why), Reassembly::Result::kRejected);
  EXPECT_NE(why.find("inside the reassembled message"), std::string::npos) << why;
}

INSTANTIATE_TEST_SUITE_P(Aeads, IkeSk,
                         ::testing::Values(Suite{kEncrAesGcm16, 128, "AesGcm128"},
                                           Suite{kEncrAesGcm16, 256, "AesGcm256"},
                                           Suite{kEncrChaCha20Poly1305, 0, "ChaCha20Poly1305"}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace portcullis::ctl::ike
