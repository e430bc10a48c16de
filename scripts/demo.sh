#!/usr/bin/env bash
# demo.sh: Portcullis doing its job, on this machine, in network namespaces.
#
#   host A ── gw1 ══ ESP over the "WAN" ══ gw2 ── host B
#
# It sets the machine up (scripts/setup.sh: packages, hugepages), builds the
# three programs, builds the topology of scripts/lib/topology.sh, starts
# portcullis-dataplane and portcullisd for each gateway from
# config/examples/gw1.toml and gw2.toml (with fresh keys), then shows the
# tunnel working: pings both ways over IPv4 and IPv6, a few seconds of
# iperf3, what portcullisctl reports, and a capture of the WAN holding only
# ESP. Then it tears everything down, or with --keep leaves it running.
# Needs root. Run with --help for the options.
set -Eeuo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
STATE=/run/portcullis-demo  # everything a running demo owns: see --down
TOPO=pcdemo                 # namespaces pcdemo-hA, pcdemo-gw1, pcdemo-gw2, pcdemo-hB

usage() {
  cat <<EOF
Usage: scripts/demo.sh [--keep] [--build-dir DIR] [--no-setup] [--seconds N]
       scripts/demo.sh --down
       scripts/demo.sh --help

Runs two Portcullis gateways in network namespaces with a tunnel between
them and shows traffic crossing it, then tears everything down. Needs root.

  --keep           leave the demo running and print the commands to look
                   around; stop it later with scripts/demo.sh --down
  --down           stop a kept demo: its processes (by the pids recorded in
                   $STATE), its namespaces, its files
  --build-dir DIR  build directory (default: build, set up if missing)
  --no-setup       skip scripts/setup.sh (packages, hugepages)
  --seconds N      how long iperf3 runs (default 3)
  --help           this text

Namespaces: $TOPO-hA (10.1.0.2, fd00:1::2), $TOPO-gw1, $TOPO-gw2,
$TOPO-hB (10.2.0.2, fd00:2::2). Configs, keys, sockets and logs: $STATE.
EOF
}

keep=0
down=0
setup=1
build=build
seconds=3
while (($#)); do
  case $1 in
    --keep) keep=1 ;;
    --down) down=1 ;;
    --no-setup) setup=0 ;;
    --build-dir) build=${2:?--build-dir needs a directory}; shift ;;
    --seconds) seconds=${2:?--seconds needs a number}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "demo.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [[ $(id -u) -ne 0 ]]; then
  echo "demo.sh: must run as root (namespaces, hugepages, DPDK)" >&2
  exit 1
