// proposal.h: what a tunnel offers and accepts, as IKEv2 SA payloads
// (RFC 7296 sections 2.7 and 3.3), built from its config and the crypto
// profile (DESIGN.md, "Crypto profiles").
//
// An IKE proposal is one ENCR (an AEAD, so no INTEG), one PRF and one DH
// group. An ESP proposal is the tunnel's suite and its ESN choice, plus,
// for CREATE_CHILD_SA, the IKE SA's DH group for perfect forward secrecy.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/model.h"
#include "control/ike/message.h"

namespace portcullis::ctl::ike {

// IkeAlgs: the transforms of one IKE SA.
struct IkeAlgs {
  uint16_t encr = kEncrAesGcm16;
  uint16_t encr_bits = 128;
  uint16_t prf = kPrfHmacSha256;
  uint16_t dh = kDhEcp256;
  std::string name() const;  // "aes128gcm16-prfsha256-ecp256"
  bool operator==(const IkeAlgs&) const = default;
};

// EspAlgs: the transforms of one Child SA.
struct EspAlgs {
  uint16_t encr = kEncrAesGcm16;
  uint16_t encr_bits = 128;
  uint16_t integ = 0;  // CBC suites: AUTH_HMAC_SHA2_256_128 (12) etc.
  bool esn = true;
  uint16_t dh = 0;  // 0: no PFS exchange
  std::string suite;  // crypto::Suite name, for the data plane
  bool operator==(const EspAlgs&) const = default;
};

// parse_ike_proposal reads "aes128gcm16-prfsha256-ecp256" (the config's
// ike.proposal syntax, checked by config/validate.cc).
std::optional<IkeAlgs> parse_ike_proposal(const std::string& text);

// ike_choices: the IKE proposals a tunnel offers, most preferred first:
// its `ike.proposal`, else the profile's defaults.
std::vector<IkeAlgs> ike_choices(const config::Tunnel& t, const config::CryptoPolicy& policy);

// esp_choice: the tunnel's ESP transforms; nullopt if its suite is unknown.
std::optional<EspAlgs> esp_choice(const config::Tunnel& t);

// ike_sa_payload / esp_sa_payload build SA payloads. `spi` is empty in
// IKE_SA_INIT, 8 bytes for an IKE rekey, 4 bytes for ESP.
SaPayload ike_sa_payload(const std::vector<IkeAlgs>& algs, const Bytes& spi);
SaPayload esp_sa_payload(const EspAlgs& algs, uint32_t spi);

// select_ike: the responder's choice (section 2.7): the first of the
// peer's proposals that matches one of ours exactly on ENCR, PRF and DH.
// Sets `proposal_number` and `peer_spi` (IKE rekey) from it.
std::optional<IkeAlgs> select_ike(const SaPayload& offered, const std::vector<IkeAlgs>& ours,
                                  uint8_t* proposal_number, Bytes* peer_spi);

// select_esp: the first ESP proposal matching ours. With `dh_required`
// (PFS in CREATE_CHILD_SA) the proposal must carry our DH group; without
// it, a DH transform in the proposal is ignored (IKE_AUTH, section 1.2).
std::optional<EspAlgs> select_esp(const SaPayload& offered, const EspAlgs& ours, bool in_create_child,
                                  uint8_t* proposal_number, uint32_t* peer_spi);

// chosen_payload: the one-proposal SA payload a responder returns.
SaPayload chosen_ike_payload(const IkeAlgs& a, uint8_t number, const Bytes& spi);
SaPayload chosen_esp_payload(const EspAlgs& a, uint8_t number, uint32_t spi);

// accept_ike_reply / accept_esp_reply check a responder's answer: exactly
// one proposal, which must be one we offered.
std::optional<IkeAlgs> accept_ike_reply(const SaPayload& reply, const std::vector<IkeAlgs>& offered,
                                        Bytes* peer_spi);
std::optional<EspAlgs> accept_esp_reply(const SaPayload& reply, const EspAlgs& offered, uint32_t* peer_spi);

// describe_offer: "aes128gcm16-prfsha256-ecp256, ..." for logs of a
// proposal mismatch, from the peer's SA payload.
std::string describe_offer(const SaPayload& sa);

}  // namespace portcullis::ctl::ike
