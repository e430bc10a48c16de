// packets.h: plain IPv4/IPv6 packets for tests, with valid checksums.
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/ipsec/ip_address.h"

namespace portcullis::test {

// udp_packet builds an IP/UDP packet from src to dst (same family) with a
// payload of `payload_len` bytes derived from `seed`.
std::vector<uint8_t> udp_packet(const dp::IpAddress& src, const dp::IpAddress& dst,
                                size_t payload_len, uint32_t seed = 1, uint8_t tos = 0,
                                bool df = false);

// ip_packet_valid checks the version, lengths and IPv4 header checksum.
bool ip_packet_valid(const std::vector<uint8_t>& p);

}  // namespace portcullis::test
