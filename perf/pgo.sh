#!/usr/bin/env bash
# pgo.sh: build portcullis-dataplane with profile-guided optimisation.
#
#   perf/pgo.sh                 # builds build-perf-pgo/ (2.5 minutes here)
#   BUILD=build-perf-pgo NO_BUILD=1 perf/run.sh ...
#
# 1. configures a fresh build directory with -Db_pgo=generate and builds
#    the data plane and the benchmark tools (instrumented);
# 2. trains: perf/run.py with that build on a mix the benchmark's own
#    points do not use (512-byte and IMIX frames, all three AEADs, both
#    directions, 1 and 1,000 tunnels, the bypass path), 2 s a point; the
#    data plane writes its profile when it exits;
# 3. reconfigures with -Db_pgo=use and rebuilds: GCC lays out branches,
#    inlines and unrolls from the measured counts.
# An appliance build would train on its own site's traffic mix the same way.
# Needs what run.sh needs (root, hugepages, python3-scapy, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build-perf-pgo}
targets=(dataplane/app/portcullis-dataplane tests/e2e/dpchan perf/tunnels perf/latency)

# Profile data belongs to one configuration and one source tree: start clean.
rm -rf "$build"
meson setup "$build" -Db_pgo=generate >/dev/null
ninja -C "$build" "${targets[@]}" >/dev/null
echo "pgo.sh: training (instrumented build, 512 B and IMIX)"
/usr/bin/python3 perf/run.py --build "$build" --out "$build/pgo-training" --frame 512,imix \
  --tunnels 1,1000 --scale-frames 512 --seconds 2 --warmup 0.5 --no-latency --no-plot >/dev/null
n=$(find "$build" -name '*.gcda' | wc -l)
if ((n == 0)); then
  echo "pgo.sh: the training run wrote no profile data (see $build/pgo-training)" >&2
  exit 1
fi
echo "pgo.sh: $n profile files; rebuilding with -Db_pgo=use"
meson configure "$build" -Db_pgo=use >/dev/null
# Files the training never ran (the latency tool) have no profile and warn
# about it: expected, so the output goes to a log shown only on failure.
if ! ninja -C "$build" "${targets[@]}" >"$build/pgo-use.log" 2>&1; then
  cat "$build/pgo-use.log" >&2
  exit 1
fi
echo "pgo.sh: done: BUILD=$build NO_BUILD=1 perf/run.sh ..."
