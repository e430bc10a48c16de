#include "control/daemon/keys.h"

#include <sodium.h>

#include <cstring>

#include "config/secrets.h"

namespace portcullis::ctl::daemon {

std::string fingerprint(std::span<const uint8_t> key) {
  uint8_t h[32];
  crypto_generichash(h, sizeof h, key.data(), key.size(), nullptr, 0);
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 8; i++) {
    s += hex[h[i] >> 4];
    s += hex[h[i] & 15];
  }
  return s;
}

std::unique_ptr<GuardedKey> GuardedKey::from(std::span<const uint8_t> bytes) {
  if (sodium_init() < 0 || bytes.empty()) return nullptr;
  void* p = sodium_malloc(bytes.size());
  if (p == nullptr) return nullptr;
  std::memcpy(p, bytes.data(), bytes.size());
  sodium_mprotect_noaccess(p);
  return std::unique_ptr<GuardedKey>(new GuardedKey(p, bytes.size(), daemon::fingerprint(bytes)));
}

std::unique_ptr<GuardedKey> GuardedKey::load(const std::string& path, size_t len, std::string* error) {
  auto k = config::read_secret_file(path, len, error);
  if (!k) return nullptr;
  auto g = from(k->span());
  if (!g) *error = path + ": cannot allocate guarded memory for the key (RLIMIT_MEMLOCK?)";
  return g;
}

GuardedKey::~GuardedKey() {
  sodium_mprotect_readwrite(p_);
  sodium_free(p_);  // wipes
}

api::KeyBytes GuardedKey::copy() const {
  sodium_mprotect_readonly(p_);
  api::KeyBytes k(std::span<const uint8_t>(static_cast<const uint8_t*>(p_), len_));
  sodium_mprotect_noaccess(p_);
  return k;
}

}  // namespace portcullis::ctl::daemon
