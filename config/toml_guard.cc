#include "config/toml_guard.h"

#include <cstdio>
#include <vector>

namespace portcullis::config::detail {
namespace {

// The code points toml++ 3.3.0's is_non_ascii_horizontal_whitespace() does
// not handle (toml_guard.h).
bool mishandled(uint32_t cp) {
  return (cp >= 0xA1 && cp <= 0x499) || (cp >= 0x2C5E && cp <= 0x3057 && cp != 0x3000);
}

// decode reads one UTF-8 sequence at text[i]; returns its code point and
// sets len, or nullopt for a malformed sequence (toml++ reports those).
std::optional<uint32_t> decode(std::string_view text, size_t i, size_t& len) {
  const auto b0 = static_cast<uint8_t>(text[i]);
  uint32_t cp;
  if (b0 >= 0xF0 && b0 <= 0xF7) {
    len = 4;
    cp = b0 & 0x07;
  } else if (b0 >= 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if (b0 >= 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else {
    len = 1;
    return std::nullopt;
  }
  if (i + len > text.size()) {
    len = 1;
    return std::nullopt;
  }
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<uint8_t>(text[i + k]);
    if ((b & 0xC0) != 0x80) {
      len = 1;
      return std::nullopt;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  return cp;
}

enum class Scope : uint8_t { kArray, kInlineTable };

class Guard {
 public:
  explicit Guard(std::string_view t) : t_(t) {}

  std::optional<GuardError> run() {
    while (i_ < t_.size() && !err_) step();
    return err_;
  }

 private:
  bool at(std::string_view s) const { return t_.substr(i_, s.size()) == s; }
  void advance(size_t n) {
    for (size_t k = 0; k < n && i_ < t_.size(); ++k, ++i_) {
      if (t_[i_] == '\n') {
        ++line_;
        line_start_ = i_ + 1;
      }
    }
  }
  void fail(uint32_t cp, const char* where) {
    char u[16];
    std::snprintf(u, sizeof u, "U+%04X", cp);
    err_ = GuardError{line_, static_cast<uint32_t>(i_ - line_start_ + 1),
                      std::string("the character ") + u + " is not accepted " + where};
  }
  void unbalanced(char c) {
    err_ = GuardError{line_, static_cast<uint32_t>(i_ - line_start_ + 1),
                      std::string("'") + c + "' does not close the '" +
                          (scopes_.empty() ? std::string("[' or '{") : scopes_.back() == Scope::kArray ? "[" : "{") +
                          "' before it"};
  }
  // in_key: strings here are keys (a table header, or before '=').
  bool in_key() const { return header_ || (expect_key_ && (scopes_.empty() || scopes_.back() == Scope::kInlineTable)); }

  void step() {
    const char c = t_[i_];
    if (static_cast<uint8_t>(c) >= 0x80) {
      size_t len;
      const auto cp = decode(t_, i_, len);
      if (cp) return fail(*cp, "outside a string or comment; TOML allows only ASCII there");
      return advance(len);
    }
    switch (c) {
      case '#':
        // toml++ 3.3 classifies comment characters too, with the same bug
        // as elsewhere (fuzz_config_parse): refuse those code points here.
        while (i_ < t_.size() && t_[i_] != '\n') {
          if (static_cast<uint8_t>(t_[i_]) >= 0x80) {
            size_t len;
            const auto cp = decode(t_, i_, len);
            if (cp && mishandled(*cp)) return fail(*cp, "in a comment by this TOML parser (toml++ 3.3)");
            i_ += len;
            continue;
          }
          ++i_;
        }
        return;
      case '"':
        return at("\"\"\"") ? string(3, true) : string(1, true);
      case '\'':
        return at("'''") ? string(3, false) : string(1, false);
      case '\n':
        if (scopes_.empty()) expect_key_ = true;
        header_ = false;
        return advance(1);
      case '=':
        expect_key_ = false;
        return advance(1);
      case '[':
        if (scopes_.empty() && expect_key_) {
          header_ = true;
          // toml++ 3.3 assumes (TOML_ASSERT_ASSUME) that a table header's
          // key starts with a key character or a quote, and does not check
          // it (fuzz_config_parse: "[= ..."): check it here.
          size_t j = i_ + 1;
          if (j < t_.size() && t_[j] == '[') ++j;
          while (j < t_.size() && (t_[j] == ' ' || t_[j] == '\t')) ++j;
          if (j < t_.size()) {
            const char k = t_[j];
            const bool ok = (k >= 'A' && k <= 'Z') || (k >= 'a' && k <= 'z') || (k >= '0' && k <= '9') ||
                            k == '_' || k == '-' || k == '"' || k == '\'' || k == ']';
            if (!ok) {
              err_ = GuardError{line_, static_cast<uint32_t>(j - line_start_ + 1),
                                std::string("a table header must start with a key (letters, digits, _ or -, "
                                            "or a quoted key)")};
              return;
            }
          }
        } else {
          scopes_.push_back(Scope::kArray);
        }
        return advance(1);
      case ']':
        if (!scopes_.empty() && scopes_.back() == Scope::kArray) {
          scopes_.pop_back();
        } else if (!scopes_.empty()) {
          return unbalanced(']');
        } else {
          header_ = false;
        }
        return advance(1);
      case '{':
        scopes_.push_back(Scope::kInlineTable);
        expect_key_ = true;
        return advance(1);
      case '}':
        // toml++ 3.3 assumes (TOML_ASSERT_ASSUME) brackets it does not
        // check on some paths ("= [[}}", fuzz_config_parse): refuse any
        // '}' or ']' that does not close what is open.
        if (scopes_.empty() || scopes_.back() != Scope::kInlineTable) return unbalanced('}');
        scopes_.pop_back();
        expect_key_ = false;
        return advance(1);
      case ',':
        if (!scopes_.empty() && scopes_.back() == Scope::kInlineTable) expect_key_ = true;
        return advance(1);
      default:
        return advance(1);
    }
  }

  // string skips a string of `quotes` delimiters (1 or 3); `basic` strings
  // have escapes. Characters toml++ mishandles are refused in keys and in
  // multi-line basic strings (their line-ending backslash skips whitespace).
  void string(size_t quotes, bool basic) {
    const bool key = in_key();
    const std::string_view close = basic ? (quotes == 3 ? "\"\"\"" : "\"") : (quotes == 3 ? "'''" : "'");
    advance(quotes);
    while (i_ < t_.size()) {
      const char c = t_[i_];
      if (basic && c == '\\') {
        advance(2);
        continue;
      }
      if (at(close)) {
        advance(quotes);
        // A multi-line string may end with up to two more quotes.
        while (quotes == 3 && i_ < t_.size() && t_[i_] == close[0]) advance(1);
        return;
      }
      if (c == '\n' && quotes == 1) return;  // unterminated: toml++ says so
      if (static_cast<uint8_t>(c) >= 0x80) {
        size_t len;
        const auto cp = decode(t_, i_, len);
        if (cp && mishandled(*cp) && (key || (basic && quotes == 3))) {
          return fail(*cp, key ? "in a quoted key by this TOML parser (toml++ 3.3); use an ASCII key"
                               : "in a multi-line \"\"\" string by this TOML parser (toml++ 3.3); use a "
                                 "single-line string");
        }
        advance(len);
        continue;
      }
      advance(1);
    }
  }

  std::string_view t_;
  size_t i_ = 0;
  uint32_t line_ = 1;
  size_t line_start_ = 0;
  bool expect_key_ = true;
  bool header_ = false;
  std::vector<Scope> scopes_;
  std::optional<GuardError> err_;
};

}  // namespace

std::optional<GuardError> toml_guard(std::string_view text) {
  // TOML allows no control character but tab, LF and CR anywhere (not in
  // strings, not in comments), and toml++ 3.3 trips an assertion on some
  // of them in keys (U+007F in a table header, found by fuzz_config_parse):
  // refuse them all before toml++ sees the text.
  uint32_t line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto b = static_cast<uint8_t>(text[i]);
    if (b >= 0x80) {
      // toml++ 3.3 reaches an unreachable branch on these code points
      // wherever it classifies them, strings included once it is
      // recovering from another error (fuzz_config_parse): refuse them
      // anywhere. Config values are addresses, names and paths.
      size_t len;
      const auto cp = decode(text, i, len);
      const uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
      if (!cp || *cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) {
        // TOML files are UTF-8; toml++ 3.3 resynchronises on bad bytes
        // into code points it then mishandles.
        return GuardError{line, static_cast<uint32_t>(i - line_start + 1),
                          "the file is not valid UTF-8 here (TOML requires UTF-8)"};
      }
      // toml++ 3.3's character classes reach an unreachable branch on
      // many non-ASCII code points, not only those mishandled() lists
      // (the fuzzer found U+FEAF in error recovery): the file must be
      // ASCII, with anything else written as an escape in a string.
      char u[16];
      std::snprintf(u, sizeof u, "U+%04X", *cp);
      char esc[16];
      std::snprintf(esc, sizeof esc, *cp > 0xFFFF ? "\\U%08X" : "\\u%04X", *cp);
      return GuardError{line, static_cast<uint32_t>(i - line_start + 1),
                        std::string("the character ") + u +
                            " is not accepted by this TOML parser (toml++ 3.3) as raw text: the file must be "
                            "ASCII; inside a quoted string write it as " + esc};
    } else if (b == '\n') {
      ++line;
      line_start = i + 1;
    } else if ((b < 0x20 && b != '\t' && b != '\r') || b == 0x7f) {
      char u[16];
      std::snprintf(u, sizeof u, "U+%04X", b);
      return GuardError{line, static_cast<uint32_t>(i - line_start + 1),
                        std::string("the control character ") + u +
                            " is not allowed in TOML (only tab and line breaks are)"};
    }
  }
  return Guard(text).run();
}

}  // namespace portcullis::config::detail
