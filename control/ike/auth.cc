// auth.cc: IKEv2 authentication (RFC 7296 section 2.15) with pre-shared
// keys and with RFC 7427 digital signatures, and the X.509 work around the
// latter. OpenSSL 3 does the public-key arithmetic and the chain building;
// this file decides what is acceptable.
//
// What we accept from a peer is narrow on purpose: the AlgorithmIdentifier
// must be byte for byte one of the four encodings RFC 7427 appendix A and
// RFC 8420 print, and must fit the certificate's key type, before OpenSSL
// is asked about the signature. OpenSSL's ECDSA verify rejects signatures
// that are not strict DER (it re-encodes and compares), so BER variants of
// a valid signature fail too, as Wycheproof's vectors require.
//
// OpenSSL reports failures on a per-thread error queue. Every path that
// can leave entries there clears it, so that a later unrelated call does
// not pick up a stale reason.
#include "control/ike/auth.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "control/ike/auth_internal.h"
#include "control/ike/message.h"

namespace portcullis::ctl::ike {
namespace {

using internal::SigAlg;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct NameFree {
  void operator()(X509_NAME* n) const { X509_NAME_free(n); }
};
struct AlgorFree {
  void operator()(X509_ALGOR* a) const { X509_ALGOR_free(a); }
};
struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* g) const { GENERAL_NAMES_free(g); }
};
struct StoreCtxFree {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
struct StackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

// A certificate or key file is a few kilobytes; see read_file.
constexpr size_t kMaxPemFile = 1 << 20;

// RFC 7296 section 2.15: the PSK is first keyed into the PRF with this
// pad, without a terminating NUL.
constexpr char kKeyPad[] = "Key Pad for IKEv2";

// The AlgorithmIdentifiers, RFC 7427 appendix A.3.1-A.3.3 and RFC 8420
// section 2: SEQUENCE { OID } with no parameters.
constexpr uint8_t kAlgEcdsaSha256[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                       0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
constexpr uint8_t kAlgEcdsaSha384[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                       0x48, 0xce, 0x3d, 0x04, 0x03, 0x03};
constexpr uint8_t kAlgEcdsaSha512[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                       0x48, 0xce, 0x3d, 0x04, 0x03, 0x04};
constexpr uint8_t kAlgEd25519[] = {0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70};

constexpr SigAlg kAllAlgs[] = {SigAlg::kEcdsaSha256, SigAlg::kEcdsaSha384, SigAlg::kEcdsaSha512,
                               SigAlg::kEd25519};

const char* alg_name(SigAlg alg) {
  switch (alg) {
    case SigAlg::kEcdsaSha256:
      return "ecdsa-with-SHA256";
    case SigAlg::kEcdsaSha384:
      return "ecdsa-with-SHA384";
    case SigAlg::kEcdsaSha512:
      return "ecdsa-with-SHA512";
    case SigAlg::kEd25519:
      return "Ed25519";
  }
  return "?";
}

// digest_for: the hash ECDSA signs; Ed25519 hashes internally (pure
// EdDSA, RFC 8420 section 2), which OpenSSL expresses as no digest.
const EVP_MD* digest_for(SigAlg alg) {
  switch (alg) {
    case SigAlg::kEcdsaSha256:
      return EVP_sha256();
    case SigAlg::kEcdsaSha384:
      return EVP_sha384();
    case SigAlg::kEcdsaSha512:
      return EVP_sha512();
    case SigAlg::kEd25519:
      return nullptr;
  }
  return nullptr;
}

// data_or_dummy: OpenSSL's one-shot sign and verify want a non-null
// pointer even for zero bytes on some code paths.
const uint8_t* data_or_dummy(ByteSpan s) {
  static const uint8_t kDummy = 0;
  return s.empty() ? &kDummy : s.data();
}

// read_file reads a PEM file whole. False with `error` naming the file.
// One read into a buffer sized for the largest file we take: growing a
// string as it fills would leave copies of key bytes in freed memory, and
// the bound stops a path to a device from being read without end.
bool read_file(const std::string& path, std::string& out, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  out.resize(kMaxPemFile + 1);
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  const auto got = static_cast<size_t>(in.gcount());
  if (in.bad()) {
    crypto::wipe(out.data(), got);
    out.clear();
    error = path + ": read error: " + std::strerror(errno);
    return false;
  }
  if (got > kMaxPemFile) {
    crypto::wipe(out.data(), got);
    out.clear();
    error = path + ": larger than 1 MiB; expected a PEM file";
    return false;
  }
  out.resize(got);  // shrinking keeps the buffer, which the caller wipes
  return true;
}

Bio mem_bio(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// name_text renders a Name on one line in forward order, "C=GB, O=Example,
// CN=gw1", escaping control characters and non-ASCII bytes the way RFC
// 2253 does, so a hostile subject cannot forge log lines.
std::string name_text(const X509_NAME* name) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio) return "";
  constexpr unsigned long kFlags =
      ASN1_STRFLGS_RFC2253 | XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN | XN_FLAG_DUMP_UNKNOWN_FIELDS;
  if (X509_NAME_print_ex(bio.get(), name, 0, kFlags) < 0) {
    ERR_clear_error();
    return "";
  }
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &p);
  return n > 0 ? std::string(p, static_cast<size_t>(n)) : std::string();
}

