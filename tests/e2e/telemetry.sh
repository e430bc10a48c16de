#!/usr/bin/env bash
# telemetry.sh: the data plane's counters through DPDK telemetry.
#
# Starts one portcullis-dataplane on two net_null ports, installs SAs and
# policies over the channel with dpchan, then asks dpdk-telemetry.py
# (Debian package dpdk) for the /portcullis/... commands and checks them
# with jq against what dpchan reads over the channel: the same counter
# names ('.' written '/'), the same SA count and SA counters, live worker
# cycles, refused parameters.
#
# The socket is /var/run/dpdk/PREFIX/dpdk_telemetry.v2. EAL creates it with
# --in-memory and with --no-shconf alike (only --no-telemetry removes it).
# The data plane under test runs without hugepages (--no-huge --no-shconf),
# so that the test does not fail when other jobs hold the machine's shared
# hugepages; a second, short-lived --in-memory data plane checks that
# socket too when enough hugepages are free, and says so when not.
# Needs root. Prints "N passed, M failed".
set -uo pipefail

DATAPLANE=${DATAPLANE:?path to portcullis-dataplane}
DPCHAN=${DPCHAN:?path to dpchan}
TELEMETRY=${TELEMETRY:-dpdk-telemetry.py}
tmp=$(mktemp -d /tmp/pc-tel.XXXXXX)
prefix="pctel$$"
passed=0
failed=0
pid=

