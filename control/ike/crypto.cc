// crypto.cc: see crypto.h. OpenSSL 3 EVP carries HMAC, the AEADs and the
// NIST curves; libsodium carries X25519 and the random source.
#include "control/ike/crypto.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <climits>
#include <initializer_list>
#include <stdexcept>
#include <string>

namespace portcullis::ctl::ike {
namespace {

// WipeOnExit wipes a buffer that held key material when the scope ends,
// including when an OpenSSL failure throws.
struct WipeOnExit {
  std::span<uint8_t> s;
  ~WipeOnExit() {
    if (!s.empty()) crypto::wipe(s.data(), s.size());
  }
};

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

// Hmac is one PRF key ready for use: the MAC is fetched once and each
// run re-keys the context, so prf+ pays for one fetch, not one per block.
// Parts are fed one by one, sparing prf+ and SKEYSEED from building (and
// wiping) concatenated copies. Freeing the context cleanses its key.
class Hmac {
 public:
  Hmac(uint16_t id, ByteSpan key) : digest_(prf_digest(id)), key_(key) {
    if (key_.empty()) {
      // An empty key is legal HMAC (zero-padded to the block size), but a
      // null pointer would tell OpenSSL to keep a previous key.
      static const uint8_t kNoKey = 0;
      key_ = ByteSpan(&kNoKey, 0);
    }
    mac_.reset(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
    if (mac_) ctx_.reset(EVP_MAC_CTX_new(mac_.get()));
    if (!ctx_ || digest_ == nullptr) throw std::runtime_error("OpenSSL has no such HMAC");
  }

  // run writes HMAC(key, parts[0] | parts[1] | ...) to `out`, which holds
  // exactly the digest size.
  void run(std::initializer_list<ByteSpan> parts, std::span<uint8_t> out) {
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest_), 0),
        OSSL_PARAM_END};
    size_t len = 0;
    bool ok = EVP_MAC_init(ctx_.get(), key_.data(), key_.size(), params) == 1;
    for (ByteSpan p : parts) {
      ok = ok && (p.empty() || EVP_MAC_update(ctx_.get(), p.data(), p.size()) == 1);
    }
    ok = ok && EVP_MAC_final(ctx_.get(), out.data(), &len, out.size()) == 1 && len == out.size();
    if (!ok) throw std::runtime_error(std::string("HMAC-") + digest_ + " failed in OpenSSL");
  }

 private:
  struct Free {
    void operator()(EVP_MAC* m) const { EVP_MAC_free(m); }
    void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
  };
  const char* digest_;
  ByteSpan key_;
  std::unique_ptr<EVP_MAC, Free> mac_;
  std::unique_ptr<EVP_MAC_CTX, Free> ctx_;
};

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

// Nonce is the 12-byte AEAD nonce: the 4-byte salt from the end of the
// key material followed by the 8-byte explicit IV from the payload
// (RFC 5282, which takes the ESP nonce of RFC 4106 section 4; RFC 7634
// section 2). The salt is key material, so the buffer is wiped.
struct Nonce {
  std::array<uint8_t, Aead::kSaltSize + Aead::kIvSize> b{};
  const WipeOnExit wipe{b};
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
  const WipeOnExit wipe_t{t};
  Hmac(id_, key).run({data}, std::span(t).first(size_));
  return SecretBytes(ByteSpan(t).first(size_));
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
  const WipeOnExit wipe_out{out};
  std::array<uint8_t, kMaxPrfSize> t;
  const WipeOnExit wipe_t{t};
  const std::span<uint8_t> block = std::span(t).first(size_);
  Hmac h(id_, key);
  size_t done = 0;
  for (unsigned n = 1; done < len; ++n) {
    const uint8_t counter = static_cast<uint8_t>(n);
    const ByteSpan prev = n == 1 ? ByteSpan() : ByteSpan(block);
    h.run({prev, seed, ByteSpan(&counter, 1)}, block);
    const size_t take = std::min(size_, len - done);
    std::copy_n(block.begin(), take, out.begin() + done);
    done += take;
  }
  return SecretBytes(out);
}

