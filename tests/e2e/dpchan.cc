// dpchan: drives portcullis-dataplane over the dataplane channel from a
// script, for the end-to-end tests (until portcullisd exists). One command
// per line; '#' starts a comment:
//
//   port ID protected|unprotected ADDR/LEN... [mtu N]
//   route PREFIX [via IP] port ID
//   sa ID in|out SPI SUITE KEYHEX [auth HEX] tunnel|transport SRC DST
//        [udp] [noesn] [window N] [noreplay] [sel SRCPFX DSTPFX]...
//   policy ID out SRCPFX DSTPFX protect SA_ID|bypass|discard [prio N]
//        [first N] [lease N]
//   neigh IP MAC port ID       a static neighbour (never ages)
//   await EVENT MS             wait for an event (acquire, sa_expire, punt); print it
//   lease SA_ID N              sa_update: the outbound SA may use sequence numbers up to N
//   del sa ID | del policy ID
//   begin | commit | abort
//   stats [SUBSTRING]          print counters whose name contains it
//   expect COUNTER OP N        OP: == >= <= ; fails the script otherwise
//   query SA_ID
//   bulk N                     one transaction of N SA pairs (tunnels to
//                              10.128.0.0/9 peers) with an outbound policy
//                              each, pipelined; prints the rate
//
//   dpchan SOCKET [SCRIPT]     (stdin without SCRIPT)
// Exits 1 on the first error reply or failed expectation. Key bytes are
// never printed.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "control/api/client.h"
#include "control/api/format.h"

namespace api = portcullis::ctl::api;

namespace {

std::vector<uint8_t> unhex(const std::string& h) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoul(h.substr(i, 2), nullptr, 16)));
  return out;
}

api::Prefix prefix(const std::string& s) {
  auto p = api::Prefix::parse(s);
  if (!p) throw std::runtime_error("bad prefix " + s);
  return *p;
}

api::IpAddr ip(const std::string& s) {
  auto a = api::IpAddr::parse(s);
  if (!a) throw std::runtime_error("bad address " + s);
  return *a;
}

uint64_t counter(api::Client& c, const std::string& name) {
  api::Reply r = c.call(api::StatsGet{});
  if (auto* st = std::get_if<api::Stats>(&r.payload)) {
    for (const auto& k : st->counters) {
      if (k.name == name) return k.value;
    }
  }
  throw std::runtime_error("no counter " + name);
}

