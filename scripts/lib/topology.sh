# topology.sh: the two-gateway network-namespace topology that the demo
# (scripts/demo.sh) and the end-to-end tests (tests/e2e/e2e_tunnel.sh,
# tests/e2e/e2e_daemon.sh) share. Source it, set TOPO (a short prefix for
# namespace names) and TOPO_DIR (a private directory), then call the
# functions. Needs root.
#
#   hA 10.1.0.2 fd00:1::2 -- a0|g1p [gw1] g1u -- WAN 192.0.2.0/24 -- g2u [gw2] g2p|b0 -- hB 10.2.0.2 fd00:2::2
#
# Each gateway runs portcullis-dataplane on two net_af_packet ports (port 0
# = protected, the LAN veth; port 1 = unprotected, the WAN veth) and a
# portcullisd configured from config/examples/gwN.toml with paths moved
# into TOPO_DIR. The functions are safe to call under set -e.

topo_ns() { ip netns exec "$TOPO-$1" "${@:2}"; }

topo_up() {
  local n
  for n in hA gw1 gw2 hB; do
    ip netns add "$TOPO-$n"
    topo_ns "$n" ip link set lo up
  done
  topo_link hA a0 gw1 g1p
  topo_link gw1 g1u gw2 g2u
  topo_link gw2 g2p hB b0
  for n in gw1 gw2; do
    # The gateways' veths belong to DPDK: the kernel must not answer on them.
    topo_ns "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  done
  # veth leaves checksums to "hardware" that af_packet does not provide.
  topo_ns hA ethtool -K a0 tx off >/dev/null
  topo_ns hB ethtool -K b0 tx off >/dev/null
  # The hosts keep MTU 1500, more than the tunnel carries: the gateways
  # answer "fragmentation needed" / "packet too big" and TCP learns the
  # path MTU, as it would behind a real gateway.
  topo_ns hA ip addr add 10.1.0.2/24 dev a0
  topo_ns hA ip route add default via 10.1.0.1
  topo_ns hA ip -6 addr add fd00:1::2/64 dev a0 nodad
  topo_ns hA ip -6 route add default via fd00:1::1
  topo_ns hB ip addr add 10.2.0.2/24 dev b0
  topo_ns hB ip route add default via 10.2.0.1
  topo_ns hB ip -6 addr add fd00:2::2/64 dev b0 nodad
  topo_ns hB ip -6 route add default via fd00:2::1
}

topo_link() {  # topo_link NS1 IF1 NS2 IF2
  ip link add "$2" netns "$TOPO-$1" type veth peer name "$4" netns "$TOPO-$3"
  topo_ns "$1" ip link set "$2" up
  topo_ns "$3" ip link set "$4" up
}

topo_down() {
  local n
  for n in hA gw1 gw2 hB; do ip netns del "$TOPO-$n" 2>/dev/null || true; done
}

# topo_keys: one key per direction, shared by both gateways' configs.
topo_keys() {
  mkdir -p "$TOPO_DIR/keys"
  local k
  for k in gw1-to-gw2 gw2-to-gw1; do
    (umask 077 && head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TOPO_DIR/keys/$k.key")
  done
}

# topo_config GW SRC_DIR: TOPO_DIR/GW/portcullis.toml from the example,
# with its sockets and state under TOPO_DIR/GW and the shared keys.
topo_config() {
  local gw=$1 src=$2 dir=$TOPO_DIR/$1
  mkdir -p "$dir"
  ln -sfn "$TOPO_DIR/keys" "$dir/keys"
  sed -e "s|/run/portcullis/$gw/|$dir/|; s|/var/lib/portcullis/$gw|$dir/state|" \
    "$src/config/examples/$gw.toml" >"$dir/portcullis.toml"
}

# topo_dataplane GW BIN [ARGS...]: start GW's data plane; prints its pid.
topo_dataplane() {
  local gw=$1 bin=$2 p u
  shift 2
  if [[ $gw == gw1 ]]; then p=g1p u=g1u; else p=g2p u=g2u; fi
  ip netns exec "$TOPO-$gw" "$bin" --socket "$TOPO_DIR/$gw/dataplane.sock" --idle-sleep-us 50 --mbufs 4095 "$@" -- \
    --no-pci --in-memory --file-prefix "$TOPO-$gw" --log-level=error \
    --vdev "net_af_packet0,iface=$p" --vdev "net_af_packet1,iface=$u" >>"$TOPO_DIR/$gw/dataplane.log" 2>&1 &
  echo $!
}

# topo_daemon GW BIN: start GW's portcullisd (outside the namespace: it
# only talks over UNIX sockets); prints its pid.
topo_daemon() {
  "$2" --config "$TOPO_DIR/$1/portcullis.toml" >>"$TOPO_DIR/$1/portcullisd.log" 2>&1 &
  echo $!
}

# topo_wait_socket PATH [TENTHS]: wait for a UNIX socket to appear.
topo_wait_socket() {
  local i
  for ((i = 0; i < ${2:-100}; i++)); do
    [[ -S $1 ]] && return 0
    sleep 0.1
  done
  return 1
}

# topo_stop PID...: TERM, then KILL after 5 s. Safe under set -e.
topo_stop() {
  local p i
  for p in "$@"; do kill "$p" 2>/dev/null || true; done
  for p in "$@"; do
    for ((i = 0; i < 50; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
}
