// Rates for `stats --watch`.
#include "control/cli/rates.h"

#include <gtest/gtest.h>

namespace portcullis::ctl::cli {
namespace {

using json = nlohmann::json;

TEST(RateTracker, FirstSampleHasNoRates) {
  RateTracker t;
  auto rows = t.update(json{{"b", 5}, {"a", 0}}, 100.0);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].name, "a");  // sorted by name
  EXPECT_EQ(rows[1].value, 5u);
  EXPECT_FALSE(rows[0].rate);
  EXPECT_FALSE(rows[1].rate);
}

TEST(RateTracker, RateIsDeltaOverElapsedTime) {
  RateTracker t;
  t.update(json{{"port.0.rx_packets", 1000}, {"drop.replay", 7}}, 10.0);
  auto rows = t.update(json{{"port.0.rx_packets", 4000}, {"drop.replay", 7}}, 12.0);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].name, "drop.replay");
  ASSERT_TRUE(rows[0].rate);
  EXPECT_DOUBLE_EQ(*rows[0].rate, 0.0);
  ASSERT_TRUE(rows[1].rate);
  EXPECT_DOUBLE_EQ(*rows[1].rate, 1500.0);
  // The next rate is against the second sample, not the first.
  rows = t.update(json{{"port.0.rx_packets", 4500}, {"drop.replay", 7}}, 12.5);
  EXPECT_DOUBLE_EQ(*rows[1].rate, 1000.0);
}

TEST(RateTracker, RestartNewCounterAndJunk) {
  RateTracker t;
  t.update(json{{"a", 500}, {"s", "text"}}, 1.0);
  auto rows = t.update(json{{"a", 20}, {"new", 3}, {"s", "text"}, {"neg", -4}}, 2.0);
  ASSERT_EQ(rows.size(), 2u);  // strings and negatives are not counters
  EXPECT_EQ(rows[0].name, "a");
  EXPECT_FALSE(rows[0].rate);  // went backwards: the data plane restarted
  EXPECT_EQ(rows[1].name, "new");
  EXPECT_FALSE(rows[1].rate);
  rows = t.update(json{{"a", 30}, {"new", 3}}, 3.0);
  EXPECT_DOUBLE_EQ(*rows[0].rate, 10.0);
  // No time elapsed (or the clock did not move): no rate rather than inf.
  rows = t.update(json{{"a", 40}}, 3.0);
  EXPECT_FALSE(rows[0].rate);
  // Not an object at all: nothing.
  EXPECT_TRUE(t.update(json::array(), 4.0).empty());
}

TEST(FilterRows, NonzeroBySubstring) {
  std::vector<CounterRow> rows = {{"drop.replay", 0, 0.0},
                                  {"drop.no_sa", 3, std::nullopt},
                                  {"port.0.rx", 0, 5.0},
                                  {"port.1.rx", 0, std::nullopt}};
  auto names = [](const std::vector<CounterRow>& r) {
    std::vector<std::string> n;
    for (const auto& x : r) n.push_back(x.name);
    return n;
  };
  EXPECT_EQ(names(filter_rows(rows, "", false)),
            (std::vector<std::string>{"drop.no_sa", "port.0.rx"}));
  EXPECT_EQ(names(filter_rows(rows, "drop.", false)), (std::vector<std::string>{"drop.no_sa"}));
  EXPECT_EQ(names(filter_rows(rows, "drop.", true)),
            (std::vector<std::string>{"drop.replay", "drop.no_sa"}));
  EXPECT_TRUE(filter_rows(rows, "worker", true).empty());
}

TEST(RenderCounterRows, ValuesGroupedRatesWithSuffix) {
  std::vector<CounterRow> rows = {{"port.0.rx_packets", 123456789, 1'488'095.2},
                                  {"drop.no_sa", 12, std::nullopt}};
  EXPECT_EQ(render_counter_rows(rows, true),
            "COUNTER                  VALUE     RATE\n"
            "port.0.rx_packets  123,456,789  1.49M/s\n"
            "drop.no_sa                  12        -\n");
  EXPECT_EQ(render_counter_rows(rows, false),
            "COUNTER                  VALUE\n"
            "port.0.rx_packets  123,456,789\n"
            "drop.no_sa                  12\n");
}

}  // namespace
}  // namespace portcullis::ctl::cli
