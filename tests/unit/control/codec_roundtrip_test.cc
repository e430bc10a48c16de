// codec_roundtrip_test.cc: every message type, with its fields populated,
// survives encode then decode unchanged; unknown attributes are skipped.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <set>
#include <stdexcept>

#include "control/api/codec.h"
#include "control/api/format.h"
#include "sample_messages.h"

namespace portcullis::ctl::api {
namespace {

using testing::sample_messages;
using testing::sample_sa_add;

TEST(CodecRoundTrip, EveryMessageType) {
  std::set<size_t> kinds;
  for (const Message& m : sample_messages()) {
    SCOPED_TRACE(to_string(m));
    kinds.insert(m.index());
    const WireBuffer frame = encode(m);
    const Header h = read_header(frame.data());
    EXPECT_EQ(h.magic, kMagic);
    EXPECT_EQ(h.version, kVersion);
    EXPECT_EQ(h.type, static_cast<uint16_t>(type_of(m)));
    EXPECT_EQ(h.request_id, request_id_of(m));
    EXPECT_EQ(h.payload_len, frame.size() - kHeaderSize);
    DecodeResult d = decode(frame);
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_TRUE(*d == m);
    // Encoding is canonical: the decoded message encodes to the same bytes.
    const WireBuffer again = encode(*d);
    EXPECT_TRUE(std::equal(frame.begin(), frame.end(), again.begin(), again.end()));
  }
  EXPECT_EQ(kinds.size(), std::variant_size_v<Message>) << "a message type has no sample";
}

TEST(CodecRoundTrip, ManyFramesInOneBuffer) {
  WireBuffer all;
  const auto msgs = sample_messages();
  for (const Message& m : msgs) encode_to(m, all);
  size_t off = 0;
  for (const Message& m : msgs) {
    const Header h = read_header(all.data() + off);
    const size_t len = kHeaderSize + h.payload_len;
    DecodeResult d = decode(std::span<const uint8_t>(all.data() + off, len));
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_TRUE(*d == m);
    off += len;
  }
  EXPECT_EQ(off, all.size());
}

// A newer peer may add attributes anywhere, nested ones included.
TEST(CodecRoundTrip, UnknownAttributesAreSkipped) {
  PolicyAdd p{
      9,
      7,
      100,
      Direction::kOut,
      Selector{Prefix{IpAddr::v4(10, 0, 0, 0), 8}, Prefix{IpAddr::v4(10, 1, 0, 0), 16}, 0, {}, {}},
      Action::kProtect,
      3};
  WireBuffer f = encode(p);
  // Insert an unknown attribute (type 999, 3 bytes) at the start of the
  // payload and another inside the selector, fixing up the lengths.
  const uint8_t unknown[] = {0xe7, 0x03, 0x03, 0x00, 1, 2, 3};
  f.insert(f.begin() + kHeaderSize, std::begin(unknown), std::end(unknown));
  size_t off = kHeaderSize + sizeof unknown;
  while (load_le16(f.data() + off) != static_cast<uint16_t>(Attr::kSelector)) {
    off += kTlvHeaderSize + load_le16(f.data() + off + 2);
  }
  store_le16(f.data() + off + 2, static_cast<uint16_t>(load_le16(f.data() + off + 2) + 7));
  f.insert(f.begin() + static_cast<ptrdiff_t>(off + kTlvHeaderSize), std::begin(unknown),
           std::end(unknown));
  store_le32(f.data() + 12, static_cast<uint32_t>(f.size() - kHeaderSize));
  DecodeResult d = decode(f);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_TRUE(*d == Message(p));
}

TEST(CodecRoundTrip, UnknownStatusAndPayloadKindAreKept) {
  WireBuffer f = encode(Reply{3, static_cast<Status>(4242), "x", {}});
  // payload_kind 9: a payload of a later version.
  const uint8_t kind[] = {static_cast<uint8_t>(Attr::kPayloadKind), 0, 1, 0, 9};
  f.insert(f.end(), std::begin(kind), std::end(kind));
  store_le32(f.data() + 12, static_cast<uint32_t>(f.size() - kHeaderSize));
  DecodeResult d = decode(f);
  ASSERT_TRUE(d.ok()) << d.error().message;
  const Reply& r = std::get<Reply>(*d);
  EXPECT_EQ(static_cast<uint16_t>(r.status), 4242);
  EXPECT_EQ(status_name(r.status), "status(4242)");
  EXPECT_TRUE(std::holds_alternative<std::monostate>(r.payload));
}

TEST(CodecRoundTrip, EncodeRefusesWhatCannotBeRepresented) {
  Inject big{1, 0, std::vector<uint8_t>(70000, 1)};
  WireBuffer out = encode(Reply{1, Status::kOk, "", {}});
  const size_t before = out.size();
  EXPECT_THROW(encode_to(big, out), std::length_error);
  EXPECT_EQ(out.size(), before) << "a failed encode must leave the buffer as it was";

  Stats many;
  many.counters.assign(200000, Counter{std::string(100, 'c'), 1});
  EXPECT_THROW(encode(Reply{1, Status::kOk, "", many}), std::length_error);
}

TEST(CodecRoundTrip, ClampErrorKeepsUtf8) {
  std::string s(kMaxErrorLen - 1, 'a');
  s += "\xe2\x9c\x93";  // three bytes across the limit
  const std::string c = clamp_error(s);
  EXPECT_EQ(c.size(), kMaxErrorLen - 1);
  EXPECT_EQ(clamp_error("bad \xff byte"), "bad ? byte");
  Reply r{1, Status::kInvalid, clamp_error(std::string(10000, 'e')), {}};
  EXPECT_TRUE(decode(encode(r)).ok());
}

TEST(CodecRoundTrip, AddressHelpers) {
  EXPECT_EQ(IpAddr::parse("192.0.2.1"), IpAddr::v4(192, 0, 2, 1));
  EXPECT_EQ(IpAddr::parse("2001:db8::1")->str(), "2001:db8::1");
  EXPECT_FALSE(IpAddr::parse("192.0.2"));
  EXPECT_EQ(Prefix::parse("10.0.0.0/8")->str(), "10.0.0.0/8");
  EXPECT_EQ(Prefix::parse("2001:db8::1")->len, 128);
  EXPECT_FALSE(Prefix::parse("10.0.0.0/33"));
  EXPECT_FALSE(Prefix::parse("10.0.0.0/"));
}

// Not a benchmark that can fail: it prints what one core does, so that a
// regression shows in the test log. Provisioning needs 100,000 SAs/s.
TEST(CodecRoundTrip, SaAddThroughput) {
  constexpr uint32_t kCount = 100'000;
  std::vector<SaAdd> sas;
  sas.reserve(kCount);
  for (uint32_t i = 0; i < kCount; ++i) sas.push_back(sample_sa_add(i));
  WireBuffer all;
  all.reserve(kCount * 200);
  const auto t0 = std::chrono::steady_clock::now();
  for (const SaAdd& s : sas) encode_to(s, all);
  const auto t1 = std::chrono::steady_clock::now();
  size_t off = 0, ok = 0;
  while (off < all.size()) {
    const size_t len = kHeaderSize + read_header(all.data() + off).payload_len;
    ok += decode(std::span<const uint8_t>(all.data() + off, len)).ok();
    off += len;
  }
  const auto t2 = std::chrono::steady_clock::now();
  EXPECT_EQ(ok, kCount);
  const double enc = std::chrono::duration<double>(t1 - t0).count();
  const double dec = std::chrono::duration<double>(t2 - t1).count();
  std::printf("sa_add: %zu bytes per frame; encode %.0f/s, decode %.0f/s\n", all.size() / kCount,
              kCount / enc, kCount / dec);
}

}  // namespace
}  // namespace portcullis::ctl::api
