#include "control/daemon/log.h"

#include <atomic>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace portcullis::ctl::daemon {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::atomic<bool> g_stamps{true};
std::mutex g_mu;
const char* const kNames[] = {"error", "warn", "info", "debug"};
}  // namespace

bool parse_level(std::string_view s, Level* out) {
  for (int i = 0; i < 4; i++) {
    if (s == kNames[i]) {
      *out = static_cast<Level>(i);
      return true;
    }
  }
  return false;
}

void set_log_level(Level l) { g_level = static_cast<int>(l); }
void set_log_timestamps(bool on) { g_stamps = on; }

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void log(Level l, const std::string& msg) {
  if (static_cast<int>(l) > g_level.load(std::memory_order_relaxed)) return;
  std::lock_guard lock(g_mu);
  if (g_stamps) {
    std::fprintf(stderr, "%s portcullisd %s: %s\n", utc_now().c_str(), kNames[static_cast<int>(l)], msg.c_str());
  } else {
    std::fprintf(stderr, "%s: %s\n", kNames[static_cast<int>(l)], msg.c_str());
  }
  std::fflush(stderr);
}

}  // namespace portcullis::ctl::daemon
