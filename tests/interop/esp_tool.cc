// esp_tool: the ESP engine behind a line protocol on stdin and stdout, so
// that a test written against another ESP implementation (scapy, in
// scapy_esp_test.py) can drive it without linking to it.
//
// One request per line, one reply line per request, in order:
//
//   sa NAME key=value ...   define SA NAME (both directions), reply "ok"
//   enc NAME HEX [HEX ...]  one outbound burst of IP packets
//   dec NAME HEX [HEX ...]  one inbound burst of ESP packets (outer IP on)
//   del NAME                forget SA NAME, reply "ok"
//   quit
//
// enc and dec reply "ok R1 R2 ...", one result per packet in input order:
// the resulting packet in hex, or "!" and the drop reason's name. A request
// the tool cannot parse gets "error TEXT".
//
// sa keys: suite (a crypto::parse_suite name), spi, key (hex: cipher key,
// then salt for AEADs), auth (hex, CBC suites), mode (tunnel|transport),
// esn (0|1), udp (0|1), sport, dport, src, dst (tunnel endpoints, or the
// transport endpoints whose family picks the path), first_seq, iv_mask
// (hex), replay (window size, or "off").
//
// Key material arrives only on stdin and is never echoed, not even in
// error replies. This is a test tool: the request text that carried a key
// is not wiped (the SA's own copy is, as SecretBytes).
#include <rte_mbuf.h>

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/engine.h"
#include "crypto/secure.h"
#include "crypto/suite.h"
#include "dataplane/ipsec/drop_reason.h"
#include "dataplane/ipsec/esp_worker.h"
#include "dataplane/ipsec/sa.h"
#include "mbuf_arena.h"

