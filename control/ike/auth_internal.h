// auth_internal.h: the signature half of auth.cc below the Certificate
// class, so that tests can push foreign public keys (Wycheproof's) through
// exactly the routine Certificate::verify_auth runs. Not for the engine:
// it works with certificates and PrivateKey from auth.h.
#pragma once

#include <openssl/evp.h>

#include <string>

#include "control/ike/crypto.h"

namespace portcullis::ctl::ike::internal {

// SigAlg: the RFC 7427 AlgorithmIdentifiers we sign with or accept.
enum class SigAlg { kEcdsaSha256, kEcdsaSha384, kEcdsaSha512, kEd25519 };

// algorithm_identifier: the DER AlgorithmIdentifier for `alg`, as printed
// in RFC 7427 appendix A.3 (ECDSA, parameters absent per RFC 5758 section
// 3.2) and RFC 8420 section 2 (Ed25519).
ByteSpan algorithm_identifier(SigAlg alg);

// parse_auth_data splits method-14 AUTH data (RFC 7427 section 3): a
// one-byte length, that many bytes of AlgorithmIdentifier, the signature.
// False with `why` if the data is cut short or the AlgorithmIdentifier is
// not one of the four we accept byte for byte.
bool parse_auth_data(ByteSpan auth_data, SigAlg& alg, ByteSpan& signature, std::string& why);

// verify_signature checks `signature` over `octets` with `key` under
// `alg`: a DER ECDSA-Sig-Value over the digest, or a pure Ed25519
// signature (RFC 8032) over the octets themselves. The caller has already
// checked that `alg` fits the key; this only asks OpenSSL.
bool verify_signature(EVP_PKEY* key, SigAlg alg, ByteSpan signature, ByteSpan octets);

// verify_auth_with_key: what Certificate::verify_auth does with the
// certificate's key: parse, check the algorithm fits the key type, verify.
bool verify_auth_with_key(EVP_PKEY* key, ByteSpan auth_data, ByteSpan octets, std::string& why);

}  // namespace portcullis::ctl::ike::internal
