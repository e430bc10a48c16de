#!/usr/bin/env bash
# e2e_tunnel.sh: two Portcullis gateways in network namespaces.
#
#   hA (10.1.0.2) -- gw1 [portcullis-dataplane] -- WAN 192.0.2.0/24 --
#                    gw2 [portcullis-dataplane] -- hB (10.2.0.2)
#
# Each gateway is a portcullis-dataplane on two net_af_packet ports (veths in
# its namespace); SAs and policies go in over the dataplane channel with
# dpchan. Checks: ping both ways, a TCP transfer (iperf3), only ESP on the
# WAN, then the same with UDP encapsulation, IPv6 inside IPv4 and IPv4
# inside IPv6. The hosts keep MTU 1500, more than the tunnel carries: the
# gateways answer DF packets with ICMP "fragmentation needed" / ICMPv6
# "packet too big" and fragment the others before encryption.
# Needs root. Prints "N passed, M failed" and exits non-zero on failure.
set -uo pipefail

DATAPLANE=${DATAPLANE:?path to portcullis-dataplane}
DPCHAN=${DPCHAN:?path to dpchan}
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d /tmp/pc-e2e.XXXXXX)
TOPO="pce$$"
TOPO_DIR=$tmp
# shellcheck source=../../scripts/lib/topology.sh
source "$SRC/scripts/lib/topology.sh"
ns=$TOPO
passed=0
failed=0
pids=()

cleanup() {
  topo_stop "${pids[@]}"
  topo_down
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }
in_ns() { topo_ns "$@"; }

# --- topology (scripts/lib/topology.sh) ------------------------------------------
topo_up

start_gw() {  # start_gw NAME PROTECTED_IF UNPROTECTED_IF
  # Not through in_ns: $! must be the data plane itself, to stop it.
  ip netns exec "$ns-$1" "$DATAPLANE" --socket "$tmp/$1.sock" --idle-sleep-us 50 --mbufs 4095 -- \
    --no-pci --in-memory --file-prefix "$ns-$1" --log-level=error \
    --vdev "net_af_packet0,iface=$2" --vdev "net_af_packet1,iface=$3" >"$tmp/$1.log" 2>&1 &
  pids+=($!)
}
start_gw gw1 g1p g1u
start_gw gw2 g2p g2u
for n in gw1 gw2; do
  for _ in $(seq 100); do [[ -S $tmp/$n.sock ]] && break; sleep 0.1; done
  if [[ -S $tmp/$n.sock ]]; then ok "$n started"; else bad "$n did not start"; cat "$tmp/$n.log"; exit 1; fi
done

# --- keys and configuration ---------------------------------------------------
key() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
k12=$(key 20)
k21=$(key 20)

