// ip_address.h: an IPv4 or IPv6 address in network byte order.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace portcullis::dp {

struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4 uses the first 4

  static std::optional<IpAddress> parse(std::string_view text);
  static IpAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    IpAddress ip;
    ip.bytes[0] = a, ip.bytes[1] = b, ip.bytes[2] = c, ip.bytes[3] = d;
    return ip;
  }
  std::string str() const;
  // operator== compares all 16 bytes as two words: the defaulted
  // comparison calls memcmp, which showed up at 5-9 % of a worker's time
  // (every packet is compared with every gateway address).
  bool operator==(const IpAddress& o) const {
    uint64_t a[2], b[2];
    std::memcpy(a, bytes.data(), 16);
    std::memcpy(b, o.bytes.data(), 16);
    return v6 == o.v6 && ((a[0] ^ b[0]) | (a[1] ^ b[1])) == 0;
  }
};

}  // namespace portcullis::dp
