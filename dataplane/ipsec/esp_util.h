// esp_util.h: small helpers shared by the outbound and inbound ESP paths.
#pragma once

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <cstring>
#include <span>

#include "crypto/engine.h"

namespace portcullis::dp::esp {

constexpr uint8_t kProtoIpv4 = 4;
constexpr uint8_t kProtoIpv6 = 41;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoEsp = 50;
constexpr uint8_t kProtoNone = 59;  // RFC 4303 section 2.6: dummy packet
constexpr uint32_t kEspHdrLen = 8;  // SPI + sequence number
constexpr uint32_t kUdpHdrLen = 8;

inline uint16_t load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return rte_be_to_cpu_32(v);
}
inline void store16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void store32(uint8_t* p, uint32_t v) {
  v = rte_cpu_to_be_32(v);
  std::memcpy(p, &v, 4);
}
inline void store64(uint8_t* p, uint64_t v) {
  v = rte_cpu_to_be_64(v);
  std::memcpy(p, &v, 8);
}

inline uint8_t* data(rte_mbuf* m) { return rte_pktmbuf_mtod(m, uint8_t*); }

// ipv4_fix_checksum recomputes the header checksum in place.
inline void ipv4_fix_checksum(uint8_t* ip) {
  auto* h = reinterpret_cast<rte_ipv4_hdr*>(ip);
  h->hdr_checksum = 0;
  h->hdr_checksum = rte_ipv4_cksum(h);
}

// write_trailer lays out RFC 4303 section 2.4 padding (1, 2, 3, ...), the
// pad length and the next header.
inline void write_trailer(uint8_t* tail, uint32_t pad, uint8_t next_header) {
  for (uint32_t i = 0; i < pad; i++) tail[i] = static_cast<uint8_t>(i + 1);
  tail[pad] = static_cast<uint8_t>(pad);
  tail[pad + 1] = next_header;
}

// aead_aad writes the RFC 4106 section 5 / RFC 7634 section 2.1 AAD: SPI
// and the sequence number, with the high 32 bits between them under ESN.
inline void aead_aad(crypto::CryptoOp& op, uint32_t spi_be, uint64_t seq, bool esn) {
  std::memcpy(op.aad_buf, &spi_be, 4);
  if (esn) {
    store32(op.aad_buf + 4, static_cast<uint32_t>(seq >> 32));
    store32(op.aad_buf + 8, static_cast<uint32_t>(seq));
    op.aad_len = 12;
  } else {
    store32(op.aad_buf + 4, static_cast<uint32_t>(seq));
    op.aad_len = 8;
  }
  op.aad = op.aad_buf;
}

// aead_nonce forms salt || explicit IV (RFC 4106 section 4, RFC 7634 section 2).
inline void aead_nonce(crypto::CryptoOp& op, const uint8_t* salt, const uint8_t* iv8) {
  std::memcpy(op.iv, salt, 4);
  std::memcpy(op.iv + 4, iv8, 8);
}

// run_end returns the end of the run of packets starting at i that share
// sas[i]: the burst functions do per-SA work once per run.
template <typename Sa>
inline size_t run_end(std::span<Sa* const> sas, size_t i, size_t n) {
  size_t end = i + 1;
  while (end < n && sas[end] == sas[i]) end++;
  return end;
}

}  // namespace portcullis::dp::esp
