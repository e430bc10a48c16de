// eal_main.cc: main() for the unit tests that need EAL (the tables, the
// pipeline's too-big path). rte_acl, rte_lpm, rte_lpm6 and mbuf pools
// allocate from the EAL heap, so EAL is brought up once per test binary,
// without hugepages, PCI or shared config, under a file prefix of its own
// (the binary's name and pid) so that binaries running in parallel do not
// collide. Link it as eal_main_src with gtest without its main.
#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  std::string name = argv[0];
  name = name.substr(name.find_last_of('/') + 1);
  const std::string prefix = "portcullis_" + name + "_" + std::to_string(getpid());
  // -m: the LPM tries alone take 64 MiB per family.
  std::vector<std::string> args = {
      argv[0],         "--no-huge", "--no-shconf",       "--no-pci", "-l", "0",
      "--file-prefix", prefix,      "--log-level=error", "-m",       "512"};
  std::vector<char*> cargs;
  for (std::string& a : args) cargs.push_back(a.data());
  if (rte_eal_init(static_cast<int>(cargs.size()), cargs.data()) < 0) {
    std::fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  const int rc = RUN_ALL_TESTS();
  rte_eal_cleanup();
  return rc;
}
