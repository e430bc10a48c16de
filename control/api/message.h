// message.h: the messages of the dataplane channel (DESIGN.md, "The
// dataplane channel"), as plain structs that portcullisd and
// portcullis-dataplane share.
//
// Requests go from the daemon to the data plane and each gets exactly one
// Reply carrying the request's id. Events go the other way, unsolicited,
// with request id 0. Nothing here depends on DPDK: the daemon links this
// library without pulling the data plane in.
//
// Every struct compares with ==, so that tests and the fuzzer can check
// that decode(encode(m)) == m. Keys are KeyBytes, which wipe themselves.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "crypto/secure.h"

namespace portcullis::ctl::api {

// MsgType is the header's type field. The values are part of the wire
// format: never renumber, only add. Ranges group the message families.
enum class MsgType : uint16_t {
  kReply = 1,
  // Transactions.
  kBegin = 16,
  kCommit = 17,
  kAbort = 18,
  kFlush = 19,
  // Security associations.
  kSaAdd = 32,
  kSaUpdate = 33,
  kSaDel = 34,
  kSaQuery = 35,
  // Security policies.
  kPolicyAdd = 48,
  kPolicyDel = 49,
  // Routes and ports.
  kRouteAdd = 64,
  kRouteDel = 65,
  kNeighAdd = 66,
  kNeighDel = 67,
  kPortConfig = 80,
  // Counters and IKE packets.
  kStatsGet = 96,
  kInject = 112,
  // Events, data plane to daemon.
  kSaExpire = 256,
  kAcquire = 257,
  kPunt = 258,
};

// type_name is the snake_case name used in logs and errors ("sa_add"), or
// nullptr for a value this version does not know.
const char* type_name(MsgType t);
bool is_request(MsgType t);
bool is_event(MsgType t);

// Status is a reply's outcome. Values are part of the wire format. A reply
// from a newer peer may carry a value missing here; it is kept as is.
enum class Status : uint16_t {
  kOk = 0,
  kMalformed = 1,        // the frame or its attributes could not be parsed
  kVersionMismatch = 2,  // the header's protocol version is not ours
  kUnknownType = 3,      // the message type is unknown or not a request
  kTooLarge = 4,         // payload_len above kMaxPayload
  kInvalid = 5,          // parsed, but a value is missing, out of range or inconsistent
  kNotFound = 6,         // no such SA, policy, route or port
  kExists = 7,           // the id or prefix is already installed
  kBadState = 8,         // e.g. commit without begin
  kNoSpace = 9,          // a table is full
  kInternal = 10,        // a bug or a resource failure on the data plane
};

// status_name is "ok", "malformed", ...; "status(N)" for unknown values.
std::string status_name(Status s);

enum class Family : uint8_t { kNone = 0, kIpv4 = 4, kIpv6 = 6 };

// IpAddr is an address in network byte order. IPv4 uses the first four
// bytes and leaves the rest zero, so that == compares addresses.
struct IpAddr {
  Family family = Family::kNone;
  std::array<uint8_t, 16> bytes{};

  static IpAddr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
  static IpAddr v6(const std::array<uint8_t, 16>& b);
  // parse reads dotted-quad IPv4 or RFC 4291 IPv6 text.
  static std::optional<IpAddr> parse(std::string_view text);
  // size is 4, 16, or 0 for kNone.
  size_t size() const;
  std::string str() const;
  bool operator==(const IpAddr&) const = default;
};

struct Prefix {
  IpAddr addr;
  uint8_t len = 0;
  // parse reads "192.0.2.0/24" or "2001:db8::/32"; no "/len" means a host.
  static std::optional<Prefix> parse(std::string_view text);
  std::string str() const;
  bool operator==(const Prefix&) const = default;
};

struct PortRange {
  uint16_t lo = 0, hi = 65535;
  bool operator==(const PortRange&) const = default;
};

// Selector is an RFC 4301 section 4.4.1.1 traffic selector. Both prefixes
// are of one family; proto 0 is any protocol.
struct Selector {
  Prefix src, dst;
  uint8_t proto = 0;
  PortRange src_ports, dst_ports;
  bool operator==(const Selector&) const = default;
};

// KeyBytes holds key material on the control side. It is wiped when
// destroyed and never printed: to_string shows a fingerprint.
struct KeyBytes {
  crypto::SecretBytes bytes;

