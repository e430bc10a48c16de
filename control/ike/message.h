// message.h: the IKEv2 message format (RFC 7296 section 3) as C++ values,
// and the parser and serializer between them and wire bytes.
//
// The parser trusts nothing: every length is checked against what is left
// before it is used, a payload chain must end exactly at the end of its
// container, and an unknown payload with the critical bit set is refused
// with UNSUPPORTED_CRITICAL_PAYLOAD (section 2.5). SK and SKF (RFC 7383)
// must be the last payload of a message; their bodies stay opaque here and
// are opened by sk.h.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace portcullis::ctl::ike {

using Bytes = std::vector<uint8_t>;

enum class Exchange : uint8_t { kIkeSaInit = 34, kIkeAuth = 35, kCreateChildSa = 36, kInformational = 37 };

// Header flags (section 3.1).
constexpr uint8_t kFlagInitiator = 0x08;
constexpr uint8_t kFlagResponse = 0x20;
constexpr uint8_t kVersion2 = 0x20;  // major 2, minor 0
constexpr size_t kHeaderSize = 28;
// The largest message the parser accepts; IKE over UDP never needs more.
constexpr size_t kMaxMessageSize = 65535;

enum class PayloadType : uint8_t {
  kNone = 0,
  kSa = 33,
  kKe = 34,
  kIdi = 35,
  kIdr = 36,
  kCert = 37,
  kCertReq = 38,
  kAuth = 39,
  kNonce = 40,
  kNotify = 41,
  kDelete = 42,
  kVendor = 43,
  kTsi = 44,
  kTsr = 45,
  kSk = 46,
  kCp = 47,
  kEap = 48,
  kSkf = 53,  // RFC 7383
};

// Protocol ids (section 3.3.1).
enum class Protocol : uint8_t { kNone = 0, kIke = 1, kAh = 2, kEsp = 3 };

// Transform types and the ids this implementation knows (IANA "IKEv2
// Parameters"); unknown ids are kept as numbers so a proposal can be
// refused cleanly.
enum class TransformType : uint8_t { kEncr = 1, kPrf = 2, kInteg = 3, kDh = 4, kEsn = 5 };
constexpr uint16_t kEncrAesGcm16 = 20;
constexpr uint16_t kEncrChaCha20Poly1305 = 28;
constexpr uint16_t kPrfHmacSha256 = 5;
constexpr uint16_t kPrfHmacSha384 = 6;
constexpr uint16_t kPrfHmacSha512 = 7;
constexpr uint16_t kDhEcp256 = 19;
constexpr uint16_t kDhEcp384 = 20;
constexpr uint16_t kDhCurve25519 = 31;
constexpr uint16_t kEsnNone = 0;
constexpr uint16_t kEsnYes = 1;

// Notify message types used here (section 3.10.1, RFC 7383, RFC 7427).
enum class NotifyType : uint16_t {
  kUnsupportedCriticalPayload = 1,
  kInvalidIkeSpi = 4,
  kInvalidMajorVersion = 5,
  kInvalidSyntax = 7,
  kInvalidMessageId = 9,
  kInvalidSpi = 11,
  kNoProposalChosen = 14,
  kInvalidKePayload = 17,
  kAuthenticationFailed = 24,
  kSinglePairRequired = 34,
  kNoAdditionalSas = 35,
  kInternalAddressFailure = 36,
  kFailedCpRequired = 37,
  kTsUnacceptable = 38,
  kInvalidSelectors = 39,
  kTemporaryFailure = 43,
  kChildSaNotFound = 44,
  // Status types (>= 16384).
  kInitialContact = 16384,
  kSetWindowSize = 16385,
  kAdditionalTsPossible = 16386,
  kIpcompSupported = 16387,
  kNatDetectionSourceIp = 16388,
  kNatDetectionDestinationIp = 16389,
  kCookie = 16390,
  kUseTransportMode = 16391,
  kRekeySa = 16393,
  kEspTfcPaddingNotSupported = 16394,
  kNonFirstFragmentsAlso = 16395,
  kMobikeSupported = 16396,
  kIkev2FragmentationSupported = 16430,  // RFC 7383
  kSignatureHashAlgorithms = 16431,      // RFC 7427
};