// sha1 of a DER structure, as CERTREQ wants it.
std::vector<uint8_t> sha1(const uint8_t* data, size_t len) {
  std::vector<uint8_t> out(20);
  unsigned int n = 0;
  if (EVP_Digest(data, len, out.data(), &n, EVP_sha1(), nullptr) != 1 || n != out.size()) {
    ERR_clear_error();
    throw std::runtime_error("SHA-1 unavailable in OpenSSL");
  }
  return out;
}

// spki_sha1: RFC 7296 section 3.7: the SHA-1 hash of the whole
// SubjectPublicKeyInfo element (RFC 5280 section 4.1.2.7), algorithm
// included, not only the key bits that X509_pubkey_digest hashes.
std::vector<uint8_t> spki_sha1(X509* x) {
  unsigned char* der = nullptr;
  const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
  if (len <= 0) {
    ERR_clear_error();
    throw std::runtime_error("cannot encode a certificate's public key");
  }
  std::vector<uint8_t> out = sha1(der, static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

// describe_key names a key type we refuse, for the error message: the
// algorithm, and the curve or size. Nothing about the key's value.
std::string describe_key(EVP_PKEY* key) {
  const char* type = EVP_PKEY_get0_type_name(key);
  std::string out = type != nullptr ? type : "unknown type";
  char group[64];
  size_t glen = 0;
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
      EVP_PKEY_get_group_name(key, group, sizeof(group), &glen) == 1) {
    out += " on curve " + std::string(group, glen);
  } else if (EVP_PKEY_get_bits(key) > 0) {
    out += ", " + std::to_string(EVP_PKEY_get_bits(key)) + " bits";
  }
  ERR_clear_error();
  return out;
}

// ec_curve_nid: the curve of an EC key as a NID (NID_undef if unknown).
int ec_curve_nid(EVP_PKEY* key) {
  char group[64];
  size_t glen = 0;
  if (EVP_PKEY_get_group_name(key, group, sizeof(group), &glen) != 1) {
    ERR_clear_error();
    return NID_undef;
  }
  const std::string name(group, glen);
  int nid = OBJ_sn2nid(name.c_str());
  if (nid == NID_undef) nid = EC_curve_nist2nid(name.c_str());
  return nid;
}

// refuse_passphrase stands in for OpenSSL's default callback, which would
// prompt on the terminal of a daemon. It records that a passphrase was
// wanted so the error can say so.
int refuse_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* asked) {
  *static_cast<bool*>(asked) = true;
  return -1;
}