void check(const api::Reply& r, const std::string& line) {
  if (!r.ok()) throw std::runtime_error("'" + line + "': " + api::status_name(r.status) + ": " + r.error);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: dpchan SOCKET [SCRIPT]\n");
    return 2;
  }
  std::ifstream file;
  if (argc > 2) file.open(argv[2]);
  std::istream& in = argc > 2 ? static_cast<std::istream&>(file) : std::cin;
  try {
    api::Client c = api::Client::connect(argv[1]);
    std::string line;
    while (std::getline(in, line)) {
      if (auto h = line.find('#'); h != std::string::npos) line.resize(h);
      std::istringstream ss(line);
      std::vector<std::string> w;
      for (std::string t; ss >> t;) w.push_back(t);
      if (w.empty()) continue;
      const std::string& cmd = w[0];
      if (cmd == "begin") {
        check(c.call(api::Begin{}), line);
      } else if (cmd == "commit") {
        check(c.call(api::Commit{}), line);
      } else if (cmd == "abort") {
        check(c.call(api::Abort{}), line);
      } else if (cmd == "port") {
        api::PortConfig m;
        m.port_id = static_cast<uint16_t>(std::stoul(w.at(1)));
        m.role = w.at(2) == "protected" ? api::PortRole::kProtected : api::PortRole::kUnprotected;
        for (size_t i = 3; i < w.size(); i++) {
          if (w[i] == "mtu") {
            m.mtu = static_cast<uint16_t>(std::stoul(w.at(++i)));
          } else {
            m.addresses.push_back(prefix(w[i]));
          }
        }
        check(c.call(m), line);
      } else if (cmd == "route") {
        api::RouteAdd m;
        m.prefix = prefix(w.at(1));
        for (size_t i = 2; i < w.size(); i++) {
          if (w[i] == "via") m.next_hop = ip(w.at(++i));
          if (w[i] == "port") m.port_id = static_cast<uint16_t>(std::stoul(w.at(++i)));
        }
        check(c.call(m), line);
      } else if (cmd == "sa") {
        api::SaAdd m;
        m.sa_id = static_cast<uint32_t>(std::stoul(w.at(1)));
        m.direction = w.at(2) == "in" ? api::Direction::kIn : api::Direction::kOut;
        m.spi = static_cast<uint32_t>(std::stoul(w.at(3), nullptr, 0));
        m.suite = w.at(4);
        m.cipher_key = api::KeyBytes(unhex(w.at(5)));
        size_t i = 6;
        if (w.at(i) == "auth") {
          m.auth_key = api::KeyBytes(unhex(w.at(i + 1)));
          i += 2;
        }
        m.mode = w.at(i) == "transport" ? api::Mode::kTransport : api::Mode::kTunnel;
        m.tunnel_src = ip(w.at(i + 1));
        m.tunnel_dst = ip(w.at(i + 2));
        for (i += 3; i < w.size(); i++) {
          if (w[i] == "udp") m.udp_encap = true;
          if (w[i] == "noesn") m.esn = false;
          if (w[i] == "noreplay") m.anti_replay = false;
          if (w[i] == "window") m.replay_window = static_cast<uint32_t>(std::stoul(w.at(++i)));
          if (w[i] == "first") m.first_seq = std::stoull(w.at(++i), nullptr, 0);
          if (w[i] == "lease") m.seq_lease = std::stoull(w.at(++i), nullptr, 0);
          if (w[i] == "sel") {
            api::Selector s;
            s.src = prefix(w.at(i + 1));
            s.dst = prefix(w.at(i + 2));
            m.selectors.push_back(s);
            i += 2;
          }
        }
        check(c.call(std::move(m)), line.substr(0, line.find(' ', 8)));  // no key in errors
      } else if (cmd == "policy") {
        api::PolicyAdd m;
        m.policy_id = static_cast<uint32_t>(std::stoul(w.at(1)));
        m.direction = w.at(2) == "in" ? api::Direction::kIn : api::Direction::kOut;
        m.selector.src = prefix(w.at(3));
        m.selector.dst = prefix(w.at(4));
        size_t i = 5;
        if (w.at(i) == "protect") {
          m.action = api::Action::kProtect;
          m.sa_id = static_cast<uint32_t>(std::stoul(w.at(++i)));
        } else {
          m.action = w.at(i) == "bypass" ? api::Action::kBypass : api::Action::kDiscard;
        }
        for (++i; i < w.size(); i++) {
          if (w[i] == "prio") m.priority = static_cast<uint32_t>(std::stoul(w.at(++i)));
        }
        check(c.call(m), line);
      } else if (cmd == "neigh") {
        // neigh IP MAC port ID
        api::NeighAdd m;
        m.ip = ip(w.at(1));
        unsigned b[6];
        if (std::sscanf(w.at(2).c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) {
          throw std::runtime_error("bad MAC " + w.at(2));
        }
        for (int k = 0; k < 6; k++) m.mac[k] = static_cast<uint8_t>(b[k]);
        if (w.at(3) != "port") throw std::runtime_error("expected 'port ID' after the MAC");
        m.port_id = static_cast<uint16_t>(std::stoul(w.at(4)));
        check(c.call(m), line);
      } else if (cmd == "await") {
        // await acquire|sa_expire MS: wait for that event, print it
        const std::string want = w.at(1);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::stoul(w.at(2)));
        bool got = false;
        while (!got && std::chrono::steady_clock::now() < deadline) {
          auto ev = c.poll_event(50);
          if (ev && api::type_name(api::type_of(*ev)) == want) {
            std::printf("%s\n", api::to_string(*ev).c_str());
            got = true;
          }
        }
        if (!got) throw std::runtime_error("no " + want + " event in " + w.at(2) + " ms");
      } else if (cmd == "lease") {
        // lease SA_ID N: raise an outbound SA's sequence lease
        api::SaUpdate m;
        m.sa_id = static_cast<uint32_t>(std::stoul(w.at(1)));
        m.seq_lease = std::stoull(w.at(2), nullptr, 0);
        check(c.call(m), line);
      } else if (cmd == "del" && w.at(1) == "route") {
        api::RouteDel m;
        m.prefix = prefix(w.at(2));
        check(c.call(m), line);
      } else if (cmd == "del") {
        const uint32_t id = static_cast<uint32_t>(std::stoul(w.at(2)));
        if (w.at(1) == "sa") {
          check(c.call(api::SaDel{0, id}), line);
        } else {
          check(c.call(api::PolicyDel{0, id}), line);
        }
      } else if (cmd == "stats") {
        api::Reply r = c.call(api::StatsGet{});
        check(r, line);
        for (const auto& k : std::get<api::Stats>(r.payload).counters) {
          if (w.size() < 2 || k.name.find(w[1]) != std::string::npos) {
            std::printf("%-32s %llu\n", k.name.c_str(), static_cast<unsigned long long>(k.value));
          }
        }
      } else if (cmd == "expect") {
        const uint64_t v = counter(c, w.at(1));
        const uint64_t want = std::stoull(w.at(3));
        const std::string& op = w.at(2);
        const bool ok = op == "==" ? v == want : op == ">=" ? v >= want : v <= want;
        if (!ok) {
          std::fprintf(stderr, "dpchan: expected %s %s %llu, got %llu\n", w[1].c_str(), op.c_str(),
                       static_cast<unsigned long long>(want), static_cast<unsigned long long>(v));
          return 1;
        }
      } else if (cmd == "bulk") {
        const uint32_t n = static_cast<uint32_t>(std::stoul(w.at(1)));
        const auto t0 = std::chrono::steady_clock::now();
        c.send_async(api::Begin{});
        for (uint32_t i = 0; i < n; i++) {
          // Peer i: gateway 198.18.x.y, LAN 10.128.0.0/9 cut into /32s.
          const uint32_t peer = (198u << 24) | (18u << 16) | (i & 0xffff);
          const uint32_t lan = (10u << 24) | (128u << 16) | i;
          auto v4 = [](uint32_t a) {
            return api::IpAddr::v4(static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16),
                                   static_cast<uint8_t>(a >> 8), static_cast<uint8_t>(a));
          };
          for (int dir = 0; dir < 2; dir++) {
            api::SaAdd m;
            m.sa_id = 1000000 + 2 * i + static_cast<uint32_t>(dir);
            m.direction = dir == 0 ? api::Direction::kOut : api::Direction::kIn;
            m.spi = 0x10000000u + 2 * i + static_cast<uint32_t>(dir);
            m.suite = "aes128gcm16";
            std::vector<uint8_t> k(20, static_cast<uint8_t>(i + dir));
            m.cipher_key = api::KeyBytes(k);
            m.tunnel_src = dir == 0 ? api::IpAddr::v4(192, 0, 2, 1) : v4(peer);
            m.tunnel_dst = dir == 0 ? v4(peer) : api::IpAddr::v4(192, 0, 2, 1);
            c.send_async(std::move(m));
          }
          api::PolicyAdd p;
          p.policy_id = 1000000 + i;
          p.priority = 100;
          p.selector.src = api::Prefix{api::IpAddr::v4(10, 1, 0, 0), 16};
          p.selector.dst = api::Prefix{v4(lan), 32};
          p.action = api::Action::kProtect;
          p.sa_id = 1000000 + 2 * i;
          c.send_async(p);
        }
        for (const api::Reply& r : c.wait_all()) check(r, "bulk");
        const auto t1 = std::chrono::steady_clock::now();
        check(c.call(api::Commit{}), "bulk commit");
        const auto t2 = std::chrono::steady_clock::now();
        const double add = std::chrono::duration<double>(t1 - t0).count();
        const double commit = std::chrono::duration<double>(t2 - t1).count();
        std::printf("bulk: %u SA pairs and %u policies in %.2f s (requests %.2f s, commit %.2f s): %.0f SAs/s\n",
                    n, n, add + commit, add, commit, 2.0 * n / (add + commit));
      } else if (cmd == "query") {
        api::Reply r = c.call(api::SaQuery{0, static_cast<uint32_t>(std::stoul(w.at(1)))});
        check(r, line);
        const auto& info = std::get<api::SaInfo>(r.payload);
        std::printf("sa %s: packets %llu bytes %llu seq %llu events %u\n", w[1].c_str(),
                    static_cast<unsigned long long>(info.packets),
                    static_cast<unsigned long long>(info.bytes),
                    static_cast<unsigned long long>(info.seq), info.events);
      } else {
        throw std::runtime_error("unknown command '" + cmd + "'");
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dpchan: %s\n", e.what());
    return 1;
  }
  return 0;
}
