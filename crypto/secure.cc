#include "crypto/secure.h"

#include <sodium.h>

namespace portcullis::crypto {

bool init_sodium() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

void random_bytes(std::span<uint8_t> out) {
  if (out.empty()) return;  // randombytes_buf would be handed a null pointer
  init_sodium();
  randombytes_buf(out.data(), out.size());
}

void wipe(void* p, size_t n) { sodium_memzero(p, n); }

}  // namespace portcullis::crypto
