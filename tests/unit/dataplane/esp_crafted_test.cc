// esp_crafted_test.cc: packets whose ICV verifies but whose contents are
// wrong (bad padding, pad length past the payload, zero-length payload,
// next header 59, a wrong tunnel next header, an inner packet longer than
// its payload), sealed independently with OpenSSL. Each must be dropped
// under its own reason; a well-formed crafted packet is accepted first.
#include "esp_test_fixture.h"

namespace portcullis::esptest {
namespace {

// --- Crafted packets with a valid ICV ------------------------------------

// Param: suite, ESN.
class EspCrafted : public EspBase,
                   public testing::WithParamInterface<std::tuple<const char*, bool>> {
 protected:
  void SetUp() override {
    EspBase::SetUp();
    opts_.suite = *crypto::parse_suite(std::get<0>(GetParam()));
    opts_.esn = std::get<1>(GetParam());
  }

  // craft seals `plain` with sequence number seq and wraps it in IPv4.
  Bytes craft(const test::SaPair& p, uint64_t seq, const Bytes& plain) const {
    return wrap({}, Sealer(p.cfg).esp(seq, plain));
  }
  uint32_t block() const { return opts_.suite.block_len(); }

  SaPairOptions opts_;
};

TEST_P(EspCrafted, WellFormedPacketIsAccepted) {
  auto p = pair(opts_);
  const Bytes pt = inner(1, 33);
  EXPECT_TRUE(accepted(craft(p, 1, esp_plain(pt, block(), 4)), p.in.get(), pt));
  // RFC 4303 section 2.7 TFC padding after the inner packet is removed.
  Bytes tfc = pt;
  tfc.insert(tfc.end(), 3 * block(), 0);
  EXPECT_TRUE(accepted(craft(p, 2, esp_plain(tfc, block(), 4)), p.in.get(), pt));
  const Bytes pt6 = inner(2, 5, true);
  EXPECT_TRUE(accepted(craft(p, 3, esp_plain(pt6, block(), 41)), p.in.get(), pt6));
}

TEST_P(EspCrafted, WrongPaddingBytesAreBadPadding) {
  auto p = pair(opts_);
  // An inner packet that needs a few bytes of padding, plus a block more,
  // so that every position can be wrong.
  const Bytes pt = inner(1, 28);  // 56 bytes: 2 bytes of AEAD padding, 6 of CBC
  const Bytes plain = esp_plain(pt, block(), 4);
  const size_t pad = plain[plain.size() - 2];
  ASSERT_GT(pad, 0u);
  uint64_t seq = 1;
  for (size_t i = 0; i < pad; i++) {
    Bytes bad = plain;
    bad[pt.size() + i] ^= 0x10;
    EXPECT_TRUE(dropped_as(craft(p, seq++, bad), p.in.get(), DropReason::kBadPadding)) << i;
  }
  // Padding of zeros (the other common convention) is not RFC 4303's.
  Bytes zeros = plain;
  std::fill_n(zeros.begin() + static_cast<long>(pt.size()), pad, 0);
  EXPECT_TRUE(dropped_as(craft(p, seq++, zeros), p.in.get(), DropReason::kBadPadding));
  EXPECT_TRUE(accepted(craft(p, seq++, plain), p.in.get(), pt));
}

TEST_P(EspCrafted, PadLengthPastThePayloadIsBadPadding) {
  auto p = pair(opts_);
  // One block of ciphertext whose pad length claims more than it holds.
  Bytes plain(block());
  for (size_t i = 0; i < plain.size(); i++) plain[i] = static_cast<uint8_t>(i + 1);
  plain[plain.size() - 1] = 4;
  uint64_t seq = 2;
  for (uint32_t claim : {block() - 1, block(), 255u}) {
    plain[plain.size() - 2] = static_cast<uint8_t>(claim);
    EXPECT_TRUE(dropped_as(craft(p, seq++, plain), p.in.get(), DropReason::kBadPadding)) << claim;
  }
  // Padding one byte longer than fits, whose contents still read 1, 2, 3...
  // if the check starts one byte early, in the IV (whose last byte the
  // sealer makes 1 for sequence number 1): only the length check catches it.
  Bytes tricky(block());
  for (size_t i = 0; i + 2 < tricky.size(); i++) tricky[i] = static_cast<uint8_t>(i + 2);
  tricky[block() - 2] = static_cast<uint8_t>(block() - 1);
  tricky[block() - 1] = 4;
  EXPECT_TRUE(dropped_as(craft(p, 1, tricky), p.in.get(), DropReason::kBadPadding));
}

TEST_P(EspCrafted, ZeroLengthPayloadIsMalformed) {
  auto p = pair(opts_);
  // Padding, pad length and next header only: a tunnel SA finds no inner
  // packet there.
  const Bytes plain = esp_plain({}, block(), 4);
  EXPECT_TRUE(dropped_as(craft(p, 1, plain), p.in.get(), DropReason::kMalformed));
  EXPECT_TRUE(
      dropped_as(craft(p, 2, esp_plain({}, block(), 41)), p.in.get(), DropReason::kMalformed));
}

TEST_P(EspCrafted, NextHeader59IsDummy) {
  // RFC 4303 section 2.6: a TFC dummy packet is verified, then discarded.
  for (Mode mode : {Mode::kTunnel, Mode::kTransport}) {
    SaPairOptions o = opts_;
    o.mode = mode;
    auto p = pair(o);
    EXPECT_TRUE(dropped_as(craft(p, 1, esp_plain(Bytes(40, 0x5a), block(), 59)), p.in.get(),
                           DropReason::kDummy));
    EXPECT_TRUE(
        dropped_as(craft(p, 2, esp_plain({}, block(), 59)), p.in.get(), DropReason::kDummy));
    EXPECT_EQ(p.in->totals().packets, 0u);
  }
}

TEST_P(EspCrafted, TunnelNextHeaderOtherThanIpIsBadNextHeader) {
  auto p = pair(opts_);
  const Bytes pt = inner(1, 33);
  uint64_t seq = 1;
  for (uint8_t next : {0, 6, 17, 50, 58, 255}) {
    EXPECT_TRUE(dropped_as(craft(p, seq++, esp_plain(pt, block(), next)), p.in.get(),
                           DropReason::kBadNextHeader))
        << int{next};
  }
}

TEST_P(EspCrafted, InnerPacketLongerThanPayloadIsMalformed) {
  auto p = pair(opts_);
  uint64_t seq = 1;
  Bytes v4 = inner(1, 33);
  put16(v4, 2, static_cast<uint16_t>(v4.size() + 1));
  EXPECT_TRUE(
      dropped_as(craft(p, seq++, esp_plain(v4, block(), 4)), p.in.get(), DropReason::kMalformed));
  put16(v4, 2, 19);  // shorter than an IPv4 header
  EXPECT_TRUE(
      dropped_as(craft(p, seq++, esp_plain(v4, block(), 4)), p.in.get(), DropReason::kMalformed));
  Bytes v6 = inner(1, 33, true);
  put16(v6, 4, static_cast<uint16_t>(v6.size() - 40 + 1));
  EXPECT_TRUE(
      dropped_as(craft(p, seq++, esp_plain(v6, block(), 41)), p.in.get(), DropReason::kMalformed));
  // The next header and the inner version disagree.
  EXPECT_TRUE(dropped_as(craft(p, seq++, esp_plain(inner(2, 60, true), block(), 4)), p.in.get(),
                         DropReason::kMalformed));
  EXPECT_TRUE(dropped_as(craft(p, seq++, esp_plain(inner(2, 60), block(), 41)), p.in.get(),
                         DropReason::kMalformed));
  // Shorter than an IPv6 header.
  EXPECT_TRUE(dropped_as(craft(p, seq++, esp_plain(Bytes(39, 0x60), block(), 41)), p.in.get(),
                         DropReason::kMalformed));
}

std::string crafted_name(const testing::TestParamInfo<std::tuple<const char*, bool>>& info) {
  std::string n = std::get<0>(info.param);
  for (auto& c : n) {
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return n + (std::get<1>(info.param) ? "_esn" : "_seq32");
}

INSTANTIATE_TEST_SUITE_P(Suites, EspCrafted,
                         testing::Combine(testing::Values("aes128gcm16", "aes256gcm16",
                                                          "chacha20poly1305", "aes128cbc-sha256",
                                                          "aes256cbc-sha384", "aes256cbc-sha512"),
                                          testing::Bool()),
                         crafted_name);

}  // namespace
}  // namespace portcullis::esptest
