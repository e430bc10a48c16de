#include "config/writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

namespace portcullis::config {
namespace {

// str writes a TOML basic string (TOML 1.0, "String"): quote, backslash
// and the control characters other than tab are escaped.
std::string str(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      // Non-ASCII as \uXXXX / \UXXXXXXXX escapes: toml_guard refuses some
      // code points as raw text (toml++ 3.3 mishandles them), not as escapes.
      const size_t len = u >= 0xF0 ? 4 : u >= 0xE0 ? 3 : u >= 0xC0 ? 2 : 1;
      uint32_t cp = len == 4 ? (u & 0x07u) : len == 3 ? (u & 0x0Fu) : len == 2 ? (u & 0x1Fu) : 0xFFFDu;
      bool ok = len > 1 && i + len <= s.size();
      for (size_t k = 1; ok && k < len; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        ok = (b & 0xC0) == 0x80;
        cp = (cp << 6) | (b & 0x3Fu);
      }
      if (!ok) cp = 0xFFFD;  // not UTF-8: the replacement character
      char buf[16];
      if (cp > 0xFFFF) {
        std::snprintf(buf, sizeof buf, "\\U%08x", cp);
      } else {
        std::snprintf(buf, sizeof buf, "\\u%04x", cp);
      }
      out += buf;
      if (ok) i += len - 1;
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if ((u < 0x20 && c != '\t') || u == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", u);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string boolean(bool b) { return b ? "true" : "false"; }

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

std::string list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out += ", ";
    out += str(items[i]);
  }
  return out + "]";
}

std::string prefixes(const std::vector<api::Prefix>& ps) {
  std::vector<std::string> items;
  for (const auto& p : ps) items.push_back(p.str());
  return list(items);
}

class Out {
 public:
  void line(std::string_view key, const std::string& value) {
    s_ += std::string(key) + " = " + value + "\n";
  }
  // path writes a key only when it has a value: the parser takes an empty
  // path for a mistake.
  void path(std::string_view key, const std::string& value) {
    if (!value.empty()) line(key, str(value));
  }
  void raw(std::string_view text) { s_ += text; }
  std::string take() { return std::move(s_); }

 private:
  std::string s_;
};

}  // namespace

std::string to_toml(const Config& c) {
  Out o;
  o.raw("# Portcullis configuration (schema: config/README.md).\n"
        "# Written by portcullisd: every setting is spelled out, defaults included.\n\n");
  o.raw("[daemon]\n");
  o.path("dataplane_socket", c.daemon.dataplane_socket);
  o.path("control_socket", c.daemon.control_socket);
  o.path("state_dir", c.daemon.state_dir);
  o.line("log_level", str(c.daemon.log_level));
  o.line("group", str(c.daemon.group));

  o.raw("\n[crypto]\n");
  o.line("profile", str(c.crypto.profile));
  o.line("allow", list(c.crypto.allow));

  for (const Port& p : c.ports) {
    o.raw("\n[[port]]\n");
    o.line("name", str(p.name));
    o.line("id", std::to_string(p.id));
    o.line("role", str(p.role == api::PortRole::kProtected ? "protected" : "unprotected"));
    o.line("addresses", prefixes(p.addresses));
    o.line("mtu", std::to_string(p.mtu));
  }

  for (const Route& r : c.routes) {
    o.raw("\n[[route]]\n");
    o.line("prefix", str(r.prefix.str()));
    if (r.via) o.line("via", str(r.via->str()));
    o.line("port", str(r.port));
  }

  for (const Tunnel& t : c.tunnels) {
    o.raw("\n[[tunnel]]\n");
    o.line("name", str(t.name));
    o.line("enabled", boolean(t.enabled));
    o.line("local", str(t.local.str()));
    o.line("remote", str(t.remote.str()));
    o.line("local_ts", prefixes(t.local_ts));
    o.line("remote_ts", prefixes(t.remote_ts));
    o.line("mode", str(t.mode == api::Mode::kTunnel ? "tunnel" : "transport"));
    o.line("udp_encap", boolean(t.udp_encap));
    o.line("udp_port", std::to_string(t.udp_port));
    o.line("esp", str(t.esp));
    o.line("esn", boolean(t.esn));
    o.line("replay_window", std::to_string(t.replay_window));
    o.line("anti_replay", boolean(t.anti_replay));
    o.line("allow_no_anti_replay", boolean(t.allow_no_anti_replay));
    o.line("keying", str(t.keying == Keying::kManual ? "manual" : "ikev2"));

    const api::Lifetime& l = t.lifetime;
    o.raw("\n[tunnel.lifetime]\n");
    o.line("soft_seconds", std::to_string(l.soft_seconds));
    o.line("hard_seconds", std::to_string(l.hard_seconds));
    o.line("soft_bytes", std::to_string(l.soft_bytes));
    o.line("hard_bytes", std::to_string(l.hard_bytes));
    o.line("soft_packets", std::to_string(l.soft_packets));
    o.line("hard_packets", std::to_string(l.hard_packets));

    if (t.keying == Keying::kManual) {
      const ManualKeys& m = t.manual;
      o.raw("\n[tunnel.manual]\n");
      o.line("spi_out", hex32(m.spi_out));
      o.line("spi_in", hex32(m.spi_in));
      o.path("key_out", m.key_out);
      o.path("key_in", m.key_in);
      o.path("auth_key_out", m.auth_key_out);
      o.path("auth_key_in", m.auth_key_in);
    } else {
      const IkeSettings& k = t.ike;
      o.raw("\n[tunnel.ike]\n");
      o.line("local_id", str(k.local_id));
      o.line("remote_id", str(k.remote_id));
      o.line("auth", str(k.auth));
      o.path("certificate", k.certificate);
      o.path("private_key", k.private_key);
      o.path("ca", k.ca);
      o.path("psk_file", k.psk_file);
      o.line("proposal", str(k.proposal));
      o.line("initiate", boolean(k.initiate));
      o.line("ike_lifetime", std::to_string(k.ike_lifetime_seconds));
    }
  }
  return o.take();
}

bool write_file_atomic(const std::string& path, std::string_view content, std::string* error) {
  auto fail = [&](const std::string& what, int err) {
    if (error) *error = path + ": " + what + ": " + std::strerror(err);
    return false;
  };
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.empty()) return fail("not a file name", EISDIR);

  // The temporary file sits in the target's directory so that rename()
  // stays within one file system and is atomic.
  std::string tmpl = (dir == "/" ? std::string() : dir) + "/." + base + ".tmp.XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  const int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) return fail("cannot create a temporary file in " + dir, errno);
  const std::string tmp(name.data());
  auto abandon = [&](const std::string& what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return fail(what, err);
  };
  if (::fchmod(fd, 0600) != 0) return abandon("cannot set mode 0600 on " + tmp);
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return abandon("cannot write " + tmp);
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return abandon("cannot fsync " + tmp);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fail("cannot close " + tmp, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fail("cannot rename " + tmp + " over it", err);
  }
  // The rename is durable only once the directory entry is on disk.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return fail("written, but cannot open " + dir + " to fsync it", errno);
  const int rc = ::fsync(dfd);
  const int err = errno;
  ::close(dfd);
  if (rc != 0) return fail("written, but cannot fsync " + dir, err);
  return true;
}

}  // namespace portcullis::config
