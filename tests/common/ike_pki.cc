#include "tests/common/ike_pki.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace portcullis::kat::pki {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

[[noreturn]] void fail(const std::string& what) {
  ERR_print_errors_fp(stderr);
  throw std::runtime_error("test PKI: " + what);
}

std::string bio_string(BIO* b) {
  char* p = nullptr;
  const long n = BIO_get_mem_data(b, &p);
  return std::string(p, static_cast<size_t>(n));
}

void add_ext(X509* x, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr || X509_add_ext(x, ext, -1) != 1) fail("extension " + value);
  X509_EXTENSION_free(ext);
}

}  // namespace

KeyPtr generate(const std::string& kind) {
  EVP_PKEY* k = nullptr;
  if (kind == "p256") k = EVP_EC_gen("P-256");
  if (kind == "p384") k = EVP_EC_gen("P-384");
  if (kind == "p521") k = EVP_EC_gen("P-521");
  if (kind == "ed25519") k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (kind == "rsa") k = EVP_RSA_gen(2048);
  if (k == nullptr) fail("generate " + kind);
  return KeyPtr(k);
}

CertPtr issue(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer, EVP_PKEY* issuer_key) {
  static long serial = 1000;
  CertPtr x(X509_new());
  if (!x || X509_set_version(x.get(), 2) != 1) fail("X509_new");
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), ++serial);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), spec.not_before_days * 86400);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), spec.not_after_days * 86400);
  X509_NAME* name = X509_get_subject_name(x.get());
  // "K=V,K=V": values in the tests contain no commas.
  size_t start = 0;
  while (start < spec.subject.size()) {
    size_t end = spec.subject.find(',', start);
    if (end == std::string::npos) end = spec.subject.size();
    const std::string rdn = spec.subject.substr(start, end - start);
    const size_t eq = rdn.find('=');
    const std::string value = rdn.substr(eq + 1);
    if (X509_NAME_add_entry_by_txt(name, rdn.substr(0, eq).c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) != 1) {
      fail("subject " + spec.subject);
    }
    start = end + 1;
  }
  X509_set_issuer_name(x.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
  if (X509_set_pubkey(x.get(), subject_key) != 1) fail("set_pubkey");
  X509* signer = issuer != nullptr ? issuer : x.get();
  if (spec.ca) add_ext(x.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
  if (spec.not_ca) add_ext(x.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
  if (spec.ca) add_ext(x.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  if (!spec.key_usage.empty())
    add_ext(x.get(), signer, NID_key_usage, "critical," + spec.key_usage);
  if (!spec.san.empty()) add_ext(x.get(), signer, NID_subject_alt_name, spec.san);
  EVP_PKEY* sign_key = issuer_key != nullptr ? issuer_key : subject_key;
  const EVP_MD* md = EVP_PKEY_get_base_id(sign_key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
  if (X509_sign(x.get(), sign_key, md) <= 0) fail("sign " + spec.subject);
  return x;
}

std::string cert_pem(X509* x) {
  Bio b(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(b.get(), x) != 1) fail("PEM_write_bio_X509");
  return bio_string(b.get());
}

std::vector<uint8_t> cert_der(X509* x) {
  unsigned char* der = nullptr;
  const int len = i2d_X509(x, &der);
  if (len <= 0) fail("i2d_X509");
  std::vector<uint8_t> out(der, der + len);
  OPENSSL_free(der);
  return out;
}

std::string key_pem(EVP_PKEY* k) {
  Bio b(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(b.get(), k, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    fail("key PEM");
  return bio_string(b.get());
}

std::string key_pem_traditional_with_params(EVP_PKEY* k) {
  Bio b(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_Parameters(b.get(), k) != 1 ||
      PEM_write_bio_PrivateKey_traditional(b.get(), k, nullptr, nullptr, 0, nullptr, nullptr) !=
          1) {
    fail("traditional key PEM");
  }
  return bio_string(b.get());
}

std::string key_pem_encrypted(EVP_PKEY* k, const std::string& passphrase) {
  Bio b(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PKCS8PrivateKey(b.get(), k, EVP_aes_256_cbc(), passphrase.data(),
                                    static_cast<int>(passphrase.size()), nullptr, nullptr) != 1) {
    fail("encrypted key PEM");
  }
  return bio_string(b.get());
}

std::vector<uint8_t> spki_sha1(EVP_PKEY* k) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(k, &der);
  if (len <= 0) fail("i2d_PUBKEY");
  std::vector<uint8_t> out(20);
  unsigned int n = 0;
  EVP_Digest(der, static_cast<size_t>(len), out.data(), &n, EVP_sha1(), nullptr);
  OPENSSL_free(der);
  return out;
}

const Lab& lab() {
  static const Lab built = [] {
    Lab lab_value;
    Lab* l = &lab_value;
    const std::string ds = "digitalSignature";
    l->ca_key = generate("p256");
    l->ca =
        issue({.subject = "C=GB,O=Example,CN=Example Root CA", .ca = true, .not_after_days = 3650},
              l->ca_key.get(), nullptr, nullptr);
    X509* ca = l->ca.get();
    EVP_PKEY* ca_key = l->ca_key.get();
    l->gw1_key = generate("p256");
    l->gw1 = issue({.subject = "C=GB,O=Example,CN=gw1.example",
                    .san = "DNS:gw1.example,IP:192.0.2.1,IP:2001:db8::1,email:vpn@gw1.example",
                    .key_usage = ds},
                   l->gw1_key.get(), ca, ca_key);
    l->p384_key = generate("p384");
    l->p384 = issue(
        {.subject = "C=GB,O=Example,CN=gw384.example", .san = "DNS:gw384.example", .key_usage = ds},
        l->p384_key.get(), ca, ca_key);
    l->ed_key = generate("ed25519");
    l->ed = issue(
        {.subject = "C=GB,O=Example,CN=gwed.example", .san = "DNS:gwed.example", .key_usage = ds},
        l->ed_key.get(), ca, ca_key);
    l->rsa_key = generate("rsa");
    l->rsa = issue({.subject = "C=GB,O=Example,CN=gwrsa.example", .key_usage = ds},
                   l->rsa_key.get(), ca, ca_key);
    l->expired = issue({.subject = "C=GB,O=Example,CN=old.example",
                        .key_usage = ds,
                        .not_before_days = -30,
                        .not_after_days = -1},
                       l->gw1_key.get(), ca, ca_key);
    l->not_yet_valid = issue({.subject = "C=GB,O=Example,CN=new.example",
                              .key_usage = ds,
                              .not_before_days = 2,
                              .not_after_days = 30},
                             l->gw1_key.get(), ca, ca_key);
    l->key_enc_only =
        issue({.subject = "C=GB,O=Example,CN=kx.example", .key_usage = "keyEncipherment"},
              l->gw1_key.get(), ca, ca_key);
    l->other_ca_key = generate("p256");
    l->other_ca =
        issue({.subject = "C=GB,O=Other,CN=Other Root CA", .ca = true, .not_after_days = 3650},
              l->other_ca_key.get(), nullptr, nullptr);
    l->stranger =
        issue({.subject = "C=GB,O=Other,CN=gw1.example", .san = "DNS:gw1.example", .key_usage = ds},
              l->gw1_key.get(), l->other_ca.get(), l->other_ca_key.get());
    l->int_key = generate("p384");
    l->intermediate = issue(
        {.subject = "C=GB,O=Example,CN=Example Issuing CA", .ca = true, .not_after_days = 365},
        l->int_key.get(), ca, ca_key);
    l->via_int = issue(
        {.subject = "C=GB,O=Example,CN=gw2.example", .san = "DNS:gw2.example", .key_usage = ds},
        l->gw1_key.get(), l->intermediate.get(), l->int_key.get());
    l->not_ca_key = generate("p256");
    l->not_ca = issue({.subject = "C=GB,O=Example,CN=notca.example", .not_ca = true},
                      l->not_ca_key.get(), ca, ca_key);
    l->via_not_ca = issue({.subject = "C=GB,O=Example,CN=gw3.example", .key_usage = ds},
                          l->gw1_key.get(), l->not_ca.get(), l->not_ca_key.get());
    return lab_value;
  }();
  return built;
}

TempDir::TempDir() {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "portcullis-ike-auth-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) fail("mkdtemp");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  const std::string file = path_ + "/" + name;
  const mode_t old = umask(077);
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  umask(old);
  out << content;
  if (!out) fail("write " + file);
  return file;
}

}  // namespace portcullis::kat::pki
