// rates.cc: counter rates for `stats --watch`.
#include "control/cli/rates.h"

#include "control/cli/format.h"
#include "control/cli/table.h"

namespace portcullis::ctl::cli {

std::vector<CounterRow> RateTracker::update(const nlohmann::json& counters, double now_s) {
  std::map<std::string, uint64_t> cur;
  if (counters.is_object()) {
    for (const auto& [name, v] : counters.items()) {
      if (v.is_number_unsigned()) {
        cur[name] = v.get<uint64_t>();
      } else if (v.is_number_integer() && v.get<int64_t>() >= 0) {
        cur[name] = static_cast<uint64_t>(v.get<int64_t>());
      } else if (v.is_number_float() && v.get<double>() >= 0) {
        cur[name] = static_cast<uint64_t>(v.get<double>());
      }
    }
  }
  const double dt = prev_time_ ? now_s - *prev_time_ : 0.0;
  std::vector<CounterRow> rows;
  rows.reserve(cur.size());
  for (const auto& [name, value] : cur) {
    CounterRow row{name, value, std::nullopt};
    auto it = prev_.find(name);
    if (dt > 0 && it != prev_.end() && value >= it->second) {
      row.rate = static_cast<double>(value - it->second) / dt;
    }
    rows.push_back(std::move(row));
  }
  prev_ = std::move(cur);
  prev_time_ = now_s;
  return rows;
}

std::vector<CounterRow> filter_rows(const std::vector<CounterRow>& rows, const std::string& substr,
                                    bool show_zero) {
  std::vector<CounterRow> out;
  for (const auto& r : rows) {
    if (!substr.empty() && r.name.find(substr) == std::string::npos) continue;
    if (!show_zero && r.value == 0 && r.rate.value_or(0.0) == 0.0) continue;
    out.push_back(r);
  }
  return out;
}

std::string render_counter_rows(const std::vector<CounterRow>& rows, bool with_rates) {
  std::vector<Column> cols = {{"COUNTER", Align::kLeft}, {"VALUE", Align::kRight}};
  if (with_rates) cols.push_back({"RATE", Align::kRight});
  Table t(std::move(cols));
  for (const auto& r : rows) {
    std::vector<std::string> cells = {r.name, group_thousands(r.value)};
    if (with_rates) cells.push_back(r.rate ? format_rate(*r.rate) : "-");
    t.add_row(std::move(cells));
  }
  return t.render();
}

}  // namespace portcullis::ctl::cli
