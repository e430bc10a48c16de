#include "crypto/engine.h"

#include <intel-ipsec-mb.h>

#include <algorithm>
#include <cstdio>
#include <mutex>

#include "crypto/key_schedule.h"

namespace portcullis::crypto {
namespace {

std::string_view arch_to_name(IMB_ARCH arch) {
  switch (arch) {
    case IMB_ARCH_SSE:
      return "SSE";
    case IMB_ARCH_AVX:
      return "AVX";
    case IMB_ARCH_AVX2:
      return "AVX2";
    case IMB_ARCH_AVX512:
      return "AVX512";
    default:
      return "none";
  }
}

constexpr uint32_t kMinTagLen = 16;
// Longest message or AAD an op may describe; far above any packet.
constexpr uint32_t kMaxLen = 1u << 20;

// tags_equal compares in constant time: how many bytes match must not leak.
inline bool tags_equal(const uint8_t* a, const uint8_t* b, uint32_t n) {
  uint8_t diff = 0;
  for (uint32_t i = 0; i < n; i++) diff |= a[i] ^ b[i];
  return diff == 0;
}

// hmac_job_tag_len is the tag length IPsec-MB is asked for: the RFC 4868
// truncation when that is what the caller wants, else the full digest
// (and the caller's prefix is compared).
inline uint32_t hmac_job_tag_len(Integ integ, uint32_t want) {
  switch (integ) {
    case Integ::kHmacSha256_128:
      return want == 16 ? 16 : 32;
    case Integ::kHmacSha384_192:
      return want == 24 ? 24 : 48;
    case Integ::kHmacSha512_256:
      return want == 32 ? 32 : 64;
    case Integ::kNone:
      break;
  }
  return want;
}

// finish_job sets the op's ok flag from a job IPsec-MB has returned.
inline bool finish_job(const IMB_JOB* job, bool seal) {
  auto* op = static_cast<CryptoOp*>(job->user_data);
  if (job->status != IMB_STATUS_COMPLETED) return false;
  // No ICV shorter than 16 bytes exists in the suites (RFC 4106, 7634,
  // 4868); a shorter compare would let forgeries through.
  op->ok = seal || (op->tag_len >= kMinTagLen && op->tag_len <= job->auth_tag_output_len_in_bytes &&
                    tags_equal(op->tag, op->expected_tag, op->tag_len));
  return op->ok;
}

// digest_len is the untruncated HMAC output: RFC 4868 section 2.1.1 makes
// the key as long as the digest, so the suite's key length is the answer.
inline uint32_t digest_len(Integ integ) { return Suite{Cipher::kAes128Cbc, integ}.auth_key_len(); }

inline IMB_HASH_ALG hmac_alg(Integ integ) {
  switch (integ) {
    case Integ::kHmacSha384_192:
      return IMB_AUTH_HMAC_SHA_384;
    case Integ::kHmacSha512_256:
      return IMB_AUTH_HMAC_SHA_512;
    default:
      return IMB_AUTH_HMAC_SHA_256;
  }
}

}  // namespace

// op_valid is what IPsec-MB's checked submit would refuse, for the job
// shapes fill_job builds: a refused op fails alone instead of its burst.
bool Engine::op_valid(const CryptoOp& op, bool seal) {
  if (op.ks == nullptr || op.data == nullptr) return false;
  if (!seal && op.expected_tag == nullptr) return false;
  if (op.cipher_len > kMaxLen || op.auth_len > kMaxLen || op.tag_len == 0) return false;
  const KeySchedule& ks = *op.ks;
  if (ks.hmac_only_) return op.auth_len != 0 && op.tag_len <= digest_len(ks.suite_.integ);
  if (ks.suite_.is_aead()) {
    return op.tag_len <= 16 && op.aad_len <= kMaxLen && (op.aad_len == 0 || op.aad != nullptr);
  }
  return op.cipher_len != 0 && op.cipher_len % 16 == 0 && op.auth_len != 0 &&
         op.tag_len <= digest_len(ks.suite_.integ);
}

void Engine::fill_job(IMB_JOB* job, CryptoOp& op, bool seal) {
  const KeySchedule& ks = *op.ks;
  const Suite suite = ks.suite_;
  job->src = op.data;
  job->dst = op.data + op.cipher_offset;
  job->cipher_start_src_offset_in_bytes = op.cipher_offset;
  job->msg_len_to_cipher_in_bytes = op.cipher_len;
  job->cipher_direction = seal ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
  job->chain_order = seal ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
  job->iv = op.iv;
  job->auth_tag_output = op.tag;
  job->user_data = &op;

  switch (suite.cipher) {
    case Cipher::kAes128Gcm:
    case Cipher::kAes256Gcm:
      job->cipher_mode = IMB_CIPHER_GCM;
      job->hash_alg = IMB_AUTH_AES_GMAC;
      job->key_len_in_bytes =
          suite.cipher == Cipher::kAes128Gcm ? IMB_KEY_128_BYTES : IMB_KEY_256_BYTES;
      job->enc_keys = &ks.gcm_;
      job->dec_keys = &ks.gcm_;
      job->iv_len_in_bytes = 12;
      job->hash_start_src_offset_in_bytes = op.cipher_offset;
      job->msg_len_to_hash_in_bytes = op.cipher_len;
      job->u.GCM.aad = op.aad;
      job->u.GCM.aad_len_in_bytes = op.aad_len;
      job->auth_tag_output_len_in_bytes = 16;
      break;
    case Cipher::kChacha20Poly1305:
      job->cipher_mode = IMB_CIPHER_CHACHA20_POLY1305;
      job->hash_alg = IMB_AUTH_CHACHA20_POLY1305;
      job->key_len_in_bytes = IMB_KEY_256_BYTES;
      job->enc_keys = ks.chacha_key_;
      job->dec_keys = ks.chacha_key_;
      job->iv_len_in_bytes = 12;
      job->hash_start_src_offset_in_bytes = op.cipher_offset;
      job->msg_len_to_hash_in_bytes = op.cipher_len;
      job->u.CHACHA20_POLY1305.aad = op.aad;
      job->u.CHACHA20_POLY1305.aad_len_in_bytes = op.aad_len;
      job->auth_tag_output_len_in_bytes = 16;
      break;
    case Cipher::kAes128Cbc:
    case Cipher::kAes256Cbc:
      job->cipher_mode = IMB_CIPHER_CBC;
      job->key_len_in_bytes =
          suite.cipher == Cipher::kAes128Cbc ? IMB_KEY_128_BYTES : IMB_KEY_256_BYTES;
      job->enc_keys = ks.cbc_.aes_enc;
      job->dec_keys = ks.cbc_.aes_dec;
      job->iv_len_in_bytes = 16;
      job->hash_alg = hmac_alg(suite.integ);
      job->hash_start_src_offset_in_bytes = op.auth_offset;
      job->msg_len_to_hash_in_bytes = op.auth_len;
      job->u.HMAC._hashed_auth_key_xor_ipad = ks.cbc_.ipad;
      job->u.HMAC._hashed_auth_key_xor_opad = ks.cbc_.opad;
      job->auth_tag_output_len_in_bytes = hmac_job_tag_len(suite.integ, op.tag_len);
      break;
  }
  // An HMAC-only schedule (create_hmac) hashes without ciphering.
  if (ks.hmac_only_) {
    job->cipher_mode = IMB_CIPHER_NULL;
    job->msg_len_to_cipher_in_bytes = 0;
  }
}

std::unique_ptr<Engine> Engine::create(std::string* error) {
  IMB_MGR* mgr = alloc_mb_mgr(0);
  if (mgr == nullptr) {
    *error = "IPsec-MB: cannot allocate a manager";
    return nullptr;
  }
  IMB_ARCH arch = IMB_ARCH_NONE;
  init_mb_mgr_auto(mgr, &arch);
  const int err = imb_get_errno(mgr);
  if (err != 0 || arch == IMB_ARCH_NONE) {
    *error = std::string("IPsec-MB: cannot initialise: ") + imb_get_strerror(err);
    free_mb_mgr(mgr);
    return nullptr;
  }
  static std::once_flag logged;
  std::call_once(logged, [arch] {
    std::fprintf(stderr, "portcullis: IPsec-MB %s using the %s code path\n", imb_get_version_str(),
                 std::string(arch_to_name(arch)).c_str());
  });
  return std::unique_ptr<Engine>(new Engine(mgr, arch_to_name(arch)));
}

Engine::~Engine() { free_mb_mgr(mgr_); }

size_t Engine::seal_burst(std::span<CryptoOp> ops) { return run_burst(ops, true); }

size_t Engine::open_burst(std::span<CryptoOp> ops) { return run_burst(ops, false); }

// run_burst validates every op itself and submits the valid ones with
// IMB_SUBMIT_BURST_NOCHECK. IPsec-MB's own per-job validation (the checked
// submit) costs 30-40 cycles a packet, a third of a 64-byte packet's AES-GCM
// work, and checks nothing that op_valid does not: the jobs are built here,
// from ops whose lengths the ESP layer has already bounded.
size_t Engine::run_burst(std::span<CryptoOp> ops, bool seal) {
  size_t good = 0;
  IMB_JOB* jobs[IMB_MAX_BURST_SIZE];
  size_t done = 0;
  while (done < ops.size()) {
    const uint32_t want =
        static_cast<uint32_t>(std::min<size_t>(ops.size() - done, IMB_MAX_BURST_SIZE));
    uint32_t got = IMB_GET_NEXT_BURST(mgr_, want, jobs);
    if (got < want) {
      // The queue holds completed jobs from an earlier call; drain them.
      IMB_FLUSH_BURST(mgr_, IMB_MAX_BURST_SIZE, jobs);
      got = IMB_GET_NEXT_BURST(mgr_, want, jobs);
    }
    uint32_t filled = 0;
    for (uint32_t i = 0; i < got; i++) {
      CryptoOp& op = ops[done + i];
      op.ok = false;
      if (op_valid(op, seal)) fill_job(jobs[filled++], op, seal);
    }
    uint32_t completed = filled == 0 ? 0 : IMB_SUBMIT_BURST_NOCHECK(mgr_, filled, jobs);
    if (completed < filled) {
      completed += IMB_FLUSH_BURST(mgr_, filled - completed, jobs + completed);
    }
    for (uint32_t i = 0; i < completed; i++) good += finish_job(jobs[i], seal);
    done += got;
  }
  return good;
}

}  // namespace portcullis::crypto
