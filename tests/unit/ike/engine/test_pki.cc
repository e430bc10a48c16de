#include "tests/unit/ike/engine/test_pki.h"

namespace portcullis::ctl::ike::test {

namespace {

std::string subject(const std::string& cn) { return "C=GB,O=Example,CN=" + cn; }

}  // namespace

Pki::Pki(const TempDir& dir, const std::string& name, const std::string& ca_kind)
    : dir_(dir), name_(name), ca_key_(kat::pki::generate(ca_kind)) {
  ca_cert_ = kat::pki::issue({.subject = subject(name + " Root CA"), .ca = true}, ca_key_.get(), nullptr, nullptr);
  ca_path_ = dir_.write(name + "-ca.pem", kat::pki::cert_pem(ca_cert_.get()));
}

GatewayFiles Pki::gateway(const std::string& dns, const std::string& kind, int filler) {
  kat::pki::KeyPtr key = kat::pki::generate(kind);
  std::string san = "DNS:" + dns;
  for (int i = 0; i < filler; i++) san += ",DNS:filler-" + std::to_string(i) + "." + dns;
  kat::pki::CertPtr x = kat::pki::issue(
      {.subject = subject(dns), .not_ca = true, .san = san, .key_usage = "digitalSignature"}, key.get(),
      ca_cert_.get(), ca_key_.get());
  GatewayFiles g;
  g.dns = dns;
  g.cert = dir_.write(name_ + "-" + dns + ".pem", kat::pki::cert_pem(x.get()));
  g.key = dir_.write(name_ + "-" + dns + ".key", kat::pki::key_pem(key.get()));
  g.ca = ca_path_;
  return g;
}

}  // namespace portcullis::ctl::ike::test
