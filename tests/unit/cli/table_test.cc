// portcullisctl's tables and key-value blocks.
#include "control/cli/table.h"

#include <gtest/gtest.h>

namespace portcullis::ctl::cli {
namespace {

TEST(Table, AlignsColumnsTwoSpacesApart) {
  Table t({{"NAME"}, {"STATE"}, {"PKTS", Align::kRight}});
  t.add_row({"gw1-gw2", "up", "1,234"});
  t.add_row({"b", "down", "5"});
  EXPECT_EQ(t.render(),
            "NAME     STATE   PKTS\n"
            "gw1-gw2  up     1,234\n"
            "b        down       5\n");
}

TEST(Table, NoTrailingSpacesAndShortRowsPadded) {
  Table t({{"A"}, {"LONGER"}});
  t.add_row({"x"});
  t.add_row({"yy", "z", "dropped"});
  EXPECT_EQ(t.render(),
            "A   LONGER\n"
            "x\n"
            "yy  z\n");
}

TEST(Table, EmptyTableIsItsHeader) {
  Table t({{"PREFIX"}, {"VIA"}});
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.render(), "PREFIX  VIA\n");
}

TEST(Table, WidthCountsCodePoints) {
  // "é" is two bytes; it must pad like one column.
  Table t({{"N"}, {"X"}});
  t.add_row({"caf\xc3\xa9", "1"});
  t.add_row({"cafe", "2"});
  EXPECT_EQ(t.render(),
            "N     X\n"
            "caf\xc3\xa9  1\n"
            "cafe  2\n");
  EXPECT_EQ(display_width("\xe2\x80\x94"), 1u);  // an em dash
}

TEST(KeyValues, ValuesInOneColumn) {
  EXPECT_EQ(render_kv({{"tunnel", "gw1"}, {"replay window", "1,024"}}),
            "tunnel:         gw1\n"
            "replay window:  1,024\n");
  EXPECT_EQ(render_kv({}), "");
}

}  // namespace
}  // namespace portcullis::ctl::cli
