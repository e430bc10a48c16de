// ike_test_util.h: helpers shared by the IKE codec tests: hex input and
// a builder of raw payload chains that may hold any bytes, including the
// wrong ones.
#pragma once

#include <cctype>
#include <stdexcept>
#include <string>
#include <vector>

#include "control/ike/message.h"

namespace portcullis::ctl::ike::test {

// hex decodes hex digits, skipping spaces, so that byte strings can be
// laid out field by field.
inline Bytes hex(const std::string& s) {
  Bytes out;
  int hi = -1;
  for (char c : s) {
    if (c == ' ') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c)))
      throw std::invalid_argument("hex: bad digit");
    const int v =
        std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10);
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  if (hi >= 0) throw std::invalid_argument("hex: odd number of digits");
  return out;
}

// An IKE_SA_INIT request written by hand from the layouts of RFC 7296
// section 3 (offsets within the message in the comments).
inline const std::string kSaInitHex =
    // 0: header (3.1): SPIi, SPIr, next SA (33), version 2.0, IKE_SA_INIT
    // (34), flags Initiator, message id 0, length 172.
    "0102030405060708 0000000000000000 21 20 22 08 00000000 000000ac"
    // 28: SA (3.3), next KE (34), length 48.
    "22 00 0030"
    //   32: proposal 1 (3.3.1): last, length 44, IKE, no SPI, 4 transforms.
    "00 00 002c 01 01 00 04"
    //   40: ENCR AES-GCM-16 (20) with Key Length 256 (TV attribute 14).
    "03 00 000c 01 00 0014 800e 0100"
    //   52: PRF HMAC-SHA-256 (5), DH 31, DH 19 (last).
    "03 00 0008 02 00 0005"
    "03 00 0008 04 00 001f"
    "00 00 0008 04 00 0013"
    // 76: KE (3.4), next Nonce (40), length 40, group 31, 32 bytes of 0x11.
    "28 00 0028 001f 0000"
    "1111111111111111111111111111111111111111111111111111111111111111"
    // 116: Nonce (3.9), next N (41), length 20, 16 bytes of 0x22.
    "29 00 0014 22222222222222222222222222222222"
    // 136: N (3.10), next N, length 28, no protocol or SPI,
    // NAT_DETECTION_SOURCE_IP (16388), 20 bytes of 0x33.
    "29 00 001c 00 00 4004 3333333333333333333333333333333333333333"
    // 164: N, last, length 8, IKEV2_FRAGMENTATION_SUPPORTED (16430).
    "00 00 0008 00 00 402e";

// Raw is one payload as bytes: its type, the flags byte of its generic
// header, its body, and optionally a next-payload value to write instead
// of the following payload's type (SK and SKF name their inner first).
struct Raw {
  uint8_t type;
  Bytes body;
  uint8_t flags = 0;
  int next = -1;
};

// chain writes generic headers around the bodies, lengths included.
inline Bytes chain(const std::vector<Raw>& payloads) {
  Bytes out;
  for (size_t i = 0; i < payloads.size(); ++i) {
    const Raw& r = payloads[i];
    const size_t len = 4 + r.body.size();
    const int next = r.next >= 0 ? r.next : (i + 1 < payloads.size() ? payloads[i + 1].type : 0);
    out.push_back(static_cast<uint8_t>(next));
    out.push_back(r.flags);
    out.push_back(static_cast<uint8_t>(len >> 8));
    out.push_back(static_cast<uint8_t>(len));
    out.insert(out.end(), r.body.begin(), r.body.end());
  }
  return out;
}

// message puts a header in front of a chain whose first payload is
// `first`, with a correct length field.
inline Bytes message(uint8_t first, const Bytes& body, Exchange ex = Exchange::kIkeAuth) {
  Header h;
  h.spi_i = 0xaaaaaaaaaaaaaaaa;
  h.spi_r = 0xbbbbbbbbbbbbbbbb;
  h.exchange = ex;
  h.flags = kFlagInitiator;
  h.message_id = 1;
  Bytes out(kHeaderSize);
  serialize_header(h, static_cast<PayloadType>(first),
                   static_cast<uint32_t>(kHeaderSize + body.size()), out.data());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

inline Bytes message(const std::vector<Raw>& payloads) {
  return message(payloads.empty() ? 0 : payloads[0].type, chain(payloads));
}

}  // namespace portcullis::ctl::ike::test