struct Header {
  uint64_t spi_i = 0, spi_r = 0;  // host order; wire is big-endian
  PayloadType next = PayloadType::kNone;
  uint8_t version = kVersion2;
  Exchange exchange = Exchange::kIkeSaInit;
  uint8_t flags = 0;
  uint32_t message_id = 0;
  uint32_t length = 0;  // filled by the serializer
  bool initiator() const { return flags & kFlagInitiator; }
  bool response() const { return flags & kFlagResponse; }
  bool operator==(const Header&) const = default;
};

struct Transform {
  TransformType type = TransformType::kEncr;
  uint16_t id = 0;
  uint16_t key_bits = 0;  // Key Length attribute (14); 0 = absent
  bool operator==(const Transform&) const = default;
};

struct Proposal {
  uint8_t number = 1;
  Protocol protocol = Protocol::kIke;
  Bytes spi;  // empty for IKE in IKE_SA_INIT, 8 bytes for IKE rekey, 4 for ESP
  std::vector<Transform> transforms;
  bool operator==(const Proposal&) const = default;
};

struct SaPayload {
  std::vector<Proposal> proposals;
  bool operator==(const SaPayload&) const = default;
};

struct KePayload {
  uint16_t group = 0;
  Bytes data;
  bool operator==(const KePayload&) const = default;
};

// ID types (section 3.5).
constexpr uint8_t kIdIpv4 = 1, kIdFqdn = 2, kIdRfc822 = 3, kIdIpv6 = 5, kIdDerAsn1Dn = 9, kIdKeyId = 11;

struct IdPayload {
  bool responder = false;  // IDr rather than IDi
  uint8_t type = kIdFqdn;
  Bytes data;
  // body: ID type, three reserved zero bytes, data: what AUTH signs
  // through prf(SK_p, RestOfIDPayload) (section 2.15).
  Bytes body() const;
  bool operator==(const IdPayload&) const = default;
};

constexpr uint8_t kCertX509Signature = 4;

struct CertPayload {
  uint8_t encoding = kCertX509Signature;
  Bytes data;  // DER
  bool operator==(const CertPayload&) const = default;
};

struct CertReqPayload {
  uint8_t encoding = kCertX509Signature;
  Bytes authorities;  // concatenated SHA-1 hashes of CA public keys
  bool operator==(const CertReqPayload&) const = default;
};

// Auth methods (section 3.8, RFC 7427).
constexpr uint8_t kAuthPsk = 2;
constexpr uint8_t kAuthDigitalSignature = 14;

struct AuthPayload {
  uint8_t method = kAuthPsk;
  Bytes data;
  bool operator==(const AuthPayload&) const = default;
};

struct NoncePayload {
  Bytes data;  // 16..256 bytes (section 3.9), checked by the parser
  bool operator==(const NoncePayload&) const = default;
};

struct NotifyPayload {
  Protocol protocol = Protocol::kNone;
  Bytes spi;
  uint16_t type = 0;
  Bytes data;
  bool error() const { return type < 16384; }
  bool operator==(const NotifyPayload&) const = default;
};

struct DeletePayload {
  Protocol protocol = Protocol::kEsp;
  std::vector<uint32_t> spis;  // ESP/AH SPIs; empty for IKE
  bool operator==(const DeletePayload&) const = default;
};

struct VendorPayload {
  Bytes id;
  bool operator==(const VendorPayload&) const = default;
};

constexpr uint8_t kTsIpv4Range = 7, kTsIpv6Range = 8;

struct TrafficSelector {
  uint8_t type = kTsIpv4Range;
  uint8_t ip_protocol = 0;  // 0 = any
  uint16_t start_port = 0, end_port = 65535;
  Bytes start, end;  // 4 or 16 bytes each, per type
  bool operator==(const TrafficSelector&) const = default;
};

struct TsPayload {
  bool responder = false;  // TSr rather than TSi
  std::vector<TrafficSelector> selectors;
  bool operator==(const TsPayload&) const = default;
};

// CpPayload is kept opaque: Portcullis assigns no addresses, and ignores
// a CP it receives (section 3.15 allows that).
struct CpPayload {
  uint8_t cfg_type = 0;
  Bytes attributes;
  bool operator==(const CpPayload&) const = default;
};

// SkPayload: the Encrypted payload (section 3.14), body = IV | ciphertext |
// ICV. `first` is the type of the first payload inside.
struct SkPayload {
  PayloadType first = PayloadType::kNone;
  Bytes body;
  bool operator==(const SkPayload&) const = default;
};

