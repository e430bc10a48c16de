// fuzz_ike_message.cc: libFuzzer target for the IKEv2 codec
// (control/ike/message.cc) and the Encrypted payload layer (sk.cc).
//
// Each input is used three ways:
//   1. as a whole IKE message: whatever parse_message accepts must
//      serialize, parse again to an equal Message, and serialize again to
//      the same bytes. Equal, not byte-identical to the input: the parser
//      drops what RFC 7296 says to ignore (reserved bits, the critical bit
//      of known payloads, unknown transform attributes, the protocol id of
//      an SPI-less notify), so the first serialization may be shorter.
//      If it carries SK, open_message runs with the fixed key; if SKF, a
//      fresh Reassembly takes it (seeds are sealed under that key, so the
//      fuzzer starts past the ICV check).
//   2. as a payload chain whose first type is byte 0, for parse_payloads,
//      with the same round trip.
//   3. as plaintext: byte 0 is the inner first type, byte 1 picks a
//      fragment size, the rest is sealed with seal_message and
//      seal_fragments under the fixed key. The sealed message must parse,
//      and open_message (and Reassembly, in order or reversed) must accept
//      exactly when parse_payloads accepts the plaintext, giving the same
//      payloads. This reaches the code after decryption, which mutated
//      ciphertext never would.
//
// Seed corpus: PORTCULLIS_FUZZ_WRITE_CORPUS=DIR fuzz_ike_message writes a
// hand-built IKE_SA_INIT, sealed IKE_AUTH and INFORMATIONAL messages,
// fragments, and plaintext chains to DIR, and exits.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "control/ike/message.h"
#include "control/ike/sk.h"
#include "ike_test_util.h"

