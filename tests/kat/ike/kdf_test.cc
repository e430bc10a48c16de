// kdf_test.cc: the IKEv2 key schedule (RFC 7296 sections 2.13, 2.14, 2.17,
// 2.18) against NIST's published IKEv2 KDF answers (ikev2_kdf.rsp, from
// the CAVS 17.3 sample file; its header names the source), plus prf+'s
// length limit and the random nonce and SPI helpers.
//
// Each vector checks, with values NIST computed:
//   SKEYSEED          Prf::compute(Ni | Nr, g^ir)
//   DKM               Prf::plus, and the IkeKeys of derive_ike_keys laid
//                     end to end (their first 132 bytes; NIST's DKM is 132)
//   DKM(Child SA)     child_keymat without a new DH value
//   DKM(Child SA D-H) child_keymat with g^ir (new)
//   SKEYSEED(Rekey)   Prf::compute, and derive_rekeyed_ike_keys must expand
//                     exactly NIST's SKEYSEED(Rekey)
#include <gtest/gtest.h>

#include <algorithm>
#include <initializer_list>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "control/ike/crypto.h"
#include "tests/kat/ike/vectors.h"

namespace portcullis::kat::ike {
namespace {

using ctl::ike::IkeKeys;
using ctl::ike::Prf;
using ctl::ike::SecretBytes;
using Bytes = std::vector<uint8_t>;

struct KdfVector {
  std::string name;  // "[SHA-256] COUNT = 0"
  uint16_t prf_id = 0;
  std::map<std::string, Bytes> f;
  const Bytes& at(const std::string& k) const {
    auto it = f.find(k);
    if (it == f.end()) throw std::runtime_error(name + ": no field " + k);
    return it->second;
  }
};

// load_rsp parses the CAVS response format: "[SHA-256]" sections,
// "COUNT = n" starting a vector, "name = hex" fields, '#' comments.
std::vector<KdfVector> load_rsp() {
  static const std::map<std::string, uint16_t> kSections = {
      {"[SHA-256]", 5}, {"[SHA-384]", 6}, {"[SHA-512]", 7}};
  std::istringstream in(source_file("ikev2_kdf.rsp"));
  std::vector<KdfVector> out;
  std::string line, section;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      if (!kSections.count(line)) throw std::runtime_error("unknown section " + line);
      section = line;
      continue;
    }
    const size_t eq = line.find(" = ");
    if (eq == std::string::npos) throw std::runtime_error("bad line: " + line);
    const std::string key = line.substr(0, eq), value = line.substr(eq + 3);
    if (key == "COUNT") {
      if (section.empty()) throw std::runtime_error("COUNT before a section");
      out.push_back({section + " " + line, kSections.at(section), {}});
    } else {
      if (out.empty()) throw std::runtime_error("field before COUNT: " + line);
      out.back().f[key] = unhex(value);
    }
  }
  return out;
}

uint64_t be64(const Bytes& b) {
  if (b.size() != 8) throw std::runtime_error("SPI is not 8 bytes");
  uint64_t v = 0;
  for (uint8_t x : b) v = v << 8 | x;
  return v;
}

