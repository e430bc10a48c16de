// ike_child.cc: CREATE_CHILD_SA (RFC 7296 sections 1.3, 2.8, 2.17, 2.18)
// and INFORMATIONAL (1.4, 2.4) on an established IKE SA.
//
// Child SA rekey is make-before-break (DESIGN.md, "Control plane"): the
// rekey initiator installs the new pair and moves its outbound traffic at
// once, then DELETEs the old SA; the responder installs the new pair when
// it answers but keeps sending on the old SA until that DELETE arrives
// (its peer cannot decrypt the new SA before it has the response). The old
// inbound SA stays for old_sa_grace after its DELETE for packets in
// flight. Rekey collisions follow section 2.8.1: the SA made with the
// lowest of the four nonces is redundant, and whoever made it deletes it.
#include <algorithm>
#include <cstring>
#include <random>

#include "control/ike/ike_sa.h"

namespace portcullis::ctl::ike {

namespace {

const Bytes& lower(const Bytes& a, const Bytes& b) { return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end()) ? a : b; }

std::string hex32(uint32_t v) {
  char b[12];
  std::snprintf(b, sizeof b, "%08x", v);
  return b;
}

// A retry a few seconds later, at random, after TEMPORARY_FAILURE.
std::chrono::milliseconds retry_soon() {
  static thread_local std::mt19937 rng{std::random_device{}()};
  return std::chrono::milliseconds(std::uniform_int_distribution<int>(2000, 6000)(rng));
}

}  // namespace

void IkeSa::on_request(const Message& m, const std::vector<Payload>& inner) {
  switch (m.header.exchange) {
    case Exchange::kIkeAuth:
      if (state_ == State::kInitDone && !initiator_) {
        on_auth_request(m, inner);
      } else {
        e_.counters_.dropped++;
      }
      return;
    case Exchange::kCreateChildSa:
      if (state_ == State::kEstablished) {
        on_create_child_request(m, inner);
      } else {
        send_response(m, {make_notify(NotifyType::kTemporaryFailure)});
      }
      return;
    case Exchange::kInformational:
      on_informational_request(m, inner);
      return;
    case Exchange::kIkeSaInit:
      return;
  }
}

// --- CREATE_CHILD_SA, responder ---------------------------------------------

