// to_toml -> parse_text gives back an equal Config; write_file_atomic
// replaces files whole, with mode 0600.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "config/parser.h"
#include "config/writer.h"

namespace portcullis::config {
namespace {

namespace fs = std::filesystem;

const std::string kDir = PORTCULLIS_CONFIG_EXAMPLES;

void expect_round_trip(const Config& c) {
  const std::string text = to_toml(c);
  const LoadResult back = parse_text(text, "saved.toml");
  for (const auto& e : back.errors) ADD_FAILURE() << e.str() << "\n" << text;
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back.config == c) << text;
  // Writing again gives the same text: the writer is deterministic.
  EXPECT_EQ(to_toml(*back.config), text);
}

class RoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(RoundTrip, ExampleSurvivesWriteAndRead) {
  const LoadResult r = load_file(kDir + "/" + GetParam());
  for (const auto& e : r.errors) ADD_FAILURE() << e.str();
  ASSERT_TRUE(r.ok());
  expect_round_trip(*r.config);
}

INSTANTIATE_TEST_SUITE_P(Examples, RoundTrip, ::testing::Values("gw1.toml", "gw2.toml", "full.toml"),
                         [](const auto& info) { return info.param.substr(0, info.param.find('.')); });

TEST(Writer, OddStringsAndNonDefaultsRoundTrip) {
  const LoadResult r = load_file(kDir + "/full.toml");
  ASSERT_TRUE(r.ok());
  Config c = *r.config;
  c.daemon.group = "ops";
  c.daemon.state_dir = "/var/lib/with \"quotes\" and \\backslash\\ and\ttab";
  c.daemon.log_level = "debug";
  Tunnel& t = *c.find_tunnel("to-gw2");
  t.enabled = false;
  t.esn = false;  // "noesn" is allowed in full.toml
  t.anti_replay = false;
  t.allow_no_anti_replay = true;
  t.manual.spi_out = 0xffffffff;
  t.lifetime = api::Lifetime{1000, 2000, 10, 20, 0, 0};
  t.manual.key_out = "/keys/ünïcödé κλειδί 鍵";  // UTF-8 in a value string is fine
  Tunnel* ike = c.find_tunnel("to-branch");
  ike->ike.initiate = false;
  ike->ike.proposal = "";
  ike->lifetime.hard_seconds = 0;  // explicitly no limit, not the 8 h default
  ike->lifetime.soft_seconds = 0;
  c.routes[0].via.reset();
  EXPECT_TRUE(validate(c).empty());
  expect_round_trip(c);
}

TEST(Writer, ControlCharactersAreEscaped) {
  Config c;
  c.daemon.group = std::string("a\nb\x01\x7f", 5);
  const std::string text = to_toml(c);
  EXPECT_NE(text.find("group = \"a\\nb\\u0001\\u007f\""), std::string::npos) << text;
  const LoadResult back = parse_text(text, "x.toml");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back.config->daemon.group, c.daemon.group);
}

class AtomicWrite : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/portcullis-writer-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string read(const std::string& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  size_t entries() {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++n;
    return n;
  }
  std::string dir_;
};

TEST_F(AtomicWrite, CreatesWithMode0600) {
  const std::string p = dir_ + "/portcullis.toml";
  std::string err;
  ::umask(022);
  ASSERT_TRUE(write_file_atomic(p, "a = 1\n", &err)) << err;
  EXPECT_EQ(read(p), "a = 1\n");
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(entries(), 1u);  // no temporary file left behind
}

TEST_F(AtomicWrite, ReplacesAnExistingFile) {
  const std::string p = dir_ + "/portcullis.toml";
  {
    std::ofstream out(p);
    out << "old contents that are longer than the new ones\n";
  }
  ::chmod(p.c_str(), 0644);
  std::string err;
  ASSERT_TRUE(write_file_atomic(p, "new\n", &err)) << err;
  EXPECT_EQ(read(p), "new\n");
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(entries(), 1u);
}

TEST_F(AtomicWrite, FailsCleanlyAndSaysWhy) {
  std::string err;
  EXPECT_FALSE(write_file_atomic(dir_ + "/missing/portcullis.toml", "x", &err));
  EXPECT_NE(err.find("cannot create a temporary file in " + dir_ + "/missing"), std::string::npos) << err;
  // Renaming over a directory fails after the temporary file was written:
  // it is removed and the directory stays.
  fs::create_directory(dir_ + "/sub");
  fs::create_directory(dir_ + "/sub/inner");
  err.clear();
  EXPECT_FALSE(write_file_atomic(dir_ + "/sub", "x", &err));
  EXPECT_NE(err.find("cannot rename"), std::string::npos) << err;
  EXPECT_TRUE(fs::is_directory(dir_ + "/sub"));
  EXPECT_EQ(entries(), 1u);
  EXPECT_FALSE(write_file_atomic(dir_ + "/", "x", nullptr));
}

TEST_F(AtomicWrite, SavedConfigLoadsBack) {
  const LoadResult r = load_file(kDir + "/gw1.toml");
  ASSERT_TRUE(r.ok());
  const std::string p = dir_ + "/saved.toml";
  std::string err;
  ASSERT_TRUE(write_file_atomic(p, to_toml(*r.config), &err)) << err;
  const LoadResult back = load_file(p);
  for (const auto& e : back.errors) ADD_FAILURE() << e.str();
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back.config == *r.config);
  EXPECT_EQ(back.config->path, p);
}

}  // namespace
}  // namespace portcullis::config
