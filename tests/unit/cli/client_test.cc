// portcullisctl's connection errors say what to fix.
#include "control/cli/client.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>

namespace portcullis::ctl::cli {
namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(ConnectErrorMessage, SaysWhatToCheck) {
  const std::string path = "/run/portcullis/portcullisd.sock";
  std::string missing = connect_error_message(path, ENOENT);
  EXPECT_EQ(missing,
            "cannot connect to /run/portcullis/portcullisd.sock: No such file or directory — is "
            "portcullisd running? (systemctl status portcullisd)");
  EXPECT_TRUE(contains(connect_error_message(path, ECONNREFUSED), "is portcullisd running?"));
  EXPECT_TRUE(contains(connect_error_message(path, EACCES),
                       "Permission denied — you must be root or in group portcullis"));
  EXPECT_TRUE(contains(connect_error_message(path, ENOTSOCK), "--socket"));
}

TEST(Connect, MissingSocketIsAConnectError) {
  // A real connect(2) on a path that cannot exist.
  const std::string path = ::testing::TempDir() + "portcullisctl-no-such-dir/x.sock";
  try {
    Client::connect(path);
    FAIL() << "connected to " << path;
  } catch (const ConnectError& e) {
    EXPECT_EQ(std::string(e.what()), connect_error_message(path, ENOENT));
  }
}

TEST(Connect, OverlongPathIsRefusedBeforeConnecting) {
  EXPECT_THROW(Client::connect(std::string(200, 'a')), ConnectError);
  EXPECT_THROW(Client::connect(""), ConnectError);
}

}  // namespace
}  // namespace portcullis::ctl::cli
