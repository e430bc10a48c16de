// vectors.cc: see vectors.h.
#include "tests/kat/ike/vectors.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace portcullis::kat::ike {
namespace {

int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

std::vector<uint8_t> unhex(std::string_view s) {
  if (s.size() % 2 != 0) throw std::runtime_error("odd-length hex: " + std::string(s));
  std::vector<uint8_t> out(s.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
    if (hi < 0 || lo < 0) throw std::runtime_error("not hex: " + std::string(s));
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::string hex(std::span<const uint8_t> b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(b.size() * 2);
  for (uint8_t x : b) {
    s.push_back(kDigits[x >> 4]);
    s.push_back(kDigits[x & 15]);
  }
  return s;
}

nlohmann::json wycheproof_file(const std::string& name) {
  const char* dir = std::getenv("PORTCULLIS_TESTVECTORS");
  if (dir == nullptr) {
    throw std::runtime_error("PORTCULLIS_TESTVECTORS is not set; run through `meson test`");
  }
  const std::string path = std::string(dir) + "/wycheproof/" + name;
  try {
    return nlohmann::json::parse(read_all(path));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

std::string source_file(const std::string& name) {
  return read_all(std::string(PORTCULLIS_IKE_KAT_DIR) + "/" + name);
}

}  // namespace portcullis::kat::ike