// parse_private_key: `source` is the file name or "private key PEM".
std::unique_ptr<EVP_PKEY, PkeyFree> parse_private_key(const std::string& pem,
                                                      const std::string& source, std::string& kind,
                                                      std::string& error) {
  Bio bio = mem_bio(pem);
  bool asked = false;
  Pkey key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, &asked) : nullptr);
  ERR_clear_error();
  if (!key && asked) {
    error =
        source + ": the private key is encrypted; store it unencrypted (its file mode protects it)";
  } else if (!key) {
    error = source + ": no PEM private key found (expected -----BEGIN PRIVATE KEY-----)";
  }
  if (!key) return nullptr;
  if (EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_ED25519) {
    kind = "ed25519";
  } else if (EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_EC) {
    const int nid = ec_curve_nid(key.get());
    if (nid == NID_X9_62_prime256v1) kind = "ecdsa-p256";
    if (nid == NID_secp384r1) kind = "ecdsa-p384";
  }
  if (kind.empty()) {
    error =
        source + ": not a P-256/P-384 EC or Ed25519 key (it is " + describe_key(key.get()) + ")";
    return nullptr;
  }
  return key;
}

// alg_fits_key: RFC 7427 lets the hash be chosen independently of the
// curve, so any of SHA-256/384/512 goes with an EC key; Ed25519 keys sign
// only as Ed25519 (RFC 8420 section 2). Anything else (RSA, DSA, Ed448)
// is refused.
bool alg_fits_key(EVP_PKEY* key, SigAlg alg, std::string& why) {
  const int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_EC && alg != SigAlg::kEd25519) return true;
  if (id == EVP_PKEY_ED25519 && alg == SigAlg::kEd25519) return true;
  if (id != EVP_PKEY_EC && id != EVP_PKEY_ED25519) {
    why = "the certificate's key is " + describe_key(key) +
          "; only EC and Ed25519 keys are supported";
  } else {
    why = std::string("AUTH uses ") + alg_name(alg) + " but the certificate's key is " +
          describe_key(key);
  }
  return false;
}

// unknown_alg_reason names an AlgorithmIdentifier we do not accept, for
// the peer's log: its OID and OpenSSL's name for it if it parses.
std::string unknown_alg_reason(ByteSpan alg_id) {
  const unsigned char* p = alg_id.data();
  std::unique_ptr<X509_ALGOR, AlgorFree> algor(
      d2i_X509_ALGOR(nullptr, &p, static_cast<long>(alg_id.size())));
  ERR_clear_error();
  if (!algor || p != alg_id.data() + alg_id.size()) {
    return "AUTH's AlgorithmIdentifier is not valid DER";
  }
  const ASN1_OBJECT* obj = nullptr;
  int ptype = 0;
  X509_ALGOR_get0(&obj, &ptype, nullptr, algor.get());
  char oid[80];
  OBJ_obj2txt(oid, sizeof(oid), obj, 1);
  const int nid = OBJ_obj2nid(obj);
  const std::string named =
      nid != NID_undef ? std::string(OBJ_nid2ln(nid)) + " (" + oid + ")" : oid;
  if ((nid == NID_ecdsa_with_SHA256 || nid == NID_ecdsa_with_SHA384 ||
       nid == NID_ecdsa_with_SHA512 || nid == NID_ED25519) &&
      ptype != V_ASN1_UNDEF) {
    return "AUTH's AlgorithmIdentifier " + named +
           " has parameters, which must be absent (RFC 5758 section 3.2, RFC 8410 section 3)";
  }
  return "AUTH's signature algorithm " + named +
         " is not supported (ECDSA with SHA-256/384/512 or Ed25519)";
}

}  // namespace

