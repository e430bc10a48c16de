// harness.h: two IKEv2 engines wired to each other in memory, after
// wireguard-go's tests of two devices over fake binds. Each engine gets a
// FakeHost that queues what it sends and records what it asks of the data
// plane; Pair carries the datagrams across (a filter may drop, duplicate
// or hold them) and drives both engines' timers with real, short timers.
//
// Gateway A is 192.0.2.1 protecting 10.1.0.0/24, gateway B is 192.0.2.2
// protecting 10.2.0.0/24; both name their tunnel "t1".
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/model.h"
#include "control/ike/engine.h"
#include "tests/unit/ike/engine/test_pki.h"

namespace portcullis::ctl::ike::test {

enum class Side { kA, kB };
inline Side other(Side s) { return s == Side::kA ? Side::kB : Side::kA; }
inline const char* name(Side s) { return s == Side::kA ? "A" : "B"; }

struct LogLine {
  std::string tunnel;
  Severity severity;
  std::string message;
};

// FakeHost: the data plane and UDP sockets of one gateway.
class FakeHost : public EngineHost {
 public:
  void send(Datagram d) override { outbox.push_back(std::move(d)); }
  void install_child(const ChildSa& c, bool use_outbound) override;
  void switch_outbound(const std::string& tunnel, uint64_t child_id) override;
  void remove_child(const std::string& tunnel, uint64_t child_id) override;
  void log(const std::string& tunnel, Severity s, const std::string& message) override;

  // has_log: a line of at least severity `s` containing every one of `parts`.
  bool has_log(Severity s, std::initializer_list<const char*> parts) const;
  std::string dump_logs() const;
  // outbound_child: the Child SA carrying the tunnel's outbound traffic.
  const ChildSa* outbound_child(const std::string& tunnel = "t1") const;

  std::deque<Datagram> outbox;
  std::map<uint64_t, ChildSa> live;          // installed, not yet removed
  std::vector<uint64_t> installed, removed;  // every call, in order
  std::map<std::string, uint64_t> outbound;  // tunnel -> child id
  std::vector<uint64_t> switches;            // switch_outbound calls
  std::vector<LogLine> logs;
  // Broken host contract: a duplicate install, removing an unknown child,
  // switching to one not installed.
  std::vector<std::string> violations;
};

// Fate of one datagram on the wire.
enum class Fate { kDeliver, kDrop, kDuplicate, kHold };

struct WireRecord {
  Side from;
  Datagram d;
  bool parsed = false;
  Header header;
};

EngineTimers fast_timers();

class Pair {
 public:
  explicit Pair(EngineTimers timers = fast_timers());

  FakeHost& host(Side s) { return s == Side::kA ? ha : hb; }
  Engine& engine(Side s) { return s == Side::kA ? a : b; }

  // pump carries queued datagrams across until both sides are quiet.
  void pump();
  // step: one tick of each engine, then pump.
  void step();
  // run_until steps (with short sleeps) until `done` or the timeout.
  bool run_until(const std::function<bool()>& done,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void run_for(std::chrono::milliseconds d);
  // release delivers held datagrams, oldest first (or newest first).
  void release(bool newest_first = false);
  // inject hands `data` to side `to` as if sent by the other gateway from
  // `from_port` to `to_port`.
  void inject(Side to, const Bytes& data, uint16_t port = 500);

  // established: both sides report the tunnel up with a Child SA each.
  bool established(const std::string& tunnel = "t1");
  std::string state(Side s, const std::string& tunnel = "t1");

  FakeHost ha, hb;
  Engine a, b;
  std::function<Fate(const WireRecord&)> filter;
  std::vector<WireRecord> wire;  // everything sent, in order
  std::vector<WireRecord> held;

 private:
  void deliver(const WireRecord& r);
};

// --- configuration -------------------------------------------------------

// base_tunnel: side `s`'s view of tunnel t1 (addresses, selectors, keying
// ikev2, initiating only on `initiator`).
config::Tunnel base_tunnel(Side s, Side initiator = Side::kA);
// psk_tunnel: base_tunnel with auth = "psk" and a PSK file in `dir`.
config::Tunnel psk_tunnel(Side s, const TempDir& dir, const std::string& psk_hex,
                          Side initiator = Side::kA);
// cert_tunnel: base_tunnel authenticating with `own`, expecting `peer_dns`.
config::Tunnel cert_tunnel(Side s, const GatewayFiles& own, const std::string& peer_dns,
                           const std::string& auth, Side initiator = Side::kA);

inline const std::string kPsk = "00112233445566778899aabbccddeeff0123456789abcdef";

// --- checks ----------------------------------------------------------------

// expect_mirror: `x` on one side and `y` on the other are the two ends of
// one Child SA pair (SPIs, keys, algorithms, selectors, endpoints). Keys
// are compared, never printed.
void expect_mirror(const ChildSa& x, const ChildSa& y);
// mirrored_pairs: how many of A's live children have their mirror live on
// B, checking each with expect_mirror; also fails on unmatched children.
size_t check_all_mirrored(Pair& p);

}  // namespace portcullis::ctl::ike::test
