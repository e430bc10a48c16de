// render.h: human-readable output for the replies of portcullisd
// (control/daemon/PROTOCOL.md). Each function takes a reply's `data` and
// returns text ending in '\n'. They tolerate missing or unexpected fields
// (shown as "-") so that an older or newer daemon still gives readable
// output; --json is the exact form.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace portcullis::ctl::cli {

using json = nlohmann::json;

// cell writes one field for a table or key-value block: strings as they
// are, numbers grouped by thousands, booleans yes/no, lists joined with
// ", ", missing and null as "-".
std::string cell(const json& obj, const std::string& key);

std::string render_status(const json& data);
std::string render_tunnel_list(const json& data);
std::string render_tunnel_detail(const json& data);
// render_tunnel_state is the one line after `tunnel up|down`.
std::string render_tunnel_state(const json& data);
std::string render_sa_list(const json& data);
std::string render_sa(const json& data);
std::string render_policy_list(const json& data);
std::string render_route_list(const json& data);
std::string render_port_list(const json& data);
// render_event writes one event on one line: time, severity, kind,
// tunnel and SA when present, message.
std::string render_event(const json& event);
// render_config_check lists the errors, or says the file is valid.
std::string render_config_check(const json& data, const std::string& what);
std::string render_config_reload(const json& data);
// render_ike_list / render_ike_show: IKE SAs and their Child SAs.
std::string render_ike_list(const json& data);
std::string render_ike_show(const json& data);

}  // namespace portcullis::ctl::cli