namespace internal {

ByteSpan algorithm_identifier(SigAlg alg) {
  switch (alg) {
    case SigAlg::kEcdsaSha256:
      return kAlgEcdsaSha256;
    case SigAlg::kEcdsaSha384:
      return kAlgEcdsaSha384;
    case SigAlg::kEcdsaSha512:
      return kAlgEcdsaSha512;
    case SigAlg::kEd25519:
      return kAlgEd25519;
  }
  return {};
}

bool parse_auth_data(ByteSpan auth_data, SigAlg& alg, ByteSpan& signature, std::string& why) {
  if (auth_data.empty()) {
    why = "AUTH data is empty";
    return false;
  }
  const size_t alg_len = auth_data[0];
  if (alg_len == 0 || auth_data.size() < 1 + alg_len) {
    why = "AUTH data is shorter than its AlgorithmIdentifier length (RFC 7427 section 3)";
    return false;
  }
  const ByteSpan alg_id = auth_data.subspan(1, alg_len);
  signature = auth_data.subspan(1 + alg_len);
  for (SigAlg a : kAllAlgs) {
    const ByteSpan known = algorithm_identifier(a);
    if (known.size() == alg_id.size() && std::equal(known.begin(), known.end(), alg_id.begin())) {
      alg = a;
      if (signature.empty()) {
        why = "AUTH data has no signature after its AlgorithmIdentifier";
        return false;
      }
      return true;
    }
  }
  why = unknown_alg_reason(alg_id);
  return false;
}

bool verify_signature(EVP_PKEY* key, SigAlg alg, ByteSpan signature, ByteSpan octets) {
  MdCtx ctx(EVP_MD_CTX_new());
  const bool ok = ctx &&
                  EVP_DigestVerifyInit(ctx.get(), nullptr, digest_for(alg), nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx.get(), data_or_dummy(signature), signature.size(),
                                   data_or_dummy(octets), octets.size()) == 1;
  ERR_clear_error();
  return ok;
}

bool verify_auth_with_key(EVP_PKEY* key, ByteSpan auth_data, ByteSpan octets, std::string& why) {
  SigAlg alg{};
  ByteSpan signature;
  if (!parse_auth_data(auth_data, alg, signature, why)) return false;
  if (!alg_fits_key(key, alg, why)) return false;
  if (!verify_signature(key, alg, signature, octets)) {
    why = std::string("AUTH's ") + alg_name(alg) +
          " signature does not verify with the certificate's key";
    return false;
  }
  return true;
}

}  // namespace internal

// Section 2.15: InitiatorSignedOctets = RealMessage1 | NonceRData |
// MACedIDForI, MACedIDForI = prf(SK_pi, RestOfInitIDPayload); the
// responder's mirror image uses SK_pr and the initiator's nonce.
std::vector<uint8_t> signed_octets(const Prf& prf, ByteSpan message, ByteSpan peer_nonce,
                                   ByteSpan sk_p, ByteSpan id_body) {
  const SecretBytes maced_id = prf.compute(sk_p, id_body);
  std::vector<uint8_t> out;
  out.reserve(message.size() + peer_nonce.size() + maced_id.size());
  out.insert(out.end(), message.begin(), message.end());
  out.insert(out.end(), peer_nonce.begin(), peer_nonce.end());
  out.insert(out.end(), maced_id.span().begin(), maced_id.span().end());
  return out;
}

SecretBytes psk_auth(const Prf& prf, ByteSpan secret, ByteSpan octets) {
  const ByteSpan pad(reinterpret_cast<const uint8_t*>(kKeyPad), sizeof(kKeyPad) - 1);
  const SecretBytes padded_key = prf.compute(secret, pad);
  return prf.compute(padded_key.span(), octets);
}

bool psk_auth_matches(const Prf& prf, ByteSpan secret, ByteSpan octets, ByteSpan received) {
  const SecretBytes expected = psk_auth(prf, secret, octets);
  // The length is the PRF's, public; only the bytes need constant time.
  if (received.size() != expected.size() || expected.empty()) return false;
  return CRYPTO_memcmp(expected.span().data(), received.data(), expected.size()) == 0;
}

// PrivateKey

PrivateKey::~PrivateKey() { EVP_PKEY_free(static_cast<EVP_PKEY*>(pkey_)); }

std::unique_ptr<PrivateKey> PrivateKey::load(const std::string& path, std::string& error) {
  std::string pem;
  if (!read_file(path, pem, error)) return nullptr;
  std::string kind;
  Pkey key = parse_private_key(pem, path, kind, error);
  crypto::wipe(pem.data(), pem.size());
  if (!key) return nullptr;
  std::unique_ptr<PrivateKey> out(new PrivateKey());
  out->pkey_ = key.release();
  out->kind_ = kind;
  return out;
}

std::unique_ptr<PrivateKey> PrivateKey::from_pem(const std::string& pem, std::string& error) {
  std::string kind;
  Pkey key = parse_private_key(pem, "private key PEM", kind, error);
  if (!key) return nullptr;
  std::unique_ptr<PrivateKey> out(new PrivateKey());
  out->pkey_ = key.release();
  out->kind_ = kind;
  return out;
}