  KeyBytes() = default;
  explicit KeyBytes(std::span<const uint8_t> b) : bytes(b) {}
  std::span<const uint8_t> span() const { return bytes.span(); }
  size_t size() const { return bytes.size(); }
  bool empty() const { return bytes.empty(); }
  // Constant-time on equal sizes; tests and the fuzzer use it.
  bool operator==(const KeyBytes& o) const;
};

enum class Direction : uint8_t { kIn = 0, kOut = 1 };
enum class Mode : uint8_t { kTunnel = 0, kTransport = 1 };
// DfMode sets the outer IPv4 DF bit in tunnel mode (RFC 4301 section 8.1).
enum class DfMode : uint8_t { kCopy = 0, kSet = 1, kClear = 2 };
enum class Action : uint8_t { kProtect = 0, kBypass = 1, kDiscard = 2 };
enum class PortRole : uint8_t { kProtected = 0, kUnprotected = 1 };
enum class ExpireKind : uint8_t { kSoft = 0, kHard = 1 };
enum class ExpireBy : uint8_t { kTime = 0, kBytes = 1, kPackets = 2, kSeq = 3 };

// Lifetime limits of an SA (RFC 4301 section 4.4.2.1); 0 means no limit.
struct Lifetime {
  uint64_t soft_bytes = 0, hard_bytes = 0;
  uint64_t soft_packets = 0, hard_packets = 0;
  uint64_t soft_seconds = 0, hard_seconds = 0;
  bool operator==(const Lifetime&) const = default;
};

// --- Requests ---------------------------------------------------------------

// Begin opens a transaction: changes up to Commit are applied and published
// together at Commit, all or nothing. Abort drops them.
struct Begin {
  static constexpr MsgType kType = MsgType::kBegin;
  uint32_t request_id = 0;
  bool operator==(const Begin&) const = default;
};
struct Commit {
  static constexpr MsgType kType = MsgType::kCommit;
  uint32_t request_id = 0;
  bool operator==(const Commit&) const = default;
};
struct Abort {
  static constexpr MsgType kType = MsgType::kAbort;
  uint32_t request_id = 0;
  bool operator==(const Abort&) const = default;
};
// Flush removes every SA, policy and route.
struct Flush {
  static constexpr MsgType kType = MsgType::kFlush;
  uint32_t request_id = 0;
  bool operator==(const Flush&) const = default;
};

// SaAdd installs one direction of one SA; the fields mirror dp::SaConfig.
struct SaAdd {
  static constexpr MsgType kType = MsgType::kSaAdd;
  uint32_t request_id = 0;
  uint32_t sa_id = 0;  // the daemon's handle; unique across directions
  Direction direction = Direction::kOut;
  uint32_t spi = 0;
  std::string suite;    // crypto::Suite name, e.g. "aes128gcm16"
  KeyBytes cipher_key;  // key then salt for AEADs
  KeyBytes auth_key;    // CBC suites only
  Mode mode = Mode::kTunnel;
  bool esn = true;
  // Tunnel: the outer addresses. Transport: the endpoints. One family.
  IpAddr tunnel_src, tunnel_dst;
  bool udp_encap = false;  // RFC 3948
  uint16_t udp_src_port = 4500, udp_dst_port = 4500;
  uint32_t replay_window = 1024;
  bool anti_replay = true;
  uint8_t ttl = 64;
  int8_t dscp = -1;  // -1 copies the inner DSCP; 0..63 sets it
  DfMode df = DfMode::kCopy;
  Lifetime lifetime;
  uint64_t first_seq = 1;
  uint64_t soft_seq_remaining = 0;  // 0: the data plane's default
  // Outbound: the last sequence number the daemon has leased to the SA
  // (persisted before it is sent); 0: no lease, the whole sequence space.
  // sa_update raises it. See control/daemon/README.md, "Sequence leases".
  uint64_t seq_lease = 0;
  // Inbound: decrypted packets must match one of these (RFC 4301 section 5.2).
  std::vector<Selector> selectors;
  bool operator==(const SaAdd&) const = default;
};

// SaUpdate changes an installed SA: its endpoints after a NAT mapping
// changed (RFC 4555 style), or an outbound SA's sequence lease. Absent
// fields stay as they are. At least one is set.
struct SaUpdate {
  static constexpr MsgType kType = MsgType::kSaUpdate;
  uint32_t request_id = 0;
  uint32_t sa_id = 0;
  std::optional<IpAddr> tunnel_src, tunnel_dst;
  std::optional<uint16_t> udp_src_port, udp_dst_port;
  std::optional<uint64_t> seq_lease;
  bool operator==(const SaUpdate&) const = default;
};

struct SaDel {
  static constexpr MsgType kType = MsgType::kSaDel;
  uint32_t request_id = 0;
  uint32_t sa_id = 0;
  bool operator==(const SaDel&) const = default;
};

// SaQuery is answered with an SaInfo payload.
struct SaQuery {
  static constexpr MsgType kType = MsgType::kSaQuery;
  uint32_t request_id = 0;
  uint32_t sa_id = 0;
  bool operator==(const SaQuery&) const = default;
};

// PolicyAdd installs an SPD entry. Lower priority values are matched first.
// sa_id names the outbound SA for kProtect and must be 0 otherwise.
struct PolicyAdd {
  static constexpr MsgType kType = MsgType::kPolicyAdd;
  uint32_t request_id = 0;
  uint32_t policy_id = 0;
  uint32_t priority = 0;
  Direction direction = Direction::kOut;
  Selector selector;
  Action action = Action::kProtect;
  uint32_t sa_id = 0;
  bool operator==(const PolicyAdd&) const = default;
};

struct PolicyDel {
  static constexpr MsgType kType = MsgType::kPolicyDel;
  uint32_t request_id = 0;
  uint32_t policy_id = 0;
  bool operator==(const PolicyDel&) const = default;
};

// RouteAdd: without a next hop the prefix is on-link on port_id.
struct RouteAdd {
  static constexpr MsgType kType = MsgType::kRouteAdd;
  uint32_t request_id = 0;
  Prefix prefix;
  std::optional<IpAddr> next_hop;  // same family as prefix
  uint16_t port_id = 0;
  bool operator==(const RouteAdd&) const = default;
};

// RouteDel: routes are keyed by their prefix, so the prefix is enough.
struct RouteDel {
  static constexpr MsgType kType = MsgType::kRouteDel;
  uint32_t request_id = 0;
  Prefix prefix;
  bool operator==(const RouteDel&) const = default;
};

// NeighAdd installs a static neighbour: next hop `ip` on port_id is at
// `mac`. Static entries never age and ARP or ND answers do not change them
// (for ports where nobody answers, such as benchmark sinks). Replaces an
// existing entry for the same port and address.
struct NeighAdd {
  static constexpr MsgType kType = MsgType::kNeighAdd;
  uint32_t request_id = 0;
  uint16_t port_id = 0;
  IpAddr ip;
  std::array<uint8_t, 6> mac{};
  bool operator==(const NeighAdd&) const = default;
};

// NeighDel removes a neighbour entry, static or learned.
struct NeighDel {
  static constexpr MsgType kType = MsgType::kNeighDel;
  uint32_t request_id = 0;
  uint16_t port_id = 0;
  IpAddr ip;
  bool operator==(const NeighDel&) const = default;
};

// PortConfig sets a DPDK port's role and its own addresses (address and
// on-link prefix length, e.g. 192.0.2.1/24), replacing earlier ones.
struct PortConfig {
  static constexpr MsgType kType = MsgType::kPortConfig;
  uint32_t request_id = 0;
  uint16_t port_id = 0;
  PortRole role = PortRole::kProtected;
  std::vector<Prefix> addresses;
  uint16_t mtu = 1500;
  bool operator==(const PortConfig&) const = default;
};

// StatsGet is answered with a Stats payload.
struct StatsGet {
  static constexpr MsgType kType = MsgType::kStatsGet;
  uint32_t request_id = 0;
  bool operator==(const StatsGet&) const = default;
};

// Inject sends an IKE packet, from its IP header on, out of port_id.
struct Inject {
  static constexpr MsgType kType = MsgType::kInject;
  uint32_t request_id = 0;
  uint16_t port_id = 0;
  std::vector<uint8_t> packet;
  bool operator==(const Inject&) const = default;
};

// --- Replies ----------------------------------------------------------------

// SaInfo answers SaQuery. seq is the next sequence number to send for an
// outbound SA and the top of the replay window for an inbound one.
struct SaInfo {
  uint64_t packets = 0, bytes = 0;
  uint64_t last_use_ns = 0;  // CLOCK_MONOTONIC of the data plane; 0 if never used
  uint64_t drops = 0;
  uint64_t seq = 0;
  uint32_t events = 0;  // dp::SaEvent bits raised so far
  bool operator==(const SaInfo&) const = default;
};

// Counter is one named statistic, e.g. "port.0.rx_packets",
// "worker.1.busy_cycles", "drop.replay". A flat list of names lets the
// data plane add counters without a protocol change.
struct Counter {
  std::string name;
  uint64_t value = 0;
  bool operator==(const Counter&) const = default;
};

struct Stats {
  std::vector<Counter> counters;
  bool operator==(const Stats&) const = default;
};

using ReplyPayload = std::variant<std::monostate, SaInfo, Stats>;

struct Reply {
  static constexpr MsgType kType = MsgType::kReply;
  uint32_t request_id = 0;  // 0: about the connection, not a request
  Status status = Status::kOk;
  std::string error;  // empty when ok; otherwise says what to fix
  ReplyPayload payload;
  bool ok() const { return status == Status::kOk; }
  bool operator==(const Reply&) const = default;
};

// --- Events (request_id 0) --------------------------------------------------

struct SaExpire {
  static constexpr MsgType kType = MsgType::kSaExpire;
  uint32_t request_id = 0;
  uint32_t sa_id = 0;
  ExpireKind kind = ExpireKind::kSoft;
  ExpireBy by = ExpireBy::kTime;
  bool operator==(const SaExpire&) const = default;
};

// Acquire: a packet matched a protect policy whose SA is missing
// (RFC 4301 section 5.1, "acquire"). The selector is the packet's own.
struct Acquire {
  static constexpr MsgType kType = MsgType::kAcquire;
  uint32_t request_id = 0;
  uint32_t policy_id = 0;
  Selector selector;
  bool operator==(const Acquire&) const = default;
};

// Punt carries an IKE packet that arrived on port_id, from its IP header on.
struct Punt {
  static constexpr MsgType kType = MsgType::kPunt;
  uint32_t request_id = 0;
  uint16_t port_id = 0;
  std::vector<uint8_t> packet;
  bool operator==(const Punt&) const = default;
};

using Message =
    std::variant<Begin, Commit, Abort, Flush, SaAdd, SaUpdate, SaDel, SaQuery, PolicyAdd, PolicyDel,
                 RouteAdd, RouteDel, PortConfig, StatsGet, Inject, Reply, SaExpire, Acquire, Punt,
                 NeighAdd, NeighDel>;

MsgType type_of(const Message& m);
uint32_t request_id_of(const Message& m);
void set_request_id(Message& m, uint32_t id);

}  // namespace portcullis::ctl::api
