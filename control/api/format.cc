#include "control/api/format.h"

#include <sodium.h>

#include <cstdio>

#include "crypto/secure.h"

namespace portcullis::ctl::api {

namespace {

const char* name(Direction d) { return d == Direction::kIn ? "in" : "out"; }
const char* name(Mode m) { return m == Mode::kTunnel ? "tunnel" : "transport"; }
const char* name(DfMode d) {
  switch (d) {
    case DfMode::kCopy:
      return "copy";
    case DfMode::kSet:
      return "set";
    case DfMode::kClear:
      return "clear";
  }
  return "?";
}
const char* name(Action a) {
  switch (a) {
    case Action::kProtect:
      return "protect";
    case Action::kBypass:
      return "bypass";
    case Action::kDiscard:
      return "discard";
  }
  return "?";
}
const char* name(PortRole r) { return r == PortRole::kProtected ? "protected" : "unprotected"; }
const char* name(ExpireKind k) { return k == ExpireKind::kSoft ? "soft" : "hard"; }
const char* name(ExpireBy b) {
  switch (b) {
    case ExpireBy::kTime:
      return "time";
    case ExpireBy::kBytes:
      return "bytes";
    case ExpireBy::kPackets:
      return "packets";
    case ExpireBy::kSeq:
      return "seq";
  }
  return "?";
}

std::string u(uint64_t v) { return std::to_string(v); }

// Line accumulates " key=value" fields after the message's name.
class Line {
 public:
  template <class M>
  explicit Line(const M& m) : s_(type_name(M::kType)) {
    s_ += " #" + u(m.request_id);
  }
  Line& f(const char* key, const std::string& value) {
    s_ += ' ';
    s_ += key;
    s_ += '=';
    s_ += value;
    return *this;
  }
  Line& word(const char* w) {
    s_ += ' ';
    s_ += w;
    return *this;
  }
  std::string take() { return std::move(s_); }

