// engine.cc: the IKE SAs of all tunnels: routing datagrams to them by SPI
// (section 2.6 of RFC 7296 on SPIs), responder admission with cookies when
// half-open SAs pile up (2.6), the tunnels' configuration, and timers.
#include "control/ike/engine.h"

#include <algorithm>

#include "control/ike/ike_sa.h"

namespace portcullis::ctl::ike {

namespace {
constexpr auto kCookieRotation = std::chrono::minutes(2);
}  // namespace

Engine::Engine(EngineHost& host, EngineTimers timers) : host_(host), timers_(timers) {
  cookie_secret_ = random_nonce(32);
  cookie_secret_old_ = cookie_secret_;
  cookie_rotated_ = Clock::now();
}

Engine::~Engine() = default;

Engine::TunnelCtx* Engine::find_tunnel(const std::string& name) {
  auto it = tunnels_.find(name);
  return it == tunnels_.end() ? nullptr : it->second.get();
}

void Engine::configure(const std::vector<config::Tunnel>& tunnels, const config::CryptoPolicy& policy) {
  std::lock_guard lock(mu_);
  policy_ = policy;
  std::map<std::string, const config::Tunnel*> want;
  for (const auto& t : tunnels) {
    if (t.keying == config::Keying::kIkev2) want[t.name] = &t;
  }
  bool dropped_any = false;
  for (auto it = tunnels_.begin(); it != tunnels_.end();) {
    TunnelCtx& ctx = *it->second;
    auto w = want.find(it->first);
    const bool keep = w != want.end() && *w->second == ctx.cfg;
    if (keep) {
      ++it;
      continue;
    }
    // Removed or changed: close its IKE SA; a changed tunnel starts over.
    for (auto& sa : sas_) {
      if (sa->tunnel_ == &ctx) {
        sa->close(w == want.end() ? "tunnel removed" : "tunnel reconfigured");
        sa->tunnel_ = nullptr;
      }
    }
    ctx.removed = true;
    dropped_any = true;
    it = tunnels_.erase(it);
  }
  if (dropped_any) {
    // Half-open SAs hold candidate tunnel pointers: let their peers retry.
    for (auto& sa : sas_) {
      if (sa->state_ == IkeSa::State::kInitDone) sa->state_ = IkeSa::State::kDead;
    }
  }
  for (const auto& [name, t] : want) {
    if (tunnels_.count(name)) continue;
    auto ctx = std::make_unique<TunnelCtx>();
    ctx->cfg = *t;
    ctx->ike_algs = ike_choices(*t, policy);
    if (auto esp = esp_choice(*t)) {
      ctx->esp = *esp;
    } else {
      ctx->error = "unknown ESP suite " + t->esp;
    }
    if (ctx->ike_algs.empty()) ctx->error = "ike.proposal \"" + t->ike.proposal + "\" is not usable";
    if (ctx->error.empty()) {
      std::string err;
      ctx->creds = load_credentials(*t, err);
      if (!ctx->creds) ctx->error = err;
    }
    if (!ctx->error.empty()) host_.log(name, Severity::kError, "cannot negotiate: " + ctx->error);
    tunnels_[name] = std::move(ctx);
  }
  for (auto& [name, ctx] : tunnels_) {
    if (!ctx->cfg.enabled && ctx->sa) ctx->sa->close("tunnel set down");
  }
}

void Engine::start_initiator(TunnelCtx& t) {
  Endpoint local{t.cfg.local, 500}, remote{t.cfg.remote, 500};
  auto sa = std::make_unique<IkeSa>(*this, true, local, remote);
  t.sa = sa.get();
  IkeSa* raw = sa.get();
  sas_.push_back(std::move(sa));
  raw->start(t);
}

IkeSa* Engine::find_sa(uint64_t spi_i, uint64_t spi_r, bool from_initiator) const {
  // Our SPI is the one the sender did not choose.
  const uint64_t ours = from_initiator ? spi_r : spi_i;
  for (const auto& sa : sas_) {
    if (sa->state_ != IkeSa::State::kDead && sa->local_spi() == ours) return sa.get();
  }
  return nullptr;
}

void Engine::on_datagram(const Datagram& d) {
  std::lock_guard lock(mu_);
  counters_.rx++;
  Message m;
  ParseError err;
  if (!parse_message(d.data, m, err)) {
    counters_.dropped++;
    host_.log("", Severity::kWarn, "dropped a malformed IKE message from " + d.remote.str() + ": " + err.what);
    return;
  }
  const Header& h = m.header;
  if (h.exchange == Exchange::kIkeSaInit && !h.response() && h.spi_r == 0 && h.message_id == 0) {
    for (auto& sa : sas_) {
      // By address only: with NAT-T the SA has moved to port 4500 since.
      if (!sa->initiator_ && sa->spi_i_ == h.spi_i && sa->remote_.addr == d.remote.addr &&
          sa->state_ != IkeSa::State::kDead) {
        sa->receive(d, m);  // a retransmission
        return;
      }
    }
    respond_init(d, m);
    return;
  }
  IkeSa* sa = find_sa(h.spi_i, h.spi_r, h.initiator());
  if (sa == nullptr) {
    counters_.dropped++;
    return;
  }
  sa->receive(d, m);
}

void Engine::respond_init(const Datagram& d, const Message& m) {
  std::vector<TunnelCtx*> candidates;
  for (auto& [name, t] : tunnels_) {
    if (t->cfg.enabled && t->error.empty() && t->cfg.local == d.local.addr && t->cfg.remote == d.remote.addr) {
      candidates.push_back(t.get());
    }
  }
  if (candidates.empty()) {
    counters_.dropped++;
    host_.log("", Severity::kWarn,
              "IKE_SA_INIT from " + d.remote.str() + " to " + d.local.str() + ": no ikev2 tunnel between these addresses");
    return;
  }
  // Both gateways initiating at once (ike.initiate is true on both by
  // default): the IKE_SA_INIT requests cross. The one with the lower
  // initiator SPI goes on, which both sides decide alike: the side that
  // sent it ignores the other request; the other side gives up its own
  // attempt and answers. Without this each side ends up the responder of
  // an SA the other has dropped.
  for (auto& sa : sas_) {
    if (!sa->initiator_ || sa->tunnel_ == nullptr || sa->remote_.addr != d.remote.addr ||
        (sa->state_ != IkeSa::State::kInitSent && sa->state_ != IkeSa::State::kAuthSent) ||
        std::find(candidates.begin(), candidates.end(), sa->tunnel_) == candidates.end()) {
      continue;
    }
    TunnelCtx& t = *sa->tunnel_;
    if (sa->spi_i_ <= m.header.spi_i) {
      counters_.dropped++;
      return;  // ours goes on; the peer answers it and drops its own
    }
    host_.log(t.cfg.name, Severity::kInfo,
              "IKE_SA_INIT from " + d.remote.str() + " crossed ours; answering it instead");
    sa->abandon("crossed by the peer's IKE_SA_INIT");
    t.retry_at = Clock::now() + timers_.retry_after_failure;
  }
  // Cookies (section 2.6): under load, answer only requests that prove
  // they can receive at their source address.
  size_t half_open = 0;
  for (const auto& sa : sas_) half_open += sa->half_open();
  if (half_open >= half_open_limit_) {
    auto* nonce = m.find<NoncePayload>();
    if (!nonce) return;
    Bytes in = nonce->data;
    in.insert(in.end(), d.remote.addr.bytes.begin(), d.remote.addr.bytes.end());
    for (int i = 7; i >= 0; i--) in.push_back(static_cast<uint8_t>(m.header.spi_i >> (8 * i)));
    auto prf = Prf::make(kPrfHmacSha256);
    auto expect = [&](const Bytes& secret) {
      auto v = prf->compute(secret, in);
      return Bytes(v.span().begin(), v.span().end());
    };
    const NotifyPayload* c = m.find_notify(NotifyType::kCookie);
    if (c == nullptr || (c->data != expect(cookie_secret_) && c->data != expect(cookie_secret_old_))) {
      NotifyPayload n;
      n.type = static_cast<uint16_t>(NotifyType::kCookie);
      n.data = expect(cookie_secret_);
      Header h = m.header;
      h.flags = kFlagResponse;
      host_.send(Datagram{d.local, d.remote, serialize_message(h, {n})});
      counters_.tx++;
      return;
    }
  }
  auto sa = std::make_unique<IkeSa>(*this, false, d.local, d.remote);
  sa->candidates_ = std::move(candidates);
  IkeSa* raw = sa.get();
  sas_.push_back(std::move(sa));
  raw->respond_init(d.data, m);
}

void Engine::tick() {
  std::lock_guard lock(mu_);
  const auto now = Clock::now();
  // A tunnel the peer is negotiating with us (we answered its
  // IKE_SA_INIT) does not start its own attempt meanwhile.
  auto half_open_for = [&](TunnelCtx* t) {
    return std::any_of(sas_.begin(), sas_.end(), [&](const std::unique_ptr<IkeSa>& sa) {
      return sa->state_ == IkeSa::State::kInitDone &&
             std::find(sa->candidates_.begin(), sa->candidates_.end(), t) != sa->candidates_.end();
    });
  };
  if (now - cookie_rotated_ > kCookieRotation) {
    cookie_secret_old_ = cookie_secret_;
    cookie_secret_ = random_nonce(32);
    cookie_rotated_ = now;
  }
  for (size_t i = 0; i < sas_.size(); i++) {
    IkeSa* sa = sas_[i].get();  // tick may add SAs (rekeys): index, not iterator
    if (sa->replaced_by_ && sa->state_ == IkeSa::State::kEstablished) {
      // Rekeyed away: it only has its DELETE to send, or to wait for.
      if (now >= sa->expire_at_) {
        sa->abandon("rekeyed; its DELETE never came");
        continue;
      }
      sa->run_tasks();
      if (sa->pending_ && now >= sa->pending_->next) sa->tick(now);
      continue;
    }
    sa->tick(now);
  }
  // Forget dead SAs; nothing points at them any more (tunnel->sa is
  // cleared by abandon, replaced_by_ only points forward).
  sas_.erase(std::remove_if(sas_.begin(), sas_.end(),
                            [&](const std::unique_ptr<IkeSa>& sa) {
                              if (sa->state_ != IkeSa::State::kDead) return false;
                              for (const auto& o : sas_) {
                                if (o->replaced_by_ == sa.get()) o->replaced_by_ = nullptr;
                              }
                              return true;
                            }),
             sas_.end());
  for (auto& [name, t] : tunnels_) {
    if (t->cfg.enabled && t->cfg.ike.initiate && t->error.empty() && t->sa == nullptr && now >= t->retry_at &&
        !half_open_for(t.get())) {
      start_initiator(*t);
    }
  }
}

bool Engine::rekey_child(const std::string& tunnel, std::string& error) {
  std::lock_guard lock(mu_);
  TunnelCtx* t = find_tunnel(tunnel);
  if (!t || !t->sa || t->sa->state_ != IkeSa::State::kEstablished) {
    error = "tunnel " + tunnel + " has no established IKE SA";
    return false;
  }
  bool any = false;
  for (const auto& c : t->sa->children_) {
    if (!c.deleting && c.outbound_active) {
      t->sa->add_task(IkeSa::Task::kRekeyChild, c.id);
      any = true;
    }
  }
  if (!any) error = "tunnel " + tunnel + " has no Child SA to rekey";
  return any;
}

bool Engine::rekey_ike(const std::string& tunnel, std::string& error) {
  std::lock_guard lock(mu_);
  TunnelCtx* t = find_tunnel(tunnel);
  if (!t || !t->sa || t->sa->state_ != IkeSa::State::kEstablished) {
    error = "tunnel " + tunnel + " has no established IKE SA";
    return false;
  }
  t->sa->add_task(IkeSa::Task::kRekeyIke);
  return true;
}

void Engine::child_expiring(const std::string& tunnel, uint32_t spi, bool hard) {
  std::lock_guard lock(mu_);
  TunnelCtx* t = find_tunnel(tunnel);
  if (!t || !t->sa) return;
  IkeSa& sa = *t->sa;
  IkeSa::Child* c = sa.find_child_by_in(spi);
  if (!c) c = sa.find_child_by_out(spi);
  if (!c || c->deleting) return;
  if (hard) {
    // The data plane already stopped it; a rekey is the way back.
    host_.log(tunnel, Severity::kWarn, "a Child SA hit its hard limit in the data plane; rekeying");
  }
  sa.add_task(IkeSa::Task::kRekeyChild, c->id);
}

void Engine::restart_tunnel(const std::string& tunnel) {
  std::lock_guard lock(mu_);
  TunnelCtx* t = find_tunnel(tunnel);
  if (!t) return;
  if (t->sa) t->sa->close("restarting the tunnel");
  t->retry_at = Clock::now();
}

nlohmann::json Engine::list() const {
  std::lock_guard lock(mu_);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& sa : sas_) {
    if (sa->state_ != IkeSa::State::kDead && sa->tunnel_ != nullptr) out.push_back(sa->to_json());
  }
  return out;
}

std::string Engine::tunnel_state(const std::string& tunnel, std::string* error) const {
  std::lock_guard lock(mu_);
  auto it = tunnels_.find(tunnel);
  if (it == tunnels_.end()) return "unknown";
  const TunnelCtx& t = *it->second;
  if (!t.error.empty()) {
    if (error) *error = t.error;
    return "error";
  }
  if (!t.cfg.enabled) return "down";
  if (t.sa && t.sa->state_ == IkeSa::State::kEstablished) return "up";
  if (error) *error = t.last_failure;
  if (t.sa || t.cfg.ike.initiate) return "connecting";
  return "waiting";  // a responder waits for its peer
}

nlohmann::json Engine::counters() const {
  std::lock_guard lock(mu_);
  return {{"rx", counters_.rx},
          {"tx", counters_.tx},
          {"dropped", counters_.dropped},
          {"retransmits", counters_.retransmits},
          {"established", counters_.established},
          {"auth_failed", counters_.auth_failed},
          {"child_sas", counters_.child_sas},
          {"rekeys", counters_.rekeys},
          {"ike_sas", sas_.size()}};
}

}  // namespace portcullis::ctl::ike
