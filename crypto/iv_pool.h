// iv_pool.h: unpredictable CBC IVs for the hot path without a system call
// per packet.
//
// RFC 4303 section 3.3.2 / RFC 3602 section 3 require CBC IVs that an
// attacker cannot predict. libsodium's randombytes_buf() may enter the
// kernel on every call, so each worker instead keeps a ChaCha20 keystream
// keyed once from libsodium's CSPRNG and hands it out 16 bytes at a time,
// refilling a block of it when it runs dry. One pool per worker; not
// thread-safe.
#pragma once

#include <cstdint>
#include <cstring>

namespace portcullis::crypto {

class IvPool {
 public:
  IvPool();
  ~IvPool();
  IvPool(const IvPool&) = delete;
  IvPool& operator=(const IvPool&) = delete;

  // take16 copies the next 16 unpredictable bytes to out.
  void take16(uint8_t* out) {
    if (pos_ + 16 > kBytes) refill();
    std::memcpy(out, buf_ + pos_, 16);
    pos_ += 16;
  }

 private:
  static constexpr uint32_t kBytes = 4096;
  void refill();

  uint8_t key_[32];
  uint64_t counter_ = 0;
  uint32_t pos_ = kBytes;
  alignas(64) uint8_t buf_[kBytes];
};

}  // namespace portcullis::crypto