std::unique_ptr<Aead> Aead::make(uint16_t encr_id, uint16_t key_bits) {
  // RFC 7634 section 2: ChaCha20-Poly1305 has one key size, so the Key
  // Length attribute is absent (0 here) or 256.
  if (encr_id == kEncrChacha20Poly1305 && (key_bits == 0 || key_bits == 256)) {
    return std::unique_ptr<Aead>(new Aead(encr_id, 256));
  }
  // RFC 5282 also defines 192-bit keys; we do not offer them.
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

// Key schedule.

namespace {

void put_be64(uint64_t v, uint8_t* out) {
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<uint8_t>(v);
}

// Scratch is a buffer that is wiped when it goes: the concatenations the
// key schedule feeds to prf and prf+ include shared secrets.
struct Scratch {
  std::vector<uint8_t> b;
  ~Scratch() {
    if (!b.empty()) crypto::wipe(b.data(), b.size());
  }
  void add(ByteSpan s) { b.insert(b.end(), s.begin(), s.end()); }
};

// expand_ike_keys: the second half of sections 2.14 and 2.18: prf+(SKEYSEED,
// Ni | Nr | SPIi | SPIr) cut into the seven keys. SK_d, SK_pi and SK_pr
// take the PRF's preferred key length (section 2.13).
IkeKeys expand_ike_keys(const Prf& prf, ByteSpan skeyseed, size_t enc_len, size_t integ_len,
                        ByteSpan ni, ByteSpan nr, uint64_t spi_i, uint64_t spi_r) {
  Scratch seed;
  seed.b.reserve(ni.size() + nr.size() + 16);
  seed.add(ni);
  seed.add(nr);
  uint8_t spis[16];
  put_be64(spi_i, spis);
  put_be64(spi_r, spis + 8);
  seed.add(spis);
  const size_t p = prf.size();
  const SecretBytes keymat = prf.plus(skeyseed, seed.b, 3 * p + 2 * integ_len + 2 * enc_len);
  ByteSpan rest = keymat.span();
  auto take = [&rest](size_t n) {
    SecretBytes k(rest.first(n));
    rest = rest.subspan(n);
    return k;
  };
  IkeKeys k;
  k.sk_d = take(p);
  k.sk_ai = take(integ_len);
  k.sk_ar = take(integ_len);
  k.sk_ei = take(enc_len);
  k.sk_er = take(enc_len);
  k.sk_pi = take(p);
  k.sk_pr = take(p);
  return k;
}

}  // namespace

IkeKeys derive_ike_keys(const Prf& prf, size_t enc_len, size_t integ_len, ByteSpan ni, ByteSpan nr,
                        ByteSpan shared, uint64_t spi_i, uint64_t spi_r) {
  // Section 2.14: SKEYSEED = prf(Ni | Nr, g^ir). Only PRFs with a fixed
  // key size (AES-XCBC, AES-CMAC) would truncate the nonces; the HMACs
  // take them whole.
  Scratch key;
  key.add(ni);
  key.add(nr);
  const SecretBytes skeyseed = prf.compute(key.b, shared);
  return expand_ike_keys(prf, skeyseed.span(), enc_len, integ_len, ni, nr, spi_i, spi_r);
}

IkeKeys derive_rekeyed_ike_keys(const Prf& old_prf, ByteSpan old_sk_d, const Prf& new_prf,
                                size_t enc_len, size_t integ_len, ByteSpan ni, ByteSpan nr,
                                ByteSpan shared, uint64_t spi_i, uint64_t spi_r) {
  // Section 2.18: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), with
  // the old SA's PRF; the expansion uses the new SA's PRF.
  Scratch data;
  data.add(shared);
  data.add(ni);
  data.add(nr);
  const SecretBytes skeyseed = old_prf.compute(old_sk_d, data.b);
  return expand_ike_keys(new_prf, skeyseed.span(), enc_len, integ_len, ni, nr, spi_i, spi_r);
}

SecretBytes child_keymat(const Prf& prf, ByteSpan sk_d, ByteSpan shared, ByteSpan ni, ByteSpan nr,
                         size_t len) {
  // Section 2.17: KEYMAT = prf+(SK_d, Ni | Nr), or with PFS
  // prf+(SK_d, g^ir (new) | Ni | Nr). An empty `shared` means no PFS.
  Scratch seed;
  seed.add(shared);
  seed.add(ni);
  seed.add(nr);
  return prf.plus(sk_d, seed.b, len);
}

std::vector<uint8_t> random_nonce(size_t len) {
  std::vector<uint8_t> n(len);
  crypto::random_bytes(n);
  return n;
}

uint64_t random_spi() {
  // Section 3.1: an SPI of zero means "not yet known" (the responder's
  // SPI in the first message), so ours must never be zero.
  uint64_t spi = 0;
  while (spi == 0) {
    uint8_t b[8];
    crypto::random_bytes(b);
    for (uint8_t x : b) spi = spi << 8 | x;
  }
  return spi;
}

// Diffie-Hellman.

namespace {

// IANA "Transform Type 4 - Key Exchange Method Transform IDs".
constexpr uint16_t kGroupEcp256 = 19;      // RFC 5903
constexpr uint16_t kGroupEcp384 = 20;      // RFC 5903
constexpr uint16_t kGroupCurve25519 = 31;  // RFC 8031

struct EcpCurve {
  const char* name;  // OpenSSL group name
  int nid;
  size_t coord;  // bytes per coordinate and per private value
};

const EcpCurve* ecp_curve(uint16_t group) {
  static const EcpCurve k256{"P-256", NID_X9_62_prime256v1, 32};
  static const EcpCurve k384{"P-384", NID_secp384r1, 48};
  if (group == kGroupEcp256) return &k256;
  if (group == kGroupEcp384) return &k384;
  return nullptr;
}

struct OsslFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
  void operator()(EC_GROUP* p) const { EC_GROUP_free(p); }
  void operator()(EC_POINT* p) const { EC_POINT_free(p); }
  void operator()(BN_CTX* p) const { BN_CTX_free(p); }
  void operator()(BIGNUM* p) const { BN_clear_free(p); }
};
template <typename T>
using Ossl = std::unique_ptr<T, OsslFree>;

// ecp_import builds an EVP_PKEY from an uncompressed point (0x04 | x | y)
// and, for a key pair, the private scalar. OpenSSL's EC import decodes
// the point with EC_POINT_oct2point, which refuses a point that is not on
// the curve (RFC 5903 section 9 asks for that check; see also RFC 6989
// section 2.3 on why it matters when keys are reused).
Ossl<EVP_PKEY> ecp_import(const EcpCurve& c, ByteSpan point, const BIGNUM* priv) {
  Ossl<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, c.name, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1 ||
      (priv != nullptr && OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv) != 1)) {
    return nullptr;
  }
  // A BN flagged secure (see ecp_from_private) is copied into the
  // params' secure block, which OSSL_PARAM_free clears before freeing.
  Ossl<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(bld.get()));
  Ossl<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, priv != nullptr ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                        params.get()) != 1) {
    return nullptr;
  }
  return Ossl<EVP_PKEY>(pkey);
}

