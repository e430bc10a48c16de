#!/usr/bin/env bash
# e2e_daemon.sh: the control plane end to end. Two gateways in network
# namespaces (scripts/lib/topology.sh), each a portcullis-dataplane driven
# by a portcullisd configured from config/examples/gwN.toml; host A and
# host B talk through the tunnel. Checks, in order:
#   - the daemons push the config: ping both ways; every portcullisctl
#     command against the live daemon, --json parsed with jq;
#   - kill -9 of portcullisd under traffic: no ping lost over 10 s; the
#     restarted daemon resyncs without touching the working SAs;
#   - kill -9 of the data plane: the daemon restores it within 1 s of the
#     new data plane's socket appearing, and no (SPI, sequence number)
#     pair is sent twice (WAN capture across the restart);
#   - CLI changes (tunnel down/up, route add) persist across a daemon restart;
#   - security: a user neither root nor in the group is refused on both
#     sockets, a group member is let in, a key file of mode 0644 is
#     refused, no key bytes in any log or CLI output.
# Needs root. Prints "N passed, M failed"; exits non-zero on failure.
set -uo pipefail

DATAPLANE=${DATAPLANE:?path to portcullis-dataplane}
DAEMON=${DAEMON:?path to portcullisd}
CTL=${CTL:?path to portcullisctl}
DPCHAN=${DPCHAN:?path to dpchan}
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
TOPO=pcd$$
TOPO_DIR=$(mktemp -d /tmp/pc-daemon.XXXXXX)
# shellcheck source=../../scripts/lib/topology.sh
source "$SRC/scripts/lib/topology.sh"
passed=0
failed=0
declare -A pid
group=pctest$$

cleanup() {
  topo_stop "${pid[@]}" 2>/dev/null
  topo_down
  groupdel "$group" 2>/dev/null
  rm -rf "$TOPO_DIR"
}
trap cleanup EXIT INT TERM

ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() {  # check LABEL COMMAND...
  local label=$1
  shift
  if "$@"; then ok "$label"; else bad "$label"; fi
}
ctl() {  # ctl GW ARGS...: portcullisctl against GW's daemon, output kept for the key grep
  local gw=$1
  shift
  "$CTL" --socket "$TOPO_DIR/$gw/portcullisd.sock" "$@" 2>&1 | tee -a "$TOPO_DIR/cli.out"
  return "${PIPESTATUS[0]}"
}
ping_ok() {  # ping_ok FROM DEST COUNT INTERVAL
  topo_ns "$1" ping -c "$3" -i "$4" -W 1 "$2" >"$TOPO_DIR/ping" 2>&1 && grep -q " 0% packet loss" "$TOPO_DIR/ping"
}
warm() {  # first packets may go to ARP or ND resolution
  topo_ns hA ping -c 3 -i 0.2 -W 1 10.2.0.2 >/dev/null 2>&1
  topo_ns hB ping -c 3 -i 0.2 -W 1 10.1.0.2 >/dev/null 2>&1
  topo_ns hA ping -c 2 -i 0.2 -W 1 fd00:2::2 >/dev/null 2>&1
}
start_dp() { pid[dp$1]=$(topo_dataplane "$1" "$DATAPLANE"); }
start_d() { pid[d$1]=$(topo_daemon "$1" "$DAEMON"); }

# --- set up ----------------------------------------------------------------------
topo_up
topo_keys
getent group "$group" >/dev/null || groupadd "$group"
for gw in gw1 gw2; do
  topo_config "$gw" "$SRC"
  sed -i "s|^log_level = .*|log_level = \"debug\"\ngroup = \"$group\"|" "$TOPO_DIR/$gw/portcullis.toml"
  start_dp "$gw"
  start_d "$gw"
