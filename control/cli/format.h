// format.h: how portcullisctl writes numbers for people, and how it reads
// the numbers people type (SPIs in hex, lifetimes with units).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace portcullis::ctl::cli {

// UsageError is a mistake on the command line: portcullisctl prints its
// message and exits with status 2 without contacting the daemon.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// group_thousands writes 1234567 as "1,234,567".
std::string group_thousands(uint64_t v);
std::string group_thousands(int64_t v);

// si writes v with three significant digits and a decimal SI suffix:
// 999 -> "999", 1234 -> "1.23k", 12345678 -> "12.3M". Values under 1000
// that are not whole keep one decimal ("2.5").
std::string si(double v);

// format_bytes is si() with a unit: "512 B", "1.50 kB", "2.34 GB".
std::string format_bytes(uint64_t v);

// format_rate is a per-second rate: "0/s", "1.23k/s".
std::string format_rate(double per_second);

// format_spi writes an SPI as 0x%08x.
std::string format_spi(uint64_t spi);

// format_duration writes seconds as the two largest units: "3d 4h",
// "2h 0m", "4m 12s", "12s".
std::string format_duration(uint64_t seconds);

// parse_u32 reads a decimal or 0x-prefixed hexadecimal number that fits in
// 32 bits. `what` names the option in the error ("--spi-out").
uint32_t parse_u32(std::string_view text, std::string_view what);

// parse_count reads a non-negative integer with an optional decimal suffix
// k, M, G or T (x1000 each): "10G" is 10,000,000,000.
uint64_t parse_count(std::string_view text, std::string_view what);

// parse_seconds reads a duration: a plain number of seconds or a number
// with one suffix s, m, h or d ("8h", "90m").
uint64_t parse_seconds(std::string_view text, std::string_view what);

}  // namespace portcullis::ctl::cli
