#include "tests/unit/ike/engine/test_pki.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace portcullis::ctl::ike::test {

namespace {

EVP_PKEY* generate(const std::string& kind) {
  EVP_PKEY* k = nullptr;
  if (kind == "p256") k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (kind == "p384") k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
  if (kind == "ed25519") k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (k == nullptr) throw std::runtime_error("test PKI: cannot generate a " + kind + " key");
  return k;
}

void add_ext(X509* x, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr || X509_add_ext(x, ext, -1) != 1)
    throw std::runtime_error("test PKI: bad extension");
  X509_EXTENSION_free(ext);
}

// issue: a certificate for `key`, signed by `issuer_key` (self-signed when
// `issuer` is null), valid from an hour ago for 30 days.
X509* issue(const std::string& cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, long serial,
            bool ca, const std::string& dns) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("GB"),
                             -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Example"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(x, key);
  X509* signer = issuer ? issuer : x;
  if (ca) {
    add_ext(x, signer, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(x, signer, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(x, signer, NID_key_usage, "critical,digitalSignature");
    add_ext(x, signer, NID_subject_alt_name, ("DNS:" + dns).c_str());
  }
  const EVP_MD* md = EVP_PKEY_get_id(issuer_key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
  if (X509_sign(x, issuer_key, md) <= 0) throw std::runtime_error("test PKI: cannot sign");
  return x;
}

template <class F>
std::string to_pem(F write) {
  BIO* b = BIO_new(BIO_s_mem());
  write(b);
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(b);
  return out;
}

std::string cert_pem(X509* x) {
  return to_pem([&](BIO* b) { PEM_write_bio_X509(b, x); });
}

std::string key_pem(EVP_PKEY* k) {
  return to_pem(
      [&](BIO* b) { PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr); });
}

}  // namespace

TempDir::TempDir() {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "portcullis-ike-engine-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr)
    throw std::runtime_error("cannot create a temporary directory");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  const std::string p = path_ + "/" + name;
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + p);
  const bool ok =
      ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + p);
  return p;
}

Pki::Pki(const TempDir& dir, const std::string& name, const std::string& ca_kind)
    : dir_(dir), name_(name) {
  EVP_PKEY* key = generate(ca_kind);
  X509* ca = issue(name + " Root CA", key, nullptr, key, serial_++, true, "");
  ca_key_ = key;
  ca_cert_ = ca;
  ca_path_ = dir_.write(name + "-ca.pem", cert_pem(ca));
}

Pki::~Pki() {
  X509_free(static_cast<X509*>(ca_cert_));
  EVP_PKEY_free(static_cast<EVP_PKEY*>(ca_key_));
}

GatewayFiles Pki::gateway(const std::string& dns, const std::string& kind, int filler) {
  EVP_PKEY* key = generate(kind);
  std::string san = dns;
  for (int i = 0; i < filler; i++) san += ",DNS:filler-" + std::to_string(i) + "." + dns;
  X509* x = issue(dns, key, static_cast<X509*>(ca_cert_), static_cast<EVP_PKEY*>(ca_key_),
                  serial_++, false, san);
  GatewayFiles g;
  g.dns = dns;
  g.cert = dir_.write(name_ + "-" + dns + ".pem", cert_pem(x));
  g.key = dir_.write(name_ + "-" + dns + ".key", key_pem(key));
  g.ca = ca_path_;
  X509_free(x);
  EVP_PKEY_free(key);
  return g;
}

}  // namespace portcullis::ctl::ike::test