# configure GW SELF PEER LAN_ADDR PEER_LAN OUT_SPI IN_SPI OUT_KEY IN_KEY EXTRA [WAN_ADDRS]
configure() {
  local gw=$1 self=$2 peer=$3 lan=$4 peer_lan=$5 ospi=$6 ispi=$7 okey=$8 ikey=$9 extra=${10}
  local wan=${11:-$self/24}
  # 10.N.0.1 pairs with fd00:N::1.
  local o=${lan#*.} po=${peer_lan#*.}
  local lan6="fd00:${o%%.*}" plan6="fd00:${po%%.*}"
  "$DPCHAN" "$tmp/$gw.sock" <<EOS
begin
port 0 protected $lan/24 ${lan6}::1/64
port 1 unprotected $wan
sa 1 out $ospi aes128gcm16 $okey tunnel $self $peer $extra
sa 2 in $ispi aes128gcm16 $ikey tunnel $peer $self $extra sel ${peer_lan%.*}.0/24 ${lan%.*}.0/24 sel ${plan6}::/64 ${lan6}::/64
policy 1 out ${lan%.*}.0/24 ${peer_lan%.*}.0/24 protect 1 prio 10
policy 2 out ${lan6}::/64 ${plan6}::/64 protect 1 prio 10
commit
EOS
}
flush() {  # flush GW OUT_SA IN_SA
  "$DPCHAN" "$tmp/$1.sock" <<<"begin
del policy 1
del policy 2
del sa $2
del sa $3
commit"
}

setup_tunnel() {  # setup_tunnel EXTRA
  configure gw1 192.0.2.1 192.0.2.2 10.1.0.1 10.2.0.1 0x1001 0x2001 "$k12" "$k21" "$1" &&
    configure gw2 192.0.2.2 192.0.2.1 10.2.0.1 10.1.0.1 0x2001 0x1001 "$k21" "$k12" "$1"
}

# wan_check LABEL BPF_ALLOWED: capture on gw1's WAN veth while pinging,
# then count packets that are not BPF_ALLOWED and not ARP or neighbour
# discovery; some must be BPF_ALLOWED.
wan_check() {
  rm -f "$tmp/wan.err"
  in_ns gw1 timeout 10 tcpdump -i g1u -nn -U -w "$tmp/wan.pcap" 2>"$tmp/wan.err" &
  local cap=$!
  # Start pinging only once tcpdump listens: on a loaded machine it can
  # take a while.
  for _ in $(seq 50); do grep -q listening "$tmp/wan.err" 2>/dev/null && break; sleep 0.1; done
  in_ns hA ping -c 3 -i 0.2 -W 2 10.2.0.2 >/dev/null 2>&1
  wait "$cap" 2>/dev/null
  local total others
  total=$(tcpdump -nn -r "$tmp/wan.pcap" "$2" 2>/dev/null | wc -l)
  others=$(tcpdump -nn -r "$tmp/wan.pcap" \
    "not ($2) and not arp and not (icmp6 and ip6[40] >= 133 and ip6[40] <= 137)" 2>/dev/null | wc -l)
  if ((total > 0 && others == 0)); then
    ok "$1: WAN carries only $2 ($total packets)"
  else
    bad "$1: WAN capture: $total packets of $2, $others others"
    tcpdump -nn -r "$tmp/wan.pcap" 2>/dev/null | head -5
  fi
}

traffic() {  # traffic LABEL
  in_ns hA ping -c 2 -W 1 10.2.0.2 >/dev/null 2>&1  # resolve neighbours
  if in_ns hA ping -c 5 -i 0.2 -W 2 10.2.0.2 >"$tmp/ping" 2>&1 && grep -q " 0% packet loss" "$tmp/ping"; then
    ok "$1: ping hA -> hB, no loss"
  else
    bad "$1: ping hA -> hB"; tail -3 "$tmp/ping"
  fi
  if in_ns hB ping -c 5 -i 0.2 -W 2 10.1.0.2 >"$tmp/ping" 2>&1 && grep -q " 0% packet loss" "$tmp/ping"; then
    ok "$1: ping hB -> hA, no loss"
  else
    bad "$1: ping hB -> hA"; tail -3 "$tmp/ping"
  fi
}

# tcp_one LABEL CLIENT_NS SERVER_NS SERVER_IP PORT: a 2-second iperf3 run.
tcp_one() {
  in_ns "$3" timeout 15 iperf3 -s -1 -p "$5" >/dev/null 2>&1 &
  local srv=$!
  sleep 0.5
  local mbps=0
  if in_ns "$2" timeout 15 iperf3 -c "$4" -p "$5" -t 2 -J >"$tmp/iperf.json" 2>/dev/null; then
    mbps=$(jq '(.end.sum_received.bits_per_second // 0) / 1e6 | floor' "$tmp/iperf.json" 2>/dev/null || echo 0)
  fi
  if ((mbps > 0)); then ok "$1: $mbps Mbit/s"; else bad "$1: no data"; head -c 600 "$tmp/iperf.json"; fi
  wait "$srv" 2>/dev/null
}
tcp() {  # tcp LABEL
  tcp_one "$1: TCP hA -> hB" hA hB 10.2.0.2 5201
  tcp_one "$1: TCP hB -> hA" hB hA 10.1.0.2 5202
}

# --- plain ESP ----------------------------------------------------------------
if setup_tunnel ""; then ok "ESP SAs and policies installed"; else bad "configure"; fi
if [[ -n ${E2E_DEBUG:-} ]]; then
  in_ns gw2 timeout 4 tcpdump -e -i g2u -nn -c 5 > "$tmp/d2" 2>&1 &
  in_ns gw1 timeout 4 tcpdump -e -i g1u -nn -c 5 > "$tmp/d1" 2>&1 &
  sleep 1; in_ns hA ping -c 3 -i 0.3 -W 1 10.2.0.2; sleep 3
  echo "== g1u"; cat "$tmp/d1"; echo "== g2u"; cat "$tmp/d2"
fi
traffic "esp"
tcp "esp"
wan_check "esp" "esp"
if in_ns hA ping -6 -c 3 -i 0.2 -W 2 fd00:2::2 >"$tmp/ping" 2>&1 && grep -q " 0% packet loss" "$tmp/ping"; then
  ok "esp: IPv6 inner over IPv4 outer, no loss"
else
  # The first attempt may be lost to neighbour discovery.
  if in_ns hA ping -6 -c 3 -i 0.2 -W 2 fd00:2::2 >"$tmp/ping" 2>&1 && grep -q " 0% packet loss" "$tmp/ping"; then
    ok "esp: IPv6 inner over IPv4 outer, no loss"
  else
    bad "esp: IPv6 inner over IPv4 outer"; tail -2 "$tmp/ping"
    for g in gw1 gw2; do echo "--- $g"; "$DPCHAN" "$tmp/$g.sock" <<<"stats" | awk '$2 != 0' | grep -v cycles; done
  fi
fi

# --- oversized packets ------------------------------------------------------------
# AES-128-GCM over IPv4 adds 20 (outer IP) + 8 (SPI, sequence) + 8 (IV) +
# 16 (ICV) + 2 (pad length, next header), padded to 4 bytes: the largest
# inner packet that fits a 1500-byte WAN is 1446 bytes.
tunnel_mtu=1446
# The TCP transfers above taught the hosts the path MTU; forget it so that
# the gateway has to say it again.
for h in hA hB; do in_ns "$h" ip route flush cache; in_ns "$h" ip -6 route flush cache; done
in_ns hA ping -M do -s 1472 -c 2 -i 0.3 -W 2 10.2.0.2 >"$tmp/ping" 2>&1
if grep -Eq "Frag needed and DF set \(mtu = $tunnel_mtu\)|message too long, mtu=$tunnel_mtu" "$tmp/ping" &&
  grep -q "From 10.1.0.1 " "$tmp/ping"; then
  ok "too big, DF: hA told 'fragmentation needed, mtu $tunnel_mtu' by 10.1.0.1"
else
  bad "too big, DF: no ICMP fragmentation needed with mtu $tunnel_mtu"; cat "$tmp/ping"
fi
"$DPCHAN" "$tmp/gw1.sock" <<<"expect drop.too_big >= 1
expect worker.0.icmp_too_big >= 1" >/dev/null && ok "too big, DF: counted as drop.too_big and worker.0.icmp_too_big" ||
  bad "too big, DF: drop.too_big or worker.0.icmp_too_big not counted"
# Without DF gw1 fragments before encrypting: hB receives the fragments
# (gw2 decrypts each on its own) and reassembles them itself.
rm -f "$tmp/frag.err"
in_ns hB timeout 10 tcpdump -i b0 -nn -U -w "$tmp/frag.pcap" "src 10.1.0.2 and ip[6:2] & 0x3fff != 0" \
  2>"$tmp/frag.err" &
cap=$!
for _ in $(seq 50); do grep -q listening "$tmp/frag.err" 2>/dev/null && break; sleep 0.1; done
if in_ns hA ping -M dont -s 1472 -c 3 -i 0.3 -W 2 10.2.0.2 >"$tmp/ping" 2>&1 && grep -q " 0% packet loss" "$tmp/ping"; then
  ok "too big, no DF: 1500-byte pings fragmented before ESP, no loss"
else
  bad "too big, no DF: ping -M dont -s 1472"; tail -3 "$tmp/ping"
fi
sleep 0.5
kill "$cap" 2>/dev/null; wait "$cap" 2>/dev/null
nfrag=$(tcpdump -nn -r "$tmp/frag.pcap" 2>/dev/null | wc -l)
big=$(tcpdump -nn -r "$tmp/frag.pcap" "greater $((tunnel_mtu + 15))" 2>/dev/null | wc -l)
if ((nfrag >= 6 && big == 0)); then
  ok "too big, no DF: hB received $nfrag fragments, none over $tunnel_mtu bytes"
else
  bad "too big, no DF: hB received $nfrag fragments, $big over $tunnel_mtu bytes"
fi
# IPv6: the first ping learns "packet too big" (and hB's first reply
# likewise, from gw2); then the kernel fragments at the source.
in_ns hA ping -6 -s 1452 -c 2 -i 0.5 -W 2 fd00:2::2 >"$tmp/ping6" 2>&1
if grep -q "Packet too big: mtu=$tunnel_mtu" "$tmp/ping6" || grep -q "message too long, mtu=$tunnel_mtu" "$tmp/ping6"; then
  ok "too big, IPv6: hA told 'packet too big, mtu $tunnel_mtu'"
else
  bad "too big, IPv6: no ICMPv6 packet too big with mtu $tunnel_mtu"; cat "$tmp/ping6"
fi
if in_ns hA ping -6 -s 1452 -c 3 -i 0.3 -W 2 fd00:2::2 >"$tmp/ping6" 2>&1 && grep -q " 0% packet loss" "$tmp/ping6"; then
  ok "too big, IPv6: path MTU learned, 1500-byte pings pass"
else
  bad "too big, IPv6: ping after packet too big"; tail -3 "$tmp/ping6"
fi

if ((failed > 0)); then
  for g in gw1 gw2; do echo "--- $g counters"; "$DPCHAN" "$tmp/$g.sock" <<<"stats" | awk '$2 != 0'; done
fi
"$DPCHAN" "$tmp/gw1.sock" <<<"expect worker.0.outbound >= 10
expect worker.0.inbound >= 10
expect drop.integrity == 0
expect drop.replay == 0
expect drop.out_of_window == 0" && ok "esp: gw1 counters" || bad "esp: gw1 counters"

# --- a route change under traffic --------------------------------------------------
# A worker reuses an SA's route and neighbour for its ESP packets only while
# the tables are unchanged: a host route to the peer through a gateway that
# never answers must stop the tunnel at once, and deleting it must bring
# the tunnel back.
nn=$("$DPCHAN" "$tmp/gw1.sock" <<<"stats drop.no_neighbour" | awk '{print $2}')
"$DPCHAN" "$tmp/gw1.sock" <<<"route 192.0.2.2/32 via 192.0.2.77 port 1" || bad "route add"
if ! in_ns hA ping -c 3 -i 0.2 -W 1 10.2.0.2 >/dev/null 2>&1 &&
  "$DPCHAN" "$tmp/gw1.sock" <<<"expect drop.no_neighbour >= $((nn + 3))" >/dev/null; then
  ok "route change: ESP follows the new route at once (dropped as no_neighbour)"
else
  bad "route change: ESP still took the old route"
fi
"$DPCHAN" "$tmp/gw1.sock" <<<"del route 192.0.2.2/32" || bad "route del"
if in_ns hA ping -c 3 -i 0.2 -W 1 10.2.0.2 >"$tmp/ping" 2>&1 && grep -q " 0% packet loss" "$tmp/ping"; then
  ok "route change: tunnel back, no loss, once the route is gone"
else
  bad "route change: tunnel not back: $(grep 'packet loss' "$tmp/ping")"
fi

# --- make-before-break SA replacement under ping ---------------------------------
# New inbound SAs first, then each side switches its outbound SA and
# policies in one transaction, then the old SAs go: no packet may be lost.
n12=$(key 20)
n21=$(key 20)
mbb() {  # mbb GW SELF PEER LAN PEER_LAN NEW_OUT_SPI NEW_IN_SPI OUT_KEY IN_KEY
  local o=${4#*.} po=${5#*.}
  local lan6="fd00:${o%%.*}" plan6="fd00:${po%%.*}"
  "$DPCHAN" "$tmp/$1.sock" <<EOS
sa 3 in $7 aes128gcm16 $9 tunnel $3 $2 sel ${5%.*}.0/24 ${4%.*}.0/24 sel ${plan6}::/64 ${lan6}::/64
EOS
}
mbb_switch() {  # mbb_switch GW SELF PEER LAN PEER_LAN NEW_OUT_SPI OUT_KEY
  local o=${4#*.} po=${5#*.}
  local lan6="fd00:${o%%.*}" plan6="fd00:${po%%.*}"
  "$DPCHAN" "$tmp/$1.sock" <<EOS
begin
sa 4 out $6 aes128gcm16 $7 tunnel $2 $3
del policy 1
del policy 2
policy 1 out ${4%.*}.0/24 ${5%.*}.0/24 protect 4 prio 10
policy 2 out ${lan6}::/64 ${plan6}::/64 protect 4 prio 10
commit
EOS
}
in_ns hA ping -c 80 -i 0.05 -W 1 10.2.0.2 >"$tmp/mbb" 2>&1 &
pinger=$!
sleep 1
mbb gw1 192.0.2.1 192.0.2.2 10.1.0.1 10.2.0.1 0x1002 0x2002 "$n12" "$n21" &&
  mbb gw2 192.0.2.2 192.0.2.1 10.2.0.1 10.1.0.1 0x2002 0x1002 "$n21" "$n12" &&
  mbb_switch gw1 192.0.2.1 192.0.2.2 10.1.0.1 10.2.0.1 0x1002 "$n12" &&
  mbb_switch gw2 192.0.2.2 192.0.2.1 10.2.0.1 10.1.0.1 0x2002 "$n21" &&
  sleep 0.5 &&
  "$DPCHAN" "$tmp/gw1.sock" <<<"begin
del sa 1
del sa 2
commit" &&
  "$DPCHAN" "$tmp/gw2.sock" <<<"begin
del sa 1
del sa 2
commit" || bad "SA replacement commands"
wait "$pinger"
if grep -q " 0% packet loss" "$tmp/mbb"; then
  ok "SA pair replaced under ping ($(grep -o '[0-9]* received' "$tmp/mbb")), no loss"
else
  bad "SA replacement lost packets: $(grep 'packet loss' "$tmp/mbb")"
fi
"$DPCHAN" "$tmp/gw1.sock" <<<"query 4" | grep -q "packets [1-9]" && ok "traffic moved to the new SA" || bad "new SA unused"

# --- UDP-encapsulated ESP (RFC 3948) --------------------------------------------
flush gw1 4 3 && flush gw2 4 3 || bad "flush"
if setup_tunnel "udp"; then ok "UDP-encapsulated SAs installed"; else bad "configure udp"; fi
traffic "udp"
wan_check "udp" "udp port 4500"

# --- IPv4 inside IPv6 -------------------------------------------------------------
# The WAN gets IPv6 addresses (the data plane answers neighbour discovery
# for them; the kernel's IPv6 stays off on the gateways' veths) and the
# tunnel endpoints are IPv6; the LANs' traffic is unchanged.
flush gw1 1 2 && flush gw2 1 2 || bad "flush udp"
if configure gw1 2001:db8:ffff::1 2001:db8:ffff::2 10.1.0.1 10.2.0.1 0x1003 0x2003 "$k12" "$k21" "" \
  "192.0.2.1/24 2001:db8:ffff::1/64" &&
  configure gw2 2001:db8:ffff::2 2001:db8:ffff::1 10.2.0.1 10.1.0.1 0x2003 0x1003 "$k21" "$k12" "" \
    "192.0.2.2/24 2001:db8:ffff::2/64"; then
  ok "IPv6-outer SAs installed"
else
  bad "configure IPv6 outer"
fi
traffic "ipv4 in ipv6"
wan_check "ipv4 in ipv6" "ip6 and esp"
# 40 bytes of outer header instead of 20: 1426.
for h in hA hB; do in_ns "$h" ip route flush cache; done
in_ns hA ping -M do -s 1472 -c 2 -i 0.3 -W 2 10.2.0.2 >"$tmp/ping" 2>&1
if grep -Eq "Frag needed and DF set \(mtu = 1426\)|message too long, mtu=1426" "$tmp/ping"; then
  ok "ipv4 in ipv6: fragmentation needed, mtu 1426"
else
  bad "ipv4 in ipv6: no fragmentation needed with mtu 1426"; cat "$tmp/ping"
fi
tcp_one "ipv4 in ipv6: TCP hA -> hB" hA hB 10.2.0.2 5203

echo "--- gw1 counters"
"$DPCHAN" "$tmp/gw1.sock" <<<"stats drop." | awk '$2 != 0'
# Acquire: a protect policy whose SA is missing drops the packet and
# tells the daemon (here dpchan, waiting for the event) which flow wants one.
"$DPCHAN" "$tmp/gw1.sock" >"$tmp/acquire" 2>&1 <<<"policy 77 out 10.1.0.0/24 10.9.0.0/24 protect 777 prio 5
await acquire 5000" &
acq=$!
sleep 0.5
in_ns hA ping -c 3 -i 0.2 -W 1 10.9.0.1 >/dev/null 2>&1
wait "$acq"
if grep -q "policy=77" "$tmp/acquire" && grep -q "10.1.0.2/32" "$tmp/acquire" && grep -q "10.9.0.1/32" "$tmp/acquire"; then
  ok "acquire: $(head -1 "$tmp/acquire")"
else
  bad "acquire: $(cat "$tmp/acquire")"
fi
"$DPCHAN" "$tmp/gw1.sock" <<<"del policy 77
expect drop.no_sa >= 3" >/dev/null 2>&1 && ok "acquire: the packets were dropped as no_sa" || bad "acquire: no_sa not counted"

# A client that stops inside a transaction (dpchan exits on the failed
# del) must not wedge the channel: the agent aborts it when it leaves.
"$DPCHAN" "$tmp/gw1.sock" <<<"begin
del sa 999999" >/dev/null 2>&1
if "$DPCHAN" "$tmp/gw1.sock" <<<"begin
abort
expect agent.aborted_transactions >= 1" >"$tmp/txn" 2>&1; then
  ok "an abandoned transaction is aborted when its client leaves"
else
  bad "abandoned transaction: $(cat "$tmp/txn")"
fi

echo "$passed passed, $failed failed"
((failed == 0))