// SkfPayload: one Encrypted Fragment (RFC 7383 section 2.5). `first` is
// the inner first payload type in fragment 1 and kNone in the others.
struct SkfPayload {
  PayloadType first = PayloadType::kNone;
  uint16_t number = 1, total = 1;
  Bytes body;  // IV | ciphertext | ICV
  bool operator==(const SkfPayload&) const = default;
};

// UnknownPayload: a payload type this implementation does not know, kept
// so a non-critical one can be ignored (section 2.5).
struct UnknownPayload {
  uint8_t type = 0;
  bool critical = false;
  Bytes body;
  bool operator==(const UnknownPayload&) const = default;
};

using Payload = std::variant<SaPayload, KePayload, IdPayload, CertPayload, CertReqPayload, AuthPayload,
                             NoncePayload, NotifyPayload, DeletePayload, VendorPayload, TsPayload, CpPayload,
                             SkPayload, SkfPayload, UnknownPayload>;

PayloadType payload_type(const Payload& p);

// Lookups over a payload chain (a message's, or the decrypted contents of
// its SK payload); nullptr when absent.
template <class T>
const T* find(const std::vector<Payload>& payloads) {
  for (const auto& p : payloads)
    if (auto* v = std::get_if<T>(&p)) return v;
  return nullptr;
}
const NotifyPayload* find_notify(const std::vector<Payload>& payloads, NotifyType t);
const IdPayload* find_id(const std::vector<Payload>& payloads, bool responder);
const TsPayload* find_ts(const std::vector<Payload>& payloads, bool responder);
// error_notifies names the error notifies for logs: "NO_PROP, TS_UNACCEPT".
std::string error_notifies(const std::vector<Payload>& payloads);

// make_notify builds a Notify payload.
NotifyPayload make_notify(NotifyType t, Bytes data = {}, Protocol protocol = Protocol::kNone, Bytes spi = {});

// SPIs on the wire are big-endian: spi_bytes writes one of 4 (ESP) or 8
// (IKE) bytes, spi_value reads either.
Bytes spi_bytes(uint32_t spi);
Bytes spi_bytes(uint64_t spi);
uint64_t spi_value(const Bytes& b);

struct Message {
  Header header;
  std::vector<Payload> payloads;

  template <class T>
  const T* find() const {
    return ike::find<T>(payloads);
  }
  const NotifyPayload* find_notify(NotifyType t) const { return ike::find_notify(payloads, t); }
  const IdPayload* find_id(bool responder) const { return ike::find_id(payloads, responder); }
  const TsPayload* find_ts(bool responder) const { return ike::find_ts(payloads, responder); }
};

// ParseError says why bytes were refused. `notify` is the error to send
// back where the RFC asks for one (INVALID_SYNTAX,
// UNSUPPORTED_CRITICAL_PAYLOAD, INVALID_MAJOR_VERSION), else 0.
struct ParseError {
  std::string what;
  uint16_t notify = 0;
  uint8_t critical_type = 0;  // for UNSUPPORTED_CRITICAL_PAYLOAD's data
};

// parse_header reads the fixed header only (to route a packet to its SA
// before anything else). False if the bytes are not an IKEv2 header or the
// length field disagrees with the size.
bool parse_header(std::span<const uint8_t> bytes, Header& out, ParseError& err);

// parse_message reads a whole message: header and payload chain. SK/SKF
// bodies are left opaque.
bool parse_message(std::span<const uint8_t> bytes, Message& out, ParseError& err);

// parse_payloads reads a chain of payloads starting with type `first`
// (the decrypted contents of SK).
bool parse_payloads(PayloadType first, std::span<const uint8_t> bytes, std::vector<Payload>& out,
                    ParseError& err);

// serialize_payloads writes a chain; returns the bytes and sets `first` to
// the type of the first payload (kNone for an empty chain).
Bytes serialize_payloads(const std::vector<Payload>& payloads, PayloadType& first);

// serialize_message writes header and payloads, setting the header's next
// payload and length.
Bytes serialize_message(const Header& h, const std::vector<Payload>& payloads);

// serialize_header writes the 28-byte header with the given next payload
// and total length (for sk.h, which builds SK messages itself).
void serialize_header(const Header& h, PayloadType next, uint32_t length, uint8_t out[kHeaderSize]);

// describe names a message for logs: "IKE_AUTH request 1 [ IDi AUTH SA TSi TSr N(INIT_CONTACT) ]".
std::string describe(const Message& m);
std::string describe(const std::vector<Payload>& payloads);
const char* exchange_name(Exchange e);
const char* notify_name(uint16_t type);

}  // namespace portcullis::ctl::ike