fi
[[ $build == /* ]] || build=$SRC/$build
DP=$build/dataplane/app/portcullis-dataplane
DAEMON=$build/control/daemon/portcullisd
CTL=$build/control/cli/portcullisctl
TOPO_DIR=$STATE
# shellcheck source=lib/topology.sh
source "$SRC/scripts/lib/topology.sh"

# --- output -----------------------------------------------------------------------
if [[ -t 1 ]]; then B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'; else B='' G='' R='' N=''; fi
step_no=0
step_name=""
step() {  # step TITLE EXPLANATION...
  step_no=$((step_no + 1))
  step_name=$1
  printf '\n%s== %d. %s ==%s\n' "$B" "$step_no" "$1" "$N"
  shift
  local line
  for line in "$@"; do echo "   $line"; done
}
say() { echo "   $*"; }
good() { echo "   ${G}ok${N}: $*"; }
indent() { sed 's/^/     /'; }
# fail MESSAGE [LOG...]: say what went wrong with the logs' tails, then exit
# (the EXIT trap tears down).
fail() {
  local msg=$1 f
  shift
  printf '\n%sdemo.sh: step %d (%s) failed: %s%s\n' "$R" "$step_no" "$step_name" "$msg" "$N" >&2
  for f in "$@"; do
    [[ -s $f ]] || continue
    echo "--- last lines of $f:" >&2
    tail -n 15 "$f" >&2
  done
  if grep -qs 'Cannot allocate memory\|hugepage' "$@"; then
    echo "--- hugepages: $(awk '/HugePages_Free/ {f=$2} /HugePages_Total/ {t=$2} END {print f " free of " t}' /proc/meminfo)" \
      "(2 MB each; each gateway of the demo needs about 70: PORTCULLIS_HUGEPAGES=N scripts/setup.sh raises the count)" >&2
  fi
  exit 1
}
trap 'fail "command failed (line $LINENO): $BASH_COMMAND"' ERR

# --- state: pids recorded so that --down (or a later run) can stop them ---------
record() { echo "$1 $2" >>"$STATE/pids"; }

# stop_recorded: stop every recorded process that is still the one we started
# (same pid, same program name), then remove the namespaces and the files.
stop_recorded() {
  local name pid comm pids=()
  if [[ -f $STATE/pids ]]; then
    while read -r name pid; do
      comm=$(ps -o comm= -p "$pid" 2>/dev/null || true)
      case $name:$comm in
        dataplane-*:portcullis-data* | daemon-*:portcullisd | iperf3:iperf3 | tcpdump:tcpdump) pids+=("$pid") ;;
      esac
    done <"$STATE/pids"
  fi
  ((${#pids[@]} == 0)) || topo_stop "${pids[@]}"
  topo_down
  rm -rf "$STATE"
}

running_demo() {  # true if a recorded process is alive
  local name pid
  [[ -f $STATE/pids ]] || return 1
  while read -r name pid; do
    kill -0 "$pid" 2>/dev/null && return 0
  done <"$STATE/pids"
  return 1
}

if ((down)); then
  trap - ERR
  if [[ ! -d $STATE ]] && ! ip netns list | grep -q "^$TOPO-"; then
    echo "demo.sh: no demo is running (nothing in $STATE, no $TOPO-* namespaces)"
    exit 0
  fi
  stop_recorded
  echo "demo.sh: stopped the demo: processes, namespaces $TOPO-{hA,gw1,gw2,hB} and $STATE removed"
  exit 0
fi

if running_demo; then
  echo "demo.sh: a demo is already running (kept with --keep); stop it first: scripts/demo.sh --down" >&2
  exit 1
fi
if [[ -d $STATE ]] || ip netns list | grep -q "^$TOPO-"; then
  echo "demo.sh: removing what a previous demo left behind"
  stop_recorded
fi

teardown() {
  local rc=$?
  # Tear down whatever happens to the output (a closed pipe, a lost terminal).
  set +e
  trap - ERR INT TERM HUP EXIT
  trap "" PIPE
  if [[ -d $STATE ]] || ip netns list | grep -q "^$TOPO-"; then
    printf '\n%s== Tearing down ==%s\n' "$B" "$N"
    stop_recorded
    say "processes stopped, namespaces deleted, $STATE removed"
  fi
  exit "$rc"
}
interrupted() {
  echo
  echo "demo.sh: interrupted" >&2
  exit 130
}
trap teardown EXIT
trap interrupted INT TERM HUP
trap 'exit 141' PIPE

# --- 1. the machine ---------------------------------------------------------------
if ((setup)); then
  step "Setting up the machine" \
    "scripts/setup.sh installs the packages Portcullis needs (once) and reserves" \
    "2 MB hugepages for DPDK. It is idempotent."
  bash "$SRC/scripts/setup.sh" 2>&1 | indent
fi

# --- 2. build ---------------------------------------------------------------------
step "Building" "meson + ninja in ${build#"$SRC"/}: portcullis-dataplane, portcullisd, portcullisctl."
if [[ ! -f $build/build.ninja ]]; then
  meson setup "$build" "$SRC" >"/tmp/portcullis-demo-build.log" 2>&1 ||
    fail "meson setup $build" /tmp/portcullis-demo-build.log
fi
t0=$SECONDS
ninja -C "$build" dataplane/app/portcullis-dataplane control/daemon/portcullisd control/cli/portcullisctl \
  >"/tmp/portcullis-demo-build.log" 2>&1 || fail "ninja -C $build" /tmp/portcullis-demo-build.log
good "built in $((SECONDS - t0)) s (version $("$DAEMON" --version 2>/dev/null | head -1))"
rm -f /tmp/portcullis-demo-build.log

# --- 3. topology -------------------------------------------------------------------
step "Building the network" \
  "Four network namespaces joined by veth pairs. Each gateway's two veths" \
  "belong to its data plane (DPDK net_af_packet ports), not to the kernel:" \
  "" \
  "  $TOPO-hA             $TOPO-gw1                   $TOPO-gw2             $TOPO-hB" \
  "  10.1.0.2  a0 ── g1p [lan  gw1  wan] g1u ── g2u [wan  gw2  lan] g2p ── b0  10.2.0.2" \
  "  fd00:1::2      10.1.0.1      192.0.2.1     192.0.2.2      10.2.0.1      fd00:2::2" \
  "                 fd00:1::1     └─────── WAN: ESP only ──────┘   fd00:2::1"
mkdir -p "$STATE"
chmod 700 "$STATE"
: >"$STATE/pids"
echo "$SRC" >"$STATE/source"
topo_up
good "namespaces $TOPO-hA $TOPO-gw1 $TOPO-gw2 $TOPO-hB"

# --- 4. keys and configs --------------------------------------------------------------
step "Keys and configs" \
  "One fresh random key per direction (16 key bytes + 4 salt bytes, mode 0600)," \
  "and each gateway's config from config/examples/gwN.toml with its sockets and" \
  "state moved under $STATE/gwN. portcullisd --check validates them."
topo_keys
for gw in gw1 gw2; do
  topo_config "$gw" "$SRC"
  "$DAEMON" --check "$STATE/$gw/portcullis.toml" 2>&1 | indent ||
    fail "$STATE/$gw/portcullis.toml does not validate"
done
say "tunnel gw1-gw2: 192.0.2.1 <-> 192.0.2.2, ESP aes128gcm16 (PRIME), SPIs 0x1001 / 0x2001"

# --- 5. start the gateways -----------------------------------------------------------
step "Starting the gateways" \
  "Per gateway: portcullis-dataplane (DPDK, in the gateway's namespace) and" \
  "portcullisd, which reads the config and installs ports, policies and SAs" \
  "in the data plane over its UNIX socket."
for gw in gw1 gw2; do
  pid=$(topo_dataplane "$gw" "$DP")
  record "dataplane-$gw" "$pid"
  pid=$(topo_daemon "$gw" "$DAEMON")
  record "daemon-$gw" "$pid"
done
for gw in gw1 gw2; do
  topo_wait_socket "$STATE/$gw/dataplane.sock" 200 ||
    fail "$gw: portcullis-dataplane did not open its socket in 20 s" "$STATE/$gw/dataplane.log"
  topo_wait_socket "$STATE/$gw/portcullisd.sock" 100 ||
    fail "$gw: portcullisd did not open its socket in 10 s" "$STATE/$gw/portcullisd.log"
done
ctl() {  # ctl GW ARGS...
  local gw=$1
  shift
  "$CTL" --socket "$STATE/$gw/portcullisd.sock" "$@"
}
tunnel_up() { [[ $(ctl "$1" --json tunnel list 2>/dev/null | jq -r '.[0].state' 2>/dev/null) == up ]]; }
for gw in gw1 gw2; do
  for _ in $(seq 100); do tunnel_up "$gw" && break; sleep 0.1; done
  tunnel_up "$gw" || fail "$gw: the tunnel did not come up in 10 s" "$STATE/$gw/portcullisd.log" "$STATE/$gw/dataplane.log"
  good "$gw: data plane and daemon running, tunnel up (logs: $STATE/$gw/*.log)"
done

# --- 6. ping ----------------------------------------------------------------------------
step "Ping through the tunnel" \
  "Host A and host B ping each other. Each gateway encrypts what its host sends" \
  "and decrypts what the other gateway sent; the first packets wait for ARP/ND."
# The gateways resolve their neighbours on first use.
topo_ns hA ping -c 2 -i 0.2 -W 1 10.2.0.2 >/dev/null 2>&1 || true
topo_ns hA ping -c 2 -i 0.2 -W 1 fd00:2::2 >/dev/null 2>&1 || true
ping_both() {  # ping_both FROM TO LABEL
  local out
  if out=$(topo_ns "$1" ping -c 4 -i 0.2 -W 1 "$2" 2>&1) && grep -q ' 0% packet loss' <<<"$out"; then
    good "$3: $(grep -o '[0-9]* received' <<<"$out") of 4, rtt $(grep -o 'rtt.*' <<<"$out" | cut -d' ' -f4 | cut -d/ -f2) ms avg"
  else
    echo "$out" | indent
    fail "$3: packets lost" "$STATE/gw1/dataplane.log" "$STATE/gw2/dataplane.log"
  fi
}
ping_both hA 10.2.0.2 "IPv4 host A -> host B (ip netns exec $TOPO-hA ping 10.2.0.2)"
ping_both hB 10.1.0.2 "IPv4 host B -> host A"
ping_both hA fd00:2::2 "IPv6 host A -> host B (ip netns exec $TOPO-hA ping fd00:2::2)"
ping_both hB fd00:1::2 "IPv6 host B -> host A"

# --- 7. iperf3 --------------------------------------------------------------------------
step "Moving data: iperf3 for $seconds s, host A -> host B over TCP" \
  "Hosts have MTU 1500; the tunnel carries less, so the gateway answers" \
  "\"fragmentation needed\" and TCP learns the path MTU. Rates here are those of" \
  "veths and af_packet on a shared machine, not of the data plane on NICs."
ip netns exec "$TOPO-hB" iperf3 -s -1 >"$STATE/iperf3-server.log" 2>&1 &
record iperf3 $!
sleep 0.5
if ip netns exec "$TOPO-hA" iperf3 -c 10.2.0.2 -t "$seconds" -f m >"$STATE/iperf3.log" 2>&1; then
  grep -E 'sender|receiver' "$STATE/iperf3.log" | indent
  rate=$(grep receiver "$STATE/iperf3.log" | grep -oE '[0-9.]+ [MG]bits/sec' | tail -1)
  good "$rate through the tunnel"
else
  fail "iperf3 failed" "$STATE/iperf3.log" "$STATE/gw1/dataplane.log"
fi

# --- 8. the control plane's view ------------------------------------------------------------
step "What the operator sees: portcullisctl on gw1" \
  "portcullisctl talks to portcullisd over its control socket. \`tunnel list\`:" \
  "every tunnel with its SPIs and packet counts."
echo "   \$ portcullisctl tunnel list"
ctl gw1 tunnel list | indent
echo
say "\`tunnel show gw1-gw2\`: one tunnel in detail, keys by fingerprint only, its SAs."
echo "   \$ portcullisctl tunnel show gw1-gw2"
ctl gw1 tunnel show gw1-gw2 | indent
echo
say "\`stats\`: the data plane's counters (ports, workers, drops by reason)."
echo "   \$ portcullisctl stats"
ctl gw1 stats | indent

# --- 9. the WAN --------------------------------------------------------------------------------
step "The WAN carries only ESP" \
  "tcpdump on gw2's WAN veth (g2u) while host A pings host B: what gw1 sends" \
  "arrives as ESP between 192.0.2.1 and 192.0.2.2; the hosts' addresses never appear."
ip netns exec "$TOPO-gw2" tcpdump -i g2u -nn -U -s 128 -w "$STATE/wan.pcap" 2>"$STATE/tcpdump.log" &
record tcpdump $!
for _ in $(seq 50); do grep -q listening "$STATE/tcpdump.log" 2>/dev/null && break; sleep 0.1; done
topo_ns hA ping -c 3 -i 0.2 -W 1 10.2.0.2 >/dev/null 2>&1 || true
topo_ns hA ping -c 3 -i 0.2 -W 1 fd00:2::2 >/dev/null 2>&1 || true
ip netns exec "$TOPO-hA" iperf3 -c 10.2.0.2 -n 64K >/dev/null 2>&1 || true  # server gone: a TCP SYN or two
sleep 0.3
topo_stop "$(awk '$1 == "tcpdump" {print $2}' "$STATE/pids")"
echo "   \$ ip netns exec $TOPO-gw2 tcpdump -i g2u -nn"
tcpdump -nn -r "$STATE/wan.pcap" 2>/dev/null | head -6 | cut -c1-100 | indent
esp=$(tcpdump -nn -r "$STATE/wan.pcap" esp 2>/dev/null | wc -l)
other=$(tcpdump -nn -r "$STATE/wan.pcap" 'not esp and not arp' 2>/dev/null | wc -l)
inner=$(tcpdump -nn -r "$STATE/wan.pcap" 'net 10.0.0.0/8 or ip6' 2>/dev/null | wc -l)
if ((esp > 0 && other == 0 && inner == 0)); then
  good "$esp ESP packets; nothing else but ARP; no 10.x or IPv6 packet in the clear"
else
  fail "the WAN capture holds $esp ESP packets and $other others ($inner with host addresses)" "$STATE/tcpdump.log"
fi

# --- done -------------------------------------------------------------------------------------
if ((keep)); then
  trap - EXIT INT TERM HUP PIPE ERR
  S1=$STATE/gw1/portcullisd.sock
  printf '\n%s== The demo is running ==%s\n' "$B" "$N"
  cat <<EOF
   Look around (as root):
     ip netns exec $TOPO-hA ping 10.2.0.2             # or fd00:2::2; from $TOPO-hB: 10.1.0.2, fd00:1::2
     ip netns exec $TOPO-hB iperf3 -s -1 & sleep 0.5; ip netns exec $TOPO-hA iperf3 -c 10.2.0.2
     ip netns exec $TOPO-gw2 tcpdump -nni g2u         # the WAN, as gw2 receives it

     export PORTCULLIS_SOCKET=$S1   # gw1; gw2's is $STATE/gw2/portcullisd.sock
     $CTL status
     $CTL tunnel list
     $CTL tunnel show gw1-gw2
     $CTL stats --watch                # live; Ctrl-C to stop
     $CTL events                       # the event stream
     $CTL tunnel down gw1-gw2          # and 'tunnel up gw1-gw2'; --json on any command

     tail -f $STATE/gw1/portcullisd.log $STATE/gw1/dataplane.log
     configs and keys: $STATE/gw1/portcullis.toml, $STATE/keys/

   Tear down:
     scripts/demo.sh --down
EOF
  exit 0
fi
printf '\n%sThe tunnel works: pings both ways over IPv4 and IPv6, %s of TCP, only ESP on the WAN.%s\n' \
  "$G" "${rate:-data}" "$N"
