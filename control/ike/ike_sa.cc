// ike_sa.cc: how an IKE SA sends and receives (RFC 7296 sections 2.1-2.4).
//
// Window size 1 both ways: one request of ours in flight (`pending_`),
// retransmitted with exponential back-off until its response arrives; the
// peer's requests answered in order, the last response cached and sent
// again when the same request arrives again (2.1), never recomputed.
#include <algorithm>
#include <random>

#include "control/ike/ike_sa.h"

namespace portcullis::ctl::ike {

namespace {
// The largest IKE message we send unfragmented when the peer supports
// RFC 7383: fits 1280-byte IPv6 and common tunnels with IP and UDP
// headers and the non-ESP marker (RFC 7383 section 2.5.1 suggests 1280
// for IPv6 and 576 as a floor for IPv4).
constexpr size_t kFragmentSize = 1200;
}  // namespace

uint32_t random_child_spi() {
  for (;;) {
    uint8_t b[4];
    crypto::random_bytes(b);
    const uint32_t v = static_cast<uint32_t>(spi_value(Bytes(b, b + 4)));
    if (v > 255) return v;
  }
}

IkeSa::IkeSa(Engine& e, bool initiator, Endpoint local, Endpoint remote)
    : e_(e), initiator_(initiator), state_(initiator ? State::kInitSent : State::kInitDone), local_(local),
      remote_(remote) {
  created_ = last_heard_ = Clock::now();
  rekey_at_ = expire_at_ = Clock::time_point::max();
}

IkeSa::~IkeSa() = default;

void IkeSa::log(Severity s, const std::string& msg) const {
  e_.host_.log(tunnel_ ? tunnel_->cfg.name : "", s, msg);
}

std::vector<Bytes> IkeSa::seal(Exchange ex, uint32_t id, bool response, const std::vector<Payload>& payloads) {
  Header h;
  h.spi_i = spi_i_;
  h.spi_r = spi_r_;
  h.exchange = ex;
  h.flags = static_cast<uint8_t>((initiator_ ? kFlagInitiator : 0) | (response ? kFlagResponse : 0));
  h.message_id = id;
  PayloadType first;
  Bytes inner = serialize_payloads(payloads, first);
  return seal_fragments(h, first, inner, *aead_, sk_e_out(), kFragmentSize, peer_frag_);
}

void IkeSa::send_wire(const std::vector<Bytes>& wire) {
  for (const auto& w : wire) {
    e_.host_.send(Datagram{local_, remote_, w});
    e_.counters_.tx++;
  }
}

void IkeSa::send_request(Exchange ex, const std::vector<Payload>& payloads, Handler on_response) {
  Pending p;
  p.id = next_request_id_;
  p.exchange = ex;
  p.wire = seal(ex, p.id, false, payloads);
  p.on_response = std::move(on_response);
  p.next = Clock::now() + e_.timers_.retransmit_first;
  send_wire(p.wire);
  pending_ = std::move(p);
}

void IkeSa::send_response(const Message& req, const std::vector<Payload>& payloads) {
  last_response_ = seal(req.header.exchange, req.header.message_id, true, payloads);
  have_last_response_ = true;
  expect_request_id_ = req.header.message_id + 1;
  send_wire(last_response_);
}

void IkeSa::send_plain_response(const Message& req, const std::vector<Payload>& payloads) {
  Header h = req.header;
  h.spi_r = spi_r_;
  h.flags = kFlagResponse;  // the responder never sets I (section 3.1)
  last_response_ = {serialize_message(h, payloads)};
  have_last_response_ = true;
  expect_request_id_ = 1;
  send_wire(last_response_);
}

void IkeSa::send_notify_error(const Message& req, NotifyType type, const Bytes& data) {
  NotifyPayload n;
  n.type = static_cast<uint16_t>(type);
  n.data = data;
  if (req.header.exchange == Exchange::kIkeSaInit) {
    send_plain_response(req, {n});
  } else {
    send_response(req, {n});
  }
}

bool IkeSa::open(const Datagram& d, const Message& m, std::vector<Payload>& inner) {
  if (!aead_) return false;
  std::string why;
  if (m.find<SkPayload>() != nullptr) {
    if (open_message(d.data, m, *aead_, sk_e_in(), inner, why)) return true;
    log(Severity::kWarn, "dropped " + describe(m) + " from " + d.remote.str() + ": " + why);
    e_.counters_.dropped++;
    return false;
  }
  if (m.find<SkfPayload>() != nullptr) {
    Reassembly& r = m.header.response() ? reasm_responses_ : reasm_requests_;
    switch (r.add(d.data, m, *aead_, sk_e_in(), inner, why)) {
      case Reassembly::Result::kComplete:
        return true;
      case Reassembly::Result::kIncomplete:
        return false;
      case Reassembly::Result::kRejected:
        log(Severity::kWarn, "dropped a fragment from " + d.remote.str() + ": " + why);
        e_.counters_.dropped++;
        return false;
    }
  }
  log(Severity::kWarn, "dropped " + describe(m) + " from " + d.remote.str() + ": not encrypted");
  e_.counters_.dropped++;
  return false;
}

void IkeSa::receive(const Datagram& d, const Message& m) {
  const Header& h = m.header;
  const auto now = Clock::now();
  if (h.response()) {
    if (!pending_ || h.message_id != pending_->id || h.exchange != pending_->exchange) {
      e_.counters_.dropped++;
      return;
    }
    if (pending_->plain) {
      pending_.reset();
      last_heard_ = now;
      on_init_response(m, d.data);
      return;
    }
    std::vector<Payload> inner;
    if (!open(d, m, inner)) return;
    last_heard_ = now;
    Handler handler = std::move(pending_->on_response);
    pending_.reset();
    ++next_request_id_;
    handler(m, inner);
    run_tasks();
    return;
  }
  // A request from the peer.
  if (h.exchange == Exchange::kIkeSaInit) {
    // A retransmitted IKE_SA_INIT: answer with the same response.
    if (h.message_id == 0 && have_last_response_ && expect_request_id_ == 1) send_wire(last_response_);
    return;
  }
  if (have_last_response_ && h.message_id + 1 == expect_request_id_) {
    // A retransmission: resend the cached response once the request
    // authenticates; a fragmented one on its first fragment only, checked
    // alone (RFC 7383 section 2.6.1), the other fragments ignored.
    std::vector<Payload> inner;
    bool authentic = false;
    if (m.find<SkPayload>()) {
      authentic = open(d, m, inner);
    } else if (auto* f = m.find<SkfPayload>(); f && f->number == 1 && aead_) {
      Reassembly one;
      std::string why;
      authentic = one.add(d.data, m, *aead_, sk_e_in(), inner, why) != Reassembly::Result::kRejected;
    }
    if (authentic) send_wire(last_response_);
    return;
  }
  if (h.message_id != expect_request_id_) {
    e_.counters_.dropped++;
    return;
  }
  std::vector<Payload> inner;
  if (!open(d, m, inner)) return;
  last_heard_ = now;
  if (state_ == State::kInitDone) {
    // IKE_AUTH, on port 4500 if the initiator saw a NAT: answer from and
    // to where it came (sections 2.11, 2.23), and put ESP there.
    local_ = d.local;
    remote_ = d.remote;
  } else if (natt_ && d.remote != remote_ && state_ == State::kEstablished) {
    // The peer's NAT mapping changed (section 2.23): answer it there, and
    // send ESP there too once the data plane can move an SA's endpoints.
    log(Severity::kInfo, "peer moved from " + remote_.str() + " to " + d.remote.str());
    remote_ = d.remote;
  }
  on_request(m, inner);
  run_tasks();
}

void IkeSa::add_task(Task t, uint64_t child) {
  const auto item = std::make_pair(t, child);
  if (std::find(tasks_.begin(), tasks_.end(), item) == tasks_.end()) tasks_.push_back(item);
  run_tasks();
}

void IkeSa::run_tasks() {
  while (!pending_ && state_ == State::kEstablished && !tasks_.empty()) {
    auto [task, child] = tasks_.front();
    tasks_.pop_front();
    switch (task) {
      case Task::kRekeyChild: {
        Child* c = find_child(child);
        if (c && !c->rekeying && !c->deleting) start_child_rekey(child);
        break;
      }
      case Task::kRekeyIke:
        start_ike_rekey();
        break;
      case Task::kDeleteChild:
        if (find_child(child)) start_delete_child(child);
        break;
      case Task::kDeleteIke:
        start_delete_ike();
        break;
      case Task::kDpd:
        start_dpd();
        break;
    }
  }
}

Clock::time_point IkeSa::rekey_time(uint64_t seconds, double fraction) const {
  // Less a random share of up to `jitter`, so that two gateways
  // configured alike rarely start a rekey together (section 2.8.1).
  if (seconds == 0) return Clock::time_point::max();
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> u(0.0, e_.timers_.jitter);
  const double at = static_cast<double>(seconds) * (fraction - u(rng));
  return Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(at * 1000.0));
}

