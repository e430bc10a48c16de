// codec_reply.cc: bodies of the messages without fields (begin, commit,
// abort, flush, stats_get) and of the reply with its payloads.
#include "control/api/codec_internal.h"

namespace portcullis::ctl::api::detail {

namespace {

// Messages without fields still walk their attributes, so that a malformed
// run of attributes from a newer peer is reported rather than ignored.
void skip_all(AttrParser& p) {
  Tlv a;
  while (p.next(a)) {
  }
}

// PayloadKind says which ReplyPayload a reply carries. Stats with no
// counters must survive a round trip, so the kind is explicit rather than
// guessed from which attributes are present.
enum class PayloadKind : uint8_t { kNone = 0, kSaInfo = 1, kStats = 2 };

}  // namespace

void encode_body(const Begin&, TlvWriter&) {}
void encode_body(const Commit&, TlvWriter&) {}
void encode_body(const Abort&, TlvWriter&) {}
void encode_body(const Flush&, TlvWriter&) {}
void encode_body(const StatsGet&, TlvWriter&) {}
void decode_body(AttrParser& p, Begin&) { skip_all(p); }
void decode_body(AttrParser& p, Commit&) { skip_all(p); }
void decode_body(AttrParser& p, Abort&) { skip_all(p); }
void decode_body(AttrParser& p, Flush&) { skip_all(p); }
void decode_body(AttrParser& p, StatsGet&) { skip_all(p); }

void encode_body(const Reply& m, TlvWriter& w) {
  w.u16(Attr::kStatus, static_cast<uint16_t>(m.status));
  if (!m.error.empty()) w.str(Attr::kError, m.error);
  if (const auto* info = std::get_if<SaInfo>(&m.payload)) {
    w.enumeration(Attr::kPayloadKind, PayloadKind::kSaInfo);
    w.u64(Attr::kInfoPackets, info->packets);
    w.u64(Attr::kInfoBytes, info->bytes);
    w.u64(Attr::kInfoLastUseNs, info->last_use_ns);
    w.u64(Attr::kInfoDrops, info->drops);
    w.u64(Attr::kInfoSeq, info->seq);
    w.u32(Attr::kInfoEvents, info->events);
  } else if (const auto* stats = std::get_if<Stats>(&m.payload)) {
    w.enumeration(Attr::kPayloadKind, PayloadKind::kStats);
    for (const Counter& c : stats->counters) {
      const size_t mark = w.open(Attr::kCounter);
      w.str(Attr::kCounterName, c.name);
      w.u64(Attr::kCounterValue, c.value);
      w.close(mark);
    }
  }
}

void decode_body(AttrParser& p, Reply& m) {
  uint16_t status = 0;
  uint8_t kind = 0;
  SaInfo info;
  Stats stats;
  Tlv a;
  while (p.next(a)) {
    switch (a.attr()) {
      // Any status value is kept: a newer peer may know more of them.
      case Attr::kStatus:
        p.u16(a, status);
        break;
      case Attr::kError:
        p.utf8(a, m.error, kMaxErrorLen);
        break;
      case Attr::kPayloadKind:
        p.u8(a, kind);
        break;
      case Attr::kInfoPackets:
        p.u64(a, info.packets);
        break;
      case Attr::kInfoBytes:
        p.u64(a, info.bytes);
        break;
      case Attr::kInfoLastUseNs:
        p.u64(a, info.last_use_ns);
        break;
      case Attr::kInfoDrops:
        p.u64(a, info.drops);
        break;
      case Attr::kInfoSeq:
        p.u64(a, info.seq);
        break;
      case Attr::kInfoEvents:
        p.u32(a, info.events);
        break;
      case Attr::kCounter: {
        if (!p.element(a, stats.counters.size(), kMaxCounters)) break;
        Counter& c = stats.counters.emplace_back();
        AttrParser sub(a.value, "counter", p, stats.counters.size() - 1);
        Tlv t;
        while (sub.next(t)) {
          switch (t.attr()) {
            case Attr::kCounterName:
              sub.ascii(t, c.name, kMaxCounterNameLen);
              break;
            case Attr::kCounterValue:
              sub.u64(t, c.value);
              break;
            default:
              break;
          }
        }
        sub.require(Attr::kCounterName);
        sub.require(Attr::kCounterValue);
        break;
      }
      default:
        break;
    }
  }
  p.require(Attr::kStatus);
  m.status = static_cast<Status>(status);
  // A payload kind this version does not know is dropped, like an unknown
  // attribute: the status and error still reach the caller.
  switch (static_cast<PayloadKind>(kind)) {
    case PayloadKind::kSaInfo:
      m.payload = info;
      break;
    case PayloadKind::kStats:
      m.payload = std::move(stats);
      break;
    case PayloadKind::kNone:
      break;
  }
}

}  // namespace portcullis::ctl::api::detail