done
for gw in gw1 gw2; do
  if topo_wait_socket "$TOPO_DIR/$gw/portcullisd.sock" && topo_wait_socket "$TOPO_DIR/$gw/dataplane.sock"; then
    ok "$gw: portcullisd and portcullis-dataplane started"
  else
    bad "$gw did not start"; cat "$TOPO_DIR/$gw"/*.log; exit 1
  fi
done
up=0
for _ in $(seq 50); do
  if [[ $(ctl gw1 --json tunnel list | jq -r '.[0].state') == up && $(ctl gw2 --json tunnel list | jq -r '.[0].state') == up ]]; then up=1; break; fi
  sleep 0.1
done
check "both tunnels up from the example configs" test "$up" = 1
warm
check "ping hA -> hB through the tunnel, no loss" ping_ok hA 10.2.0.2 5 0.2
check "ping hB -> hA through the tunnel, no loss" ping_ok hB 10.1.0.2 5 0.2
check "IPv6 ping hA -> hB through the tunnel" ping_ok hA fd00:2::2 3 0.2

# --- every CLI command, human and --json ----------------------------------------
j() { ctl gw1 --json "$@"; }
check "status --json: connected, 1 tunnel up" \
  test "$(j status | jq -r '[.dataplane.connected, .tunnels.up] | @tsv')" = "$(printf 'true\t1')"
check "status (table)" bash -c "$(declare -f ctl); CTL=$CTL TOPO_DIR=$TOPO_DIR ctl gw1 status | grep -qi profile"
check "tunnel list --json: name, SPIs, counters" \
  test "$(j tunnel list | jq -r '.[0] | [.name, .spi_out, .spi_in, (.packets_out > 0)] | @tsv')" = "$(printf 'gw1-gw2\t0x00001001\t0x00002001\ttrue')"
check "tunnel list (table)" bash -c "$(declare -f ctl); CTL=$CTL TOPO_DIR=$TOPO_DIR ctl gw1 tunnel list | grep -q 'gw1-gw2.*up'"
check "tunnel show --json: two SAs, key fingerprints" \
  test "$(j tunnel show gw1-gw2 | jq -r '[(.sas | length), (.key_out_fp | length), .origin | tostring] | @tsv' | cut -f1,2)" = "$(printf '2\t16')"
sa_out=$(j sa list | jq -r '.[] | select(.direction == "out") | .id')
check "sa list --json: one outbound, one inbound" test "$(j sa list | jq -r 'map(.direction) | sort | join(",")')" = "in,out"
check "sa show ID --json" test "$(j sa show "$sa_out" | jq -r .spi)" = 0x00001001
check "sa show of an unknown id fails with exit 1" bash -c "! $CTL --socket $TOPO_DIR/gw1/portcullisd.sock sa show 999999 2>/dev/null"
check "policy list --json: IPv4 and IPv6 protect policies" test "$(j policy list | jq -r 'map(.action) | join(",")')" = "protect,protect"
check "port list --json: lan protected, wan unprotected" \
  test "$(j port list | jq -r 'map(.name + ":" + .role) | join(",")')" = "lan:protected,wan:unprotected"
check "stats --json: data plane counters" test "$(j stats | jq -r '.counters | length > 5')" = true
# --watch refreshes until interrupted; with --json one object a line.
timeout 2.5 "$CTL" --socket "$TOPO_DIR/gw1/portcullisd.sock" --json stats --watch --interval 1 >"$TOPO_DIR/watch" 2>&1
check "stats --watch: refreshed at least twice" test "$(jq -c 'select(.counters != null)' "$TOPO_DIR/watch" 2>/dev/null | wc -l)" -ge 2
check "route add (CLI)" ctl gw1 route add 198.51.100.0/24 --via 192.0.2.254 --port wan
check "route list --json shows it" test "$(j route list | jq -r '.[] | select(.prefix == "198.51.100.0/24") | .via')" = 192.0.2.254
check "route add with an unknown port fails with exit 1" bash -c "! $CTL --socket $TOPO_DIR/gw1/portcullisd.sock route add 203.0.113.0/24 --port nope 2>/dev/null"
timeout 3 "$CTL" --socket "$TOPO_DIR/gw1/portcullisd.sock" --json events >"$TOPO_DIR/events" 2>&1
check "events: streams tunnel and data plane events" grep -q 'installed' "$TOPO_DIR/events"
check "events --no-follow --json" test "$(j events --no-follow --last 5 | jq -r 'length')" -le 5
check "config check --json (running file)" test "$(j config check | jq -r .ok)" = true
check "config save --json to a file" test "$(j config save "$TOPO_DIR/saved.toml" | jq -r .path)" = "$TOPO_DIR/saved.toml"
check "the saved file passes portcullisd --check" "$DAEMON" --check "$TOPO_DIR/saved.toml"
check "tunnel down removes its SAs" test "$(j tunnel down gw1-gw2 | jq -r .state)" = down
check "data plane holds no SAs after down" bash -c "$DPCHAN $TOPO_DIR/gw1/dataplane.sock <<<'expect agent.sas == 0' >/dev/null"
check "tunnel up reinstalls them" test "$(j tunnel up gw1-gw2 | jq -r .state)" = up
check "tunnel rekey of a manual tunnel says what to do" \
  bash -c "$CTL --socket $TOPO_DIR/gw1/portcullisd.sock tunnel rekey gw1-gw2 2>&1 | grep -q 'new keys'"
warm
check "ping after down/up, no loss" ping_ok hA 10.2.0.2 5 0.2

# --- kill -9 of portcullisd under traffic ---------------------------------------
before=$(j sa list | jq -r '[.[].id] | sort | join(",")')
topo_ns hA ping -c 100 -i 0.1 -W 1 10.2.0.2 >"$TOPO_DIR/ping10" 2>&1 &
pinger=$!
sleep 1
kill -9 "${pid[dgw1]}"
sleep 5
start_d gw1
wait "$pinger"
check "kill -9 portcullisd: 100 pings over 10 s, none lost" grep -q " 0% packet loss" "$TOPO_DIR/ping10"
topo_wait_socket "$TOPO_DIR/gw1/portcullisd.sock"
for _ in $(seq 30); do grep -q resynchronising "$TOPO_DIR/gw1/portcullisd.log" && break; sleep 0.1; done
check "restarted daemon resynchronised with the data plane's SAs" grep -q "kept 2 SAs, resynchronising" "$TOPO_DIR/gw1/portcullisd.log"
check "restarted daemon kept the same SAs (ids $before)" test "$(j sa list | jq -r '[.[].id] | sort | join(",")')" = "$before"
check "CLI route survived the daemon restart" test "$(j route list | jq -r '.[] | select(.prefix == "198.51.100.0/24") | .port')" = wan

# --- kill -9 of the data plane ----------------------------------------------------
# Not through topo_ns: $! must be tcpdump itself, to stop it.
# On gw2's WAN veth: af_packet sends bypass the qdisc, so gw1's own
# capture would miss what gw1 sends.
ip netns exec "$TOPO-gw2" tcpdump -i g2u -nn -U -w "$TOPO_DIR/wan.pcap" 2>"$TOPO_DIR/tcpdump.err" &
cap=$!
for _ in $(seq 50); do grep -q listening "$TOPO_DIR/tcpdump.err" 2>/dev/null && break; sleep 0.1; done
ping_ok hA 10.2.0.2 20 0.05
sa_out=$(j sa list | jq -r '.[] | select(.direction == "out") | .id')
seq_before=$(j sa show "$sa_out" | jq -r .seq)
kill -9 "${pid[dpgw1]}"
wait "${pid[dpgw1]}" 2>/dev/null
rm -f "$TOPO_DIR/gw1/dataplane.sock"
start_dp gw1
topo_wait_socket "$TOPO_DIR/gw1/dataplane.sock" 200
t0=$(date +%s%N)
restored=0
for _ in $(seq 100); do
  if "$DPCHAN" "$TOPO_DIR/gw1/dataplane.sock" <<<'expect agent.sas == 2' >/dev/null 2>&1; then restored=1; break; fi
  sleep 0.02
done
ms=$((($(date +%s%N) - t0) / 1000000))
if ((restored && ms <= 1000)); then ok "data plane restart: state restored in $ms ms"; else bad "data plane restart: restored=$restored after $ms ms"; fi
warm
check "ping after the data plane restart, no loss" ping_ok hA 10.2.0.2 20 0.05
seq_after=$(j sa show "$(j sa list | jq -r '.[] | select(.direction == "out") | .id')" | jq -r .seq)
check "outbound sequence resumed above the lease ($seq_before -> $seq_after)" test "$seq_after" -gt 1073741824
sleep 0.5
kill "$cap" 2>/dev/null
wait "$cap" 2>/dev/null
tcpdump -nn -r "$TOPO_DIR/wan.pcap" 'esp and src host 192.0.2.1' 2>/dev/null | grep -o 'ESP(spi=0x[0-9a-f]*,seq=0x[0-9a-f]*)' | sort >"$TOPO_DIR/seqs"
total=$(wc -l <"$TOPO_DIR/seqs")
dups=$(uniq -d "$TOPO_DIR/seqs" | wc -l)
if ((total > 30 && dups == 0)); then ok "WAN capture: $total ESP packets from gw1 across the restart, no (SPI, seq) twice"; else
  bad "WAN capture: $total packets, $dups repeated"
  tcpdump -nn -r "$TOPO_DIR/wan.pcap" 2>&1 | head -3
fi

# --- lifetimes: a tunnel added through the CLI, soft and hard by packets ------------
for k in lt-out lt-in; do
  (umask 077 && head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TOPO_DIR/keys/$k.key")
done
if ctl gw1 tunnel add lt --local 192.0.2.1 --remote 192.0.2.9 --local-ts 10.1.0.0/24 --remote-ts 10.9.0.0/24 \
  --spi-out 0x3001 --spi-in 0x3002 --key-out "$TOPO_DIR/keys/lt-out.key" --key-in "$TOPO_DIR/keys/lt-in.key" \
  --soft-packets 5 --hard-packets 10 >/dev/null; then
  ok "tunnel add (CLI) with packet lifetimes"
else
  bad "tunnel add (CLI)"
fi
check "tunnel add with a missing key file is refused, saying which" \
  bash -c "$CTL --socket $TOPO_DIR/gw1/portcullisd.sock tunnel add lt2 --local 192.0.2.1 --remote 192.0.2.8 --local-ts 10.1.0.0/24 --remote-ts 10.8.0.0/24 --spi-out 0x4001 --spi-in 0x4002 --key-out $TOPO_DIR/nokey --key-in $TOPO_DIR/nokey 2>&1 | grep -q 'nokey'"
# Traffic for 10.9.0.0/24 is encrypted for a peer that does not exist: the
# SA counts it, then stops it.
topo_ns hA ping -c 15 -i 0.05 -W 1 10.9.0.1 >/dev/null 2>&1
state=""
for _ in $(seq 30); do
  state=$(j tunnel show lt | jq -r .state)
  [[ $state == expired ]] && break
  sleep 0.1
done
check "hard lifetime (10 packets): the tunnel is expired and its SAs removed" test "$state" = expired
check "soft lifetime shows in events" bash -c "$CTL --socket $TOPO_DIR/gw1/portcullisd.sock --json events --no-follow --last 100 | jq -e 'map(select(.kind == \"sa_expire\" and .severity == \"warn\" and .tunnel == \"lt\")) | length > 0' >/dev/null"
check "hard expiry in events and the log says what to do" grep -q 'tunnel lt: hard lifetime of the outbound SA reached (packets).*Put new keys in' "$TOPO_DIR/gw1/portcullisd.log"
check "the other tunnel is still up" test "$(j tunnel show gw1-gw2 | jq -r .state)" = up
check "tunnel del (CLI)" ctl gw1 tunnel del lt
check "tunnel list has one tunnel again" test "$(j tunnel list | jq -r length)" = 1

# --- security -------------------------------------------------------------------------
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
check "a user neither root nor in the group cannot use the CLI socket" \
  bash -c "$(declare -f nobody); ! nobody $CTL --socket $TOPO_DIR/gw1/portcullisd.sock status >/dev/null 2>&1"
check "... nor the data plane socket" bash -c "$(declare -f nobody); ! nobody $DPCHAN $TOPO_DIR/gw1/dataplane.sock <<<'stats' >/dev/null 2>&1"
gid=$(getent group "$group" | cut -d: -f3)
chmod 755 "$TOPO_DIR" "$TOPO_DIR/gw1"
check "a member of the group can (status --json)" \
  bash -c "setpriv --reuid=65534 --regid=$gid --clear-groups $CTL --socket $TOPO_DIR/gw1/portcullisd.sock --json status | jq -e .dataplane.connected >/dev/null"
chmod 700 "$TOPO_DIR"
cp "$TOPO_DIR/keys/gw1-to-gw2.key" "$TOPO_DIR/open.key"
chmod 644 "$TOPO_DIR/open.key"
sed "s|key_out = .*|key_out = \"$TOPO_DIR/open.key\"|" "$TOPO_DIR/gw1/portcullis.toml" >"$TOPO_DIR/open.toml"
if "$DAEMON" --check "$TOPO_DIR/open.toml" >"$TOPO_DIR/check.out" 2>&1; then
  bad "a key file of mode 0644 was accepted"
else
  grep -q "0644" "$TOPO_DIR/check.out" && ok "a key file of mode 0644 is refused: $(head -1 "$TOPO_DIR/check.out" | cut -c1-110)..." || bad "0644 refusal message"
fi
leaks=0
for k in "$TOPO_DIR"/keys/*.key; do
  hex=$(cat "$k")
  for f in "$TOPO_DIR"/gw*/*.log "$TOPO_DIR/cli.out" "$TOPO_DIR/events" "$TOPO_DIR/check.out" "$TOPO_DIR"/gw*/state/*; do
    if grep -qi -e "${hex:0:16}" -e "${hex:16:16}" "$f" 2>/dev/null; then leaks=$((leaks + 1)); echo "key bytes in $f"; fi
  done
done
check "no key bytes in any log, state file or CLI output" test "$leaks" = 0

# --- a key change starts a new sequence space ----------------------------------------
old_fp=$(j tunnel show gw1-gw2 | jq -r .key_out_fp)
(umask 077 && head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TOPO_DIR/keys/gw1-to-gw2.key.new")
mv "$TOPO_DIR/keys/gw1-to-gw2.key.new" "$TOPO_DIR/keys/gw1-to-gw2.key"
ctl gw1 config reload >/dev/null
ctl gw2 config reload >/dev/null
warm
check "new keys by config reload on both sides: ping, no loss" ping_ok hA 10.2.0.2 5 0.2
check "new key fingerprint, lease restarted" \
  test "$(j tunnel show gw1-gw2 | jq -r '(.key_out_fp != "'"$old_fp"'") and (.seq_lease == 1073741824)')" = true

echo "$passed passed, $failed failed"
((failed == 0))
