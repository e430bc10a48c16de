// vectors.h: reading test vector files for the IKEv2 crypto KATs: the
// Wycheproof JSON files under $PORTCULLIS_TESTVECTORS/wycheproof and the
// NIST CAVP IKEv2 KDF extract beside these tests.
//
// Loaders throw std::runtime_error naming the file and the problem; the
// tests call them inside a test body, so a missing or malformed file is a
// failure, never a skip.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace portcullis::kat::ike {

// unhex decodes lowercase or uppercase hex; throws on odd length or a
// non-hex digit.
std::vector<uint8_t> unhex(std::string_view s);
std::string hex(std::span<const uint8_t> b);

// wycheproof_file parses $PORTCULLIS_TESTVECTORS/wycheproof/<name>.
nlohmann::json wycheproof_file(const std::string& name);

// source_file reads a file from this test folder (path set by meson).
std::string source_file(const std::string& name);

}  // namespace portcullis::kat::ike
