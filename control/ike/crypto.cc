// crypto.cc: see crypto.h. OpenSSL 3 EVP carries HMAC, the AEADs and the
// NIST curves; libsodium carries X25519 and the random source.
#include "control/ike/crypto.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <climits>
#include <initializer_list>
#include <stdexcept>
#include <string>

namespace portcullis::ctl::ike {
namespace {

// IANA "Transform Type 1 - Encryption Algorithm Transform IDs".
constexpr uint16_t kEncrAesGcm16 = 20;          // RFC 5282
constexpr uint16_t kEncrChacha20Poly1305 = 28;  // RFC 7634

// IANA "Transform Type 2 - Pseudorandom Function Transform IDs" (RFC 4868).
constexpr uint16_t kPrfHmacSha256 = 5;
constexpr uint16_t kPrfHmacSha384 = 6;
constexpr uint16_t kPrfHmacSha512 = 7;
constexpr size_t kMaxPrfSize = 64;

const char* prf_digest(uint16_t id) {
  switch (id) {
    case kPrfHmacSha256:
      return "SHA256";
    case kPrfHmacSha384:
      return "SHA384";
    case kPrfHmacSha512:
      return "SHA512";
    default:
      return nullptr;
  }
}

struct MacFree {
  void operator()(EVP_MAC* m) const { EVP_MAC_free(m); }
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

// hmac computes HMAC(key, parts[0] | parts[1] | ...) into `out`, which
// holds exactly the digest size. Feeding the parts one by one spares
// prf+ and SKEYSEED from building (and wiping) concatenated copies.
void hmac(uint16_t id, ByteSpan key, std::initializer_list<ByteSpan> parts,
          std::span<uint8_t> out) {
  std::unique_ptr<EVP_MAC, MacFree> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  std::unique_ptr<EVP_MAC_CTX, MacFree> ctx(mac ? EVP_MAC_CTX_new(mac.get()) : nullptr);
  if (!ctx) throw std::runtime_error("OpenSSL has no HMAC");
  char* digest = const_cast<char*>(prf_digest(id));
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_END};
  // An empty key is legal HMAC (zero-padded to the block size), but a
  // null pointer would tell OpenSSL to keep a previous key.
  static const uint8_t kNoKey = 0;
  const uint8_t* k = key.empty() ? &kNoKey : key.data();
  size_t len = 0;
  bool ok = EVP_MAC_init(ctx.get(), k, key.size(), params) == 1;
  for (ByteSpan p : parts) {
    ok = ok && (p.empty() || EVP_MAC_update(ctx.get(), p.data(), p.size()) == 1);
  }
  ok = ok && EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) == 1 && len == out.size();
  if (!ok) throw std::runtime_error(std::string("HMAC-") + digest + " failed in OpenSSL");
}

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

// Nonce is the 12-byte AEAD nonce: the 4-byte salt from the end of the
// key material followed by the 8-byte explicit IV from the payload
// (RFC 5282 section 4, RFC 7634 section 2). The salt is key material, so
// the buffer is wiped when it goes.
struct Nonce {
  std::array<uint8_t, Aead::kSaltSize + Aead::kIvSize> b{};
  ~Nonce() { crypto::wipe(b.data(), b.size()); }
};

const EVP_CIPHER* aead_cipher(uint16_t id, uint16_t bits) {
  if (id == kEncrChacha20Poly1305) return EVP_chacha20_poly1305();
  return bits == 128 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
}

// aead_init prepares `ctx` for one message. EVP takes sizes as int; the
// IKE messages we build or accept are far below INT_MAX, but a caller
// passing more is refused rather than truncated.
CipherCtx aead_init(uint16_t id, uint16_t bits, ByteSpan key, ByteSpan iv, ByteSpan aad,
                    size_t text_len, bool encrypt) {
  const size_t cipher_key = bits / 8;
  if (key.size() != cipher_key + Aead::kSaltSize || iv.size() != Aead::kIvSize) return nullptr;
  if (aad.size() > INT_MAX || text_len > INT_MAX - Aead::kIcvSize) return nullptr;
  Nonce n;
  std::copy(key.begin() + cipher_key, key.end(), n.b.begin());
  std::copy(iv.begin(), iv.end(), n.b.begin() + Aead::kSaltSize);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return nullptr;
  const EVP_CIPHER* c = aead_cipher(id, bits);
  // 12 bytes is the default nonce length of both ciphers; setting it
  // anyway keeps that assumption from being silent.
  if (EVP_CipherInit_ex(ctx.get(), c, nullptr, nullptr, nullptr, encrypt ? 1 : 0) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(n.b.size()),
                          nullptr) != 1 ||
      EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, key.data(), n.b.data(), -1) != 1) {
    return nullptr;
  }
  int len = 0;
  if (!aad.empty() &&
      EVP_CipherUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return nullptr;
  }
  return ctx;
}

}  // namespace

