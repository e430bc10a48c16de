// wycheproof.h: Wycheproof AEAD and MAC vectors, read from the JSON files in
// $PORTCULLIS_TESTVECTORS/wycheproof and reduced to what the crypto engine
// can express.
//
// Loading happens while GoogleTest registers parameterised tests, where a
// thrown exception would abort the binary without naming the file. So
// loaders never throw: they record the problem in the file's `error`, and
// FilesTest in engine_kat_test.cc fails on it. A missing directory is a
// failure, never a skip.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/engine.h"
#include "crypto/suite.h"

namespace portcullis::kat {

// Result is a vector's expected outcome. Wycheproof's "acceptable" means a
// correct implementation may accept or reject; the tests allow either, but
// an accepted AEAD vector must still decrypt to its plaintext.
enum class Result { kValid, kInvalid, kAcceptable };

std::string_view result_name(Result r);

// AeadVector is one AEAD test case with a 12-byte nonce and 16-byte tag.
struct AeadVector {
  int tc_id = 0;
  std::string comment;
  crypto::Cipher cipher = crypto::Cipher::kAes128Gcm;
  std::vector<uint8_t> key, iv, aad, msg, ct, tag;
  Result result = Result::kValid;
};

// MacVector is one HMAC test case; tag_len is the group's tagSize in bytes.
struct MacVector {
  int tc_id = 0;
  std::string comment;
  crypto::Integ integ = crypto::Integ::kHmacSha256_128;
  std::vector<uint8_t> key, msg, tag;
  uint32_t tag_len = 0;
  Result result = Result::kValid;
};

// Excluded is a vector left out because the engine's API cannot express it.
struct Excluded {
  int tc_id;
  std::string reason;
  Result result;
};

template <typename Vector>
struct VectorFile {
  std::string path;
  std::string error;            // non-empty when the file could not be used
  int total = 0;                // test cases in the file
  std::vector<Vector> vectors;  // the ones exercised
  std::vector<Excluded> excluded;

  // excluded_by_reason counts the exclusions, for the coverage report.
  std::map<std::string, int> excluded_by_reason() const;
};

using AeadFile = VectorFile<AeadVector>;
using MacFile = VectorFile<MacVector>;

// The files, each parsed once per process.
const AeadFile& aes_gcm_file();
const AeadFile& chacha20_poly1305_file();
const MacFile& hmac_file(crypto::Integ integ);

// hex renders bytes for failure messages: "" for none.
std::string hex(std::span<const uint8_t> bytes);

// test_engine is the calling thread's Engine (one per thread, as engine.h
// requires), or nullptr when IPsec-MB cannot start; engine_error says why.
crypto::Engine* test_engine();
const std::string& engine_error();

// Keep GoogleTest from dumping every byte of a parameter.
void PrintTo(const AeadVector& v, std::ostream* os);
void PrintTo(const MacVector& v, std::ostream* os);

}  // namespace portcullis::kat