void IkeSa::on_create_child_request(const Message& m, const std::vector<Payload>& inner) {
  Engine::TunnelCtx& t = *tunnel_;
  auto* sa = find<SaPayload>(inner);
  auto* nonce = find<NoncePayload>(inner);
  auto* ke = find<KePayload>(inner);
  if (!sa || !nonce || sa->proposals.empty()) {
    send_response(m, {make_notify(NotifyType::kInvalidSyntax)});
    return;
  }
  if (sa->proposals[0].protocol == Protocol::kIke) {
    // IKE SA rekey (section 1.3.2).
    if (ike_rekey_ || child_rekey_ || replaced_by_) {
      send_response(m, {make_notify(NotifyType::kTemporaryFailure)});
      return;
    }
    uint8_t number = 1;
    Bytes peer_spi;
    auto chosen = select_ike(*sa, t.ike_algs, &number, &peer_spi);
    if (!chosen || peer_spi.size() != 8) {
      log(Severity::kError, "IKE SA rekey from the peer: no proposal chosen (peer offered " + describe_offer(*sa) + ")");
      send_response(m, {make_notify(NotifyType::kNoProposalChosen)});
      return;
    }
    if (!ke || ke->group != chosen->dh) {
      NotifyPayload n = make_notify(NotifyType::kInvalidKePayload);
      n.data = {static_cast<uint8_t>(chosen->dh >> 8), static_cast<uint8_t>(chosen->dh)};
      send_response(m, {n});
      return;
    }
    auto fresh = std::make_unique<IkeSa>(e_, false, local_, remote_);
    IkeSa& n = *fresh;
    n.tunnel_ = tunnel_;
    n.algs_ = *chosen;
    n.spi_i_ = spi_value(peer_spi);
    n.spi_r_ = random_spi();
    n.ni_ = nonce->data;
    n.nr_ = random_nonce(32);
    auto dh = DhKey::generate(chosen->dh);
    crypto::SecretBytes shared;
    std::string why;
    if (!dh || !dh->shared(ke->data, shared, &why)) {
      send_response(m, {make_notify(NotifyType::kInvalidSyntax)});
      return;
    }
    n.prf_ = Prf::make(chosen->prf);
    n.aead_ = Aead::make(chosen->encr, chosen->encr_bits);
    n.keys_ = derive_rekeyed_ike_keys(*prf_, keys_.sk_d.span(), *n.prf_, n.aead_->key_size(), 0, n.ni_, n.nr_,
                                      shared.span(), n.spi_i_, n.spi_r_);
    send_response(m, {chosen_ike_payload(*chosen, number, spi_bytes(n.spi_r_)), NoncePayload{n.nr_},
                      KePayload{chosen->dh, dh->public_value()}});
    n.natt_ = natt_;
    n.peer_frag_ = peer_frag_;
    n.adopt(*this);
    n.established(Clock::now());
    e_.counters_.rekeys++;
    log(Severity::kInfo, "IKE SA rekeyed by the peer (" + chosen->name() + ")");
    e_.sas_.push_back(std::move(fresh));
    n.run_tasks();  // Child SA work adopted from this SA
    return;
  }
  // Child SA: a rekey (REKEY_SA names the SA by the SPI the peer receives
  // on, our outbound SPI) or a new one, which we do not offer.
  auto* rekey = find_notify(inner, NotifyType::kRekeySa);
  if (!rekey) {
    send_response(m, {make_notify(NotifyType::kNoAdditionalSas)});
    return;
  }
  Child* old = rekey->spi.size() == 4 ? find_child_by_out(static_cast<uint32_t>(spi_value(rekey->spi))) : nullptr;
  if (!old || old->deleting) {
    send_response(m, {make_notify(NotifyType::kChildSaNotFound, {}, Protocol::kEsp, rekey->spi)});
    return;
  }
  if (ike_rekey_) {
    send_response(m, {make_notify(NotifyType::kTemporaryFailure)});
    return;
  }
  EspAlgs want = t.esp;
  want.dh = algs_.dh;
  uint8_t number = 1;
  uint32_t spi_out = 0;
  auto chosen = select_esp(*sa, want, true, &number, &spi_out);
  if (!chosen) {
    log(Severity::kError, "Child SA rekey from the peer: no proposal chosen (peer offered " + describe_offer(*sa) + ")");
    send_response(m, {make_notify(NotifyType::kNoProposalChosen)});
    return;
  }
  crypto::SecretBytes shared;
  std::unique_ptr<DhKey> dh;
  if (chosen->dh) {
    if (!ke || ke->group != chosen->dh) {
      NotifyPayload n = make_notify(NotifyType::kInvalidKePayload);
      n.data = {static_cast<uint8_t>(chosen->dh >> 8), static_cast<uint8_t>(chosen->dh)};
      send_response(m, {n});
      return;
    }
    dh = DhKey::generate(chosen->dh);
    std::string why;
    if (!dh || !dh->shared(ke->data, shared, &why)) {
      send_response(m, {make_notify(NotifyType::kInvalidSyntax)});
      return;
    }
  }
  auto* tsi = find_ts(inner, false);
  auto* tsr = find_ts(inner, true);
  std::vector<TrafficSelector> ts_remote, ts_local;
  if (tsi && tsr) {
    ts_remote = intersect(tsi->selectors, to_selectors(t.cfg.remote_ts));
    ts_local = intersect(tsr->selectors, to_selectors(t.cfg.local_ts));
  }
  if (ts_remote.empty() || ts_local.empty()) {
    send_response(m, {make_notify(NotifyType::kTsUnacceptable)});
    return;
  }
  const uint32_t spi_in = random_child_spi();
  const Bytes nr = random_nonce(32);
  std::vector<Payload> ps = {chosen_esp_payload(*chosen, number, spi_in), NoncePayload{nr}};
  if (dh) ps.push_back(KePayload{chosen->dh, dh->public_value()});
  ps.push_back(TsPayload{false, ts_remote});
  ps.push_back(TsPayload{true, ts_local});
  send_response(m, ps);
  const uint64_t old_id = old->id;
  const bool collision = old->rekeying;
  Child& c = add_child(spi_in, spi_out, *chosen, false, nonce->data, nr, shared, ts_local, ts_remote, false);
  old = find_child(old_id);  // add_child may have moved it
  old->peer_replacement = c.id;
  old->peer_nonce_min = lower(nonce->data, nr);
  e_.counters_.rekeys++;
  log(Severity::kInfo, "Child SA " + hex32(old->spi_in) + " rekeyed by the peer: new in " + hex32(spi_in) + " out " +
                           hex32(spi_out) + (collision ? " (collision with ours)" : ""));
}

