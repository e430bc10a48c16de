// key_schedule.h: per-SA key-derived state, computed once when an SA is
// built (by the agent, never by a worker), read-only afterwards.
#pragma once

#include <intel-ipsec-mb.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "crypto/slab.h"
#include "crypto/suite.h"

namespace portcullis::crypto {

class Engine;

// KeySchedule holds AES round keys, the GCM hash-key tables, the ChaCha20
// key and the HMAC inner/outer digests for one SA direction. The raw keys
// are not kept. All of it is wiped when the object is destroyed. It lives
// in a secret Slab: on huge pages, locked, never in a core dump.
class alignas(64) KeySchedule : public SlabAllocated<KeySchedule, true> {
 public:
  // create builds the schedule. `cipher_key` is the cipher key followed by
  // the salt for AEADs (RFC 4106 section 8.1: 20 or 36 bytes; RFC 7634:
  // 36 bytes); `auth_key` is the HMAC key for CBC suites. Returns nullptr
  // and sets *error on a size mismatch.
  static std::unique_ptr<KeySchedule> create(Engine& engine, Suite suite,
                                             std::span<const uint8_t> cipher_key,
                                             std::span<const uint8_t> auth_key, std::string* error);

  // create_hmac builds an HMAC-only schedule (any key length, RFC 2104),
  // for tests of the HMAC layer on its own. Messages must be at least one
  // byte: IPsec-MB 1.3 refuses zero-length HMAC jobs, and the op fails.
  static std::unique_ptr<KeySchedule> create_hmac(Engine& engine, Integ integ,
                                                  std::span<const uint8_t> key);

  ~KeySchedule();
  KeySchedule(const KeySchedule&) = delete;
  KeySchedule& operator=(const KeySchedule&) = delete;

  Suite suite() const { return suite_; }
  const uint8_t* salt() const { return salt_; }

  // hot_lines says which of this object's cache lines the crypto of a
  // short packet reads (bit i: the 64 bytes at this + 64 * i), outbound or
  // (decrypt) inbound, so that a worker can prefetch exactly those for a
  // tunnel that has gone cold: an AES-128 SA's GCM needs five of its
  // sixteen lines, a ChaCha20 SA's two.
  uint32_t hot_lines(bool decrypt) const { return hot_lines_[decrypt ? 1 : 0]; }

 private:
  friend class Engine;
  KeySchedule() = default;
  void set_hmac(Engine& engine, Integ integ, std::span<const uint8_t> key);
  void set_hot_lines(const Engine& engine);

  // CBC: AES round keys both ways and the HMAC inner/outer states.
  struct Cbc {
    alignas(16) uint8_t aes_enc[16 * 15];
    alignas(16) uint8_t aes_dec[16 * 15];
    alignas(16) uint8_t ipad[64];  // compression state after (key ^ ipad)
    alignas(16) uint8_t opad[64];  // compression state after (key ^ opad)
  };
  // Only one suite's state is ever used, so they share storage: a GCM SA
  // then costs about 1 KiB instead of 1.6.
  union {
    // GCM: round keys and hash-key powers; the layout depends on the
    // IPsec-MB architecture, so every Engine on a host must pick the same
    // one (init_mb_mgr_auto does).
    struct gcm_key_data gcm_;
    Cbc cbc_;
    alignas(16) uint8_t chacha_key_[32];
  };
  uint8_t salt_[4] = {};
  uint32_t hot_lines_[2] = {0, 0};
  bool hmac_only_ = false;
  Suite suite_;
};

}  // namespace portcullis::crypto
