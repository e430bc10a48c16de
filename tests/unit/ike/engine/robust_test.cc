// robust_test.cc: two engines over a bad network and through teardown
// (RFC 7296 sections 1.4, 2.1, 2.4): lost, duplicated and reordered
// messages, retransmission answered from the cached response (never
// recomputed, so no duplicate Child SA), liveness checks and a silent
// peer, DELETE of the IKE SA, a tunnel removed by configure, garbage and
// replayed messages.
#include <gtest/gtest.h>

#include <set>

#include "tests/unit/ike/engine/harness.h"
#include "tests/unit/ike/engine/test_pki.h"

namespace portcullis::ctl::ike::test {
namespace {

using std::chrono::milliseconds;

class Robust : public ::testing::Test {
 protected:
  void configure(Pair& q) {
    q.a.configure({psk_tunnel(Side::kA, dir, kPsk)}, {});
    q.b.configure({psk_tunnel(Side::kB, dir, kPsk)}, {});
  }
  void up(Pair& q) {
    configure(q);
    ASSERT_TRUE(q.run_until([&] { return q.established(); })) << logs(q);
    q.run_for(milliseconds(20));
  }
  static std::string logs(Pair& q) { return "A:\n" + q.ha.dump_logs() + "B:\n" + q.hb.dump_logs(); }
  static void expect_no_violations(Pair& q) {
    for (Side s : {Side::kA, Side::kB}) {
      EXPECT_TRUE(q.host(s).violations.empty()) << name(s) << ": " << q.host(s).violations.front();
    }
  }
  static std::set<uint32_t> spis(Pair& q) {
    std::set<uint32_t> out;
    for (const auto& [id, c] : q.ha.live) out.insert(c.spi_in);
    for (const auto& [id, c] : q.hb.live) out.insert(c.spi_in);
    return out;
  }
  // rekey_child_and_settle: a Child SA rekey from side s completes, one
  // new mirrored pair on both sides.
  static void rekey_child_and_settle(Pair& q, Side s) {
    const auto old = spis(q);
    std::string error;
    ASSERT_TRUE(q.engine(s).rekey_child("t1", error)) << error;
    ASSERT_TRUE(q.run_until(
        [&] {
          return q.ha.live.size() == 1 && q.hb.live.size() == 1 && q.established() &&
                 spis(q) != old;
        },
        milliseconds(3000)))
        << logs(q);
    EXPECT_EQ(check_all_mirrored(q), 1u);
  }
  // records: what side s sent of one exchange, requests or responses.
  static std::vector<WireRecord> records(Pair& q, Side s, Exchange ex, bool response) {
    std::vector<WireRecord> out;
    for (const auto& r : q.wire) {
      if (r.from == s && r.parsed && r.header.exchange == ex && r.header.response() == response)
        out.push_back(r);
    }
    return out;
  }

