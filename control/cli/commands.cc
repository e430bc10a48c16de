// commands.cc: portcullisctl's conversations with portcullisd.
#include "control/cli/commands.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "control/cli/client.h"
#include "control/cli/format.h"
#include "control/cli/rates.h"
#include "control/cli/render.h"
#include "control/cli/request.h"

namespace portcullis::ctl::cli {

namespace {

using json = nlohmann::json;

// How long a single request may take. Generous: a reload can push a large
// state to the data plane before the daemon replies.
constexpr int kReplyTimeoutMs = 120'000;

volatile sig_atomic_t g_stop = 0;

void on_signal(int) { g_stop = 1; }

// catch_interrupts makes Ctrl-C (and SIGTERM) end the streaming commands
// cleanly. No SA_RESTART: the blocking poll() and nanosleep() return EINTR.
void catch_interrupts() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void print(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fflush(stdout);
}

void print_error(const std::string& s) { std::fprintf(stderr, "portcullisctl: %s\n", s.c_str()); }

// reply_data checks a reply's envelope. On {"ok": false} it prints the
// daemon's sentence and returns false.
bool reply_data(const json& reply, json& data) {
  if (!reply.is_object() || !reply.contains("ok") || !reply["ok"].is_boolean()) {
    print_error("portcullisd sent a reply without \"ok\": " + reply.dump().substr(0, 200));
    return false;
  }
  if (!reply["ok"].get<bool>()) {
    const json& err = reply.contains("error") ? reply["error"] : json("(no error message)");
    print_error(err.is_string() ? err.get<std::string>() : err.dump());
    return false;
  }
  data = reply.contains("data") ? reply["data"] : json(nullptr);
  return true;
}

// now_text is the local time for people, or UTC in ISO 8601 (the form of
// the daemon's event times) for JSON.
std::string now_text(bool iso_utc) {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::tm tm{};
  if (iso_utc) {
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  } else {
    localtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  }
  return buf;
}

void sleep_interruptibly(double seconds) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(seconds);
  ts.tv_nsec = static_cast<long>((seconds - std::floor(seconds)) * 1e9);
  while (!g_stop && nanosleep(&ts, &ts) != 0) {
  }
}

double monotonic_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int run_request(const Globals& g, const json& request, const Renderer& render,
                const std::function<bool(const json&)>& succeeded) {
  try {
    Client c = Client::connect(g.socket);
    json data;
    if (!reply_data(c.call(request, kReplyTimeoutMs), data)) return kExitFailed;
    print(g.json ? data.dump(2) + "\n" : render(data));
    return !succeeded || succeeded(data) ? kExitOk : kExitFailed;
  } catch (const ConnectError& e) {
    print_error(e.what());
    return kExitConnect;
  }
}

int run_config_check(const Globals& g, const json& request, const std::string& what) {
  return run_request(
      g, request, [&](const json& data) { return render_config_check(data, what); },
      [](const json& data) { return data.is_object() && data.value("ok", false); });
}

int run_stats(const Globals& g, const StatsOptions& o) {
  try {
    Client c = Client::connect(g.socket);
    const json request = make_request("stats");
    RateTracker tracker;
    if (o.watch) catch_interrupts();
    for (;;) {
      json reply;
      try {
        reply = c.call(request, kReplyTimeoutMs);
      } catch (const ConnectError&) {
        if (g_stop) return kExitOk;
        throw;
      }
      json data;
      if (!reply_data(reply, data)) return kExitFailed;
      const json counters =
          data.is_object() && data.contains("counters") ? data["counters"] : json::object();
      const bool connected = data.is_object() && data.value("connected", false);
      auto rows = filter_rows(tracker.update(counters, monotonic_s()), o.filter, o.all);
      if (!o.watch) {
        if (g.json) {
          print(data.dump(2) + "\n");
        } else {
          std::string out;
          if (!connected) out += "data plane not connected: counters are zero or stale\n";
          if (rows.empty()) {
            out += o.all ? "no counters\n" : "no nonzero counters (--all shows every counter)\n";
          } else {
            out += render_counter_rows(rows, false);
          }
          print(out);
        }
        return kExitOk;
      }
      if (g.json) {
        // One compact object per sample, so that the stream is JSON lines.
        json rates = json::object();
        for (const auto& r : rows) rates[r.name] = r.rate ? json(*r.rate) : json(nullptr);
        print(json{{"time", now_text(true)},
                   {"connected", connected},
                   {"counters", counters},
                   {"rates", rates}}
                  .dump() +
              "\n");
      } else {
        // Home the cursor and clear the screen, then draw the whole frame
        // in one write so that it does not flicker.
        std::string out = "\x1b[H\x1b[2J";
        out += "portcullisctl stats   " + now_text(false) + "   every " + si(o.interval_s) + " s";
        if (!o.filter.empty()) out += "   filter \"" + o.filter + "\"";
        out += "   (Ctrl-C quits)\n";
        if (!connected) out += "data plane NOT connected\n";
        out += "\n";
        out += rows.empty() ? "no nonzero counters\n" : render_counter_rows(rows, true);
        print(out);
      }
      sleep_interruptibly(o.interval_s);
      if (g_stop) return kExitOk;
    }
  } catch (const ConnectError& e) {
    print_error(e.what());
    return kExitConnect;
  }
}

int run_events(const Globals& g, bool follow, unsigned last) {
  try {
    Client c = Client::connect(g.socket);
    if (!follow) {
      json data;
      if (!reply_data(c.call(events_request(false, last), kReplyTimeoutMs), data)) {
        return kExitFailed;
      }
      if (g.json) {
        print(data.dump(2) + "\n");
      } else if (data.is_array()) {
        std::string out;
        for (const auto& e : data) out += render_event(e);
        print(out.empty() ? "no events\n" : out);
      }
      return kExitOk;
    }
    catch_interrupts();
    c.send(events_request(true, last));
    for (;;) {
      auto reply = c.read_reply(-1);
      if (!reply) {
        if (c.interrupted() || g_stop) return kExitOk;
        print_error(
            "portcullisd closed the event stream (did it stop? systemctl status portcullisd)");
        return kExitConnect;
      }
      json data;
      if (!reply_data(*reply, data)) return kExitFailed;
      print(g.json ? data.dump() + "\n" : render_event(data));
    }
  } catch (const ConnectError& e) {
    print_error(e.what());
    return kExitConnect;
  }
}

}  // namespace portcullis::ctl::cli