std::unique_ptr<Prf> Prf::make(uint16_t id) {
  // The HMAC PRFs' output and preferred key size is the digest size
  // (RFC 4868 section 2.1.2).
  switch (id) {
    case kPrfHmacSha256:
      return std::unique_ptr<Prf>(new Prf(id, 32));
    case kPrfHmacSha384:
      return std::unique_ptr<Prf>(new Prf(id, 48));
    case kPrfHmacSha512:
      return std::unique_ptr<Prf>(new Prf(id, 64));
    default:
      return nullptr;
  }
}

SecretBytes Prf::compute(ByteSpan key, ByteSpan data) const {
  std::array<uint8_t, kMaxPrfSize> t;
  hmac(id_, key, {data}, std::span(t).first(size_));
  SecretBytes r(ByteSpan(t).first(size_));
  crypto::wipe(t.data(), t.size());
  return r;
}

// plus: section 2.13: prf+(K, S) = T1 | T2 | ..., T1 = prf(K, S | 0x01),
// Tn = prf(K, Tn-1 | S | n). The counter is one octet, so the stream ends
// after 255 blocks; asking for more is a programming error (our
// transforms need at most a few hundred bytes), thrown before any key
// material exists.
SecretBytes Prf::plus(ByteSpan key, ByteSpan seed, size_t len) const {
  if (len > 255 * size_) {
    throw std::length_error("prf+: " + std::to_string(len) + " bytes asked, at most " +
                            std::to_string(255 * size_));
  }
  std::vector<uint8_t> out(len);
  std::array<uint8_t, kMaxPrfSize> t;
  const std::span<uint8_t> block = std::span(t).first(size_);
  size_t done = 0;
  for (unsigned n = 1; done < len; ++n) {
    const uint8_t counter = static_cast<uint8_t>(n);
    const ByteSpan prev = n == 1 ? ByteSpan() : ByteSpan(block);
    hmac(id_, key, {prev, seed, ByteSpan(&counter, 1)}, block);
    const size_t take = std::min(size_, len - done);
    std::copy_n(block.begin(), take, out.begin() + done);
    done += take;
  }
  SecretBytes r(out);
  crypto::wipe(t.data(), t.size());
  if (!out.empty()) crypto::wipe(out.data(), out.size());
  return r;
}

std::unique_ptr<Aead> Aead::make(uint16_t encr_id, uint16_t key_bits) {
  // RFC 7634 section 2: ChaCha20-Poly1305 has one key size, so the Key
  // Length attribute is absent (0 here) or 256.
  if (encr_id == kEncrChacha20Poly1305 && (key_bits == 0 || key_bits == 256)) {
    return std::unique_ptr<Aead>(new Aead(encr_id, 256));
  }
  // RFC 5282 section 8 also allows 192 bits; we do not offer it.
  if (encr_id == kEncrAesGcm16 && (key_bits == 128 || key_bits == 256)) {
    return std::unique_ptr<Aead>(new Aead(encr_id, key_bits));
  }
  return nullptr;
}

bool Aead::seal(ByteSpan key, ByteSpan iv, ByteSpan aad, ByteSpan plain,
                std::vector<uint8_t>& out) const {
  CipherCtx ctx = aead_init(id_, key_bits_, key, iv, aad, plain.size(), true);
  if (!ctx) return false;
  const size_t start = out.size();
  out.resize(start + plain.size() + kIcvSize);
  int len = 0;
  bool ok = plain.empty() || (EVP_EncryptUpdate(ctx.get(), out.data() + start, &len, plain.data(),
                                                static_cast<int>(plain.size())) == 1 &&
                              static_cast<size_t>(len) == plain.size());
  // Both are stream modes: Final emits nothing, but is where GCM
  // finishes the tag.
  ok = ok && EVP_EncryptFinal_ex(ctx.get(), out.data() + start + plain.size(), &len) == 1 &&
       len == 0 &&
       EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, kIcvSize,
                           out.data() + start + plain.size()) == 1;
  if (!ok) out.resize(start);
  return ok;
}

bool Aead::open(ByteSpan key, ByteSpan iv, ByteSpan aad, ByteSpan sealed,
                std::vector<uint8_t>& out) const {
  out.clear();
  if (sealed.size() < kIcvSize) return false;
  const size_t text_len = sealed.size() - kIcvSize;
  CipherCtx ctx = aead_init(id_, key_bits_, key, iv, aad, text_len, false);
  if (!ctx) return false;
  // EVP wants a writable tag buffer.
  std::array<uint8_t, kIcvSize> tag;
  std::copy(sealed.begin() + text_len, sealed.end(), tag.begin());
  out.resize(text_len);
  int len = 0;
  bool ok = text_len == 0 || (EVP_DecryptUpdate(ctx.get(), out.data(), &len, sealed.data(),
                                                static_cast<int>(text_len)) == 1 &&
                              static_cast<size_t>(len) == text_len);
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kIcvSize, tag.data()) == 1 &&
       EVP_DecryptFinal_ex(ctx.get(), out.data() + text_len, &len) == 1 && len == 0;
  if (!ok) {
    // Plaintext that failed authentication must not reach anyone.
    if (!out.empty()) crypto::wipe(out.data(), out.size());
    out.clear();
  }
  return ok;
}

}  // namespace portcullis::ctl::ike
