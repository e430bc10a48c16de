// log.h: portcullisd's log. One line per event on stderr, which systemd
// sends to the journal; with a terminal or a file, lines carry a UTC
// timestamp. Nothing logged ever holds key bytes: keys are named by their
// fingerprint (keys.h).
#pragma once

#include <string>
#include <string_view>

namespace portcullis::ctl::daemon {

enum class Level { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

// parse_level reads "error", "warn", "info" or "debug".
bool parse_level(std::string_view s, Level* out);
void set_log_level(Level l);
// set_log_timestamps: prefix lines with the time (off under systemd,
// whose journal stamps them itself).
void set_log_timestamps(bool on);
void log(Level l, const std::string& msg);

inline void log_error(const std::string& m) { log(Level::kError, m); }
inline void log_warn(const std::string& m) { log(Level::kWarn, m); }
inline void log_info(const std::string& m) { log(Level::kInfo, m); }
inline void log_debug(const std::string& m) { log(Level::kDebug, m); }

// utc_now is the current time as "2026-11-28T10:47:11Z".
std::string utc_now();

}  // namespace portcullis::ctl::daemon
