// auth.h: IKEv2 authentication (RFC 7296 section 2.15): the octets each
// side signs, pre-shared key AUTH, and digital signatures per RFC 7427
// (auth method 14) with ECDSA P-256/SHA-256, ECDSA P-384/SHA-384 and
// Ed25519, plus the X.509 side: loading PEM certificates and keys, and
// verifying a peer's certificate against the configured CA (OpenSSL).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "control/ike/crypto.h"

namespace portcullis::ctl::ike {

// signed_octets: RealMessage | NonceOfPeer | prf(SK_p, RestOfIDPayload),
// where id_body is the ID payload's body (IdPayload::body()).
std::vector<uint8_t> signed_octets(const Prf& prf, ByteSpan message, ByteSpan peer_nonce, ByteSpan sk_p,
                                   ByteSpan id_body);

// psk_auth: AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), octets).
SecretBytes psk_auth(const Prf& prf, ByteSpan secret, ByteSpan octets);

// psk_auth_matches compares in constant time.
bool psk_auth_matches(const Prf& prf, ByteSpan secret, ByteSpan octets, ByteSpan received);

// PrivateKey: this gateway's signing key (PEM, EC P-256/P-384 or Ed25519).
class PrivateKey {
 public:
  ~PrivateKey();
  PrivateKey(const PrivateKey&) = delete;
  PrivateKey& operator=(const PrivateKey&) = delete;
  // load reads a PEM private key file; nullptr and `error` (naming the
  // file, never key bytes) on failure.
  static std::unique_ptr<PrivateKey> load(const std::string& path, std::string& error);
  static std::unique_ptr<PrivateKey> from_pem(const std::string& pem, std::string& error);
  // kind: "ecdsa-p256", "ecdsa-p384" or "ed25519".
  const std::string& kind() const { return kind_; }
  // sign_auth returns the AUTH payload data for method 14: a one-byte
  // length, the DER AlgorithmIdentifier (ecdsa-with-SHA256/384, or
  // id-Ed25519), and the signature (DER ECDSA-Sig-Value, or 64 bytes).
  std::vector<uint8_t> sign_auth(ByteSpan octets) const;

 private:
  PrivateKey() = default;
  void* pkey_ = nullptr;  // EVP_PKEY*
  std::string kind_;
};

// Certificate: one X.509 certificate.
class Certificate {
 public:
  ~Certificate();
  Certificate(const Certificate&) = delete;
  Certificate& operator=(const Certificate&) = delete;
  static std::unique_ptr<Certificate> load(const std::string& path, std::string& error);
  static std::unique_ptr<Certificate> from_pem(const std::string& pem, std::string& error);
  static std::unique_ptr<Certificate> from_der(ByteSpan der, std::string& error);
  const std::vector<uint8_t>& der() const { return der_; }
  // subject_der: the subject Name's DER, for ID_DER_ASN1_DN.
  std::vector<uint8_t> subject_der() const;
  // subject_text: "C=GB, O=Example, CN=gw1" for logs.
  std::string subject_text() const;
  // matches_id: true if this certificate may speak for the ID: a DN equal
  // to its subject, or an FQDN, RFC 822 name or IP address among its
  // subjectAltNames.
  bool matches_id(uint8_t id_type, ByteSpan id_data) const;
  // public_key_sha1: SHA-1 of the subjectPublicKeyInfo's public key, as
  // CERTREQ lists certification authorities (section 3.7).
  std::vector<uint8_t> public_key_sha1() const;
  // verify_auth checks a method-14 AUTH payload's data over `octets` with
  // this certificate's public key. False with `why` set if the
  // AlgorithmIdentifier is unknown or does not fit the key, or the
  // signature is wrong.
  bool verify_auth(ByteSpan auth_data, ByteSpan octets, std::string& why) const;

 private:
  Certificate() = default;
  void* x509_ = nullptr;  // X509*
  std::vector<uint8_t> der_;
};

// TrustStore: the CA certificates a tunnel trusts.
class TrustStore {
 public:
  ~TrustStore();
  TrustStore(const TrustStore&) = delete;
  TrustStore& operator=(const TrustStore&) = delete;
  // load reads one or more PEM CA certificates from a file.
  static std::unique_ptr<TrustStore> load(const std::string& path, std::string& error);
  static std::unique_ptr<TrustStore> from_pem(const std::string& pem, std::string& error);
  // verify checks `leaf` chains to one of the CAs, through `intermediates`,
  // is within its validity period at the current time, and that its key
  // usage allows signatures. False with `why` ("certificate has expired",
  // "unable to get local issuer certificate", ...).
  bool verify(const Certificate& leaf, const std::vector<const Certificate*>& intermediates,
              std::string& why) const;
  // authorities: the SHA-1 hashes for our CERTREQ.
  std::vector<uint8_t> authorities() const;

 private:
  TrustStore() = default;
  void* store_ = nullptr;  // X509_STORE*
  std::vector<std::vector<uint8_t>> hashes_;
};

// Signature hash algorithms we announce in SIGNATURE_HASH_ALGORITHMS
// (RFC 7427 section 4): SHA2-256 (2), SHA2-384 (3), SHA2-512 (4), and
// Identity (5) for Ed25519 (RFC 8420).
std::vector<uint8_t> signature_hash_algorithms_data();

}  // namespace portcullis::ctl::ike
