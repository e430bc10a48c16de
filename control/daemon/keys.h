// keys.h: manual ESP keys as portcullisd holds them.
//
// A GuardedKey lives in libsodium guarded memory (sodium_malloc: guard
// pages around it, locked in RAM so it is never swapped, excluded from core
// dumps with MADV_DONTDUMP, wiped by sodium_free). It is readable only
// while an SA message is being built (sodium_mprotect_readonly), and
// no-access the rest of the time. Logs and the CLI show the fingerprint.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "control/api/message.h"

namespace portcullis::ctl::daemon {

class GuardedKey {
 public:
  // load reads a key file through config::read_secret_file (mode 0600 or
  // stricter, exact length); nullptr and *error on failure.
  static std::unique_ptr<GuardedKey> load(const std::string& path, size_t len, std::string* error);
  static std::unique_ptr<GuardedKey> from(std::span<const uint8_t> bytes);
  ~GuardedKey();
  GuardedKey(const GuardedKey&) = delete;
  GuardedKey& operator=(const GuardedKey&) = delete;

  // copy gives the bytes for one channel message; KeyBytes wipes itself.
  api::KeyBytes copy() const;
  size_t size() const { return len_; }
  const std::string& fingerprint() const { return fp_; }

 private:
  GuardedKey(void* p, size_t len, std::string fp) : p_(p), len_(len), fp_(std::move(fp)) {}
  void* p_;
  size_t len_;
  std::string fp_;
};

// fingerprint is the first 8 bytes of BLAKE2b-256 of the key, in hex: it
// names a key without revealing it.
std::string fingerprint(std::span<const uint8_t> key);

}  // namespace portcullis::ctl::daemon
