// wire.h: the dataplane channel's wire format, shared by the codec, the
// frame reader, the client and the server.
//
// A frame is a fixed 16-byte header followed by payload_len bytes of
// attributes. All integers are little-endian: both ends run on the same
// host, and x86 and arm64 are little-endian, so nothing is swapped.
//
//   offset 0  u32 magic        kMagic, "PCDC" in memory order
//          4  u16 version      kVersion
//          6  u16 type         MsgType
//          8  u32 request_id   0 for events and connection-level replies
//         12  u32 payload_len  at most kMaxPayload
//
// The header layout is frozen across versions; only the payload's meaning
// changes. That is what lets a receiver frame, and answer, a message of a
// version it does not speak.
//
// Attributes are TLVs: u16 type, u16 length, then length bytes, unpadded.
// Selectors, counters and other records are attributes whose value is
// itself a run of attributes. A list is its element attribute repeated, so
// a list is bounded by the payload limit and its own element count limit,
// not by the 64 KiB of one attribute. Attribute types come from one
// namespace (Attr) so that an error can name any attribute; an attribute a
// receiver does not know, or does not expect where it sits, is skipped,
// which is how a newer sender can add optional fields.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control/api/message.h"
#include "crypto/secure.h"

namespace portcullis::ctl::api {

constexpr uint32_t kMagic = 0x43444350;  // bytes 'P' 'C' 'D' 'C'
constexpr uint16_t kVersion = 1;
constexpr size_t kHeaderSize = 16;
constexpr uint32_t kMaxPayload = 16u << 20;
constexpr size_t kTlvHeaderSize = 4;
constexpr size_t kMaxAttrLen = 0xffff;

// Limits on values, checked on decode. Each is well above what a correct
// peer sends and low enough that a hostile one cannot make a receiver
// allocate much beyond the payload it already holds.
constexpr size_t kMaxSuiteNameLen = 64;
constexpr size_t kMaxKeyLen = 64;  // HMAC-SHA-512 keys, the longest
constexpr size_t kMaxErrorLen = 4096;
constexpr size_t kMaxCounterNameLen = 128;
constexpr size_t kMaxSelectors = 256;  // per SA
constexpr size_t kMaxAddresses = 64;   // per port
constexpr size_t kMaxCounters = 1u << 18;
constexpr size_t kMaxPacketLen = 0xffff;  // an IPv4 or non-jumbo IPv6 packet

struct Header {
  uint32_t magic = kMagic;
  uint16_t version = kVersion;
  uint16_t type = 0;
  uint32_t request_id = 0;
  uint32_t payload_len = 0;
};

inline void store_le16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
inline void store_le32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void store_le64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint16_t load_le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
inline uint32_t load_le32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | p[i];
  return v;
}
inline uint64_t load_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

// read_header reads the first kHeaderSize bytes of p.
Header read_header(const uint8_t* p);
void write_header(uint8_t* p, const Header& h);

// DecodeError says why a frame was refused, in words that say what to fix.
struct DecodeError {
  Status status = Status::kMalformed;
  std::string message;
  uint32_t request_id = 0;  // from the header, once it could be read
  // fatal: the byte stream cannot be resynchronised (bad magic), so the
  // connection must be closed after the error reply.
  bool fatal = false;
};

// check_framing refuses a header whose frame cannot be delimited or must
// not be buffered: bad magic (fatal) or payload_len above kMaxPayload.
std::optional<DecodeError> check_framing(const Header& h);

// WipingAllocator wipes memory before freeing it. Frames carry keys, so the
// buffers that hold them (encoded frames, the reader's buffer, write
// queues) must not leave key bytes behind in the heap when they grow,
// shrink or die.
template <class T>
struct WipingAllocator {
  using value_type = T;
  WipingAllocator() = default;
  template <class U>
  WipingAllocator(const WipingAllocator<U>&) noexcept {}  // NOLINT: rebinding is implicit
  T* allocate(size_t n) { return std::allocator<T>{}.allocate(n); }
  void deallocate(T* p, size_t n) noexcept {
    crypto::wipe(p, n * sizeof(T));
    std::allocator<T>{}.deallocate(p, n);
  }
  template <class U>
  bool operator==(const WipingAllocator<U>&) const noexcept {
    return true;
  }
};

// WireBuffer holds encoded frames.
using WireBuffer = std::vector<uint8_t, WipingAllocator<uint8_t>>;

// Attr numbers attribute types. Part of the wire format: never renumber,
// only add (below kAttrLimit; raise it with AttrSet's size).
enum class Attr : uint16_t {
  kSaId = 1,           // u32
  kDirection = 2,      // u8 Direction
  kSpi = 3,            // u32
  kSuite = 4,          // ASCII, crypto::Suite name
  kCipherKey = 5,      // bytes
  kAuthKey = 6,        // bytes
  kMode = 7,           // u8 Mode
  kEsn = 8,            // u8 0/1
  kTunnelSrc = 9,      // address: 4 or 16 bytes
  kTunnelDst = 10,     // address
  kUdpEncap = 11,      // u8 0/1
  kUdpSrcPort = 12,    // u16
  kUdpDstPort = 13,    // u16
  kReplayWindow = 14,  // u32
  kAntiReplay = 15,    // u8 0/1
  kTtl = 16,           // u8
  kDscp = 17,          // u8: 0..63, or 0xff to copy
  kDf = 18,            // u8 DfMode
  kSoftBytes = 19,     // u64, and so on for the six lifetime limits
  kHardBytes = 20,
  kSoftPackets = 21,
  kHardPackets = 22,
  kSoftSeconds = 23,
  kHardSeconds = 24,
  kFirstSeq = 25,          // u64
  kSoftSeqRemaining = 26,  // u64
  kSelector = 27,          // nested: kSelSrc, kSelDst, kSelProto, kSel*Ports
  kSelSrc = 28,            // prefix: u8 length, then 4 or 16 address bytes
  kSelDst = 29,            // prefix
  kSelProto = 30,          // u8, 0 any
  kSelSrcPorts = 31,       // u16 lo, u16 hi
  kSelDstPorts = 32,       // u16 lo, u16 hi
  kPolicyId = 33,          // u32
  kPriority = 34,          // u32
  kAction = 35,            // u8 Action
  kPrefix = 36,            // prefix
  kNextHop = 37,           // address
  kPortId = 38,            // u16
  kPortRole = 39,          // u8 PortRole
  kAddress = 40,           // prefix, repeated
  kMtu = 41,               // u16
  kPacket = 42,            // bytes
  kStatus = 43,            // u16 Status
  kError = 44,             // UTF-8
  kPayloadKind = 45,       // u8: 1 SaInfo, 2 Stats
  kInfoPackets = 46,       // u64, and so on for SaInfo
  kInfoBytes = 47,
  kInfoLastUseNs = 48,
  kInfoDrops = 49,
  kInfoSeq = 50,
  kInfoEvents = 51,    // u32
  kCounter = 52,       // nested: kCounterName, kCounterValue; repeated
  kCounterName = 53,   // ASCII
  kCounterValue = 54,  // u64
  kExpireKind = 55,    // u8 ExpireKind
  kExpireBy = 56,      // u8 ExpireBy
  kMac = 57,           // 6 bytes, an Ethernet address
  kSeqLease = 58,      // u64
};
constexpr uint16_t kAttrLimit = 128;

// attr_name is "spi", "cipher_key", ...; nullptr for an unknown number.
const char* attr_name(uint16_t type);

}  // namespace portcullis::ctl::api
