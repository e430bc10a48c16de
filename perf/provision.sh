#!/usr/bin/env bash
# provision.sh: how fast portcullis-dataplane installs SAs over the channel,
# and what they cost in memory.
#
#   perf/provision.sh [N]      N SA pairs with one outbound policy each (default 100000)
#
# Starts one data plane on two net_null ports, configures them, sends N SA
# pairs and N policies in one transaction (pipelined, dpchan's `bulk`), and
# prints the rate and the data plane's memory (resident, and hugepages
# taken). Needs root and scripts/setup.sh's hugepages.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
build=${BUILD:-build}
ninja -C "$build" dataplane/app/portcullis-dataplane tests/e2e/dpchan >/dev/null
tmp=$(mktemp -d /tmp/pc-prov.XXXXXX)
free_before=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
"$build/dataplane/app/portcullis-dataplane" --socket "$tmp/dp.sock" --idle-sleep-us 100 --mbufs 4095 -- \
  --no-pci --in-memory --file-prefix "prov$$" --log-level=error \
  --vdev net_null0,no-rx=1 --vdev net_null1,no-rx=1 >"$tmp/dp.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do [[ -S $tmp/dp.sock ]] && break; sleep 0.1; done
rss_before=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
"$build/tests/e2e/dpchan" "$tmp/dp.sock" <<EOF2
port 0 protected 10.1.0.1/16
port 1 unprotected 192.0.2.1/24
route 198.18.0.0/15 via 192.0.2.254 port 1
bulk $n
expect agent.sas == $((2 * n))
EOF2
rss_after=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
free_after=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
echo "memory: resident $((rss_before / 1024)) -> $((rss_after / 1024)) MiB;" \
  "hugepages in use $(((free_before - free_after) * 2)) MiB (2 MiB pages)"
