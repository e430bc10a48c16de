// portcullisctl's number formatting and parsing.
#include "control/cli/format.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace portcullis::ctl::cli {
namespace {

TEST(GroupThousands, Boundaries) {
  EXPECT_EQ(group_thousands(uint64_t{0}), "0");
  EXPECT_EQ(group_thousands(uint64_t{999}), "999");
  EXPECT_EQ(group_thousands(uint64_t{1000}), "1,000");
  EXPECT_EQ(group_thousands(uint64_t{123456}), "123,456");
  EXPECT_EQ(group_thousands(uint64_t{1234567}), "1,234,567");
  EXPECT_EQ(group_thousands(std::numeric_limits<uint64_t>::max()), "18,446,744,073,709,551,615");
  EXPECT_EQ(group_thousands(int64_t{-1234}), "-1,234");
  EXPECT_EQ(group_thousands(std::numeric_limits<int64_t>::min()), "-9,223,372,036,854,775,808");
}

TEST(Si, ThreeSignificantDigits) {
  EXPECT_EQ(si(0), "0");
  EXPECT_EQ(si(999), "999");
  EXPECT_EQ(si(2.5), "2.5");
  EXPECT_EQ(si(1000), "1.00k");
  EXPECT_EQ(si(1234), "1.23k");
  EXPECT_EQ(si(12345), "12.3k");
  EXPECT_EQ(si(123456), "123k");
  EXPECT_EQ(si(12345678), "12.3M");
  EXPECT_EQ(si(9.9e9), "9.90G");
  EXPECT_EQ(si(-1500), "-1.50k");
  // Rounding up must move to the next prefix, not print "1000k".
  EXPECT_EQ(si(999999), "1.00M");
  EXPECT_EQ(si(999.7), "1.00k");
}

TEST(FormatBytes, UnitAfterPrefix) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1500), "1.50 kB");
  EXPECT_EQ(format_bytes(2'340'000'000ULL), "2.34 GB");
}

TEST(FormatRate, PerSecond) {
  EXPECT_EQ(format_rate(0), "0/s");
  EXPECT_EQ(format_rate(14'880'952.4), "14.9M/s");
}

TEST(FormatSpi, EightHexDigits) {
  EXPECT_EQ(format_spi(0x1001), "0x00001001");
  EXPECT_EQ(format_spi(0xdeadbeef), "0xdeadbeef");
}

TEST(FormatDuration, TwoLargestUnits) {
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(59), "59s");
  EXPECT_EQ(format_duration(252), "4m 12s");
  EXPECT_EQ(format_duration(7200), "2h 0m");
  EXPECT_EQ(format_duration(3 * 86400 + 4 * 3600 + 59), "3d 4h");
}

TEST(ParseU32, DecimalAndHex) {
  EXPECT_EQ(parse_u32("4097", "--spi-out"), 4097u);
  EXPECT_EQ(parse_u32("0x1001", "--spi-out"), 0x1001u);
  EXPECT_EQ(parse_u32("0XFFFFFFFF", "--spi-out"), 0xffffffffu);
}

TEST(ParseU32, RejectsWithTheOptionName) {
  for (const char* bad : {"", "0x", "12a", "-1", "0x1g", " 12", "4294967296", "0x100000000"}) {
    try {
      parse_u32(bad, "--spi-in");
      ADD_FAILURE() << "accepted \"" << bad << "\"";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("--spi-in"), std::string::npos) << e.what();
    }
  }
}

TEST(ParseCount, Suffixes) {
  EXPECT_EQ(parse_count("0", "--hard-bytes"), 0u);
  EXPECT_EQ(parse_count("1024", "--hard-bytes"), 1024u);
  EXPECT_EQ(parse_count("10k", "--hard-bytes"), 10'000u);
  EXPECT_EQ(parse_count("10G", "--hard-bytes"), 10'000'000'000ULL);
  EXPECT_EQ(parse_count("2T", "--hard-bytes"), 2'000'000'000'000ULL);
  EXPECT_THROW(parse_count("10K", "--hard-bytes"), UsageError);  // k is lower case (SI)
  EXPECT_THROW(parse_count("G", "--hard-bytes"), UsageError);
  EXPECT_THROW(parse_count("1.5G", "--hard-bytes"), UsageError);
  EXPECT_THROW(parse_count("99999999T", "--hard-bytes"), UsageError);  // overflows 64 bits
}

TEST(ParseSeconds, Units) {
  EXPECT_EQ(parse_seconds("3600", "--hard-seconds"), 3600u);
  EXPECT_EQ(parse_seconds("45s", "--hard-seconds"), 45u);
  EXPECT_EQ(parse_seconds("90m", "--hard-seconds"), 5400u);
  EXPECT_EQ(parse_seconds("8h", "--hard-seconds"), 28800u);
  EXPECT_EQ(parse_seconds("1d", "--hard-seconds"), 86400u);
  EXPECT_THROW(parse_seconds("8 h", "--hard-seconds"), UsageError);
  EXPECT_THROW(parse_seconds("1w", "--hard-seconds"), UsageError);
}

}  // namespace
}  // namespace portcullis::ctl::cli
