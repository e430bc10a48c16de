// signature_test.cc: PrivateKey loading and RFC 7427 method-14 AUTH data,
// signed by PrivateKey::sign_auth and checked by Certificate::verify_auth,
// with the AlgorithmIdentifiers typed in from RFC 7427 appendix A.3 and
// RFC 8420 section 2, and every signature also verified here with
// OpenSSL's EVP API directly so that the two halves cannot agree on a
// private format.
#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <algorithm>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "control/ike/auth.h"
#include "tests/common/ike_pki.h"

namespace portcullis::ctl::ike {
namespace {

using Bytes = std::vector<uint8_t>;
namespace pki = kat::pki;

// RFC 7427 appendix A.3.1-A.3.3, RFC 8420 section 2.
const Bytes kEcdsaSha256 = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
const Bytes kEcdsaSha384 = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03};
const Bytes kEcdsaSha512 = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04};
const Bytes kEd25519 = {0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70};
// sha256WithRSAEncryption with NULL parameters (RFC 7427 appendix A.1.2).
const Bytes kRsaSha256 = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                          0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00};
// ecdsa-with-SHA256 with a NULL parameter, which RFC 5758 section 3.2 forbids.
const Bytes kEcdsaSha256Null = {0x30, 0x0c, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                0xce, 0x3d, 0x04, 0x03, 0x02, 0x05, 0x00};

Bytes octets_of(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; i++) b[i] = static_cast<uint8_t>(i * 31 + 5);
  return b;
}

Bytes auth_data(const Bytes& alg_id, const Bytes& sig) {
  Bytes out(1 + alg_id.size() + sig.size());
  out[0] = static_cast<uint8_t>(alg_id.size());
  std::copy(alg_id.begin(), alg_id.end(), out.begin() + 1);
  std::copy(sig.begin(), sig.end(), out.begin() + 1 + static_cast<long>(alg_id.size()));
  return out;
}

// sign_direct signs with OpenSSL itself, for algorithm combinations
// PrivateKey does not produce (a P-256 key with SHA-384).
Bytes sign_direct(EVP_PKEY* key, const EVP_MD* md, const Bytes& octets) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  Bytes sig;
  if (EVP_DigestSignInit(ctx, nullptr, md, nullptr, key) == 1 &&
      EVP_DigestSign(ctx, nullptr, &len, octets.data(), octets.size()) == 1) {
    sig.resize(len);
    if (EVP_DigestSign(ctx, sig.data(), &len, octets.data(), octets.size()) == 1) sig.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  return sig;
}

bool verify_direct(EVP_PKEY* key, const EVP_MD* md, const Bytes& sig, const Bytes& octets) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx, sig.data(), sig.size(), octets.data(), octets.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

std::unique_ptr<Certificate> cert_of(X509* x) {
  std::string error;
  auto c = Certificate::from_der(pki::cert_der(x), error);
  EXPECT_NE(c, nullptr) << error;
  return c;
}

// leaks_pem: true if `error` contains any line of the PEM's base64 body.
bool leaks_pem(const std::string& error, const std::string& pem) {
  std::istringstream in(pem);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.rfind("-----", 0) == 0 || line.find(':') != std::string::npos)
      continue;
    if (error.find(line.substr(0, 16)) != std::string::npos) return true;
  }
  return false;
}

struct KeyCase {
  const char* name;
  std::string kind;
  const Bytes* alg_id;
  const EVP_MD* (*md)();  // nullptr for Ed25519
  EVP_PKEY* (*key)();
  X509* (*cert)();
};

const EVP_MD* no_md() { return nullptr; }

void PrintTo(const KeyCase& c, std::ostream* os) { *os << c.name; }

class SignAuthTest : public ::testing::TestWithParam<KeyCase> {
 protected:
  void SetUp() override {
    std::string error;
    key_ = PrivateKey::from_pem(pki::key_pem(GetParam().key()), error);
    ASSERT_NE(key_, nullptr) << error;
    cert_ = cert_of(GetParam().cert());
    ASSERT_NE(cert_, nullptr);
  }
  std::unique_ptr<PrivateKey> key_;
  std::unique_ptr<Certificate> cert_;
};

TEST_P(SignAuthTest, KindIsReported) { EXPECT_EQ(key_->kind(), GetParam().kind); }

