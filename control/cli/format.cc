// format.cc: number formatting and parsing for portcullisctl.
#include "control/cli/format.h"

#include <array>
#include <cctype>
#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <limits>

namespace portcullis::ctl::cli {

std::string group_thousands(uint64_t v) {
  std::string digits = std::to_string(v);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  size_t lead = digits.size() % 3;
  if (lead == 0) lead = 3;
  out.append(digits, 0, lead);
  for (size_t i = lead; i < digits.size(); i += 3) {
    out.push_back(',');
    out.append(digits, i, 3);
  }
  return out;
}

std::string group_thousands(int64_t v) {
  if (v >= 0) return group_thousands(static_cast<uint64_t>(v));
  // The magnitude of INT64_MIN does not fit in int64_t; go through uint64_t.
  std::string out(1, '-');
  out += group_thousands(static_cast<uint64_t>(0) - static_cast<uint64_t>(v));
  return out;
}

std::string si(double v) {
  static constexpr std::array<const char*, 7> kSuffix = {"", "k", "M", "G", "T", "P", "E"};
  if (!std::isfinite(v)) return "-";
  bool negative = v < 0;
  double mag = std::fabs(v);
  size_t unit = 0;
  while (mag >= 999.5 && unit + 1 < kSuffix.size()) {
    mag /= 1000.0;
    ++unit;
  }
  char buf[32];
  if (unit == 0) {
    // Small values: whole numbers stay whole, others keep one decimal.
    if (mag == std::floor(mag)) {
      std::snprintf(buf, sizeof buf, "%.0f", mag);
    } else {
      std::snprintf(buf, sizeof buf, "%.1f", mag);
    }
  } else if (mag < 9.995) {
    std::snprintf(buf, sizeof buf, "%.2f%s", mag, kSuffix[unit]);
  } else if (mag < 99.95) {
    std::snprintf(buf, sizeof buf, "%.1f%s", mag, kSuffix[unit]);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f%s", mag, kSuffix[unit]);
  }
  std::string out(negative ? "-" : "");
  out += buf;
  return out;
}

std::string format_bytes(uint64_t v) {
  std::string s = si(static_cast<double>(v));
  // si() puts the prefix letter last; the unit goes after a space.
  if (!s.empty() && std::isalpha(static_cast<unsigned char>(s.back()))) {
    char prefix = s.back();
    s.pop_back();
    s += ' ';
    s += prefix;
    s += 'B';
    return s;
  }
  s += " B";
  return s;
}

std::string format_rate(double per_second) { return si(per_second) + "/s"; }

std::string format_spi(uint64_t spi) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%08" PRIx64, spi);
  return buf;
}

std::string format_duration(uint64_t seconds) {
  const uint64_t d = seconds / 86400, h = seconds / 3600 % 24, m = seconds / 60 % 60,
                 s = seconds % 60;
  if (d > 0) return std::to_string(d) + "d " + std::to_string(h) + "h";
  if (h > 0) return std::to_string(h) + "h " + std::to_string(m) + "m";
  if (m > 0) return std::to_string(m) + "m " + std::to_string(s) + "s";
  return std::to_string(s) + "s";
}

namespace {

std::string quoted(std::string_view what, std::string_view text) {
  return std::string(what) + ": \"" + std::string(text) + "\"";
}

// parse_digits reads all of `text` as an unsigned number in `base`.
bool parse_digits(std::string_view text, int base, uint64_t& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
  return ec == std::errc() && end == text.data() + text.size();
}

// parse_with_suffix reads "<digits>[suffix]" where each suffix in
// `suffixes` multiplies by the matching entry of `factors`.
uint64_t parse_with_suffix(std::string_view text, std::string_view what, std::string_view suffixes,
                           const uint64_t* factors, std::string_view help) {
  std::string_view digits = text;
  uint64_t factor = 1;
  if (!text.empty()) {
    size_t pos = suffixes.find(text.back());
    if (pos != std::string_view::npos) {
      factor = factors[pos];
      digits.remove_suffix(1);
    }
  }
  uint64_t v = 0;
  if (!parse_digits(digits, 10, v)) {
    throw UsageError(quoted(what, text) + " is not " + std::string(help));
  }
  if (v > std::numeric_limits<uint64_t>::max() / factor) {
    throw UsageError(quoted(what, text) + " is too large");
  }
  return v * factor;
}

}  // namespace

uint32_t parse_u32(std::string_view text, std::string_view what) {
  uint64_t v = 0;
  bool ok = false;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    ok = parse_digits(text.substr(2), 16, v);
  } else {
    ok = parse_digits(text, 10, v);
  }
  if (!ok) throw UsageError(quoted(what, text) + " is not a number (decimal, or hex with 0x)");
  if (v > std::numeric_limits<uint32_t>::max()) {
    throw UsageError(quoted(what, text) + " does not fit in 32 bits (at most 0xffffffff)");
  }
  return static_cast<uint32_t>(v);
}

uint64_t parse_count(std::string_view text, std::string_view what) {
  static constexpr uint64_t kFactors[] = {1000ULL, 1000ULL * 1000, 1000ULL * 1000 * 1000,
                                          1000ULL * 1000 * 1000 * 1000};
  return parse_with_suffix(text, what, "kMGT", kFactors,
                           "a whole number with an optional suffix k, M, G or T (x1000)");
}

uint64_t parse_seconds(std::string_view text, std::string_view what) {
  static constexpr uint64_t kFactors[] = {1, 60, 3600, 86400};
  return parse_with_suffix(text, what, "smhd", kFactors,
                           "a duration: whole seconds, or a number with s, m, h or d");
}

}  // namespace portcullis::ctl::cli
