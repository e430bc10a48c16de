// rates.h: per-second rates for `portcullisctl stats --watch`, computed
// from successive samples of the data plane's flat counters.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace portcullis::ctl::cli {

struct CounterRow {
  std::string name;
  uint64_t value = 0;
  // Units per second since the previous sample; empty on the first
  // sample, for a counter that just appeared, and for one that went
  // backwards (the data plane restarted and its counters began again).
  std::optional<double> rate;
};

// RateTracker keeps the previous sample. update() takes the `counters`
// object of a `stats` reply (name -> number; other values are ignored)
// and the time it was taken, and returns every counter, sorted by name,
// with its rate.
class RateTracker {
 public:
  std::vector<CounterRow> update(const nlohmann::json& counters, double now_s);

 private:
  std::map<std::string, uint64_t> prev_;
  std::optional<double> prev_time_;
};

// filter_rows keeps the rows whose name contains `substr` (all when it is
// empty) and, unless `show_zero`, only those with a nonzero value or rate.
std::vector<CounterRow> filter_rows(const std::vector<CounterRow>& rows, const std::string& substr,
                                    bool show_zero);

// render_counter_rows writes a COUNTER VALUE [RATE] table; values grouped
// by thousands, rates with SI suffixes ("-" when unknown).
std::string render_counter_rows(const std::vector<CounterRow>& rows, bool with_rates);

}  // namespace portcullis::ctl::cli
