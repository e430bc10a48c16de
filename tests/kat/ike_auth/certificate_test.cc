// certificate_test.cc: Certificate (parsing, subject, ID matching per RFC
// 4945 section 3.1, the CERTREQ hash of RFC 7296 section 3.7) and
// TrustStore (chains through intermediates, validity, key usage) over the
// in-memory PKI of tests/common/ike_pki.h.
#include <gtest/gtest.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

#include "control/ike/auth.h"
#include "control/ike/message.h"
#include "tests/common/ike_pki.h"

namespace portcullis::ctl::ike {
namespace {

using Bytes = std::vector<uint8_t>;
namespace pki = kat::pki;

std::unique_ptr<Certificate> cert_of(X509* x) {
  std::string error;
  auto c = Certificate::from_der(pki::cert_der(x), error);
  EXPECT_NE(c, nullptr) << error;
  return c;
}

std::unique_ptr<TrustStore> store_of(const std::string& pem) {
  std::string error;
  auto s = TrustStore::from_pem(pem, error);
  EXPECT_NE(s, nullptr) << error;
  return s;
}

Bytes name_der(X509* x) {
  unsigned char* der = nullptr;
  const int len = i2d_X509_NAME(X509_get_subject_name(x), &der);
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

TEST(Certificate, PemAndDerGiveTheSameCertificate) {
  const auto& lab = pki::lab();
  std::string error;
  auto from_pem = Certificate::from_pem(pki::cert_pem(lab.gw1.get()), error);
  ASSERT_NE(from_pem, nullptr) << error;
  EXPECT_EQ(from_pem->der(), pki::cert_der(lab.gw1.get()));
  auto from_der = Certificate::from_der(from_pem->der(), error);
  ASSERT_NE(from_der, nullptr) << error;
  EXPECT_EQ(from_der->der(), from_pem->der());
  EXPECT_EQ(from_der->subject_der(), name_der(lab.gw1.get()));
}

TEST(Certificate, RefusesWhatIsNotOneCertificate) {
  std::string error;
  Bytes der = pki::cert_der(pki::lab().gw1.get());
  der.push_back(0);
  EXPECT_EQ(Certificate::from_der(der, error), nullptr);
  EXPECT_NE(error.find("trailing"), std::string::npos) << error;
  EXPECT_EQ(Certificate::from_der(Bytes(der.begin(), der.end() - 10), error), nullptr);
  EXPECT_NE(error.find("not a DER X.509 certificate"), std::string::npos) << error;
  EXPECT_EQ(Certificate::from_der(Bytes{}, error), nullptr);
  EXPECT_EQ(Certificate::from_pem("hello", error), nullptr);
  EXPECT_NE(error.find("no PEM certificate"), std::string::npos) << error;
}

TEST(Certificate, LoadNamesTheFile) {
  const pki::TempDir dir;
  std::string error;
  const std::string good = dir.write("gw1.pem", pki::cert_pem(pki::lab().gw1.get()));
  auto c = Certificate::load(good, error);
  ASSERT_NE(c, nullptr) << error;
  EXPECT_EQ(c->der(), pki::cert_der(pki::lab().gw1.get()));
  const std::string bad = dir.write("bad.pem", "not a certificate\n");
  EXPECT_EQ(Certificate::load(bad, error), nullptr);
  EXPECT_EQ(error.rfind(bad + ": no PEM certificate", 0), 0u) << error;
  const std::string big = dir.write("big.pem", std::string((1 << 20) + 1, 'A'));
  EXPECT_EQ(Certificate::load(big, error), nullptr);
  EXPECT_EQ(error, big + ": larger than 1 MiB; expected a PEM file");
  EXPECT_EQ(Certificate::load(dir.path() + "/absent.pem", error), nullptr);
  EXPECT_NE(error.find("absent.pem: cannot open"), std::string::npos) << error;
}

TEST(Certificate, SubjectTextIsOneForwardLine) {
  EXPECT_EQ(cert_of(pki::lab().gw1.get())->subject_text(), "C=GB, O=Example, CN=gw1.example");
  // A subject with a newline must not split a log line.
  auto key = pki::generate("p256");
  auto evil = pki::issue({.subject = "C=GB,CN=evil\nC=XX"}, key.get(), nullptr, nullptr);
  const std::string t = cert_of(evil.get())->subject_text();
  EXPECT_EQ(t.find('\n'), std::string::npos) << t;
  EXPECT_NE(t.find("evil"), std::string::npos) << t;
}

TEST(Certificate, MatchesDistinguishedName) {
  const auto& lab = pki::lab();
  const auto gw1 = cert_of(lab.gw1.get());
  EXPECT_TRUE(gw1->matches_id(kIdDerAsn1Dn, name_der(lab.gw1.get())));
  EXPECT_TRUE(gw1->matches_id(kIdDerAsn1Dn, gw1->subject_der()));
  // Same CN, other O: a different subject.
  EXPECT_FALSE(gw1->matches_id(kIdDerAsn1Dn, name_der(lab.stranger.get())));
  EXPECT_FALSE(gw1->matches_id(kIdDerAsn1Dn, name_der(lab.ca.get())));
  Bytes trailing = name_der(lab.gw1.get());
  trailing.push_back(0);
  EXPECT_FALSE(gw1->matches_id(kIdDerAsn1Dn, trailing));
  EXPECT_FALSE(gw1->matches_id(kIdDerAsn1Dn, text("C=GB, O=Example, CN=gw1.example")));
  // The DN is not an FQDN, nor the other way round.
  EXPECT_FALSE(gw1->matches_id(kIdFqdn, name_der(lab.gw1.get())));
  EXPECT_FALSE(gw1->matches_id(kIdDerAsn1Dn, text("gw1.example")));
}

TEST(Certificate, MatchesFqdnAndEmailCaseInsensitively) {
  const auto gw1 = cert_of(pki::lab().gw1.get());
  EXPECT_TRUE(gw1->matches_id(kIdFqdn, text("gw1.example")));
  EXPECT_TRUE(gw1->matches_id(kIdFqdn, text("GW1.Example")));
  EXPECT_FALSE(gw1->matches_id(kIdFqdn, text("gw2.example")));
  EXPECT_FALSE(gw1->matches_id(kIdFqdn, text("gw1.example.evil")));
  EXPECT_FALSE(gw1->matches_id(kIdFqdn, text("gw1.exampl")));
  EXPECT_FALSE(gw1->matches_id(kIdFqdn, text(std::string("gw1.example\0", 12))));
  EXPECT_FALSE(gw1->matches_id(kIdFqdn, Bytes{}));
  EXPECT_TRUE(gw1->matches_id(kIdRfc822, text("vpn@gw1.example")));
  EXPECT_TRUE(gw1->matches_id(kIdRfc822, text("VPN@GW1.example")));
  EXPECT_FALSE(gw1->matches_id(kIdRfc822, text("ops@gw1.example")));
  // An email SAN does not answer for an FQDN ID, nor a DNS SAN for email.
  EXPECT_FALSE(gw1->matches_id(kIdFqdn, text("vpn@gw1.example")));
  EXPECT_FALSE(gw1->matches_id(kIdRfc822, text("gw1.example")));
  // No SAN fallback to the subject CN (RFC 4945 section 3.1).
  EXPECT_FALSE(cert_of(pki::lab().rsa.get())->matches_id(kIdFqdn, text("gwrsa.example")));
}

TEST(Certificate, MatchesIpAddresses) {
  const auto gw1 = cert_of(pki::lab().gw1.get());
  const Bytes v4 = {192, 0, 2, 1};
  const Bytes v6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_TRUE(gw1->matches_id(kIdIpv4, v4));
  EXPECT_TRUE(gw1->matches_id(kIdIpv6, v6));
  EXPECT_FALSE(gw1->matches_id(kIdIpv4, Bytes{192, 0, 2, 2}));
  Bytes v6_other = v6;
  v6_other[15] = 2;
  EXPECT_FALSE(gw1->matches_id(kIdIpv6, v6_other));
  EXPECT_FALSE(gw1->matches_id(kIdIpv6, v4));  // wrong length for the type
  EXPECT_FALSE(gw1->matches_id(kIdIpv4, v6));
  EXPECT_FALSE(gw1->matches_id(kIdFqdn, text("192.0.2.1")));
  EXPECT_FALSE(gw1->matches_id(kIdKeyId, v4));
}

// RFC 7296 section 3.7: the hash covers the whole SubjectPublicKeyInfo.
TEST(Certificate, PublicKeySha1HashesTheSubjectPublicKeyInfo) {
  const auto& lab = pki::lab();
  EXPECT_EQ(cert_of(lab.ca.get())->public_key_sha1(), pki::spki_sha1(lab.ca_key.get()));
  EXPECT_EQ(cert_of(lab.ed.get())->public_key_sha1(), pki::spki_sha1(lab.ed_key.get()));
  EXPECT_NE(cert_of(lab.ca.get())->public_key_sha1(),
            cert_of(lab.other_ca.get())->public_key_sha1());
}

class TrustStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = store_of(pki::cert_pem(pki::lab().ca.get()));
    ASSERT_NE(store_, nullptr);
  }
  bool verify(X509* leaf, const std::vector<X509*>& intermediates = {}) {
    std::vector<std::unique_ptr<Certificate>> owned;
    std::vector<const Certificate*> ims;
    for (X509* x : intermediates) {
      owned.push_back(cert_of(x));
      ims.push_back(owned.back().get());
    }
    why_.clear();
    return store_->verify(*cert_of(leaf), ims, why_);
  }
  std::unique_ptr<TrustStore> store_;
  std::string why_;
};

TEST_F(TrustStoreTest, LeavesOfTheCaVerify) {
  const auto& lab = pki::lab();
  for (X509* leaf : {lab.gw1.get(), lab.p384.get(), lab.ed.get(), lab.rsa.get()}) {
    EXPECT_TRUE(verify(leaf)) << why_;
  }
}

TEST_F(TrustStoreTest, ExpiredAndNotYetValidFail) {
  EXPECT_FALSE(verify(pki::lab().expired.get()));
  EXPECT_EQ(why_.rfind("certificate has expired", 0), 0u) << why_;
  EXPECT_NE(why_.find("CN=old.example"), std::string::npos) << why_;
  EXPECT_FALSE(verify(pki::lab().not_yet_valid.get()));
  EXPECT_EQ(why_.rfind("certificate is not yet valid", 0), 0u) << why_;
}

TEST_F(TrustStoreTest, OtherCasLeafIsUntrusted) {
  EXPECT_FALSE(verify(pki::lab().stranger.get()));
  EXPECT_EQ(why_.rfind("unable to get local issuer certificate", 0), 0u) << why_;
  // Offering the other root as an "intermediate" does not make it trusted.
  EXPECT_FALSE(verify(pki::lab().stranger.get(), {pki::lab().other_ca.get()}));
  EXPECT_FALSE(why_.empty());
}

TEST_F(TrustStoreTest, ChainsThroughAnIntermediate) {
  const auto& lab = pki::lab();
  EXPECT_TRUE(verify(lab.via_int.get(), {lab.intermediate.get()})) << why_;
  EXPECT_TRUE(verify(lab.via_int.get(), {lab.gw1.get(), lab.intermediate.get()})) << why_;
  EXPECT_FALSE(verify(lab.via_int.get()));
  EXPECT_EQ(why_.rfind("unable to get local issuer certificate", 0), 0u) << why_;
}

TEST_F(TrustStoreTest, LeafCannotActAsIssuer) {
  const auto& lab = pki::lab();
  EXPECT_FALSE(verify(lab.via_not_ca.get(), {lab.not_ca.get()}));
  EXPECT_EQ(why_.rfind("invalid CA certificate", 0), 0u) << why_;
}

TEST_F(TrustStoreTest, KeyUsageMustAllowSignatures) {
  EXPECT_FALSE(verify(pki::lab().key_enc_only.get()));
  EXPECT_NE(why_.find("key usage does not allow digital signatures"), std::string::npos) << why_;
}

TEST_F(TrustStoreTest, TamperedCertificateFails) {
  Bytes der = pki::cert_der(pki::lab().gw1.get());
  der[der.size() - 3] ^= 0x01;  // inside the signature value
  std::string error;
  auto tampered = Certificate::from_der(der, error);
  ASSERT_NE(tampered, nullptr) << error;
  EXPECT_FALSE(store_->verify(*tampered, {}, why_));
  EXPECT_EQ(why_.rfind("certificate signature failure", 0), 0u) << why_;
}

TEST(TrustStore, SeveralCasInOneFile) {
  const auto& lab = pki::lab();
  const auto store = store_of(pki::cert_pem(lab.ca.get()) + pki::cert_pem(lab.other_ca.get()));
  ASSERT_NE(store, nullptr);
  std::string why;
  EXPECT_TRUE(store->verify(*cert_of(lab.gw1.get()), {}, why)) << why;
  EXPECT_TRUE(store->verify(*cert_of(lab.stranger.get()), {}, why)) << why;
  Bytes expected = pki::spki_sha1(lab.ca_key.get());
  const Bytes other = pki::spki_sha1(lab.other_ca_key.get());
  expected.insert(expected.end(), other.begin(), other.end());
  EXPECT_EQ(store->authorities(), expected);
  // The same CA twice is listed once in CERTREQ.
  const auto twice = store_of(pki::cert_pem(lab.ca.get()) + pki::cert_pem(lab.ca.get()));
  ASSERT_NE(twice, nullptr);
  EXPECT_EQ(twice->authorities(), pki::spki_sha1(lab.ca_key.get()));
}

TEST(TrustStore, RefusesFilesWithoutGoodCertificates) {
  std::string error;
  EXPECT_EQ(TrustStore::from_pem("", error), nullptr);
  EXPECT_NE(error.find("no PEM certificate"), std::string::npos) << error;
  std::string second = pki::cert_pem(pki::lab().other_ca.get());
  second[second.find('\n') + 30] = '*';
  EXPECT_EQ(TrustStore::from_pem(pki::cert_pem(pki::lab().ca.get()) + second, error), nullptr);
  EXPECT_NE(error.find("certificate 2"), std::string::npos) << error;

  const pki::TempDir dir;
  const std::string path = dir.write("cas.pem", "# no certificates here\n");
  EXPECT_EQ(TrustStore::load(path, error), nullptr);
  EXPECT_EQ(error.rfind(path + ": no PEM certificate", 0), 0u) << error;
  const std::string good = dir.write("ca.pem", pki::cert_pem(pki::lab().ca.get()));
  auto store = TrustStore::load(good, error);
  ASSERT_NE(store, nullptr) << error;
  EXPECT_EQ(store->authorities(), pki::spki_sha1(pki::lab().ca_key.get()));
}

}  // namespace
}  // namespace portcullis::ctl::ike
