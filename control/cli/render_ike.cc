// render_ike.cc: `portcullisctl ike list|show` (control/daemon/PROTOCOL.md,
// ike.list and ike.show): one row per IKE SA, then its Child SAs.
#include "control/cli/render.h"
#include "control/cli/table.h"

namespace portcullis::ctl::cli {

namespace {

const json& rows(const json& data) {
  static const json empty = json::array();
  return data.is_array() ? data : empty;
}

std::string seconds_text(const json& obj, const std::string& key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number_integer() || it->get<int64_t>() < 0) return "-";
  const int64_t s = it->get<int64_t>();
  if (s >= 3600) return std::to_string(s / 3600) + "h" + std::to_string(s % 3600 / 60) + "m";
  if (s >= 60) return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
  return std::to_string(s) + "s";
}

std::string render_children(const json& sa) {
  Table t({{"CHILD", Align::kRight}, {"SPI-IN"}, {"SPI-OUT"}, {"ESP"}, {"STATE"}, {"REKEY-IN"}, {"LOCAL-TS"}, {"REMOTE-TS"}});
  auto it = sa.find("children");
  if (it == sa.end() || !it->is_array()) return {};
  for (const auto& c : *it) {
    t.add_row({cell(c, "id"), cell(c, "spi_in"), cell(c, "spi_out"), cell(c, "esp"), cell(c, "state"),
               seconds_text(c, "rekey_in_s"), cell(c, "local_ts"), cell(c, "remote_ts")});
  }
  return t.render();
}

}  // namespace

std::string render_ike_list(const json& data) {
  Table t({{"TUNNEL"}, {"STATE"}, {"ROLE"}, {"REMOTE"}, {"PROPOSAL"}, {"NAT-T"}, {"UP"}, {"REKEY-IN"}, {"CHILDREN", Align::kRight}});
  for (const auto& sa : rows(data)) {
    const size_t n = sa.contains("children") && sa["children"].is_array() ? sa["children"].size() : 0;
    t.add_row({cell(sa, "tunnel"), cell(sa, "state"), cell(sa, "role"), cell(sa, "remote"), cell(sa, "proposal"),
               cell(sa, "nat_t"), seconds_text(sa, "established_s"), seconds_text(sa, "rekey_in_s"), std::to_string(n)});
  }
  if (rows(data).empty()) return "no IKE SAs\n";
  return t.render();
}

std::string render_ike_show(const json& d) {
  KeyValues kv = {{"tunnel", cell(d, "tunnel")}, {"state", cell(d, "state")}};
  if (d.contains("error") && d["error"].is_string()) kv.emplace_back("error", cell(d, "error"));
  std::string out = render_kv(kv);
  auto it = d.find("ike_sas");
  if (it == d.end() || !it->is_array()) return out;
  for (const auto& sa : *it) {
    KeyValues s = {{"ike sa", cell(sa, "spi_i") + "_i " + cell(sa, "spi_r") + "_r"},
                   {"state", cell(sa, "state")},
                   {"role", cell(sa, "role")},
                   {"local", cell(sa, "local")},
                   {"remote", cell(sa, "remote")},
                   {"proposal", cell(sa, "proposal")},
                   {"nat-t", cell(sa, "nat_t")},
                   {"up for", seconds_text(sa, "established_s")},
                   {"rekey in", seconds_text(sa, "rekey_in_s")}};
    if (sa.contains("error")) s.emplace_back("error", cell(sa, "error"));
    // Appends, not an operator+ chain: GCC 12 misfires -Wrestrict on those.
    out += '\n';
    out += render_kv(s);
    out += '\n';
    out += render_children(sa);
  }
  return out;
}

}  // namespace portcullis::ctl::cli
