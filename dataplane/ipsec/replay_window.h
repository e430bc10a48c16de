// replay_window.h: the ESP anti-replay window of one inbound SA
// (RFC 4303 section 3.4.3), with extended sequence number inference
// (RFC 4303 appendix A2.2).
//
// Concurrency contract: a ReplayWindow belongs to the one worker thread that
// receives its inbound SA. Nothing in it is atomic and it takes no locks, so
// no other thread may call any member, not even top() for statistics, once
// the SA has been handed to that worker. The control plane builds the window
// and publishes it with the SA; a new SA gets a new window.
//
// Design note.
//
// The bitmap follows RFC 6479: a ring of size/64 + 1 words of 64 bits. The bit
// for sequence number s is bit s % 64 of the word that holds s / 64. Advancing
// the top never shifts the bitmap; it only zeroes the ring words that the new
// top enters, so an in-order packet costs one word write and at most one
// extra word clear. The spare word is what lets the window's lower edge sit in
// the middle of a word while the word above the top is cleared as a whole.
// A jump further than the ring zeroes every word once: the cost is bounded by
// the window, never by the distance jumped.
//
// RFC 6479 finds a word with a mask, which forces the ring to a power of two
// and would double the memory of the common 2^n windows (2^n/64 + 1 words
// rounds up to 2^(n-5)). Instead, words are addressed by their distance from
// the word that holds the top, whose ring slot is kept in top_slot_. That
// keeps exactly size/64 + 1 words for any multiple of 64 and needs no
// division on the hot path.
//
// RFC 4303 section 3.4.3 has the receiver check the sequence number before
// verifying the ICV but update the window only once the ICV is good, so that
// forged packets cannot move the window. check() is therefore const, and
// update() checks again, because two copies of one packet in the same burst
// both pass check() before either is recorded.
//
// With ESN, appendix A2.2 places every received low half into the 2^32
// sequence numbers that start at the window's lower edge. A packet older than
// the window is thus taken for one from the next subspace and fails its ICV
// there, which is why check() with ESN says kTooOld only at the very start of
// the SA. Resynchronisation after 2^32 consecutive losses (appendix A3) is
// not done: such an SA stops verifying and the IKE daemon has to rekey it.
//
// check() and update() live in the .cc: a call costs little next to an ICV,
// and link-time optimisation can inline them.
#pragma once

#include <cstdint>
#include <memory>

namespace portcullis::dp {

// ReplayWindow remembers which sequence numbers of an inbound SA were
// accepted among the last size() below the highest one, top(). Sequence
// number 0 is never sent (RFC 4303 section 3.3.3) and is never accepted.
class ReplayWindow {
 public:
  // RFC 4303 section 3.4.3 asks for at least 32 packets and recommends 64;
  // one whole bitmap word is the smallest window that makes sense here.
  static constexpr uint32_t kMinSize = 64;
  // Portcullis must take windows of 65,536 packets. 2^20 packets, over
  // 100 ms of a 100 Gb/s link at 1500 bytes, leaves room above that while
  // bounding the bitmap at 128 KiB per SA.
  static constexpr uint32_t kMaxSize = 1u << 20;

  enum class Verdict : uint8_t {
    kOk,         // Not seen yet; on update(), now recorded.
    kDuplicate,  // Inside the window and already accepted.
    kTooOld,     // Below the window, or sequence number 0.
  };

  // validate says why `window_size` cannot be used, or returns nullptr if it
  // can. Configuration code calls it before building a window.
  [[nodiscard]] static const char* validate(uint32_t window_size);

  // The window holds `window_size` packets rounded up to a multiple of 64, so
  // that its lower edge moves a whole bitmap word at a time. A size outside
  // kMinSize..kMaxSize, which validate() rejects, is clamped into that range.
  // `esn` selects 64-bit extended sequence numbers (RFC 4303 section 2.2.1).
  // With `enabled` false no replay check is done (RFC 4303 section 3.4.3
  // lets a receiver turn it off; benchmarks replay captures this way): every
  // verdict is kOk, but sequence numbers are still inferred and top() still
  // follows them, and no bitmap is allocated.
  //
  // The constructor allocates the bitmap, which may throw std::bad_alloc;
  // nothing after it allocates or throws.
  ReplayWindow(uint32_t window_size, bool esn, bool enabled = true);

  // A moved-from window may only be destroyed or assigned to.
  ReplayWindow(ReplayWindow&&) noexcept = default;
  ReplayWindow& operator=(ReplayWindow&&) noexcept = default;
  ~ReplayWindow() = default;

  // check is called before the ICV is verified, with the low 32 bits from the
  // ESP header. It stores the full sequence number in *seq, which the caller
  // needs for the ICV: with ESN its high 32 bits are authenticated too (RFC
  // 4303 section 2.2.1, RFC 4106 section 5). Without ESN the high bits are 0.
  // When ESN inference would need high bits below 0, *seq gets high bits 0
  // and the verdict is kTooOld (kOk when disabled). The window is unchanged.
  [[nodiscard]] Verdict check(uint32_t seq_lo, uint64_t* seq) const;

  // update records `seq`, the value check() stored, once its packet's ICV has
  // verified, and slides the window up if `seq` is above top(). It returns
  // the verdict again: a copy of a packet accepted earlier in the same burst
  // is kDuplicate here, and the caller drops every packet that is not kOk.
  [[nodiscard]] Verdict update(uint64_t seq);

  // top is the highest sequence number accepted so far, 0 before the first.
  uint64_t top() const { return top_; }
  // size is the effective window size in packets, a multiple of 64.
  uint32_t size() const { return size_; }
  bool esn() const { return esn_; }
  bool enabled() const { return enabled_; }

 private:
  // infer applies RFC 4303 appendix A2.2. It returns false when the packet
  // would belong below sequence number 0.
  bool infer(uint32_t seq_lo, uint64_t* seq) const;
  // slot_of returns the ring slot of the word holding `seq`, which must be
  // inside the window.
  uint32_t slot_of(uint64_t seq) const;

  // Everything check() reads sits in these 32 bytes.
  uint64_t top_ = 0;
  std::unique_ptr<uint64_t[]> bitmap_;  // words_ words; null when disabled
  uint32_t size_;                       // packets, a multiple of 64
  uint32_t words_;                      // size_ / 64 + 1
  uint32_t top_slot_ = 0;               // ring slot of the word holding top_
  bool esn_;
  bool enabled_;
};

}  // namespace portcullis::dp
