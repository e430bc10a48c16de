// diag.h: helpers shared by the parser and validate(): error collection,
// item labels for field paths, and prefix arithmetic. Internal to config/.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/parser.h"

namespace portcullis::config::detail {

// Diag collects errors about one file.
class Diag {
 public:
  Diag(std::string file, std::vector<ConfigError>* out) : file_(std::move(file)), out_(out) {}
  void add(uint32_t line, std::string field, std::string message) {
    out_->push_back(ConfigError{file_, line, std::move(field), std::move(message)});
  }
  const std::string& file() const { return file_; }
  size_t count() const { return out_->size(); }

 private:
  std::string file_;
  std::vector<ConfigError>* out_;
};

// quote renders a value from the file in double quotes, with control
// characters escaped so that a hostile value cannot forge log lines.
std::string quote(std::string_view s);

// label names an item of a list for field paths: `tunnel "gw1-gw2"` when it
// has a usable name, else `tunnel[2]` (0-based, the order in the file).
std::string label(std::string_view kind, std::string_view name, size_t index);

std::string join(std::span<const std::string> items, std::string_view sep = ", ");

// The ESP suite names (canonical) and the other words crypto.allow takes.
std::span<const std::string> esp_suite_names();
std::span<const std::string> allow_words();
bool known_allow_item(std::string_view item);

// Prefix arithmetic on api::Prefix.
bool host_bits_zero(const api::Prefix& p);
api::Prefix network_of(const api::Prefix& p);
bool prefix_contains(const api::Prefix& p, const api::IpAddr& a);

// closest returns the candidate within edit distance 2 of `word`, or "".
std::string closest(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace portcullis::config::detail