// RFC 7427 section 3: the AUTH data is the AlgorithmIdentifier's length
// in one byte, the AlgorithmIdentifier, then the signature. With ECDSA
// the signature is the DER ECDSA-Sig-Value (RFC 7427 section 3.1 via RFC
// 5480); with Ed25519 the 64 raw bytes of pure EdDSA over the octets.
// Throws std::runtime_error only if OpenSSL fails on a key it loaded,
// which leaves nothing sensible to send.
std::vector<uint8_t> PrivateKey::sign_auth(ByteSpan octets) const {
  const SigAlg alg = kind_ == "ecdsa-p256"   ? SigAlg::kEcdsaSha256
                     : kind_ == "ecdsa-p384" ? SigAlg::kEcdsaSha384
                                             : SigAlg::kEd25519;
  const ByteSpan alg_id = internal::algorithm_identifier(alg);
  MdCtx ctx(EVP_MD_CTX_new());
  auto* key = static_cast<EVP_PKEY*>(pkey_);
  size_t sig_len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, digest_for(alg), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &sig_len, data_or_dummy(octets), octets.size()) != 1) {
    ERR_clear_error();
    throw std::runtime_error("sign_auth: OpenSSL cannot sign with the " + kind_ + " key");
  }
  std::vector<uint8_t> out(1 + alg_id.size() + sig_len);
  out[0] = static_cast<uint8_t>(alg_id.size());
  std::copy(alg_id.begin(), alg_id.end(), out.begin() + 1);
  if (EVP_DigestSign(ctx.get(), out.data() + 1 + alg_id.size(), &sig_len, data_or_dummy(octets),
                     octets.size()) != 1) {
    ERR_clear_error();
    throw std::runtime_error("sign_auth: OpenSSL cannot sign with the " + kind_ + " key");
  }
  // An ECDSA signature's DER length varies with the size of r and s; the
  // first call gave the maximum.
  out.resize(1 + alg_id.size() + sig_len);
  return out;
}

// Certificate

Certificate::~Certificate() { X509_free(static_cast<X509*>(x509_)); }

std::unique_ptr<Certificate> Certificate::load(const std::string& path, std::string& error) {
  std::string pem;
  if (!read_file(path, pem, error)) return nullptr;
  std::unique_ptr<Certificate> cert = from_pem(pem, error);
  if (!cert) error = path + ": " + error;
  return cert;
}

