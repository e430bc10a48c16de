// writer.h: a Config back to TOML, for `portcullisctl config save`, and the
// atomic file replacement that keeps CLI changes across a restart
// (DESIGN.md, "Processes": write, fsync, rename).
#pragma once

#include <string>
#include <string_view>

#include "config/model.h"

namespace portcullis::config {

// to_toml renders `c` in the schema of config/README.md. parse_text reads
// the result back to a Config equal to `c` (Config::operator==) when `c`
// passes validate(). Every setting is written out, defaults included, so
// the file says exactly what the daemon runs with. Paths are written as
// they are held; configs read by load_file hold absolute ones.
std::string to_toml(const Config& c);

// write_file_atomic replaces `path` with `content`: it writes a temporary
// file of mode 0600 in the same directory, fsyncs it, renames it over
// `path` and fsyncs the directory, so that after a crash the file is
// either the old one or the new one, never a mix. On failure it returns
// false, leaves `path` untouched, removes the temporary file and says why
// in *error (if error is not null).
bool write_file_atomic(const std::string& path, std::string_view content, std::string* error);

}  // namespace portcullis::config
