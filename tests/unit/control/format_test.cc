// format_test.cc: log lines never carry key bytes.
#include "control/api/format.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>

#include "sample_messages.h"

namespace portcullis::ctl::api {
namespace {

std::string hex(std::span<const uint8_t> b, bool upper) {
  static const char* lo = "0123456789abcdef";
  static const char* up = "0123456789ABCDEF";
  const char* d = upper ? up : lo;
  std::string s;
  for (uint8_t x : b) {
    s += d[x >> 4];
    s += d[x & 15];
  }
  return s;
}

// expect_no_key_bytes checks that no 4-byte run of key appears in line,
// in hex of either case or raw.
void expect_no_key_bytes(const std::string& line, std::span<const uint8_t> key) {
  ASSERT_GE(key.size(), 4u);
  for (size_t i = 0; i + 4 <= key.size(); ++i) {
    const auto run = key.subspan(i, 4);
    EXPECT_EQ(line.find(hex(run, false)), std::string::npos)
        << "key bytes at " << i << ": " << line;
    EXPECT_EQ(line.find(hex(run, true)), std::string::npos) << "key bytes at " << i << ": " << line;
    EXPECT_EQ(line.find(std::string(run.begin(), run.end())), std::string::npos) << i;
  }
}

TEST(Format, KeysNeverAppear) {
  size_t sa_adds = 0;
  for (const Message& m : testing::sample_messages()) {
    const std::string line = to_string(m);
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    if (const auto* sa = std::get_if<SaAdd>(&m)) {
      ++sa_adds;
      expect_no_key_bytes(line, sa->cipher_key.span());
      EXPECT_NE(line.find("cipher_key=" + key_fingerprint(sa->cipher_key.span())),
                std::string::npos)
          << line;
      if (!sa->auth_key.empty()) expect_no_key_bytes(line, sa->auth_key.span());
    }
  }
  EXPECT_GE(sa_adds, 2u);
}

TEST(Format, Fingerprint) {
  // SHA-256("abc") = ba7816bf... (FIPS 180-2 appendix B.1).
  const uint8_t abc[] = {'a', 'b', 'c'};
  EXPECT_EQ(key_fingerprint(abc), "sha256:ba7816bf/3");
  EXPECT_EQ(key_fingerprint({}), "none");
}

TEST(Format, Lines) {
  const SaAdd sa = testing::sample_sa_add(0);
  const std::string line = to_string(sa);
  EXPECT_EQ(line.rfind("sa_add #0 sa=1 out spi=0x00010000 suite=aes128gcm16 cipher_key=sha256:", 0),
            0u)
      << line;
  EXPECT_NE(line.find("src=192.0.2.1 dst=198.51.0.0"), std::string::npos) << line;
  EXPECT_EQ(to_string(Inject{3, 1, std::vector<uint8_t>(60, 0x41)}),
            "inject #3 port=1 packet=<60 bytes>");
  EXPECT_EQ(to_string(Reply{4, Status::kNotFound, "no \"SA\"\n", {}}),
            "reply #4 status=not_found error=\"no \\\"SA\\\"\\x0a\"");
  EXPECT_EQ(to_string(RouteAdd{5, *Prefix::parse("10.0.0.0/8"), IpAddr::parse("192.0.2.9"), 2}),
            "route_add #5 prefix=10.0.0.0/8 via=192.0.2.9 port=2");
}

}  // namespace
}  // namespace portcullis::ctl::api
