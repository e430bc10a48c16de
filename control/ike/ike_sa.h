// ike_sa.h: one IKE SA and the exchanges it runs (engine-internal).
//
//   ike_sa.cc     sending and receiving: message ids, windows of one,
//                 retransmission, the Encrypted payload, fragments,
//                 timers (sections 2.1-2.4, RFC 7383)
//   ike_auth.cc   IKE_SA_INIT and IKE_AUTH, both roles (1.2, 2.15, 2.23)
//   ike_child.cc  CREATE_CHILD_SA (Child SA and IKE SA rekey, 1.3, 2.8)
//                 and INFORMATIONAL (DELETE, liveness, 1.4)
//
// The original initiator and responder fix the SPI order, the I flag and
// which keys encrypt (SK_ei/SK_er). Each side also starts its own
// requests, one at a time (window size 1, section 2.3): `pending_` is ours
// in flight, `tasks_` what waits for it.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control/ike/auth.h"
#include "control/ike/crypto.h"
#include "control/ike/engine.h"
#include "control/ike/sk.h"
#include "control/ike/ts.h"

namespace portcullis::ctl::ike {

// Credentials: what a tunnel authenticates with and expects.
struct Credentials {
  crypto::SecretBytes psk;
  std::unique_ptr<PrivateKey> key;
  std::unique_ptr<Certificate> cert;
  std::unique_ptr<TrustStore> trust;
  IdPayload local_id;
  std::optional<IdPayload> remote_id;  // nullopt: any identity the credentials prove
  std::string remote_id_text;
};

struct Engine::TunnelCtx {
  config::Tunnel cfg;
  std::vector<IkeAlgs> ike_algs;
  EspAlgs esp;
  std::unique_ptr<Credentials> creds;
  std::string error;  // configuration problem: nothing negotiates
  std::string last_failure;
  IkeSa* sa = nullptr;  // the IKE SA that carries this tunnel
  Clock::time_point retry_at{};
  bool removed = false;
};

// load_credentials reads a tunnel's PSK or certificate, key and CA.
std::unique_ptr<Credentials> load_credentials(const config::Tunnel& t, std::string& error);
// id_matches: the peer's ID against a configured identity (DNs compared
// as X.509 names, so "CN=a, O=b" matches whatever string types the peer
// encoded).
bool id_matches(const IdPayload& expected, const IdPayload& got);
std::string id_text(const IdPayload& id);
// nat_hash: SHA-1(SPIi | SPIr | IP | port), section 2.23.
Bytes nat_hash(uint64_t spi_i, uint64_t spi_r, const Endpoint& e);
// random_child_spi: a fresh inbound ESP SPI above the IANA-reserved 1..255
// (RFC 4303 section 2.1).
uint32_t random_child_spi();

class IkeSa {
 public:
  enum class State { kInitSent, kAuthSent, kInitDone, kEstablished, kDeleting, kDead };
  enum class Task { kRekeyChild, kRekeyIke, kDeleteChild, kDeleteIke, kDpd };

  struct Child {
    uint64_t id = 0;
    uint32_t spi_in = 0, spi_out = 0;
    EspAlgs algs;
    std::vector<TrafficSelector> ts_local, ts_remote;
    Clock::time_point created{}, rekey_at{};
    bool rekeying = false;  // a rekey of it is in flight (ours)
    // Set when the peer rekeyed it while ours was in flight (2.8.1).
    uint64_t peer_replacement = 0;
    Bytes peer_nonce_min;  // the lower nonce of the peer's exchange
    bool deleting = false;
    Clock::time_point remove_at{};  // old SA kept this long after its DELETE
    bool outbound_active = false;
  };

  IkeSa(Engine& e, bool initiator, Endpoint local, Endpoint remote);
  ~IkeSa();

  // Initiator: start IKE_SA_INIT for `t`.
  void start(Engine::TunnelCtx& t);
  // Responder: answer an IKE_SA_INIT request (already parsed).
  void respond_init(const Bytes& wire, const Message& m);
  // receive: a message for this SA (routed by SPI).
  void receive(const Datagram& d, const Message& m);
  void tick(Clock::time_point now);
  void add_task(Task t, uint64_t child = 0);
  // abandon: mark dead without a word to the peer; children removed.
  void abandon(const std::string& why);
  // close: DELETE the IKE SA (orderly), children removed.
  void close(const std::string& why);

  State state() const { return state_; }
  bool initiator() const { return initiator_; }
  uint64_t local_spi() const { return initiator_ ? spi_i_ : spi_r_; }
  uint64_t spi_i() const { return spi_i_; }
  uint64_t spi_r() const { return spi_r_; }
  Engine::TunnelCtx* tunnel() const { return tunnel_; }
  const std::vector<Child>& children() const { return children_; }
  nlohmann::json to_json() const;
  bool half_open() const { return state_ == State::kInitDone; }
  const Endpoint& remote() const { return remote_; }
  uint64_t init_spi_for_retransmit() const { return spi_i_; }

  // set_half_open_limit: a test hook (tests/unit/ike/engine) for the
  // number of half-open SAs above which IKE_SA_INIT needs a cookie; here
  // because Engine befriends IkeSa only.
  static void set_half_open_limit(Engine& e, size_t n) {
    std::lock_guard lock(e.mu_);
    e.half_open_limit_ = n;
  }

