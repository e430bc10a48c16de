// read_secret_file: what it accepts, what it refuses and why, and that no
// error ever carries the key. The key is random per run and is never
// printed: comparisons use EXPECT_TRUE(a == b), whose failure message
// shows no operands.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/secrets.h"
#include "crypto/secure.h"

namespace portcullis::config {
namespace {

namespace fs = std::filesystem;

std::string to_hex(const std::vector<uint8_t>& b) {
  static const char* kDigits = "0123456789abcdef";
  std::string s;
  for (const uint8_t v : b) {
    s += kDigits[v >> 4];
    s += kDigits[v & 15];
  }
  return s;
}

class Secrets : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::init_sodium());
    char tmpl[] = "/tmp/portcullis-secrets-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    key_.resize(20);
    crypto::random_bytes(key_);
    hex_ = to_hex(key_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text, mode_t mode) {
    const std::string p = dir_ + "/" + name;
    {
      std::ofstream out(p, std::ios::binary);
      out << text;
    }
    EXPECT_EQ(::chmod(p.c_str(), mode), 0);
    return p;
  }

  // refused reads `path`, expects a refusal containing `want`, and checks
  // that no part of the key leaks into the error.
  void refused(const std::string& path, size_t len, const std::string& want) {
    std::string err;
    const auto k = read_secret_file(path, len, &err);
    EXPECT_FALSE(k.has_value());
    EXPECT_NE(err.find(want), std::string::npos) << err;
    EXPECT_EQ(err.rfind(path + ": ", 0), 0u) << err;
    expect_no_key(err);
  }

  void expect_no_key(const std::string& text) {
    // No run of 8 hex digits of the key (4 bytes) appears, in either case.
    std::string upper = hex_;
    for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    for (size_t i = 0; i + 8 <= hex_.size(); i += 2) {
      EXPECT_EQ(text.find(hex_.substr(i, 8)), std::string::npos) << "key bytes in an error message";
      EXPECT_EQ(text.find(upper.substr(i, 8)), std::string::npos) << "key bytes in an error message";
    }
  }

  bool equals_key(const ctl::api::KeyBytes& k) const {
    return k == ctl::api::KeyBytes(std::span<const uint8_t>(key_.data(), key_.size()));
  }

  std::string dir_;
  std::vector<uint8_t> key_;
  std::string hex_;
};

TEST_F(Secrets, Reads0600Hex) {
  std::string err;
  const auto k = read_secret_file(write("k", hex_ + "\n", 0600), 20, &err);
  ASSERT_TRUE(k.has_value()) << err;
  EXPECT_TRUE(equals_key(*k));
}

TEST_F(Secrets, Reads0400AndFormattedHex) {
  // Whitespace anywhere, upper case, a 0x prefix and CRLF line ends.
  std::string text = "  0X";
  for (size_t i = 0; i < hex_.size(); i += 8) {
    std::string part = hex_.substr(i, 8);
    for (auto& ch : part) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    text += part + (i % 16 == 0 ? " " : "\r\n");
  }
  std::string err;
  const auto k = read_secret_file(write("k", text, 0400), 20, &err);
  ASSERT_TRUE(k.has_value()) << err;
  EXPECT_TRUE(equals_key(*k));
}

TEST_F(Secrets, RefusesGroupOrOtherAccess) {
  for (const mode_t mode : {0640, 0644, 0604, 0660, 0601, 0610}) {
    std::string name = "k";
    name += std::to_string(mode);
    const std::string p = write(name, hex_, mode);
    char m[8];
    std::snprintf(m, sizeof m, "%04o", static_cast<unsigned>(mode));
    refused(p, 20,
            std::string("mode ") + m + " is too open; secret files must be 0600 or stricter (chmod 600 " + p + ")");
  }
}

TEST_F(Secrets, RefusesWrongLength) {
  refused(write("k", hex_, 0600), 16, "holds 20 bytes of key; expected 16 bytes (32 hex digits)");
  refused(write("k2", hex_ + "00", 0600), 20, "holds 21 bytes of key; expected 20 bytes");
  refused(write("k3", hex_ + "0", 0600), 20, "has an odd number of hex digits (41)");
  refused(write("k4", "\n \n", 0600), 20, "holds no key; expected 20 bytes (40 hex digits)");
  refused(write("k5", std::string(5000, 'a'), 0600), 20, "too long for a key file");
}

TEST_F(Secrets, RefusesBadHexWithoutShowingIt) {
  // A base64 key, say: the error gives the position, not the character.
  refused(write("k", hex_.substr(0, 10) + "g" + hex_.substr(10), 0600), 20,
          "line 1, column 11 is not a hex digit");
  refused(write("k2", hex_.substr(0, 20) + "\n" + hex_.substr(20, 4) + "=" + hex_.substr(24), 0600), 20,
          "line 2, column 5 is not a hex digit");
}

TEST_F(Secrets, RefusesLinksDirectoriesAndFifos) {
  const std::string target = write("target", hex_, 0600);
  const std::string link = dir_ + "/link";
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  refused(link, 20, "is a symbolic link; point the config at the key file itself");
  const std::string sub = dir_ + "/sub";
  ASSERT_EQ(::mkdir(sub.c_str(), 0700), 0);
  refused(sub, 20, "is a directory");
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  refused(fifo, 20, "is not a regular file");
  refused(dir_ + "/absent", 20, "cannot open: No such file or directory");
}

TEST_F(Secrets, RefusesFilesOfOtherUsers) {
  const std::string p = write("k", hex_, 0600);
  if (::geteuid() == 0) {
    // As root: a file of nobody's is refused, root's own is taken.
    ASSERT_EQ(::chown(p.c_str(), 65534, 65534), 0);
    refused(p, 20, "is owned by uid 65534; secret files must belong to root or to the user the daemon runs as");
    ASSERT_EQ(::chown(p.c_str(), 0, 0), 0);
    std::string err;
    EXPECT_TRUE(read_secret_file(p, 20, &err).has_value()) << err;
  } else {
    // Not root: the file is ours and accepted; the refusal needs a chown
    // only root can make, so say so rather than pass silently.
    std::string err;
    EXPECT_TRUE(read_secret_file(p, 20, &err).has_value()) << err;
    GTEST_SKIP() << "the foreign-owner case needs root (chown)";
  }
}

TEST_F(Secrets, NullErrorIsAllowed) {
  EXPECT_FALSE(read_secret_file(write("k", hex_, 0644), 20, nullptr).has_value());
}

}  // namespace
}  // namespace portcullis::config
