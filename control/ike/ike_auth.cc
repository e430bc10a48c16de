// ike_auth.cc: IKE_SA_INIT and IKE_AUTH (RFC 7296 sections 1.2, 2.10,
// 2.14-2.17, 2.23), as initiator and as responder.
#include <algorithm>

#include "control/ike/ike_sa.h"
#include "crypto/suite.h"

namespace portcullis::ctl::ike {

namespace {

bool is_cert_auth(const config::Tunnel& t) { return t.ike.auth != "psk"; }

}  // namespace

// --- initiator ----------------------------------------------------------------

void IkeSa::start(Engine::TunnelCtx& t) {
  tunnel_ = &t;
  offered_ = t.ike_algs;
  algs_ = offered_.front();
  spi_i_ = random_spi();
  ni_ = random_nonce(32);
  dh_ = DhKey::generate(algs_.dh);
  log(Severity::kInfo, "initiating IKE SA to " + remote_.str() + " (" + algs_.name() + ")");
  send_init();
}

std::vector<Payload> IkeSa::nat_payloads(bool for_response) const {
  (void)for_response;
  // Forced encapsulation (udp_encap = true) sends a source hash that
  // cannot match, so both sides see a NAT and move to port 4500 with
  // ESP in UDP (section 2.23 allows faking it this way).
  Bytes src = nat_hash(spi_i_, spi_r_, local_);
  if (tunnel_ && tunnel_->cfg.udp_encap) crypto::random_bytes(src);
  return {make_notify(NotifyType::kNatDetectionSourceIp, src),
          make_notify(NotifyType::kNatDetectionDestinationIp, nat_hash(spi_i_, spi_r_, remote_))};
}

void IkeSa::send_init() {
  std::vector<Payload> ps;
  if (!cookie_.empty()) ps.push_back(make_notify(NotifyType::kCookie, cookie_));
  ps.push_back(ike_sa_payload(offered_, {}));
  ps.push_back(KePayload{algs_.dh, dh_->public_value()});
  ps.push_back(NoncePayload{ni_});
  for (auto& n : nat_payloads(false)) ps.push_back(std::move(n));
  ps.push_back(make_notify(NotifyType::kIkev2FragmentationSupported));
  ps.push_back(make_notify(NotifyType::kSignatureHashAlgorithms, signature_hash_algorithms_data()));
  Header h;
  h.spi_i = spi_i_;
  h.exchange = Exchange::kIkeSaInit;
  h.flags = kFlagInitiator;
  init_request_ = serialize_message(h, ps);
  Pending p;
  p.id = 0;
  p.exchange = Exchange::kIkeSaInit;
  p.plain = true;
  p.wire = {init_request_};
  p.next = Clock::now() + e_.timers_.retransmit_first;
  send_wire(p.wire);
  pending_ = std::move(p);
  state_ = State::kInitSent;
}

void IkeSa::retry_init_with(const Message& m) {
  if (auto* c = m.find_notify(NotifyType::kCookie)) {
    if (!cookie_.empty() && cookie_ == c->data) {
      fail("the responder " + remote_.str() + " keeps asking for the same cookie", true);
      return;
    }
    cookie_ = c->data;
    send_init();
    return;
  }
  auto* k = m.find_notify(NotifyType::kInvalidKePayload);
  const uint16_t group = k->data.size() == 2 ? static_cast<uint16_t>((k->data[0] << 8) | k->data[1]) : 0;
  auto it = std::find_if(offered_.begin(), offered_.end(), [&](const IkeAlgs& a) { return a.dh == group; });
  if (group == algs_.dh || it == offered_.end()) {
    fail("the responder wants DH group " + std::to_string(group) + ", which this tunnel does not offer", true);
    return;
  }
  // Offer the group it asked for first (section 1.2).
  algs_ = *it;
  std::rotate(offered_.begin(), it, it + 1);
  dh_ = DhKey::generate(algs_.dh);
  send_init();
}

bool IkeSa::derive_keys(const Bytes& peer_ke, std::string& why) {
  crypto::SecretBytes shared;
  if (!dh_ || !dh_->shared(peer_ke, shared, &why)) {
    if (why.empty()) why = "bad KE payload";
    return false;
  }
  prf_ = Prf::make(algs_.prf);
  aead_ = Aead::make(algs_.encr, algs_.encr_bits);
  if (!prf_ || !aead_) {
    why = "negotiated transforms are not available";
    return false;
  }
  keys_ = derive_ike_keys(*prf_, aead_->key_size(), 0, ni_, nr_, shared.span(), spi_i_, spi_r_);
  dh_.reset();
  return true;
}

bool IkeSa::detect_nat(const Message& m) {
  // Section 2.23: the peer's SOURCE hash names where it sent from (as it
  // sees itself), its DESTINATION hash where it sent to. A mismatch with
  // what we see means a NAT on that side.
  bool nat = false, seen = false;
  for (const auto& p : m.payloads) {
    auto* n = std::get_if<NotifyPayload>(&p);
    if (!n) continue;
    if (n->type == static_cast<uint16_t>(NotifyType::kNatDetectionSourceIp)) {
      seen = true;
      if (n->data != nat_hash(spi_i_, m.header.spi_r, remote_)) nat = true;
    } else if (n->type == static_cast<uint16_t>(NotifyType::kNatDetectionDestinationIp)) {
      seen = true;
      if (n->data != nat_hash(spi_i_, m.header.spi_r, local_)) nat = true;
    }
  }
  return (seen && nat) || (tunnel_ && tunnel_->cfg.udp_encap);
}

void IkeSa::on_init_response(const Message& m, const Bytes& wire) {
  if (m.find_notify(NotifyType::kCookie) || m.find_notify(NotifyType::kInvalidKePayload)) {
    retry_init_with(m);
    return;
  }
  const std::string errors = error_notifies(m.payloads);
  if (!errors.empty()) {
    std::string offered;
    for (const auto& a : offered_) offered += (offered.empty() ? "" : ", ") + a.name();
    fail("the peer " + remote_.str() + " refused IKE_SA_INIT: " + errors + " (we offered " + offered + ")", true);
    return;
  }
  auto* sa = m.find<SaPayload>();
  auto* ke = m.find<KePayload>();
  auto* nonce = m.find<NoncePayload>();
  if (!sa || !ke || !nonce || m.header.spi_r == 0) {
    fail("IKE_SA_INIT response from " + remote_.str() + " lacks SA, KE or Nonce", true);
    return;
  }
  auto chosen = accept_ike_reply(*sa, offered_, nullptr);
  if (!chosen || chosen->dh != ke->group || ke->group != algs_.dh) {
    fail("the peer " + remote_.str() + " chose " + describe_offer(*sa) + ", which we did not offer", true);
    return;
  }
  algs_ = *chosen;
  spi_r_ = m.header.spi_r;
  nr_ = nonce->data;
  init_response_ = wire;
  peer_frag_ = m.find_notify(NotifyType::kIkev2FragmentationSupported) != nullptr;
  natt_ = detect_nat(m);
  std::string why;
  if (!derive_keys(ke->data, why)) {
    fail("IKE_SA_INIT with " + remote_.str() + ": " + why, true);
    return;
  }
  next_request_id_ = 1;
  if (natt_) {
    // Section 2.23: after a NAT is detected, IKE moves to port 4500.
    local_.port = 4500;
    remote_.port = 4500;
  }
  send_auth();
}

std::optional<Payload> IkeSa::build_auth(bool we_are_initiator, Engine::TunnelCtx& t) {
  const Credentials& c = *t.creds;
  const Bytes& msg = we_are_initiator ? init_request_ : init_response_;
  const Bytes& peer_nonce = we_are_initiator ? nr_ : ni_;
  const auto sk_p = we_are_initiator ? keys_.sk_pi.span() : keys_.sk_pr.span();
  IdPayload id = c.local_id;
  id.responder = !we_are_initiator;
  const Bytes octets = signed_octets(*prf_, msg, peer_nonce, sk_p, id.body());
  AuthPayload a;
  if (!is_cert_auth(t.cfg)) {
    a.method = kAuthPsk;
    auto v = psk_auth(*prf_, c.psk.span(), octets);
    a.data.assign(v.span().begin(), v.span().end());
  } else {
    a.method = kAuthDigitalSignature;
    a.data = c.key->sign_auth(octets);
    if (a.data.empty()) return std::nullopt;
  }
  return a;
}

void IkeSa::send_auth() {
  Engine::TunnelCtx& t = *tunnel_;
  const Credentials& c = *t.creds;
  child_spi_in_ = random_child_spi();
  std::vector<Payload> ps;
  IdPayload idi = c.local_id;
  idi.responder = false;
  ps.push_back(idi);
  if (is_cert_auth(t.cfg)) {
    ps.push_back(CertPayload{kCertX509Signature, c.cert->der()});
    ps.push_back(CertReqPayload{kCertX509Signature, c.trust->authorities()});
  }
  ps.push_back(make_notify(NotifyType::kInitialContact));
  if (c.remote_id) {
    IdPayload idr = *c.remote_id;
    idr.responder = true;
    ps.push_back(idr);
  }
  auto auth = build_auth(true, t);
  if (!auth) {
    fail("cannot sign AUTH with " + t.cfg.ike.private_key, false);
    return;
  }
  ps.push_back(*auth);
  if (t.cfg.mode == api::Mode::kTransport) ps.push_back(make_notify(NotifyType::kUseTransportMode));
  EspAlgs esp = t.esp;
  esp.dh = 0;  // no KE in IKE_AUTH (section 1.2)
  ps.push_back(esp_sa_payload(esp, child_spi_in_));
  ps.push_back(TsPayload{false, to_selectors(t.cfg.local_ts)});
  ps.push_back(TsPayload{true, to_selectors(t.cfg.remote_ts)});
  state_ = State::kAuthSent;
  send_request(Exchange::kIkeAuth, ps, [this](const Message& m, const std::vector<Payload>& inner) {
    on_auth_response(m, inner);
  });
}

void IkeSa::on_auth_response(const Message& m, const std::vector<Payload>& inner) {
  (void)m;
  Engine::TunnelCtx& t = *tunnel_;
  if (find_notify(inner, NotifyType::kAuthenticationFailed) || !find<AuthPayload>(inner)) {
    const std::string e = error_notifies(inner);
    e_.counters_.auth_failed++;
    fail("the peer " + remote_.str() + " refused our authentication (" + (e.empty() ? "no AUTH payload" : e) + ")",
         true);
    return;
  }
  std::string why;
  if (!verify_peer_auth(inner, false, t, why)) {
    e_.counters_.auth_failed++;
    // The responder has installed its Child SA by now: tell it, in an
    // INFORMATIONAL of its own (section 2.21.2), sent once like close().
    send_wire(seal(Exchange::kInformational, next_request_id_, false, {make_notify(NotifyType::kAuthenticationFailed)}));
    fail("authentication of the peer " + remote_.str() + " failed: " + why, true);
    return;
  }
  established(Clock::now());
  const IdPayload* idr = find_id(inner, true);
  const std::string who = idr ? id_text(*idr) : remote_.str();
  auto* sa = find<SaPayload>(inner);
  auto* tsi = find_ts(inner, false);
  auto* tsr = find_ts(inner, true);
  uint32_t spi_out = 0;
  EspAlgs esp = t.esp;
  esp.dh = 0;
  auto chosen = sa ? accept_esp_reply(*sa, esp, &spi_out) : std::nullopt;
  if (!chosen || !tsi || !tsr || !covered(tsi->selectors, to_selectors(t.cfg.local_ts)) ||
      !covered(tsr->selectors, to_selectors(t.cfg.remote_ts))) {
    const std::string e = error_notifies(inner);
    log(Severity::kError, "IKE SA with " + who + " is up, but its Child SA failed: " +
                              (!e.empty() ? "the peer says " + e
                               : !chosen  ? "the peer chose an ESP proposal we did not offer"
                                          : "the peer's traffic selectors are outside ours"));
    close("no Child SA");
    fail("Child SA refused" + (e.empty() ? std::string() : ": " + e), true);
    return;
  }
  Child& c = add_child(child_spi_in_, spi_out, *chosen, true, ni_, nr_, {}, tsi->selectors, tsr->selectors, true);
  log(Severity::kInfo, "IKE SA established with " + who + " at " + remote_.str() + " (" + algs_.name() +
                           (natt_ ? ", NAT-T" : "") + "); Child SA in " + to_json()["children"].back()["spi_in"].get<std::string>() +
                           " out " + to_json()["children"].back()["spi_out"].get<std::string>() + ", " +
                           describe_ts(c.ts_local) + " === " + describe_ts(c.ts_remote));
}

// --- responder ----------------------------------------------------------------

void IkeSa::respond_init(const Bytes& wire, const Message& m) {
  Engine::TunnelCtx& t = *candidates_.front();
  auto* sa = m.find<SaPayload>();
  auto* ke = m.find<KePayload>();
  auto* nonce = m.find<NoncePayload>();
  spi_i_ = m.header.spi_i;
  state_ = State::kDead;  // unless all goes well
  if (!sa || !ke || !nonce) {
    e_.host_.log(t.cfg.name, Severity::kWarn, "IKE_SA_INIT from " + remote_.str() + " lacks SA, KE or Nonce; dropped");
    e_.counters_.dropped++;
    return;
  }
  uint8_t number = 1;
  auto chosen = select_ike(*sa, t.ike_algs, &number, nullptr);
  if (!chosen) {
    std::string ours;
    for (const auto& a : t.ike_algs) ours += (ours.empty() ? "" : ", ") + a.name();
    e_.host_.log(t.cfg.name, Severity::kError,
                 "IKE_SA_INIT from " + remote_.str() + ": no proposal chosen; the peer offered " +
                     describe_offer(*sa) + ", tunnel " + t.cfg.name + " accepts " + ours);
    send_notify_error(m, NotifyType::kNoProposalChosen);
    return;
  }
  if (ke->group != chosen->dh) {
    const Bytes g = {static_cast<uint8_t>(chosen->dh >> 8), static_cast<uint8_t>(chosen->dh)};
    send_notify_error(m, NotifyType::kInvalidKePayload, g);
    return;
  }
  algs_ = *chosen;
  spi_r_ = random_spi();
  ni_ = nonce->data;
  nr_ = random_nonce(32);
  dh_ = DhKey::generate(algs_.dh);
  init_request_ = wire;
  peer_frag_ = m.find_notify(NotifyType::kIkev2FragmentationSupported) != nullptr;
  tunnel_ = &t;  // provisional, for NAT-D and logs; IKE_AUTH picks the tunnel
  natt_ = detect_nat(m) || local_.port == 4500;
  std::vector<Payload> ps;
  ps.push_back(chosen_ike_payload(algs_, number, {}));
  ps.push_back(KePayload{algs_.dh, dh_->public_value()});
  ps.push_back(NoncePayload{nr_});
  for (auto& n : nat_payloads(true)) ps.push_back(std::move(n));
  ps.push_back(make_notify(NotifyType::kIkev2FragmentationSupported));
  ps.push_back(make_notify(NotifyType::kSignatureHashAlgorithms, signature_hash_algorithms_data()));
  if (is_cert_auth(t.cfg) && t.creds) ps.push_back(CertReqPayload{kCertX509Signature, t.creds->trust->authorities()});
  const Bytes peer_ke = ke->data;
  std::string why;
  if (!derive_keys(peer_ke, why)) {
    e_.host_.log(t.cfg.name, Severity::kWarn, "IKE_SA_INIT from " + remote_.str() + ": " + why + "; dropped");
    send_notify_error(m, NotifyType::kInvalidSyntax);
    return;
  }
  send_plain_response(m, ps);
  init_response_ = last_response_.front();
  state_ = State::kInitDone;
  tunnel_ = nullptr;
}

void IkeSa::on_auth_request(const Message& m, const std::vector<Payload>& inner) {
  const IdPayload* idi = find_id(inner, false);
  const IdPayload* idr = find_id(inner, true);
  if (!idi || !find<AuthPayload>(inner)) {
    e_.counters_.dropped++;
    send_notify_error(m, NotifyType::kInvalidSyntax);
    abandon("IKE_AUTH without IDi or AUTH");
    return;
  }
  const std::string who = id_text(*idi);
  Engine::TunnelCtx* chosen = nullptr;
  for (Engine::TunnelCtx* t : candidates_) {
    if (t->removed || !t->creds) continue;
    if (t->creds->remote_id && !id_matches(*t->creds->remote_id, *idi)) continue;
    if (idr && !id_matches(t->creds->local_id, *idr)) continue;
    chosen = t;
    break;
  }
  if (!chosen) {
    const std::string asked = idr ? " and asks for our identity " + id_text(*idr) : std::string();
    e_.host_.log("", Severity::kError,
                 "IKE_AUTH from " + remote_.str() + ": no tunnel expects identity " + who + asked + "; refused");
    e_.counters_.auth_failed++;
    send_notify_error(m, NotifyType::kAuthenticationFailed);
    abandon("unknown identity " + who);
    return;
  }
  tunnel_ = chosen;
  Engine::TunnelCtx& t = *chosen;
  std::string why;
  if (!verify_peer_auth(inner, true, t, why)) {
    log(Severity::kError, "authentication of " + who + " from " + remote_.str() + " failed: " + why);
    e_.counters_.auth_failed++;
    send_notify_error(m, NotifyType::kAuthenticationFailed);
    tunnel_ = nullptr;
    abandon(why);
    return;
  }
  auto auth = build_auth(false, t);
  if (!auth) {
    log(Severity::kError, "cannot sign AUTH with " + t.cfg.ike.private_key);
    send_notify_error(m, NotifyType::kAuthenticationFailed);
    tunnel_ = nullptr;
    abandon("signing failed");
    return;
  }
  std::vector<Payload> ps;
  IdPayload our = t.creds->local_id;
  our.responder = true;
  ps.push_back(our);
  if (is_cert_auth(t.cfg)) ps.push_back(CertPayload{kCertX509Signature, t.creds->cert->der()});
  ps.push_back(*auth);
  // The first Child SA.
  auto* sa = find<SaPayload>(inner);
  auto* tsi = find_ts(inner, false);
  auto* tsr = find_ts(inner, true);
  EspAlgs esp = t.esp;
  esp.dh = 0;
  uint8_t number = 1;
  uint32_t spi_out = 0;
  auto chosen_esp = sa ? select_esp(*sa, esp, false, &number, &spi_out) : std::nullopt;
  std::vector<TrafficSelector> ts_remote, ts_local;
  if (tsi && tsr) {
    ts_remote = intersect(tsi->selectors, to_selectors(t.cfg.remote_ts));
    ts_local = intersect(tsr->selectors, to_selectors(t.cfg.local_ts));
  }
  const bool transport_asked = find_notify(inner, NotifyType::kUseTransportMode) != nullptr;
  const bool transport_ok = transport_asked == (t.cfg.mode == api::Mode::kTransport);
  // INITIAL_CONTACT (section 2.4): the peer holds no other IKE SA with us,
  // so ours are stale: dropped below, after the new Child SA is installed
  // (make-before-break). An SA the peer spoke on since this one began is
  // not stale but a simultaneous start of both sides: it stays.
  std::vector<IkeSa*> stale;
  if (find_notify(inner, NotifyType::kInitialContact)) {
    for (auto& other : e_.sas_) {
      if (other.get() != this && other->tunnel_ == &t && other->state_ != State::kDead &&
          other->last_heard_ < created_) {
        stale.push_back(other.get());
      }
    }
  }
  established(Clock::now());
  // The stale SAs' Child SAs are kept for old_sa_grace as this SA's,
  // already deleting: the peer may send on them until our response
  // reaches it, and dropping them at once loses those packets.
  struct DropStale {
    IkeSa& self;
    std::vector<IkeSa*>& v;
    ~DropStale() {
      const auto until = Clock::now() + self.e_.timers_.old_sa_grace;
      for (IkeSa* o : v) {
        for (auto& c : o->children_) {
          c.deleting = true;
          c.outbound_active = false;
          c.remove_at = until;
          self.children_.push_back(std::move(c));
        }
        o->children_.clear();
        self.log(Severity::kInfo, "the peer restarted (INITIAL_CONTACT): dropping the IKE SA it forgot, " +
                                      std::string("its Child SAs after a grace period"));
        o->abandon("the peer restarted (INITIAL_CONTACT)");
      }
    }
  } drop_stale{*this, stale};
  if (!chosen_esp || ts_remote.empty() || ts_local.empty() || !transport_ok) {
    const NotifyType err = !chosen_esp ? NotifyType::kNoProposalChosen : NotifyType::kTsUnacceptable;
    log(Severity::kError, "IKE SA with " + who + " is up, but its Child SA was refused: " +
                              (!chosen_esp ? "no ESP proposal matches (peer offered " +
                                                 (sa ? describe_offer(*sa) : std::string("nothing")) + ", we want " + t.esp.suite + (t.esp.esn ? "-esn" : "-noesn") + ")"
                               : !transport_ok ? std::string("mode mismatch")
                                               : "traffic selectors " + (tsi ? describe_ts(tsi->selectors) : std::string()) +
                                                     " === " + (tsr ? describe_ts(tsr->selectors) : std::string()) +
                                                     " do not match ours"));
    ps.push_back(make_notify(err));
    send_response(m, ps);
    return;
  }
  child_spi_in_ = random_child_spi();
  ps.push_back(chosen_esp_payload(*chosen_esp, number, child_spi_in_));
  if (transport_asked) ps.push_back(make_notify(NotifyType::kUseTransportMode));
  ps.push_back(TsPayload{false, ts_remote});
  ps.push_back(TsPayload{true, ts_local});
  send_response(m, ps);
  Child& c = add_child(child_spi_in_, spi_out, *chosen_esp, false, ni_, nr_, {}, ts_local, ts_remote, true);
  (void)c;
  log(Severity::kInfo, "IKE SA established with " + who + " at " + remote_.str() + " (" + algs_.name() +
                           (natt_ ? ", NAT-T" : "") + ", responder); Child SA " + describe_ts(ts_local) + " === " +
                           describe_ts(ts_remote));
}

bool IkeSa::verify_peer_auth(const std::vector<Payload>& inner, bool peer_is_initiator, Engine::TunnelCtx& t,
                             std::string& why) {
  const Credentials& c = *t.creds;
  const IdPayload* id = find_id(inner, !peer_is_initiator);
  const AuthPayload* auth = find<AuthPayload>(inner);
  if (!id || !auth) {
    why = "no ID or AUTH payload";
    return false;
  }
  if (c.remote_id && !id_matches(*c.remote_id, *id)) {
    why = "identity " + id_text(*id) + " is not the expected " + c.remote_id_text;
    return false;
  }
  const Bytes& msg = peer_is_initiator ? init_request_ : init_response_;
  const Bytes& nonce = peer_is_initiator ? nr_ : ni_;
  const auto sk_p = peer_is_initiator ? keys_.sk_pi.span() : keys_.sk_pr.span();
  const Bytes octets = signed_octets(*prf_, msg, nonce, sk_p, id->body());
  if (!is_cert_auth(t.cfg)) {
    if (auth->method != kAuthPsk) {
      why = "the peer used auth method " + std::to_string(auth->method) + ", the tunnel expects a pre-shared key";
      return false;
    }
    if (!psk_auth_matches(*prf_, c.psk.span(), octets, auth->data)) {
      why = "pre-shared key mismatch (AUTH payload does not verify)";
      return false;
    }
    return true;
  }
  if (auth->method != kAuthDigitalSignature) {
    why = "the peer used auth method " + std::to_string(auth->method) +
          ", the tunnel expects a digital signature (RFC 7427)";
    return false;
  }
  std::vector<std::unique_ptr<Certificate>> certs;
  for (const auto& p : inner) {
    if (auto* cp = std::get_if<CertPayload>(&p); cp && cp->encoding == kCertX509Signature) {
      std::string err;
      auto cert = Certificate::from_der(cp->data, err);
      if (!cert) {
        why = "a CERT payload does not parse: " + err;
        return false;
      }
      certs.push_back(std::move(cert));
    }
  }
  if (certs.empty()) {
    why = "no certificate sent";
    return false;
  }
  std::vector<const Certificate*> inter;
  for (size_t i = 1; i < certs.size(); i++) inter.push_back(certs[i].get());
  if (!c.trust->verify(*certs[0], inter, why)) {
    why = "certificate " + certs[0]->subject_text() + " is not trusted: " + why;
    return false;
  }
  if (!certs[0]->matches_id(id->type, id->data)) {
    why = "certificate " + certs[0]->subject_text() + " does not name identity " + id_text(*id);
    return false;
  }
  std::string err;
  if (!certs[0]->verify_auth(auth->data, octets, err)) {
    why = "signature of " + certs[0]->subject_text() + " does not verify: " + err;
    return false;
  }
  return true;
}

IkeSa::Child& IkeSa::add_child(uint32_t spi_in, uint32_t spi_out, const EspAlgs& algs, bool we_initiated_exchange,
                               const Bytes& ni, const Bytes& nr, const crypto::SecretBytes& shared,
                               const std::vector<TrafficSelector>& ts_local,
                               const std::vector<TrafficSelector>& ts_remote, bool use_outbound) {
  Engine::TunnelCtx& t = *tunnel_;
  const auto suite = crypto::parse_suite(algs.suite);
  const size_t enc = suite->cipher_key_len() + suite->salt_len();
  const size_t integ = suite->is_aead() ? 0 : suite->auth_key_len();
  // Section 2.17: initiator-to-responder keys first, encryption then
  // integrity, then the other direction.
  crypto::SecretBytes km = child_keymat(*prf_, keys_.sk_d.span(), shared.span(), ni, nr, 2 * (enc + integ));
  const auto k = km.span();
  ChildSa c;
  c.id = e_.next_child_id_++;
  c.tunnel = t.cfg.name;
  c.spi_in = spi_in;
  c.spi_out = spi_out;
  c.algs = algs;
  const size_t out_at = we_initiated_exchange ? 0 : enc + integ;
  const size_t in_at = we_initiated_exchange ? enc + integ : 0;
  c.key_out = crypto::SecretBytes(k.subspan(out_at, enc));
  c.key_in = crypto::SecretBytes(k.subspan(in_at, enc));
  if (integ) {
    c.integ_out = crypto::SecretBytes(k.subspan(out_at + enc, integ));
    c.integ_in = crypto::SecretBytes(k.subspan(in_at + enc, integ));
  }
  c.udp_encap = natt_;
  c.local = local_;
  c.remote = remote_;
  if (!natt_) c.local.port = c.remote.port = 4500;
  to_prefixes(ts_local, c.local_ts);
  to_prefixes(ts_remote, c.remote_ts);
  c.transport = t.cfg.mode == api::Mode::kTransport;
  e_.host_.install_child(c, use_outbound);
  e_.counters_.child_sas++;
  Child ch;
  ch.id = c.id;
  ch.spi_in = spi_in;
  ch.spi_out = spi_out;
  ch.algs = algs;
  ch.ts_local = ts_local;
  ch.ts_remote = ts_remote;
  ch.created = Clock::now();
  const auto& life = t.cfg.lifetime;
  ch.rekey_at = life.soft_seconds ? rekey_time(life.soft_seconds, 1.0)
                                  : rekey_time(life.hard_seconds, 0.9);
  ch.outbound_active = use_outbound;
  if (use_outbound) {
    for (auto& other : children_) other.outbound_active = false;
  }
  children_.push_back(std::move(ch));
  return children_.back();
}

}  // namespace portcullis::ctl::ike