 private:
  friend class Engine;
  using Handler = std::function<void(const Message& header, const std::vector<Payload>& inner)>;
  struct Pending {
    uint32_t id = 0;
    Exchange exchange = Exchange::kInformational;
    std::vector<Bytes> wire;
    int tries = 0;
    Clock::time_point next{};
    Handler on_response;
    bool plain = false;  // IKE_SA_INIT: not encrypted
  };
  struct ChildRekey {
    uint64_t old_child = 0;  // 0: a new Child SA, not a rekey
    uint32_t spi_in = 0;
    Bytes ni;
    std::unique_ptr<DhKey> dh;
    EspAlgs algs;
  };
  struct IkeRekey {
    uint64_t spi = 0;
    Bytes ni;
    std::unique_ptr<DhKey> dh;
    std::vector<IkeAlgs> offered;
  };

  // ike_sa.cc
  Engine::TunnelCtx* tunnel_ = nullptr;
  void send_request(Exchange ex, const std::vector<Payload>& payloads, Handler on_response);
  void send_response(const Message& req, const std::vector<Payload>& payloads);
  void send_plain_response(const Message& req, const std::vector<Payload>& payloads);
  void send_wire(const std::vector<Bytes>& wire);
  void send_notify_error(const Message& req, NotifyType type, const Bytes& data = {});
  std::vector<Bytes> seal(Exchange ex, uint32_t id, bool response, const std::vector<Payload>& payloads);
  bool open(const Datagram& d, const Message& m, std::vector<Payload>& inner);
  void run_tasks();
  void established(Clock::time_point now);
  void fail(const std::string& why, bool retry);
  void log(Severity s, const std::string& msg) const;
  // rekey_time: now + seconds * (fraction - a random share of jitter).
  Clock::time_point rekey_time(uint64_t seconds, double fraction) const;
  ByteSpan sk_e_out() const { return initiator_ ? keys_.sk_ei.span() : keys_.sk_er.span(); }
  ByteSpan sk_e_in() const { return initiator_ ? keys_.sk_er.span() : keys_.sk_ei.span(); }

  // ike_auth.cc
  void send_init();
  void on_init_response(const Message& m, const Bytes& wire);
  void retry_init_with(const Message& m);
  void send_auth();
  void on_auth_response(const Message& m, const std::vector<Payload>& inner);
  void on_auth_request(const Message& m, const std::vector<Payload>& inner);
  bool derive_keys(const Bytes& peer_ke, std::string& why);
  bool detect_nat(const Message& m);
  std::vector<Payload> nat_payloads(bool for_response) const;
  bool verify_peer_auth(const std::vector<Payload>& inner, bool peer_is_initiator, Engine::TunnelCtx& t,
                        std::string& why);
  std::optional<Payload> build_auth(bool we_are_initiator, Engine::TunnelCtx& t);
  // create_child: derive keys for a new Child SA and install it.
  Child& add_child(uint32_t spi_in, uint32_t spi_out, const EspAlgs& algs, bool we_initiated_exchange,
                   const Bytes& ni, const Bytes& nr, const crypto::SecretBytes& shared,
                   const std::vector<TrafficSelector>& ts_local, const std::vector<TrafficSelector>& ts_remote,
                   bool use_outbound);

  // ike_child.cc
  void on_request(const Message& m, const std::vector<Payload>& inner);
  void on_create_child_request(const Message& m, const std::vector<Payload>& inner);
  void on_informational_request(const Message& m, const std::vector<Payload>& inner);
  void start_child_rekey(uint64_t child_id);
  void start_ike_rekey();
  void start_delete_child(uint64_t child_id);
  void start_delete_ike();
  void start_dpd();
  void adopt(IkeSa& old);  // IKE rekey: take over the old SA's children
  Child* find_child_by_in(uint32_t spi);
  Child* find_child_by_out(uint32_t spi);
  Child* find_child(uint64_t id);
  void remove_child_now(uint64_t id);

  Engine& e_;
  bool initiator_;
  State state_;
  Endpoint local_, remote_;
  bool natt_ = false;  // moved to port 4500, ESP in UDP
  bool peer_frag_ = false;
  uint64_t spi_i_ = 0, spi_r_ = 0;
  IkeAlgs algs_;
  std::vector<IkeAlgs> offered_;
  std::unique_ptr<Prf> prf_;
  std::unique_ptr<Aead> aead_;
  IkeKeys keys_;
  Bytes ni_, nr_;
  std::unique_ptr<DhKey> dh_;
  Bytes init_request_, init_response_;  // for AUTH (section 2.15)
  Bytes cookie_;
  uint32_t child_spi_in_ = 0;  // IKE_AUTH: our SPI for the first Child SA
  std::vector<Engine::TunnelCtx*> candidates_;  // responder, before IDi

  uint32_t next_request_id_ = 0;
  std::optional<Pending> pending_;
  std::deque<std::pair<Task, uint64_t>> tasks_;
  uint32_t expect_request_id_ = 0;
  std::vector<Bytes> last_response_;
  bool have_last_response_ = false;
  Reassembly reasm_requests_, reasm_responses_;

  std::vector<Child> children_;
  std::optional<ChildRekey> child_rekey_;
  std::optional<IkeRekey> ike_rekey_;
  IkeSa* replaced_by_ = nullptr;  // after an IKE rekey

  Clock::time_point created_{}, last_heard_{}, rekey_at_{}, expire_at_{};
  Clock::time_point dead_since_{};
  std::string failure_;
};

}  // namespace portcullis::ctl::ike
