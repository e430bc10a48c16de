// establish_test.cc: IKE_SA_INIT and IKE_AUTH between two engines (RFC
// 7296 sections 1.2, 2.6, 2.15, 2.23): each way of authenticating, each
// role, NAT-T, the INVALID_KE_PAYLOAD and COOKIE retries, and the ways it
// must fail (wrong key, untrusted certificate, no common proposal) without
// installing anything.
#include <gtest/gtest.h>

#include "control/ike/ike_sa.h"
#include "tests/unit/ike/engine/harness.h"

namespace portcullis::ctl::ike::test {
namespace {

using std::chrono::milliseconds;

// The codec's name for a notify type, as the engine logs it.
const char* nn(NotifyType t) { return notify_name(static_cast<uint16_t>(t)); }

class Establish : public ::testing::Test {
 protected:
  void configure(const config::Tunnel& ta, const config::Tunnel& tb,
                 const config::CryptoPolicy& pa = {}, const config::CryptoPolicy& pb = {}) {
    p.a.configure({ta}, pa);
    p.b.configure({tb}, pb);
  }
  void expect_up() {
    ASSERT_TRUE(p.run_until([&] { return p.established(); }, milliseconds(8000)))
        << "A:\n"
        << p.ha.dump_logs() << "B:\n"
        << p.hb.dump_logs();
    // Let anything left in flight settle, then check both data planes.
    p.run_for(milliseconds(60));
    EXPECT_EQ(check_all_mirrored(p), 1u);
    EXPECT_EQ(p.ha.installed.size(), 1u);
    EXPECT_EQ(p.hb.installed.size(), 1u);
    EXPECT_TRUE(p.ha.removed.empty());
    EXPECT_TRUE(p.hb.removed.empty());
    EXPECT_TRUE(p.ha.violations.empty()) << p.ha.violations.front();
    EXPECT_TRUE(p.hb.violations.empty()) << p.hb.violations.front();
    for (Side s : {Side::kA, Side::kB}) {
      EXPECT_TRUE(p.host(s).has_log(Severity::kInfo, {"IKE SA established"}))
          << p.host(s).dump_logs();
      EXPECT_FALSE(p.host(s).has_log(Severity::kWarn, {})) << p.host(s).dump_logs();
    }
  }
  // ike_proposal: the "proposal" of side s's one IKE SA, from list().
  std::string ike_proposal(Side s) {
    const auto l = p.engine(s).list();
    return l.size() == 1 ? l[0]["proposal"].get<std::string>()
                         : "(" + std::to_string(l.size()) + " IKE SAs)";
  }
  // requests: how many IKE_SA_INIT requests side s put on the wire.
  size_t init_requests(Side s) {
    size_t n = 0;
    for (const auto& r : p.wire)
      n += r.from == s && r.parsed && r.header.exchange == Exchange::kIkeSaInit &&
           !r.header.response();
    return n;
  }
  // expect_nothing_installed: after a failure neither side ever had a
  // Child SA in its data plane.
  void expect_nothing_installed() {
    p.run_for(milliseconds(300));
    EXPECT_TRUE(p.ha.installed.empty()) << p.ha.dump_logs();
    EXPECT_TRUE(p.hb.installed.empty()) << p.hb.dump_logs();
    EXPECT_TRUE(p.ha.live.empty());
    EXPECT_TRUE(p.hb.live.empty());
    EXPECT_NE(p.state(Side::kA), "up");
    EXPECT_NE(p.state(Side::kB), "up");
  }

