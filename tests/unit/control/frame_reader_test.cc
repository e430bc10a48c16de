// frame_reader_test.cc: framing a byte stream however it is cut up, and
// refusing oversized frames without buffering them.
#include "control/api/frame_reader.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/api/codec.h"
#include "sample_messages.h"

namespace portcullis::ctl::api {
namespace {

using testing::sample_messages;

WireBuffer stream_of(const std::vector<Message>& msgs) {
  WireBuffer all;
  for (const Message& m : msgs) encode_to(m, all);
  return all;
}

// drain decodes every frame the reader holds and appends it to out.
void drain(FrameReader& r, std::vector<Message>& out) {
  for (;;) {
    FrameReader::Item it = r.next();
    if (it.kind == FrameReader::Kind::kNeedMore) return;
    ASSERT_EQ(it.kind, FrameReader::Kind::kFrame) << it.error.message;
    DecodeResult d = decode(it.frame);
    ASSERT_TRUE(d.ok()) << d.error().message;
    out.push_back(std::move(*d));
  }
}

TEST(FrameReader, ByteByByte) {
  const auto msgs = sample_messages();
  const WireBuffer all = stream_of(msgs);
  FrameReader r;
  std::vector<Message> got;
  for (uint8_t b : all) {
    r.feed(std::span<const uint8_t>(&b, 1));
    drain(r, got);
  }
  ASSERT_EQ(got.size(), msgs.size());
  for (size_t i = 0; i < msgs.size(); ++i) EXPECT_TRUE(got[i] == msgs[i]) << i;
  EXPECT_EQ(r.buffered(), 0u);
}

TEST(FrameReader, ManyFramesInOneChunk) {
  std::vector<Message> msgs;
  for (int rep = 0; rep < 50; ++rep) {
    for (Message& m : sample_messages()) msgs.push_back(std::move(m));
  }
  const WireBuffer all = stream_of(msgs);
  FrameReader r;
  r.feed(all);
  std::vector<Message> got;
  drain(r, got);
  ASSERT_EQ(got.size(), msgs.size());
  for (size_t i = 0; i < msgs.size(); ++i) EXPECT_TRUE(got[i] == msgs[i]) << i;
}

TEST(FrameReader, UnevenChunks) {
  const auto msgs = sample_messages();
  const WireBuffer all = stream_of(msgs);
  for (size_t chunk : {2u, 15u, 16u, 17u, 100u, 4095u}) {
    FrameReader r;
    std::vector<Message> got;
    for (size_t off = 0; off < all.size(); off += chunk) {
      r.feed(std::span<const uint8_t>(all.data() + off, std::min(chunk, all.size() - off)));
      drain(r, got);
    }
    EXPECT_EQ(got.size(), msgs.size()) << "chunk " << chunk;
  }
}

// A header announcing a payload above the limit is answered as soon as the
// header is in; its payload is then skipped as it arrives and never held,
// and the frame after it is read normally.
TEST(FrameReader, OversizedIsRejectedWithoutBuffering) {
  const uint32_t big = kMaxPayload + 1000;
  uint8_t hdr[kHeaderSize];
  write_header(hdr, Header{kMagic, kVersion, static_cast<uint16_t>(MsgType::kSaAdd), 5, big});
  FrameReader r;
  r.feed(hdr);
  FrameReader::Item it = r.next();
  ASSERT_EQ(it.kind, FrameReader::Kind::kRejected);
  EXPECT_EQ(it.error.status, Status::kTooLarge);
  EXPECT_EQ(it.error.request_id, 5u);
  EXPECT_EQ(r.skipping(), big);

  const std::vector<uint8_t> junk(1 << 20, 0xee);
  uint64_t left = big;
  while (left > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(left, junk.size()));
    r.feed(std::span<const uint8_t>(junk.data(), n));
    left -= n;
    EXPECT_EQ(r.buffered(), 0u);
    EXPECT_EQ(r.next().kind, FrameReader::Kind::kNeedMore);
  }
  EXPECT_EQ(r.skipping(), 0u);
  r.feed(encode(SaDel{6, 1}));
  it = r.next();
  ASSERT_EQ(it.kind, FrameReader::Kind::kFrame);
  EXPECT_TRUE(*decode(it.frame) == Message(SaDel{6, 1}));
}

// Part of the oversized payload may arrive with the header, and the next
// frame may follow in the same chunk as the end of the skipped payload.
TEST(FrameReader, OversizedSharingChunks) {
  const uint32_t big = kMaxPayload + 1;
  WireBuffer s(kHeaderSize);
  write_header(s.data(), Header{kMagic, kVersion, static_cast<uint16_t>(MsgType::kInject), 9, big});
  s.resize(kHeaderSize + 100, 0x11);  // the first 100 payload bytes
  FrameReader r;
  r.feed(s);
  ASSERT_EQ(r.next().kind, FrameReader::Kind::kRejected);
  EXPECT_EQ(r.skipping(), big - 100);
  std::vector<uint8_t> rest(big - 100, 0x22);
  const WireBuffer next = encode(Commit{10});
  rest.insert(rest.end(), next.begin(), next.end());
  r.feed(rest);
  FrameReader::Item it = r.next();
  ASSERT_EQ(it.kind, FrameReader::Kind::kFrame);
  EXPECT_TRUE(*decode(it.frame) == Message(Commit{10}));
}

TEST(FrameReader, BadMagicIsFatal) {
  WireBuffer f = encode(Begin{1});
  f[0] ^= 0xff;
  FrameReader r;
  r.feed(f);
  FrameReader::Item it = r.next();
  ASSERT_EQ(it.kind, FrameReader::Kind::kFatal);
  EXPECT_TRUE(it.error.fatal);
  r.feed(encode(Begin{2}));  // nothing after a lost framing is trusted
  EXPECT_EQ(r.next().kind, FrameReader::Kind::kNeedMore);
}

// A frame at exactly the payload limit is accepted.
TEST(FrameReader, LargestFrame) {
  WireBuffer f(kHeaderSize);
  write_header(f.data(),
               Header{kMagic, kVersion, static_cast<uint16_t>(MsgType::kBegin), 3, kMaxPayload});
  // A payload of unknown attributes: 0xffff-byte TLVs and one to fill up.
  while (f.size() - kHeaderSize + kTlvHeaderSize + 0xffff <= kMaxPayload) {
    const size_t at = f.size();
    f.resize(at + kTlvHeaderSize + 0xffff);
    store_le16(f.data() + at, 0x7777);
    store_le16(f.data() + at + 2, 0xffff);
  }
  const size_t fill = kMaxPayload - (f.size() - kHeaderSize) - kTlvHeaderSize;
  const size_t at = f.size();
  f.resize(at + kTlvHeaderSize + fill);
  store_le16(f.data() + at, 0x7777);
  store_le16(f.data() + at + 2, static_cast<uint16_t>(fill));
  ASSERT_EQ(f.size(), kHeaderSize + kMaxPayload);
  FrameReader r;
  r.feed(f);
  FrameReader::Item it = r.next();
  ASSERT_EQ(it.kind, FrameReader::Kind::kFrame);
  EXPECT_TRUE(*decode(it.frame) == Message(Begin{3}));
}

TEST(FrameReader, ReadFromSocket) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  const auto msgs = sample_messages();
  const WireBuffer all = stream_of(msgs);
  ASSERT_EQ(write(sv[0], all.data(), all.size()), static_cast<ssize_t>(all.size()));
  close(sv[0]);
  FrameReader r;
  auto rr = r.read_from(sv[1]);
  EXPECT_EQ(rr.status, FrameReader::ReadStatus::kEof);
  EXPECT_EQ(rr.bytes, all.size());
  std::vector<Message> got;
  drain(r, got);
  EXPECT_EQ(got.size(), msgs.size());
  close(sv[1]);
}

}  // namespace
}  // namespace portcullis::ctl::api
