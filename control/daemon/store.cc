#include "control/daemon/store.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "config/writer.h"

namespace portcullis::ctl::daemon {

using nlohmann::json;

bool Store::load(const std::string& state_dir, std::string* error) {
  const std::string path = state_dir + "/state.json";
  std::ifstream in(path);
  if (!in) {
    *this = Store{};
    return true;
  }
  try {
    const json j = json::parse(in);
    Store s;
    s.next_id = j.at("next_id").get<uint32_t>();
    for (const auto& [name, t] : j.at("tunnels").items()) {
      TunnelRecord r;
      r.sa_out = t.value("sa_out", 0u);
      r.sa_in = t.value("sa_in", 0u);
      r.policies = t.value("policies", std::vector<uint32_t>{});
      r.digest = t.value("digest", "");
      r.key_out_fp = t.value("key_out_fp", "");
      r.lease = t.value("lease", uint64_t{0});
      r.expired = t.value("expired", false);
      r.expired_reason = t.value("expired_reason", "");
      s.tunnels[name] = std::move(r);
    }
    if (s.next_id == 0) throw std::runtime_error("next_id is 0");
    *this = std::move(s);
    return true;
  } catch (const std::exception& e) {
    *error = path + ": " + e.what() +
             "; the daemon will not guess sequence numbers: restore the file or move it away and "
             "install new manual keys";
    return false;
  }
}

bool Store::save(const std::string& state_dir, std::string* error) const {
  json j;
  j["version"] = 1;
  j["next_id"] = next_id;
  j["tunnels"] = json::object();
  for (const auto& [name, r] : tunnels) {
    j["tunnels"][name] = {{"sa_out", r.sa_out},         {"sa_in", r.sa_in},   {"policies", r.policies},
                          {"digest", r.digest},         {"key_out_fp", r.key_out_fp},
                          {"lease", r.lease},           {"expired", r.expired},
                          {"expired_reason", r.expired_reason}};
  }
  return config::write_file_atomic(state_dir + "/state.json", j.dump(1) + "\n", error);
}

}  // namespace portcullis::ctl::daemon
