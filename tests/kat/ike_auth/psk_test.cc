// psk_test.cc: RFC 7296 section 2.15 pre-shared key AUTH and the signed
// octets, checked against HMAC computed here with OpenSSL's HMAC()
// directly rather than through the Prf class auth.cc uses; and the RFC 7427
// section 4 SIGNATURE_HASH_ALGORITHMS data.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <ostream>
#include <string>
#include <vector>

#include "control/ike/auth.h"

namespace portcullis::ctl::ike {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes hmac(const EVP_MD* md, const Bytes& key, const Bytes& data) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  const uint8_t dummy = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()), data.empty() ? &dummy : data.data(),
       data.size(), out.data(), &len);
  out.resize(len);
  return out;
}

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

Bytes pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; i++) b[i] = static_cast<uint8_t>(seed + i * 7);
  return b;
}

Bytes bytes(const SecretBytes& s) { return Bytes(s.span().begin(), s.span().end()); }

struct PrfCase {
  uint16_t id;
  const char* name;
  const EVP_MD* (*md)();
};

void PrintTo(const PrfCase& c, std::ostream* os) { *os << c.name; }

class PskAuthTest : public ::testing::TestWithParam<PrfCase> {};

// RFC 7296 section 2.15: AUTH = prf( prf(Shared Secret, "Key Pad for
// IKEv2"), <InitiatorSignedOctets>), the pad being 17 ASCII bytes.
TEST_P(PskAuthTest, EqualsNestedHmacComputedDirectly) {
  const auto prf = Prf::make(GetParam().id);
  ASSERT_NE(prf, nullptr);
  const Bytes secret = text("a shared secret of some length");
  for (size_t len : {size_t{0}, size_t{1}, size_t{64}, size_t{1000}}) {
    const Bytes octets = pattern(len, 3);
    const Bytes expected =
        hmac(GetParam().md(), hmac(GetParam().md(), secret, text("Key Pad for IKEv2")), octets);
    const SecretBytes auth = psk_auth(*prf, secret, octets);
    EXPECT_EQ(auth.size(), static_cast<size_t>(EVP_MD_get_size(GetParam().md())));
    EXPECT_TRUE(bytes(auth) == expected) << "octets length " << len;
    EXPECT_TRUE(psk_auth_matches(*prf, secret, octets, expected)) << "octets length " << len;
  }
}

TEST_P(PskAuthTest, AnyChangeIsRefused) {
  const auto prf = Prf::make(GetParam().id);
  ASSERT_NE(prf, nullptr);
  const Bytes secret = text("a shared secret of some length");
  const Bytes octets = pattern(300, 9);
  const Bytes good = bytes(psk_auth(*prf, secret, octets));
  ASSERT_TRUE(psk_auth_matches(*prf, secret, octets, good));
  for (size_t i : {size_t{0}, good.size() / 2, good.size() - 1}) {
    Bytes bad = good;
    bad[i] ^= 0x01;
    EXPECT_FALSE(psk_auth_matches(*prf, secret, octets, bad)) << "byte " << i << " flipped";
  }
  EXPECT_FALSE(psk_auth_matches(*prf, secret, octets, Bytes(good.begin(), good.end() - 1)));
  Bytes longer = good;
  longer.push_back(0);
  EXPECT_FALSE(psk_auth_matches(*prf, secret, octets, longer));
  EXPECT_FALSE(psk_auth_matches(*prf, secret, octets, Bytes{}));
  Bytes other_octets = octets;
  other_octets[150] ^= 0x80;
  EXPECT_FALSE(psk_auth_matches(*prf, secret, other_octets, good));
  EXPECT_FALSE(psk_auth_matches(*prf, text("a shared secret of some lengtH"), octets, good));
}

// Section 2.15: the signed octets end with prf(SK_p, RestOfIDPayload).
TEST_P(PskAuthTest, SignedOctetsAreMessageNonceAndMacedId) {
  const auto prf = Prf::make(GetParam().id);
  ASSERT_NE(prf, nullptr);
  const Bytes message = pattern(240, 1), nonce = pattern(32, 2), sk_p = pattern(prf->size(), 4);
  const Bytes id_body = {2, 0, 0, 0, 'g', 'w', '1', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e'};
  Bytes expected = message;
  expected.insert(expected.end(), nonce.begin(), nonce.end());
  const Bytes maced = hmac(GetParam().md(), sk_p, id_body);
  expected.insert(expected.end(), maced.begin(), maced.end());
  EXPECT_EQ(signed_octets(*prf, message, nonce, sk_p, id_body), expected);
  Bytes other_id = id_body;
  other_id.back() = 'E';
  EXPECT_NE(signed_octets(*prf, message, nonce, sk_p, other_id), expected);
}

INSTANTIATE_TEST_SUITE_P(Prfs, PskAuthTest,
                         ::testing::Values(PrfCase{5, "HmacSha256", EVP_sha256},
                                           PrfCase{6, "HmacSha384", EVP_sha384},
                                           PrfCase{7, "HmacSha512", EVP_sha512}),
                         [](const auto& info) { return std::string(info.param.name); });

// RFC 7427 section 4 and RFC 8420 section 2: SHA2-256 (2), SHA2-384 (3),
// SHA2-512 (4) and Identity (5), two bytes each, big-endian.
TEST(SignatureHashAlgorithms, AnnouncesSha2AndIdentity) {
  EXPECT_EQ(signature_hash_algorithms_data(), (Bytes{0, 2, 0, 3, 0, 4, 0, 5}));
}

}  // namespace
}  // namespace portcullis::ctl::ike
