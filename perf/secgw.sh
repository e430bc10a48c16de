#!/usr/bin/env bash
# secgw.sh: builds DPDK's own IPsec gateway, the ipsec-secgw example of the
# installed DPDK (Debian: dpdk-doc), for perf/run.py --secgw to measure on
# the same captures, core and ports as portcullis-dataplane.
#
#   perf/secgw.sh [OUTDIR]      (default build-perf/secgw; prints the binary)
#
# Built as DPDK's example Makefile builds it (-O3 and libdpdk's own flags,
# which are ours too), with one change: the example asks every port for
# RX checksum offload, which net_pcap does not have, so it would not start
# on the benchmark's ports. The change turns that request off; ipsec-secgw
# never reads the checksum flags on its IPsec paths.
set -euo pipefail
cd "$(dirname "$0")/.."
src=/usr/share/dpdk/examples
out=$(realpath -m "${1:-build-perf/secgw}")
if [[ ! -f $src/ipsec-secgw/ipsec-secgw.c ]]; then
  echo "secgw.sh: $src/ipsec-secgw not found: install dpdk-doc (scripts/setup.sh does)" >&2
  exit 1
fi
stamp=$(cat "$src"/ipsec-secgw/*.[ch] "$0" | sha256sum | cut -c1-16)
if [[ -x $out/ipsec-secgw && $(cat "$out/.stamp" 2>/dev/null) == "$stamp" ]]; then
  echo "$out/ipsec-secgw"
  exit 0
fi
rm -rf "$out"
mkdir -p "$out/src"
cp -r "$src/ipsec-secgw" "$src/common" "$out/src/"
app=$out/src/ipsec-secgw
grep -q '\.offloads = RTE_ETH_RX_OFFLOAD_CHECKSUM,' "$app/ipsec-secgw.c" || {
  echo "secgw.sh: ipsec-secgw.c no longer requests RX checksum offload where expected; update this script" >&2
  exit 1
}
sed -i 's/\.offloads = RTE_ETH_RX_OFFLOAD_CHECKSUM,/.offloads = 0, \/* perf\/secgw.sh: net_pcap has none *\//' \
  "$app/ipsec-secgw.c"
make -s -C "$app" -j"$(nproc)" >"$out/build.log" 2>&1 || {
  echo "secgw.sh: build failed, see $out/build.log" >&2
  exit 1
}
# The thread that runs it is named after the binary: keep that short and
# known (perf/run.py finds its CPU time by that name).
cp "$app/build/ipsec-secgw-shared" "$out/ipsec-secgw"
echo "$stamp" >"$out/.stamp"
echo "$out/ipsec-secgw"
