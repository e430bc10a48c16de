// aead_kat_test.cc: AES-GCM (RFC 4106) and ChaCha20-Poly1305 (RFC 7634)
// through Engine::seal_burst and open_burst, checked against Wycheproof:
// every vector alone, then all of them in bursts that mix suites and keys.
//
// A valid vector must seal to exactly ct || tag and open to msg. An invalid
// one must fail to open, and sealing its msg must not reproduce its ct ||
// tag (so a rejection is for the tag, not because the job was refused). An
// "acceptable" one may open or not, but if it opens it must yield msg.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "crypto/engine.h"
#include "crypto/key_schedule.h"
#include "tests/kat/wycheproof.h"

namespace portcullis::kat {
namespace {

using crypto::CryptoOp;
using crypto::Engine;
using crypto::Integ;
using crypto::KeySchedule;
using crypto::Suite;

constexpr size_t kTagLen = 16;
// kGuard follows the text in every buffer: in-place ciphering of cipher_len
// bytes must not touch it.
constexpr uint8_t kGuard = 0xa5;

// aead_schedule passes key || salt, the salt being the nonce's first four
// bytes (RFC 4106 section 8.1); the engine itself reads the whole 12-byte
// nonce from op.iv.
std::unique_ptr<KeySchedule> aead_schedule(Engine& eng, const AeadVector& v, std::string* err) {
  std::vector<uint8_t> key_salt = v.key;
  key_salt.insert(key_salt.end(), v.iv.begin(), v.iv.begin() + 4);
  return KeySchedule::create(eng, Suite{v.cipher, Integ::kNone}, key_salt, {}, err);
}

// make_op copies `text` (msg to seal, ct to open) and a guard byte into
// buf. buf is never empty, so op.data is a real pointer even for an empty
// message, as it always is for a packet.
CryptoOp make_op(const AeadVector& v, const KeySchedule& ks, const std::vector<uint8_t>& text,
                 bool seal, std::vector<uint8_t>& buf) {
  buf = text;
  buf.push_back(kGuard);
  CryptoOp op{};
  op.ks = &ks;
  op.data = buf.data();
  op.cipher_offset = 0;
  op.cipher_len = static_cast<uint32_t>(text.size());
  // Wycheproof's AAD runs to 513 bytes, more than ESP's 8 or 12 (RFC 4106
  // section 5) that fit in aad_buf, so point at the vector's own bytes.
  op.aad = v.aad.data();
  op.aad_len = static_cast<uint32_t>(v.aad.size());
  op.tag_len = kTagLen;
  std::memcpy(op.iv, v.iv.data(), v.iv.size());
  if (!seal) op.expected_tag = v.tag.data();
  return op;
}

std::string text_hex(const std::vector<uint8_t>& buf) {
  return hex(std::span(buf).first(buf.size() - 1));
}

::testing::AssertionResult check_seal(const AeadVector& v, const CryptoOp& op,
                                      const std::vector<uint8_t>& buf) {
  auto fail = [&] { return ::testing::AssertionFailure() << "seal tcId " << v.tc_id << ": "; };
  if (!op.ok) return fail() << "the engine did not complete the job";
  if (buf.back() != kGuard) return fail() << "wrote past cipher_len";
  const std::string got = text_hex(buf) + "|" + hex(std::span(op.tag, kTagLen));
  const std::string want = hex(v.ct) + "|" + hex(v.tag);
  if (v.result == Result::kValid && got != want) {
    return fail() << "ct|tag\n  got  " << got << "\n  want " << want;
  }
  if (v.result == Result::kInvalid && got == want) {
    return fail() << "a correct seal reproduced an invalid vector's ct|tag";
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult check_open(const AeadVector& v, const CryptoOp& op,
                                      const std::vector<uint8_t>& buf) {
  auto fail = [&] { return ::testing::AssertionFailure() << "open tcId " << v.tc_id << ": "; };
  if (buf.back() != kGuard) return fail() << "wrote past cipher_len";
  switch (v.result) {
    case Result::kValid:
      if (!op.ok) return fail() << "valid vector rejected (" << v.comment << ")";
      break;
    case Result::kInvalid:
      if (op.ok) return fail() << "invalid vector accepted (" << v.comment << ")";
      return ::testing::AssertionSuccess();
    case Result::kAcceptable:
      if (!op.ok) return ::testing::AssertionSuccess();
      break;
  }
  if (text_hex(buf) != hex(v.msg)) {
    return fail() << "msg\n  got  " << text_hex(buf) << "\n  want " << hex(v.msg);
  }
  return ::testing::AssertionSuccess();
}

class AeadVectorTest : public ::testing::TestWithParam<AeadVector> {};

TEST_P(AeadVectorTest, SealThenOpen) {
  const AeadVector& v = GetParam();
  Engine* eng = test_engine();
  ASSERT_NE(eng, nullptr) << engine_error();
  std::string err;
  const auto ks = aead_schedule(*eng, v, &err);
  ASSERT_NE(ks, nullptr) << err;

  std::vector<uint8_t> buf;
  CryptoOp op = make_op(v, *ks, v.msg, true, buf);
  EXPECT_EQ(eng->seal_burst(std::span(&op, 1)), 1u);
  EXPECT_TRUE(check_seal(v, op, buf));

  op = make_op(v, *ks, v.ct, false, buf);
  const size_t good = eng->open_burst(std::span(&op, 1));
  EXPECT_EQ(good, op.ok ? 1u : 0u) << "open_burst's count disagrees with op.ok";
  EXPECT_TRUE(check_open(v, op, buf));
}

std::string aead_test_name(const ::testing::TestParamInfo<AeadVector>& info) {
  return "tc" + std::to_string(info.param.tc_id) + "_" +
         std::string(result_name(info.param.result));
}

INSTANTIATE_TEST_SUITE_P(AesGcm, AeadVectorTest, ::testing::ValuesIn(aes_gcm_file().vectors),
                         aead_test_name);
INSTANTIATE_TEST_SUITE_P(Chacha20Poly1305, AeadVectorTest,
                         ::testing::ValuesIn(chacha20_poly1305_file().vectors), aead_test_name);

// mixed_vectors interleaves both files, so that neighbouring ops in a burst
// differ in suite, key, length and outcome.
std::vector<const AeadVector*> mixed_vectors() {
  const auto& gcm = aes_gcm_file().vectors;
  const auto& chacha = chacha20_poly1305_file().vectors;
  std::vector<const AeadVector*> out;
  for (size_t i = 0; i < std::max(gcm.size(), chacha.size()); i++) {
    if (i < gcm.size()) out.push_back(&gcm[i]);
    if (i < chacha.size()) out.push_back(&chacha[i]);
  }
  return out;
}

// run_in_bursts seals then opens every vector, `burst` ops per engine call.
void run_in_bursts(size_t burst) {
  Engine* eng = test_engine();
  ASSERT_NE(eng, nullptr) << engine_error();
  const std::vector<const AeadVector*> all = mixed_vectors();
  ASSERT_FALSE(all.empty()) << "no AEAD vectors loaded; see FilesTest";
  std::vector<std::unique_ptr<KeySchedule>> schedules;
  for (const AeadVector* v : all) {
    std::string err;
    schedules.push_back(aead_schedule(*eng, *v, &err));
    ASSERT_NE(schedules.back(), nullptr) << "tcId " << v->tc_id << ": " << err;
  }

  for (size_t start = 0; start < all.size(); start += burst) {
    const size_t n = std::min(burst, all.size() - start);
    std::vector<std::vector<uint8_t>> bufs(n);
    std::vector<CryptoOp> ops(n);
    for (size_t i = 0; i < n; i++) {
      ops[i] = make_op(*all[start + i], *schedules[start + i], all[start + i]->msg, true, bufs[i]);
    }
    EXPECT_EQ(eng->seal_burst(ops), n) << "burst at " << start;
    for (size_t i = 0; i < n; i++) EXPECT_TRUE(check_seal(*all[start + i], ops[i], bufs[i]));

    for (size_t i = 0; i < n; i++) {
      ops[i] = make_op(*all[start + i], *schedules[start + i], all[start + i]->ct, false, bufs[i]);
    }
    const size_t good = eng->open_burst(ops);
    EXPECT_EQ(good, static_cast<size_t>(std::count_if(ops.begin(), ops.end(),
                                                      [](const CryptoOp& op) { return op.ok; })))
        << "open_burst's count disagrees with the ops' ok flags, burst at " << start;
    for (size_t i = 0; i < n; i++) EXPECT_TRUE(check_open(*all[start + i], ops[i], bufs[i]));
  }
}

TEST(AeadBurstTest, MixedBurstsOf32) { run_in_bursts(32); }

// More ops than IMB_MAX_BURST_SIZE (128) in one call: the engine must split.
TEST(AeadBurstTest, EverythingInOneCall) { run_in_bursts(SIZE_MAX); }

// Engine::seal_burst promises that a job IPsec-MB refuses marks only its
// own op !ok. An op claiming AAD but pointing at none is refused
// (IMB_ERR_JOB_NULL_AAD); the valid ops around it, of both suites, must
// still seal and open correctly.
TEST(AeadBurstTest, RejectedOpLeavesNeighboursIntact) {
  Engine* eng = test_engine();
  ASSERT_NE(eng, nullptr) << engine_error();
  std::vector<const AeadVector*> vs;
  for (const AeadVector* v : mixed_vectors()) {
    if (v->result == Result::kValid && !v->msg.empty() && vs.size() < 8) vs.push_back(v);
  }
  ASSERT_EQ(vs.size(), 8u);
  std::vector<std::unique_ptr<KeySchedule>> schedules;
  for (const AeadVector* v : vs) {
    std::string err;
    schedules.push_back(aead_schedule(*eng, *v, &err));
    ASSERT_NE(schedules.back(), nullptr) << err;
  }
  constexpr size_t kBad = 4;  // the refused op's place in the burst
  for (const bool seal : {true, false}) {
    std::vector<std::vector<uint8_t>> bufs(vs.size() + 1);
    std::vector<CryptoOp> ops;
    for (size_t i = 0; i < vs.size(); i++) {
      const AeadVector& v = *vs[i];
      ops.push_back(make_op(v, *schedules[i], seal ? v.msg : v.ct, seal, bufs[i]));
    }
    const AeadVector& v0 = *vs[0];
    CryptoOp bad = make_op(v0, *schedules[0], seal ? v0.msg : v0.ct, seal, bufs.back());
    bad.aad = nullptr;
    bad.aad_len = 8;
    ops.insert(ops.begin() + kBad, bad);

    const size_t n = seal ? eng->seal_burst(ops) : eng->open_burst(ops);
    EXPECT_EQ(n, vs.size()) << (seal ? "seal" : "open") << ": the 8 good ops should succeed";
    EXPECT_FALSE(ops[kBad].ok);
    for (size_t i = 0; i < vs.size(); i++) {
      const CryptoOp& op = ops[i < kBad ? i : i + 1];
      EXPECT_TRUE(seal ? check_seal(*vs[i], op, bufs[i]) : check_open(*vs[i], op, bufs[i]));
    }
  }
}

}  // namespace
}  // namespace portcullis::kat
