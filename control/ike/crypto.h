// crypto.h: the IKEv2 key schedule and the primitives it needs: PRFs and
// prf+ (RFC 7296 section 2.13), SKEYSEED and the IKE SA keys (2.14),
// rekeyed IKE SA keys (2.18), Child SA key material (2.17), AEADs for the
// Encrypted payload (RFC 5282 AES-GCM, RFC 7634 ChaCha20-Poly1305), and
// Diffie-Hellman groups 19 and 20 (RFC 5903, OpenSSL) and 31 (RFC 8031,
// libsodium X25519).
//
// Secrets are crypto::SecretBytes: wiped when dropped, never printed.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "crypto/secure.h"

namespace portcullis::ctl::ike {

using crypto::SecretBytes;
using ByteSpan = std::span<const uint8_t>;

// Prf: HMAC-SHA-256/384/512 (transform ids 5, 6, 7).
class Prf {
 public:
  // make returns nullptr for an id this implementation does not offer.
  static std::unique_ptr<Prf> make(uint16_t id);
  uint16_t id() const { return id_; }
  size_t size() const { return size_; }  // output and preferred key size
  // compute returns prf(key, data).
  SecretBytes compute(ByteSpan key, ByteSpan data) const;
  // plus returns the first `len` bytes of prf+(key, seed) (section 2.13).
  // len must be at most 255 * size().
  SecretBytes plus(ByteSpan key, ByteSpan seed, size_t len) const;

 private:
  Prf(uint16_t id, size_t size) : id_(id), size_(size) {}
  uint16_t id_;
  size_t size_;
};

// Aead: the ENCR transforms for SK (AES-GCM with a 16-byte ICV at 128 or
// 256 bits, ChaCha20-Poly1305). The key given to seal/open is the cipher
// key followed by the 4-byte salt, as prf+ hands them out (RFC 5282
// section 7.1, RFC 7634 section 4). Nonce = salt | 8-byte explicit IV.
class Aead {
 public:
  static constexpr size_t kIvSize = 8;
  static constexpr size_t kIcvSize = 16;
  static constexpr size_t kSaltSize = 4;
  // make returns nullptr for an unknown id or a key length it does not
  // support (AES-GCM-16: 128 or 256 bits; ChaCha20-Poly1305: 0 or 256).
  static std::unique_ptr<Aead> make(uint16_t encr_id, uint16_t key_bits);
  uint16_t id() const { return id_; }
  uint16_t key_bits() const { return key_bits_; }
  size_t key_size() const { return key_bits_ / 8 + kSaltSize; }  // incl. salt
  // seal encrypts `plain` and appends ciphertext and ICV to `out`.
  bool seal(ByteSpan key, ByteSpan iv, ByteSpan aad, ByteSpan plain, std::vector<uint8_t>& out) const;
  // open checks the ICV (last 16 bytes of `sealed`) and writes the
  // plaintext to `out`. False, with `out` empty, on any mismatch.
  bool open(ByteSpan key, ByteSpan iv, ByteSpan aad, ByteSpan sealed, std::vector<uint8_t>& out) const;

 private:
  Aead(uint16_t id, uint16_t bits) : id_(id), key_bits_(bits) {}
  uint16_t id_, key_bits_;
};

// DhKey: one ephemeral key pair. public_value() is the KE payload's data:
// x | y, each padded to the field size, for ECP groups (RFC 5903 section
// 7); the 32-byte u-coordinate for Curve25519 (RFC 8031).
class DhKey {
 public:
  virtual ~DhKey() = default;
  // generate returns nullptr for a group this implementation lacks.
  static std::unique_ptr<DhKey> generate(uint16_t group);
  // from_private builds a key from a known private value (KATs only).
  static std::unique_ptr<DhKey> from_private(uint16_t group, ByteSpan priv);
  virtual uint16_t group() const = 0;
  virtual std::vector<uint8_t> public_value() const = 0;
  // shared computes g^ir from the peer's KE data: for ECP x only (RFC 5903
  // section 9), for Curve25519 the 32 bytes. False if the peer's value has
  // the wrong length, is not on the curve, or gives an all-zero result.
  virtual bool shared(ByteSpan peer, SecretBytes& out, std::string* why) const = 0;
};

// dh_public_size: the KE data length for a group, 0 if unknown.
size_t dh_public_size(uint16_t group);

// IkeKeys: the seven keys of an IKE SA (section 2.14).
struct IkeKeys {
  SecretBytes sk_d, sk_ai, sk_ar, sk_ei, sk_er, sk_pi, sk_pr;
};

// derive_ike_keys: SKEYSEED = prf(Ni | Nr, g^ir), then
// {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} =
// prf+(SKEYSEED, Ni | Nr | SPIi | SPIr). With an AEAD integ_len is 0 and
// enc_len includes the salt. SPIs are host order, written big-endian.
IkeKeys derive_ike_keys(const Prf& prf, size_t enc_len, size_t integ_len, ByteSpan ni, ByteSpan nr,
                        ByteSpan shared, uint64_t spi_i, uint64_t spi_r);

// derive_rekeyed_ike_keys: section 2.18: SKEYSEED = prf(SK_d (old),
// g^ir (new) | Ni | Nr) with the old SA's PRF; the rest as above with the
// new SA's PRF, nonces and SPIs.
IkeKeys derive_rekeyed_ike_keys(const Prf& old_prf, ByteSpan old_sk_d, const Prf& new_prf, size_t enc_len,
                                size_t integ_len, ByteSpan ni, ByteSpan nr, ByteSpan shared, uint64_t spi_i,
                                uint64_t spi_r);

// child_keymat: section 2.17: KEYMAT = prf+(SK_d, [g^ir (new)] | Ni | Nr),
// `len` bytes. The caller takes the initiator-to-responder keys first.
SecretBytes child_keymat(const Prf& prf, ByteSpan sk_d, ByteSpan shared, ByteSpan ni, ByteSpan nr, size_t len);

// random_nonce: a fresh nonce of `len` bytes (at least half the PRF's key
// size, section 2.10; we use 32).
std::vector<uint8_t> random_nonce(size_t len = 32);

// random_spi: a fresh non-zero 8-byte IKE SPI.
uint64_t random_spi();

}  // namespace portcullis::ctl::ike
