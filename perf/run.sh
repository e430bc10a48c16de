#!/usr/bin/env bash
# run.sh: the data plane benchmark of issue 5 (see perf/README.md).
#
#   perf/run.sh [--quick] [--seconds N] [--only out|in] [--alg A,..]
#               [--frame 64,512,1420,imix] [--tunnels 1,10000,1000000] ...
#
# Builds what it runs in build-perf/ (release, LTO), then perf/run.py
# generates the captures, measures every point and both ceilings, prints
# the table and writes perf/results/latest.json and latest.png (BUILD=dir
# for another build directory, NO_BUILD=1 to skip building; PGO=1 builds
# and measures perf/pgo.sh's profile-guided build in build-perf-pgo/).
# It also builds DPDK's ipsec-secgw (perf/secgw.sh) and measures it at each
# AES-GCM point up to 10,000 tunnels (NO_SECGW=1 to skip).
# Needs root, hugepages (scripts/setup.sh), dpdk-test-crypto-perf (Debian: dpdk-dev),
# python3-scapy, python3-cryptography and python3-matplotlib.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build-perf}
if [[ -n ${PGO:-} ]]; then  # PGO=1: the profile-guided build of perf/pgo.sh
  build=${BUILD:-build-perf-pgo}
  [[ -n ${NO_BUILD:-} ]] || BUILD=$build perf/pgo.sh
elif [[ -z ${NO_BUILD:-} ]]; then  # NO_BUILD=1: measure the binaries already there
  [[ -f $build/build.ninja ]] || meson setup "$build" >/dev/null
  ninja -C "$build" dataplane/app/portcullis-dataplane tests/e2e/dpchan perf/tunnels perf/latency >/dev/null
fi
# DPDK's own gateway at the same points, for the x secgw column (NO_SECGW=1:
# leave it out; it needs dpdk-doc, which scripts/setup.sh installs).
secgw=()
if [[ -z ${NO_SECGW:-} ]]; then
  secgw=(--secgw "$(perf/secgw.sh "$build/secgw")")
fi
exec /usr/bin/python3 perf/run.py --build "$build" "${secgw[@]}" "$@"
