// rekey_test.cc: CREATE_CHILD_SA between two engines (RFC 7296 sections
// 1.3, 2.8, 2.8.1, 2.18): a Child SA rekey is make-before-break (the rekey
// initiator moves its outbound traffic at once, the responder when the
// old SA's DELETE arrives, both keep the old inbound SA for the grace
// period); an IKE SA rekey keeps the Child SAs; simultaneous Child SA
// rekeys leave one new pair on both sides.
#include <gtest/gtest.h>

#include <set>

#include "tests/unit/ike/engine/harness.h"

namespace portcullis::ctl::ike::test {
namespace {

using std::chrono::milliseconds;

// Up: a PSK tunnel between A (initiating) and B, established.
class Up : public ::testing::Test {
 protected:
  void SetUp() override {
    p.a.configure({psk_tunnel(Side::kA, dir, kPsk)}, {});
    p.b.configure({psk_tunnel(Side::kB, dir, kPsk)}, {});
    ASSERT_TRUE(p.run_until([&] { return p.established(); }))
        << p.ha.dump_logs() << p.hb.dump_logs();
    p.run_for(milliseconds(20));
  }
  void TearDown() override {
    for (Side s : {Side::kA, Side::kB}) {
      EXPECT_TRUE(p.host(s).violations.empty()) << name(s) << ": " << p.host(s).violations.front();
      EXPECT_FALSE(p.host(s).has_log(Severity::kWarn, {})) << name(s) << ":\n"
                                                           << p.host(s).dump_logs();
    }
  }
  std::string logs() { return "A:\n" + p.ha.dump_logs() + "B:\n" + p.hb.dump_logs(); }
  // settled: each side has exactly one Child SA, the one it sends on.
  bool settled() {
    return p.ha.live.size() == 1 && p.hb.live.size() == 1 && p.ha.outbound_child() &&
           p.hb.outbound_child();
  }
  // rekey_child asks side s for a Child SA rekey and checks the answer.
  void rekey_child(Side s) {
    std::string error;
    ASSERT_TRUE(p.engine(s).rekey_child("t1", error)) << error;
  }
  // expect_one_pair: one Child SA per side, outbound on it, mirrored, and
  // not one of `old`.
  void expect_one_new_pair(const std::set<uint32_t>& old_spis) {
    ASSERT_TRUE(settled()) << logs();
    EXPECT_EQ(check_all_mirrored(p), 1u);
    EXPECT_EQ(p.ha.outbound_child()->id, p.ha.live.begin()->first);
    EXPECT_EQ(p.hb.outbound_child()->id, p.hb.live.begin()->first);
    EXPECT_EQ(old_spis.count(p.ha.live.begin()->second.spi_in), 0u);
    EXPECT_EQ(old_spis.count(p.hb.live.begin()->second.spi_in), 0u);
  }
  std::set<uint32_t> spis() {
    std::set<uint32_t> out;
    for (const auto& [id, c] : p.ha.live) out.insert(c.spi_in);
    for (const auto& [id, c] : p.hb.live) out.insert(c.spi_in);
    return out;
  }

