// codec.cc: frames around the per-message bodies of codec_sa.cc,
// codec_net.cc and codec_reply.cc.
#include "control/api/codec.h"

#include <stdexcept>

#include "control/api/codec_internal.h"

namespace portcullis::ctl::api {

void encode_to(const Message& m, WireBuffer& out) {
  const size_t start = out.size();
  try {
    out.resize(start + kHeaderSize);
    detail::TlvWriter w(out);
    std::visit([&w](const auto& v) { detail::encode_body(v, w); }, m);
  } catch (...) {
    out.resize(start);
    throw;
  }
  const size_t payload = out.size() - start - kHeaderSize;
  if (payload > kMaxPayload) {
    out.resize(start);
    throw std::length_error(std::string(type_name(type_of(m))) + " payload of " +
                            std::to_string(payload) + " bytes exceeds the " +
                            std::to_string(kMaxPayload) + "-byte limit");
  }
  Header h;
  h.type = static_cast<uint16_t>(type_of(m));
  h.request_id = request_id_of(m);
  h.payload_len = static_cast<uint32_t>(payload);
  write_header(out.data() + start, h);
}

WireBuffer encode(const Message& m) {
  WireBuffer out;
  out.reserve(256);
  encode_to(m, out);
  return out;
}

namespace {

template <class T>
DecodeResult decode_as(std::span<const uint8_t> payload, uint32_t request_id) {
  Message msg(std::in_place_type<T>);
  T& m = std::get<T>(msg);
  m.request_id = request_id;
  detail::AttrParser p(payload, type_name(T::kType));
  detail::decode_body(p, m);
  if (!p.ok()) return p.take_error(request_id);
  return msg;
}

}  // namespace

DecodeResult decode(std::span<const uint8_t> frame) {
  if (frame.size() < kHeaderSize) {
    return DecodeError{
        Status::kMalformed,
        "frame of " + std::to_string(frame.size()) + " bytes is shorter than the 16-byte header", 0,
        false};
  }
  const Header h = read_header(frame.data());
  if (auto e = check_framing(h)) return *e;
  if (h.version != kVersion) {
    return DecodeError{Status::kVersionMismatch,
                       "protocol version " + std::to_string(h.version) +
                           " not supported: this side speaks version " + std::to_string(kVersion) +
                           "; run a portcullisd and portcullis-dataplane of the same release",
                       h.request_id, false};
  }
  const auto payload = frame.subspan(kHeaderSize);
  if (payload.size() != h.payload_len) {
    return DecodeError{Status::kMalformed,
                       "header announces " + std::to_string(h.payload_len) +
                           " payload bytes but the frame holds " + std::to_string(payload.size()),
                       h.request_id, false};
  }
  const uint32_t id = h.request_id;
  switch (static_cast<MsgType>(h.type)) {
    case MsgType::kReply:
      return decode_as<Reply>(payload, id);
    case MsgType::kBegin:
      return decode_as<Begin>(payload, id);
    case MsgType::kCommit:
      return decode_as<Commit>(payload, id);
    case MsgType::kAbort:
      return decode_as<Abort>(payload, id);
    case MsgType::kFlush:
      return decode_as<Flush>(payload, id);
    case MsgType::kSaAdd:
      return decode_as<SaAdd>(payload, id);
    case MsgType::kSaUpdate:
      return decode_as<SaUpdate>(payload, id);
    case MsgType::kSaDel:
      return decode_as<SaDel>(payload, id);
    case MsgType::kSaQuery:
      return decode_as<SaQuery>(payload, id);
    case MsgType::kPolicyAdd:
      return decode_as<PolicyAdd>(payload, id);
    case MsgType::kPolicyDel:
      return decode_as<PolicyDel>(payload, id);
    case MsgType::kRouteAdd:
      return decode_as<RouteAdd>(payload, id);
    case MsgType::kRouteDel:
      return decode_as<RouteDel>(payload, id);
    case MsgType::kNeighAdd:
      return decode_as<NeighAdd>(payload, id);
    case MsgType::kNeighDel:
      return decode_as<NeighDel>(payload, id);
    case MsgType::kPortConfig:
      return decode_as<PortConfig>(payload, id);
    case MsgType::kStatsGet:
      return decode_as<StatsGet>(payload, id);
    case MsgType::kInject:
      return decode_as<Inject>(payload, id);
    case MsgType::kSaExpire:
      return decode_as<SaExpire>(payload, id);
    case MsgType::kAcquire:
      return decode_as<Acquire>(payload, id);
    case MsgType::kPunt:
      return decode_as<Punt>(payload, id);
  }
  return DecodeError{Status::kUnknownType,
                     "message type " + std::to_string(h.type) + " unknown to protocol version " +
                         std::to_string(kVersion),
                     id, false};
}

std::string clamp_error(std::string s) {
  if (s.size() > kMaxErrorLen) {
    size_t n = kMaxErrorLen;
    // Back off to the start of the character that the cut would split.
    while (n > 0 && (static_cast<uint8_t>(s[n]) & 0xc0) == 0x80) --n;
    s.resize(n);
  }
  if (!detail::utf8_valid(s)) {
    // A handler produced bytes that are not text; keep what is readable.
    for (char& c : s) {
      if (c == 0 || static_cast<uint8_t>(c) >= 0x80) c = '?';
    }
  }
  return s;
}

Reply error_reply(const DecodeError& e) {
  Reply r;
  r.request_id = e.request_id;
  r.status = e.status;
  r.error = clamp_error(e.message);
  return r;
}

}  // namespace portcullis::ctl::api
