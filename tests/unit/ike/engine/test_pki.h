// test_pki.h: certificate files for the engine tests, issued with the
// shared test PKI (tests/common/ike_pki.h) into a private temporary
// directory: a CA, and gateway certificates with a DNS subjectAltName.
#pragma once

#include <string>

#include "tests/common/ike_pki.h"

namespace portcullis::ctl::ike::test {

using TempDir = kat::pki::TempDir;

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
  kat::pki::KeyPtr ca_key_;
  kat::pki::CertPtr ca_cert_;
};

}  // namespace portcullis::ctl::ike::test