// RFC 7427 section 3: length byte, AlgorithmIdentifier, signature.
TEST_P(SignAuthTest, AuthDataLayout) {
  const Bytes octets = octets_of(500);
  const Bytes auth = key_->sign_auth(octets);
  const Bytes& alg = *GetParam().alg_id;
  ASSERT_GT(auth.size(), 1 + alg.size());
  EXPECT_EQ(auth[0], alg.size());
  EXPECT_EQ(Bytes(auth.begin() + 1, auth.begin() + 1 + static_cast<long>(alg.size())), alg);
  const Bytes sig(auth.begin() + 1 + static_cast<long>(alg.size()), auth.end());
  if (GetParam().md() == nullptr) {
    // Pure Ed25519 (RFC 8032 section 5.1.6): 64 bytes, deterministic.
    EXPECT_EQ(sig.size(), 64u);
    EXPECT_EQ(key_->sign_auth(octets), auth);
  } else {
    // RFC 7427 section 3: the ECDSA signature is the DER Ecdsa-Sig-Value.
    const unsigned char* p = sig.data();
    ECDSA_SIG* parsed = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    EXPECT_NE(parsed, nullptr);
    EXPECT_EQ(p, sig.data() + sig.size());
    ECDSA_SIG_free(parsed);
  }
  EXPECT_TRUE(verify_direct(GetParam().key(), GetParam().md(), sig, octets));
}

TEST_P(SignAuthTest, VerifiesWithTheCertificate) {
  for (size_t len : {size_t{0}, size_t{1}, size_t{1200}}) {
    const Bytes octets = octets_of(len);
    std::string why;
    EXPECT_TRUE(cert_->verify_auth(key_->sign_auth(octets), octets, why))
        << why << " (octets length " << len << ")";
  }
}

TEST_P(SignAuthTest, FlippedOctetByteFails) {
  const Bytes octets = octets_of(300);
  const Bytes auth = key_->sign_auth(octets);
  for (size_t i : {size_t{0}, size_t{150}, size_t{299}}) {
    Bytes bad = octets;
    bad[i] ^= 0x04;
    std::string why;
    EXPECT_FALSE(cert_->verify_auth(auth, bad, why)) << "octet " << i;
    EXPECT_NE(why.find("does not verify"), std::string::npos) << why;
  }
  Bytes shorter(octets.begin(), octets.end() - 1);
  std::string why;
  EXPECT_FALSE(cert_->verify_auth(auth, shorter, why));
}

TEST_P(SignAuthTest, EveryFlippedSignatureByteFails) {
  const Bytes octets = octets_of(100);
  const Bytes auth = key_->sign_auth(octets);
  for (size_t i = 1 + GetParam().alg_id->size(); i < auth.size(); i++) {
    Bytes bad = auth;
    bad[i] ^= 0x40;
    std::string why;
    EXPECT_FALSE(cert_->verify_auth(bad, octets, why)) << "signature byte " << i;
  }
  std::string why;
  EXPECT_FALSE(cert_->verify_auth(Bytes(auth.begin(), auth.end() - 1), octets, why));
  Bytes longer = auth;
  longer.push_back(0);
  EXPECT_FALSE(cert_->verify_auth(longer, octets, why));
}

TEST_P(SignAuthTest, AnotherKeysCertificateFails) {
  const Bytes octets = octets_of(64);
  auto other = cert_of(GetParam().md() == nullptr ? pki::lab().gw1.get() : pki::lab().not_ca.get());
  std::string why;
  EXPECT_FALSE(other->verify_auth(key_->sign_auth(octets), octets, why));
  EXPECT_FALSE(why.empty());
}

INSTANTIATE_TEST_SUITE_P(Keys, SignAuthTest,
                         ::testing::Values(KeyCase{"P256", "ecdsa-p256", &kEcdsaSha256, EVP_sha256,
                                                   [] { return pki::lab().gw1_key.get(); },
                                                   [] { return pki::lab().gw1.get(); }},
                                           KeyCase{"P384", "ecdsa-p384", &kEcdsaSha384, EVP_sha384,
                                                   [] { return pki::lab().p384_key.get(); },
                                                   [] { return pki::lab().p384.get(); }},
                                           KeyCase{"Ed25519", "ed25519", &kEd25519, no_md,
                                                   [] { return pki::lab().ed_key.get(); },
                                                   [] { return pki::lab().ed.get(); }}),
                         [](const auto& info) { return std::string(info.param.name); });

