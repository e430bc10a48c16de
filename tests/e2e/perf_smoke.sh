#!/usr/bin/env bash
# perf_smoke.sh: the benchmark harness of perf/run.sh on one short point,
# run the way perf/README.md tells an operator to, with DPDK's ipsec-secgw
# beside it (perf/secgw.sh). Checks that both gateways carried traffic in
# both directions, that both ceilings were measured, and that
# latest.json, the table and the plot hold what the benchmark promises;
# and that a wrong --secgw is refused with a message. Not a speed test:
# no rate is compared with a threshold beyond "it moved packets".
# Needs root and free hugepages (scripts/setup.sh). Prints "N passed, M failed".
set -uo pipefail

BUILD=${BUILD:?meson build directory}
SRC=${SRC:?source root}
tmp=$(mktemp -d /tmp/pc-perf.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
passed=0
failed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }

if secgw=$("$SRC/perf/secgw.sh" "$tmp/secgw") && [[ -x $secgw ]]; then
  ok "perf/secgw.sh built DPDK's ipsec-secgw"
else
  bad "perf/secgw.sh"
  echo "$passed passed, $failed failed"
  exit 1
fi

if /usr/bin/python3 "$SRC/perf/run.py" --build "$BUILD" --secgw "$tmp/nothing-here" --no-latency \
  --out "$tmp/refused" >"$tmp/refused.log" 2>&1; then
  bad "run.py accepted a --secgw that does not exist"
elif grep -q -- "--secgw: .*nothing-here is not an executable" "$tmp/refused.log"; then
  ok "run.py refuses a missing --secgw with a message"
else
  bad "run.py: no clear message for a missing --secgw: $(tail -1 "$tmp/refused.log")"
fi

runtime_dirs() { find /var/run/dpdk -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
dirs_before=$(runtime_dirs)
# --quick: short crypto ceilings; the explicit lists override its point set.
if /usr/bin/python3 "$SRC/perf/run.py" --quick --build "$BUILD" --secgw "$secgw" --alg aes128gcm --frame 64 \
  --tunnels 1 --seconds 1 --warmup 0.5 --no-latency --out "$tmp/out" >"$tmp/table" 2>"$tmp/log"; then
  ok "run.py measured one point each way"
else
  bad "run.py failed"
  tail -20 "$tmp/log"
fi
cat "$tmp/table"

/usr/bin/python3 - "$tmp/out/latest.json" <<'PY' && ok "latest.json: every field, both gateways moved ESP both ways" || bad "latest.json"
import json, sys
d = json.load(open(sys.argv[1]))
m, rs = d['meta'], d['results']
assert m['complete'] and not m.get('failed_points'), m
assert m['secgw'] and 'ipsec-secgw' in m['secgw'], m.get('secgw')
assert sorted(r['direction'] for r in rs) == ['in', 'out'], [r['direction'] for r in rs]
for r in rs:
    for k in ('direction', 'alg', 'frame', 'tunnels', 'mpps', 'gbps', 'crypto_ceiling_mpps',
              'input_ceiling_mpps', 'secgw_cpu_mpps', 'ratio_to_secgw', 'ratio_to_crypto'):
        assert k in r, (k, r)
    assert r['alg'] == 'aes128gcm' and r['frame'] == '64' and r['tunnels'] == 1, r
    # Moving packets at all: a gateway that drops everything shows 0 here.
    for k in ('mpps', 'cpu_mpps', 'secgw_cpu_mpps', 'crypto_ceiling_cpu_mpps', 'input_ceiling_cpu_mpps'):
        assert r[k] > 0.05, (k, r[k], r['direction'])
    assert abs(r['ratio_to_secgw'] - r['cpu_mpps'] / r['secgw_cpu_mpps']) < 0.01, r
    print('%s: ours %.2f Mpps, ipsec-secgw %.2f Mpps per CPU second' % (r['direction'], r['cpu_mpps'],
                                                                        r['secgw_cpu_mpps']))
PY
if grep -q "x secgw" "$tmp/table" && grep -q "^out aes128gcm  *64  *1 " "$tmp/table"; then
  ok "the table has the secgw columns and the point"
else
  bad "table"
fi
if [[ $(head -c 4 "$tmp/out/latest.png" 2>/dev/null | od -An -tx1 | tr -d ' ') == 89504e47 ]]; then
  ok "latest.png written"
else
  bad "no plot"
fi
if (($(runtime_dirs) <= dirs_before)); then
  ok "no DPDK runtime directories left behind in /var/run/dpdk"
else
  bad "run.py left $(($(runtime_dirs) - dirs_before)) directories in /var/run/dpdk"
fi
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
