// identity.cc: IKE identities (RFC 7296 section 3.5), the credentials a
// tunnel authenticates with, and the NAT detection hash (section 2.23).
//
// Config syntax for ike.local_id / ike.remote_id, as strongSwan writes
// them so operators can copy settings across: an IP address; "@name" or a
// bare host name for ID_FQDN; "user@example.org" for ID_RFC822_ADDR;
// "C=GB, O=Example, CN=gw1" for ID_DER_ASN1_DN. An empty local_id is the
// certificate's subject DN, or with a pre-shared key the local address;
// an empty remote_id accepts any identity the credentials prove.
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <memory>

#include "config/secrets.h"
#include "control/ike/ike_sa.h"

namespace portcullis::ctl::ike {

namespace {

struct NameDeleter {
  void operator()(X509_NAME* n) const { X509_NAME_free(n); }
};
using NamePtr = std::unique_ptr<X509_NAME, NameDeleter>;

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(s.begin());
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// dn_from_text parses "C=GB, O=Example, CN=gw1" (commas inside values
// escaped as "\,").
std::optional<Bytes> dn_from_text(const std::string& text) {
  NamePtr name(X509_NAME_new());
  std::string part;
  auto flush = [&]() -> bool {
    const std::string p = trim(part);
    part.clear();
    if (p.empty()) return true;
    const size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0) return false;
    const std::string key = trim(p.substr(0, eq)), value = trim(p.substr(eq + 1));
    return X509_NAME_add_entry_by_txt(name.get(), key.c_str(), MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char*>(value.c_str()),
                                      static_cast<int>(value.size()), -1, 0) == 1;
  };
  for (size_t i = 0; i < text.size(); i++) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      part += text[++i];
    } else if (text[i] == ',' || text[i] == '/') {
      if (!flush()) return std::nullopt;
    } else {
      part += text[i];
    }
  }
  if (!flush() || X509_NAME_entry_count(name.get()) == 0) return std::nullopt;
  unsigned char* der = nullptr;
  const int n = i2d_X509_NAME(name.get(), &der);
  if (n <= 0) return std::nullopt;
  Bytes out(der, der + n);
  OPENSSL_free(der);
  return out;
}

NamePtr dn_parse(const Bytes& der) {
  const unsigned char* p = der.data();
  NamePtr n(d2i_X509_NAME(nullptr, &p, static_cast<long>(der.size())));
  if (n && p != der.data() + der.size()) n.reset();
  return n;
}

std::optional<IdPayload> id_from_text(const std::string& text, std::string& error) {
  IdPayload id;
  if (auto ip = api::IpAddr::parse(text)) {
    id.type = ip->family == api::Family::kIpv4 ? kIdIpv4 : kIdIpv6;
    id.data.assign(ip->bytes.begin(), ip->bytes.begin() + static_cast<long>(ip->size()));
    return id;
  }
  if (text.find('=') != std::string::npos) {
    auto dn = dn_from_text(text);
    if (!dn) {
      error = "identity \"" + text + "\" is not a distinguished name like \"C=GB, O=Example, CN=gw1\"";
      return std::nullopt;
    }
    id.type = kIdDerAsn1Dn;
    id.data = *dn;
    return id;
  }
  std::string s = text;
  if (!s.empty() && s[0] == '@') {
    s.erase(s.begin());
    id.type = kIdFqdn;
  } else {
    id.type = s.find('@') != std::string::npos ? kIdRfc822 : kIdFqdn;
  }
  if (s.empty()) {
    error = "identity \"" + text + "\" is empty";
    return std::nullopt;
  }
  id.data.assign(s.begin(), s.end());
  return id;
}

std::string quoted(const std::string& v) {
  std::string s = "\"";
  s += v;
  s += '"';
  return s;
}

bool iequal(const Bytes& a, const Bytes& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](uint8_t x, uint8_t y) {
           return std::tolower(x) == std::tolower(y);
         });
}

}  // namespace