 private:
  std::string s_;
};

std::string ports(const PortRange& r) {
  if (r.lo == 0 && r.hi == 65535) return "any";
  return r.lo == r.hi ? u(r.lo) : u(r.lo) + "-" + u(r.hi);
}

std::string lifetime(const Lifetime& l) {
  auto pair = [](uint64_t soft, uint64_t hard) {
    return (soft ? u(soft) : "-") + "/" + (hard ? u(hard) : "-");
  };
  return "bytes:" + pair(l.soft_bytes, l.hard_bytes) +
         ",packets:" + pair(l.soft_packets, l.hard_packets) +
         ",seconds:" + pair(l.soft_seconds, l.hard_seconds);
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

std::string packet(const std::vector<uint8_t>& p) {
  std::string s = "<";
  s += u(p.size());
  s += " bytes>";
  return s;
}

// Quoting keeps a hostile error text from forging log fields or lines.
std::string quoted(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    const auto b = static_cast<uint8_t>(c);
    if (c == '"' || c == '\\') {
      q += '\\';
      q += c;
    } else if (b < 0x20 || b == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", b);
      q += buf;
    } else {
      q += c;
    }
  }
  return q + "\"";
}

std::string format(const Begin& m) { return Line(m).take(); }
std::string format(const Commit& m) { return Line(m).take(); }
std::string format(const Abort& m) { return Line(m).take(); }
std::string format(const Flush& m) { return Line(m).take(); }
std::string format(const StatsGet& m) { return Line(m).take(); }

std::string format(const SaAdd& m) {
  Line l(m);
  l.f("sa", u(m.sa_id)).word(name(m.direction)).f("spi", hex32(m.spi)).f("suite", m.suite);
  l.f("cipher_key", key_fingerprint(m.cipher_key.span()));
  l.f("auth_key", key_fingerprint(m.auth_key.span()));
  l.f("mode", name(m.mode)).f("esn", u(m.esn));
  l.f("src", m.tunnel_src.str()).f("dst", m.tunnel_dst.str());
  if (m.udp_encap) l.f("udp", u(m.udp_src_port) + "->" + u(m.udp_dst_port));
  l.f("replay", m.anti_replay ? u(m.replay_window) : "off");
  l.f("ttl", u(m.ttl)).f("dscp", m.dscp < 0 ? "copy" : u(static_cast<uint64_t>(m.dscp)));
  l.f("df", name(m.df)).f("life", lifetime(m.lifetime)).f("first_seq", u(m.first_seq));
  if (m.soft_seq_remaining) l.f("soft_seq_remaining", u(m.soft_seq_remaining));
  if (m.seq_lease) l.f("seq_lease", u(m.seq_lease));
  for (const Selector& s : m.selectors) l.f("ts", to_string(s));
  return l.take();
}

std::string format(const SaUpdate& m) {
  Line l(m);
  l.f("sa", u(m.sa_id));
  if (m.tunnel_src) l.f("src", m.tunnel_src->str());
  if (m.tunnel_dst) l.f("dst", m.tunnel_dst->str());
  if (m.udp_src_port) l.f("udp_src_port", u(*m.udp_src_port));
  if (m.udp_dst_port) l.f("udp_dst_port", u(*m.udp_dst_port));
  if (m.seq_lease) l.f("seq_lease", u(*m.seq_lease));
  return l.take();
}

std::string format(const SaDel& m) { return Line(m).f("sa", u(m.sa_id)).take(); }
std::string format(const SaQuery& m) { return Line(m).f("sa", u(m.sa_id)).take(); }

std::string format(const PolicyAdd& m) {
  Line l(m);
  l.f("policy", u(m.policy_id)).f("prio", u(m.priority)).word(name(m.direction));
  l.f("sel", to_string(m.selector)).word(name(m.action));
  if (m.action == Action::kProtect || m.sa_id) l.f("sa", u(m.sa_id));
  return l.take();
}

std::string format(const PolicyDel& m) { return Line(m).f("policy", u(m.policy_id)).take(); }

std::string format(const RouteAdd& m) {
  Line l(m);
  l.f("prefix", m.prefix.str());
  if (m.next_hop) l.f("via", m.next_hop->str());
  return l.f("port", u(m.port_id)).take();
}

std::string format(const RouteDel& m) { return Line(m).f("prefix", m.prefix.str()).take(); }

std::string format(const NeighAdd& m) {
  char mac[18];
  std::snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", m.mac[0], m.mac[1], m.mac[2], m.mac[3],
                m.mac[4], m.mac[5]);
  return Line(m).f("port", u(m.port_id)).f("ip", m.ip.str()).f("mac", mac).take();
}

std::string format(const NeighDel& m) { return Line(m).f("port", u(m.port_id)).f("ip", m.ip.str()).take(); }

std::string format(const PortConfig& m) {
  Line l(m);
  l.f("port", u(m.port_id)).word(name(m.role));
  for (const Prefix& a : m.addresses) l.f("addr", a.str());
  return l.f("mtu", u(m.mtu)).take();
}

std::string format(const Inject& m) {
  return Line(m).f("port", u(m.port_id)).f("packet", packet(m.packet)).take();
}

std::string format(const Reply& m) {
  Line l(m);
  l.f("status", status_name(m.status));
  if (!m.error.empty()) l.f("error", quoted(m.error));
  if (const auto* i = std::get_if<SaInfo>(&m.payload)) {
    l.f("packets", u(i->packets)).f("bytes", u(i->bytes)).f("last_use_ns", u(i->last_use_ns));
    l.f("drops", u(i->drops)).f("seq", u(i->seq)).f("events", hex32(i->events));
  } else if (const auto* s = std::get_if<Stats>(&m.payload)) {
    l.f("counters", u(s->counters.size()));
  }
  return l.take();
}

std::string format(const SaExpire& m) {
  return Line(m).f("sa", u(m.sa_id)).word(name(m.kind)).f("by", name(m.by)).take();
}

std::string format(const Acquire& m) {
  return Line(m).f("policy", u(m.policy_id)).f("sel", to_string(m.selector)).take();
}

std::string format(const Punt& m) {
  return Line(m).f("port", u(m.port_id)).f("packet", packet(m.packet)).take();
}

}  // namespace

std::string key_fingerprint(std::span<const uint8_t> key) {
  if (key.empty()) return "none";
  crypto::init_sodium();
  uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, key.data(), key.size());
  char buf[40];
  std::snprintf(buf, sizeof buf, "sha256:%02x%02x%02x%02x/%zu", digest[0], digest[1], digest[2],
                digest[3], key.size());
  return buf;
}

std::string to_string(const Selector& s) {
  std::string r =
      s.src.str() + "[" + ports(s.src_ports) + "]->" + s.dst.str() + "[" + ports(s.dst_ports) + "]";
  if (s.proto) r += ",proto:" + u(s.proto);
  return r;
}

std::string to_string(const Message& m) {
  return std::visit([](const auto& v) { return format(v); }, m);
}

}  // namespace portcullis::ctl::api
