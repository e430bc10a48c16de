// ts.h: traffic selectors (RFC 7296 sections 2.9 and 3.13) between the
// config's prefixes, the TS payloads on the wire, and the data plane's
// selectors.
//
// Narrowing (section 2.9): the responder answers with the intersection of
// what the initiator proposed and what its own policy allows; the
// initiator accepts an answer only if it lies inside what it proposed.
#pragma once

#include <string>
#include <vector>

#include "control/api/message.h"
#include "control/ike/message.h"

namespace portcullis::ctl::ike {

// to_selectors: one IPv4/IPv6 range selector per prefix, any protocol and
// port.
std::vector<TrafficSelector> to_selectors(const std::vector<api::Prefix>& prefixes);

// intersect: every non-empty intersection of a selector in `a` with one in
// `b` (same type, overlapping protocol, ports and addresses).
std::vector<TrafficSelector> intersect(const std::vector<TrafficSelector>& a, const std::vector<TrafficSelector>& b);

// covered: true if every selector of `inner` lies inside some one of `outer`.
bool covered(const std::vector<TrafficSelector>& inner, const std::vector<TrafficSelector>& outer);

// to_prefixes: the address ranges as CIDR prefixes (a range that is not a
// prefix becomes several, at most `max` in all). False if it needs more.
bool to_prefixes(const std::vector<TrafficSelector>& ts, std::vector<api::Prefix>& out, size_t max = 64);

// describe_ts: "10.1.0.0/24, 10.9.0.1..10.9.0.7 udp/53" for logs.
std::string describe_ts(const std::vector<TrafficSelector>& ts);

}  // namespace portcullis::ctl::ike
