// libFuzzer target: parse_text on arbitrary bytes. Besides not crashing
// (ASan, UBSan), it checks the parser's contract:
//   - a result is ok exactly when it holds a config and no errors;
//   - every error names the file and points at a line of the input;
//   - a config that loads is written by to_toml into text that loads back
//     to an equal config, and is written the same way again.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/parser.h"
#include "config/writer.h"

using portcullis::config::LoadResult;

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_config_parse: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // No directory in the name: relative paths stay as written, so the
  // round trip compares like with like.
  const LoadResult r = portcullis::config::parse_text(text, "fuzz.toml");
  if (r.ok() != (r.config.has_value() && r.errors.empty())) fail("ok() disagrees with its parts");
  if (!r.config && r.errors.empty()) fail("no config and no error");

  size_t lines = 1;
  for (const char c : text) lines += c == '\n';
  for (const auto& e : r.errors) {
    if (e.file != "fuzz.toml") fail("error names another file");
    if (e.line > lines + 1) fail("error points past the end of the input");
    if (e.message.empty()) fail("error without a message");
    if (e.str().rfind("fuzz.toml", 0) != 0) fail("str() does not lead with the file");
  }
  if (!r.ok()) return 0;

  const std::string written = portcullis::config::to_toml(*r.config);
  const LoadResult back = portcullis::config::parse_text(written, "fuzz.toml");
  if (!back.ok()) fail("to_toml wrote a config that does not load");
  if (!(*back.config == *r.config)) fail("to_toml changed the config");
  if (portcullis::config::to_toml(*back.config) != written) fail("to_toml is not stable");
  return 0;
}
