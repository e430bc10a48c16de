// codec_internal.h: the attribute writer and parser that the codec's
// per-family files (codec_sa.cc, codec_net.cc, codec_reply.cc) share.
// Not part of the library's interface.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "control/api/message.h"
#include "control/api/wire.h"

namespace portcullis::ctl::api::detail {

// TlvWriter appends attributes to a frame being built.
class TlvWriter {
 public:
  explicit TlvWriter(WireBuffer& out) : out_(out) {}

  void u8(Attr a, uint8_t v);
  void u16(Attr a, uint16_t v);
  void u32(Attr a, uint32_t v);
  void u64(Attr a, uint64_t v);
  void boolean(Attr a, bool v) { u8(a, v ? 1 : 0); }
  template <class E>
  void enumeration(Attr a, E v) {
    u8(a, static_cast<uint8_t>(v));
  }
  // bytes throws std::length_error above kMaxAttrLen.
  void bytes(Attr a, std::span<const uint8_t> v);
  void str(Attr a, std::string_view s);
  void addr(Attr a, const IpAddr& ip);
  void prefix(Attr a, const Prefix& p);
  void port_range(Attr a, const PortRange& r);
  void selector(Attr a, const Selector& s);

  // open starts a nested attribute; close patches its length.
  size_t open(Attr a);
  void close(size_t mark);

 private:
  uint8_t* append(Attr a, size_t len);
  WireBuffer& out_;
};

struct Tlv {
  uint16_t type = 0;
  std::span<const uint8_t> value;
  Attr attr() const { return static_cast<Attr>(type); }
};

// AttrParser walks the attributes of one payload or nested attribute and
// records the first error; after it, next() returns false and every reader
// is a no-op, so decode functions need not test after each field. Readers
// refuse a value of the wrong size and a second copy of a single-valued
// attribute: two copies would let two receivers disagree on which counts.
class AttrParser {
 public:
  // what names the message ("sa_add") or the nested record ("selector").
  AttrParser(std::span<const uint8_t> data, const char* what);
  AttrParser(std::span<const uint8_t> data, const char* what, AttrParser& parent,
             size_t index = kNoIndex);

  bool next(Tlv& a);
  bool ok() const { return root_->error_.empty(); }

  void u8(const Tlv& a, uint8_t& v);
  void u16(const Tlv& a, uint16_t& v);
  void u32(const Tlv& a, uint32_t& v);
  void u64(const Tlv& a, uint64_t& v);
  void boolean(const Tlv& a, bool& v);
  // enumeration accepts 0..max.
  template <class E>
  void enumeration(const Tlv& a, E& v, E max) {
    uint8_t raw = 0;
    u8(a, raw);
    if (!ok()) return;
    if (raw > static_cast<uint8_t>(max)) {
      invalid(a, "value " + std::to_string(raw) + " out of range 0.." +
                     std::to_string(static_cast<unsigned>(max)));
      return;
    }
    v = static_cast<E>(raw);
  }
  void addr(const Tlv& a, IpAddr& ip);
  void prefix(const Tlv& a, Prefix& p);
  // prefix_element reads one prefix of a list (a repeated attribute).
  void prefix_element(const Tlv& a, Prefix& p);
  void port_range(const Tlv& a, PortRange& r);
  void key(const Tlv& a, KeyBytes& k);
  void packet(const Tlv& a, std::vector<uint8_t>& p);
  void mac(const Tlv& a, std::array<uint8_t, 6>& m);
  // ascii takes printable ASCII (0x21..0x7e) in charset-free form; utf8
  // takes any well-formed UTF-8 without NUL.
  void ascii(const Tlv& a, std::string& s, size_t max);
  void utf8(const Tlv& a, std::string& s, size_t max);
  void selector(const Tlv& a, Selector& s, size_t index = kNoIndex);
  // element admits one more element of a list that holds count already.
  bool element(const Tlv& a, size_t count, size_t max);

  void require(Attr a);
  bool seen(Attr a) const;
  // invalid and malformed record an error about attribute a, or about the
  // record as a whole.
  void invalid(const Tlv& a, const std::string& why);
  void invalid(const std::string& why);
  void malformed(const Tlv& a, const std::string& why);

  DecodeError take_error(uint32_t request_id);

  static constexpr size_t kNoIndex = ~size_t{0};

 private:
  bool mark(const Tlv& a);
  bool fixed(const Tlv& a, size_t n);
  void fail(Status s, const std::string& why);
  std::string path() const;
  std::string attr_label(const Tlv& a) const;

  std::span<const uint8_t> rest_;
  const char* what_;
  size_t index_ = kNoIndex;
  AttrParser* parent_ = nullptr;
  AttrParser* root_ = this;
  std::array<uint64_t, kAttrLimit / 64> seen_{};
  // Root only.
  Status status_ = Status::kOk;
  std::string error_;
};

// Per-message bodies. encode_body writes the attributes; decode_body reads
// them into m, whose request_id is already set.
void encode_body(const Begin&, TlvWriter&);
void encode_body(const Commit&, TlvWriter&);
void encode_body(const Abort&, TlvWriter&);
void encode_body(const Flush&, TlvWriter&);
void encode_body(const StatsGet&, TlvWriter&);
void encode_body(const Reply& m, TlvWriter& w);
void encode_body(const SaAdd& m, TlvWriter& w);
void encode_body(const SaUpdate& m, TlvWriter& w);
void encode_body(const SaDel& m, TlvWriter& w);
void encode_body(const SaQuery& m, TlvWriter& w);
void encode_body(const SaExpire& m, TlvWriter& w);
void encode_body(const PolicyAdd& m, TlvWriter& w);
void encode_body(const PolicyDel& m, TlvWriter& w);
void encode_body(const RouteAdd& m, TlvWriter& w);
void encode_body(const RouteDel& m, TlvWriter& w);
void encode_body(const PortConfig& m, TlvWriter& w);
void encode_body(const Inject& m, TlvWriter& w);
void encode_body(const Acquire& m, TlvWriter& w);
void encode_body(const Punt& m, TlvWriter& w);
void encode_body(const NeighAdd& m, TlvWriter& w);
void encode_body(const NeighDel& m, TlvWriter& w);

void decode_body(AttrParser& p, Begin&);
void decode_body(AttrParser& p, Commit&);
void decode_body(AttrParser& p, Abort&);
void decode_body(AttrParser& p, Flush&);
void decode_body(AttrParser& p, StatsGet&);
void decode_body(AttrParser& p, Reply& m);
void decode_body(AttrParser& p, SaAdd& m);
void decode_body(AttrParser& p, SaUpdate& m);
void decode_body(AttrParser& p, SaDel& m);
void decode_body(AttrParser& p, SaQuery& m);
void decode_body(AttrParser& p, SaExpire& m);
void decode_body(AttrParser& p, PolicyAdd& m);
void decode_body(AttrParser& p, PolicyDel& m);
void decode_body(AttrParser& p, RouteAdd& m);
void decode_body(AttrParser& p, RouteDel& m);
void decode_body(AttrParser& p, PortConfig& m);
void decode_body(AttrParser& p, Inject& m);
void decode_body(AttrParser& p, Acquire& m);
void decode_body(AttrParser& p, Punt& m);
void decode_body(AttrParser& p, NeighAdd& m);
void decode_body(AttrParser& p, NeighDel& m);

// utf8_valid: well-formed UTF-8 (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF) without NUL.
bool utf8_valid(std::string_view s);

}  // namespace portcullis::ctl::api::detail
