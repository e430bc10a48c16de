#include "dataplane/ipsec/drop_reason.h"

namespace portcullis::dp {

std::string_view drop_reason_name(DropReason r) {
  switch (r) {
    case DropReason::kNone:
      return "none";
    case DropReason::kMalformed:
      return "malformed";
    case DropReason::kFragment:
      return "fragment";
    case DropReason::kNoSa:
      return "no_sa";
    case DropReason::kReplay:
      return "replay";
    case DropReason::kOutOfWindow:
      return "out_of_window";
    case DropReason::kIntegrity:
      return "integrity";
    case DropReason::kBadPadding:
      return "bad_padding";
    case DropReason::kBadNextHeader:
      return "bad_next_header";
    case DropReason::kDummy:
      return "dummy";
    case DropReason::kEcn:
      return "ecn";
    case DropReason::kSeqExhausted:
      return "seq_exhausted";
    case DropReason::kHardLifetime:
      return "hard_lifetime";
    case DropReason::kNoRoom:
      return "no_room";
    case DropReason::kUnsupported:
      return "unsupported";
    case DropReason::kCryptoError:
      return "crypto_error";
    case DropReason::kPolicyMismatch:
      return "policy_mismatch";
    case DropReason::kNoRoute:
      return "no_route";
    case DropReason::kNoNeighbour:
      return "no_neighbour";
    case DropReason::kTooBig:
      return "too_big";
    case DropReason::kDiscard:
      return "discard";
    case DropReason::kNotForUs:
      return "not_for_us";
    case DropReason::kLocal:
      return "local";
    case DropReason::kPuntFull:
      return "punt_full";
    case DropReason::kTxFull:
      return "tx_full";
    case DropReason::kNoMbuf:
      return "no_mbuf";
    case DropReason::kCount:
      break;
  }
  return "unknown";
}

uint64_t DropCounters::total() const {
  uint64_t t = 0;
  for (size_t i = 1; i < count.size(); i++) t += count[i];
  return t;
}

}  // namespace portcullis::dp
