// test_pki.h: certificates for the engine tests, made with the OpenSSL API
// into a private temporary directory (no key is ever committed, nothing
// shells out): a CA, and gateway certificates with a DNS subjectAltName.
#pragma once

#include <string>

namespace portcullis::ctl::ike::test {

// TempDir: a 0700 directory removed with its contents when destroyed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // write creates `name` with mode 0600 and returns its path.
  std::string write(const std::string& name, const std::string& content) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Gateway: the files one gateway's [tunnel.ike] names.
struct GatewayFiles {
  std::string cert, key, ca;
  std::string dns;  // its subjectAltName, usable as an ID
};

// Pki: a CA ("p256", "p384" or "ed25519" key) that issues gateway
// certificates into a TempDir.
class Pki {
 public:
  Pki(const TempDir& dir, const std::string& name, const std::string& ca_kind);
  ~Pki();
  Pki(const Pki&) = delete;
  Pki& operator=(const Pki&) = delete;
  // gateway issues "CN=<dns>" with SAN DNS:<dns> and a `kind` key; the
  // `ca` path names this PKI's CA. `filler` more DNS names make the
  // certificate big enough for IKE_AUTH to need fragments (RFC 7383).
  GatewayFiles gateway(const std::string& dns, const std::string& kind, int filler = 0);
  const std::string& ca_path() const { return ca_path_; }

 private:
  const TempDir& dir_;
  std::string name_, ca_path_;
  void* ca_key_ = nullptr;   // EVP_PKEY*
  void* ca_cert_ = nullptr;  // X509*
  long serial_ = 1;
};

}  // namespace portcullis::ctl::ike::test