// RFC 7427 does not tie the hash to the curve: a P-256 key may sign with
// SHA-384 or SHA-512, and the AlgorithmIdentifier says which.
TEST(VerifyAuth, EcdsaHashIsTheAlgorithmIdentifiers) {
  const auto& lab = pki::lab();
  const auto cert = cert_of(lab.gw1.get());
  const Bytes octets = octets_of(77);
  const Bytes sig384 = sign_direct(lab.gw1_key.get(), EVP_sha384(), octets);
  const Bytes sig512 = sign_direct(lab.gw1_key.get(), EVP_sha512(), octets);
  std::string why;
  EXPECT_TRUE(cert->verify_auth(auth_data(kEcdsaSha384, sig384), octets, why)) << why;
  EXPECT_TRUE(cert->verify_auth(auth_data(kEcdsaSha512, sig512), octets, why)) << why;
  EXPECT_FALSE(cert->verify_auth(auth_data(kEcdsaSha256, sig384), octets, why));
  EXPECT_FALSE(cert->verify_auth(auth_data(kEcdsaSha512, sig384), octets, why));
}

TEST(VerifyAuth, AlgorithmMustFitTheKey) {
  const auto& lab = pki::lab();
  const Bytes octets = octets_of(40);
  std::string why;
  // An ECDSA signature labelled Ed25519, for an EC certificate.
  const auto ec = cert_of(lab.gw1.get());
  EXPECT_FALSE(ec->verify_auth(
      auth_data(kEd25519, sign_direct(lab.gw1_key.get(), EVP_sha256(), octets)), octets, why));
  EXPECT_NE(why.find("Ed25519"), std::string::npos) << why;
  EXPECT_NE(why.find("EC"), std::string::npos) << why;
  // An Ed25519 signature labelled ECDSA, for an Ed25519 certificate.
  const auto ed = cert_of(lab.ed.get());
  EXPECT_FALSE(ed->verify_auth(
      auth_data(kEcdsaSha256, sign_direct(lab.ed_key.get(), nullptr, octets)), octets, why));
  EXPECT_NE(why.find("ecdsa-with-SHA256"), std::string::npos) << why;
  // An RSA certificate is refused whatever the data says.
  const auto rsa = cert_of(lab.rsa.get());
  EXPECT_FALSE(rsa->verify_auth(auth_data(kEcdsaSha256, Bytes(64, 1)), octets, why));
  EXPECT_NE(why.find("RSA"), std::string::npos) << why;
}

TEST(VerifyAuth, UnsupportedAlgorithmIdentifiersAreNamed) {
  const auto& lab = pki::lab();
  const auto rsa = cert_of(lab.rsa.get());
  const Bytes octets = octets_of(40);
  std::string why;
  // Even a correct RSA signature: method 14 with RSA is not offered.
  EXPECT_FALSE(rsa->verify_auth(
      auth_data(kRsaSha256, sign_direct(lab.rsa_key.get(), EVP_sha256(), octets)), octets, why));
  EXPECT_NE(why.find("sha256WithRSAEncryption"), std::string::npos) << why;
  EXPECT_NE(why.find("not supported"), std::string::npos) << why;

  const auto ec = cert_of(lab.gw1.get());
  const Bytes sig = sign_direct(lab.gw1_key.get(), EVP_sha256(), octets);
  EXPECT_FALSE(ec->verify_auth(auth_data(kEcdsaSha256Null, sig), octets, why));
  EXPECT_NE(why.find("parameters"), std::string::npos) << why;
  EXPECT_FALSE(ec->verify_auth(auth_data({0x04, 0x02, 0x01, 0x02}, sig), octets, why));
  EXPECT_NE(why.find("not valid DER"), std::string::npos) << why;
}

TEST(VerifyAuth, MalformedAuthDataIsRefused) {
  const auto ec = cert_of(pki::lab().gw1.get());
  const Bytes octets = octets_of(10);
  std::string why;
  EXPECT_FALSE(ec->verify_auth(Bytes{}, octets, why));
  EXPECT_FALSE(why.empty());
  why.clear();
  EXPECT_FALSE(
      ec->verify_auth(Bytes{0x00, 0x30, 0x00}, octets, why));  // zero-length AlgorithmIdentifier
  EXPECT_FALSE(why.empty());
  why.clear();
  Bytes cut = auth_data(kEcdsaSha256, {});
  cut.pop_back();
  EXPECT_FALSE(ec->verify_auth(cut, octets, why));  // length byte beyond the data
  EXPECT_NE(why.find("shorter"), std::string::npos) << why;
  why.clear();
  EXPECT_FALSE(ec->verify_auth(auth_data(kEcdsaSha256, {}), octets, why));
  EXPECT_NE(why.find("no signature"), std::string::npos) << why;
}

