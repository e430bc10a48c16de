#include "control/api/frame_reader.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace portcullis::ctl::api {

namespace {
constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kMinBuffer = 4096;
}  // namespace

void FrameReader::make_room(size_t n) {
  if (rpos_ == wpos_ && wpos_ != 0) {
    crypto::wipe(buf_.data(), wpos_);
    rpos_ = wpos_ = 0;
  }
  if (buf_.size() - wpos_ >= n) return;
  if (rpos_ != 0) {
    // Slide the unread bytes to the front and wipe what they leave behind.
    const size_t live = wpos_ - rpos_;
    std::memmove(buf_.data(), buf_.data() + rpos_, live);
    crypto::wipe(buf_.data() + live, wpos_ - live);
    rpos_ = 0;
    wpos_ = live;
  }
  if (buf_.size() - wpos_ < n) {
    buf_.resize(std::max({buf_.size() * 2, wpos_ + n, kMinBuffer}));
  }
}

void FrameReader::absorb(size_t n) {
  if (discard_ != 0) {
    // A payload is being skipped, so everything before it was consumed:
    // rpos_ == wpos_, and the skipped bytes are consumed by moving both.
    const size_t d = static_cast<size_t>(std::min<uint64_t>(discard_, n));
    discard_ -= d;
    rpos_ += d;
  }
  wpos_ += n;
}

void FrameReader::feed(std::span<const uint8_t> bytes) {
  if (dead_) return;
  while (!bytes.empty()) {
    const size_t n = std::min(bytes.size(), kReadChunk);
    make_room(n);
    std::memcpy(buf_.data() + wpos_, bytes.data(), n);
    absorb(n);
    bytes = bytes.subspan(n);
  }
}

FrameReader::ReadResult FrameReader::read_from(int fd, size_t max_bytes) {
  ReadResult r;
  while (!dead_ && r.bytes < max_bytes) {
    make_room(kReadChunk);
    const ssize_t got = ::read(fd, buf_.data() + wpos_, buf_.size() - wpos_);
    if (got > 0) {
      absorb(static_cast<size_t>(got));
      r.bytes += static_cast<size_t>(got);
      continue;
    }
    if (got == 0) {
      r.status = ReadStatus::kEof;
    } else if (errno == EINTR) {
      continue;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
      r.status = ReadStatus::kError;
      r.err = errno;
    }
    break;
  }
  return r;
}

FrameReader::Item FrameReader::next() {
  Item it;
  const size_t avail = wpos_ - rpos_;
  if (dead_ || avail < kHeaderSize) return it;
  const Header h = read_header(buf_.data() + rpos_);
  if (auto e = check_framing(h)) {
    it.error = std::move(*e);
    if (it.error.fatal) {
      dead_ = true;
      crypto::wipe(buf_.data(), buf_.size());
      rpos_ = wpos_ = 0;
      it.kind = Kind::kFatal;
      return it;
    }
    // Oversized: drop the header and whatever of its payload is here, and
    // skip the rest as it arrives.
    rpos_ += kHeaderSize;
    const size_t here = static_cast<size_t>(std::min<uint64_t>(avail - kHeaderSize, h.payload_len));
    rpos_ += here;
    discard_ = h.payload_len - here;
    it.kind = Kind::kRejected;
    return it;
  }
  const size_t need = kHeaderSize + h.payload_len;
  if (avail < need) return it;
  it.kind = Kind::kFrame;
  it.frame = std::span<const uint8_t>(buf_.data() + rpos_, need);
  rpos_ += need;
  return it;
}

}  // namespace portcullis::ctl::api
