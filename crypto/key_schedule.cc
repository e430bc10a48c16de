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
  return ks;
}

std::unique_ptr<KeySchedule> KeySchedule::create_hmac(Engine& engine, Integ integ,
                                                      std::span<const uint8_t> key) {
  std::unique_ptr<KeySchedule> ks(new KeySchedule());
  std::memset(static_cast<void*>(ks.get()), 0, sizeof(KeySchedule));
  ks->suite_ = Suite{Cipher::kAes128Cbc, integ};
  ks->hmac_only_ = true;
  ks->set_hmac(engine, integ, key);
  return ks;
}

KeySchedule::~KeySchedule() { wipe(static_cast<void*>(this), sizeof(*this)); }

}  // namespace portcullis::crypto
