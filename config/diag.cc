#include "config/diag.h"

#include <algorithm>
#include <cstdio>

#include "config/parser.h"

namespace portcullis::config {

std::string ConfigError::str() const {
  std::string s = file;
  if (line != 0) {
    s += ':';
    s += std::to_string(line);
  }
  s += ": ";
  if (!field.empty()) s += field + ": ";
  s += message;
  return s;
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_or_digit(name.front())) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return lower_or_digit(c) || c == '-' || c == '_'; });
}

}  // namespace portcullis::config

namespace portcullis::config::detail {

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::string label(std::string_view kind, std::string_view name, size_t index) {
  if (valid_name(name)) return std::string(kind) + " \"" + std::string(name) + "\"";
  return std::string(kind) + "[" + std::to_string(index) + "]";
}

std::string join(std::span<const std::string> items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out += sep;
    out += items[i];
  }
  return out;
}

std::span<const std::string> esp_suite_names() {
  static const std::vector<std::string> kNames = {
      "aes128gcm16",      "aes256gcm16",      "chacha20poly1305",
      "aes128cbc-sha256", "aes128cbc-sha384", "aes128cbc-sha512",
      "aes256cbc-sha256", "aes256cbc-sha384", "aes256cbc-sha512",
  };
  return kNames;
}

std::span<const std::string> allow_words() {
  // IKE and ESP options outside the profiles (DESIGN.md, "Crypto profiles").
  static const std::vector<std::string> kWords = {"psk", "ed25519", "curve25519", "noesn"};
  return kWords;
}

bool known_allow_item(std::string_view item) {
  const auto words = allow_words();
  if (std::find(words.begin(), words.end(), item) != words.end()) return true;
  const auto suites = esp_suite_names();
  return std::find(suites.begin(), suites.end(), item) != suites.end();
}

namespace {

// mask_bits clears every bit of `bytes` past the first `len`.
void mask_bits(std::array<uint8_t, 16>& bytes, size_t size, unsigned len) {
  for (size_t i = 0; i < size; ++i) {
    const unsigned first = static_cast<unsigned>(i) * 8;
    if (first >= len) {
      bytes[i] = 0;
    } else if (first + 8 > len) {
      bytes[i] &= static_cast<uint8_t>(0xff << (8 - (len - first)));
    }
  }
}

}  // namespace

api::Prefix network_of(const api::Prefix& p) {
  api::Prefix n = p;
  mask_bits(n.addr.bytes, n.addr.size(), p.len);
  return n;
}

bool host_bits_zero(const api::Prefix& p) { return network_of(p) == p; }

bool prefix_contains(const api::Prefix& p, const api::IpAddr& a) {
  if (p.addr.family != a.family) return false;
  return network_of(p) == network_of(api::Prefix{a, p.len});
}

std::string closest(std::string_view word, std::span<const std::string_view> candidates) {
  // Levenshtein distance with one row; keys are short.
  auto distance = [](std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      size_t diag = row[0];
      row[0] = i;
      for (size_t j = 1; j <= b.size(); ++j) {
        const size_t up = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
        diag = up;
      }
    }
    return row[b.size()];
  };
  std::string best;
  size_t best_d = 3;
  for (const auto c : candidates) {
    const size_t d = distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = std::string(c);
    }
  }
  if (!best.empty()) return best;
  // A word that only adds to a known one ("esp_suite" for "esp").
  for (const auto c : candidates) {
    if (c.size() >= 3 && word.size() > c.size() && word.substr(0, c.size()) == c) return std::string(c);
  }
  return best;
}

}  // namespace portcullis::config::detail