// --- CREATE_CHILD_SA, initiator ---------------------------------------------

void IkeSa::start_child_rekey(uint64_t child_id) {
  Engine::TunnelCtx& t = *tunnel_;
  Child* c = find_child(child_id);
  c->rekeying = true;
  ChildRekey ctx;
  ctx.old_child = child_id;
  ctx.spi_in = random_child_spi();
  ctx.ni = random_nonce(32);
  ctx.algs = t.esp;
  ctx.algs.dh = algs_.dh;  // perfect forward secrecy with the IKE SA's group
  ctx.dh = DhKey::generate(ctx.algs.dh);
  std::vector<Payload> ps = {make_notify(NotifyType::kRekeySa, {}, Protocol::kEsp, spi_bytes(c->spi_in)),
                             esp_sa_payload(ctx.algs, ctx.spi_in), NoncePayload{ctx.ni},
                             KePayload{ctx.algs.dh, ctx.dh->public_value()}, TsPayload{false, c->ts_local},
                             TsPayload{true, c->ts_remote}};
  child_rekey_ = std::move(ctx);
  send_request(Exchange::kCreateChildSa, ps, [this](const Message&, const std::vector<Payload>& inner) {
    ChildRekey ctx = std::move(*child_rekey_);
    child_rekey_.reset();
    Child* old = find_child(ctx.old_child);
    if (!old) return;  // deleted meanwhile
    old->rekeying = false;
    const std::string errors = error_notifies(inner);
    if (!errors.empty()) {
      if (find_notify(inner, NotifyType::kChildSaNotFound)) return;
      old->rekey_at = Clock::now() + retry_soon();
      log(find_notify(inner, NotifyType::kTemporaryFailure) ? Severity::kInfo : Severity::kError,
          "the peer refused to rekey Child SA " + hex32(old->spi_in) + ": " + errors + "; trying again shortly");
      return;
    }
    auto* sa = find<SaPayload>(inner);
    auto* nonce = find<NoncePayload>(inner);
    auto* ke = find<KePayload>(inner);
    auto* tsi = find_ts(inner, false);
    auto* tsr = find_ts(inner, true);
    uint32_t spi_out = 0;
    auto chosen = sa ? accept_esp_reply(*sa, ctx.algs, &spi_out) : std::nullopt;
    crypto::SecretBytes shared;
    std::string why = "malformed response";
    const bool ok = chosen && nonce && ke && tsi && tsr && ke->group == ctx.algs.dh &&
                    ctx.dh->shared(ke->data, shared, &why) && covered(tsi->selectors, old->ts_local) &&
                    covered(tsr->selectors, old->ts_remote);
    if (!ok) {
      log(Severity::kError, "Child SA rekey response unusable (" + why + "); trying again shortly");
      old->rekey_at = Clock::now() + retry_soon();
      return;
    }
    const uint64_t old_id = old->id;
    const uint64_t peer_new = old->peer_replacement;
    const Bytes peer_min = old->peer_nonce_min;
    const Bytes& our_min = lower(ctx.ni, nonce->data);
    const bool ours_redundant = peer_new != 0 && lower(our_min, peer_min) == our_min && our_min != peer_min;
    Child& c = add_child(ctx.spi_in, spi_out, *chosen, true, ctx.ni, nonce->data, shared, tsi->selectors,
                         tsr->selectors, !ours_redundant);
    const uint64_t new_id = c.id;
    e_.counters_.rekeys++;
    if (ours_redundant) {
      // Section 2.8.1: ours carries the lowest nonce; the peer's SA wins.
      log(Severity::kInfo, "Child SA rekey collision: ours is redundant, deleting it");
      e_.host_.switch_outbound(tunnel_->cfg.name, peer_new);
      if (Child* p = find_child(peer_new)) p->outbound_active = true;
      add_task(Task::kDeleteChild, new_id);
      return;
    }
    log(Severity::kInfo, "Child SA " + hex32(find_child(old_id)->spi_in) + " rekeyed: new in " + hex32(ctx.spi_in) +
                             " out " + hex32(spi_out) + (peer_new ? " (collision: the peer deletes its SA)" : ""));
    add_task(Task::kDeleteChild, old_id);
  });
}