void IkeSa::established(Clock::time_point now) {
  state_ = State::kEstablished;
  last_heard_ = now;
  e_.counters_.established++;
  if (tunnel_) {
    tunnel_->sa = this;
    tunnel_->last_failure.clear();
    rekey_at_ = rekey_time(tunnel_->cfg.ike.ike_lifetime_seconds, 0.9);
    expire_at_ = now + std::chrono::seconds(tunnel_->cfg.ike.ike_lifetime_seconds);
  }
}

void IkeSa::tick(Clock::time_point now) {
  if (state_ == State::kDead) return;
  if (pending_ && now >= pending_->next) {
    if (pending_->tries + 1 >= e_.timers_.retransmit_tries && state_ == State::kDeleting) {
      // The DELETE of a rekeyed-away IKE SA: a peer that dropped the SA
      // when it answered (that answer lost) cannot answer again, and the
      // SA is gone either way (section 1.4.1); the new SA's liveness
      // checks speak for the peer.
      pending_.reset();
      log(Severity::kInfo, "no answer to the DELETE of the old IKE SA; dropped it");
      abandon("deleted");
      return;
    }
    if (pending_->tries + 1 >= e_.timers_.retransmit_tries) {
      const bool init = pending_->plain;
      pending_.reset();
      fail(init ? "no answer from " + remote_.str() + " to IKE_SA_INIT"
                : "the peer " + remote_.str() + " stopped answering (" + std::to_string(e_.timers_.retransmit_tries) +
                      " tries); closing the IKE SA",
           true);
      return;
    }
    ++pending_->tries;
    pending_->next = now + e_.timers_.retransmit_first * (1 << pending_->tries);
    e_.counters_.retransmits++;
    send_wire(pending_->wire);
  }
  if (state_ == State::kInitDone && now - created_ > std::chrono::seconds(30)) {
    // A half-open SA that never authenticated.
    state_ = State::kDead;
    return;
  }
  // Old Child SAs kept for in-flight packets after their DELETE.
  for (size_t i = 0; i < children_.size();) {
    if (children_[i].deleting && children_[i].remove_at != Clock::time_point{} && now >= children_[i].remove_at) {
      const uint64_t id = children_[i].id;
      e_.host_.remove_child(tunnel_ ? tunnel_->cfg.name : "", id);
      children_.erase(children_.begin() + static_cast<long>(i));
    } else {
      ++i;
    }
  }
  if (state_ != State::kEstablished) return;
  if (now >= expire_at_) {
    close("the IKE SA reached its hard lifetime without a rekey");
    return;
  }
  if (now >= rekey_at_) {
    rekey_at_ = Clock::time_point::max();
    add_task(Task::kRekeyIke);
  }
  for (auto& c : children_) {
    if (!c.deleting && !c.rekeying && now >= c.rekey_at) {
      c.rekey_at = Clock::time_point::max();
      add_task(Task::kRekeyChild, c.id);
    }
  }
  if (!pending_ && tasks_.empty() && now - last_heard_ > e_.timers_.dpd_idle) add_task(Task::kDpd);
}