class EcpKey final : public DhKey {
 public:
  EcpKey(uint16_t group, const EcpCurve& c, Ossl<EVP_PKEY> key, std::vector<uint8_t> pub)
      : group_(group), curve_(c), key_(std::move(key)), pub_(std::move(pub)) {}

  uint16_t group() const override { return group_; }
  std::vector<uint8_t> public_value() const override { return pub_; }

  bool shared(ByteSpan peer, SecretBytes& out, std::string* why) const override {
    auto fail = [why](const char* reason) {
      if (why != nullptr) *why = reason;
      return false;
    };
    out.clear();
    // RFC 5903 section 7: the KE data is x | y, each exactly the field
    // size; no point-format octet and no compressed points.
    if (peer.size() != 2 * curve_.coord) return fail("KE data has the wrong length for the group");
    std::vector<uint8_t> point(1 + peer.size());
    point[0] = POINT_CONVERSION_UNCOMPRESSED;
    std::copy(peer.begin(), peer.end(), point.begin() + 1);
    Ossl<EVP_PKEY> theirs = ecp_import(curve_, point, nullptr);
    if (!theirs) return fail("peer's public value is not a point on the curve");
    Ossl<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr));
    // validate_peer = 1 runs the full public-key check (on the curve,
    // not the point at infinity, right order) once more before deriving.
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
        EVP_PKEY_derive_set_peer_ex(ctx.get(), theirs.get(), 1) != 1) {
      return fail("peer's public value failed OpenSSL's public-key check");
    }
    // RFC 5903 section 9: the shared secret is the x coordinate of
    // g^ir, in the same fixed width as the public value's coordinates.
    std::array<uint8_t, 66> z;
    size_t len = z.size();
    const bool ok = EVP_PKEY_derive(ctx.get(), z.data(), &len) == 1 && len == curve_.coord;
    if (ok) out = SecretBytes(ByteSpan(z).first(len));
    crypto::wipe(z.data(), z.size());
    return ok ? true : fail("ECDH derivation failed");
  }

 private:
  uint16_t group_;
  const EcpCurve& curve_;
  Ossl<EVP_PKEY> key_;
  std::vector<uint8_t> pub_;
};

// ecp_public reads a key's point as x | y.
std::vector<uint8_t> ecp_public(const EcpCurve& c, const EVP_PKEY* key) {
  std::vector<uint8_t> point(1 + 2 * c.coord);
  size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size(),
                                      &len) != 1 ||
      len != point.size() || point[0] != POINT_CONVERSION_UNCOMPRESSED) {
    return {};
  }
  point.erase(point.begin());
  return point;
}

