#include "tests/unit/ike/engine/harness.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "control/ike/message.h"

namespace portcullis::ctl::ike::test {

namespace {

api::IpAddr addr_of(Side s) {
  return s == Side::kA ? api::IpAddr::v4(192, 0, 2, 1) : api::IpAddr::v4(192, 0, 2, 2);
}
api::Prefix net_of(Side s) {
  return *api::Prefix::parse(s == Side::kA ? "10.1.0.0/24" : "10.2.0.0/24");
}

bool same(const crypto::SecretBytes& x, const crypto::SecretBytes& y) {
  return x.span().size() == y.span().size() &&
         std::equal(x.span().begin(), x.span().end(), y.span().begin());
}

}  // namespace

// --- FakeHost -----------------------------------------------------------------

void FakeHost::install_child(const ChildSa& c, bool use_outbound) {
  if (live.count(c.id)) violations.push_back("child " + std::to_string(c.id) + " installed twice");
  live[c.id] = c;
  installed.push_back(c.id);
  if (use_outbound) outbound[c.tunnel] = c.id;
}

void FakeHost::switch_outbound(const std::string& tunnel, uint64_t child_id) {
  if (!live.count(child_id))
    violations.push_back("switch_outbound to child " + std::to_string(child_id) +
                         ", not installed");
  outbound[tunnel] = child_id;
  switches.push_back(child_id);
}

void FakeHost::remove_child(const std::string& tunnel, uint64_t child_id) {
  if (!live.erase(child_id))
    violations.push_back("remove_child of child " + std::to_string(child_id) + ", not installed");
  removed.push_back(child_id);
  auto it = outbound.find(tunnel);
  if (it != outbound.end() && it->second == child_id) outbound.erase(it);
}

void FakeHost::log(const std::string& tunnel, Severity s, const std::string& message) {
  logs.push_back({tunnel, s, message});
}

bool FakeHost::has_log(Severity s, std::initializer_list<const char*> parts) const {
  return std::any_of(logs.begin(), logs.end(), [&](const LogLine& l) {
    return l.severity >= s && std::all_of(parts.begin(), parts.end(), [&](const char* p) {
             return l.message.find(p) != std::string::npos;
           });
  });
}

std::string FakeHost::dump_logs() const {
  std::string out;
  static const char* kSev[] = {"info", "warn", "error"};
  for (const auto& l : logs)
    out += std::string("  [") + kSev[static_cast<int>(l.severity)] + "] " + l.tunnel + ": " +
           l.message + "\n";
  return out;
}

const ChildSa* FakeHost::outbound_child(const std::string& tunnel) const {
  auto it = outbound.find(tunnel);
  if (it == outbound.end()) return nullptr;
  auto c = live.find(it->second);
  return c == live.end() ? nullptr : &c->second;
}

// --- Pair ---------------------------------------------------------------------

EngineTimers fast_timers() {
  EngineTimers t;
  t.retransmit_first = std::chrono::milliseconds(40);
  t.retransmit_tries = 4;
  t.dpd_idle = std::chrono::seconds(3600);  // tests of DPD lower it
  t.retry_after_failure = std::chrono::seconds(3600);
  t.old_sa_grace = std::chrono::milliseconds(100);
  return t;
}

Pair::Pair(EngineTimers timers) : a(ha, timers), b(hb, timers) {}

void Pair::deliver(const WireRecord& r) {
  Datagram in{r.d.remote, r.d.local, r.d.data};
  engine(other(r.from)).on_datagram(in);
}

void Pair::pump() {
  for (int round = 0; round < 1000; round++) {
    bool any = false;
    for (Side s : {Side::kA, Side::kB}) {
      FakeHost& h = host(s);
      while (!h.outbox.empty()) {
        WireRecord r;
        r.from = s;
        r.d = std::move(h.outbox.front());
        h.outbox.pop_front();
        Message m;
        ParseError err;
        r.parsed = parse_message(r.d.data, m, err);
        if (r.parsed) r.header = m.header;
        wire.push_back(r);
        any = true;
        const Fate f = filter ? filter(r) : Fate::kDeliver;
        if (f == Fate::kDrop) continue;
        if (f == Fate::kHold) {
          held.push_back(r);
          continue;
        }
        deliver(r);
        if (f == Fate::kDuplicate) deliver(r);
      }
    }
    if (!any) return;
  }
  ADD_FAILURE() << "the engines kept sending to each other";
}

void Pair::step() {
  a.tick();
  b.tick();
  pump();
}

bool Pair::run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    step();
    if (done()) return true;
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void Pair::run_for(std::chrono::milliseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
    step();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void Pair::release(bool newest_first) {
  std::vector<WireRecord> h = std::move(held);
  held.clear();
  if (newest_first) std::reverse(h.begin(), h.end());
  for (const auto& r : h) deliver(r);
  pump();
}

void Pair::inject(Side to, const Bytes& data, uint16_t port) {
  engine(to).on_datagram(Datagram{{addr_of(to), port}, {addr_of(other(to)), port}, data});
  pump();
}

std::string Pair::state(Side s, const std::string& tunnel) {
  return engine(s).tunnel_state(tunnel, nullptr);
}

bool Pair::established(const std::string& tunnel) {
  return state(Side::kA, tunnel) == "up" && state(Side::kB, tunnel) == "up" &&
         ha.outbound_child(tunnel) && hb.outbound_child(tunnel);
}

// --- configuration -------------------------------------------------------------

config::Tunnel base_tunnel(Side s, Side initiator) {
  config::Tunnel t;
  t.name = "t1";
  t.local = addr_of(s);
  t.remote = addr_of(other(s));
  t.local_ts = {net_of(s)};
  t.remote_ts = {net_of(other(s))};
  t.keying = config::Keying::kIkev2;
  t.ike.initiate = s == initiator;
  return t;
}

config::Tunnel psk_tunnel(Side s, const TempDir& dir, const std::string& psk_hex, Side initiator) {
  config::Tunnel t = base_tunnel(s, initiator);
  t.ike.auth = "psk";
  t.ike.psk_file = dir.write(std::string("psk-") + name(s), psk_hex + "\n");
  return t;
}

config::Tunnel cert_tunnel(Side s, const GatewayFiles& own, const std::string& peer_dns,
                           const std::string& auth, Side initiator) {
  config::Tunnel t = base_tunnel(s, initiator);
  t.ike.auth = auth;
  t.ike.certificate = own.cert;
  t.ike.private_key = own.key;
  t.ike.ca = own.ca;
  t.ike.local_id = own.dns;
  t.ike.remote_id = peer_dns;
  return t;
}

// --- checks ----------------------------------------------------------------------

void expect_mirror(const ChildSa& x, const ChildSa& y) {
  EXPECT_EQ(x.tunnel, y.tunnel);
  EXPECT_EQ(x.spi_out, y.spi_in);
  EXPECT_EQ(x.spi_in, y.spi_out);
  EXPECT_NE(x.spi_in, x.spi_out);
  EXPECT_TRUE(x.algs == y.algs) << x.algs.suite << " vs " << y.algs.suite;
  EXPECT_TRUE(same(x.key_out, y.key_in)) << "key_out of one side is not key_in of the other";
  EXPECT_TRUE(same(x.key_in, y.key_out)) << "key_in of one side is not key_out of the other";
  EXPECT_FALSE(same(x.key_in, x.key_out)) << "both directions share a key";
  EXPECT_TRUE(same(x.integ_out, y.integ_in));
  EXPECT_TRUE(same(x.integ_in, y.integ_out));
  const auto suite_key = x.algs.encr_bits ? x.algs.encr_bits / 8 + 4u : 36u;
  EXPECT_EQ(x.key_in.span().size(), suite_key);
  EXPECT_EQ(x.udp_encap, y.udp_encap);
  EXPECT_EQ(x.local, y.remote);
  EXPECT_EQ(x.remote, y.local);
  EXPECT_EQ(x.local_ts, y.remote_ts);
  EXPECT_EQ(x.remote_ts, y.local_ts);
  EXPECT_EQ(x.transport, y.transport);
}

size_t check_all_mirrored(Pair& p) {
  size_t n = 0;
  for (const auto& kv_a : p.ha.live) {
    const ChildSa& x = kv_a.second;
    auto it = std::find_if(p.hb.live.begin(), p.hb.live.end(),
                           [&](const auto& kv) { return kv.second.spi_in == x.spi_out; });
    if (it == p.hb.live.end()) {
      ADD_FAILURE() << "A's child " << kv_a.first << " has no mirror on B";
      continue;
    }
    expect_mirror(x, it->second);
    n++;
  }
  EXPECT_EQ(n, p.hb.live.size()) << "B has children A lacks";
  return n;
}

}  // namespace portcullis::ctl::ike::test
