// toml_guard.h: a pre-scan that keeps toml++ 3.3 away from input it
// mishandles.
//
// toml++ 3.3.0 (Debian 12's) classifies non-ASCII characters as whitespace
// or not with a generated function that reaches __builtin_unreachable for
// U+00A1..U+0499 and U+2C5E..U+3057 (except U+3000): undefined behaviour,
// found by tests/fuzz/config (upstream issues marzer/tomlplusplus#190 and
// #295). It asks that question of every character outside strings and
// comments, of every character of a quoted key, and after a line-ending
// backslash in a multi-line basic string. The guard tokenises just enough
// TOML to find those places and refuses such characters there with a
// positioned error, before toml++ sees the text. Elsewhere (string values,
// literal strings, comments) any UTF-8 passes.
//
// Non-ASCII outside strings and comments is never valid TOML 1.0 (bare
// keys are ASCII), so the guard refuses all of it there, with a clearer
// message than toml++ would give.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portcullis::config::detail {

struct GuardError {
  uint32_t line = 0;    // 1-based
  uint32_t column = 0;  // 1-based, in bytes
  std::string message;
};

std::optional<GuardError> toml_guard(std::string_view text);

}  // namespace portcullis::config::detail
