// table.h: the aligned tables and key-value blocks of portcullisctl's human
// output.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace portcullis::ctl::cli {

enum class Align { kLeft, kRight };

struct Column {
  std::string header;
  Align align = Align::kLeft;
};

// Table collects rows of cells and renders them in columns two spaces
// apart, headers first. Numbers read best right-aligned (Align::kRight);
// the last column has no trailing padding. Widths count UTF-8 code
// points, not bytes, so names and messages with non-ASCII text line up.
class Table {
 public:
  explicit Table(std::vector<Column> columns);

  // add_row adds one row; missing cells are blank, extra cells dropped.
  void add_row(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }
  size_t size() const { return rows_.size(); }

  // render returns the table, each line ending in '\n'.
  std::string render() const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// render_kv writes "key:  value" lines with the values in one column.
std::string render_kv(const KeyValues& pairs);

// display_width counts the code points of a UTF-8 string.
size_t display_width(const std::string& s);

}  // namespace portcullis::ctl::cli
