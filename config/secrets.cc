#include "config/secrets.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "crypto/secure.h"

namespace portcullis::config {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// Wiped holds a fixed buffer that is wiped however the function leaves.
template <typename T, size_t N>
struct Wiped {
  std::array<T, N> a{};
  ~Wiped() { crypto::wipe(a.data(), sizeof a); }
};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

std::optional<ctl::api::KeyBytes> read_secret_file(const std::string& path, size_t expected_len,
                                                   std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<ctl::api::KeyBytes> {
    if (error) *error = path + ": " + why;
    return std::nullopt;
  };
  const std::string want =
      expected_len == 0
          ? "at least " + std::to_string(kMinPskLen) + " bytes (" + std::to_string(kMinPskLen * 2) + " hex digits)"
          : std::to_string(expected_len) + " bytes (" + std::to_string(expected_len * 2) + " hex digits)";

  // O_NOFOLLOW: a link could be repointed after the config was checked.
  // O_NONBLOCK: opening a FIFO must not hang the daemon; fstat refuses it.
  const Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) {
    if (errno == ELOOP) return fail("is a symbolic link; point the config at the key file itself");
    return fail(std::string("cannot open: ") + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail(std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) {
    return fail(S_ISDIR(st.st_mode) ? "is a directory; give the path of a key file"
                                    : "is not a regular file; secret files must be plain files");
  }
  if (st.st_uid != ::geteuid() && st.st_uid != 0) {
    return fail("is owned by uid " + std::to_string(st.st_uid) +
                "; secret files must belong to root or to the user the daemon runs as (uid " +
                std::to_string(::geteuid()) + ")");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return fail(std::string("mode ") + mode +
                " is too open; secret files must be 0600 or stricter (chmod 600 " + path + ")");
  }
  if (st.st_size > static_cast<off_t>(kMaxSecretFileSize)) {
    return fail("is " + std::to_string(st.st_size) + " bytes long, too long for a key file; expected " + want);
  }

  Wiped<char, kMaxSecretFileSize + 1> text;
  size_t len = 0;
  while (len < text.a.size()) {
    const ssize_t n = ::read(fd.get(), text.a.data() + len, text.a.size() - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(std::string("cannot read: ") + std::strerror(errno));
    if (n == 0) break;
    len += static_cast<size_t>(n);
  }
  if (len > kMaxSecretFileSize) return fail("grew while being read, too long for a key file; expected " + want);

  // Decode, skipping whitespace; report positions, never characters.
  Wiped<uint8_t, kMaxSecretFileSize / 2> key;
  size_t digits = 0;
  size_t i = 0;
  while (i < len && is_space(text.a[i])) ++i;
  if (i + 1 < len && text.a[i] == '0' && (text.a[i + 1] == 'x' || text.a[i + 1] == 'X')) i += 2;
  uint32_t line = 1;
  size_t line_start = 0;
  for (; i < len; ++i) {
    const char c = text.a[i];
    if (c == '\n') {
      ++line;
      line_start = i + 1;
      continue;
    }
    if (is_space(c)) continue;
    const int v = hex_value(c);
    if (v < 0) {
      return fail("line " + std::to_string(line) + ", column " + std::to_string(i - line_start + 1) +
                  " is not a hex digit; key files hold hexadecimal text only (whitespace is ignored)");
    }
    if (digits % 2 == 0) {
      key.a[digits / 2] = static_cast<uint8_t>(v << 4);
    } else {
      key.a[digits / 2] = static_cast<uint8_t>(key.a[digits / 2] | v);
    }
    ++digits;
  }
  if (digits == 0) return fail("holds no key; expected " + want);
  if (digits % 2 != 0) {
    return fail("has an odd number of hex digits (" + std::to_string(digits) + "); each byte takes two");
  }
  if (expected_len == 0 ? digits / 2 < kMinPskLen : digits / 2 != expected_len) {
    return fail("holds " + std::to_string(digits / 2) + " bytes of key; expected " + want);
  }
  return ctl::api::KeyBytes(std::span<const uint8_t>(key.a.data(), digits / 2));
}

}  // namespace portcullis::config
