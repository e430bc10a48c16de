// secrets.h: reading key files (manual ESP keys, IKE pre-shared keys).
//
// A key file holds the key as hexadecimal text. Whitespace and newlines
// anywhere are ignored, and one leading "0x" is allowed, so that
//   head -c 20 /dev/urandom | xxd -p > k1 && chmod 600 k1
// makes a valid AES-128-GCM key file (16 key bytes then 4 salt bytes).
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "control/api/message.h"

namespace portcullis::config {

// read_secret_file returns the key held in `path`, which must be exactly
// `expected_len` bytes, or, with expected_len 0 (IKE pre-shared keys), at
// least kMinPskLen bytes. It refuses, with *error (if not null) saying what
// to change:
//   - a file whose mode grants group or other any permission (0600 or
//     stricter is required: chmod 600 FILE);
//   - anything but a regular file, including a symbolic link (point the
//     config at the file itself) and a directory;
//   - a file not owned by the effective user or by root;
//   - bad hex, and a key of the wrong length.
// The file is opened once and checked with fstat on the open descriptor,
// so it cannot be swapped between the check and the read. Errors never
// contain the file's content, and every buffer that held it is wiped.
std::optional<ctl::api::KeyBytes> read_secret_file(const std::string& path, size_t expected_len,
                                                   std::string* error);

// Shortest IKE pre-shared key accepted: 128 bits, as strong as the
// PRIME profile's AES-128 (RFC 7296 section 2.15 asks for keys as strong
// as the negotiated ones).
inline constexpr size_t kMinPskLen = 16;

// Largest key file accepted, in bytes of text: far above any key's hex.
inline constexpr size_t kMaxSecretFileSize = 4096;

}  // namespace portcullis::config