Bytes cat(std::initializer_list<ctl::ike::ByteSpan> parts) {
  Bytes out;
  for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// laid_out puts an IKE SA's keys end to end in the section 2.14 order.
Bytes laid_out(const IkeKeys& k) {
  return cat({k.sk_d.span(), k.sk_ai.span(), k.sk_ar.span(), k.sk_ei.span(), k.sk_er.span(),
              k.sk_pi.span(), k.sk_pr.span()});
}

std::string prefix_hex(const Bytes& b, size_t n) {
  return hex(ctl::ike::ByteSpan(b).first(std::min(n, b.size())));
}

// Key lengths to cut DKM with: an AEAD (AES-256-GCM: 32 + 4 salt, no
// integrity key) and a cipher with a separate MAC (AES-CBC-256 with
// HMAC-SHA-256-128). Either way the keys laid end to end are prf+ output.
struct Shape {
  size_t enc_len, integ_len;
};
constexpr Shape kShapes[] = {{36, 0}, {32, 32}};

TEST(IkeKdf, NistCavsVectors) {
  const std::vector<KdfVector> vectors = load_rsp();
  // Two COUNTs for each of SHA-256, SHA-384 and SHA-512.
  ASSERT_EQ(vectors.size(), 6u);
  for (const KdfVector& v : vectors) {
    SCOPED_TRACE(v.name);
    const auto prf = Prf::make(v.prf_id);
    ASSERT_NE(prf, nullptr);
    const Bytes &ni = v.at("Ni"), &nr = v.at("Nr"), &gir = v.at("g^ir");
    const Bytes& gir_new = v.at("g^ir (new)");
    const Bytes& dkm = v.at("DKM");
    const uint64_t spi_i = be64(v.at("SPIi")), spi_r = be64(v.at("SPIr"));
    const Bytes nonces = cat({ni, nr});
    const Bytes seed = cat({ni, nr, v.at("SPIi"), v.at("SPIr")});

    // Section 2.14.
    EXPECT_EQ(hex(prf->compute(nonces, gir).span()), hex(v.at("SKEYSEED")));
    EXPECT_EQ(hex(prf->plus(v.at("SKEYSEED"), seed, dkm.size()).span()), hex(dkm));
    for (const Shape& s : kShapes) {
      const IkeKeys k = derive_ike_keys(*prf, s.enc_len, s.integ_len, ni, nr, gir, spi_i, spi_r);
      ASSERT_EQ(k.sk_d.size(), prf->size());
      EXPECT_EQ(k.sk_ai.size(), s.integ_len);
      EXPECT_EQ(k.sk_ei.size(), s.enc_len);
      EXPECT_EQ(k.sk_pr.size(), prf->size());
      EXPECT_EQ(prefix_hex(laid_out(k), dkm.size()), prefix_hex(dkm, laid_out(k).size()));
    }

    // Section 2.17. SK_d is the first PRF-size bytes of DKM.
    const Bytes sk_d(dkm.begin(), dkm.begin() + static_cast<long>(prf->size()));
    const Bytes& child = v.at("DKM(Child SA)");
    const Bytes& child_dh = v.at("DKM(Child SA D-H)");
    EXPECT_EQ(hex(child_keymat(*prf, sk_d, {}, ni, nr, child.size()).span()), hex(child));
    EXPECT_EQ(hex(child_keymat(*prf, sk_d, gir_new, ni, nr, child_dh.size()).span()),
              hex(child_dh));

    // Section 2.18: SKEYSEED is NIST's, and the rekeyed SA's keys are its
    // expansion (prf+ itself was checked against DKM above).
    const Bytes& rekey = v.at("SKEYSEED(Rekey)");
    EXPECT_EQ(hex(prf->compute(sk_d, cat({gir_new, ni, nr})).span()), hex(rekey));
    const IkeKeys rk =
        derive_rekeyed_ike_keys(*prf, sk_d, *prf, 36, 0, ni, nr, gir_new, spi_i, spi_r);
    const Bytes rk_all = laid_out(rk);
    EXPECT_EQ(hex(rk_all), hex(prf->plus(rekey, seed, rk_all.size()).span()));
  }
}

// A rekey may change the PRF: SKEYSEED comes from the old SA's PRF, the
// expansion from the new one (section 2.18). NIST's SHA-256 COUNT 0 gives
// SKEYSEED(Rekey); expanding it with HMAC-SHA-512 must match.
TEST(IkeKdf, RekeyChangesPrf) {
  const std::vector<KdfVector> vectors = load_rsp();
  ASSERT_FALSE(vectors.empty());
  const KdfVector& v = vectors.front();
  ASSERT_EQ(v.prf_id, 5);
  const auto sha256 = Prf::make(5), sha512 = Prf::make(7);
  const Bytes &ni = v.at("Ni"), &nr = v.at("Nr");
  const Bytes sk_d(v.at("DKM").begin(), v.at("DKM").begin() + 32);
  const IkeKeys rk =
      derive_rekeyed_ike_keys(*sha256, sk_d, *sha512, 36, 0, ni, nr, v.at("g^ir (new)"),
                              be64(v.at("SPIi")), be64(v.at("SPIr")));
  EXPECT_EQ(rk.sk_d.size(), 64u);
  const Bytes all = laid_out(rk);
  const Bytes seed = cat({ni, nr, v.at("SPIi"), v.at("SPIr")});
  EXPECT_EQ(hex(all), hex(sha512->plus(v.at("SKEYSEED(Rekey)"), seed, all.size()).span()));
  // And not the same-PRF answer.
  const IkeKeys same =
      derive_rekeyed_ike_keys(*sha256, sk_d, *sha256, 36, 0, ni, nr, v.at("g^ir (new)"),
                              be64(v.at("SPIi")), be64(v.at("SPIr")));
  EXPECT_NE(hex(same.sk_ei.span()), hex(rk.sk_ei.span()));
}

// Section 2.13: the prf+ counter is one octet, so at most 255 blocks.
TEST(IkeKdf, PrfPlusLength) {
  for (uint16_t id : {5, 6, 7}) {
    const auto prf = Prf::make(id);
    const Bytes key(prf->size(), 0x0b), seed = {1, 2, 3};
    const SecretBytes longest = prf->plus(key, seed, 255 * prf->size());
    ASSERT_EQ(longest.size(), 255 * prf->size());
    EXPECT_THROW(prf->plus(key, seed, 255 * prf->size() + 1), std::length_error);
    // Every shorter output is a prefix of the longest one; in particular
    // the last block depends on the counter wrapping at 255, not at 256.
    const SecretBytes short_one = prf->plus(key, seed, prf->size() + 1);
    EXPECT_EQ(hex(short_one.span()),
              prefix_hex(Bytes(longest.span().begin(), longest.span().end()), prf->size() + 1));
    // T1 = prf(K, S | 0x01).
    const SecretBytes t1 = prf->compute(key, Bytes{1, 2, 3, 1});
    EXPECT_EQ(hex(t1.span()), hex(longest.span().first(prf->size())));
    EXPECT_TRUE(prf->plus(key, seed, 0).empty());
  }
  EXPECT_EQ(Prf::make(2), nullptr);  // HMAC-SHA1 is not offered
  EXPECT_EQ(Prf::make(4), nullptr);  // nor AES-XCBC
}

TEST(IkeRandom, NoncesAndSpis) {
  const Bytes a = ctl::ike::random_nonce(), b = ctl::ike::random_nonce();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);  // a collision would have probability 2^-256
  EXPECT_EQ(ctl::ike::random_nonce(16).size(), 16u);
  const uint64_t s1 = ctl::ike::random_spi(), s2 = ctl::ike::random_spi();
  EXPECT_NE(s1, 0u);
  EXPECT_NE(s2, 0u);
  EXPECT_NE(s1, s2);
}

}  // namespace
}  // namespace portcullis::kat::ike
