#include "dataplane/ipsec/esp_worker.h"

namespace portcullis::dp {

// compact moves good packets to the front in order and failed ones behind
// them, recording and counting each failure's reason.
size_t EspWorker::compact(std::span<rte_mbuf*> pkts) {
  size_t good = 0, failed = 0;
  for (size_t i = 0; i < pkts.size(); i++) {
    const DropReason r = i < kMaxBurst ? status_[i] : DropReason::kUnsupported;
    if (r == DropReason::kNone) {
      pkts[good++] = pkts[i];
      continue;
    }
    drops_.add(r);
    if (failed < kMaxBurst) {
      reasons_[failed] = r;
      failed_[failed] = pkts[i];
    }
    failed++;
  }
  // Beyond kMaxBurst failures the overflow keeps its slots: only possible
  // when a caller passes more than kMaxBurst packets, all past the limit.
  for (size_t k = 0; k < failed && k < kMaxBurst; k++) pkts[good + k] = failed_[k];
  n_failed_ = std::min(failed, kMaxBurst);
  return good;
}

}  // namespace portcullis::dp