  TempDir dir;
  Pair p;
};

class Rekey : public Up, public ::testing::WithParamInterface<Side> {};

TEST_P(Rekey, ChildSaMakeBeforeBreak) {
  const Side ini = GetParam(), resp = other(ini);
  FakeHost &hi = p.host(ini), &hr = p.host(resp);
  const uint64_t old_i = hi.outbound.at("t1"), old_r = hr.outbound.at("t1");
  const auto old_spis = spis();
  // Hold the rekey initiator's INFORMATIONAL (the DELETE of the old SA).
  p.filter = [&](const WireRecord& r) {
    return r.from == ini && r.header.exchange == Exchange::kInformational && !r.header.response()
               ? Fate::kHold
               : Fate::kDeliver;
  };
  rekey_child(ini);
  p.pump();
  ASSERT_EQ(p.held.size(), 1u) << logs();
  // Both sides have the new pair; only the initiator sends on it.
  ASSERT_EQ(hi.live.size(), 2u);
  ASSERT_EQ(hr.live.size(), 2u);
  const ChildSa* new_i = hi.outbound_child();
  ASSERT_NE(new_i, nullptr);
  EXPECT_NE(new_i->id, old_i);
  EXPECT_EQ(hr.outbound.at("t1"), old_r) << "the responder moved before the DELETE";
  const ChildSa* new_r = nullptr;
  for (const auto& [id, c] : hr.live) {
    if (id != old_r) new_r = &c;
  }
  ASSERT_NE(new_r, nullptr);
  expect_mirror(*new_i, *new_r);
  const uint64_t new_r_id = new_r->id;
  EXPECT_TRUE(hr.switches.empty());
  EXPECT_NE(new_i->algs.dh, 0) << "a rekey without PFS";

  p.filter = nullptr;
  p.release();
  // The DELETE moved the responder; both keep the old inbound SA a while.
  EXPECT_EQ(hr.outbound.at("t1"), new_r_id);
  EXPECT_EQ(hr.switches, std::vector<uint64_t>{new_r_id});
  EXPECT_EQ(hi.live.size(), 2u);
  EXPECT_EQ(hr.live.size(), 2u);
  const auto deleted_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(p.run_until([&] { return settled(); }, milliseconds(2000))) << logs();
  EXPECT_GE(std::chrono::steady_clock::now() - deleted_at, milliseconds(90));
  EXPECT_EQ(hi.removed, std::vector<uint64_t>{old_i});
  EXPECT_EQ(hr.removed, std::vector<uint64_t>{old_r});
  expect_one_new_pair(old_spis);
  EXPECT_TRUE(hi.switches.empty()) << "the initiator installed with use_outbound, no switch needed";

  // And again from the other side, on the new pair.
  const auto mid_spis = spis();
  rekey_child(resp);
  ASSERT_TRUE(p.run_until([&] { return settled() && spis() != mid_spis; }, milliseconds(2000)))
      << logs();
  expect_one_new_pair(mid_spis);
}

TEST_P(Rekey, IkeSaKeepsItsChildren) {
  const Side ini = GetParam();
  const auto before_a = p.a.list(), before_b = p.b.list();
  const auto children_a = p.ha.live.size(), installs_a = p.ha.installed.size();
  std::string error;
  ASSERT_TRUE(p.engine(ini).rekey_ike("t1", error)) << error;
  auto rekeyed = [&] {
    const auto la = p.a.list(), lb = p.b.list();
    return la.size() == 1 && lb.size() == 1 && la[0]["spi_i"] != before_a[0]["spi_i"] &&
           lb[0]["spi_i"] == la[0]["spi_i"] && lb[0]["spi_r"] == la[0]["spi_r"] &&
           p.a.counters()["ike_sas"] == 1 && p.b.counters()["ike_sas"] == 1;
  };
  ASSERT_TRUE(p.run_until(rekeyed, milliseconds(2000)))
      << logs() << p.a.list().dump() << p.b.list().dump();
  // The rekey initiator is the new SA's original initiator (section 2.18).
  EXPECT_EQ(p.engine(ini).list()[0]["role"], "initiator");
  EXPECT_EQ(p.engine(other(ini)).list()[0]["role"], "responder");
  EXPECT_EQ(p.a.list()[0]["state"], "established");
  EXPECT_EQ(p.a.list()[0]["children"].size(), 1u);
  EXPECT_EQ(p.b.list()[0]["children"].size(), 1u);
  EXPECT_EQ(p.ha.live.size(), children_a);
  EXPECT_EQ(p.ha.installed.size(), installs_a);
  EXPECT_TRUE(p.ha.removed.empty());
  EXPECT_TRUE(p.hb.removed.empty());
  EXPECT_EQ(p.state(Side::kA), "up");
  EXPECT_EQ(p.state(Side::kB), "up");
  // The new IKE SA works: a Child SA rekey from each side over it, and a
  // second IKE rekey.
  for (Side s : {ini, other(ini)}) {
    const auto old = spis();
    rekey_child(s);
    ASSERT_TRUE(p.run_until([&] { return settled() && spis() != old; }, milliseconds(2000)))
        << logs();
    expect_one_new_pair(old);
  }
  const auto second = p.a.list();
  ASSERT_TRUE(p.engine(other(ini)).rekey_ike("t1", error)) << error;
  ASSERT_TRUE(p.run_until(
      [&] {
        const auto la = p.a.list(), lb = p.b.list();
        return la.size() == 1 && lb.size() == 1 && la[0]["spi_i"] != second[0]["spi_i"] &&
               lb[0]["spi_i"] == la[0]["spi_i"];
      },
      milliseconds(2000)))
      << logs();
  const auto old = spis();
  rekey_child(ini);
  ASSERT_TRUE(p.run_until([&] { return settled() && spis() != old; }, milliseconds(2000)))
      << logs();
  expect_one_new_pair(old);
}

// The data plane's soft expiry event for a Child SA starts its rekey.
TEST_P(Rekey, ChildExpiringStartsARekey) {
  const Side s = GetParam();
  const auto old = spis();
  p.engine(s).child_expiring("t1", p.host(s).outbound_child()->spi_in, false);
  ASSERT_TRUE(p.run_until([&] { return settled() && spis() != old; }, milliseconds(2000)))
      << logs();
  expect_one_new_pair(old);
  // The outbound SPI names it as well; so does a hard expiry (with a warning).
  const auto mid = spis();
  p.engine(s).child_expiring("t1", p.host(s).outbound_child()->spi_out, false);
  ASSERT_TRUE(p.run_until([&] { return settled() && spis() != mid; }, milliseconds(2000)))
      << logs();
  expect_one_new_pair(mid);
  // An unknown SPI changes nothing.
  const size_t sent = p.wire.size();
  p.engine(s).child_expiring("t1", 0x1234, false);
  p.engine(s).child_expiring("nope", p.host(s).outbound_child()->spi_in, false);
  p.run_for(milliseconds(50));
  EXPECT_EQ(p.wire.size(), sent);
}

// The response to the old IKE SA's DELETE after an IKE SA rekey is lost:
// the peer has already dropped that SA. The rekey initiator must let it go
// without declaring the peer dead, and the new SA carries on.
TEST_P(Rekey, LostResponseToTheOldIkeSasDelete) {
  const Side ini = GetParam();
  const auto before = p.a.list();
  p.filter = [&](const WireRecord& r) {
    return r.from == other(ini) && r.header.exchange == Exchange::kInformational &&
                   r.header.response()
               ? Fate::kDrop
               : Fate::kDeliver;
  };
  std::string error;
  ASSERT_TRUE(p.engine(ini).rekey_ike("t1", error)) << error;
  // Long enough for every retransmission of the DELETE (40 ms doubling, 4 tries).
  p.run_for(milliseconds(900));
  p.filter = nullptr;
  EXPECT_EQ(p.a.counters()["ike_sas"], 1) << p.a.list().dump();
  EXPECT_EQ(p.b.counters()["ike_sas"], 1) << p.b.list().dump();
  ASSERT_EQ(p.a.list().size(), 1u);
  EXPECT_NE(p.a.list()[0]["spi_i"], before[0]["spi_i"]);
  EXPECT_TRUE(p.established());
  EXPECT_TRUE(p.ha.removed.empty());
  EXPECT_TRUE(p.hb.removed.empty());
  const auto old = spis();
  rekey_child(other(ini));
  ASSERT_TRUE(p.run_until([&] { return settled() && spis() != old; }, milliseconds(2000)))
      << logs();
  expect_one_new_pair(old);
}

// The old IKE SA's DELETE never arrives after an IKE SA rekey: the peer
// must not keep the rekeyed-away SA forever.
TEST_P(Rekey, OldIkeSaDeleteNeverArrives) {
  const Side ini = GetParam();
  const uint64_t old_spi_i = std::stoull(p.a.list()[0]["spi_i"].get<std::string>(), nullptr, 16);
  p.filter = [&](const WireRecord& r) {
    return r.from == ini && r.header.spi_i == old_spi_i &&
                   r.header.exchange == Exchange::kInformational
               ? Fate::kDrop
               : Fate::kDeliver;
  };
  std::string error;
  ASSERT_TRUE(p.engine(ini).rekey_ike("t1", error)) << error;
  // 40 ms doubling over 4 tries is 600 ms of retransmissions.
  ASSERT_TRUE(
      p.run_until([&] { return p.a.counters()["ike_sas"] == 1 && p.b.counters()["ike_sas"] == 1; },
                  milliseconds(3000)))
      << p.a.list().dump() << p.b.list().dump();
  EXPECT_NE(p.a.list()[0]["spi_i"], std::to_string(old_spi_i));
  EXPECT_TRUE(p.established());
  EXPECT_TRUE(p.ha.removed.empty());
  EXPECT_TRUE(p.hb.removed.empty());
  const auto old = spis();
  rekey_child(other(ini));
  ASSERT_TRUE(p.run_until([&] { return settled() && spis() != old; }, milliseconds(2000)))
      << logs();
  expect_one_new_pair(old);
}

INSTANTIATE_TEST_SUITE_P(FromEitherSide, Rekey, ::testing::Values(Side::kA, Side::kB),
                         [](const auto& info) { return std::string(name(info.param)); });

// Both sides start a Child SA rekey at once (section 2.8.1): the SA with
// the lowest nonce is redundant; in the end one new pair survives, the
// same on both sides. Repeated, so that each side wins sometimes.
using Collision = Up;

TEST_F(Collision, SimultaneousChildRekeys) {
  std::set<std::string> winners;
  for (int round = 0; round < 12; round++) {
    SCOPED_TRACE("round " + std::to_string(round));
    const auto old = spis();
    const uint64_t old_a = p.ha.outbound.at("t1");
    rekey_child(Side::kA);
    rekey_child(Side::kB);
    p.pump();
    ASSERT_TRUE(p.run_until([&] { return settled() && spis() != old; }, milliseconds(2000)))
        << logs();
    p.run_for(milliseconds(150));  // nothing more happens afterwards
    expect_one_new_pair(old);
    // Which side's exchange made the survivor: A initiated it if A
    // installed it with use_outbound (no switch_outbound since).
    const uint64_t now_a = p.ha.outbound.at("t1");
    winners.insert(
        std::find(p.ha.switches.begin(), p.ha.switches.end(), now_a) == p.ha.switches.end() ? "A"
                                                                                            : "B");
    EXPECT_NE(now_a, old_a);
    // It was a collision, and exactly one side found its SA redundant.
    size_t redundant = 0;
    for (Side s : {Side::kA, Side::kB}) {
      for (const auto& l : p.host(s).logs)
        redundant += l.message.find("ours is redundant") != std::string::npos;
    }
    EXPECT_EQ(redundant, static_cast<size_t>(round + 1)) << logs();
    if (HasFatalFailure() || HasFailure()) break;
  }
  // 12 rounds, each side winning with probability 1/2.
  EXPECT_EQ(winners.size(), 2u);
}

}  // namespace
}  // namespace portcullis::ctl::ike::test