// from_pem takes the first certificate in the text; a chain file's
// further certificates are for the caller to read as intermediates.
std::unique_ptr<Certificate> Certificate::from_pem(const std::string& pem, std::string& error) {
  Bio bio = mem_bio(pem);
  X509Ptr x(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  ERR_clear_error();
  if (!x) {
    error = "no PEM certificate found (expected -----BEGIN CERTIFICATE-----)";
    return nullptr;
  }
  unsigned char* der = nullptr;
  const int len = i2d_X509(x.get(), &der);
  if (len <= 0) {
    ERR_clear_error();
    error = "the certificate cannot be DER-encoded";
    return nullptr;
  }
  std::unique_ptr<Certificate> out(new Certificate());
  out->der_.assign(der, der + len);
  OPENSSL_free(der);
  out->x509_ = x.release();
  return out;
}

std::unique_ptr<Certificate> Certificate::from_der(ByteSpan der, std::string& error) {
  const unsigned char* p = der.data();
  X509Ptr x(der.empty() ? nullptr : d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  ERR_clear_error();
  if (!x) {
    error = "not a DER X.509 certificate";
    return nullptr;
  }
  if (p != der.data() + der.size()) {
    error = "trailing bytes after the DER certificate";
    return nullptr;
  }
  std::unique_ptr<Certificate> out(new Certificate());
  out->der_.assign(der.begin(), der.end());
  out->x509_ = x.release();
  return out;
}

std::vector<uint8_t> Certificate::subject_der() const {
  unsigned char* der = nullptr;
  const int len = i2d_X509_NAME(X509_get_subject_name(static_cast<X509*>(x509_)), &der);
  if (len <= 0) {
    ERR_clear_error();
    return {};
  }
  std::vector<uint8_t> out(der, der + len);
  OPENSSL_free(der);
  return out;
}

std::string Certificate::subject_text() const {
  return name_text(X509_get_subject_name(static_cast<X509*>(x509_)));
}

namespace {

bool ascii_iequal(const uint8_t* a, size_t a_len, ByteSpan b) {
  if (a_len != b.size()) return false;
  for (size_t i = 0; i < a_len; i++) {
    auto lower = [](uint8_t c) { return c >= 'A' && c <= 'Z' ? static_cast<uint8_t>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// san_matches: RFC 4945 section 3.1 ties ID_FQDN, ID_USER_FQDN and the IP
// address types to the subjectAltName dNSName, rfc822Name and iPAddress.
// We do not fall back to the subject's CN, and do not expand wildcards: an
// IKE identity names one gateway or user.
bool san_matches(X509* x, int gen_type, ByteSpan id, bool case_insensitive) {
  std::unique_ptr<GENERAL_NAMES, GeneralNamesFree> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr)));
  ERR_clear_error();
  if (!names) return false;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); i++) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    int type = 0;
    const auto* value = static_cast<const ASN1_STRING*>(GENERAL_NAME_get0_value(gn, &type));
    if (type != gen_type || value == nullptr) continue;
    const uint8_t* data = ASN1_STRING_get0_data(value);
    const auto len = static_cast<size_t>(ASN1_STRING_length(value));
    if (case_insensitive) {
      if (ascii_iequal(data, len, id)) return true;
    } else if (len == id.size() && std::equal(id.begin(), id.end(), data)) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool Certificate::matches_id(uint8_t id_type, ByteSpan id_data) const {
  auto* x = static_cast<X509*>(x509_);
  if (id_data.empty()) return false;
  switch (id_type) {
    case kIdDerAsn1Dn: {
      // X509_NAME_cmp compares the canonical encodings, so a DN that
      // differs only in string type or case of a printable string still
      // names the same subject (RFC 5280 section 7.1).
      const unsigned char* p = id_data.data();
      std::unique_ptr<X509_NAME, NameFree> name(
          d2i_X509_NAME(nullptr, &p, static_cast<long>(id_data.size())));
      ERR_clear_error();
      if (!name || p != id_data.data() + id_data.size()) return false;
      return X509_NAME_cmp(name.get(), X509_get_subject_name(x)) == 0;
    }
    case kIdFqdn:
      return san_matches(x, GEN_DNS, id_data, true);
    case kIdRfc822:
      return san_matches(x, GEN_EMAIL, id_data, true);
    case kIdIpv4:
      return id_data.size() == 4 && san_matches(x, GEN_IPADD, id_data, false);
    case kIdIpv6:
      return id_data.size() == 16 && san_matches(x, GEN_IPADD, id_data, false);
    default:
      return false;
  }
}

std::vector<uint8_t> Certificate::public_key_sha1() const {
  return spki_sha1(static_cast<X509*>(x509_));
}

bool Certificate::verify_auth(ByteSpan auth_data, ByteSpan octets, std::string& why) const {
  EVP_PKEY* key = X509_get0_pubkey(static_cast<X509*>(x509_));
  if (key == nullptr) {
    ERR_clear_error();
    why = "the certificate's public key cannot be decoded";
    return false;
  }
  return internal::verify_auth_with_key(key, auth_data, octets, why);
}

// TrustStore

TrustStore::~TrustStore() { X509_STORE_free(static_cast<X509_STORE*>(store_)); }

std::unique_ptr<TrustStore> TrustStore::load(const std::string& path, std::string& error) {
  std::string pem;
  if (!read_file(path, pem, error)) return nullptr;
  std::unique_ptr<TrustStore> store = from_pem(pem, error);
  if (!store) error = path + ": " + error;
  return store;
}

std::unique_ptr<TrustStore> TrustStore::from_pem(const std::string& pem, std::string& error) {
  std::unique_ptr<TrustStore> out(new TrustStore());
  auto* store = X509_STORE_new();
  out->store_ = store;
  Bio bio = mem_bio(pem);
  if (store == nullptr || !bio) {
    error = "out of memory";
    return nullptr;
  }
  for (int n = 1;; n++) {
    X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!x) {
      // Running out of certificates shows as "no start line"; anything
      // else is a damaged block.
      const unsigned long e = ERR_peek_last_error();
      ERR_clear_error();
      const bool at_end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
      if (at_end && n > 1) break;
      error = at_end ? "no PEM certificate found (expected -----BEGIN CERTIFICATE-----)"
                     : "certificate " + std::to_string(n) + " in the file cannot be parsed";
      return nullptr;
    }
    if (X509_STORE_add_cert(store, x.get()) != 1) {
      ERR_clear_error();
      error = "certificate " + std::to_string(n) + " cannot be added to the trust store";
      return nullptr;
    }
    std::vector<uint8_t> hash = spki_sha1(x.get());
    bool seen = false;
    for (const auto& h : out->hashes_) seen = seen || h == hash;
    if (!seen) out->hashes_.push_back(std::move(hash));
  }
  return out;
}

bool TrustStore::verify(const Certificate& leaf,
                        const std::vector<const Certificate*>& intermediates,
                        std::string& why) const {
  // Certificate keeps its X509 to itself, so the chain is rebuilt from
  // DER; verification happens once per IKE_AUTH, where this is no cost.
  auto parse = [](const Certificate& c) {
    const unsigned char* p = c.der().data();
    return X509Ptr(d2i_X509(nullptr, &p, static_cast<long>(c.der().size())));
  };
  X509Ptr x = parse(leaf);
  std::unique_ptr<STACK_OF(X509), StackFree> untrusted(sk_X509_new_null());
  std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
  if (!x || !untrusted || !ctx) {
    ERR_clear_error();
    why = "cannot prepare the certificate for verification";
    return false;
  }
  for (const Certificate* c : intermediates) {
    X509Ptr im = parse(*c);
    if (!im || sk_X509_push(untrusted.get(), im.get()) <= 0) {
      ERR_clear_error();
      why = "cannot prepare an intermediate certificate for verification";
      return false;
    }
    im.release();  // owned by the stack now
  }
  // Purpose "any": OpenSSL has no IKE purpose. RFC 4945 section 5.1.3.12
  // does not require IKE implementations to support extendedKeyUsage, and
  // we do not (gateway certificates often carry serverAuth for other
  // clients); the keyUsage bit is checked below. Validity times are
  // checked against the current time by default.
  if (X509_STORE_CTX_init(ctx.get(), static_cast<X509_STORE*>(store_), x.get(), untrusted.get()) !=
          1 ||
      X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_ANY) != 1) {
    ERR_clear_error();
    why = "cannot set up certificate verification";
    return false;
  }
  const int ok = X509_verify_cert(ctx.get());
  ERR_clear_error();
  if (ok != 1) {
    why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
    X509* bad = X509_STORE_CTX_get_current_cert(ctx.get());
    if (bad != nullptr) {
      why += " (depth " + std::to_string(X509_STORE_CTX_get_error_depth(ctx.get())) + ": " +
             name_text(X509_get_subject_name(bad)) + ")";
    }
    return false;
  }
  // RFC 4945 section 5.1.3.2: a certificate whose keyUsage is present
  // must allow digitalSignature or nonRepudiation to authenticate IKE.
  // X509_get_key_usage returns all bits set when the extension is absent.
  if ((X509_get_key_usage(x.get()) & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) == 0) {
    why = "the certificate's key usage does not allow digital signatures (" +
          name_text(X509_get_subject_name(x.get())) + ")";
    return false;
  }
  return true;
}

std::vector<uint8_t> TrustStore::authorities() const {
  std::vector<uint8_t> out;
  for (const auto& h : hashes_) out.insert(out.end(), h.begin(), h.end());
  return out;
}

// RFC 7427 section 4: Notify data is a list of 2-byte hash algorithm
// numbers from the IKEv2 Hash Algorithms registry.
std::vector<uint8_t> signature_hash_algorithms_data() { return {0, 2, 0, 3, 0, 4, 0, 5}; }

}  // namespace portcullis::ctl::ike
