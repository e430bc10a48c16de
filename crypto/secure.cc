#include "crypto/secure.h"

#include <sodium.h>

namespace portcullis::crypto {

bool init_sodium() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

void random_bytes(std::span<uint8_t> out) {
  init_sodium();
  randombytes_buf(out.data(), out.size());
}

void wipe(void* p, size_t n) { sodium_memzero(p, n); }

}  // namespace portcullis::crypto