void IkeSa::fail(const std::string& why, bool retry) {
  failure_ = why;
  log(Severity::kError, why);
  abandon(why);
  if (tunnel_ && retry && tunnel_->cfg.ike.initiate) {
    // Up to half as long again, at random: two gateways that both
    // initiate must not keep retrying in step.
    static thread_local std::mt19937 rng{std::random_device{}()};
    const auto base = std::chrono::duration_cast<std::chrono::milliseconds>(e_.timers_.retry_after_failure);
    std::uniform_int_distribution<int64_t> extra(0, base.count() / 2);
    tunnel_->retry_at = Clock::now() + base + std::chrono::milliseconds(extra(rng));
  }
}

void IkeSa::abandon(const std::string& why) {
  if (state_ == State::kDead) return;
  state_ = State::kDead;
  dead_since_ = Clock::now();
  failure_ = why;
  pending_.reset();
  tasks_.clear();
  for (const auto& c : children_) e_.host_.remove_child(tunnel_ ? tunnel_->cfg.name : "", c.id);
  children_.clear();
  if (tunnel_ && tunnel_->sa == this) {
    tunnel_->sa = nullptr;
    tunnel_->last_failure = why;
    // Another established IKE SA of the tunnel (both sides started one)
    // carries it on.
    for (auto& other : e_.sas_) {
      if (other.get() != this && other->tunnel_ == tunnel_ && other->state_ == State::kEstablished &&
          other->replaced_by_ == nullptr) {
        tunnel_->sa = other.get();
        tunnel_->last_failure.clear();
      }
    }
  }
}