std::unique_ptr<DhKey> ecp_generate(uint16_t group, const EcpCurve& c) {
  Ossl<EVP_PKEY> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", c.name));
  if (!key) return nullptr;
  std::vector<uint8_t> pub = ecp_public(c, key.get());
  if (pub.empty()) return nullptr;
  return std::make_unique<EcpKey>(group, c, std::move(key), std::move(pub));
}

// ecp_from_private computes g^i for a known i with the EC_POINT API (EVP
// would import the private value but not derive the public point) and
// imports both.
std::unique_ptr<DhKey> ecp_from_private(uint16_t group, const EcpCurve& c, ByteSpan priv) {
  if (priv.size() != c.coord) return nullptr;
  Ossl<EC_GROUP> g(EC_GROUP_new_by_curve_name(c.nid));
  Ossl<BN_CTX> bn_ctx(BN_CTX_new());
  Ossl<BIGNUM> d(BN_secure_new());
  if (!g || !bn_ctx || !d ||
      BN_bin2bn(priv.data(), static_cast<int>(priv.size()), d.get()) == nullptr) {
    return nullptr;
  }
  // The private value must lie in [1, n-1].
  if (BN_is_zero(d.get()) || BN_cmp(d.get(), EC_GROUP_get0_order(g.get())) >= 0) return nullptr;
  Ossl<EC_POINT> q(EC_POINT_new(g.get()));
  std::vector<uint8_t> point(1 + 2 * c.coord);
  if (!q || EC_POINT_mul(g.get(), q.get(), d.get(), nullptr, nullptr, bn_ctx.get()) != 1 ||
      EC_POINT_point2oct(g.get(), q.get(), POINT_CONVERSION_UNCOMPRESSED, point.data(),
                         point.size(), bn_ctx.get()) != point.size()) {
    return nullptr;
  }
  Ossl<EVP_PKEY> key = ecp_import(c, point, d.get());
  if (!key) return nullptr;
  point.erase(point.begin());
  return std::make_unique<EcpKey>(group, c, std::move(key), std::move(point));
}

// X25519Key: RFC 8031. The private value is 32 random bytes; clamping
// happens inside crypto_scalarmult (RFC 7748 section 5).
class X25519Key final : public DhKey {
 public:
  explicit X25519Key(ByteSpan priv) : priv_(priv) {
    crypto::init_sodium();
    crypto_scalarmult_curve25519_base(pub_.data(), priv_.span().data());
  }

  uint16_t group() const override { return kGroupCurve25519; }
  std::vector<uint8_t> public_value() const override { return {pub_.begin(), pub_.end()}; }

  bool shared(ByteSpan peer, SecretBytes& out, std::string* why) const override {
    out.clear();
    if (peer.size() != crypto_scalarmult_curve25519_BYTES) {
      if (why != nullptr) *why = "KE data has the wrong length for Curve25519";
      return false;
    }
    std::array<uint8_t, crypto_scalarmult_curve25519_BYTES> z;
    // RFC 8031 section 2.3: a peer value of small order yields all zeros,
    // which MUST be refused. libsodium returns -1 for exactly that case;
    // the explicit check keeps the rule visible if that ever changes.
    const bool ok = crypto_scalarmult_curve25519(z.data(), priv_.span().data(), peer.data()) == 0 &&
                    sodium_is_zero(z.data(), z.size()) == 0;
    if (ok) out = SecretBytes(z);
    crypto::wipe(z.data(), z.size());
    if (!ok && why != nullptr)
      *why = "Curve25519 shared secret is all zero (small-order peer value)";
    return ok;
  }

 private:
  SecretBytes priv_;
  std::array<uint8_t, crypto_scalarmult_curve25519_BYTES> pub_{};
};

}  // namespace

std::unique_ptr<DhKey> DhKey::generate(uint16_t group) {
  if (const EcpCurve* c = ecp_curve(group)) return ecp_generate(group, *c);
  if (group == kGroupCurve25519) {
    const SecretBytes priv = SecretBytes::random(crypto_scalarmult_curve25519_SCALARBYTES);
    return std::make_unique<X25519Key>(priv.span());
  }
  return nullptr;
}

std::unique_ptr<DhKey> DhKey::from_private(uint16_t group, ByteSpan priv) {
  if (const EcpCurve* c = ecp_curve(group)) return ecp_from_private(group, *c, priv);
  if (group == kGroupCurve25519 && priv.size() == crypto_scalarmult_curve25519_SCALARBYTES) {
    return std::make_unique<X25519Key>(priv);
  }
  return nullptr;
}

size_t dh_public_size(uint16_t group) {
  if (const EcpCurve* c = ecp_curve(group)) return 2 * c->coord;
  if (group == kGroupCurve25519) return crypto_scalarmult_curve25519_BYTES;
  return 0;
}

}  // namespace portcullis::ctl::ike
