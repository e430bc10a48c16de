// secure.h: key material from libsodium and wiping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace portcullis::crypto {

// init_sodium initialises libsodium once; safe to call from any thread.
// Returns false if the system has no usable random source.
bool init_sodium();

// random_bytes fills `out` from libsodium's CSPRNG (keys, salts, CBC IVs
// outside the hot path).
void random_bytes(std::span<uint8_t> out);

// wipe zeroes memory that held secrets in a way the compiler keeps.
void wipe(void* p, size_t n);

}  // namespace portcullis::crypto

#include <vector>

namespace portcullis::crypto {

// SecretBytes holds key bytes on the control side and wipes them when it
// is destroyed or reassigned. It never prints its contents.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::span<const uint8_t> b) : bytes_(b.begin(), b.end()) {}
  SecretBytes(const SecretBytes& o) : bytes_(o.bytes_) {}
  SecretBytes(SecretBytes&& o) noexcept : bytes_(std::move(o.bytes_)) {}
  SecretBytes& operator=(const SecretBytes& o) {
    if (this != &o) {
      clear();
      bytes_ = o.bytes_;
    }
    return *this;
  }
  SecretBytes& operator=(SecretBytes&& o) noexcept {
    if (this != &o) {
      clear();
      bytes_ = std::move(o.bytes_);
    }
    return *this;
  }
  ~SecretBytes() { clear(); }

  // random makes n bytes from the CSPRNG.
  static SecretBytes random(size_t n) {
    SecretBytes s;
    s.bytes_.resize(n);
    random_bytes(s.bytes_);
    return s;
  }

  std::span<const uint8_t> span() const { return bytes_; }
  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  void clear() {
    if (!bytes_.empty()) wipe(bytes_.data(), bytes_.size());
    bytes_.clear();
  }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace portcullis::crypto
