#include "crypto/suite.h"

#include <array>

namespace portcullis::crypto {
namespace {

struct Named {
  Suite suite;
  std::string_view name;
};

constexpr std::array<Named, 14> kNames = {{
    {{Cipher::kAes128Gcm, Integ::kNone}, "aes128gcm16"},
    {{Cipher::kAes256Gcm, Integ::kNone}, "aes256gcm16"},
    {{Cipher::kChacha20Poly1305, Integ::kNone}, "chacha20poly1305"},
    {{Cipher::kAes128Cbc, Integ::kHmacSha256_128}, "aes128cbc-sha256"},
    {{Cipher::kAes128Cbc, Integ::kHmacSha384_192}, "aes128cbc-sha384"},
    {{Cipher::kAes128Cbc, Integ::kHmacSha512_256}, "aes128cbc-sha512"},
    {{Cipher::kAes256Cbc, Integ::kHmacSha256_128}, "aes256cbc-sha256"},
    {{Cipher::kAes256Cbc, Integ::kHmacSha384_192}, "aes256cbc-sha384"},
    {{Cipher::kAes256Cbc, Integ::kHmacSha512_256}, "aes256cbc-sha512"},
    // Aliases accepted on input.
    {{Cipher::kAes128Gcm, Integ::kNone}, "aes128gcm"},
    {{Cipher::kAes256Gcm, Integ::kNone}, "aes256gcm"},
    {{Cipher::kAes128Cbc, Integ::kHmacSha256_128}, "aes128-sha256"},
    {{Cipher::kAes256Cbc, Integ::kHmacSha256_128}, "aes256-sha256"},
    {{Cipher::kChacha20Poly1305, Integ::kNone}, "chacha20-poly1305"},
}};

}  // namespace

uint32_t Suite::cipher_key_len() const {
  switch (cipher) {
    case Cipher::kAes128Gcm:
    case Cipher::kAes128Cbc:
      return 16;
    case Cipher::kAes256Gcm:
    case Cipher::kAes256Cbc:
    case Cipher::kChacha20Poly1305:
      return 32;
  }
  return 0;
}

uint32_t Suite::auth_key_len() const {
  switch (integ) {
    case Integ::kNone:
      return 0;
    case Integ::kHmacSha256_128:
      return 32;
    case Integ::kHmacSha384_192:
      return 48;
    case Integ::kHmacSha512_256:
      return 64;
  }
  return 0;
}

uint32_t Suite::icv_len() const {
  switch (integ) {
    case Integ::kNone:
      return 16;
    case Integ::kHmacSha256_128:
      return 16;
    case Integ::kHmacSha384_192:
      return 24;
    case Integ::kHmacSha512_256:
      return 32;
  }
  return 0;
}

std::string_view Suite::name() const {
  for (const auto& n : kNames) {
    if (n.suite == *this) return n.name;
  }
  return "invalid";
}

std::optional<Suite> parse_suite(std::string_view name) {
  for (const auto& n : kNames) {
    if (n.name == name) return n.suite;
  }
  return std::nullopt;
}

}  // namespace portcullis::crypto