// --- IKE SA rekey, initiator -------------------------------------------------

void IkeSa::start_ike_rekey() {
  IkeRekey ctx;
  ctx.spi = random_spi();
  ctx.ni = random_nonce(32);
  ctx.offered = {algs_};
  ctx.dh = DhKey::generate(algs_.dh);
  std::vector<Payload> ps = {ike_sa_payload(ctx.offered, spi_bytes(ctx.spi)), NoncePayload{ctx.ni},
                             KePayload{algs_.dh, ctx.dh->public_value()}};
  ike_rekey_ = std::move(ctx);
  send_request(Exchange::kCreateChildSa, ps, [this](const Message&, const std::vector<Payload>& inner) {
    IkeRekey ctx = std::move(*ike_rekey_);
    ike_rekey_.reset();
    const std::string errors = error_notifies(inner);
    auto* sa = find<SaPayload>(inner);
    auto* nonce = find<NoncePayload>(inner);
    auto* ke = find<KePayload>(inner);
    Bytes peer_spi;
    auto chosen = sa ? accept_ike_reply(*sa, ctx.offered, &peer_spi) : std::nullopt;
    crypto::SecretBytes shared;
    std::string why = errors.empty() ? "malformed response" : errors;
    if (!errors.empty() || !chosen || !nonce || !ke || peer_spi.size() != 8 || ke->group != chosen->dh ||
        !ctx.dh->shared(ke->data, shared, &why)) {
      log(find_notify(inner, NotifyType::kTemporaryFailure) ? Severity::kInfo : Severity::kError,
          "IKE SA rekey failed (" + why + "); trying again shortly");
      rekey_at_ = Clock::now() + retry_soon();
      return;
    }
    auto fresh = std::make_unique<IkeSa>(e_, true, local_, remote_);
    IkeSa& n = *fresh;
    n.tunnel_ = tunnel_;
    n.algs_ = *chosen;
    n.spi_i_ = ctx.spi;
    n.spi_r_ = spi_value(peer_spi);
    n.ni_ = ctx.ni;
    n.nr_ = nonce->data;
    n.prf_ = Prf::make(chosen->prf);
    n.aead_ = Aead::make(chosen->encr, chosen->encr_bits);
    n.keys_ = derive_rekeyed_ike_keys(*prf_, keys_.sk_d.span(), *n.prf_, n.aead_->key_size(), 0, n.ni_, n.nr_,
                                      shared.span(), n.spi_i_, n.spi_r_);
    n.natt_ = natt_;
    n.peer_frag_ = peer_frag_;
    n.adopt(*this);
    n.established(Clock::now());
    e_.counters_.rekeys++;
    log(Severity::kInfo, "IKE SA rekeyed (" + chosen->name() + ")");
    e_.sas_.push_back(std::move(fresh));
    n.run_tasks();  // Child SA work adopted from this SA
    // The old SA's last word: DELETE it (section 1.3.2).
    add_task(Task::kDeleteIke);
  });
}

void IkeSa::adopt(IkeSa& old) {
  children_ = std::move(old.children_);
  old.children_.clear();
  old.replaced_by_ = this;
  // The old SA waits for its DELETE (ours or the peer's) only as long as
  // the sender retransmits it; then Engine::tick forgets it.
  old.expire_at_ = Clock::now() + e_.timers_.retransmit_first * (1 << e_.timers_.retransmit_tries);
  // Child SA work moves with the children: the old SA's queued rekeys and
  // DELETEs, and a DELETE of ours it sent but never saw answered (its
  // answer would find no child there); else that Child SA is never
  // removed and the peer never moves its outbound traffic off it.
  for (const auto& t : old.tasks_) {
    if (t.first == Task::kRekeyChild || t.first == Task::kDeleteChild) tasks_.push_back(t);
  }
  old.tasks_.erase(std::remove_if(old.tasks_.begin(), old.tasks_.end(),
                                  [](const auto& t) { return t.first != Task::kDeleteIke; }),
                   old.tasks_.end());
  for (auto& c : children_) {
    c.rekeying = false;
    const auto item = std::make_pair(Task::kDeleteChild, c.id);
    if (c.deleting && c.remove_at == Clock::time_point{} &&
        std::find(tasks_.begin(), tasks_.end(), item) == tasks_.end()) {
      tasks_.push_back(item);
    }
  }
  if (tunnel_) tunnel_->sa = this;
}

