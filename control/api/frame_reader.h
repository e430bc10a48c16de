// frame_reader.h: cuts a byte stream into dataplane channel frames.
//
// The reader owns one buffer. Bytes go in with feed() or read_from(fd);
// next() hands out complete frames as spans into the buffer, valid until
// the next call on the reader. A header announcing more than kMaxPayload is
// answered at once with kRejected, and the payload it announced is then
// dropped as it arrives, never buffered, so a peer cannot make the reader
// hold more than one legitimate frame plus one read. A bad magic is
// kFatal: the stream has lost its framing and cannot be trusted again.
//
// Bytes that held frames are wiped once consumed (frames carry keys).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "control/api/wire.h"

namespace portcullis::ctl::api {

class FrameReader {
 public:
  enum class Kind {
    kNeedMore,  // no complete frame buffered
    kFrame,     // frame holds one frame, header included
    kRejected,  // error: an oversized frame, whose payload will be skipped
    kFatal,     // error: framing lost; close the connection
  };
  struct Item {
    Kind kind = Kind::kNeedMore;
    std::span<const uint8_t> frame;
    DecodeError error;
  };

  enum class ReadStatus { kOk, kEof, kError };
  struct ReadResult {
    ReadStatus status = ReadStatus::kOk;
    size_t bytes = 0;  // read this call, including skipped ones
    int err = 0;       // errno, for kError
  };

  // feed appends bytes as if they had been read from the stream.
  void feed(std::span<const uint8_t> bytes);

  // read_from reads from a non-blocking descriptor until it would block,
  // the peer closed it, or about max_bytes have been read (so one busy peer
  // cannot starve the caller's other work).
  ReadResult read_from(int fd, size_t max_bytes = 1u << 20);

  Item next();

  // buffered is the number of bytes received and not yet handed out.
  size_t buffered() const { return wpos_ - rpos_; }
  // skipping is the number of bytes of a rejected payload still to drop.
  uint64_t skipping() const { return discard_; }

 private:
  // make_room guarantees n writable bytes after wpos_.
  void make_room(size_t n);
  // absorb accounts for n bytes just written at wpos_, dropping those that
  // belong to a rejected payload.
  void absorb(size_t n);

  WireBuffer buf_;
  size_t rpos_ = 0;  // first byte not handed out
  size_t wpos_ = 0;  // end of received bytes
  uint64_t discard_ = 0;
  bool dead_ = false;
};

}  // namespace portcullis::ctl::api
