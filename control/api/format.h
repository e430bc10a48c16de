// format.h: one-line, human-readable forms of channel messages for logs.
#pragma once

#include <span>
#include <string>

#include "control/api/message.h"

namespace portcullis::ctl::api {

// to_string renders m on one line, e.g.
//   sa_add #7 sa=42 out spi=0x0000c001 aes128gcm16 cipher_key=sha256:1a2b3c4d/20 ...
// Keys never appear: each is shown as the first four bytes of its SHA-256
// and its length, enough to tell two keys apart in a log and useless for
// recovering them. Packets show only their length.
std::string to_string(const Message& m);

// key_fingerprint is "sha256:1a2b3c4d/20" for a 20-byte key, "none" when empty.
std::string key_fingerprint(std::span<const uint8_t> key);

std::string to_string(const Selector& s);

}  // namespace portcullis::ctl::api