  TempDir dir;
  Pair p;
};

TEST_F(Establish, PskWithAInitiating) {
  configure(psk_tunnel(Side::kA, dir, kPsk), psk_tunnel(Side::kB, dir, kPsk));
  expect_up();
  EXPECT_EQ(ike_proposal(Side::kA), "aes128gcm16-prfsha256-ecp256");
  EXPECT_EQ(ike_proposal(Side::kB), "aes128gcm16-prfsha256-ecp256");
  EXPECT_EQ(p.engine(Side::kA).list()[0]["role"], "initiator");
  EXPECT_EQ(p.engine(Side::kB).list()[0]["role"], "responder");
  const ChildSa& c = p.ha.live.begin()->second;
  EXPECT_EQ(c.algs.suite, "aes128gcm16");
  EXPECT_TRUE(c.algs.esn);
  EXPECT_FALSE(c.udp_encap);
  EXPECT_EQ(c.local_ts, std::vector<api::Prefix>{*api::Prefix::parse("10.1.0.0/24")});
  EXPECT_EQ(c.remote_ts, std::vector<api::Prefix>{*api::Prefix::parse("10.2.0.0/24")});
  EXPECT_EQ(init_requests(Side::kA), 1u);
  EXPECT_EQ(init_requests(Side::kB), 0u);
  // Only IKE_SA_INIT and IKE_AUTH crossed, on port 500.
  for (const auto& r : p.wire) {
    EXPECT_TRUE(r.parsed);
    EXPECT_EQ(r.d.local.port, 500);
    EXPECT_EQ(r.d.remote.port, 500);
    EXPECT_TRUE(r.header.exchange == Exchange::kIkeSaInit ||
                r.header.exchange == Exchange::kIkeAuth);
  }
  EXPECT_EQ(p.wire.size(), 4u);
}

TEST_F(Establish, PskWithBInitiating) {
  configure(psk_tunnel(Side::kA, dir, kPsk, Side::kB), psk_tunnel(Side::kB, dir, kPsk, Side::kB));
  expect_up();
  EXPECT_EQ(p.engine(Side::kB).list()[0]["role"], "initiator");
  EXPECT_EQ(p.engine(Side::kA).list()[0]["role"], "responder");
  EXPECT_EQ(init_requests(Side::kB), 1u);
  EXPECT_EQ(init_requests(Side::kA), 0u);
}

// ike.initiate defaults to true: two gateways configured alike both
// initiate, and their IKE_SA_INIT requests cross. One IKE SA must result,
// the same on both sides, with one Child SA pair.
TEST_F(Establish, BothInitiate) {
  for (int round = 0; round < 8; round++) {
    SCOPED_TRACE("round " + std::to_string(round));
    Pair q;
    config::Tunnel ta = psk_tunnel(Side::kA, dir, kPsk), tb = psk_tunnel(Side::kB, dir, kPsk);
    ta.ike.initiate = tb.ike.initiate = true;
    q.a.configure({ta}, {});
    q.b.configure({tb}, {});
    ASSERT_TRUE(q.run_until([&] { return q.established(); }, milliseconds(5000)))
        << q.ha.dump_logs() << q.hb.dump_logs();
    q.run_for(milliseconds(300));
    const auto la = q.a.list(), lb = q.b.list();
    ASSERT_EQ(la.size(), 1u) << la.dump() << q.ha.dump_logs();
    ASSERT_EQ(lb.size(), 1u) << lb.dump() << q.hb.dump_logs();
    EXPECT_EQ(la[0]["spi_i"], lb[0]["spi_i"]);
    EXPECT_EQ(la[0]["spi_r"], lb[0]["spi_r"]);
    EXPECT_EQ(check_all_mirrored(q), 1u);
    EXPECT_TRUE(q.established());
    EXPECT_TRUE(q.ha.violations.empty());
    EXPECT_TRUE(q.hb.violations.empty());
    if (HasFailure()) break;
  }
}

TEST_F(Establish, EcdsaP256Certificates) {
  Pki pki(dir, "lab", "p256");
  const GatewayFiles ga = pki.gateway("gwa.example", "p256"),
                     gb = pki.gateway("gwb.example", "p256");
  configure(cert_tunnel(Side::kA, ga, gb.dns, "ecdsa"), cert_tunnel(Side::kB, gb, ga.dns, "ecdsa"));
  expect_up();
  EXPECT_TRUE(p.ha.has_log(Severity::kInfo, {"IKE SA established", "gwb.example"}))
      << p.ha.dump_logs();
  EXPECT_TRUE(p.hb.has_log(Severity::kInfo, {"IKE SA established", "gwa.example"}))
      << p.hb.dump_logs();
}

TEST_F(Establish, EcdsaP384CertificatesWithPrime256) {
  Pki pki(dir, "lab384", "p384");
  const GatewayFiles ga = pki.gateway("gwa.example", "p384"),
                     gb = pki.gateway("gwb.example", "p384");
  config::CryptoPolicy prime256;
  prime256.profile = "prime-256";
  config::Tunnel ta = cert_tunnel(Side::kA, ga, gb.dns, "ecdsa"),
                 tb = cert_tunnel(Side::kB, gb, ga.dns, "ecdsa");
  ta.esp = tb.esp = "aes256gcm16";
  configure(ta, tb, prime256, prime256);
  expect_up();
  EXPECT_EQ(ike_proposal(Side::kA), "aes256gcm16-prfsha384-ecp384");
  EXPECT_EQ(ike_proposal(Side::kB), "aes256gcm16-prfsha384-ecp384");
  EXPECT_EQ(p.ha.live.begin()->second.algs.suite, "aes256gcm16");
  EXPECT_EQ(p.ha.live.begin()->second.key_out.span().size(), 36u);
}

TEST_F(Establish, Ed25519WithCurve25519AndChacha) {
  Pki pki(dir, "labed", "ed25519");
  const GatewayFiles ga = pki.gateway("gwa.example", "ed25519"),
                     gb = pki.gateway("gwb.example", "ed25519");
  config::CryptoPolicy allow;
  allow.allow = {"ed25519", "curve25519", "chacha20poly1305"};
  config::Tunnel ta = cert_tunnel(Side::kA, ga, gb.dns, "ed25519"),
                 tb = cert_tunnel(Side::kB, gb, ga.dns, "ed25519");
  ta.esp = tb.esp = "chacha20poly1305";
  ta.ike.proposal = tb.ike.proposal = "chacha20poly1305-prfsha256-curve25519";
  configure(ta, tb, allow, allow);
  expect_up();
  EXPECT_EQ(ike_proposal(Side::kA), "chacha20poly1305-prfsha256-curve25519");
  EXPECT_EQ(p.ha.live.begin()->second.algs.suite, "chacha20poly1305");
  EXPECT_EQ(p.ha.live.begin()->second.key_out.span().size(), 36u);
}

// Certificates with many names make IKE_AUTH larger than a fragment:
// both sides announced RFC 7383 support, so it travels in SKF fragments.
TEST_F(Establish, FragmentedIkeAuth) {
  Pki pki(dir, "lab", "p256");
  const GatewayFiles ga = pki.gateway("gwa.example", "p256", 80),
                     gb = pki.gateway("gwb.example", "p256", 80);
  configure(cert_tunnel(Side::kA, ga, gb.dns, "ecdsa"), cert_tunnel(Side::kB, gb, ga.dns, "ecdsa"));
  expect_up();
  size_t fragments_a = 0, fragments_b = 0;
  for (const auto& r : p.wire) {
    Message m;
    ParseError err;
    ASSERT_TRUE(parse_message(r.d.data, m, err));
    if (m.find<SkfPayload>() == nullptr) continue;
    EXPECT_EQ(r.header.exchange, Exchange::kIkeAuth);
    EXPECT_LE(r.d.data.size(), 1200u);
    (r.from == Side::kA ? fragments_a : fragments_b)++;
  }
  EXPECT_GE(fragments_a, 2u);
  EXPECT_GE(fragments_b, 2u);
}

// udp_encap on one side fakes a NAT (section 2.23): both sides move IKE
// to port 4500 and put ESP in UDP.
TEST_F(Establish, ForcedNatTraversal) {
  config::Tunnel ta = psk_tunnel(Side::kA, dir, kPsk);
  ta.udp_encap = true;
  configure(ta, psk_tunnel(Side::kB, dir, kPsk));
  expect_up();
  for (const auto& [id, c] : p.ha.live) {
    EXPECT_TRUE(c.udp_encap);
    EXPECT_EQ(c.local.port, 4500);
    EXPECT_EQ(c.remote.port, 4500);
  }
  for (const auto& [id, c] : p.hb.live) {
    EXPECT_TRUE(c.udp_encap);
    EXPECT_EQ(c.local.port, 4500);
    EXPECT_EQ(c.remote.port, 4500);
  }
  for (const auto& r : p.wire) {
    const uint16_t want = r.header.exchange == Exchange::kIkeSaInit ? 500 : 4500;
    EXPECT_EQ(r.d.local.port, want) << name(r.from) << " sent " << int(r.header.exchange);
    EXPECT_EQ(r.d.remote.port, want) << name(r.from) << " sent " << int(r.header.exchange);
  }
  EXPECT_EQ(p.engine(Side::kA).list()[0]["nat_t"], true);
  EXPECT_EQ(p.engine(Side::kB).list()[0]["nat_t"], true);
}

// prime-256 offers ecp384 first with an ecp384 KE; a "prime" responder
// takes only ecp256 and asks for it (section 1.2); the retry succeeds.
TEST_F(Establish, InvalidKePayloadRetry) {
  config::CryptoPolicy prime256;
  prime256.profile = "prime-256";
  configure(psk_tunnel(Side::kA, dir, kPsk), psk_tunnel(Side::kB, dir, kPsk), prime256, {});
  expect_up();
  EXPECT_EQ(ike_proposal(Side::kA), "aes128gcm16-prfsha256-ecp256");
  EXPECT_EQ(init_requests(Side::kA), 2u);
  // The first answer was INVALID_KE_PAYLOAD naming group 19.
  const WireRecord* first = nullptr;
  for (const auto& r : p.wire) {
    if (r.from == Side::kB && r.header.exchange == Exchange::kIkeSaInit) {
      first = &r;
      break;
    }
  }
  ASSERT_NE(first, nullptr);
  Message m;
  ParseError err;
  ASSERT_TRUE(parse_message(first->d.data, m, err));
  const NotifyPayload* n = m.find_notify(NotifyType::kInvalidKePayload);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->data, (Bytes{0, 19}));
}

TEST_F(Establish, CookieChallenge) {
  IkeSa::set_half_open_limit(p.b, 0);
  configure(psk_tunnel(Side::kA, dir, kPsk), psk_tunnel(Side::kB, dir, kPsk));
  expect_up();
  ASSERT_EQ(init_requests(Side::kA), 2u);
  std::vector<const WireRecord*> reqs;
  for (const auto& r : p.wire) {
    if (r.from == Side::kA && r.header.exchange == Exchange::kIkeSaInit) reqs.push_back(&r);
  }
  Message m0, m1;
  ParseError err;
  ASSERT_TRUE(parse_message(reqs[0]->d.data, m0, err));
  ASSERT_TRUE(parse_message(reqs[1]->d.data, m1, err));
  EXPECT_EQ(m0.find_notify(NotifyType::kCookie), nullptr);
  ASSERT_NE(m1.find_notify(NotifyType::kCookie), nullptr);
  // Section 2.6: the retry carries the same SPI and nonce.
  EXPECT_EQ(m0.header.spi_i, m1.header.spi_i);
  ASSERT_NE(m1.find<NoncePayload>(), nullptr);
  EXPECT_EQ(m0.find<NoncePayload>()->data, m1.find<NoncePayload>()->data);
}

// Both retries in one negotiation: a cookie first, then the group.
TEST_F(Establish, CookieThenInvalidKePayload) {
  IkeSa::set_half_open_limit(p.b, 0);
  config::CryptoPolicy prime256;
  prime256.profile = "prime-256";
  configure(psk_tunnel(Side::kA, dir, kPsk), psk_tunnel(Side::kB, dir, kPsk), prime256, {});
  expect_up();
  EXPECT_EQ(init_requests(Side::kA), 3u);
  EXPECT_EQ(ike_proposal(Side::kA), "aes128gcm16-prfsha256-ecp256");
}

// A wrong cookie is answered with a fresh cookie request, never an SA.
TEST_F(Establish, ForgedCookieIsNotAccepted) {
  IkeSa::set_half_open_limit(p.b, 0);
  configure(psk_tunnel(Side::kA, dir, kPsk), psk_tunnel(Side::kB, dir, kPsk));
  p.filter = [](const WireRecord& r) {
    return r.from == Side::kA && r.header.exchange == Exchange::kIkeSaInit ? Fate::kHold
                                                                           : Fate::kDeliver;
  };
  p.run_until([&] { return !p.held.empty(); });
  // B's answers stay on the wire, where this test reads them.
  p.filter = [](const WireRecord& r) { return r.from == Side::kB ? Fate::kHold : Fate::kDeliver; };
  Message m;
  ParseError err;
  ASSERT_TRUE(parse_message(p.held[0].d.data, m, err));
  NotifyPayload forged;
  forged.type = static_cast<uint16_t>(NotifyType::kCookie);
  forged.data = Bytes(32, 0x5a);
  m.payloads.insert(m.payloads.begin(), forged);
  p.held.clear();
  const size_t before = p.wire.size();
  p.inject(Side::kB, serialize_message(m.header, m.payloads));
  ASSERT_EQ(p.wire.size(), before + 1);
  Message reply;
  ASSERT_TRUE(parse_message(p.wire.back().d.data, reply, err));
  ASSERT_NE(reply.find_notify(NotifyType::kCookie), nullptr);
  EXPECT_NE(reply.find_notify(NotifyType::kCookie)->data, forged.data);
  EXPECT_EQ(reply.header.spi_r, 0u);
  EXPECT_EQ(p.engine(Side::kB).counters()["ike_sas"], 0);
}

TEST_F(Establish, WrongPskInstallsNothing) {
  configure(psk_tunnel(Side::kA, dir, kPsk),
            psk_tunnel(Side::kB, dir, "ffeeddccbbaa99887766554433221100"));
  p.run_until(
      [&] { return p.ha.has_log(Severity::kError, {}) && p.hb.has_log(Severity::kError, {}); },
      milliseconds(3000));
  expect_nothing_installed();
  EXPECT_TRUE(p.hb.has_log(Severity::kError, {"pre-shared key mismatch"})) << p.hb.dump_logs();
  EXPECT_TRUE(p.ha.has_log(Severity::kError,
                           {"refused our authentication", nn(NotifyType::kAuthenticationFailed)}))
      << p.ha.dump_logs();
  EXPECT_EQ(p.engine(Side::kA).counters()["auth_failed"], 1);
  EXPECT_EQ(p.engine(Side::kB).counters()["auth_failed"], 1);
  // The key is never logged.
  for (Side s : {Side::kA, Side::kB}) {
    for (const auto& l : p.host(s).logs) {
      EXPECT_EQ(l.message.find("ffeeddcc"), std::string::npos);
      EXPECT_EQ(l.message.find("00112233"), std::string::npos);
    }
  }
  std::string error;
  EXPECT_EQ(p.engine(Side::kA).tunnel_state("t1", &error), "connecting");
  EXPECT_NE(error.find(nn(NotifyType::kAuthenticationFailed)), std::string::npos) << error;
}

// The responder does not trust the initiator's certificate.
TEST_F(Establish, ResponderRefusesUntrustedCertificate) {
  Pki lab(dir, "lab", "p256"), rogue(dir, "rogue", "p256");
  const GatewayFiles ga = rogue.gateway("gwa.example", "p256"),
                     gb = lab.gateway("gwb.example", "p256");
  GatewayFiles ga_trusting_lab = ga;
  ga_trusting_lab.ca = lab.ca_path();
  configure(cert_tunnel(Side::kA, ga_trusting_lab, gb.dns, "ecdsa"),
            cert_tunnel(Side::kB, gb, ga.dns, "ecdsa"));
  p.run_until(
      [&] { return p.ha.has_log(Severity::kError, {}) && p.hb.has_log(Severity::kError, {}); },
      milliseconds(3000));
  expect_nothing_installed();
  EXPECT_TRUE(p.hb.has_log(Severity::kError, {"gwa.example", "is not trusted"}))
      << p.hb.dump_logs();
  EXPECT_TRUE(p.ha.has_log(Severity::kError, {nn(NotifyType::kAuthenticationFailed)}))
      << p.ha.dump_logs();
}

// The initiator does not trust the responder's certificate: the
// responder has already installed its Child SA when it learns that, from
// the initiator's AUTHENTICATION_FAILED (section 2.21.2).
TEST_F(Establish, InitiatorRefusesUntrustedCertificate) {
  Pki lab(dir, "lab", "p256"), rogue(dir, "rogue", "p256");
  const GatewayFiles ga = lab.gateway("gwa.example", "p256"),
                     gb = rogue.gateway("gwb.example", "p256");
  GatewayFiles gb_trusting_lab = gb;
  gb_trusting_lab.ca = lab.ca_path();
  configure(cert_tunnel(Side::kA, ga, gb.dns, "ecdsa"),
            cert_tunnel(Side::kB, gb_trusting_lab, ga.dns, "ecdsa"));
  p.run_until(
      [&] { return p.ha.has_log(Severity::kError, {}) && p.hb.has_log(Severity::kError, {}); },
      milliseconds(3000));
  p.run_for(milliseconds(300));
  EXPECT_TRUE(p.ha.has_log(Severity::kError, {"gwb.example", "is not trusted"}))
      << p.ha.dump_logs();
  EXPECT_TRUE(p.hb.has_log(Severity::kError, {nn(NotifyType::kAuthenticationFailed)}))
      << p.hb.dump_logs();
  EXPECT_TRUE(p.ha.installed.empty());
  EXPECT_TRUE(p.ha.live.empty());
  EXPECT_TRUE(p.hb.live.empty()) << "B kept a Child SA the initiator never accepted";
  EXPECT_NE(p.state(Side::kB), "up");
  EXPECT_EQ(p.engine(Side::kB).list().size(), 0u);
}

TEST_F(Establish, IkeProposalMismatch) {
  config::Tunnel ta = psk_tunnel(Side::kA, dir, kPsk);
  ta.ike.proposal = "aes256gcm16-prfsha384-ecp384";
  configure(ta, psk_tunnel(Side::kB, dir, kPsk));
  p.run_until(
      [&] { return p.ha.has_log(Severity::kError, {}) && p.hb.has_log(Severity::kError, {}); },
      milliseconds(3000));
  expect_nothing_installed();
  EXPECT_TRUE(p.ha.has_log(Severity::kError,
                           {nn(NotifyType::kNoProposalChosen), "aes256gcm16-prfsha384-ecp384"}))
      << p.ha.dump_logs();
  EXPECT_TRUE(p.hb.has_log(Severity::kError, {"no proposal chosen", "aes256gcm16-prfsha384-ecp384",
                                              "aes128gcm16-prfsha256-ecp256"}))
      << p.hb.dump_logs();
  EXPECT_EQ(p.engine(Side::kB).counters()["ike_sas"], 0);
}

// The IKE SA comes up but the ESP proposals differ: no Child SA, and the
// initiator closes the IKE SA it has no use for.
TEST_F(Establish, EspProposalMismatch) {
  config::Tunnel ta = psk_tunnel(Side::kA, dir, kPsk);
  ta.esp = "aes256gcm16";
  configure(ta, psk_tunnel(Side::kB, dir, kPsk));
  p.run_until(
      [&] { return p.ha.has_log(Severity::kError, {}) && p.hb.has_log(Severity::kError, {}); },
      milliseconds(3000));
  expect_nothing_installed();
  EXPECT_TRUE(p.ha.has_log(Severity::kError, {nn(NotifyType::kNoProposalChosen)}))
      << p.ha.dump_logs();
  EXPECT_TRUE(p.hb.has_log(Severity::kError, {"no ESP proposal matches", "aes256gcm16"}))
      << p.hb.dump_logs();
  EXPECT_EQ(p.engine(Side::kA).list().size(), 0u);
  EXPECT_EQ(p.engine(Side::kB).list().size(), 0u)
      << "the responder kept an IKE SA without a Child SA";
}

TEST_F(Establish, TrafficSelectorMismatch) {
  config::Tunnel tb = psk_tunnel(Side::kB, dir, kPsk);
  tb.remote_ts = {*api::Prefix::parse("10.9.0.0/24")};
  configure(psk_tunnel(Side::kA, dir, kPsk), tb);
  p.run_until(
      [&] { return p.ha.has_log(Severity::kError, {}) && p.hb.has_log(Severity::kError, {}); },
      milliseconds(3000));
  expect_nothing_installed();
  EXPECT_TRUE(p.ha.has_log(Severity::kError, {nn(NotifyType::kTsUnacceptable)}))
      << p.ha.dump_logs();
  EXPECT_TRUE(p.hb.has_log(Severity::kError, {"traffic selectors", "10.1.0.0/24"}))
      << p.hb.dump_logs();
}

// A responder narrows to the intersection (section 2.9); both data planes
// get the narrowed selectors.
TEST_F(Establish, NarrowedTrafficSelectors) {
  config::Tunnel tb = psk_tunnel(Side::kB, dir, kPsk);
  tb.remote_ts = {*api::Prefix::parse("10.1.0.0/25")};
  configure(psk_tunnel(Side::kA, dir, kPsk), tb);
  expect_up();
  EXPECT_EQ(p.ha.live.begin()->second.local_ts,
            std::vector<api::Prefix>{*api::Prefix::parse("10.1.0.0/25")});
}

TEST_F(Establish, TransportMode) {
  config::Tunnel ta = psk_tunnel(Side::kA, dir, kPsk), tb = psk_tunnel(Side::kB, dir, kPsk);
  ta.mode = tb.mode = api::Mode::kTransport;
  ta.local_ts = tb.remote_ts = {*api::Prefix::parse("192.0.2.1/32")};
  ta.remote_ts = tb.local_ts = {*api::Prefix::parse("192.0.2.2/32")};
  configure(ta, tb);
  expect_up();
  EXPECT_TRUE(p.ha.live.begin()->second.transport);
}

TEST_F(Establish, ModeMismatch) {
  config::Tunnel ta = psk_tunnel(Side::kA, dir, kPsk);
  ta.mode = api::Mode::kTransport;
  configure(ta, psk_tunnel(Side::kB, dir, kPsk));
  p.run_until(
      [&] { return p.ha.has_log(Severity::kError, {}) && p.hb.has_log(Severity::kError, {}); },
      milliseconds(3000));
  expect_nothing_installed();
  EXPECT_TRUE(p.hb.has_log(Severity::kError, {"mode mismatch"})) << p.hb.dump_logs();
}

// B expects another identity than the one A's certificate proves.
TEST_F(Establish, UnexpectedIdentity) {
  Pki pki(dir, "lab", "p256");
  const GatewayFiles ga = pki.gateway("gwa.example", "p256"),
                     gb = pki.gateway("gwb.example", "p256");
  configure(cert_tunnel(Side::kA, ga, gb.dns, "ecdsa"),
            cert_tunnel(Side::kB, gb, "gwz.example", "ecdsa"));
  p.run_until(
      [&] { return p.ha.has_log(Severity::kError, {}) && p.hb.has_log(Severity::kError, {}); },
      milliseconds(3000));
  expect_nothing_installed();
  EXPECT_TRUE(p.hb.has_log(Severity::kError, {"gwa.example"})) << p.hb.dump_logs();
  EXPECT_TRUE(p.ha.has_log(Severity::kError, {nn(NotifyType::kAuthenticationFailed)}))
      << p.ha.dump_logs();
}

TEST_F(Establish, UnreadablePskFileIsAConfigError) {
  config::Tunnel ta = psk_tunnel(Side::kA, dir, kPsk);
  ta.ike.psk_file = dir.path() + "/absent";
  configure(ta, psk_tunnel(Side::kB, dir, kPsk));
  p.run_for(milliseconds(100));
  std::string error;
  EXPECT_EQ(p.engine(Side::kA).tunnel_state("t1", &error), "error");
  EXPECT_NE(error.find("absent"), std::string::npos) << error;
  EXPECT_TRUE(p.wire.empty());
}

}  // namespace
}  // namespace portcullis::ctl::ike::test
