// replay_window.cc: the RFC 4303 section 3.4.3 receive window over an
// RFC 6479 bitmap ring. The design note is in replay_window.h.
#include "dataplane/ipsec/replay_window.h"

#include <algorithm>

namespace portcullis::dp {
namespace {

constexpr uint32_t kWordBits = 64;
constexpr uint64_t kMaxSeq32 = 0xffffffff;

static_assert(ReplayWindow::kMinSize % kWordBits == 0 && ReplayWindow::kMaxSize % kWordBits == 0,
              "the size limits must be whole bitmap words, or rounding could leave the range");
static_assert(ReplayWindow::kMinSize == 64 && ReplayWindow::kMaxSize == 1u << 20,
              "validate() spells the limits out: update its messages");
// check() reads every field. Keeping them in 32 bytes lets an SA place the
// window in the same cache line as its other per-packet fields.
static_assert(sizeof(ReplayWindow) <= 32, "keep the window in half a cache line");

uint32_t effective_size(uint32_t window_size) {
  const uint32_t clamped = std::clamp(window_size, ReplayWindow::kMinSize, ReplayWindow::kMaxSize);
  return (clamped + kWordBits - 1) / kWordBits * kWordBits;
}

uint64_t bit_of(uint64_t seq) { return uint64_t{1} << (seq % kWordBits); }

}  // namespace

const char* ReplayWindow::validate(uint32_t window_size) {
  if (window_size < kMinSize) {
    return "the replay window is smaller than 64 packets; set it to between 64 and 1048576";
  }
  if (window_size > kMaxSize) {
    return "the replay window is larger than 1048576 packets; set it to between 64 and 1048576";
  }
  return nullptr;
}

ReplayWindow::ReplayWindow(uint32_t window_size, bool esn, bool enabled)
    : size_(effective_size(window_size)),
      words_(size_ / kWordBits + 1),
      esn_(esn),
      enabled_(enabled) {
  // A disabled window never reads its bitmap. make_unique value-initialises
  // the words, so the window starts with nothing accepted.
  if (enabled_) bitmap_ = std::make_unique<uint64_t[]>(words_);
}

bool ReplayWindow::infer(uint32_t seq_lo, uint64_t* seq) const {
  if (!esn_) {
    *seq = seq_lo;
    return true;
  }
  // The names follow RFC 4303 appendix A2.2: Tl and Th are the halves of the
  // top, Bl the low half of the window's lower edge, Tl - W + 1. In case B
  // that edge lies in the previous subspace and Bl wraps, which unsigned
  // arithmetic does for us.
  const uint32_t tl = static_cast<uint32_t>(top_);
  const uint32_t th = static_cast<uint32_t>(top_ >> 32);
  const uint32_t bl = tl - size_ + 1;
  uint32_t sh;
  if (tl >= size_ - 1) {
    // Case A: the window lies inside subspace Th, so a low half below it can
    // only come from the next subspace. At Th = 2^32 - 1 the increment wraps
    // to 0 and the packet falls far below the window, as it should: the
    // 64-bit counter must never cycle (RFC 4303 section 3.3.3).
    sh = seq_lo >= bl ? th : th + 1;
  } else if (seq_lo >= bl) {
    // Case B, the part of the window in subspace Th - 1. With Th = 0 there
    // is no such subspace: the packet would be older than the SA.
    if (th == 0) {
      *seq = seq_lo;
      return false;
    }
    sh = th - 1;
  } else {
    sh = th;
  }
  *seq = uint64_t{sh} << 32 | seq_lo;
  return true;
}

uint32_t ReplayWindow::slot_of(uint64_t seq) const {
  // Inside the window, seq's word is at most size_ / 64 = words_ - 1 words
  // below top's, so one conditional wrap finds its slot.
  const auto behind = static_cast<uint32_t>(top_ / kWordBits - seq / kWordBits);
  return top_slot_ >= behind ? top_slot_ - behind : top_slot_ + words_ - behind;
}

ReplayWindow::Verdict ReplayWindow::check(uint32_t seq_lo, uint64_t* seq) const {
  uint64_t s;
  const bool inferred = infer(seq_lo, &s);
  *seq = s;
  // RFC 4303 section 3.4.3: with anti-replay off, the receiver does no
  // inbound checks on the sequence number at all, 0 included.
  if (!enabled_) return Verdict::kOk;
  if (!inferred || s == 0) return Verdict::kTooOld;
  if (s > top_) return Verdict::kOk;
  if (top_ - s >= size_) return Verdict::kTooOld;
  return (bitmap_[slot_of(s)] & bit_of(s)) != 0 ? Verdict::kDuplicate : Verdict::kOk;
}

ReplayWindow::Verdict ReplayWindow::update(uint64_t seq) {
  if (!enabled_) {
    top_ = std::max(top_, seq);
    return Verdict::kOk;
  }
  // check() never produces these, but a window that recorded them would
  // break the rule that a 32-bit SA stops at 2^32 - 1 (RFC 4303 section
  // 3.3.3) or accept sequence number 0.
  if (seq == 0 || (!esn_ && seq > kMaxSeq32)) return Verdict::kTooOld;

  if (seq > top_) {
    // The words between the old top's and the new top's now hold numbers
    // that were never seen: clear them as they enter the ring. If the jump
    // passes the whole ring, every old bit is below the new window.
    const uint64_t ahead = seq / kWordBits - top_ / kWordBits;
    if (ahead >= words_) {
      std::fill_n(bitmap_.get(), words_, 0);
      top_slot_ = 0;  // any slot would do once all are clear
    } else {
      for (uint64_t i = 0; i < ahead; ++i) {
        top_slot_ = top_slot_ + 1 == words_ ? 0 : top_slot_ + 1;
        bitmap_[top_slot_] = 0;
      }
    }
    top_ = seq;
  } else if (top_ - seq >= size_) {
    // The window moved past seq between check() and now, under a later
    // packet of the same burst.
    return Verdict::kTooOld;
  }

  uint64_t& word = bitmap_[slot_of(seq)];
  const uint64_t bit = bit_of(seq);
  if ((word & bit) != 0) return Verdict::kDuplicate;
  word |= bit;
  return Verdict::kOk;
}

}  // namespace portcullis::dp