std::unique_ptr<Credentials> load_credentials(const config::Tunnel& t, std::string& error) {
  auto c = std::make_unique<Credentials>();
  if (t.ike.auth == "psk") {
    auto k = config::read_secret_file(t.ike.psk_file, 0, &error);
    if (!k) return nullptr;
    c->psk = k->bytes;
  } else {
    // The private key is a secret file like the others (config/secrets.h):
    // 0600 or stricter.
    struct stat st {};
    if (::stat(t.ike.private_key.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      error = t.ike.private_key + ": mode " + mode + " is too open; private keys must be 0600 or stricter (chmod 600 " +
              t.ike.private_key + ")";
      return nullptr;
    }
    c->key = PrivateKey::load(t.ike.private_key, error);
    if (!c->key) return nullptr;
    if ((t.ike.auth == "ed25519") != (c->key->kind() == "ed25519")) {
      error = t.ike.private_key + ": a " + c->key->kind() + " key does not fit auth = \"" + t.ike.auth + "\"";
      return nullptr;
    }
    c->cert = Certificate::load(t.ike.certificate, error);
    if (!c->cert) return nullptr;
    c->trust = TrustStore::load(t.ike.ca, error);
    if (!c->trust) return nullptr;
  }
  if (!t.ike.local_id.empty()) {
    auto id = id_from_text(t.ike.local_id, error);
    if (!id) {
      error = "ike.local_id: " + error;
      return nullptr;
    }
    c->local_id = *id;
    if (c->cert && !c->cert->matches_id(id->type, id->data)) {
      error = "ike.local_id \"" + t.ike.local_id + "\" is not named by certificate " + t.ike.certificate + " (" +
              c->cert->subject_text() + "); use its subject DN or one of its subjectAltNames";
      return nullptr;
    }
    // Send the certificate's own encoding of its subject: peers compare
    // DNs byte for byte more often than they should.
    if (c->cert && id->type == kIdDerAsn1Dn) c->local_id.data = c->cert->subject_der();
  } else if (c->cert) {
    c->local_id.type = kIdDerAsn1Dn;
    c->local_id.data = c->cert->subject_der();
  } else {
    c->local_id.type = t.local.family == api::Family::kIpv4 ? kIdIpv4 : kIdIpv6;
    c->local_id.data.assign(t.local.bytes.begin(), t.local.bytes.begin() + static_cast<long>(t.local.size()));
  }
  if (!t.ike.remote_id.empty()) {
    auto id = id_from_text(t.ike.remote_id, error);
    if (!id) {
      error = "ike.remote_id: " + error;
      return nullptr;
    }
    c->remote_id = *id;
    c->remote_id_text = t.ike.remote_id;
  }
  return c;
}

std::string check_credentials(const config::Tunnel& t) {
  std::string error;
  if (load_credentials(t, error)) return {};
  return error.empty() ? std::string("the IKE credentials do not load") : error;
}

bool id_matches(const IdPayload& expected, const IdPayload& got) {
  if (expected.type != got.type) return false;
  switch (got.type) {
    case kIdDerAsn1Dn: {
      NamePtr a = dn_parse(expected.data), b = dn_parse(got.data);
      return a && b && X509_NAME_cmp(a.get(), b.get()) == 0;
    }
    case kIdFqdn:
    case kIdRfc822:
      return iequal(expected.data, got.data);
    default:
      return expected.data == got.data;
  }
}

std::string id_text(const IdPayload& id) {
  auto printable = [](const Bytes& b) {
    std::string s;
    for (uint8_t c : b) s += (c >= 0x20 && c < 0x7f && c != '"') ? static_cast<char>(c) : '?';
    return s;
  };
  switch (id.type) {
    case kIdIpv4:
    case kIdIpv6:
      if (id.data.size() == (id.type == kIdIpv4 ? 4u : 16u)) {
        api::IpAddr a;
        a.family = id.type == kIdIpv4 ? api::Family::kIpv4 : api::Family::kIpv6;
        std::copy(id.data.begin(), id.data.end(), a.bytes.begin());
        return a.str();
      }
      break;
    case kIdFqdn:
    case kIdRfc822:
      return quoted(printable(id.data));
    case kIdDerAsn1Dn:
      if (NamePtr n = dn_parse(id.data)) {
        char buf[256];
        X509_NAME_oneline(n.get(), buf, sizeof buf);
        return quoted(printable(Bytes(buf, buf + std::strlen(buf))));
      }
      break;
    default:
      break;
  }
  return "(ID type " + std::to_string(id.type) + ", " + std::to_string(id.data.size()) + " bytes)";
}

Bytes nat_hash(uint64_t spi_i, uint64_t spi_r, const Endpoint& e) {
  Bytes in;
  for (int i = 7; i >= 0; i--) in.push_back(static_cast<uint8_t>(spi_i >> (8 * i)));
  for (int i = 7; i >= 0; i--) in.push_back(static_cast<uint8_t>(spi_r >> (8 * i)));
  in.insert(in.end(), e.addr.bytes.begin(), e.addr.bytes.begin() + static_cast<long>(e.addr.size()));
  in.push_back(static_cast<uint8_t>(e.port >> 8));
  in.push_back(static_cast<uint8_t>(e.port));
  Bytes out(SHA_DIGEST_LENGTH);
  SHA1(in.data(), in.size(), out.data());
  return out;
}

std::string Endpoint::str() const {
  // Appends rather than operator+ chains: GCC 12 warns falsely on those
  // (-Wrestrict, GCC bug 105329), and CI builds with -Werror.
  std::string s;
  const bool v6 = addr.family == api::Family::kIpv6;
  if (v6) s += '[';
  s += addr.str();
  if (v6) s += ']';
  s += ':';
  s += std::to_string(port);
  return s;
}

}  // namespace portcullis::ctl::ike
