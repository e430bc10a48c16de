// engine.h: portcullisd's IKEv2 engine (RFC 7296). It owns every IKE SA,
// negotiates and rekeys Child SAs for the tunnels with keying = "ikev2",
// and does no I/O itself: datagrams come in through on_datagram, time
// through tick, and everything it wants done (send a datagram, install or
// remove a Child SA, log) goes out through an EngineHost. That keeps the
// protocol testable with two engines wired to each other in memory, and
// leaves threads and the data plane channel to the daemon.
//
// Locking: one mutex; every public method takes it, and host callbacks
// run with it held, so a host must not call back into the engine.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/model.h"
#include "control/api/message.h"
#include "control/ike/message.h"
#include "control/ike/proposal.h"

namespace portcullis::ctl::ike {

using Clock = std::chrono::steady_clock;

struct Endpoint {
  api::IpAddr addr;
  uint16_t port = 500;
  bool operator==(const Endpoint&) const = default;
  std::string str() const;
};

// Datagram: one IKE message and its UDP endpoints. On port 4500 the
// four-byte non-ESP marker (RFC 3948 section 2.2) is NOT part of `data`:
// the host adds and strips it.
struct Datagram {
  Endpoint local, remote;
  Bytes data;
};

// ChildSa: one negotiated Child SA pair, as the data plane needs it.
struct ChildSa {
  uint64_t id = 0;  // unique within the engine
  std::string tunnel;
  uint32_t spi_in = 0, spi_out = 0;
  EspAlgs algs;
  crypto::SecretBytes key_in, key_out;      // cipher key | salt
  crypto::SecretBytes integ_in, integ_out;  // CBC suites only
  bool udp_encap = false;
  Endpoint local, remote;  // outer addresses and, with udp_encap, ports
  std::vector<api::Prefix> local_ts, remote_ts;
  bool transport = false;
};

enum class Severity { kInfo, kWarn, kError };

class EngineHost {
 public:
  virtual ~EngineHost() = default;
  virtual void send(Datagram d) = 0;
  // install_child puts a Child SA pair into the data plane. With
  // `use_outbound` the tunnel's outbound policies then move to it (the
  // daemon swaps old policies for new in one transaction, after the SAs
  // are in); else they stay on the current SA until switch_outbound (the
  // rekey responder waits for the old SA's DELETE, section 2.8).
  virtual void install_child(const ChildSa& c, bool use_outbound) = 0;
  virtual void switch_outbound(const std::string& tunnel, uint64_t child_id) = 0;
  virtual void remove_child(const std::string& tunnel, uint64_t child_id) = 0;
  virtual void log(const std::string& tunnel, Severity s, const std::string& message) = 0;
};

// Timings. Retransmission: 1 s doubling to 5 tries (about 31 s), then the
// IKE SA is declared dead; a liveness check is sent after kDpdIdle of
// silence from the peer.
struct EngineTimers {
  std::chrono::milliseconds retransmit_first{1000};
  int retransmit_tries = 5;
  std::chrono::seconds dpd_idle{30};
  std::chrono::seconds retry_after_failure{10};
  std::chrono::milliseconds old_sa_grace{2000};
  // Rekey at the soft lifetime minus up to this fraction of it, at random
  // (so both sides rarely start together).
  double jitter = 0.1;
};

class IkeSa;

// check_credentials opens a keying = "ikev2" tunnel's PSK file, or its
// certificate, private key and CA, and parses its identities, as the
// engine does when it takes the tunnel on (`portcullisd --check`,
// `config check|reload`, `tunnel add`). Empty, or what is wrong (a file
// name and the reason, never key bytes).
std::string check_credentials(const config::Tunnel& t);

class Engine {
 public:
  explicit Engine(EngineHost& host, EngineTimers timers = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // configure replaces the set of IKE tunnels (those with keying ikev2).
  // New initiating tunnels start negotiating; removed or disabled ones are
  // torn down (DELETE sent, Child SAs removed); changed ones restart.
  // Credentials (PSK, certificate, key, CA) are loaded here; a tunnel
  // whose files fail is left in state "error" with the reason.
  void configure(const std::vector<config::Tunnel>& tunnels, const config::CryptoPolicy& policy);

  void on_datagram(const Datagram& d);
  void tick();

  // Operator actions; false with `error` if the tunnel is not an IKE
  // tunnel or has no IKE SA.
  bool rekey_child(const std::string& tunnel, std::string& error);
  bool rekey_ike(const std::string& tunnel, std::string& error);
  // child_expiring: the data plane's soft event for a Child SA (by its
  // SPI) starts a rekey now.
  void child_expiring(const std::string& tunnel, uint32_t spi, bool hard);
  // restart_tunnel: tear down and negotiate again (data plane lost state).
  void restart_tunnel(const std::string& tunnel);

  // status: one object per IKE SA (for `portcullisctl ike list|show`) and
  // the state of each tunnel: "established", "connecting", "error",...
  nlohmann::json list() const;
  std::string tunnel_state(const std::string& tunnel, std::string* error) const;
  nlohmann::json counters() const;

 private:
  friend class IkeSa;
  struct TunnelCtx;
  struct Counters {
    uint64_t rx = 0, tx = 0, dropped = 0, retransmits = 0, established = 0, auth_failed = 0, child_sas = 0,
             rekeys = 0;
  };

  IkeSa* find_sa(uint64_t spi_i, uint64_t spi_r, bool we_initiated) const;
  void start_initiator(TunnelCtx& t);
  void respond_init(const Datagram& d, const Message& m);
  void remove_sa(IkeSa* sa);
  TunnelCtx* find_tunnel(const std::string& name);

  EngineHost& host_;
  EngineTimers timers_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<TunnelCtx>> tunnels_;
  std::vector<std::unique_ptr<IkeSa>> sas_;
  config::CryptoPolicy policy_;
  uint64_t next_child_id_ = 1;
  Counters counters_;
  // Cookies (section 2.6): a secret that changes every few minutes, and
  // the number of half-open SAs above which requests need one.
  Bytes cookie_secret_, cookie_secret_old_;
  Clock::time_point cookie_rotated_;
  size_t half_open_limit_ = 64;
};

}  // namespace portcullis::ctl::ike
