// suite.h: the ESP transform suites Portcullis implements, and their sizes.
//
// Only the algorithms DESIGN.md lists exist here. Nothing weaker (DES, 3DES,
// MD5, SHA-1) is implemented, so no configuration can ask for it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace portcullis::crypto {

// Cipher is the encryption transform. The first three are AEADs.
enum class Cipher : uint8_t {
  kAes128Gcm,         // RFC 4106, 16-byte ICV
  kAes256Gcm,         // RFC 4106, 16-byte ICV
  kChacha20Poly1305,  // RFC 7634
  kAes128Cbc,         // RFC 3602, needs an Integ
  kAes256Cbc,         // RFC 3602, needs an Integ
};

// Integ is the integrity transform used with a non-AEAD cipher (RFC 4868).
enum class Integ : uint8_t {
  kNone,  // the cipher is an AEAD
  kHmacSha256_128,
  kHmacSha384_192,
  kHmacSha512_256,
};

// Suite is one ESP transform: a cipher and, for CBC, an integrity algorithm.
struct Suite {
  Cipher cipher = Cipher::kAes128Gcm;
  Integ integ = Integ::kNone;

  bool operator==(const Suite&) const = default;

  bool is_aead() const { return cipher <= Cipher::kChacha20Poly1305; }
  // valid is true when the pairing makes sense: AEADs take no Integ, CBC needs one.
  bool valid() const { return is_aead() == (integ == Integ::kNone); }

  // Bytes of cipher key, without the AEAD salt.
  uint32_t cipher_key_len() const;
  // Bytes of salt appended to the AEAD key (RFC 4106 section 8.1, RFC 7634 section 2).
  uint32_t salt_len() const { return is_aead() ? 4 : 0; }
  // Bytes of integrity key (RFC 4868 section 2.1.1: equal to the digest size).
  uint32_t auth_key_len() const;
  // Bytes of the explicit IV carried in each ESP packet.
  uint32_t iv_len() const { return is_aead() ? 8 : 16; }
  // Bytes of ICV.
  uint32_t icv_len() const;
  // The ESP payload is padded to a multiple of this (RFC 4303 section 2.4).
  uint32_t block_len() const { return is_aead() ? 4 : 16; }

  // name is the IKE-style name, e.g. "aes128gcm16", "aes256cbc-sha384".
  std::string_view name() const;
};

// parse_suite reads a name as printed by Suite::name().
std::optional<Suite> parse_suite(std::string_view name);

}  // namespace portcullis::crypto
