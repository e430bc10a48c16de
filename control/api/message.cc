#include "control/api/message.h"

#include <arpa/inet.h>
#include <sodium.h>

#include <charconv>

namespace portcullis::ctl::api {

const char* type_name(MsgType t) {
  switch (t) {
    case MsgType::kReply:
      return "reply";
    case MsgType::kBegin:
      return "begin";
    case MsgType::kCommit:
      return "commit";
    case MsgType::kAbort:
      return "abort";
    case MsgType::kFlush:
      return "flush";
    case MsgType::kSaAdd:
      return "sa_add";
    case MsgType::kSaUpdate:
      return "sa_update";
    case MsgType::kSaDel:
      return "sa_del";
    case MsgType::kSaQuery:
      return "sa_query";
    case MsgType::kPolicyAdd:
      return "policy_add";
    case MsgType::kPolicyDel:
      return "policy_del";
    case MsgType::kRouteAdd:
      return "route_add";
    case MsgType::kRouteDel:
      return "route_del";
    case MsgType::kNeighAdd:
      return "neigh_add";
    case MsgType::kNeighDel:
      return "neigh_del";
    case MsgType::kPortConfig:
      return "port_config";
    case MsgType::kStatsGet:
      return "stats_get";
    case MsgType::kInject:
      return "inject";
    case MsgType::kSaExpire:
      return "sa_expire";
    case MsgType::kAcquire:
      return "acquire";
    case MsgType::kPunt:
      return "punt";
  }
  return nullptr;
}

bool is_request(MsgType t) {
  return type_name(t) != nullptr && t != MsgType::kReply && !is_event(t);
}

bool is_event(MsgType t) {
  return t == MsgType::kSaExpire || t == MsgType::kAcquire || t == MsgType::kPunt;
}

std::string status_name(Status s) {
  switch (s) {
    case Status::kOk:
      return "ok";
    case Status::kMalformed:
      return "malformed";
    case Status::kVersionMismatch:
      return "version_mismatch";
    case Status::kUnknownType:
      return "unknown_type";
    case Status::kTooLarge:
      return "too_large";
    case Status::kInvalid:
      return "invalid";
    case Status::kNotFound:
      return "not_found";
    case Status::kExists:
      return "exists";
    case Status::kBadState:
      return "bad_state";
    case Status::kNoSpace:
      return "no_space";
    case Status::kInternal:
      return "internal";
  }
  return "status(" + std::to_string(static_cast<unsigned>(s)) + ")";
}

IpAddr IpAddr::v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddr ip;
  ip.family = Family::kIpv4;
  ip.bytes[0] = a, ip.bytes[1] = b, ip.bytes[2] = c, ip.bytes[3] = d;
  return ip;
}

IpAddr IpAddr::v6(const std::array<uint8_t, 16>& b) {
  IpAddr ip;
  ip.family = Family::kIpv6;
  ip.bytes = b;
  return ip;
}

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
  if (text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN] = {};
  text.copy(buf, text.size());
  IpAddr ip;
  if (inet_pton(AF_INET, buf, ip.bytes.data()) == 1) {
    ip.family = Family::kIpv4;
    return ip;
  }
  if (inet_pton(AF_INET6, buf, ip.bytes.data()) == 1) {
    ip.family = Family::kIpv6;
    return ip;
  }
  return std::nullopt;
}

size_t IpAddr::size() const {
  switch (family) {
    case Family::kIpv4:
      return 4;
    case Family::kIpv6:
      return 16;
    case Family::kNone:
      break;
  }
  return 0;
}

std::string IpAddr::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  switch (family) {
    case Family::kIpv4:
      inet_ntop(AF_INET, bytes.data(), buf, sizeof buf);
      return buf;
    case Family::kIpv6:
      inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
      return buf;
    case Family::kNone:
      break;
  }
  return "none";
}

std::optional<Prefix> Prefix::parse(std::string_view text) {
  const size_t slash = text.find('/');
  auto addr = IpAddr::parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  const unsigned max = addr->family == Family::kIpv4 ? 32 : 128;
  unsigned len = max;
  if (slash != std::string_view::npos) {
    const std::string_view l = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(l.data(), l.data() + l.size(), len);
    if (ec != std::errc() || end != l.data() + l.size() || l.empty() || len > max) {
      return std::nullopt;
    }
  }
  return Prefix{*addr, static_cast<uint8_t>(len)};
}

std::string Prefix::str() const { return addr.str() + "/" + std::to_string(len); }

bool KeyBytes::operator==(const KeyBytes& o) const {
  if (size() != o.size()) return false;
  if (empty()) return true;
  return sodium_memcmp(span().data(), o.span().data(), size()) == 0;
}

MsgType type_of(const Message& m) {
  return std::visit([](const auto& v) { return std::decay_t<decltype(v)>::kType; }, m);
}

uint32_t request_id_of(const Message& m) {
  return std::visit([](const auto& v) { return v.request_id; }, m);
}

void set_request_id(Message& m, uint32_t id) {
  std::visit([id](auto& v) { v.request_id = id; }, m);
}

}  // namespace portcullis::ctl::api
