// wycheproof_sig_test.cc: Wycheproof's ECDSA P-256/SHA-256 and Ed25519
// verification vectors, each wrapped as method-14 AUTH data (RFC 7427
// section 3) and pushed through internal::verify_auth_with_key, the
// routine Certificate::verify_auth runs, with the vector's public key.
// Valid vectors must verify; invalid ones (BER encodings, out-of-range r
// and s, malleated Ed25519 S, truncations) must not. The files come from
// $PORTCULLIS_TESTVECTORS/wycheproof; a missing file fails.
#include <gtest/gtest.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "control/ike/auth_internal.h"

namespace portcullis::ctl::ike {
namespace {

using Bytes = std::vector<uint8_t>;
using nlohmann::json;

// RFC 7427 appendix A.3.1 and RFC 8420 section 2, typed in here.
const Bytes kEcdsaSha256 = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
const Bytes kEd25519 = {0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70};

Bytes unhex(const std::string& s) {
  if (s.size() % 2 != 0) throw std::runtime_error("odd-length hex");
  Bytes out(s.size() / 2);
  for (size_t i = 0; i < out.size(); i++)
    out[i] = static_cast<uint8_t>(std::stoi(s.substr(2 * i, 2), nullptr, 16));
  return out;
}

Bytes auth_data(const Bytes& alg_id, const Bytes& sig) {
  Bytes out(1 + alg_id.size() + sig.size());
  out[0] = static_cast<uint8_t>(alg_id.size());
  std::copy(alg_id.begin(), alg_id.end(), out.begin() + 1);
  std::copy(sig.begin(), sig.end(), out.begin() + 1 + static_cast<long>(alg_id.size()));
  return out;
}

struct Tally {
  int valid_passed = 0, invalid_refused = 0, acceptable = 0, total = 0;
};

// run checks every vector of one file, the AUTH data being the given
// AlgorithmIdentifier and the vector's signature.
Tally run(const std::string& name, const Bytes& alg_id, const std::string& sha) {
  Tally tally;
  const char* dir = std::getenv("PORTCULLIS_TESTVECTORS");
  if (dir == nullptr || *dir == '\0') {
    ADD_FAILURE() << "PORTCULLIS_TESTVECTORS is not set; run through `meson test`";
    return tally;
  }
  const std::string path = std::string(dir) + "/wycheproof/" + name;
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "cannot open " << path;
    return tally;
  }
  const json doc = json::parse(in);
  for (const json& group : doc.at("testGroups")) {
    if (!sha.empty()) {
      EXPECT_EQ(group.at("sha").get<std::string>(), sha) << path;
    }
    const Bytes key_der = unhex(group.at("publicKeyDer").get<std::string>());
    const unsigned char* p = key_der.data();
    EVP_PKEY* key = d2i_PUBKEY(nullptr, &p, static_cast<long>(key_der.size()));
    if (key == nullptr) {
      ADD_FAILURE() << path << ": a group's publicKeyDer does not parse";
      continue;
    }
    for (const json& test : group.at("tests")) {
      tally.total++;
      const int tc = test.at("tcId").get<int>();
      const std::string result = test.at("result").get<std::string>();
      const Bytes msg = unhex(test.at("msg").get<std::string>());
      const Bytes auth = auth_data(alg_id, unhex(test.at("sig").get<std::string>()));
      std::string why;
      const bool ok = internal::verify_auth_with_key(key, auth, msg, why);
      if (result == "valid") {
        EXPECT_TRUE(ok) << name << " tcId " << tc << ": " << why;
        tally.valid_passed += ok;
      } else if (result == "invalid") {
        EXPECT_FALSE(ok) << name << " tcId " << tc << " (" << test.at("comment").get<std::string>()
                         << ") verified";
        tally.invalid_refused += !ok;
      } else {
        tally.acceptable++;
      }
    }
    EVP_PKEY_free(key);
  }
  EXPECT_EQ(tally.total, doc.at("numberOfTests").get<int>()) << path;
  return tally;
}

TEST(WycheproofSignatures, EcdsaP256Sha256) {
  const Tally t = run("ecdsa_secp256r1_sha256_test.json", kEcdsaSha256, "SHA-256");
  // The file as pinned in testvectors/wycheproof/README.md: 174 valid and
  // 310 invalid vectors, none "acceptable".
  EXPECT_EQ(t.valid_passed, 174);
  EXPECT_EQ(t.invalid_refused, 310);
  EXPECT_EQ(t.acceptable, 0);
}

TEST(WycheproofSignatures, Ed25519) {
  const Tally t = run("ed25519_test.json", kEd25519, "");
  EXPECT_EQ(t.valid_passed, 88);
  EXPECT_EQ(t.invalid_refused, 63);
  EXPECT_EQ(t.acceptable, 0);
}

// The same routine refuses a valid vector presented under the other
// algorithm: the AlgorithmIdentifier is checked against the key first.
TEST(WycheproofSignatures, AlgorithmMustFitTheVectorsKey) {
  const char* dir = std::getenv("PORTCULLIS_TESTVECTORS");
  ASSERT_NE(dir, nullptr);
  std::ifstream in(std::string(dir) + "/wycheproof/ed25519_test.json");
  ASSERT_TRUE(in);
  const json group = json::parse(in).at("testGroups").at(0);
  const Bytes key_der = unhex(group.at("publicKeyDer").get<std::string>());
  const unsigned char* p = key_der.data();
  EVP_PKEY* key = d2i_PUBKEY(nullptr, &p, static_cast<long>(key_der.size()));
  ASSERT_NE(key, nullptr);
  const json& test = group.at("tests").at(0);
  ASSERT_EQ(test.at("result").get<std::string>(), "valid");
  const Bytes msg = unhex(test.at("msg").get<std::string>());
  const Bytes sig = unhex(test.at("sig").get<std::string>());
  for (const Bytes* alg : {&kEd25519, &kEcdsaSha256}) {
    std::string why;
    EXPECT_EQ(internal::verify_auth_with_key(key, auth_data(*alg, sig), msg, why), alg == &kEd25519)
        << why;
  }
  EVP_PKEY_free(key);
}

}  // namespace
}  // namespace portcullis::ctl::ike