void IkeSa::close(const std::string& why) {
  if (state_ != State::kEstablished) {
    abandon(why);
    return;
  }
  log(Severity::kInfo, "closing the IKE SA: " + why);
  // DELETE of the IKE SA implies its Child SAs (section 1.4.1); send it
  // once, without waiting for an answer we would not act on.
  DeletePayload del;
  del.protocol = Protocol::kIke;
  // Not the id of a request still in flight: the peer has most likely
  // answered it already, and would take the DELETE for its retransmission.
  const uint32_t id = pending_ && !pending_->plain ? pending_->id + 1 : next_request_id_;
  send_wire(seal(Exchange::kInformational, id, false, {del}));
  abandon(why);
}

IkeSa::Child* IkeSa::find_child(uint64_t id) {
  for (auto& c : children_) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

IkeSa::Child* IkeSa::find_child_by_in(uint32_t spi) {
  for (auto& c : children_) {
    if (c.spi_in == spi) return &c;
  }
  return nullptr;
}

IkeSa::Child* IkeSa::find_child_by_out(uint32_t spi) {
  for (auto& c : children_) {
    if (c.spi_out == spi) return &c;
  }
  return nullptr;
}

void IkeSa::remove_child_now(uint64_t id) {
  for (size_t i = 0; i < children_.size(); i++) {
    if (children_[i].id == id) {
      e_.host_.remove_child(tunnel_ ? tunnel_->cfg.name : "", id);
      children_.erase(children_.begin() + static_cast<long>(i));
      return;
    }
  }
}

static std::string spi_hex(uint64_t v, int digits) {
  char b[24];
  std::snprintf(b, sizeof b, "%0*llx", digits, static_cast<unsigned long long>(v));
  return b;
}

nlohmann::json IkeSa::to_json() const {
  static const char* kStates[] = {"connecting", "authenticating", "half-open", "established", "deleting", "dead"};
  const auto now = Clock::now();
  auto secs = [&](Clock::time_point t) -> int64_t {
    if (t == Clock::time_point::max()) return -1;
    return std::chrono::duration_cast<std::chrono::seconds>(t - now).count();
  };
  nlohmann::json j = {{"tunnel", tunnel_ ? tunnel_->cfg.name : ""},
                      {"state", kStates[static_cast<int>(state_)]},
                      {"role", initiator_ ? "initiator" : "responder"},
                      {"spi_i", spi_hex(spi_i_, 16)},
                      {"spi_r", spi_hex(spi_r_, 16)},
                      {"local", local_.str()},
                      {"remote", remote_.str()},
                      {"nat_t", natt_},
                      {"proposal", prf_ ? algs_.name() : ""},
                      {"established_s", std::chrono::duration_cast<std::chrono::seconds>(now - created_).count()},
                      {"rekey_in_s", secs(rekey_at_)},
                      {"messages_out", next_request_id_},
                      {"messages_in", expect_request_id_}};
  if (!failure_.empty()) j["error"] = failure_;
  nlohmann::json cs = nlohmann::json::array();
  for (const auto& c : children_) {
    cs.push_back({{"id", c.id},
                  {"spi_in", spi_hex(c.spi_in, 8)},
                  {"spi_out", spi_hex(c.spi_out, 8)},
                  {"esp", c.algs.suite + (c.algs.esn ? "-esn" : "") + (c.algs.dh ? "-pfs" : "")},
                  {"local_ts", describe_ts(c.ts_local)},
                  {"remote_ts", describe_ts(c.ts_remote)},
                  {"state", c.deleting ? "deleting" : c.rekeying ? "rekeying" : "installed"},
                  {"rekey_in_s", secs(c.rekey_at)}});
  }
  j["children"] = cs;
  return j;
}

}  // namespace portcullis::ctl::ike
