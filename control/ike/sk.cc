// sk.cc: the Encrypted payload (RFC 7296 section 3.14) sealed with an
// AEAD (RFC 5282), and IKE fragmentation (RFC 7383). See sk.h.
//
// The layout of every message built here, one SK or SKF payload after the
// header:
//
//   IKE header (28) | payload header (4; SKF: 8) | IV (8) |
//     AEAD(inner bytes | padding | pad length) | ICV (16)
//
// The AAD is everything before the IV (RFC 5282 section 5.1; RFC 7383
// section 2.5.3 adds the fragment numbers, which sit in the SKF header).
// Sealing adds no padding: the AEADs here are stream modes, and section
// 3.14 lets the Pad Length byte be 0. Opening accepts any padding whose
// length fits, and ignores its contents as section 3.14 asks.
#include "control/ike/sk.h"

#include <algorithm>
#include <stdexcept>

#include "crypto/secure.h"

namespace portcullis::ctl::ike {
namespace {

constexpr size_t kSkHeaderSize = 4;   // generic payload header
constexpr size_t kSkfHeaderSize = 8;  // plus Fragment Number, Total Fragments
// What a chunk of inner bytes costs on top of its own size: IV, Pad Length
// byte, ICV.
constexpr size_t kSealOverhead = Aead::kIvSize + 1 + Aead::kIcvSize;

void store16(uint8_t* p, size_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

// Fragment numbers for seal_one; absent for a plain SK payload.
struct FragmentNumbers {
  uint16_t number, total;
};

// seal_one builds one whole message around one chunk of inner bytes.
Bytes seal_one(const Header& h, PayloadType next, const FragmentNumbers* frag, ByteSpan chunk,
               const Aead& aead, ByteSpan key) {
  const size_t payload_header = frag ? kSkfHeaderSize : kSkHeaderSize;
  const size_t payload_len = payload_header + kSealOverhead + chunk.size();
  const size_t total = kHeaderSize + payload_len;
  if (total > kMaxMessageSize)
    throw std::length_error("SK: a message of " + std::to_string(total) + " bytes is over the " +
                            std::to_string(kMaxMessageSize) + "-byte limit");
  const size_t iv_at = kHeaderSize + payload_header;
  Bytes out(iv_at + Aead::kIvSize);
  out.reserve(total);
  serialize_header(h, frag ? PayloadType::kSkf : PayloadType::kSk, static_cast<uint32_t>(total),
                   out.data());
  uint8_t* p = out.data() + kHeaderSize;
  p[0] = static_cast<uint8_t>(next);
  p[1] = 0;
  store16(p + 2, payload_len);
  if (frag) {
    store16(p + 4, frag->number);
    store16(p + 6, frag->total);
  }
  crypto::random_bytes(std::span(out).subspan(iv_at, Aead::kIvSize));
  // Copies: seal appends to `out`, which may move it.
  const Bytes aad(out.begin(), out.begin() + iv_at);
  const Bytes iv(out.begin() + iv_at, out.end());
  Bytes plain(chunk.begin(), chunk.end());
  plain.push_back(0);  // Pad Length
  if (!aead.seal(key, iv, aad, plain, out))
    throw std::invalid_argument("SK: the AEAD refused the key (" + std::to_string(key.size()) +
                                " bytes, " + std::to_string(aead.key_size()) + " expected)");
  return out;
}

// open_chunk checks and decrypts an SK or SKF body (IV | ciphertext | ICV)
// that was parsed from the end of `wire`, leaving the inner bytes, padding
// removed, in `plain`.
bool open_chunk(ByteSpan wire, ByteSpan body, const Aead& aead, ByteSpan key, Bytes& plain,
                std::string& why) {
  if (body.size() < kSealOverhead) {
    why = "encrypted payload of " + std::to_string(body.size()) +
          " bytes: too short for IV, pad length and ICV";
    return false;
  }
  // The AAD is taken from `wire` up to the IV; the body must be the last
  // bytes of `wire` for that to be the right place.
  if (wire.size() < kHeaderSize + kSkHeaderSize + body.size() ||
      !std::equal(body.begin(), body.end(), wire.end() - static_cast<ptrdiff_t>(body.size()))) {
    why = "the wire bytes given are not the ones the message was parsed from";
    return false;
  }
  const ByteSpan aad = wire.first(wire.size() - body.size());
  if (!aead.open(key, body.first(Aead::kIvSize), aad, body.subspan(Aead::kIvSize), plain)) {
    why = "ICV mismatch: corrupted, forged, or sealed under another key";
    return false;
  }
  const size_t pad = plain.back();
  if (pad >= plain.size()) {
    why = "pad length " + std::to_string(pad) + " exceeds the " + std::to_string(plain.size() - 1) +
          " bytes before it";
    return false;
  }
  plain.resize(plain.size() - 1 - pad);
  return true;
}

}  // namespace

Bytes seal_message(const Header& h, PayloadType first, ByteSpan inner, const Aead& aead,
                   ByteSpan key) {
  return seal_one(h, first, nullptr, inner, aead, key);
}

std::vector<Bytes> seal_fragments(const Header& h, PayloadType first, ByteSpan inner,
                                  const Aead& aead, ByteSpan key, size_t max_size,
                                  bool allow_fragments) {
  const size_t whole = kHeaderSize + kSkHeaderSize + kSealOverhead + inner.size();
  if (!allow_fragments || whole <= max_size) return {seal_message(h, first, inner, aead, key)};
  // RFC 7383 section 2.5: each fragment is a whole message with its own
  // header, SKF header, IV, padding and ICV around a slice of the inner
  // bytes; only fragment 1 names the first inner payload.
  const size_t fixed = kHeaderSize + kSkfHeaderSize + kSealOverhead;
  if (max_size <= fixed)
    throw std::invalid_argument("fragment size " + std::to_string(max_size) +
                                " leaves no room for data (" + std::to_string(fixed) +
                                " bytes are headers, IV and ICV)");
  const size_t per = max_size - fixed;
  const size_t count = (inner.size() + per - 1) / per;
  if (count > 0xffff) throw std::length_error("more than 65535 fragments: raise the fragment size");
  std::vector<Bytes> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const FragmentNumbers n{static_cast<uint16_t>(i + 1), static_cast<uint16_t>(count)};
    const ByteSpan chunk = inner.subspan(i * per, std::min(per, inner.size() - i * per));
    out.push_back(seal_one(h, i == 0 ? first : PayloadType::kNone, &n, chunk, aead, key));
  }
  return out;
}

bool open_message(ByteSpan wire, const Message& parsed, const Aead& aead, ByteSpan key,
                  std::vector<Payload>& inner, std::string& why) {
  const SkPayload* sk =
      parsed.payloads.empty() ? nullptr : std::get_if<SkPayload>(&parsed.payloads.back());
  if (!sk) {
    const bool fragment =
        !parsed.payloads.empty() && std::holds_alternative<SkfPayload>(parsed.payloads.back());
    why = fragment ? "an Encrypted Fragment: reassemble it" : "no Encrypted payload";
    return false;
  }
  Bytes plain;
  if (!open_chunk(wire, sk->body, aead, key, plain, why)) return false;
  ParseError err;
  if (!parse_payloads(sk->first, plain, inner, err)) {
    why = "inside the Encrypted payload: " + err.what;
    return false;
  }
  return true;
}

void Reassembly::clear() {
  active_ = false;
  message_id_ = 0;
  total_ = 0;
  first_ = PayloadType::kNone;
  parts_.clear();
  bytes_ = 0;
}

Reassembly::Result Reassembly::add(ByteSpan wire, const Message& parsed, const Aead& aead,
                                   ByteSpan key, std::vector<Payload>& inner, std::string& why) {
  const SkfPayload* f =
      parsed.payloads.empty() ? nullptr : std::get_if<SkfPayload>(&parsed.payloads.back());
  if (!f) {
    why = "not an Encrypted Fragment";
    return Result::kRejected;
  }
  if (f->total > kMaxFragments) {
    why = "fragment " + std::to_string(f->number) + " of " + std::to_string(f->total) +
          ": more than " + std::to_string(kMaxFragments) + " fragments";
    return Result::kRejected;
  }
  // RFC 7383 section 2.6: each fragment is authenticated on its own before
  // it changes anything, so a forged fragment cannot evict real ones.
  Bytes plain;
  if (!open_chunk(wire, f->body, aead, key, plain, why)) return Result::kRejected;

  const uint32_t mid = parsed.header.message_id;
  if (active_ && mid != message_id_) {
    if (mid < message_id_) {
      why = "fragment of message " + std::to_string(mid) + ", older than message " +
            std::to_string(message_id_) + " being reassembled";
      return Result::kRejected;
    }
    clear();
  }
  // RFC 7383 section 2.6: a greater Total Fragments means the sender
  // fragmented again (smaller) after a lost attempt: start over with it.
  // A smaller one is left over from the abandoned attempt.
  if (active_ && f->total != total_) {
    if (f->total < total_) {
      why = "fragment " + std::to_string(f->number) + " of " + std::to_string(f->total) +
            " while " + std::to_string(total_) + " fragments are being reassembled";
      return Result::kRejected;
    }
    clear();
  }
  if (!active_) {
    active_ = true;
    message_id_ = mid;
    total_ = f->total;
  }
  // A duplicate is a retransmission of what we hold: nothing to do.
  if (parts_.count(f->number)) return Result::kIncomplete;
  if (bytes_ + plain.size() > kMaxBytes) {
    why = "reassembled message over " + std::to_string(kMaxBytes) + " bytes";
    clear();
    return Result::kRejected;
  }
  if (f->number == 1) first_ = f->first;
  bytes_ += plain.size();
  parts_.emplace(f->number, std::move(plain));
  if (parts_.size() < total_) return Result::kIncomplete;

  // All there: the map holds them in fragment order.
  Bytes whole;
  whole.reserve(bytes_);
  for (const auto& kv : parts_) whole.insert(whole.end(), kv.second.begin(), kv.second.end());
  const PayloadType first = first_;
  clear();
  ParseError err;
  if (!parse_payloads(first, whole, inner, err)) {
    why = "inside the reassembled message: " + err.what;
    return Result::kRejected;
  }
  return Result::kComplete;
}

}  // namespace portcullis::ctl::ike