// PrivateKey refusals: each error says what is wrong and shows no key
// material.
TEST(PrivateKeyLoad, RefusesOtherKeyTypes) {
  const auto& lab = pki::lab();
  std::string error;
  const std::string rsa_pem = pki::key_pem(lab.rsa_key.get());
  EXPECT_EQ(PrivateKey::from_pem(rsa_pem, error), nullptr);
  EXPECT_NE(error.find("not a P-256/P-384 EC or Ed25519 key"), std::string::npos) << error;
  EXPECT_NE(error.find("RSA"), std::string::npos) << error;
  EXPECT_FALSE(leaks_pem(error, rsa_pem));

  const std::string p521_pem = pki::key_pem(pki::generate("p521").get());
  EXPECT_EQ(PrivateKey::from_pem(p521_pem, error), nullptr);
  EXPECT_NE(error.find("not a P-256/P-384 EC or Ed25519 key"), std::string::npos) << error;
  EXPECT_NE(error.find("secp521r1"), std::string::npos) << error;
  EXPECT_FALSE(leaks_pem(error, p521_pem));
}

TEST(PrivateKeyLoad, RefusesEncryptedKeysWithoutPrompting) {
  // OpenSSL's default passphrase callback would read the terminal; with
  // stdin not a terminal under meson it would fail differently, so the
  // message is what shows our callback ran.
  const std::string pem = pki::key_pem_encrypted(pki::lab().gw1_key.get(), "passphrase-not-given");
  std::string error;
  EXPECT_EQ(PrivateKey::from_pem(pem, error), nullptr);
  EXPECT_NE(error.find("encrypted"), std::string::npos) << error;
  EXPECT_EQ(error.find("passphrase-not-given"), std::string::npos);
  EXPECT_FALSE(leaks_pem(error, pem));
}

TEST(PrivateKeyLoad, RefusesWhatIsNotAKey) {
  std::string error;
  EXPECT_EQ(PrivateKey::from_pem("", error), nullptr);
  EXPECT_NE(error.find("no PEM private key"), std::string::npos) << error;
  EXPECT_EQ(PrivateKey::from_pem(pki::cert_pem(pki::lab().gw1.get()), error), nullptr);
  EXPECT_NE(error.find("no PEM private key"), std::string::npos) << error;
  // A damaged key: one base64 character changed in the middle of the body.
  std::string pem = pki::key_pem(pki::lab().gw1_key.get());
  const size_t body = pem.find('\n') + 20;
  pem[body] = pem[body] == 'A' ? 'B' : 'A';
  pem[body + 1] = '*';
  EXPECT_EQ(PrivateKey::from_pem(pem, error), nullptr);
  EXPECT_FALSE(error.empty());
  EXPECT_FALSE(leaks_pem(error, pem));
}

// `openssl ecparam -genkey` writes EC PARAMETERS before the SEC 1 key.
TEST(PrivateKeyLoad, AcceptsTraditionalEcKeyAfterParameters) {
  std::string error;
  auto key =
      PrivateKey::from_pem(pki::key_pem_traditional_with_params(pki::lab().p384_key.get()), error);
  ASSERT_NE(key, nullptr) << error;
  EXPECT_EQ(key->kind(), "ecdsa-p384");
  const Bytes octets = octets_of(33);
  std::string why;
  EXPECT_TRUE(cert_of(pki::lab().p384.get())->verify_auth(key->sign_auth(octets), octets, why))
      << why;
}

TEST(PrivateKeyLoad, FromFileNamesTheFileOnError) {
  const pki::TempDir dir;
  std::string error;
  const std::string good = dir.write("gw1.key", pki::key_pem(pki::lab().gw1_key.get()));
  auto key = PrivateKey::load(good, error);
  ASSERT_NE(key, nullptr) << error;
  EXPECT_EQ(key->kind(), "ecdsa-p256");

  const std::string rsa = dir.write("rsa.key", pki::key_pem(pki::lab().rsa_key.get()));
  EXPECT_EQ(PrivateKey::load(rsa, error), nullptr);
  EXPECT_EQ(error.rfind(rsa + ": ", 0), 0u) << error;
  EXPECT_NE(error.find("not a P-256/P-384 EC or Ed25519 key"), std::string::npos) << error;

  const std::string missing = dir.path() + "/absent.key";
  EXPECT_EQ(PrivateKey::load(missing, error), nullptr);
  EXPECT_EQ(error.rfind(missing + ": ", 0), 0u) << error;
  EXPECT_NE(error.find("cannot open"), std::string::npos) << error;
}

}  // namespace
}  // namespace portcullis::ctl::ike
