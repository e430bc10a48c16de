// engine.h: one Intel IPsec-MB manager per lcore, driven in bursts.
//
// Concurrency: an Engine belongs to exactly one thread (a worker lcore or
// the agent). Nothing in it is shared; create one per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

struct IMB_MGR;
struct IMB_JOB;

namespace portcullis::crypto {

class KeySchedule;

// CryptoOp is one packet's worth of crypto work for seal_burst/open_burst.
// The caller fills the offsets and scratch fields; the engine fills `tag`
// and `ok`. Ciphering is always in place.
struct CryptoOp {
  const KeySchedule* ks;
  uint8_t* data;                    // base of the packet bytes
  uint32_t cipher_offset;           // first byte to encrypt or decrypt, from data
  uint32_t cipher_len;              // bytes to encrypt or decrypt (CBC: multiple of 16)
  uint32_t auth_offset;             // CBC+HMAC: first byte covered by the HMAC
  uint32_t auth_len;                // CBC+HMAC: bytes covered by the HMAC; at least 1
                                    // (IPsec-MB 1.3 refuses to hash an empty message;
                                    // ESP always covers at least its 8-byte header)
  uint32_t aad_len;                 // AEAD: bytes of additional data at `aad`
  uint32_t tag_len;                 // bytes of tag produced or compared; open needs >= 16
  const uint8_t* expected_tag;      // open only: the tag received
  const uint8_t* aad;               // AEAD additional data; ESP points it at aad_buf
  bool ok;                          // open: tag verified; seal: job completed
  alignas(16) uint8_t iv[16];       // AEAD: 12-byte nonce (salt || IV); CBC: 16-byte IV
  alignas(16) uint8_t aad_buf[16];  // scratch for ESP's 8- or 12-byte AAD
  alignas(16) uint8_t tag[64];      // seal: tag out; open: computed tag
};

// Engine is a per-thread IPsec-MB manager. The best code path the CPU
// supports (SSE, AVX, AVX2, AVX-512) is chosen at run time and logged once.
class Engine {
 public:
  // create returns nullptr and sets *error when IPsec-MB cannot start.
  static std::unique_ptr<Engine> create(std::string* error);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // seal_burst encrypts and authenticates every op in place, writing each
  // op's tag to op.tag. Returns how many completed (all unless IPsec-MB
  // rejected a job, which marks that op !ok).
  size_t seal_burst(std::span<CryptoOp> ops);

  // open_burst authenticates and decrypts every op in place and compares
  // the computed tag with op.expected_tag in constant time. Returns how many
  // verified; ops that did not have ok == false. A failed op's data is
  // decrypted garbage and must be dropped.
  size_t open_burst(std::span<CryptoOp> ops);

  IMB_MGR* mgr() const { return mgr_; }
  // arch_name is "SSE", "AVX", "AVX2" or "AVX512".
  std::string_view arch_name() const { return arch_name_; }

 private:
  Engine(IMB_MGR* mgr, std::string_view arch) : mgr_(mgr), arch_name_(arch) {}
  size_t run_burst(std::span<CryptoOp> ops, bool seal);
  static bool op_valid(const CryptoOp& op, bool seal);
  static void fill_job(IMB_JOB* job, CryptoOp& op, bool seal);

  IMB_MGR* mgr_;
  std::string_view arch_name_;
};

}  // namespace portcullis::crypto
