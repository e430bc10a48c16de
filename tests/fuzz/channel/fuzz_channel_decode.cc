// fuzz_channel_decode.cc: libFuzzer target for the dataplane channel
// codec and framing (control/api).
//
// Each input is used three ways:
//   1. as one frame, for decode() as is;
//   2. with its header repaired (magic, version, payload_len) so that the
//      fuzzer's mutations reach the attribute parser instead of dying at
//      the length check; byte 6 still picks the message type;
//   3. as a stream, fed to a FrameReader in pieces whose sizes come from
//      the input's first byte, decoding every frame it yields.
// Whatever decodes must re-encode, decode to an equal Message, re-encode
// to the same bytes, and format without crashing.
//
// Seed corpus: PORTCULLIS_FUZZ_WRITE_CORPUS=DIR fuzz_channel_decode writes
// one frame per sample message (tests/unit/control/sample_messages.h) to
// DIR, and exits.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "control/api/codec.h"
#include "control/api/format.h"
#include "control/api/frame_reader.h"
#include "sample_messages.h"

namespace portcullis::ctl::api {
namespace {

// FUZZ_CHECK aborts with a message when an invariant does not hold, so that
// libFuzzer records the input.
#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

void check_round_trip(std::span<const uint8_t> frame) {
  DecodeResult d = decode(frame);
  if (!d) {
    FUZZ_CHECK(!d.error().message.empty());
    FUZZ_CHECK(decode(encode(error_reply(d.error()))).ok());
    return;
  }
  const WireBuffer once = encode(*d);
  DecodeResult again = decode(once);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *d);
  const WireBuffer twice = encode(*again);
  FUZZ_CHECK(once == twice);
  FUZZ_CHECK(!to_string(*d).empty());
}

void write_corpus(const char* dir) {
  int n = 0;
  for (const Message& m : testing::sample_messages()) {
    const WireBuffer f = encode(m);
    const std::string path =
        std::string(dir) + "/seed-" + std::to_string(n++) + "-" + type_name(type_of(m));
    FILE* out = std::fopen(path.c_str(), "wb");
    if (!out || std::fwrite(f.data(), 1, f.size(), out) != f.size() || std::fclose(out) != 0) {
      std::perror(path.c_str());
      std::exit(1);
    }
  }
  std::exit(0);
}

}  // namespace
}  // namespace portcullis::ctl::api

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("PORTCULLIS_FUZZ_WRITE_CORPUS")) {
    portcullis::ctl::api::write_corpus(dir);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace portcullis::ctl::api;
  const std::span<const uint8_t> in(data, size);

  check_round_trip(in);

  if (size >= kHeaderSize && size - kHeaderSize <= kMaxPayload) {
    std::vector<uint8_t> fixed(in.begin(), in.end());
    Header h = read_header(fixed.data());
    h.magic = kMagic;
    h.version = kVersion;
    h.payload_len = static_cast<uint32_t>(size - kHeaderSize);
    write_header(fixed.data(), h);
    check_round_trip(fixed);
  }

  FrameReader reader;
  const size_t piece = size ? 1 + data[0] % 64 : 1;
  for (size_t off = 0; off < size; off += piece) {
    reader.feed(in.subspan(off, std::min(piece, size - off)));
    for (;;) {
      FrameReader::Item it = reader.next();
      if (it.kind == FrameReader::Kind::kNeedMore) break;
      if (it.kind == FrameReader::Kind::kFrame) {
        check_round_trip(it.frame);
      } else {
        FUZZ_CHECK(!it.error.message.empty());
      }
      if (it.kind == FrameReader::Kind::kFatal) break;
    }
  }
  return 0;
}
