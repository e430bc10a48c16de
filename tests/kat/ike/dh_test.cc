// dh_test.cc: DhKey for groups 19 and 20 (RFC 5903) and 31 (RFC 8031).
//
// Known answers: RFC 5903 sections 8.1 and 8.2 (the IKEv2 test vectors for
// the 256- and 384-bit random ECP groups: i, g^i, r, g^r, and the x
// coordinate of g^ir that IKE uses), and Wycheproof's x25519 and
// ecdh_secp256r1 files. Refusals: wrong lengths, points off the curve,
// small-order Curve25519 values (all-zero result, RFC 8031 section 2.3).
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "control/ike/crypto.h"
#include "tests/kat/ike/vectors.h"

namespace portcullis::kat::ike {
namespace {

using ctl::ike::DhKey;
using ctl::ike::SecretBytes;
using Bytes = std::vector<uint8_t>;

struct Rfc5903Vector {
  uint16_t group;
  const char *i, *gix, *giy, *r, *grx, *gry, *girx;
};

// RFC 5903 section 8.1 (256-bit random ECP group) and 8.2 (384-bit).
const Rfc5903Vector kRfc5903[] = {
    {19, "C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433",
     "DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180",
     "5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3",
     "C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53",
     "D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63",
     "56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
     "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE"},
    {20,
     "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655"
     "E35B538041E649EE3FAEF896783AB194",
     "667842D7D180AC2CDE6F74F37551F55755C7645C20EF73E31634FE72B4C55EE6"
     "DE3AC808ACB4BDB4C88732AEE95F41AA",
     "9482ED1FC0EEB9CAFC4984625CCFC23F65032149E0E144ADA024181535A0F38E"
     "EB9FCFF3C2C947DAE69B4C634573A81C",
     "41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060855CC9BDA0AA2942"
     "E0308312916B8ED2960E4BD55A7448FC",
     "E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D"
     "0D1AC43A0336DEF96FDA41D0774A3571",
     "DCFBEC7AACF3196472169E838430367F66EEBE3C6E70C416DD5F0C68759DD1FF"
     "F83FA40142209DFF5EAAD96DB9E6386C",
     "11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4"
     "D603135569B9E9D09CF5D4A270F59746"},
};

Bytes join(const char* a, const char* b) {
  Bytes x = unhex(a), y = unhex(b);
  x.insert(x.end(), y.begin(), y.end());
  return x;
}

// refused: shared() must say no, leave `out` empty and give a reason
// (containing `reason_has` when given).
::testing::AssertionResult refused(const DhKey& k, const Bytes& peer,
                                   const std::string& reason_has = "") {
  SecretBytes out(Bytes{1});
  std::string why;
  if (k.shared(peer, out, &why)) {
    return ::testing::AssertionFailure() << "accepted " << hex(peer) << " -> " << hex(out.span());
  }
  if (!out.empty()) return ::testing::AssertionFailure() << "refused but left output";
  if (why.empty()) return ::testing::AssertionFailure() << "refused without a reason";
  if (why.find(reason_has) == std::string::npos) {
    return ::testing::AssertionFailure()
           << "reason \"" << why << "\" lacks \"" << reason_has << '"';
  }
  return ::testing::AssertionSuccess();
}

std::string shared_hex(const DhKey& k, const Bytes& peer) {
  SecretBytes out;
  std::string why;
  if (!k.shared(peer, out, &why)) return "refused: " + why;
  return hex(out.span());
}

TEST(IkeDh, Rfc5903Section8) {
  for (const Rfc5903Vector& v : kRfc5903) {
    SCOPED_TRACE(v.group);
    const auto i = DhKey::from_private(v.group, unhex(v.i));
    const auto r = DhKey::from_private(v.group, unhex(v.r));
    ASSERT_NE(i, nullptr);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(i->group(), v.group);
    const Bytes gi = join(v.gix, v.giy), gr = join(v.grx, v.gry);
    EXPECT_EQ(hex(i->public_value()), hex(gi));
    EXPECT_EQ(hex(r->public_value()), hex(gr));
    EXPECT_EQ(ctl::ike::dh_public_size(v.group), gi.size());
    // Section 9: the shared secret is x alone.
    EXPECT_EQ(shared_hex(*i, gr), hex(unhex(v.girx)));
    EXPECT_EQ(shared_hex(*r, gi), hex(unhex(v.girx)));

    // Wrong lengths: one byte short, one long, a leading 0x04 as a
    // non-IKE encoding would add, x alone.
    Bytes shorter(gr.begin(), gr.end() - 1), longer = gr, tagged = gr,
                                             x_only(gr.begin(), gr.begin() + gr.size() / 2);
    longer.push_back(0);
    tagged.insert(tagged.begin(), 0x04);
    EXPECT_TRUE(refused(*i, shorter, "length"));
    EXPECT_TRUE(refused(*i, longer, "length"));
    EXPECT_TRUE(refused(*i, tagged, "length"));
    EXPECT_TRUE(refused(*i, x_only, "length"));
    EXPECT_TRUE(refused(*i, {}, "length"));
    // Off the curve: y + 1, and the all-zero "point".
    Bytes off = gr;
    off.back() ^= 1;
    EXPECT_TRUE(refused(*i, off));
    EXPECT_TRUE(refused(*i, Bytes(gr.size(), 0)));
    // Coordinates not below p: all 0xff.
    EXPECT_TRUE(refused(*i, Bytes(gr.size(), 0xff)));

    // Private values outside [1, n-1] and of the wrong size.
    const size_t n = unhex(v.i).size();
    EXPECT_EQ(DhKey::from_private(v.group, Bytes(n, 0)), nullptr);
    EXPECT_EQ(DhKey::from_private(v.group, Bytes(n, 0xff)), nullptr);
    EXPECT_EQ(DhKey::from_private(v.group, Bytes(n - 1, 1)), nullptr);
  }
}

TEST(IkeDh, GeneratedKeysAgree) {
  for (uint16_t g : {19, 20, 31}) {
    SCOPED_TRACE(g);
    const auto a = DhKey::generate(g), b = DhKey::generate(g);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(a->public_value().size(), ctl::ike::dh_public_size(g));
    EXPECT_NE(a->public_value(), b->public_value());
    const std::string ab = shared_hex(*a, b->public_value());
    EXPECT_EQ(ab, shared_hex(*b, a->public_value()));
    EXPECT_EQ(ab.size(), 2 * (g == 20 ? 48u : 32u));
  }
  // MODP groups and unassigned numbers are not offered.
  for (uint16_t g : {0, 2, 14, 21, 32}) {
    EXPECT_EQ(DhKey::generate(g), nullptr);
    EXPECT_EQ(DhKey::from_private(g, Bytes(32, 1)), nullptr);
    EXPECT_EQ(ctl::ike::dh_public_size(g), 0u);
  }
}

// Wycheproof x25519: valid vectors must give their shared value. The
// "acceptable" ones are edge cases: those whose result is all zero (a
// small-order public value) must be refused (RFC 8031 section 2.3); the
// others (non-canonical or twist values) may be accepted, and then must
// give the listed result.
TEST(IkeDh, X25519Wycheproof) {
  const nlohmann::json doc = wycheproof_file("x25519_test.json");
  int valid = 0, zero_refused = 0, other_acceptable = 0;
  for (const auto& g : doc.at("testGroups")) {
    for (const auto& t : g.at("tests")) {
      SCOPED_TRACE("x25519 tcId " + std::to_string(t.at("tcId").get<int>()));
      const auto key = DhKey::from_private(31, unhex(t.at("private").get<std::string>()));
      ASSERT_NE(key, nullptr);
      const Bytes pub = unhex(t.at("public").get<std::string>());
      const Bytes want = unhex(t.at("shared").get<std::string>());
      const std::string result = t.at("result");
      if (result == "valid") {
        ++valid;
        EXPECT_EQ(shared_hex(*key, pub), hex(want));
      } else if (want == Bytes(want.size(), 0)) {
        ++zero_refused;
        EXPECT_TRUE(refused(*key, pub));
      } else {
        ASSERT_EQ(result, "acceptable");
        ++other_acceptable;
        const std::string got = shared_hex(*key, pub);
        if (got.rfind("refused", 0) != 0) {
          EXPECT_EQ(got, hex(want));
        }
      }
    }
  }
  EXPECT_GT(valid, 200);
  EXPECT_GT(zero_refused, 10);
  EXPECT_GT(other_acceptable, 100);
}

// on_p256 checks y^2 = x^3 - 3x + b (mod p) with x, y < p by plain
// BIGNUM arithmetic: an oracle apart from the EC code under test.
bool on_p256(const Bytes& xy) {
  struct BnFree {
    void operator()(BIGNUM* b) const { BN_free(b); }
    void operator()(BN_CTX* c) const { BN_CTX_free(c); }
  };
  std::unique_ptr<BN_CTX, BnFree> ctx(BN_CTX_new());
  auto bn = [](const Bytes& b) {
    return std::unique_ptr<BIGNUM, BnFree>(
        BN_bin2bn(b.data(), static_cast<int>(b.size()), nullptr));
  };
  // SEC 2 / FIPS 186-4 parameters of P-256.
  const auto p = bn(unhex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff"));
  const auto b = bn(unhex("5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b"));
  const auto x = bn(Bytes(xy.begin(), xy.begin() + 32));
  const auto y = bn(Bytes(xy.begin() + 32, xy.end()));
  if (BN_cmp(x.get(), p.get()) >= 0 || BN_cmp(y.get(), p.get()) >= 0) return false;
  std::unique_ptr<BIGNUM, BnFree> lhs(BN_new()), rhs(BN_new()), t(BN_new());
  BN_mod_sqr(lhs.get(), y.get(), p.get(), ctx.get());
  BN_mod_sqr(t.get(), x.get(), p.get(), ctx.get());
  BN_mod_mul(rhs.get(), t.get(), x.get(), p.get(), ctx.get());  // x^3
  BN_set_word(t.get(), 3);
  BN_mod_mul(t.get(), t.get(), x.get(), p.get(), ctx.get());  // 3x
  BN_mod_sub(rhs.get(), rhs.get(), t.get(), p.get(), ctx.get());
  BN_mod_add(rhs.get(), rhs.get(), b.get(), p.get(), ctx.get());
  return BN_cmp(lhs.get(), rhs.get()) == 0;
}

// Wycheproof ecdh_secp256r1 carries public keys as DER
// SubjectPublicKeyInfo; IKE carries x | y. The test unwraps the DER
// (without interpreting the curve parameters, so a key claiming another
// curve still reaches DhKey) and passes x | y to group 19:
//  - valid vectors must give their shared value;
//  - a point that is not on P-256 must be refused, whatever the label
//    (invalid-curve attacks, wrong curves, modified points);
//  - a point on P-256 in a vector that is invalid only for its ASN.1
//    wrapper (parameters, encoding) is what the KE payload would carry
//    anyway; if the vector lists a result, ours must match it.
// Vectors that do not unwrap, or hold a compressed point (which RFC 5903
// KE data cannot express), must not be "valid".
TEST(IkeDh, EcdhSecp256r1Wycheproof) {
  const nlohmann::json doc = wycheproof_file("ecdh_secp256r1_test.json");
  int valid = 0, off_curve_refused = 0, wrapper_only = 0, not_expressible = 0;
  for (const auto& g : doc.at("testGroups")) {
    ASSERT_EQ(g.at("curve"), "secp256r1");
    for (const auto& t : g.at("tests")) {
      SCOPED_TRACE("ecdh_secp256r1 tcId " + std::to_string(t.at("tcId").get<int>()));
      const std::string result = t.at("result");
      const Bytes der = unhex(t.at("public").get<std::string>());
      const unsigned char* p = der.data();
      std::unique_ptr<X509_PUBKEY, void (*)(X509_PUBKEY*)> spki(
          d2i_X509_PUBKEY(nullptr, &p, static_cast<long>(der.size())), X509_PUBKEY_free);
      const unsigned char* point = nullptr;
      int point_len = 0;
      if (!spki || p != der.data() + der.size() ||
          X509_PUBKEY_get0_param(nullptr, &point, &point_len, nullptr, spki.get()) != 1 ||
          point_len != 65 || point[0] != 0x04) {
        ++not_expressible;
        EXPECT_NE(result, "valid");
        continue;
      }
      const Bytes xy(point + 1, point + 65);
      // Private values come with a sign byte or without leading zeros.
      Bytes priv = unhex(t.at("private").get<std::string>());
      while (priv.size() > 32 && priv.front() == 0) priv.erase(priv.begin());
      ASSERT_LE(priv.size(), 32u);
      priv.insert(priv.begin(), 32 - priv.size(), 0);
      const auto key = DhKey::from_private(19, priv);
      ASSERT_NE(key, nullptr);
      const std::string want = hex(unhex(t.at("shared").get<std::string>()));
      if (result == "valid") {
        ++valid;
        EXPECT_EQ(shared_hex(*key, xy), want);
      } else if (!on_p256(xy)) {
        ++off_curve_refused;
        EXPECT_TRUE(refused(*key, xy));
      } else {
        ++wrapper_only;
        if (!want.empty()) {
          EXPECT_EQ(shared_hex(*key, xy), want);
        }
      }
    }
  }
  const std::string counts = "valid " + std::to_string(valid) + ", off-curve refused " +
                             std::to_string(off_curve_refused) + ", wrapper-only " +
                             std::to_string(wrapper_only) + ", not expressible " +
                             std::to_string(not_expressible);
  EXPECT_GT(valid, 300) << counts;
  EXPECT_GT(off_curve_refused, 20) << counts;
  EXPECT_GT(wrapper_only, 50) << counts;
  EXPECT_GT(not_expressible, 100) << counts;
}

}  // namespace
}  // namespace portcullis::kat::ike
