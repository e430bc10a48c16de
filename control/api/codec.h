// codec.h: encode and decode dataplane channel frames (wire.h).
//
// decode is the receiver's single gate: it checks every length and count
// before use and refuses anything it cannot represent exactly, so that a
// decoded Message can be handed to the data plane's tables as is. It does
// the checks that need no state (enum ranges, prefix lengths, address
// families, key sizes for the suite); whether an id exists is the
// handler's business.
//
// Speed matters: provisioning sends 100,000 SAs per second and more. Encode
// appends to one growing buffer, and decode allocates only the strings and
// vectors the Message itself holds.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <variant>

#include "control/api/message.h"
#include "control/api/wire.h"

namespace portcullis::ctl::api {

// Result holds a value or an error, like C++23's std::expected.
template <class T, class E>
class Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit on purpose
  Result(E error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit on purpose

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const E& error() const { return std::get<1>(v_); }
  E& error() { return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

using DecodeResult = Result<Message, DecodeError>;

// encode_to appends one frame holding m to out. It throws std::length_error
// when m cannot be represented: a string or packet longer than its
// attribute allows, or a payload above kMaxPayload. It does not check
// values; decode does.
void encode_to(const Message& m, WireBuffer& out);

// encode returns one frame holding m (see encode_to).
WireBuffer encode(const Message& m);

// decode reads exactly one frame: header and payload, nothing more.
DecodeResult decode(std::span<const uint8_t> frame);

// error_reply builds the Reply a receiver sends for a frame it refused.
Reply error_reply(const DecodeError& e);

// clamp_error shortens an error text to kMaxErrorLen bytes on a UTF-8
// character boundary, so that a long handler message still encodes.
std::string clamp_error(std::string s);

}  // namespace portcullis::ctl::api