// --- INFORMATIONAL --------------------------------------------------------------

void IkeSa::start_delete_child(uint64_t child_id) {
  Child* c = find_child(child_id);
  c->deleting = true;
  DeletePayload d;
  d.protocol = Protocol::kEsp;
  d.spis = {c->spi_in};
  send_request(Exchange::kInformational, {d}, [this, child_id](const Message&, const std::vector<Payload>&) {
    if (Child* c = find_child(child_id)) c->remove_at = Clock::now() + e_.timers_.old_sa_grace;
  });
}

void IkeSa::start_delete_ike() {
  DeletePayload d;
  d.protocol = Protocol::kIke;
  state_ = State::kDeleting;
  // Sent even though state_ is not kEstablished any more.
  send_request(Exchange::kInformational, {d}, [this](const Message&, const std::vector<Payload>&) {
    abandon(replaced_by_ ? "rekeyed" : "deleted");
  });
}

void IkeSa::start_dpd() {
  send_request(Exchange::kInformational, {}, [](const Message&, const std::vector<Payload>&) {});
}

void IkeSa::on_informational_request(const Message& m, const std::vector<Payload>& inner) {
  if (find_notify(inner, NotifyType::kAuthenticationFailed)) {
    // The initiator refused our AUTH after we answered IKE_AUTH (2.21.2).
    send_response(m, {});
    e_.counters_.auth_failed++;
    log(Severity::kError, "the peer " + remote_.str() + " refused our authentication (" +
                              notify_name(static_cast<uint16_t>(NotifyType::kAuthenticationFailed)) +
                              "); closing the IKE SA");
    abandon("the peer refused our authentication");
    return;
  }
  std::vector<uint32_t> ours;
  bool delete_ike = false;
  for (const auto& p : inner) {
    auto* d = std::get_if<DeletePayload>(&p);
    if (!d) continue;
    if (d->protocol == Protocol::kIke) {
      delete_ike = true;
      continue;
    }
    if (d->protocol != Protocol::kEsp) continue;
    for (uint32_t spi : d->spis) {
      Child* c = find_child_by_out(spi);
      if (!c) continue;
      // Answer with our half unless we are deleting it too (1.4.1).
      if (!c->deleting) ours.push_back(c->spi_in);
      c->deleting = true;
      c->remove_at = Clock::now() + e_.timers_.old_sa_grace;
      if (c->peer_replacement) {
        // The peer rekeyed this SA and has moved to the new one: so do we.
        const uint64_t repl = c->peer_replacement;
        e_.host_.switch_outbound(tunnel_->cfg.name, repl);
        for (auto& x : children_) x.outbound_active = x.id == repl;
      } else if (c->outbound_active) {
        log(Severity::kWarn, "the peer deleted Child SA " + hex32(c->spi_in) + " without a replacement");
      }
    }
  }
  std::vector<Payload> reply;
  if (!ours.empty()) {
    DeletePayload d;
    d.protocol = Protocol::kEsp;
    d.spis = ours;
    reply.push_back(d);
  }
  send_response(m, reply);
  const bool none_left = !ours.empty() && std::none_of(children_.begin(), children_.end(),
                                                       [](const Child& c) { return !c.deleting; });
  if (!delete_ike && none_left && tunnel_) {
    // The peer took the tunnel's last Child SA away without a
    // replacement. An IKE SA without one carries no traffic: start over
    // if we initiate, else wait for the peer to.
    Engine::TunnelCtx* t = tunnel_;
    const bool retry = t->cfg.ike.initiate;
    log(Severity::kWarn, std::string("the peer deleted the last Child SA; ") +
                             (retry ? "renegotiating the tunnel" : "closing the IKE SA until the peer starts again"));
    close("no Child SA left");
    if (retry) t->retry_at = Clock::now() + std::chrono::seconds(1);
    return;
  }
  if (delete_ike) {
    if (replaced_by_) {
      abandon("rekeyed");
      return;
    }
    const bool retry = tunnel_ && tunnel_->cfg.ike.initiate;
    log(Severity::kWarn, "the peer deleted the IKE SA" + std::string(retry ? "; reconnecting shortly" : ""));
    Engine::TunnelCtx* t = tunnel_;
    abandon("deleted by the peer");
    if (t && retry) t->retry_at = Clock::now() + std::chrono::seconds(2);
  }
}

}  // namespace portcullis::ctl::ike
