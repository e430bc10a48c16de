// table.cc: column alignment for portcullisctl's tables.
#include "control/cli/table.h"

#include <algorithm>

namespace portcullis::ctl::cli {

size_t display_width(const std::string& s) {
  // Continuation bytes of UTF-8 are 10xxxxxx; count everything else.
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

Table::Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

std::string Table::render() const {
  std::vector<size_t> width(columns_.size());
  for (size_t c = 0; c < columns_.size(); ++c) {
    width[c] = display_width(columns_[c].header);
    for (const auto& row : rows_) width[c] = std::max(width[c], display_width(row[c]));
  }
  std::string out;
  auto emit = [&](auto cell_of) {
    std::string line;
    for (size_t c = 0; c < columns_.size(); ++c) {
      const std::string& cell = cell_of(c);
      size_t pad = width[c] - display_width(cell);
      if (c > 0) line += "  ";
      if (columns_[c].align == Align::kRight) {
        line.append(pad, ' ');
        line += cell;
      } else {
        line += cell;
        line.append(pad, ' ');
      }
    }
    // Left-aligned last columns leave padding behind; drop it.
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  };
  emit([&](size_t c) -> const std::string& { return columns_[c].header; });
  for (const auto& row : rows_) {
    emit([&](size_t c) -> const std::string& { return row[c]; });
  }
  return out;
}

std::string render_kv(const KeyValues& pairs) {
  size_t width = 0;
  for (const auto& [key, value] : pairs) width = std::max(width, display_width(key));
  std::string out;
  for (const auto& [key, value] : pairs) {
    out += key;
    out += ':';
    out.append(width - display_width(key) + 2, ' ');
    out += value;
    out += '\n';
  }
  return out;
}

}  // namespace portcullis::ctl::cli
