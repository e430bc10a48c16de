#include "packets.h"

#include <cstring>

namespace portcullis::test {
namespace {

uint16_t checksum(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) sum += static_cast<uint32_t>(p[n - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

}  // namespace

std::vector<uint8_t> udp_packet(const dp::IpAddress& src, const dp::IpAddress& dst,
                                size_t payload_len, uint32_t seed, uint8_t tos, bool df) {
  const size_t ip_len = src.v6 ? 40 : 20;
  std::vector<uint8_t> p(ip_len + 8 + payload_len);
  uint8_t* udp = p.data() + ip_len;
  put16(udp, static_cast<uint16_t>(10000 + seed % 1000));
  put16(udp + 2, 5001);
  put16(udp + 4, static_cast<uint16_t>(8 + payload_len));
  for (size_t i = 0; i < payload_len; i++) udp[8 + i] = static_cast<uint8_t>(seed * 31 + i * 7);
  if (src.v6) {
    p[0] = static_cast<uint8_t>(0x60 | tos >> 4);
    p[1] = static_cast<uint8_t>(tos << 4);
    put16(&p[4], static_cast<uint16_t>(8 + payload_len));
    p[6] = 17;
    p[7] = 64;
    std::memcpy(&p[8], src.bytes.data(), 16);
    std::memcpy(&p[24], dst.bytes.data(), 16);
  } else {
    p[0] = 0x45;
    p[1] = tos;
    put16(&p[2], static_cast<uint16_t>(p.size()));
    put16(&p[4], static_cast<uint16_t>(seed));
    p[6] = df ? 0x40 : 0;
    p[8] = 64;
    p[9] = 17;
    std::memcpy(&p[12], src.bytes.data(), 4);
    std::memcpy(&p[16], dst.bytes.data(), 4);
    put16(&p[10], checksum(p.data(), 20));
  }
  return p;
}

bool ip_packet_valid(const std::vector<uint8_t>& p) {
  if (p.empty()) return false;
  if (p[0] >> 4 == 4) {
    if (p.size() < 20) return false;
    const size_t ihl = (p[0] & 0xf) * 4u;
    return ihl >= 20 && (static_cast<size_t>(p[2] << 8 | p[3])) == p.size() &&
           checksum(p.data(), ihl) == 0;
  }
  if (p[0] >> 4 == 6)
    return p.size() >= 40 && static_cast<size_t>(p[4] << 8 | p[5]) + 40 == p.size();
  return false;
}

}  // namespace portcullis::test
