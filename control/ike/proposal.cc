#include "control/ike/proposal.h"

#include <cstring>

#include "crypto/suite.h"

namespace portcullis::ctl::ike {

namespace {

constexpr uint16_t kEncrAesCbc = 12;
constexpr uint16_t kIntegSha256 = 12, kIntegSha384 = 13, kIntegSha512 = 14;

struct Name {
  const char* text;
  uint16_t id;
  uint16_t bits;
};
constexpr Name kEncrs[] = {{"aes128gcm16", kEncrAesGcm16, 128},
                           {"aes256gcm16", kEncrAesGcm16, 256},
                           {"chacha20poly1305", kEncrChaCha20Poly1305, 0}};
constexpr Name kPrfs[] = {{"prfsha256", kPrfHmacSha256, 0}, {"prfsha384", kPrfHmacSha384, 0}, {"prfsha512", kPrfHmacSha512, 0}};
constexpr Name kDhs[] = {{"ecp256", kDhEcp256, 0}, {"ecp384", kDhEcp384, 0}, {"curve25519", kDhCurve25519, 0}};

std::string name_of(const Name* table, size_t n, uint16_t id, uint16_t bits) {
  for (size_t i = 0; i < n; i++) {
    if (table[i].id == id && table[i].bits == bits) return table[i].text;
  }
  std::string s = "#";  // appends: GCC 12 -Wrestrict misfires on operator+ chains
  s += std::to_string(id);
  if (bits) {
    s += '/';
    s += std::to_string(bits);
  }
  return s;
}

std::string encr_name(uint16_t id, uint16_t bits) { return name_of(kEncrs, std::size(kEncrs), id, bits); }
std::string prf_name(uint16_t id) { return name_of(kPrfs, std::size(kPrfs), id, 0); }
std::string dh_name(uint16_t id) { return name_of(kDhs, std::size(kDhs), id, 0); }

// A proposal's transforms of one type.
std::vector<Transform> of_type(const Proposal& p, TransformType t) {
  std::vector<Transform> out;
  for (const auto& x : p.transforms) {
    if (x.type == t) out.push_back(x);
  }
  return out;
}

bool has(const std::vector<Transform>& ts, uint16_t id, uint16_t bits = 0) {
  for (const auto& t : ts) {
    if (t.id == id && t.key_bits == bits) return true;
  }
  return false;
}

// ChaCha20-Poly1305 has a fixed key size and takes no Key Length
// attribute (RFC 7634 section 4); AES-GCM requires one (RFC 5282 8).
uint16_t encr_attr(uint16_t id, uint16_t bits) { return id == kEncrChaCha20Poly1305 ? 0 : bits; }

}  // namespace

std::string IkeAlgs::name() const { return encr_name(encr, encr_bits) + "-" + prf_name(prf) + "-" + dh_name(dh); }

std::optional<IkeAlgs> parse_ike_proposal(const std::string& text) {
  const size_t a = text.find('-');
  const size_t b = a == std::string::npos ? a : text.find('-', a + 1);
  if (b == std::string::npos || text.find('-', b + 1) != std::string::npos) return std::nullopt;
  const std::string e = text.substr(0, a), p = text.substr(a + 1, b - a - 1), d = text.substr(b + 1);
  IkeAlgs out;
  bool ok_e = false, ok_p = false, ok_d = false;
  for (const auto& n : kEncrs) {
    if (e == n.text) out.encr = n.id, out.encr_bits = n.bits, ok_e = true;
  }
  for (const auto& n : kPrfs) {
    if (p == n.text) out.prf = n.id, ok_p = true;
  }
  for (const auto& n : kDhs) {
    if (d == n.text) out.dh = n.id, ok_d = true;
  }
  if (!ok_e || !ok_p || !ok_d) return std::nullopt;
  return out;
}

std::vector<IkeAlgs> ike_choices(const config::Tunnel& t, const config::CryptoPolicy& policy) {
  if (!t.ike.proposal.empty()) {
    if (auto a = parse_ike_proposal(t.ike.proposal)) return {*a};
    return {};
  }
  std::vector<IkeAlgs> out;
  if (policy.profile == "prime-256") out.push_back(*parse_ike_proposal("aes256gcm16-prfsha384-ecp384"));
  out.push_back(*parse_ike_proposal("aes128gcm16-prfsha256-ecp256"));
  return out;
}

std::optional<EspAlgs> esp_choice(const config::Tunnel& t) {
  auto suite = crypto::parse_suite(t.esp);
  if (!suite || !suite->valid()) return std::nullopt;
  EspAlgs a;
  a.esn = t.esn;
  a.suite = std::string(suite->name());
  switch (suite->cipher) {
    case crypto::Cipher::kAes128Gcm:
      a.encr = kEncrAesGcm16, a.encr_bits = 128;
      break;
    case crypto::Cipher::kAes256Gcm:
      a.encr = kEncrAesGcm16, a.encr_bits = 256;
      break;
    case crypto::Cipher::kChacha20Poly1305:
      a.encr = kEncrChaCha20Poly1305, a.encr_bits = 0;
      break;
    case crypto::Cipher::kAes128Cbc:
      a.encr = kEncrAesCbc, a.encr_bits = 128;
      break;
    case crypto::Cipher::kAes256Cbc:
      a.encr = kEncrAesCbc, a.encr_bits = 256;
      break;
  }
  switch (suite->integ) {
    case crypto::Integ::kNone:
      a.integ = 0;
      break;
    case crypto::Integ::kHmacSha256_128:
      a.integ = kIntegSha256;
      break;
    case crypto::Integ::kHmacSha384_192:
      a.integ = kIntegSha384;
      break;
    case crypto::Integ::kHmacSha512_256:
      a.integ = kIntegSha512;
      break;
  }
  return a;
}

SaPayload ike_sa_payload(const std::vector<IkeAlgs>& algs, const Bytes& spi) {
  SaPayload sa;
  uint8_t n = 1;
  for (const auto& a : algs) {
    Proposal p;
    p.number = n++;
    p.protocol = Protocol::kIke;
    p.spi = spi;
    p.transforms = {{TransformType::kEncr, a.encr, encr_attr(a.encr, a.encr_bits)},
                    {TransformType::kPrf, a.prf, 0},
                    {TransformType::kDh, a.dh, 0}};
    sa.proposals.push_back(std::move(p));
  }
  return sa;
}

SaPayload chosen_ike_payload(const IkeAlgs& a, uint8_t number, const Bytes& spi) {
  SaPayload sa = ike_sa_payload({a}, spi);
  sa.proposals[0].number = number;
  return sa;
}

SaPayload esp_sa_payload(const EspAlgs& a, uint32_t spi) {
  Proposal p;
  p.number = 1;
  p.protocol = Protocol::kEsp;
  p.spi = spi_bytes(spi);
  p.transforms.push_back({TransformType::kEncr, a.encr, encr_attr(a.encr, a.encr_bits)});
  if (a.integ) p.transforms.push_back({TransformType::kInteg, a.integ, 0});
  if (a.dh) p.transforms.push_back({TransformType::kDh, a.dh, 0});
  p.transforms.push_back({TransformType::kEsn, a.esn ? kEsnYes : kEsnNone, 0});
  SaPayload sa;
  sa.proposals.push_back(std::move(p));
  return sa;
}

SaPayload chosen_esp_payload(const EspAlgs& a, uint8_t number, uint32_t spi) {
  SaPayload sa = esp_sa_payload(a, spi);
  sa.proposals[0].number = number;
  return sa;
}

std::optional<IkeAlgs> select_ike(const SaPayload& offered, const std::vector<IkeAlgs>& ours,
                                  uint8_t* proposal_number, Bytes* peer_spi) {
  // Our preference order wins over the peer's (section 2.7 leaves the
  // choice to the responder): the profile's strongest suite first.
  for (const auto& a : ours) {
    for (const auto& p : offered.proposals) {
      if (p.protocol != Protocol::kIke) continue;
      if (!has(of_type(p, TransformType::kEncr), a.encr, encr_attr(a.encr, a.encr_bits))) continue;
      if (!has(of_type(p, TransformType::kPrf), a.prf)) continue;
      if (!has(of_type(p, TransformType::kDh), a.dh)) continue;
      // An AEAD proposal must not ask for INTEG (RFC 5282 section 8).
      auto integ = of_type(p, TransformType::kInteg);
      if (!integ.empty() && !has(integ, 0)) continue;
      if (proposal_number) *proposal_number = p.number;
      if (peer_spi) *peer_spi = p.spi;
      return a;
    }
  }
  return std::nullopt;
}

std::optional<EspAlgs> select_esp(const SaPayload& offered, const EspAlgs& ours, bool in_create_child,
                                  uint8_t* proposal_number, uint32_t* peer_spi) {
  for (const auto& p : offered.proposals) {
    if (p.protocol != Protocol::kEsp || p.spi.size() != 4) continue;
    if (!has(of_type(p, TransformType::kEncr), ours.encr, encr_attr(ours.encr, ours.encr_bits))) continue;
    auto integ = of_type(p, TransformType::kInteg);
    if (ours.integ ? !has(integ, ours.integ) : !(integ.empty() || has(integ, 0))) continue;
    auto esn = of_type(p, TransformType::kEsn);
    const uint16_t want_esn = ours.esn ? kEsnYes : kEsnNone;
    if (esn.empty() ? ours.esn : !has(esn, want_esn)) continue;
    EspAlgs a = ours;
    auto dh = of_type(p, TransformType::kDh);
    a.dh = 0;
    if (in_create_child) {
      // PFS: take the group we want if offered; a proposal without a DH
      // transform (or with NONE) means the peer asks for no PFS.
      if (ours.dh != 0 && has(dh, ours.dh)) {
        a.dh = ours.dh;
      } else if (!(dh.empty() || has(dh, 0))) {
        continue;
      }
    }
    if (proposal_number) *proposal_number = p.number;
    if (peer_spi) *peer_spi = static_cast<uint32_t>(spi_value(p.spi));
    return a;
  }
  return std::nullopt;
}

std::optional<IkeAlgs> accept_ike_reply(const SaPayload& reply, const std::vector<IkeAlgs>& offered, Bytes* peer_spi) {
  if (reply.proposals.size() != 1) return std::nullopt;
  const Proposal& p = reply.proposals[0];
  if (p.protocol != Protocol::kIke) return std::nullopt;
  auto e = of_type(p, TransformType::kEncr), f = of_type(p, TransformType::kPrf), d = of_type(p, TransformType::kDh);
  if (e.size() != 1 || f.size() != 1 || d.size() != 1) return std::nullopt;
  for (const auto& a : offered) {
    if (e[0].id == a.encr && e[0].key_bits == encr_attr(a.encr, a.encr_bits) && f[0].id == a.prf && d[0].id == a.dh) {
      if (peer_spi) *peer_spi = p.spi;
      return a;
    }
  }
  return std::nullopt;
}

std::optional<EspAlgs> accept_esp_reply(const SaPayload& reply, const EspAlgs& offered, uint32_t* peer_spi) {
  if (reply.proposals.size() != 1) return std::nullopt;
  const Proposal& p = reply.proposals[0];
  if (p.protocol != Protocol::kEsp || p.spi.size() != 4) return std::nullopt;
  auto e = of_type(p, TransformType::kEncr), d = of_type(p, TransformType::kDh), s = of_type(p, TransformType::kEsn);
  if (e.size() != 1 || !has(e, offered.encr, encr_attr(offered.encr, offered.encr_bits))) return std::nullopt;
  if (s.size() > 1 || (s.empty() ? offered.esn : s[0].id != (offered.esn ? kEsnYes : kEsnNone))) return std::nullopt;
  const uint16_t got_dh = d.empty() ? 0 : d[0].id;
  if (d.size() > 1 || got_dh != offered.dh) return std::nullopt;
  if (peer_spi) *peer_spi = static_cast<uint32_t>(spi_value(p.spi));
  return offered;
}

std::string describe_offer(const SaPayload& sa) {
  std::string out;
  for (const auto& p : sa.proposals) {
    std::string one;
    for (const auto& t : p.transforms) {
      std::string n;
      switch (t.type) {
        case TransformType::kEncr:
          n = encr_name(t.id, t.id == kEncrChaCha20Poly1305 ? 0 : t.key_bits);
          if (t.id == kEncrAesCbc) n = "aes" + std::to_string(t.key_bits) + "cbc";
          break;
        case TransformType::kPrf:
          n = prf_name(t.id);
          break;
        case TransformType::kInteg:
          n = t.id == kIntegSha256 ? "sha256" : t.id == kIntegSha384 ? "sha384" : t.id == kIntegSha512 ? "sha512" : "integ#" + std::to_string(t.id);
          break;
        case TransformType::kDh:
          n = t.id == 0 ? "nodh" : dh_name(t.id);
          break;
        case TransformType::kEsn:
          n = t.id ? "esn" : "noesn";
          break;
      }
      one += (one.empty() ? "" : "-") + n;
    }
    out += (out.empty() ? "" : ", ") + one;
  }
  return out.empty() ? "(nothing)" : out;
}

}  // namespace portcullis::ctl::ike
