// ike_pki.h: a small PKI built in memory with the OpenSSL API for the
// IKE tests (kat ike_auth, unit ike_engine), so no private key is ever
// committed and nothing shells out. lab() is built once per process (key
// generation is the slow part).
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace portcullis::kat::pki {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using CertPtr = std::unique_ptr<X509, X509Free>;

// generate: "p256", "p384", "p521", "ed25519" or "rsa" (2048 bits).
KeyPtr generate(const std::string& kind);

// CertSpec describes one certificate; times are days from now.
struct CertSpec {
  std::string subject;    // "C=GB,O=Example,CN=gw1.example"
  bool ca = false;        // basicConstraints CA:TRUE (critical)
  bool not_ca = false;    // basicConstraints CA:FALSE, for a leaf posing as issuer
  std::string san;        // "DNS:gw1.example,IP:192.0.2.1", empty for none
  std::string key_usage;  // "digitalSignature", empty for none
  long not_before_days = -1;
  long not_after_days = 30;
};

// issue signs a certificate for `subject_key`; a null issuer makes it
// self-signed.
CertPtr issue(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer, EVP_PKEY* issuer_key);

std::string cert_pem(X509* x);
std::vector<uint8_t> cert_der(X509* x);
// key_pem: PKCS#8 "PRIVATE KEY"; traditional: "EC PRIVATE KEY" (SEC 1)
// preceded by "EC PARAMETERS", as `openssl ecparam -genkey` writes it.
std::string key_pem(EVP_PKEY* k);
std::string key_pem_traditional_with_params(EVP_PKEY* k);
std::string key_pem_encrypted(EVP_PKEY* k, const std::string& passphrase);

// spki_sha1: SHA-1 of the key's DER SubjectPublicKeyInfo, computed here
// independently of auth.cc.
std::vector<uint8_t> spki_sha1(EVP_PKEY* k);

// Lab: the certificates the tests use. All leaves carry keyUsage
// digitalSignature unless their name says otherwise.
struct Lab {
  KeyPtr ca_key;  // P-256
  CertPtr ca;     // C=GB, O=Example, CN=Example Root CA
  KeyPtr gw1_key;
  CertPtr gw1;  // P-256, SAN DNS:gw1.example, IP 192.0.2.1, 2001:db8::1, vpn@gw1.example
  KeyPtr p384_key;
  CertPtr p384;  // CN=gw384.example
  KeyPtr ed_key;
  CertPtr ed;  // Ed25519, CN=gwed.example
  KeyPtr rsa_key;
  CertPtr rsa;  // RSA 2048, CN=gwrsa.example
  CertPtr expired;
  CertPtr not_yet_valid;
  CertPtr key_enc_only;  // keyUsage keyEncipherment
  KeyPtr other_ca_key;
  CertPtr other_ca;  // a different root, C=GB, O=Other, CN=Other Root CA
  CertPtr stranger;  // leaf of other_ca
  KeyPtr int_key;
  CertPtr intermediate;  // CA:TRUE, issued by ca
  CertPtr via_int;       // CN=gw2.example, issued by intermediate
  KeyPtr not_ca_key;
  CertPtr not_ca;      // CA:FALSE leaf of ca
  CertPtr via_not_ca;  // issued by not_ca
};

const Lab& lab();

// TempDir: a private (0700) directory for files load() reads, removed
// with its contents when destroyed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // write creates `name` in the directory with mode 0600 and returns its path.
  std::string write(const std::string& name, const std::string& content) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace portcullis::kat::pki
