// commands.h: running portcullisctl's commands once the command line is
// parsed: talk to portcullisd, print the reply, choose the exit status.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace portcullis::ctl::cli {

// Exit statuses, documented in control/cli/README.md.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;   // the daemon said no, or the operation failed
inline constexpr int kExitUsage = 2;    // a mistake on the command line
inline constexpr int kExitConnect = 3;  // cannot reach portcullisd

struct Globals {
  bool json = false;
  std::string socket;
};

using Renderer = std::function<std::string(const nlohmann::json& data)>;

// run_request sends one request and prints the reply's data: as pretty JSON
// with --json, otherwise through `render`. A reply with ok: true can still
// report a failure in its data (config.check); `succeeded` says so.
int run_request(const Globals& g, const nlohmann::json& request, const Renderer& render,
                const std::function<bool(const nlohmann::json&)>& succeeded = nullptr);

// run_config_check is run_request for config.check, which fails (status 1)
// when the file has errors.
int run_config_check(const Globals& g, const nlohmann::json& request, const std::string& what);

struct StatsOptions {
  bool watch = false;
  double interval_s = 1.0;
  std::string filter;
  bool all = false;
};
int run_stats(const Globals& g, const StatsOptions& o);

int run_events(const Globals& g, bool follow, unsigned last);

}  // namespace portcullis::ctl::cli