namespace portcullis {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::vector<uint8_t>> parse_hex(std::string_view s) {
  if (s.size() % 2 != 0) return std::nullopt;
  std::vector<uint8_t> out(s.size() / 2);
  for (size_t i = 0; i < out.size(); i++) {
    const int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::string to_hex(const std::vector<uint8_t>& b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(b.size() * 2, '0');
  for (size_t i = 0; i < b.size(); i++) {
    s[2 * i] = kDigits[b[i] >> 4];
    s[2 * i + 1] = kDigits[b[i] & 15];
  }
  return s;
}

// parse_u64 takes decimal, or hex with a 0x prefix.
std::optional<uint64_t> parse_u64(const std::string& s) {
  try {
    size_t used = 0;
    const uint64_t v = std::stoull(s, &used, 0);
    if (used != s.size()) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// secret_from_hex turns a key given in hex into SecretBytes, wiping the
// temporary copy.
std::optional<crypto::SecretBytes> secret_from_hex(std::string_view s) {
  auto b = parse_hex(s);
  if (!b) return std::nullopt;
  crypto::SecretBytes secret(*b);
  crypto::wipe(b->data(), b->size());
  return secret;
}

struct ToolSa {
  std::unique_ptr<dp::SaOutbound> out;
  std::unique_ptr<dp::SaInbound> in;
};

class Tool {
 public:
  explicit Tool(crypto::Engine& engine) : worker_(engine), engine_(engine) {}

  // handle runs one request and returns its reply line; it sets *quit on
  // "quit".
  std::string handle(const std::string& line, bool* quit) {
    std::istringstream in(line);
    std::string cmd, name;
    in >> cmd >> name;
    if (cmd == "quit") {
      *quit = true;
      return "ok";
    }
    if (cmd == "sa") return define_sa(name, in);
    if (cmd == "del") {
      return sas_.erase(name) == 1 ? "ok" : "error no SA named " + name;
    }
    if (cmd == "enc" || cmd == "dec") {
      auto it = sas_.find(name);
      if (it == sas_.end()) return "error no SA named " + name;
      return burst(it->second, cmd == "enc", in);
    }
    return "error unknown request '" + cmd + "': use sa, enc, dec, del or quit";
  }

 private:
  std::string define_sa(const std::string& name, std::istringstream& in) {
    if (name.empty()) return "error sa needs a name";
    dp::SaConfig cfg;
    std::string kv;
    while (in >> kv) {
      const size_t eq = kv.find('=');
      if (eq == std::string::npos) return "error expected key=value, got '" + kv + "'";
      const std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
      std::optional<uint64_t> n;
      if (k == "suite") {
        auto s = crypto::parse_suite(v);
        if (!s) return "error unknown suite '" + v + "'";
        cfg.suite = *s;
      } else if (k == "key" || k == "auth") {
        auto secret = secret_from_hex(v);
        if (!secret) return "error " + k + " is not hex";
        (k == "key" ? cfg.cipher_key : cfg.auth_key) = std::move(*secret);
      } else if (k == "mode") {
        if (v != "tunnel" && v != "transport") return "error mode must be tunnel or transport";
        cfg.mode = v == "tunnel" ? dp::Mode::kTunnel : dp::Mode::kTransport;
      } else if (k == "src" || k == "dst") {
        auto ip = dp::IpAddress::parse(v);
        if (!ip) return "error " + k + " is not an IP address: '" + v + "'";
        (k == "src" ? cfg.tunnel_src : cfg.tunnel_dst) = *ip;
      } else if (k == "replay" && v == "off") {
        cfg.anti_replay = false;
      } else if (!(n = parse_u64(v))) {
        return "error " + k + " needs a number, got '" + v + "'";
      } else if (k == "spi") {
        cfg.spi = static_cast<uint32_t>(*n);
      } else if (k == "esn") {
        cfg.esn = *n != 0;
      } else if (k == "udp") {
        cfg.udp_encap = *n != 0;
      } else if (k == "sport") {
        cfg.udp_src_port = static_cast<uint16_t>(*n);
      } else if (k == "dport") {
        cfg.udp_dst_port = static_cast<uint16_t>(*n);
      } else if (k == "first_seq") {
        cfg.first_seq = *n;
      } else if (k == "iv_mask") {
        cfg.iv_mask = *n;
      } else if (k == "replay") {
        cfg.replay_window = static_cast<uint32_t>(*n);
      } else {
        return "error unknown SA key '" + k + "'";
      }
    }
    ToolSa sa;
    std::string err;
    sa.out = dp::build_outbound(cfg, engine_, &err);
    if (sa.out) sa.in = dp::build_inbound(cfg, engine_, &err);
    if (!sa.out || !sa.in) return "error " + err;
    sas_[name] = std::move(sa);
    return "ok";
  }

  std::string burst(ToolSa& sa, bool outbound, std::istringstream& in) {
    // A fresh arena per burst: its mbufs live exactly as long as the reply.
    test::MbufArena arena;
    std::vector<rte_mbuf*> pkts;
    std::string word;
    while (in >> word) {
      auto bytes = parse_hex(word);
      if (!bytes) return "error packet " + std::to_string(pkts.size()) + " is not hex";
      if (bytes->size() > test::MbufArena::kBufLen - RTE_PKTMBUF_HEADROOM) {
        return "error packet " + std::to_string(pkts.size()) + " is too long for an mbuf";
      }
      pkts.push_back(arena.alloc(*bytes));
    }
    if (pkts.size() > dp::EspWorker::kMaxBurst) {
      return "error at most " + std::to_string(dp::EspWorker::kMaxBurst) + " packets per burst";
    }
    const std::vector<rte_mbuf*> order = pkts;
    size_t good;
    if (outbound) {
      std::vector<dp::SaOutbound*> sas(pkts.size(), sa.out.get());
      good = dp::esp_outbound_burst(worker_, pkts, sas);
    } else {
      std::vector<dp::SaInbound*> sas(pkts.size(), sa.in.get());
      good = dp::esp_inbound_burst(worker_, pkts, sas);
    }
    // The burst moved failed packets behind the good ones; put each result
    // back at its input position.
    std::map<const rte_mbuf*, size_t> position;
    for (size_t i = 0; i < order.size(); i++) position[order[i]] = i;
    std::vector<std::string> result(order.size());
    for (size_t i = 0; i < pkts.size(); i++) {
      std::string& r = result[position[pkts[i]]];
      if (i < good) {
        r = to_hex(test::MbufArena::bytes(pkts[i]));
      } else {
        r.push_back('!');
        r.append(dp::drop_reason_name(worker_.reasons()[i - good]));
      }
    }
    std::string reply = "ok";
    for (const std::string& r : result) {
      reply.push_back(' ');
      reply.append(r);
    }
    return reply;
  }

  dp::EspWorker worker_;  // first: it is over-aligned
  crypto::Engine& engine_;
  std::map<std::string, ToolSa> sas_;
};

}  // namespace
}  // namespace portcullis

int main() {
  std::string err;
  auto engine = portcullis::crypto::Engine::create(&err);
  if (!engine) {
    std::fprintf(stderr, "esp_tool: cannot start the crypto engine: %s\n", err.c_str());
    return 1;
  }
  portcullis::Tool tool(*engine);
  std::ios::sync_with_stdio(false);
  std::string line;
  bool quit = false;
  while (!quit && std::getline(std::cin, line)) {
    if (line.empty()) continue;
    std::cout << tool.handle(line, &quit) << '\n' << std::flush;
  }
  return 0;
}
