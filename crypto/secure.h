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
