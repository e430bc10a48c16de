#!/usr/bin/env bash
# demo.sh: Portcullis's main job on this machine.
#
# Until the control plane lands (portcullisd, portcullisctl, the namespace
# topology), the demo is the ESP engine itself: it sets the machine up,
# builds, and runs perf/bench_esp, which pushes bursts of packets through
# outbound and inbound ESP with AES-GCM and prints how close the engine
# comes to the raw IPsec-MB ceiling measured in the same run.
#
#   scripts/demo.sh [bench_esp options]     e.g. --seconds 2 --json out.json
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
if [[ ! -f build/build.ninja ]]; then
  meson setup build --buildtype=release >/dev/null
fi
ninja -C build perf/bench_esp >/dev/null
echo
echo "Portcullis ESP engine: one core, bursts of 32, tunnel mode, IPv4 outer, ESN"
exec build/perf/bench_esp "$@"