  TempDir dir;
  Pair p;
};

// The responder's IKE_AUTH response is lost once: the initiator
// retransmits, the responder sends its cached response again, and installs
// one Child SA, not two.
TEST_F(Robust, LostIkeAuthResponse) {
  int dropped = 0;
  p.filter = [&](const WireRecord& r) {
    return r.from == Side::kB && r.header.exchange == Exchange::kIkeAuth && dropped++ == 0
               ? Fate::kDrop
               : Fate::kDeliver;
  };
  up(p);
  EXPECT_EQ(dropped, 2);
  EXPECT_EQ(check_all_mirrored(p), 1u);
  EXPECT_EQ(p.hb.installed.size(), 1u);
  EXPECT_EQ(p.ha.installed.size(), 1u);
  const auto reqs = records(p, Side::kA, Exchange::kIkeAuth, false);
  const auto resps = records(p, Side::kB, Exchange::kIkeAuth, true);
  ASSERT_EQ(reqs.size(), 2u);
  ASSERT_EQ(resps.size(), 2u);
  EXPECT_EQ(reqs[0].d.data, reqs[1].d.data) << "a retransmission is the same message";
  EXPECT_EQ(resps[0].d.data, resps[1].d.data) << "the response was computed again, not resent";
  EXPECT_EQ(p.a.counters()["retransmits"], 1);
  expect_no_violations(p);
}

TEST_F(Robust, LostIkeSaInitResponse) {
  int dropped = 0;
  p.filter = [&](const WireRecord& r) {
    return r.from == Side::kB && r.header.exchange == Exchange::kIkeSaInit && dropped++ == 0
               ? Fate::kDrop
               : Fate::kDeliver;
  };
  up(p);
  const auto resps = records(p, Side::kB, Exchange::kIkeSaInit, true);
  ASSERT_EQ(resps.size(), 2u);
  EXPECT_EQ(resps[0].d.data, resps[1].d.data);
  EXPECT_EQ(p.b.counters()["ike_sas"], 1);
  EXPECT_EQ(check_all_mirrored(p), 1u);
  expect_no_violations(p);
}

// A fragmented IKE_AUTH response (RFC 7383) is lost: the retransmitted
// fragmented request must bring the cached fragments back.
TEST_F(Robust, LostFragmentedIkeAuthResponse) {
  Pki pki(dir, "lab", "p256");
  const GatewayFiles ga = pki.gateway("gwa.example", "p256", 80),
                     gb = pki.gateway("gwb.example", "p256", 80);
  p.filter = [&](const WireRecord& r) {
    return r.from == Side::kB && r.header.exchange == Exchange::kIkeAuth &&
                   p.a.counters()["retransmits"] == 0
               ? Fate::kDrop
               : Fate::kDeliver;
  };
  p.a.configure({cert_tunnel(Side::kA, ga, gb.dns, "ecdsa")}, {});
  p.b.configure({cert_tunnel(Side::kB, gb, ga.dns, "ecdsa")}, {});
  ASSERT_TRUE(p.run_until([&] { return p.established(); }, milliseconds(3000))) << logs(p);
  EXPECT_EQ(p.hb.installed.size(), 1u);
  EXPECT_EQ(check_all_mirrored(p), 1u);
  expect_no_violations(p);
}

// The CREATE_CHILD_SA response of a Child SA rekey is lost once.
TEST_F(Robust, LostCreateChildSaResponse) {
  up(p);
  int dropped = 0;
  p.filter = [&](const WireRecord& r) {
    return r.from == Side::kB && r.header.exchange == Exchange::kCreateChildSa && dropped++ == 0
               ? Fate::kDrop
               : Fate::kDeliver;
  };
  rekey_child_and_settle(p, Side::kA);
  EXPECT_EQ(p.hb.installed.size(), 2u) << "the retransmitted request made a second Child SA";
  EXPECT_EQ(p.ha.installed.size(), 2u);
  const auto resps = records(p, Side::kB, Exchange::kCreateChildSa, true);
  ASSERT_EQ(resps.size(), 2u);
  EXPECT_EQ(resps[0].d.data, resps[1].d.data);
  expect_no_violations(p);
}

// Every datagram delivered twice, through establishment, a rekey from each
// side and an IKE SA rekey.
TEST_F(Robust, DuplicatedDatagrams) {
  p.filter = [](const WireRecord&) { return Fate::kDuplicate; };
  up(p);
  EXPECT_EQ(check_all_mirrored(p), 1u);
  rekey_child_and_settle(p, Side::kA);
  rekey_child_and_settle(p, Side::kB);
  std::string error;
  ASSERT_TRUE(p.b.rekey_ike("t1", error)) << error;
  p.run_for(milliseconds(200));
  EXPECT_EQ(p.a.list().size(), 1u);
  EXPECT_EQ(p.b.list().size(), 1u);
  rekey_child_and_settle(p, Side::kA);
  EXPECT_EQ(p.ha.installed.size(), 4u);
  EXPECT_EQ(p.hb.installed.size(), 4u);
  expect_no_violations(p);
}

// A rekey request held in the network while its retransmission gets
// through, then delivered late: the late original is answered from the
// cache and changes nothing.
TEST_F(Robust, ReorderedRetransmission) {
  up(p);
  bool held = false;
  p.filter = [&](const WireRecord& r) {
    if (!held && r.from == Side::kA && r.header.exchange == Exchange::kCreateChildSa) {
      held = true;
      return Fate::kHold;
    }
    return Fate::kDeliver;
  };
  std::string error;
  ASSERT_TRUE(p.a.rekey_child("t1", error)) << error;
  ASSERT_TRUE(p.run_until([&] { return p.a.counters()["retransmits"] == 1; }, milliseconds(1000)));
  p.release();
  p.run_for(milliseconds(200));
  EXPECT_EQ(p.ha.live.size(), 1u);
  EXPECT_EQ(p.hb.live.size(), 1u);
  EXPECT_EQ(p.hb.installed.size(), 2u);
  EXPECT_EQ(check_all_mirrored(p), 1u);
  expect_no_violations(p);
}

TEST_F(Robust, LivenessCheckKeepsAnAnsweringPeer) {
  EngineTimers t = fast_timers();
  t.dpd_idle = std::chrono::seconds(1);
  Pair q(t);
  up(q);
  q.run_for(milliseconds(2600));
  EXPECT_GE(records(q, Side::kA, Exchange::kInformational, false).size(), 1u);
  EXPECT_TRUE(q.established());
  EXPECT_TRUE(q.ha.removed.empty());
  EXPECT_TRUE(q.hb.removed.empty());
  EXPECT_FALSE(q.ha.has_log(Severity::kWarn, {})) << q.ha.dump_logs();
}

// B falls silent: after dpd_idle A checks liveness, retransmits, then
// declares the IKE SA dead and removes its Child SA.
TEST_F(Robust, SilentPeerIsDeclaredDead) {
  EngineTimers t = fast_timers();
  t.dpd_idle = std::chrono::seconds(1);
  Pair q(t);
  up(q);
  q.filter = [](const WireRecord& r) { return r.from == Side::kB ? Fate::kDrop : Fate::kDeliver; };
  const auto silent_from = std::chrono::steady_clock::now();
  ASSERT_TRUE(q.run_until([&] { return q.ha.live.empty(); }, milliseconds(5000))) << logs(q);
  EXPECT_GE(std::chrono::steady_clock::now() - silent_from, milliseconds(1000));
  EXPECT_EQ(q.ha.removed.size(), 1u);
  EXPECT_TRUE(q.ha.has_log(Severity::kError, {"stopped answering"})) << q.ha.dump_logs();
  EXPECT_EQ(q.a.list().size(), 0u);
  EXPECT_NE(q.state(Side::kA), "up");
  // Every liveness check A sent was one request and its retransmissions.
  const auto checks = records(q, Side::kA, Exchange::kInformational, false);
  ASSERT_EQ(checks.size(), static_cast<size_t>(t.retransmit_tries));
  for (const auto& c : checks) EXPECT_EQ(c.d.data, checks[0].d.data);
  expect_no_violations(q);
}

// B deletes the IKE SA (restart_tunnel): both sides remove the Child SA;
// A, the initiator, connects again.
TEST_F(Robust, PeerDeletesTheIkeSa) {
  up(p);
  const uint64_t old_a = p.ha.outbound.at("t1");
  p.b.restart_tunnel("t1");
  p.pump();
  EXPECT_TRUE(p.hb.live.empty());
  EXPECT_TRUE(p.ha.live.empty()) << logs(p);
  EXPECT_EQ(p.ha.removed, std::vector<uint64_t>{old_a});
  EXPECT_TRUE(p.ha.has_log(Severity::kWarn, {"the peer deleted the IKE SA"})) << p.ha.dump_logs();
  EXPECT_EQ(p.a.list().size(), 0u);
  EXPECT_EQ(p.b.list().size(), 0u);
  ASSERT_TRUE(p.run_until([&] { return p.established(); }, milliseconds(5000))) << logs(p);
  EXPECT_EQ(check_all_mirrored(p), 1u);
  expect_no_violations(p);
}

// The initiator restarts: it deletes and connects again at once.
TEST_F(Robust, InitiatorRestarts) {
  up(p);
  p.a.restart_tunnel("t1");
  p.pump();
  EXPECT_TRUE(p.ha.live.empty());
  EXPECT_TRUE(p.hb.live.empty());
  ASSERT_TRUE(p.run_until([&] { return p.established(); }, milliseconds(3000))) << logs(p);
  EXPECT_EQ(check_all_mirrored(p), 1u);
  EXPECT_EQ(p.a.list().size(), 1u);
  EXPECT_EQ(p.b.list().size(), 1u);
  expect_no_violations(p);
}

TEST_F(Robust, ConfigureRemovingTheTunnel) {
  up(p);
  const size_t sent = p.wire.size();
  p.a.configure({}, {});
  p.pump();
  EXPECT_TRUE(p.ha.live.empty());
  EXPECT_TRUE(p.hb.live.empty());
  ASSERT_GT(p.wire.size(), sent);
  EXPECT_EQ(p.wire[sent].from, Side::kA);
  EXPECT_EQ(p.wire[sent].header.exchange, Exchange::kInformational);
  EXPECT_TRUE(p.hb.has_log(Severity::kWarn, {"the peer deleted the IKE SA"})) << p.hb.dump_logs();
  EXPECT_EQ(p.a.tunnel_state("t1", nullptr), "unknown");
  p.run_for(milliseconds(200));
  EXPECT_EQ(p.a.list().size(), 0u);
  EXPECT_EQ(p.b.list().size(), 0u);
  EXPECT_EQ(p.a.counters()["ike_sas"], 0);
  expect_no_violations(p);
}

// `tunnel down` (enabled = false) deletes the IKE SA; up again connects.
TEST_F(Robust, TunnelDownAndUp) {
  up(p);
  config::Tunnel ta = psk_tunnel(Side::kA, dir, kPsk);
  ta.enabled = false;
  p.a.configure({ta}, {});
  p.pump();
  EXPECT_TRUE(p.ha.live.empty());
  EXPECT_TRUE(p.hb.live.empty());
  EXPECT_EQ(p.a.tunnel_state("t1", nullptr), "down");
  p.run_for(milliseconds(100));
  EXPECT_EQ(p.a.list().size(), 0u);
  ta.enabled = true;
  p.a.configure({ta}, {});
  ASSERT_TRUE(p.run_until([&] { return p.established(); }, milliseconds(3000))) << logs(p);
  EXPECT_EQ(check_all_mirrored(p), 1u);
  expect_no_violations(p);
}

// Configuring the same tunnels again changes nothing.
TEST_F(Robust, ConfigureUnchangedIsANoOp) {
  up(p);
  const size_t sent = p.wire.size();
  configure(p);
  p.run_for(milliseconds(100));
  EXPECT_EQ(p.wire.size(), sent);
  EXPECT_EQ(p.ha.installed.size(), 1u);
  EXPECT_TRUE(p.established());
}

// The tunnel is removed while a request of ours is unanswered (the
// rekey's response is still on the way): the DELETE must not reuse that
// request's message id, or the peer takes it for a retransmission, sends
// the cached response again and keeps everything.
TEST_F(Robust, ConfigureRemovingWithARequestInFlight) {
  up(p);
  p.filter = [](const WireRecord& r) {
    return r.from == Side::kB && r.header.exchange == Exchange::kCreateChildSa ? Fate::kDrop
                                                                               : Fate::kDeliver;
  };
  std::string error;
  ASSERT_TRUE(p.a.rekey_child("t1", error)) << error;
  p.pump();
  ASSERT_EQ(p.hb.live.size(), 2u);
  p.filter = nullptr;
  p.a.configure({}, {});
  p.pump();
  p.run_for(milliseconds(100));
  EXPECT_TRUE(p.ha.live.empty());
  EXPECT_TRUE(p.hb.live.empty()) << logs(p);
  EXPECT_EQ(p.b.list().size(), 0u);
  expect_no_violations(p);
}

// A changed tunnel starts over with the new settings.
TEST_F(Robust, ConfigureChangingTheTunnel) {
  up(p);
  config::Tunnel ta = psk_tunnel(Side::kA, dir, kPsk), tb = psk_tunnel(Side::kB, dir, kPsk);
  ta.esp = tb.esp = "aes256gcm16";
  p.b.configure({tb}, {});
  p.a.configure({ta}, {});
  ASSERT_TRUE(p.run_until(
      [&] { return p.established() && p.ha.live.size() == 1 && p.ha.installed.size() == 2; },
      milliseconds(3000)))
      << logs(p);
  EXPECT_EQ(p.ha.live.begin()->second.algs.suite, "aes256gcm16");
  EXPECT_EQ(check_all_mirrored(p), 1u);
  expect_no_violations(p);
}

// A late copy of the IKE_SA_INIT request, after a NAT-T responder moved
// to port 4500, still belongs to its SA: no second, half-open SA.
TEST_F(Robust, LateIkeSaInitAfterNatT) {
  config::Tunnel ta = psk_tunnel(Side::kA, dir, kPsk);
  ta.udp_encap = true;
  p.a.configure({ta}, {});
  p.b.configure({psk_tunnel(Side::kB, dir, kPsk)}, {});
  ASSERT_TRUE(p.run_until([&] { return p.established(); })) << logs(p);
  const size_t sent = p.wire.size();
  p.inject(Side::kB, records(p, Side::kA, Exchange::kIkeSaInit, false).at(0).d.data, 500);
  EXPECT_EQ(p.wire.size(), sent);
  EXPECT_EQ(p.b.counters()["ike_sas"], 1);
  EXPECT_TRUE(p.established());
}

// Garbage and truncated datagrams are dropped with a log line; so is an
// encrypted message whose ICV does not verify. The SA keeps working.
TEST_F(Robust, GarbageIsDroppedAndTheSaWorks) {
  up(p);
  const Bytes real = records(p, Side::kA, Exchange::kIkeAuth, false).at(0).d.data;
  p.inject(Side::kB, Bytes(real.begin(), real.begin() + static_cast<long>(real.size() / 2)));
  p.inject(Side::kB, Bytes{0x01, 0x02, 0x03});
  p.inject(Side::kB, Bytes(300, 0xee));
  EXPECT_TRUE(p.hb.has_log(Severity::kWarn, {"malformed"})) << p.hb.dump_logs();
  EXPECT_GE(p.b.counters()["dropped"], 3);
  // A forged next request: right SPIs and message id, bad ICV.
  auto next = records(p, Side::kA, Exchange::kIkeAuth, false).at(0);
  Message m;
  ParseError err;
  ASSERT_TRUE(parse_message(next.d.data, m, err));
  m.header.exchange = Exchange::kInformational;
  m.header.message_id = 2;
  Bytes forged = serialize_message(m.header, m.payloads);
  forged[forged.size() - 1] ^= 1;
  const size_t logs_before = p.hb.logs.size();
  p.inject(Side::kB, forged);
  EXPECT_GT(p.hb.logs.size(), logs_before);
  EXPECT_TRUE(p.hb.has_log(Severity::kWarn, {"dropped"})) << p.hb.dump_logs();
  EXPECT_EQ(p.hb.live.size(), 1u);
  rekey_child_and_settle(p, Side::kA);
  rekey_child_and_settle(p, Side::kB);
  expect_no_violations(p);
}

// Old messages sent again by an attacker: a request older than the last
// one is ignored (no answer); the last one is answered from the cache,
// byte for byte, changing nothing; an old response is ignored.
TEST_F(Robust, ReplayedMessagesAreIgnored) {
  up(p);
  rekey_child_and_settle(p, Side::kA);
  p.run_for(milliseconds(150));  // the old SAs' grace ends
  const auto installed_b = p.hb.installed, installed_a = p.ha.installed;
  const auto live_b = p.hb.live.size();
  const auto auth_req = records(p, Side::kA, Exchange::kIkeAuth, false).at(0);
  const auto rekey_req = records(p, Side::kA, Exchange::kCreateChildSa, false).at(0);
  const auto auth_resp = records(p, Side::kB, Exchange::kIkeAuth, true).at(0);
  const auto last_req = records(p, Side::kA, Exchange::kInformational, false).back();
  const auto last_resp = records(p, Side::kB, Exchange::kInformational, true).back();
  ASSERT_EQ(last_req.header.message_id, 3u);

  size_t sent = p.wire.size();
  p.inject(Side::kB, auth_req.d.data);
  p.inject(Side::kB, rekey_req.d.data);
  EXPECT_EQ(p.wire.size(), sent) << "B answered a replayed old request";
  p.inject(Side::kA, auth_resp.d.data);
  EXPECT_EQ(p.wire.size(), sent) << "A reacted to a replayed old response";
  p.inject(Side::kB, last_req.d.data);
  ASSERT_EQ(p.wire.size(), sent + 1);
  EXPECT_EQ(p.wire.back().d.data, last_resp.d.data);
  // The cached answer went to A, which has no request in flight: ignored.
  EXPECT_EQ(p.hb.installed, installed_b);
  EXPECT_EQ(p.ha.installed, installed_a);
  EXPECT_EQ(p.hb.live.size(), live_b);
  EXPECT_TRUE(p.established());
  rekey_child_and_settle(p, Side::kB);
  rekey_child_and_settle(p, Side::kA);
  expect_no_violations(p);
}

}  // namespace
}  // namespace portcullis::ctl::ike::test
