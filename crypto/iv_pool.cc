#include "crypto/iv_pool.h"

#include <sodium.h>

#include "crypto/secure.h"

namespace portcullis::crypto {

IvPool::IvPool() { random_bytes(key_); }

IvPool::~IvPool() {
  wipe(key_, sizeof(key_));
  wipe(buf_, sizeof(buf_));
}

void IvPool::refill() {
  // A fresh nonce per refill: the keystream never repeats under the key.
  uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {};
  std::memcpy(nonce, &counter_, sizeof(counter_));
  counter_++;
  crypto_stream_chacha20_ietf(buf_, kBytes, nonce, key_);
  pos_ = 0;
}

}  // namespace portcullis::crypto
