// Round trips through the ESP engine for every suite x mode x address
// family mix x ESN x UDP encapsulation, and single-byte tamper detection.
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "crypto/engine.h"
#include "dataplane/ipsec/esp_worker.h"
#include "mbuf_arena.h"
#include "packets.h"
#include "sa_pair.h"

namespace portcullis {
namespace {

using crypto::Suite;
using dp::DropReason;
using dp::Mode;
using test::SaPairOptions;

const char* kSuites[] = {"aes128gcm16",      "aes256gcm16",      "chacha20poly1305",
                         "aes128cbc-sha256", "aes256cbc-sha256", "aes128cbc-sha384",
                         "aes256cbc-sha512"};

// Topology: tunnel (inner v4/v6 x outer v4/v6) or transport (v4/v6).
struct Shape {
  Mode mode;
  bool inner_v6;
  bool outer_v6;
};
const Shape kShapes[] = {
    {Mode::kTunnel, false, false}, {Mode::kTunnel, false, true},     {Mode::kTunnel, true, false},
    {Mode::kTunnel, true, true},   {Mode::kTransport, false, false}, {Mode::kTransport, true, true},
};

using Param = std::tuple<const char*, int, bool, bool>;  // suite, shape, esn, udp

class EspRoundTrip : public testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    std::string err;
    engine_ = crypto::Engine::create(&err);
    ASSERT_TRUE(engine_) << err;
    worker_ = std::make_unique<dp::EspWorker>(*engine_);
    const auto& [suite_name, shape_idx, esn, udp] = GetParam();
    const Shape& s = kShapes[shape_idx];
    opts_.suite = *crypto::parse_suite(suite_name);
    opts_.mode = s.mode;
    opts_.inner_v6 = s.inner_v6;
    opts_.outer_v6 = s.outer_v6;
    opts_.esn = esn;
    opts_.udp = udp;
    pair_ = test::make_sa_pair(*engine_, opts_);
  }

  std::vector<uint8_t> plain(size_t payload, uint32_t seed) {
    return test::udp_packet(test::host_a(opts_.inner_v6), test::host_b(opts_.inner_v6), payload,
                            seed);
  }

  // encrypt returns the ESP packets for the given plaintexts.
  std::vector<rte_mbuf*> encrypt(const std::vector<std::vector<uint8_t>>& pts) {
    std::vector<rte_mbuf*> ms;
    for (const auto& p : pts) ms.push_back(arena_.alloc(p));
    std::vector<dp::SaOutbound*> sas(ms.size(), pair_.out.get());
    EXPECT_EQ(dp::esp_outbound_burst(*worker_, ms, sas), ms.size());
    return ms;
  }

  std::unique_ptr<crypto::Engine> engine_;
  std::unique_ptr<dp::EspWorker> worker_;
  SaPairOptions opts_;
  test::SaPair pair_;
  test::MbufArena arena_;
};

TEST_P(EspRoundTrip, EncryptThenDecryptGivesThePacketBack) {
  // Sizes around every padding boundary, and a full-size packet.
  std::vector<std::vector<uint8_t>> pts;
  for (size_t len : {0, 1, 2, 3, 13, 14, 15, 16, 17, 100, 1000, 1400}) {
    pts.push_back(plain(len, static_cast<uint32_t>(len + 1)));
  }
  auto ms = encrypt(pts);
  for (size_t i = 0; i < ms.size(); i++) {
    auto esp = test::MbufArena::bytes(ms[i]);
    ASSERT_TRUE(test::ip_packet_valid(esp)) << i;
    const bool outer_v6 = opts_.mode == Mode::kTunnel ? opts_.outer_v6 : opts_.inner_v6;
    const uint8_t proto = outer_v6 ? esp[6] : esp[9];
    EXPECT_EQ(proto, opts_.udp ? 17 : 50);
    // The plaintext payload must not appear in the clear.
    const auto& pt = pts[i];
    if (pt.size() > 40) {
      auto it = std::search(esp.begin(), esp.end(), pt.end() - 16, pt.end());
      EXPECT_EQ(it, esp.end()) << "plaintext visible in packet " << i;
    }
  }
  std::vector<dp::SaInbound*> sas(ms.size(), pair_.in.get());
  ASSERT_EQ(dp::esp_inbound_burst(*worker_, ms, sas), ms.size()) << dp::drop_reason_name(
      worker_->reasons().empty() ? DropReason::kNone : worker_->reasons()[0]);
  for (size_t i = 0; i < ms.size(); i++) {
    EXPECT_EQ(test::MbufArena::bytes(ms[i]), pts[i]) << "packet " << i;
  }
  EXPECT_EQ(pair_.out->totals().packets, pts.size());
  EXPECT_EQ(pair_.in->totals().packets, pts.size());
  EXPECT_EQ(pair_.out->next_seq.load(), pts.size() + 1);
}

TEST_P(EspRoundTrip, EverySingleByteFlipIsDetected) {
  auto pt = plain(37, 7);
  auto ms = encrypt({pt});
  const auto esp = test::MbufArena::bytes(ms[0]);
  // Bytes from the ESP header on are authenticated; the outer IP header is
  // not (RFC 4303 section 3.1). A flip there may be accepted, but in
  // tunnel mode the inner packet must be exactly the one sent, and in
  // transport mode everything after the IP header must be.
  const bool outer_v6 = opts_.mode == Mode::kTunnel ? opts_.outer_v6 : opts_.inner_v6;
  const size_t ip_len = outer_v6 ? 40 : 20;
  const size_t esp_off = ip_len + (opts_.udp ? 8 : 0);
  for (size_t pos = 0; pos < esp.size(); pos++) {
    auto bad = esp;
    bad[pos] ^= 0x01;
    rte_mbuf* m = arena_.alloc(bad);
    dp::SaInbound* sa = pair_.in.get();
    const size_t ok = dp::esp_inbound_burst(*worker_, {&m, 1}, {&sa, 1});
    if (ok == 1) {
      ASSERT_LT(pos, esp_off) << "a flip inside the ESP packet was accepted";
      const auto got = test::MbufArena::bytes(m);
      if (opts_.mode == Mode::kTunnel) {
        EXPECT_EQ(got, pt) << "flip at " << pos << " gave another packet";
      } else {
        ASSERT_EQ(got.size(), pt.size());
        EXPECT_TRUE(std::equal(got.begin() + ip_len, got.end(), pt.begin() + ip_len))
            << "flip at " << pos << " changed the payload";
      }
      pair_ = test::make_sa_pair(*engine_, opts_);  // fresh window: unreachable in practice
      ms = encrypt({pt});
    } else {
      ASSERT_EQ(worker_->reasons().size(), 1u);
    }
  }
  EXPECT_GT(worker_->drops()[DropReason::kIntegrity], 0u);
}

std::string param_name(const testing::TestParamInfo<Param>& info) {
  const auto& [suite, shape, esn, udp] = info.param;
  const Shape& s = kShapes[shape];
  std::string n = suite;
  for (auto& c : n) {
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  n += s.mode == Mode::kTunnel ? "_tunnel" : "_transport";
  n += s.inner_v6 ? "_in6" : "_in4";
  n += s.outer_v6 ? "_out6" : "_out4";
  n += esn ? "_esn" : "_seq32";
  n += udp ? "_udp" : "";
  return n;
}

INSTANTIATE_TEST_SUITE_P(All, EspRoundTrip,
                         testing::Combine(testing::ValuesIn(kSuites), testing::Range(0, 6),
                                          testing::Bool(), testing::Bool()),
                         param_name);

}  // namespace
}  // namespace portcullis