namespace portcullis::ctl::ike::test {
namespace {

// Both sides rekey the IKE SA at once. Each refuses the other's with
// TEMPORARY_FAILURE while its own is in flight and tries again a few
// seconds later, at random; in the end one new IKE SA carries the Child
// SA on both sides.
TEST_F(Collision, SimultaneousIkeRekeys) {
  const auto before = p.a.list();
  std::string error;
  ASSERT_TRUE(p.a.rekey_ike("t1", error)) << error;
  ASSERT_TRUE(p.b.rekey_ike("t1", error)) << error;
  ASSERT_TRUE(p.run_until(
      [&] {
        const auto la = p.a.list(), lb = p.b.list();
        return la.size() == 1 && lb.size() == 1 && la[0]["spi_i"] != before[0]["spi_i"] &&
               lb[0]["spi_i"] == la[0]["spi_i"] && lb[0]["spi_r"] == la[0]["spi_r"] &&
               p.a.counters()["ike_sas"] == 1 && p.b.counters()["ike_sas"] == 1;
      },
      milliseconds(20000)))
      << logs();
  EXPECT_TRUE(p.established());
  EXPECT_TRUE(p.ha.removed.empty());
  EXPECT_TRUE(p.hb.removed.empty());
  EXPECT_FALSE(p.ha.has_log(Severity::kError, {})) << p.ha.dump_logs();
  EXPECT_FALSE(p.hb.has_log(Severity::kError, {})) << p.hb.dump_logs();
}

// A's DELETE of the old Child SA after a rekey is still unanswered when
// B rekeys the IKE SA: the children move to the new IKE SA, and so must
// that DELETE, or the old Child SA stays forever (A) and B never moves
// its outbound traffic to the new one.
TEST_F(Collision, IkeRekeyWhileAChildDeleteIsInFlight) {
  const auto old = spis();
  bool hold = true;
  p.filter = [&](const WireRecord& r) {
    return hold && r.from == Side::kA && r.header.exchange == Exchange::kInformational &&
                   !r.header.response()
               ? Fate::kHold
               : Fate::kDeliver;
  };
  rekey_child(Side::kA);
  p.pump();
  ASSERT_EQ(p.held.size(), 1u) << logs();
  std::string error;
  ASSERT_TRUE(p.b.rekey_ike("t1", error)) << error;
  p.pump();
  hold = false;
  p.release();
  ASSERT_TRUE(p.run_until([&] { return settled() && spis() != old; }, milliseconds(3000)))
      << logs();
  p.run_for(milliseconds(300));
  expect_one_new_pair(old);
  EXPECT_EQ(p.a.list().size(), 1u);
  EXPECT_EQ(p.b.list().size(), 1u);
}

// A rekeys the Child SA while B rekeys the IKE SA: each refuses the
// other with TEMPORARY_FAILURE and tries again shortly; both complete.
TEST_F(Collision, ChildRekeyMeetsIkeRekey) {
  const auto before = p.a.list();
  const auto old = spis();
  std::string error;
  ASSERT_TRUE(p.a.rekey_child("t1", error)) << error;
  ASSERT_TRUE(p.b.rekey_ike("t1", error)) << error;
  ASSERT_TRUE(p.run_until(
      [&] {
        const auto la = p.a.list(), lb = p.b.list();
        return settled() && spis() != old && la.size() == 1 && lb.size() == 1 &&
               la[0]["spi_i"] != before[0]["spi_i"] && lb[0]["spi_i"] == la[0]["spi_i"];
      },
      milliseconds(20000)))
      << logs();
  expect_one_new_pair(old);
  EXPECT_FALSE(p.ha.has_log(Severity::kError, {})) << p.ha.dump_logs();
  EXPECT_FALSE(p.hb.has_log(Severity::kError, {})) << p.hb.dump_logs();
}

// Lifetimes of one second: both sides rekey on their own timers, often
// together. Whatever happens, each settles on one mirrored pair.
TEST(Lifetimes, ChildSasRekeyOnTheirOwn) {
  TempDir dir;
  Pair p;
  config::Tunnel ta = psk_tunnel(Side::kA, dir, kPsk), tb = psk_tunnel(Side::kB, dir, kPsk);
  ta.lifetime.soft_seconds = tb.lifetime.soft_seconds = 1;
  ta.lifetime.hard_seconds = tb.lifetime.hard_seconds = 2;
  p.a.configure({ta}, {});
  p.b.configure({tb}, {});
  ASSERT_TRUE(p.run_until([&] { return p.established(); }));
  p.run_for(std::chrono::milliseconds(4500));
  EXPECT_GE(p.ha.installed.size(), 4u);
  ASSERT_TRUE(
      p.run_until([&] { return p.ha.live.size() == 1 && p.hb.live.size() == 1 && p.established(); },
                  std::chrono::milliseconds(3000)))
      << p.ha.dump_logs() << p.hb.dump_logs();
  EXPECT_EQ(check_all_mirrored(p), 1u);
  for (Side s : {Side::kA, Side::kB}) {
    EXPECT_TRUE(p.host(s).violations.empty()) << p.host(s).violations.front();
    EXPECT_FALSE(p.host(s).has_log(Severity::kWarn, {})) << name(s) << ":\n"
                                                         << p.host(s).dump_logs();
    // Every Child SA ever installed was removed again, except the live one.
    EXPECT_EQ(p.host(s).installed.size(), p.host(s).removed.size() + 1);
  }
}

// A's IKE SA lifetime is two seconds (B's the default day): A rekeys the
// IKE SA on its own timer, again and again; the Child SA stays.
TEST(Lifetimes, IkeSaRekeysOnItsOwn) {
  TempDir dir;
  Pair p;
  config::Tunnel ta = psk_tunnel(Side::kA, dir, kPsk);
  ta.ike.ike_lifetime_seconds = 2;
  p.a.configure({ta}, {});
  p.b.configure({psk_tunnel(Side::kB, dir, kPsk)}, {});
  ASSERT_TRUE(p.run_until([&] { return p.established(); }));
  std::set<std::string> spis;
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(4500);
  while (std::chrono::steady_clock::now() < end) {
    p.run_for(std::chrono::milliseconds(50));
    for (const auto& sa : p.a.list()) spis.insert(sa["spi_i"].get<std::string>());
  }
  EXPECT_GE(spis.size(), 3u) << "expected at least two IKE SA rekeys";
  ASSERT_TRUE(p.run_until([&] { return p.a.list().size() == 1 && p.b.list().size() == 1; }));
  EXPECT_EQ(p.a.list()[0]["spi_i"], p.b.list()[0]["spi_i"]);
  EXPECT_EQ(p.ha.installed.size(), 1u);
  EXPECT_TRUE(p.ha.removed.empty());
  EXPECT_TRUE(p.hb.removed.empty());
  EXPECT_TRUE(p.established());
  for (Side s : {Side::kA, Side::kB}) {
    EXPECT_FALSE(p.host(s).has_log(Severity::kWarn, {})) << name(s) << ":\n"
                                                         << p.host(s).dump_logs();
  }
}

// NAT-T: Child SAs made by rekeys, before and after an IKE SA rekey, stay
// in UDP on port 4500, and so does IKE.
TEST(NatT, RekeysKeepUdpEncapsulation) {
  TempDir dir;
  Pair p;
  config::Tunnel ta = psk_tunnel(Side::kA, dir, kPsk);
  ta.udp_encap = true;
  p.a.configure({ta}, {});
  p.b.configure({psk_tunnel(Side::kB, dir, kPsk)}, {});
  ASSERT_TRUE(p.run_until([&] { return p.established(); }));
  std::string error;
  auto settle = [&](const std::set<uint64_t>& before) {
    return p.run_until([&] {
      return p.ha.live.size() == 1 && p.hb.live.size() == 1 && p.established() &&
             before.count(p.ha.live.begin()->first) == 0;
    });
  };
  ASSERT_TRUE(p.b.rekey_child("t1", error)) << error;
  ASSERT_TRUE(settle({p.ha.outbound.at("t1")}));
  ASSERT_TRUE(p.b.rekey_ike("t1", error)) << error;
  p.run_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(p.a.rekey_child("t1", error)) << error;
  ASSERT_TRUE(settle({p.ha.outbound.at("t1")}));
  EXPECT_EQ(check_all_mirrored(p), 1u);
  EXPECT_EQ(p.ha.installed.size(), 3u);
  for (Side s : {Side::kA, Side::kB}) {
    for (const auto& kv : p.host(s).live) {
      EXPECT_TRUE(kv.second.udp_encap);
      EXPECT_EQ(kv.second.local.port, 4500);
      EXPECT_EQ(kv.second.remote.port, 4500);
    }
    EXPECT_EQ(p.engine(s).list()[0]["nat_t"], true);
  }
  for (const auto& r : p.wire) {
    if (r.header.exchange == Exchange::kIkeSaInit) continue;
    EXPECT_EQ(r.d.local.port, 4500);
    EXPECT_EQ(r.d.remote.port, 4500);
  }
}

}  // namespace
}  // namespace portcullis::ctl::ike::test
