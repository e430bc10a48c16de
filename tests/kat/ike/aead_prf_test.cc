// aead_prf_test.cc: Aead (RFC 5282 AES-GCM-16, RFC 7634 ChaCha20-Poly1305)
// and Prf::compute (HMAC-SHA-2) against Wycheproof.
//
// Wycheproof's AEAD vectors carry a 12-byte nonce; IKE splits it into the
// 4-byte salt, which travels at the end of the key material, and the
// 8-byte IV from the payload. A valid vector must seal to exactly ct | tag
// and open to msg. An invalid one must fail to open, leave `out` empty,
// and sealing its msg must not give its ct | tag (so the refusal is for
// the tag, not for the inputs).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "control/ike/crypto.h"
#include "tests/kat/ike/vectors.h"

namespace portcullis::kat::ike {
namespace {

using ctl::ike::Aead;
using ctl::ike::Prf;

struct AeadCounts {
  int valid = 0, invalid = 0, skipped_shape = 0;
};

// run_aead_file drives every 12-byte-nonce, 16-byte-tag vector whose key
// size the transform offers through `encr_id`.
void run_aead_file(const std::string& file, uint16_t encr_id, AeadCounts& n) {
  const nlohmann::json doc = wycheproof_file(file);
  for (const auto& g : doc.at("testGroups")) {
    const int key_bits = g.at("keySize"), iv_bits = g.at("ivSize"), tag_bits = g.at("tagSize");
    const auto aead = Aead::make(encr_id, static_cast<uint16_t>(key_bits));
    if (!aead || iv_bits != 96 || tag_bits != 128) {
      n.skipped_shape += static_cast<int>(g.at("tests").size());
      continue;
    }
    for (const auto& t : g.at("tests")) {
      const int id = t.at("tcId");
      SCOPED_TRACE(file + " tcId " + std::to_string(id));
      const auto nonce = unhex(t.at("iv").get<std::string>());
      std::vector<uint8_t> key = unhex(t.at("key").get<std::string>());
      key.insert(key.end(), nonce.begin(), nonce.begin() + Aead::kSaltSize);
      const std::vector<uint8_t> iv(nonce.begin() + Aead::kSaltSize, nonce.end());
      const auto aad = unhex(t.at("aad").get<std::string>());
      const auto msg = unhex(t.at("msg").get<std::string>());
      std::vector<uint8_t> sealed = unhex(t.at("ct").get<std::string>());
      const auto tag = unhex(t.at("tag").get<std::string>());
      sealed.insert(sealed.end(), tag.begin(), tag.end());
      const std::string result = t.at("result");
      ASSERT_EQ(key.size(), aead->key_size());

      // seal appends: a prefix already in `out` must survive.
      std::vector<uint8_t> out = {0xee};
      ASSERT_TRUE(aead->seal(key, iv, aad, msg, out));
      ASSERT_EQ(out.size(), 1 + msg.size() + Aead::kIcvSize);
      EXPECT_EQ(out[0], 0xee);
      const std::string got = hex(std::span(out).subspan(1));
      std::vector<uint8_t> opened = {0xdd};
      const bool ok = aead->open(key, iv, aad, sealed, opened);
      if (result == "valid") {
        ++n.valid;
        EXPECT_EQ(got, hex(sealed));
        EXPECT_TRUE(ok);
        EXPECT_EQ(hex(opened), hex(msg));
      } else {
        ASSERT_EQ(result, "invalid") << "no acceptable AEAD vectors expected";
        ++n.invalid;
        EXPECT_NE(got, hex(sealed));
        EXPECT_FALSE(ok);
        EXPECT_TRUE(opened.empty());
      }
    }
  }
}

TEST(IkeAead, AesGcm16Wycheproof) {
  AeadCounts n;
  run_aead_file("aes_gcm_test.json", 20, n);
  // The file has 12-byte-nonce vectors at 128 and 256 bits, some of each
  // result; 192-bit keys and other nonce lengths are not IKE's.
  EXPECT_GT(n.valid, 50);
  EXPECT_GT(n.invalid, 40);
  EXPECT_GT(n.skipped_shape, 0);
  RecordProperty("valid", n.valid);
  RecordProperty("invalid", n.invalid);
}

TEST(IkeAead, ChaCha20Poly1305Wycheproof) {
  AeadCounts n;
  run_aead_file("chacha20_poly1305_test.json", 28, n);
  EXPECT_GT(n.valid, 200);
  EXPECT_GT(n.invalid, 50);
  RecordProperty("valid", n.valid);
  RecordProperty("invalid", n.invalid);
}

TEST(IkeAead, MakeOffersOnlyIkeShapes) {
  EXPECT_NE(Aead::make(20, 128), nullptr);
  EXPECT_NE(Aead::make(20, 256), nullptr);
  EXPECT_EQ(Aead::make(20, 192), nullptr);
  EXPECT_EQ(Aead::make(20, 0), nullptr);
  EXPECT_EQ(Aead::make(28, 0)->key_size(), 36u);
  EXPECT_EQ(Aead::make(28, 128), nullptr);
  EXPECT_EQ(Aead::make(12, 128), nullptr);  // AES-CBC is not an AEAD
  EXPECT_EQ(Aead::make(20, 128)->key_size(), 20u);
}

TEST(IkeAead, RefusesWrongKeyOrIvLength) {
  const auto aead = Aead::make(20, 256);
  const std::vector<uint8_t> key(36, 1), iv(8, 2), msg(5, 3);
  std::vector<uint8_t> out;
  ASSERT_TRUE(aead->seal(key, iv, {}, msg, out));
  const std::vector<uint8_t> sealed = out;
  std::vector<uint8_t> short_key(key.begin(), key.end() - 1), long_iv(9, 2);
  out.clear();
  EXPECT_FALSE(aead->seal(short_key, iv, {}, msg, out));
  EXPECT_FALSE(aead->seal(key, long_iv, {}, msg, out));
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(aead->open(short_key, iv, {}, sealed, out));
  EXPECT_FALSE(aead->open(key, iv, {}, std::span(sealed).first(15), out));
  ASSERT_TRUE(aead->open(key, iv, {}, sealed, out));
  EXPECT_EQ(out, msg);
  // The salt is part of the nonce: changing only it must break the ICV.
  std::vector<uint8_t> other_salt = key;
  other_salt.back() ^= 1;
  EXPECT_FALSE(aead->open(other_salt, iv, {}, sealed, out));
}

// run_mac_file checks Prf::compute against the full-length tags: IKE's
// PRFs are untruncated HMACs (RFC 4868 section 2.1.2).
void run_mac_file(const std::string& file, uint16_t prf_id) {
  const auto prf = Prf::make(prf_id);
  ASSERT_NE(prf, nullptr);
  int valid = 0, invalid = 0;
  const nlohmann::json doc = wycheproof_file(file);
  for (const auto& g : doc.at("testGroups")) {
    if (g.at("tagSize").get<size_t>() != prf->size() * 8) continue;
    for (const auto& t : g.at("tests")) {
      SCOPED_TRACE(file + " tcId " + std::to_string(t.at("tcId").get<int>()));
      const auto got = prf->compute(unhex(t.at("key").get<std::string>()),
                                    unhex(t.at("msg").get<std::string>()));
      const std::string want = t.at("tag");
      if (t.at("result") == "valid") {
        ++valid;
        EXPECT_EQ(hex(got.span()), want);
      } else {
        ++invalid;
        EXPECT_EQ(got.size(), prf->size());
        EXPECT_NE(hex(got.span()), want);
      }
    }
  }
  EXPECT_GT(valid, 20);
  EXPECT_GT(invalid, 20);
}

TEST(IkePrf, HmacSha256Wycheproof) { run_mac_file("hmac_sha256_test.json", 5); }
TEST(IkePrf, HmacSha384Wycheproof) { run_mac_file("hmac_sha384_test.json", 6); }
TEST(IkePrf, HmacSha512Wycheproof) { run_mac_file("hmac_sha512_test.json", 7); }

}  // namespace
}  // namespace portcullis::kat::ike
