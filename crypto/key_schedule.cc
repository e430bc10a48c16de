#include "crypto/key_schedule.h"

#include <cstring>

#include "crypto/engine.h"
#include "crypto/secure.h"

namespace portcullis::crypto {
namespace {

uint32_t hmac_block_len(Integ integ) { return integ == Integ::kHmacSha256_128 ? 64 : 128; }

}  // namespace

// set_hmac precomputes the HMAC inner and outer states (RFC 2104): the
// compression function over one block of (key ^ 0x36...) and (key ^ 0x5c...),
// which is what IPsec-MB's HMAC jobs take instead of the key.
void KeySchedule::set_hmac(Engine& engine, Integ integ, std::span<const uint8_t> key) {
  IMB_MGR* mgr = engine.mgr();
  const uint32_t block = hmac_block_len(integ);
  uint8_t k[128] = {};
  if (key.size() > block) {
    // A key longer than the block is replaced by its digest.
    switch (integ) {
      case Integ::kHmacSha256_128:
        IMB_SHA256(mgr, key.data(), key.size(), k);
        break;
      case Integ::kHmacSha384_192:
        IMB_SHA384(mgr, key.data(), key.size(), k);
        break;
      default:
        IMB_SHA512(mgr, key.data(), key.size(), k);
        break;
    }
  } else if (!key.empty()) {
    std::memcpy(k, key.data(), key.size());
  }
  uint8_t ipad[128], opad[128];
  for (uint32_t i = 0; i < block; i++) {
    ipad[i] = k[i] ^ 0x36;
    opad[i] = k[i] ^ 0x5c;
  }
  switch (integ) {
    case Integ::kHmacSha256_128:
      IMB_SHA256_ONE_BLOCK(mgr, ipad, cbc_.ipad);
      IMB_SHA256_ONE_BLOCK(mgr, opad, cbc_.opad);
      break;
    case Integ::kHmacSha384_192:
      IMB_SHA384_ONE_BLOCK(mgr, ipad, cbc_.ipad);
      IMB_SHA384_ONE_BLOCK(mgr, opad, cbc_.opad);
      break;
    default:
      IMB_SHA512_ONE_BLOCK(mgr, ipad, cbc_.ipad);
      IMB_SHA512_ONE_BLOCK(mgr, opad, cbc_.opad);
      break;
  }
  wipe(k, sizeof(k));
  wipe(ipad, sizeof(ipad));
  wipe(opad, sizeof(opad));
}

std::unique_ptr<KeySchedule> KeySchedule::create(Engine& engine, Suite suite,
                                                 std::span<const uint8_t> cipher_key,
                                                 std::span<const uint8_t> auth_key,
                                                 std::string* error) {
  if (!suite.valid()) {
    *error = "invalid suite: an AEAD takes no integrity algorithm and CBC needs one";
    return nullptr;
  }
  const size_t want_cipher = suite.cipher_key_len() + suite.salt_len();
  if (cipher_key.size() != want_cipher) {
    *error = std::string(suite.name()) + " needs a " + std::to_string(want_cipher) +
             "-byte encryption key" + (suite.is_aead() ? " (key then 4-byte salt)" : "") +
             ", got " + std::to_string(cipher_key.size());
    return nullptr;
  }
  if (auth_key.size() != suite.auth_key_len()) {
    *error = std::string(suite.name()) + " needs a " + std::to_string(suite.auth_key_len()) +
             "-byte integrity key, got " + std::to_string(auth_key.size());
    return nullptr;
  }

  std::unique_ptr<KeySchedule> ks(new KeySchedule());
  std::memset(static_cast<void*>(ks.get()), 0, sizeof(KeySchedule));
  ks->suite_ = suite;
  IMB_MGR* mgr = engine.mgr();
  const uint8_t* key = cipher_key.data();
  switch (suite.cipher) {
    case Cipher::kAes128Gcm:
      IMB_AES128_GCM_PRE(mgr, key, &ks->gcm_);
      break;
    case Cipher::kAes256Gcm:
      IMB_AES256_GCM_PRE(mgr, key, &ks->gcm_);
      break;
    case Cipher::kChacha20Poly1305:
      std::memcpy(ks->chacha_key_, key, 32);
      break;
    case Cipher::kAes128Cbc:
      IMB_AES_KEYEXP_128(mgr, key, ks->cbc_.aes_enc, ks->cbc_.aes_dec);
      break;
    case Cipher::kAes256Cbc:
      IMB_AES_KEYEXP_256(mgr, key, ks->cbc_.aes_enc, ks->cbc_.aes_dec);
      break;
  }
  if (suite.is_aead()) {
    std::memcpy(ks->salt_, key + suite.cipher_key_len(), 4);
  } else {
    ks->set_hmac(engine, suite.integ, auth_key);
  }
  ks->set_hot_lines(engine);
  return ks;
}

namespace {

// lines_of is the hot_lines mask of the n bytes at p in an object at base.
uint32_t lines_of(const void* base, const void* p, size_t n) {
  const size_t off = static_cast<size_t>(static_cast<const uint8_t*>(p) -
                                         static_cast<const uint8_t*>(base));
  uint32_t m = 0;
  for (size_t l = off / 64; l <= (off + n - 1) / 64 && l < 32; l++) m |= 1u << l;
  return m;
}

}  // namespace

// set_hot_lines records what is read for a packet of up to 64 bytes: the
// suite and flags (the engine picks the job type from them), the salt,
// the round keys the key length uses, the HMAC states, and for GCM the
// powers of H that four blocks hash with, whose place depends on the code
// path: VAES AVX-512 keeps H^48..H^1, H^1 last; the others keep H^1..H^8
// first, SSE and AVX with a Karatsuba copy. Longer packets read more of
// the H table, but they also take long enough for that not to matter.
void KeySchedule::set_hot_lines(const Engine& engine) {
  static_assert(sizeof(KeySchedule) <= 32 * 64, "hot_lines has a bit per line");
  const size_t rounds = suite_.cipher_key_len() == 32 ? 15 : 11;
  const bool vaes = (engine.mgr()->features & IMB_FEATURE_VAES) != 0 &&
                    engine.arch_name() == "AVX512";
  const uint32_t common = lines_of(this, salt_, sizeof salt_) |
                         lines_of(this, &hmac_only_, sizeof hmac_only_) |
                         lines_of(this, &suite_, sizeof suite_);
  uint32_t enc = 0, dec = 0;
  switch (suite_.cipher) {
    case Cipher::kAes128Gcm:
    case Cipher::kAes256Gcm: {
      enc = lines_of(this, gcm_.expanded_keys, rounds * 16);
      const uint8_t* h = gcm_.ghash_keys.vaes_avx512.shifted_hkey;
      if (vaes) {
        enc |= lines_of(this, h + 41 * 16, 7 * 16);
      } else if (engine.arch_name() == "SSE" || engine.arch_name() == "AVX") {
        enc |= lines_of(this, h, 16 * 16);
      } else {
        enc |= lines_of(this, h, 8 * 16);
      }
      dec = enc;  // GCM runs the same keys both ways
      break;
    }
    case Cipher::kChacha20Poly1305:
      enc = dec = lines_of(this, chacha_key_, sizeof chacha_key_);
      break;
    case Cipher::kAes128Cbc:
    case Cipher::kAes256Cbc: {
      const uint32_t hmac = lines_of(this, cbc_.ipad, sizeof cbc_.ipad + sizeof cbc_.opad);
      enc = lines_of(this, cbc_.aes_enc, rounds * 16) | hmac;
      dec = lines_of(this, cbc_.aes_dec, rounds * 16) | hmac;
      break;
    }
  }
  hot_lines_[0] = enc | common;
  hot_lines_[1] = dec | common;
}

std::unique_ptr<KeySchedule> KeySchedule::create_hmac(Engine& engine, Integ integ,
                                                      std::span<const uint8_t> key) {
  std::unique_ptr<KeySchedule> ks(new KeySchedule());
  std::memset(static_cast<void*>(ks.get()), 0, sizeof(KeySchedule));
  ks->suite_ = Suite{Cipher::kAes128Cbc, integ};
  ks->hmac_only_ = true;
  ks->set_hmac(engine, integ, key);
  ks->set_hot_lines(engine);
  return ks;
}

KeySchedule::~KeySchedule() { wipe(static_cast<void*>(this), sizeof(*this)); }

}  // namespace portcullis::crypto