cleanup() {
  if [[ -n $pid ]]; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() {  # check DESCRIPTION COMMAND...: the command's output only on failure
  local what=$1 out
  shift
  if out=$("$@" 2>&1); then ok "$what"; else bad "$what"; echo "$out"; fi
}
# tel CMD: the JSON value dpdk-telemetry.py prints for CMD.
tel() { echo "$1" | "$TELEMETRY" -f "$prefix" 2>/dev/null | tail -n 1 | jq -c --arg c "${1%%,*}" '.[$c]'; }

for tool in "$TELEMETRY" jq; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not found"; echo "0 passed, 1 failed"; exit 1; }
done

"$DATAPLANE" --socket "$tmp/dp.sock" --idle-sleep-us 100 --mbufs 4095 -- \
  --no-pci --no-huge --no-shconf -m 512 --file-prefix "$prefix" --log-level=error \
  --vdev net_null0,no-rx=1 --vdev net_null1,no-rx=1 >"$tmp/dp.log" 2>&1 &
pid=$!
sock=/var/run/dpdk/$prefix/dpdk_telemetry.v2
for _ in $(seq 100); do [[ -S $tmp/dp.sock && -S $sock ]] && break; sleep 0.1; done
check "telemetry socket exists ($sock)" test -S "$sock"

# The same with --in-memory, when the shared hugepages allow one.
if (($(awk '/HugePages_Free/ {print $2}' /proc/meminfo) >= ${HUGEPAGES_MIN:-48})); then
  "$DATAPLANE" --socket "$tmp/mem.sock" --idle-sleep-us 100 --mbufs 4095 -- \
    --no-pci --in-memory --file-prefix "${prefix}m" --log-level=error \
    --vdev net_null0,no-rx=1 --vdev net_null1,no-rx=1 >"$tmp/mem.log" 2>&1 &
  mem_pid=$!
  for _ in $(seq 100); do [[ -S $tmp/mem.sock ]] && break; sleep 0.1; done
  v=$(echo /portcullis/version | "$TELEMETRY" -f "${prefix}m" 2>/dev/null | tail -n 1 |
    jq -r '."/portcullis/version".portcullis // empty')
  check "telemetry socket exists with --in-memory (answers portcullis '$v')" test -n "$v"
  kill "$mem_pid"
  wait "$mem_pid" 2>/dev/null
else
  echo "note: --in-memory not checked: fewer than 48 hugepages free"
fi

key=000102030405060708090a0b0c0d0e0f10111213
"$DPCHAN" "$tmp/dp.sock" >"$tmp/setup.out" 2>&1 <<EOF
port 0 protected 10.1.0.1/16
port 1 unprotected 192.0.2.1/24
route 198.18.0.0/15 via 192.0.2.254 port 1
begin
sa 10 out 0x1000 aes128gcm16 $key tunnel 192.0.2.1 198.18.0.1
sa 11 in 0x1001 aes128gcm16 $key tunnel 198.18.0.1 192.0.2.1 sel 10.2.0.0/16 10.1.0.0/16
sa 12 out 0x1002 aes256gcm16 ${key}${key:0:32} tunnel 192.0.2.1 198.18.0.2
policy 1 out 10.1.0.0/16 10.2.0.0/16 protect 10
policy 2 out 10.1.0.0/16 10.3.0.0/16 protect 12 prio 5
commit
EOF
if [[ $? -eq 0 ]]; then ok "dpchan configured the data plane"; else bad "dpchan configured the data plane"; cat "$tmp/setup.out"; fi
"$DPCHAN" "$tmp/dp.sock" >"$tmp/stats.out" 2>&1 <<<"stats"
"$DPCHAN" "$tmp/dp.sock" >"$tmp/query.out" 2>&1 <<<"query 12"

# 1. Every command is listed, with help.
list=$(tel /)
for c in stats ports workers drops sa version; do
  check "/ lists /portcullis/$c" jq -e --arg c "/portcullis/$c" 'index($c) != null' <<<"$list"
done
check "/help,/portcullis/sa has a help text" \
  test "$(tel /help,/portcullis/sa | jq -r '."/portcullis/sa" | length > 10')" = true

# 2. /portcullis/stats: the channel's counter names, '.' as '/', and the
#    values that do not move on an idle data plane equal.
stats=$(tel /portcullis/stats)
awk '{gsub(/\./, "/", $1); print $1}' "$tmp/stats.out" | sort >"$tmp/names.chan"
jq -r 'keys[]' <<<"$stats" | sort >"$tmp/names.tel"
check "stats: the same $(wc -l <"$tmp/names.chan") counter names as stats_get" \
  diff -u "$tmp/names.chan" "$tmp/names.tel"
chan() { awk -v n="$1" '$1 == n {print $2}' "$tmp/stats.out"; }
for n in agent.sas agent.publishes port.0.rx_packets port.1.tx_packets drop.no_sa worker.0.rx; do
  t=$(jq -r --arg k "${n//./\/}" '.[$k]' <<<"$stats")
  check "stats: $n = $(chan "$n") over the channel, $t through telemetry" test "$t" = "$(chan "$n")"
done
check "stats: agent.sas is 3" test "$(chan agent.sas)" = 3
check "stats: memory.key_schedules is 3, one per SA" test "$(chan memory.key_schedules)" = 3
check "stats: all $(chan memory.key_chunks) key-schedule chunks locked (as root)" \
  test "$(chan memory.key_chunks_locked)" = "$(chan memory.key_chunks)" -a "$(chan memory.key_chunks)" -ge 1

# 3. /portcullis/sa: the count, and one SA as sa_query answers it.
check "sa: count 3" test "$(tel /portcullis/sa | jq .count)" = 3
sa=$(tel /portcullis/sa,12)
qseq=$(sed -n 's/.* seq \([0-9]*\).*/\1/p' "$tmp/query.out")
qpk=$(sed -n 's/.*packets \([0-9]*\).*/\1/p' "$tmp/query.out")
check "sa,12: seq $(jq .seq <<<"$sa") = $qseq from sa_query" test "$(jq .seq <<<"$sa")" = "$qseq"
check "sa,12: packets = $qpk, has bytes and drops" \
  jq -e --argjson p "$qpk" '.packets == $p and .sa_id == 12 and has("bytes") and has("drops")' <<<"$sa"
check "sa,99 (no such SA) answers null" test "$(tel /portcullis/sa,99)" = null
check "sa,x (not a number) answers null" test "$(tel /portcullis/sa,x)" = null

# 4. /portcullis/ports and /portcullis/workers.
ports=$(tel /portcullis/ports)
check "ports: both net_null ports by name" \
  jq -e '.port_id == [0, 1] and .name == ["net_null0", "net_null1"] and (.rx_packets | length) == 2' <<<"$ports"
check "ports,1: net_null1" jq -e '.name == "net_null1" and .port_id == 1' <<<"$(tel /portcullis/ports,1)"
check "ports,7 (no such port) answers null" test "$(tel /portcullis/ports,7)" = null
w1=$(tel /portcullis/workers,0)
sleep 0.3
w2=$(tel /portcullis/workers,0)
check "workers,0: an lcore other than the agent's, and its cpu" \
  jq -e '.worker == 0 and .lcore > 0 and .cpu >= 0' <<<"$w1"
check "workers,0: idle cycles advance ($(jq .idle_cycles <<<"$w1") -> $(jq .idle_cycles <<<"$w2"))" \
  test "$(jq .idle_cycles <<<"$w2")" -gt "$(jq .idle_cycles <<<"$w1")"
check "workers: one entry per worker" \
  test "$(tel /portcullis/workers | jq '.busy_cycles | length')" = "$(grep -c '^worker\.[0-9]*\.rx ' "$tmp/stats.out")"

# 5. /portcullis/drops: every drop reason of stats_get.
sed -n 's/^drop\.\([a-z_]*\) .*/\1/p' "$tmp/stats.out" | sort >"$tmp/drops.chan"
tel /portcullis/drops | jq -r 'keys[]' | sort >"$tmp/drops.tel"
check "drops: the reasons of stats_get" diff -u "$tmp/drops.chan" "$tmp/drops.tel"

# 6. /portcullis/version.
check "version: Portcullis and DPDK" \
  jq -e '(.portcullis | length) > 0 and (.dpdk | startswith("DPDK")) and .channel_protocol >= 1' \
  <<<"$(tel /portcullis/version)"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
