// hmac_kat_test.cc: HMAC-SHA-256/384/512 (RFC 2104, truncated per RFC
// 4868) through HMAC-only key schedules, checked against Wycheproof: every
// vector alone, then all of them in bursts that mix the three hashes.
//
// A valid vector's tag must be the first tag_len bytes the engine computes,
// and must verify. An invalid one must not verify, and must not equal what
// the engine computes for its message (so a rejection is for the tag, not
// because the job was refused). "Acceptable" may go either way. Empty
// messages are the exception: IPsec-MB refuses them, and so must we.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
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

// kGuard follows the message: an HMAC-only op must not write to the data.
constexpr uint8_t kGuard = 0xa5;

// make_op copies the message and a guard byte into buf. buf is never empty,
// so op.data is a real pointer even for an empty message.
CryptoOp make_op(const MacVector& v, const KeySchedule& ks, bool seal, std::vector<uint8_t>& buf) {
  buf = v.msg;
  buf.push_back(kGuard);
  CryptoOp op{};
  op.ks = &ks;
  op.data = buf.data();
  op.cipher_len = 0;
  op.auth_offset = 0;
  op.auth_len = static_cast<uint32_t>(v.msg.size());
  op.tag_len = v.tag_len;
  if (!seal) op.expected_tag = v.tag.data();
  return op;
}

