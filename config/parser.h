// parser.h: reads portcullis.toml (schema in config/README.md) into a
// Config, and checks a Config for consistency.
//
// Reading happens in two passes. The first (parse_text) walks the TOML
// document: unknown keys, wrong types, values out of range and malformed
// addresses are reported there, each with the line it came from. Only if
// that pass is clean does the second (validate) run, which checks how items
// relate to each other (names and SPIs unique, ports referenced exist, the
// crypto profile allows each suite...). Running validate on a half-read
// file would mostly repeat the first pass's errors in a more confusing way.
//
// validate is also what portcullisd runs after a CLI edit, before the edit
// is applied or saved; items added that way have an Origin line of 0.
//
// Key files are never opened here: the daemon reads them with
// read_secret_file (secrets.h) when it builds an SA.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"

namespace portcullis::config {

// ConfigError is one thing wrong with a config, said so that the operator
// knows what to change.
struct ConfigError {
  std::string file;
  uint32_t line = 0;   // 1-based; 0 when the item has no line
  std::string field;   // dotted path: `tunnel "gw1-gw2".esp`, `port[1].addresses[0]`
  std::string message; // what is wrong and what is allowed

  // str is "FILE:LINE: FIELD: MESSAGE"; ":LINE" is left out when line is 0
  // and "FIELD: " when field is empty.
  std::string str() const;
};

struct LoadResult {
  std::optional<Config> config;  // set only when errors is empty
  std::vector<ConfigError> errors;
  bool ok() const { return config.has_value() && errors.empty(); }
};

// load_file reads and checks the config at `path`. Relative paths inside it
// (key files, sockets, state_dir) are resolved against the directory the
// file is in, so a config and its keys can move together.
LoadResult load_file(const std::string& path);

// parse_text is load_file on text already in memory; `name` stands for the
// file name in errors and Config::path, and its directory part (if any)
// resolves relative paths as load_file does.
LoadResult parse_text(std::string_view text, const std::string& name);

// validate runs the semantic checks on a complete Config.
std::vector<ConfigError> validate(const Config& c);

// Child SA lifetime for keying = "ikev2" when the file gives none
// (DESIGN.md, "Crypto profiles": Child SA 8 h). The soft limit defaults to
// kSoftPercent of the hard one, for every kind of limit and both keyings.
inline constexpr uint64_t kIkeChildHardSeconds = 8 * 3600;
inline constexpr uint64_t kSoftPercent = 90;

// Names a tunnel or port may have: [a-z0-9_-]{1,32}, starting with a
// letter or digit. They appear in CLI commands and log lines unquoted.
bool valid_name(std::string_view name);

}  // namespace portcullis::config