namespace portcullis::ctl::ike {
namespace {

// FUZZ_CHECK aborts with a message when an invariant does not hold, so that
// libFuzzer records the input.
#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

const Aead& aead() {
  static const std::unique_ptr<Aead> a = Aead::make(kEncrAesGcm16, 256);
  return *a;
}

const Bytes& key() {
  static const Bytes k = [] {
    Bytes b(aead().key_size());
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(0xa5 ^ i);
    return b;
  }();
  return k;
}

Header fixed_header() {
  Header h;
  h.spi_i = 0x1122334455667788;
  h.spi_r = 0x99aabbccddeeff00;
  h.exchange = Exchange::kIkeAuth;
  h.flags = kFlagInitiator;
  h.message_id = 1;
  return h;
}

void check_message(std::span<const uint8_t> in) {
  Message m;
  ParseError err;
  if (!parse_message(in, m, err)) {
    FUZZ_CHECK(!err.what.empty());
    FUZZ_CHECK(err.critical_type == 0 ||
               err.notify == static_cast<uint16_t>(NotifyType::kUnsupportedCriticalPayload));
    return;
  }
  FUZZ_CHECK(m.header.length == in.size());
  FUZZ_CHECK(!describe(m).empty());
  const Bytes once = serialize_message(m.header, m.payloads);
  FUZZ_CHECK(once.size() <= in.size());
  Message again;
  FUZZ_CHECK(parse_message(once, again, err));
  FUZZ_CHECK(again.payloads == m.payloads);
  Header h = m.header;
  h.length = again.header.length;
  FUZZ_CHECK(again.header == h);
  FUZZ_CHECK(serialize_message(again.header, again.payloads) == once);

  if (m.payloads.empty()) return;
  std::vector<Payload> inner;
  std::string why;
  if (std::holds_alternative<SkPayload>(m.payloads.back())) {
    if (!open_message(in, m, aead(), key(), inner, why)) FUZZ_CHECK(!why.empty());
  } else if (std::holds_alternative<SkfPayload>(m.payloads.back())) {
    Reassembly r;
    if (r.add(in, m, aead(), key(), inner, why) == Reassembly::Result::kRejected)
      FUZZ_CHECK(!why.empty());
  }
}

void check_chain(std::span<const uint8_t> in) {
  if (in.empty()) return;
  std::vector<Payload> v;
  ParseError err;
  if (!parse_payloads(static_cast<PayloadType>(in[0]), in.subspan(1), v, err)) return;
  PayloadType first;
  const Bytes once = serialize_payloads(v, first);
  FUZZ_CHECK(first == (v.empty() ? PayloadType::kNone : static_cast<PayloadType>(in[0])));
  std::vector<Payload> again;
  FUZZ_CHECK(parse_payloads(first, once, again, err));
  FUZZ_CHECK(again == v);
}

void check_sealed(std::span<const uint8_t> in) {
  if (in.size() < 2) return;
  const auto first = static_cast<PayloadType>(in[0]);
  const size_t max_size = 62 + size_t{in[1]} * 8;
  const ByteSpan plain = in.subspan(2);
  std::vector<Payload> want;
  ParseError err;
  const bool valid = parse_payloads(first, plain, want, err);

  const Header h = fixed_header();
  const Bytes wire = seal_message(h, first, plain, aead(), key());
  Message m;
  FUZZ_CHECK(parse_message(wire, m, err));
  std::vector<Payload> got;
  std::string why;
  FUZZ_CHECK(open_message(wire, m, aead(), key(), got, why) == valid);
  if (valid) FUZZ_CHECK(got == want);

  // Sealing thousands of one-byte fragments would only slow the fuzzer:
  // a few past the limit show the refusal as well.
  const size_t per = max_size - 61;
  if ((plain.size() + per - 1) / per > Reassembly::kMaxFragments + 8) return;
  const std::vector<Bytes> frags = seal_fragments(h, first, plain, aead(), key(), max_size, true);
  if (frags.size() == 1 && frags[0][16] == static_cast<uint8_t>(PayloadType::kSk)) return;
  Reassembly r;
  const bool reversed = in[1] & 1;
  Reassembly::Result res = Reassembly::Result::kIncomplete;
  for (size_t i = 0; i < frags.size(); ++i) {
    const Bytes& f = frags[reversed ? frags.size() - 1 - i : i];
    FUZZ_CHECK(f.size() <= max_size);
    FUZZ_CHECK(parse_message(f, m, err));
    got.clear();
    res = r.add(f, m, aead(), key(), got, why);
    if (frags.size() > Reassembly::kMaxFragments) {
      FUZZ_CHECK(res == Reassembly::Result::kRejected);
      return;
    }
    if (i + 1 < frags.size()) FUZZ_CHECK(res == Reassembly::Result::kIncomplete);
  }
  FUZZ_CHECK(res == (valid ? Reassembly::Result::kComplete : Reassembly::Result::kRejected));
  if (valid) FUZZ_CHECK(got == want);
}

void write(const std::string& path, const Bytes& b) {
  FILE* out = std::fopen(path.c_str(), "wb");
  if (!out || std::fwrite(b.data(), 1, b.size(), out) != b.size() || std::fclose(out) != 0) {
    std::perror(path.c_str());
    std::exit(1);
  }
}

void write_corpus(const std::string& dir) {
  write(dir + "/sa_init", test::hex(test::kSaInitHex));

  TrafficSelector ts{kTsIpv4Range, 0, 0, 65535, {10, 1, 0, 0}, {10, 1, 255, 255}};
  TrafficSelector ts6{kTsIpv6Range, 17, 500, 500, Bytes(16, 0x20), Bytes(16, 0x20)};
  SaPayload sa;
  sa.proposals.push_back(
      {1,
       Protocol::kEsp,
       {1, 2, 3, 4},
       {{TransformType::kEncr, kEncrAesGcm16, 256}, {TransformType::kEsn, kEsnNone, 0}}});
  sa.proposals.push_back(
      {2, Protocol::kEsp, {1, 2, 3, 4}, {{TransformType::kEncr, kEncrChaCha20Poly1305, 0}}});
  const std::vector<Payload> auth{
      IdPayload{false, kIdFqdn, {'g', 'w', '1'}},
      CertPayload{kCertX509Signature, Bytes(600, 0x30)},
      CertReqPayload{kCertX509Signature, Bytes(20, 0x44)},
      AuthPayload{kAuthDigitalSignature, Bytes(72, 0xab)},
      sa,
      TsPayload{false, {ts, ts6}},
      TsPayload{true, {ts}},
      NotifyPayload{Protocol::kNone, {}, static_cast<uint16_t>(NotifyType::kInitialContact), {}}};
  const std::vector<Payload> info{
      DeletePayload{Protocol::kEsp, {0x01020304, 0x05060708}},
      NotifyPayload{Protocol::kEsp, {9, 9, 9, 9}, static_cast<uint16_t>(NotifyType::kRekeySa), {}},
      VendorPayload{{'p', 'c'}},
      CpPayload{2, {0, 1, 0, 4, 10, 0, 0, 1}},
      KePayload{kDhCurve25519, Bytes(32, 0x77)},
      NoncePayload{Bytes(32, 0x5e)},
      UnknownPayload{99, false, {1, 2}}};
  int n = 0;
  for (const auto* payloads : {&auth, &info}) {
    PayloadType first;
    const Bytes inner = serialize_payloads(*payloads, first);
    const std::string tag = std::to_string(n++);
    write(dir + "/clear-" + tag, serialize_message(fixed_header(), *payloads));
    write(dir + "/sk-" + tag, seal_message(fixed_header(), first, inner, aead(), key()));
    const auto frags =
        seal_fragments(fixed_header(), first, inner, aead(), key(), n == 1 ? 400 : 120, true);
    for (size_t i = 0; i < frags.size(); ++i)
      write(dir + "/skf-" + tag + "-" + std::to_string(i + 1), frags[i]);
    // For use 3: first type, fragment size byte, plaintext.
    Bytes plain{static_cast<uint8_t>(first), 40};
    plain.insert(plain.end(), inner.begin(), inner.end());
    write(dir + "/plain-" + tag, plain);
  }
  std::exit(0);
}

}  // namespace
}  // namespace portcullis::ctl::ike

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("PORTCULLIS_FUZZ_WRITE_CORPUS"))
    portcullis::ctl::ike::write_corpus(dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace portcullis::ctl::ike;
  // Past kMaxMessageSize everything is refused at the first check; the
  // sealing use would throw on a message it is not allowed to build.
  if (size > kMaxMessageSize - 100) return 0;
  const std::span<const uint8_t> in(data, size);
  check_message(in);
  check_chain(in);
  check_sealed(in);
  return 0;
}
