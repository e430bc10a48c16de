// sk.h: the Encrypted payload (RFC 7296 section 3.14, with AEADs per
// RFC 5282) and IKE fragmentation (RFC 7383).
//
// Sealing builds whole wire messages: header | SK header | IV | AEAD
// output. The AAD is everything before the IV: the IKE header and the SK
// (or SKF) payload header (RFC 5282 section 5.1). IVs are fresh random
// 8-byte values for every message (a counter would also do; random keeps
// retransmissions of rebuilt messages apart).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "control/ike/crypto.h"
#include "control/ike/message.h"

namespace portcullis::ctl::ike {

// seal_message: one message, header `h` (next payload and length set
// here), carrying `inner` (a serialized payload chain whose first payload
// is `first`) in an SK payload. Padding: none beyond the Pad Length byte,
// which AEADs allow (RFC 5282 section 3).
Bytes seal_message(const Header& h, PayloadType first, ByteSpan inner, const Aead& aead, ByteSpan key);

// seal_fragments: RFC 7383 section 2.5: split `inner` so that each whole
// message (IP and UDP headers not counted) is at most `max_size` bytes,
// each fragment in its own SKF message with the same message id. Returns
// a single SK message when the whole fits in `max_size` or when
// `allow_fragments` is false (the peer did not announce support).
std::vector<Bytes> seal_fragments(const Header& h, PayloadType first, ByteSpan inner, const Aead& aead,
                                  ByteSpan key, size_t max_size, bool allow_fragments);

// open_message: checks and decrypts the SK payload of a parsed message
// (`wire` is the exact bytes it was parsed from). On success `inner` holds
// the parsed inner payloads. False with `why` on an ICV mismatch, bad
// padding or a malformed inner chain.
bool open_message(ByteSpan wire, const Message& parsed, const Aead& aead, ByteSpan key,
                  std::vector<Payload>& inner, std::string& why);

// Reassembly: RFC 7383 section 2.6. One per IKE SA and direction of
// requests (and one for responses). Each fragment is authenticated on
// arrival; the message is parsed once all `total` have arrived.
class Reassembly {
 public:
  enum class Result { kIncomplete, kComplete, kRejected };
  // add takes one SKF message (its wire bytes and parse). kComplete sets
  // `inner` to the whole message's inner payloads. A fragment for a
  // different message id than the one in progress starts over if newer,
  // and is ignored if older. At most kMaxFragments and kMaxBytes.
  Result add(ByteSpan wire, const Message& parsed, const Aead& aead, ByteSpan key,
             std::vector<Payload>& inner, std::string& why);
  void clear();
  static constexpr uint16_t kMaxFragments = 64;
  static constexpr size_t kMaxBytes = 64 * 1024;

 private:
  bool active_ = false;
  uint32_t message_id_ = 0;
  uint16_t total_ = 0;
  PayloadType first_ = PayloadType::kNone;
  std::map<uint16_t, Bytes> parts_;
  size_t bytes_ = 0;
};

}  // namespace portcullis::ctl::ike
