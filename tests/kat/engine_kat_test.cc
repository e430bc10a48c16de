// engine_kat_test.cc: the checks the known-answer tests stand on: the
// vector files are there and cover every group, the engine starts, and key
// schedules refuse keys of the wrong size with a message that says what to
// fix.
#include <gtest/gtest.h>

#include <bit>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "crypto/engine.h"
#include "crypto/key_schedule.h"
#include "crypto/suite.h"
#include "tests/kat/wycheproof.h"

namespace portcullis::kat {
namespace {

using crypto::Cipher;
using crypto::CryptoOp;
using crypto::Engine;
using crypto::Integ;
using crypto::KeySchedule;
using crypto::Suite;

// report prints what a file contributed and returns how many vectors of
// each (kind, result) were exercised, kind being what `kind_of` says.
template <typename File, typename KindOf>
std::map<std::pair<std::string, Result>, int> report(const char* name, const File& file,
                                                     KindOf kind_of) {
  std::map<std::pair<std::string, Result>, int> counts;
  for (const auto& v : file.vectors) counts[{kind_of(v), v.result}]++;
  std::printf("[ COVERAGE ] %s: %d in file, %zu exercised\n", name, file.total,
              file.vectors.size());
  for (const auto& [key, n] : counts) {
    std::printf("[ COVERAGE ]   %-22s %-10s %d\n", key.first.c_str(),
                std::string(result_name(key.second)).c_str(), n);
  }
  for (const auto& [reason, n] : file.excluded_by_reason()) {
    std::printf("[ COVERAGE ]   excluded: %s: %d\n", reason.c_str(), n);
  }
  return counts;
}

// aead_kind splits off AAD longer than ESP's, which the engine takes only
// through the op.aad pointer, not in aad_buf.
std::string aead_kind(const AeadVector& v) {
  std::string kind(Suite{v.cipher, Integ::kNone}.name());
  if (v.aad.size() > sizeof(CryptoOp::aad_buf)) kind += " aad>16";
  return kind;
}

std::string mac_kind(const MacVector& v) { return std::to_string(v.tag_len * 8) + "-bit tag"; }

// Missing or unreadable vectors fail the run: a KAT that silently runs
// nothing would pass on a machine without the shared directory.
TEST(FilesTest, EveryVectorFileLoads) {
  const std::vector<std::pair<const char*, std::string>> errors = {
      {"aes_gcm", aes_gcm_file().error},
      {"chacha20_poly1305", chacha20_poly1305_file().error},
      {"hmac_sha256", hmac_file(Integ::kHmacSha256_128).error},
      {"hmac_sha384", hmac_file(Integ::kHmacSha384_192).error},
      {"hmac_sha512", hmac_file(Integ::kHmacSha512_256).error},
  };
  for (const auto& [name, error] : errors) EXPECT_EQ(error, "") << name;
}

// The floors sit a little under today's counts (133, 316, 174 x 3), so a
// loader change that drops a group shows up here, not as fewer tests.
TEST(FilesTest, AesGcmCoverage) {
  auto c = report("aes_gcm_test.json", aes_gcm_file(), aead_kind);
  EXPECT_GE(aes_gcm_file().vectors.size(), 120u);
  for (const char* kind : {"aes128gcm16", "aes256gcm16"}) {
    EXPECT_GT((c[{kind, Result::kValid}]), 0) << kind;
    EXPECT_GT((c[{kind, Result::kInvalid}]), 0) << kind;
    EXPECT_GT((c[{std::string(kind) + " aad>16", Result::kValid}]), 0) << kind;
  }
}

TEST(FilesTest, Chacha20Poly1305Coverage) {
  const AeadFile& file = chacha20_poly1305_file();
  auto c = report("chacha20_poly1305_test.json", file, aead_kind);
  EXPECT_GE(file.vectors.size(), 300u);
  EXPECT_GT((c[{"chacha20poly1305", Result::kValid}]), 0);
  EXPECT_GT((c[{"chacha20poly1305", Result::kInvalid}]), 0);
  EXPECT_GT((c[{"chacha20poly1305 aad>16", Result::kValid}]), 0);
  // The only exclusions are nonces that are not 96 bits. CryptoOp cannot
  // express them, so the engine rejects them by construction; that loses
  // nothing only while every one of them is meant to be rejected.
  for (const Excluded& e : file.excluded) {
    EXPECT_EQ(e.result, Result::kInvalid) << "tcId " << e.tc_id << ": " << e.reason;
  }
}

TEST(FilesTest, HmacCoverage) {
  const std::vector<std::pair<const char*, Integ>> files = {
      {"hmac_sha256_test.json", Integ::kHmacSha256_128},
      {"hmac_sha384_test.json", Integ::kHmacSha384_192},
      {"hmac_sha512_test.json", Integ::kHmacSha512_256},
  };
  for (const auto& [name, integ] : files) {
    const MacFile& file = hmac_file(integ);
    auto c = report(name, file, mac_kind);
    EXPECT_GE(file.vectors.size(), 170u) << name;
    // Each file has a full-length and an RFC 4868 half-length tag group.
    const uint32_t half = Suite{Cipher::kAes128Cbc, integ}.icv_len();
    for (uint32_t tag_len : {half, 2 * half}) {
      const std::string kind = std::to_string(tag_len * 8) + "-bit tag";
      EXPECT_GT((c[{kind, Result::kValid}]), 0) << name << " " << kind;
      EXPECT_GT((c[{kind, Result::kInvalid}]), 0) << name << " " << kind;
    }
  }
}

TEST(EngineTest, StartsAndNamesItsCodePath) {
  std::string err;
  const auto eng = Engine::create(&err);
  ASSERT_NE(eng, nullptr) << err;
  EXPECT_NE(eng->mgr(), nullptr);
  const std::string_view arch = eng->arch_name();
  EXPECT_FALSE(arch.empty());
  EXPECT_TRUE(arch == "SSE" || arch == "AVX" || arch == "AVX2" || arch == "AVX512") << arch;
}

TEST(EngineTest, EmptyBurstDoesNothing) {
  Engine* eng = test_engine();
  ASSERT_NE(eng, nullptr) << engine_error();
  EXPECT_EQ(eng->seal_burst({}), 0u);
  EXPECT_EQ(eng->open_burst({}), 0u);
}

struct BadKey {
  Suite suite;
  size_t cipher_key_len;
  size_t auth_key_len;
  std::string want_in_error;  // the size the message must name
};

TEST(KeyScheduleTest, RejectsWrongKeySizesNamingTheExpectedSize) {
  Engine* eng = test_engine();
  ASSERT_NE(eng, nullptr) << engine_error();
  const std::vector<BadKey> cases = {
      // The AEAD salt forgotten: the most likely mistake.
      {{Cipher::kAes128Gcm, Integ::kNone}, 16, 0, "20-byte"},
      {{Cipher::kAes256Gcm, Integ::kNone}, 32, 0, "36-byte"},
      {{Cipher::kChacha20Poly1305, Integ::kNone}, 32, 0, "36-byte"},
      {{Cipher::kAes128Gcm, Integ::kNone}, 36, 0, "20-byte"},
      {{Cipher::kAes128Cbc, Integ::kHmacSha256_128}, 32, 32, "16-byte"},
      {{Cipher::kAes256Cbc, Integ::kHmacSha256_128}, 32, 16, "32-byte integrity"},
      {{Cipher::kAes128Cbc, Integ::kHmacSha384_192}, 16, 32, "48-byte integrity"},
      {{Cipher::kAes256Cbc, Integ::kHmacSha512_256}, 32, 48, "64-byte integrity"},
  };
  for (const BadKey& c : cases) {
    const std::vector<uint8_t> cipher_key(c.cipher_key_len, 0x11), auth_key(c.auth_key_len, 0x22);
    std::string err;
    const auto ks = KeySchedule::create(*eng, c.suite, cipher_key, auth_key, &err);
    EXPECT_EQ(ks, nullptr) << c.suite.name() << " accepted a " << c.cipher_key_len << "+"
                           << c.auth_key_len << "-byte key";
    EXPECT_NE(err.find(c.want_in_error), std::string::npos)
        << c.suite.name() << ": \"" << err << "\" does not say \"" << c.want_in_error << "\"";
  }
}

// kEverySuite: each cipher once, the CBC ones with two different HMACs.
constexpr Suite kEverySuite[] = {
    {Cipher::kAes128Gcm, Integ::kNone},           {Cipher::kAes256Gcm, Integ::kNone},
    {Cipher::kChacha20Poly1305, Integ::kNone},    {Cipher::kAes128Cbc, Integ::kHmacSha256_128},
    {Cipher::kAes256Cbc, Integ::kHmacSha512_256},
};

TEST(KeyScheduleTest, AcceptsTheRightSizes) {
  Engine* eng = test_engine();
  ASSERT_NE(eng, nullptr) << engine_error();
  for (const Suite suite : kEverySuite) {
    // The salt, when there is one, is the last four bytes: 5a 5b 5c 5d.
    std::vector<uint8_t> cipher_key(suite.cipher_key_len(), 0x11);
    for (uint8_t i = 0; i < suite.salt_len(); i++) cipher_key.push_back(0x5a + i);
    const std::vector<uint8_t> auth_key(suite.auth_key_len(), 0x22);
    std::string err;
    const auto ks = KeySchedule::create(*eng, suite, cipher_key, auth_key, &err);
    ASSERT_NE(ks, nullptr) << suite.name() << ": " << err;
    EXPECT_EQ(ks->suite(), suite);
    if (suite.is_aead()) {
      EXPECT_EQ(hex(std::span(ks->salt(), 4)), "5a5b5c5d") << suite.name();
    }
  }
}

TEST(KeyScheduleTest, RejectsAnAeadWithAnIntegrityAlgorithm) {
  Engine* eng = test_engine();
  ASSERT_NE(eng, nullptr) << engine_error();
  const std::vector<uint8_t> key(20, 0x11), auth(32, 0x22);
  std::string err;
  EXPECT_EQ(
      KeySchedule::create(*eng, Suite{Cipher::kAes128Gcm, Integ::kHmacSha256_128}, key, auth, &err),
      nullptr);
  EXPECT_NE(err.find("invalid suite"), std::string::npos) << err;
}

// run_short seals (or opens) one packet of len bytes with ks and returns
// the text and tag it produced, in hex. Opening checks against a zero tag,
// so it fails, but the text is decrypted and the tag computed all the same.
std::string run_short(Engine& eng, const KeySchedule& ks, uint32_t len, bool seal) {
  const Suite suite = ks.suite();
  std::vector<uint8_t> buf(8 + 16 + len + 64);
  for (size_t i = 0; i < buf.size(); i++) buf[i] = static_cast<uint8_t>(i * 7);
  const std::vector<uint8_t> zero_tag(64, 0);
  CryptoOp op{};
  op.ks = &ks;
  op.data = buf.data();
  op.cipher_offset = 8 + suite.iv_len();
  op.cipher_len = len;
  op.tag_len = suite.icv_len();
  if (suite.is_aead()) {
    for (uint8_t i = 0; i < 12; i++) op.iv[i] = static_cast<uint8_t>(0xa0 + i);
    op.aad = buf.data();
    op.aad_len = 8;
  } else {
    for (uint8_t i = 0; i < 16; i++) op.iv[i] = static_cast<uint8_t>(0xa0 + i);
    op.auth_offset = 0;
    op.auth_len = 8 + 16 + len;
  }
  if (!seal) op.expected_tag = zero_tag.data();
  if (seal) {
    eng.seal_burst(std::span(&op, 1));
  } else {
    eng.open_burst(std::span(&op, 1));
  }
  return hex(std::span<const uint8_t>(buf.data() + op.cipher_offset, len)) + "|" +
         hex(std::span<const uint8_t>(op.tag, op.tag_len));
}

// hot_lines is what the workers prefetch of a cold SA's key schedule. It
// must name every line IPsec-MB reads for a short packet: garbage in all
// the other lines changes nothing for packets of up to 64 bytes. And it
// must be no more than that, which the line counts check (5 of 16 for
// AES-128-GCM with VAES). A flipped bit in the hot lines does change the
// output, so the check can fail.
TEST(KeyScheduleTest, HotLinesAreWhatAShortPacketReads) {
  Engine* eng = test_engine();
  ASSERT_NE(eng, nullptr) << engine_error();
  for (const Suite suite : kEverySuite) {
    for (const bool seal : {true, false}) {
      std::vector<uint8_t> cipher_key(suite.cipher_key_len() + suite.salt_len());
      for (size_t i = 0; i < cipher_key.size(); i++) cipher_key[i] = static_cast<uint8_t>(i + 1);
      const std::vector<uint8_t> auth_key(suite.auth_key_len(), 0x22);
      std::string err;
      const auto ks = KeySchedule::create(*eng, suite, cipher_key, auth_key, &err);
      ASSERT_NE(ks, nullptr) << err;
      const uint32_t hot = ks->hot_lines(!seal);
      const std::string what = std::string(suite.name()) + (seal ? " seal" : " open");
      ASSERT_NE(hot, 0u) << what;
      const std::vector<uint32_t> lens = {16, 48, 64};  // CBC: whole blocks
      std::vector<std::string> want;
      for (const uint32_t len : lens) want.push_back(run_short(*eng, *ks, len, seal));
      auto* bytes = reinterpret_cast<uint8_t*>(ks.get());
      for (size_t line = 0; line * 64 < sizeof(KeySchedule); line++) {
        if ((hot >> line & 1u) != 0) continue;
        std::memset(bytes + line * 64, 0xe7, std::min<size_t>(64, sizeof(KeySchedule) - line * 64));
      }
      for (size_t i = 0; i < lens.size(); i++) {
        EXPECT_EQ(run_short(*eng, *ks, lens[i], seal), want[i])
            << what << ", " << lens[i] << " bytes: reads a line outside hot_lines " << std::hex
            << hot;
      }
      // Flipping a bit in every hot line but the last (the suite and salt),
      // which hold the keys, must change the output.
      const size_t last = 31 - static_cast<size_t>(std::countl_zero(hot));
      for (size_t line = 0; line < last; line++) {
        if ((hot >> line & 1u) != 0) bytes[line * 64 + 8] ^= 0x01;
      }
      EXPECT_NE(run_short(*eng, *ks, 64, seal), want[2]) << what;
      const int n = std::popcount(hot);
      if (suite.cipher == Cipher::kChacha20Poly1305) {
        EXPECT_EQ(n, 2) << what << ": the key, and the salt with the suite";
      } else if (suite.cipher == Cipher::kAes128Gcm && eng->arch_name() == "AVX512") {
        EXPECT_LE(n, 6) << what;
        EXPECT_EQ(hot & 8u, 0u) << what << ": AES-128 has no fourth line of round keys";
      }
    }
  }
}

}  // namespace
}  // namespace portcullis::kat
