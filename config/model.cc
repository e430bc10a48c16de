#include "config/model.h"

#include <algorithm>

#include "crypto/suite.h"

namespace portcullis::config {

std::vector<std::string> CryptoPolicy::profile_suites() const {
  // DESIGN.md, "Crypto profiles": PRIME is ESP AES-128-GCM-16; its stronger
  // variant adds AES-256-GCM-16. An unknown profile allows nothing, so a
  // typo can never widen what is accepted (validate() reports it).
  if (profile == "prime") return {"aes128gcm16"};
  if (profile == "prime-256") return {"aes128gcm16", "aes256gcm16"};
  return {};
}

bool CryptoPolicy::esp_allowed(std::string_view suite) const {
  // Compare parsed suites, not names, so that the aliases parse_suite
  // accepts ("aes128gcm") are treated like their canonical names.
  const auto wanted = crypto::parse_suite(suite);
  if (!wanted || !wanted->valid()) return false;
  for (const auto& name : profile_suites()) {
    if (crypto::parse_suite(name) == wanted) return true;
  }
  for (const auto& item : allow) {
    if (crypto::parse_suite(item) == wanted) return true;
  }
  return false;
}

bool CryptoPolicy::allows(std::string_view item) const {
  return std::find(allow.begin(), allow.end(), item) != allow.end();
}

const Port* Config::find_port(std::string_view name) const {
  for (const auto& p : ports) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const Tunnel* Config::find_tunnel(std::string_view name) const {
  for (const auto& t : tunnels) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

Tunnel* Config::find_tunnel(std::string_view name) {
  for (auto& t : tunnels) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

}  // namespace portcullis::config
