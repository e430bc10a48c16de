// daemon.h: portcullisd's core. It holds the desired state (the running
// config), keeps the data plane in that state over the dataplane channel,
// and answers the CLI (PROTOCOL.md).
//
// Threads. One thread (the "link") owns the channel: it connects and
// reconnects, pushes the full state to a data plane that has none, resyncs
// with one that kept its state while the daemon was away, reconciles after
// every change, polls counters and extends sequence leases once a second,
// and handles the data plane's events. CLI connections each have a thread;
// they change the desired state under mu_ and wait for the link to apply
// it. Only the link talks to the data plane.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "config/model.h"
#include "config/parser.h"
#include "control/api/client.h"
#include "control/daemon/ike_host.h"
#include "control/daemon/keys.h"
#include "control/daemon/store.h"

namespace portcullis::ctl::daemon {

// CliError is an operator mistake or refusal: its text is the reply's error.
struct CliError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Event {
  uint64_t seq = 0;
  std::string time, kind, severity, tunnel;
  uint32_t sa = 0;
  std::string message;
  nlohmann::json to_json() const;
};

// Sequence lease sizes: how far ahead of the last number sent the daemon
// lets an outbound manual-key SA go. ESN: a restart skips at most 2^30
// numbers, well inside the 2^31 a receiver's ESN inference tolerates.
// 32-bit: 2^26, so a key survives 64 data plane restarts.
constexpr uint64_t kLeaseEsn = 1ull << 30;
constexpr uint64_t kLease32 = 1ull << 26;

class Daemon {
 public:
  Daemon(config::Config cfg, Store store);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  void start();
  void stop();

  // handle runs one CLI command; throws CliError.
  nlohmann::json handle(const std::string& cmd, const nlohmann::json& args);

  // Events for `portcullisctl events`.
  std::vector<Event> events_after(uint64_t seq, size_t last) const;
  // wait_event blocks until an event after `seq` exists or timeout.
  bool wait_event(uint64_t seq, int timeout_ms) const;
  uint64_t last_event_seq() const;

  const config::Config& initial_config() const { return cfg_; }

 private:
  struct TunnelStatus {
    std::string state = "pending";  // up | down | expired | error | pending
    std::string error;
    std::string key_in_fp;
    bool installed = false;  // its SAs are in the data plane
    api::SaInfo out, in;
  };

  // --- link thread ---
  void link_main();
  void connect_and_sync();
  void reconcile();
  void refresh();
  void on_event(api::Message& ev);
  void remove_tunnel(const std::string& name, TunnelRecord& rec, std::vector<api::Message>* batch);
  // send_batch runs begin, msgs, commit; returns the replies to msgs.
  std::vector<api::Reply> send_batch(std::vector<api::Message> msgs);

  // --- IKE (ike_link.cc): link thread unless noted ---
  struct IkeChildRec {
    std::string tunnel;
    uint32_t sa_in = 0, sa_out = 0, spi_in = 0, spi_out = 0;
    std::vector<api::Selector> out_selectors;
    std::string suite;
  };
  void ike_pump();  // engine timers, then what the engine asked for
  void ike_datagram(const api::Punt& p);
  void ike_send(const ike::Datagram& d);
  void ike_install(const ike::ChildSa& c, bool use_outbound);
  void ike_switch(const std::string& tunnel, uint64_t child);
  void ike_remove(const std::string& tunnel, uint64_t child);
  void send_ike_batch(std::vector<api::Message> batch, const std::string& tunnel, const char* what);
  void ike_reconcile();                              // mu_ held
  std::vector<api::Message> ike_stale_removals();    // mu_ held
  nlohmann::json cmd_ike(const std::string& verb, const nlohmann::json& args);  // mu_ held
  const IkeChildRec* ike_active_child(const std::string& tunnel) const;         // mu_ held
  // ike_counters: the engine's counters and the daemon's own (not_ike).
  nlohmann::json ike_counters() const;  // mu_ held

  // --- shared, under mu_ ---
  void add_event(std::string kind, std::string severity, std::string tunnel, uint32_t sa,
                 std::string message);
  void persist_running();  // the running config, for restarts
  void request_reconcile_and_wait(std::unique_lock<std::mutex>& lock);
  bool save_store(std::string* error);
  nlohmann::json tunnel_json(const config::Tunnel& t, bool detail) const;
  nlohmann::json sa_json(const config::Tunnel& t, bool out) const;
  std::string tunnel_state(const config::Tunnel& t) const;

  // CLI commands (commands.cc), with mu_ held.
  nlohmann::json cmd_status() const;
  nlohmann::json cmd_tunnel(const std::string& verb, const nlohmann::json& args,
                            std::unique_lock<std::mutex>& lock);
  nlohmann::json cmd_route(const std::string& verb, const nlohmann::json& args,
                           std::unique_lock<std::mutex>& lock);
  nlohmann::json cmd_config(const std::string& verb, const nlohmann::json& args,
                            std::unique_lock<std::mutex>& lock);

  config::Config cfg_;  // the running config
  Store store_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;  // link wake-ups, reconcile done, events
  std::map<std::string, TunnelStatus> status_;
  std::map<uint32_t, std::pair<std::string, bool>> sa_index_;  // sa id -> tunnel, outbound
  std::vector<config::Port> installed_ports_;
  std::vector<config::Route> installed_routes_;
  std::map<std::string, uint64_t> counters_;
  std::deque<Event> events_;
  uint64_t event_seq_ = 0;
  uint64_t reconcile_wanted_ = 0, reconcile_done_ = 0;
  std::vector<std::string> reconcile_errors_;
  bool connected_ = false;
  bool fresh_ = false;  // the data plane has nothing: flush and push it all
  uint64_t syncs_ = 0;
  std::chrono::steady_clock::time_point started_, connected_since_;

  std::map<uint64_t, IkeChildRec> ike_children_;     // engine child id -> its SAs
  std::map<std::string, TunnelRecord> ike_stale_;    // SAs no live IKE SA explains
  // Punted packets that were not IKE (not UDP to port 500 or 4500, or ESP
  // on 4500); kept here, not in counters_, which refresh() replaces.
  uint64_t ike_not_ike_ = 0;
  IkeHost ike_host_;
  std::unique_ptr<ike::Engine> ike_;

  std::optional<api::Client> client_;  // link thread only
  std::atomic<bool> stopping_{false};
  std::thread link_;
};

// check_tunnel_keys reads a manual tunnel's key files, or an IKEv2
// tunnel's credentials (PSK file, or certificate, private key and CA), as
// an install would; empty, or what is wrong (never key bytes).
std::string check_tunnel_keys(const config::Tunnel& t);

// check_key_files runs check_tunnel_keys on every tunnel of `c`: one error
// per tunnel whose files fail, at the line of the failing file's key
// (`portcullisd --check`, `config.check`, `config.reload`).
std::vector<config::ConfigError> check_key_files(const config::Config& c);

// tunnel_digest names a tunnel's config and keys: a change reinstalls it.
std::string tunnel_digest(const config::Tunnel& t, const std::string& key_out_fp,
                          const std::string& key_in_fp);

}  // namespace portcullis::ctl::daemon