::testing::AssertionResult data_untouched(const MacVector& v, const std::vector<uint8_t>& buf) {
  if (buf.back() != kGuard || !std::equal(v.msg.begin(), v.msg.end(), buf.begin())) {
    return ::testing::AssertionFailure() << "tcId " << v.tc_id << ": the HMAC op wrote to data";
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult check_seal(const MacVector& v, const CryptoOp& op,
                                      const std::vector<uint8_t>& buf) {
  auto fail = [&] { return ::testing::AssertionFailure() << "seal tcId " << v.tc_id << ": "; };
  // IPsec-MB 1.3 refuses zero-length HMAC jobs (crypto/engine.h); ESP
  // never hashes fewer than its 8-byte header. Such vectors must be
  // refused outright, never answered with a tag.
  if (v.msg.empty()) {
    if (op.ok) return fail() << "an empty-message HMAC job completed: IPsec-MB changed; update";
    return ::testing::AssertionSuccess();
  }
  if (!op.ok) {
    return fail() << "the engine did not complete the job (" << v.msg.size() << "-byte message)";
  }
  if (auto r = data_untouched(v, buf); !r) return r;
  const std::string got = hex(std::span(op.tag, v.tag_len));
  if (v.result == Result::kValid && got != hex(v.tag)) {
    return fail() << "tag\n  got  " << got << "\n  want " << hex(v.tag);
  }
  if (v.result == Result::kInvalid && got == hex(v.tag)) {
    return fail() << "the engine computed an invalid vector's tag";
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult check_open(const MacVector& v, const CryptoOp& op,
                                      const std::vector<uint8_t>& buf) {
  auto fail = [&] { return ::testing::AssertionFailure() << "open tcId " << v.tc_id << ": "; };
  // IPsec-MB 1.3 refuses zero-length HMAC jobs (crypto/engine.h); ESP
  // never hashes fewer than its 8-byte header. Such vectors must be
  // refused outright, never answered with a tag.
  if (v.msg.empty()) {
    if (op.ok) return fail() << "an empty-message HMAC job completed: IPsec-MB changed; update";
    return ::testing::AssertionSuccess();
  }
  if (auto r = data_untouched(v, buf); !r) return r;
  if (v.result == Result::kValid && !op.ok) {
    return fail() << "valid tag rejected (" << v.msg.size() << "-byte message, " << v.comment
                  << ")";
  }
  if (v.result == Result::kInvalid && op.ok) return fail() << "invalid tag accepted";
  return ::testing::AssertionSuccess();
}

class MacVectorTest : public ::testing::TestWithParam<MacVector> {};

TEST_P(MacVectorTest, SignThenVerify) {
  const MacVector& v = GetParam();
  Engine* eng = test_engine();
  ASSERT_NE(eng, nullptr) << engine_error();
  const auto ks = KeySchedule::create_hmac(*eng, v.integ, v.key);
  ASSERT_NE(ks, nullptr);

  std::vector<uint8_t> buf;
  CryptoOp op = make_op(v, *ks, true, buf);
  EXPECT_EQ(eng->seal_burst(std::span(&op, 1)), v.msg.empty() ? 0u : 1u);
  EXPECT_TRUE(check_seal(v, op, buf));

  op = make_op(v, *ks, false, buf);
  const size_t good = eng->open_burst(std::span(&op, 1));
  EXPECT_EQ(good, op.ok ? 1u : 0u) << "open_burst's count disagrees with op.ok";
  EXPECT_TRUE(check_open(v, op, buf));
}

std::string mac_test_name(const ::testing::TestParamInfo<MacVector>& info) {
  return "tc" + std::to_string(info.param.tc_id) + "_" +
         std::string(result_name(info.param.result));
}

INSTANTIATE_TEST_SUITE_P(HmacSha256, MacVectorTest,
                         ::testing::ValuesIn(hmac_file(Integ::kHmacSha256_128).vectors),
                         mac_test_name);
INSTANTIATE_TEST_SUITE_P(HmacSha384, MacVectorTest,
                         ::testing::ValuesIn(hmac_file(Integ::kHmacSha384_192).vectors),
                         mac_test_name);
INSTANTIATE_TEST_SUITE_P(HmacSha512, MacVectorTest,
                         ::testing::ValuesIn(hmac_file(Integ::kHmacSha512_256).vectors),
                         mac_test_name);

// mixed_vectors interleaves the three files. Empty messages are left out:
// IPsec-MB refuses an HMAC job over zero bytes, which MacVectorTest reports
// for each such vector and RejectedOpLeavesNeighboursIntact covers in a
// burst; here they would only hide other failures.
std::vector<const MacVector*> mixed_vectors(int* left_out) {
  const std::vector<const std::vector<MacVector>*> files = {
      &hmac_file(Integ::kHmacSha256_128).vectors,
      &hmac_file(Integ::kHmacSha384_192).vectors,
      &hmac_file(Integ::kHmacSha512_256).vectors,
  };
  size_t longest = 0;
  for (const auto* f : files) longest = std::max(longest, f->size());
  std::vector<const MacVector*> out;
  *left_out = 0;
  for (size_t i = 0; i < longest; i++) {
    for (const auto* f : files) {
      if (i >= f->size()) continue;
      if ((*f)[i].msg.empty()) {
        (*left_out)++;
      } else {
        out.push_back(&(*f)[i]);
      }
    }
  }
  return out;
}

// run_ops seals then verifies `vs` in one engine call each, and checks
// every op.
void run_ops(Engine& eng, std::span<const MacVector* const> vs,
             std::span<const std::unique_ptr<KeySchedule>> schedules, const std::string& where) {
  const size_t n = vs.size();
  std::vector<std::vector<uint8_t>> bufs(n);
  std::vector<CryptoOp> ops(n);
  for (size_t i = 0; i < n; i++) ops[i] = make_op(*vs[i], *schedules[i], true, bufs[i]);
  EXPECT_EQ(eng.seal_burst(ops), n) << where;
  for (size_t i = 0; i < n; i++) EXPECT_TRUE(check_seal(*vs[i], ops[i], bufs[i])) << where;

  for (size_t i = 0; i < n; i++) ops[i] = make_op(*vs[i], *schedules[i], false, bufs[i]);
  const size_t good = eng.open_burst(ops);
  EXPECT_EQ(good, static_cast<size_t>(std::count_if(ops.begin(), ops.end(),
                                                    [](const CryptoOp& op) { return op.ok; })))
      << "open_burst's count disagrees with the ops' ok flags, " << where;
  for (size_t i = 0; i < n; i++) EXPECT_TRUE(check_open(*vs[i], ops[i], bufs[i])) << where;
}

void run_in_bursts(size_t burst) {
  Engine* eng = test_engine();
  ASSERT_NE(eng, nullptr) << engine_error();
  int left_out = 0;
  const std::vector<const MacVector*> all = mixed_vectors(&left_out);
  ASSERT_FALSE(all.empty()) << "no HMAC vectors loaded; see FilesTest";
  std::printf("[   NOTE   ] %d empty-message vectors left out of bursts\n", left_out);
  std::vector<std::unique_ptr<KeySchedule>> schedules;
  for (const MacVector* v : all) {
    schedules.push_back(KeySchedule::create_hmac(*eng, v->integ, v->key));
  }

  for (size_t start = 0; start < all.size(); start += burst) {
    const size_t n = std::min(burst, all.size() - start);
    run_ops(*eng, std::span(all).subspan(start, n), std::span(schedules).subspan(start, n),
            "burst at " + std::to_string(start));
  }
}

TEST(MacBurstTest, MixedBurstsOf32) { run_in_bursts(32); }

// More ops than IMB_MAX_BURST_SIZE (128) in one call: the engine must split.
TEST(MacBurstTest, EverythingInOneCall) { run_in_bursts(SIZE_MAX); }

// Engine::seal_burst promises that a job IPsec-MB refuses marks only its
// own op !ok. An HMAC over zero bytes is such a job; the valid ops around it
// must still complete, with the right tags, and verify.
TEST(MacBurstTest, RejectedOpLeavesNeighboursIntact) {
  Engine* eng = test_engine();
  ASSERT_NE(eng, nullptr) << engine_error();
  std::vector<const MacVector*> vs;
  const MacVector* empty = nullptr;
  for (const MacVector& v : hmac_file(Integ::kHmacSha256_128).vectors) {
    if (v.msg.empty() && empty == nullptr) empty = &v;
    if (!v.msg.empty() && v.result == Result::kValid && vs.size() < 8) vs.push_back(&v);
  }
  ASSERT_NE(empty, nullptr) << "hmac_sha256_test.json has no empty message any more";
  ASSERT_EQ(vs.size(), 8u);
  vs.insert(vs.begin() + 4, empty);

  std::vector<std::unique_ptr<KeySchedule>> schedules;
  for (const MacVector* v : vs) {
    schedules.push_back(KeySchedule::create_hmac(*eng, v->integ, v->key));
  }
  std::vector<std::vector<uint8_t>> bufs(vs.size());
  std::vector<CryptoOp> ops(vs.size());
  for (size_t i = 0; i < vs.size(); i++) ops[i] = make_op(*vs[i], *schedules[i], true, bufs[i]);
  EXPECT_EQ(eng->seal_burst(ops), 8u) << "the 8 non-empty ops should complete";
  for (size_t i = 0; i < vs.size(); i++) {
    if (vs[i] == empty) continue;
    EXPECT_TRUE(check_seal(*vs[i], ops[i], bufs[i])) << "op " << i << " of 9";
  }
  for (size_t i = 0; i < vs.size(); i++) ops[i] = make_op(*vs[i], *schedules[i], false, bufs[i]);
  EXPECT_EQ(eng->open_burst(ops), 8u) << "the 8 non-empty ops should verify";
  for (size_t i = 0; i < vs.size(); i++) {
    if (vs[i] == empty) continue;
    EXPECT_TRUE(check_open(*vs[i], ops[i], bufs[i])) << "op " << i << " of 9";
  }
}

}  // namespace
}  // namespace portcullis::kat
