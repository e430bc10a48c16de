# shellcheck shell=bash
# strongswan.sh: strongSwan (charon 5.9 with kernel-libipsec, userspace
# ESP) as an IKEv2 peer inside a network namespace. Sourced by
# ike_interop.sh after scripts/lib/topology.sh; uses TOPO, TOPO_DIR and
# topo_ns. Needs the Debian packages strongswan-charon, strongswan-swanctl,
# libcharon-extra-plugins (kernel-libipsec), libstrongswan-standard-plugins
# and libstrongswan-extra-plugins (scripts/setup.sh installs them).
#
# Each instance NAME lives in TOPO_DIR/NAME:
#   strongswan.conf   charon's settings (STRONGSWAN_CONF points here)
#   charon.vici       its own vici socket (swanctl --uri)
#   charon.log        its log (IKE at level 2)
#   swanctl/          SWANCTL_DIR: swanctl.conf, x509/, x509ca/, private/
#
# What charon 5.9.8 needs to run in a namespace with userspace ESP:
#   - kernel-libipsec loaded before kernel-netlink (charon.load order): it
#     provides the IPsec backend (SAs and policies in charon's own memory),
#     kernel-netlink still does addresses and routes. This kernel has no
#     XFRM ESP, and kernel-netlink's IPsec part is never used.
#   - libipsec in 5.9 only sends and receives ESP inside UDP 4500 (RFC
#     3948), through charon's own NAT-T socket: every connection needs
#     encap = yes (it then fakes NAT detection so both sides float to
#     4500 and encapsulate), and the peer must do UDP encapsulation too.
#   - no ESN in libipsec: child proposals say -noesn.
#   - a private /run: charon refuses to start if /run/charon.pid exists,
#     so each instance runs under `unshare --mount` with a tmpfs on /run
#     (inside `ip netns exec`, which already has its own mount namespace).
#   - routes: libipsec makes a TUN device (ipsec0, MTU 1400). charon puts
#     a route to each remote traffic selector through it in routing
#     table 220 (install_routes, routing_table; a rule "lookup 220" at
#     priority 220), with the local gateway's protected address as source.
#     The kernel forwards host traffic into the TUN, libipsec encrypts it.
#   - net.ipv4.ip_forward = 1 and rp_filter off in the namespace;
#     tx checksum offload off on the veths (a peer on net_af_packet reads
#     the frames raw, with no one to finish a partial checksum).

SW_CHARON=${SW_CHARON:-/usr/lib/ipsec/charon}
SW_SWANCTL=${SW_SWANCTL:-swanctl}

# sw_net NS WAN_IF WAN_ADDR/LEN LAN_IF LAN_ADDR/LEN: the kernel side of a
# strongSwan gateway namespace.
sw_net() {
  local ns=$1 wan=$2 wanaddr=$3 lan=$4 lanaddr=$5 i
  topo_ns "$ns" sysctl -qw net.ipv4.ip_forward=1
  for i in all default "$wan" "$lan"; do topo_ns "$ns" sysctl -qw "net.ipv4.conf.$i.rp_filter=0"; done
  topo_ns "$ns" ip addr add "$wanaddr" dev "$wan"
  topo_ns "$ns" ip addr add "$lanaddr" dev "$lan"
  topo_ns "$ns" ethtool -K "$wan" tx off >/dev/null
  topo_ns "$ns" ethtool -K "$lan" tx off >/dev/null
}

# sw_init NAME: the instance's directory and strongswan.conf.
sw_init() {
  local d=$TOPO_DIR/$1
  mkdir -p "$d"/swanctl/{x509,x509ca,x509ocsp,x509aa,x509ac,x509crl,pubkey,private,rsa,ecdsa,bliss,pkcs8,pkcs12}
  chmod 700 "$d"/swanctl/{private,rsa,ecdsa,bliss,pkcs8,pkcs12}
  cat >"$d/strongswan.conf" <<EOF
# $1: charon for the IKEv2 interop tests (tests/interop/ike/strongswan.sh)
charon {
  load_modular = no
  # kernel-libipsec before kernel-netlink: its IPsec backend wins.
  load = random nonce openssl pem pkcs1 pkcs8 x509 pubkey constraints aes sha1 sha2 hmac gcm chapoly curve25519 kdf kernel-libipsec kernel-netlink socket-default vici
  port = 500
  port_nat_t = 4500
  install_routes = yes
  install_virtual_ip = no
  routing_table = 220
  routing_table_prio = 220
  retransmit_tries = 3
  retransmit_timeout = 1.0
  retransmit_base = 1.4
  # Keep DNS lookups and the host's syslog out of it.
  syslog {
    daemon {
      default = -1
    }
  }
  filelog {
    charon {
      path = $d/charon.log
      time_format = %H:%M:%S
      ike_name = yes
      flush_line = yes
      default = 1
      ike = 2
      cfg = 1
      knl = 1
      esp = 1
    }
  }
  plugins {
    vici {
      socket = unix://$d/charon.vici
    }
    kernel-libipsec {
      allow_peer_ts = no
    }
  }
}
EOF
}

# sw_start NAME NS: start charon in NS; prints its pid.
sw_start() {
  local d=$TOPO_DIR/$1
  rm -f "$d/charon.vici"
  # shellcheck disable=SC2016  # $0 is for the inner sh
  STRONGSWAN_CONF=$d/strongswan.conf ip netns exec "$TOPO-$2" unshare --mount --propagation private \
    sh -c 'mount -t tmpfs -o mode=0755 tmpfs /run && exec "$0"' "$SW_CHARON" >>"$d/charon.out" 2>&1 &
  echo $!
}

# sw_ctl NAME ARGS...: swanctl against NAME's charon.
sw_ctl() {
  local d=$TOPO_DIR/$1
  shift
  SWANCTL_DIR=$d/swanctl "$SW_SWANCTL" "$@" --uri "unix://$d/charon.vici"
}

# sw_initiate_bg NAME CHILD TIMEOUT OUTFILE: swanctl --initiate in the
# background; its pid (swanctl's own, to wait for or kill) in SW_BG_PID.
sw_initiate_bg() {
  local d=$TOPO_DIR/$1
  SWANCTL_DIR=$d/swanctl "$SW_SWANCTL" --initiate --child "$2" --timeout "$3" --uri "unix://$d/charon.vici" >"$4" 2>&1 &
  SW_BG_PID=$!
}

# sw_wait NAME: wait up to 10 s for the vici socket and an answer on it.
sw_wait() {
  local i
  for ((i = 0; i < 100; i++)); do
    if [[ -S $TOPO_DIR/$1/charon.vici ]] && sw_ctl "$1" --stats >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}

# sw_load NAME: (re)load swanctl.conf and the credentials, dropping what
# was loaded before.
sw_load() {
  sw_ctl "$1" --load-all --clear --noprompt >"$TOPO_DIR/$1/load.out" 2>&1
}

# sw_sas NAME [IKE]: swanctl --list-sas (text).
sw_sas() {
  if [[ -n ${2:-} ]]; then sw_ctl "$1" --list-sas --ike "$2" 2>/dev/null; else sw_ctl "$1" --list-sas 2>/dev/null; fi
}

# sw_up NAME IKE CHILD: true if IKE is ESTABLISHED with CHILD INSTALLED.
sw_up() {
  sw_sas "$1" "$2" | awk -v c="$3" '
    /^[^ ]/ && /ESTABLISHED/ { ike = 1 }
    /^ / && $1 == c ":" && /INSTALLED/ { child = 1 }
    END { exit !(ike && child) }'
}

# sw_state NAME IKE: one line
#   IKE_SPI_I IKE_SPI_R CHILD_SPI_IN CHILD_SPI_OUT IKE_ALGS CHILD_MODE CHILD_ALGS
# for the established IKE SA named IKE and its last installed Child SA
# (during a rekey the old one lingers a moment), e.g.
#   801ea8fcd4f0015f 8c80d51105154aa9 3f992190 b4413d4d AES_GCM_16-128/PRF_HMAC_SHA2_256/ECP_256 TUNNEL-in-UDP ESP:AES_GCM_16-128
sw_state() {
  sw_sas "$1" "$2" | awk -v n="$2" '
    /^[^ ]/ { ike = ($1 == n ":" && /ESTABLISHED/ && !spi) }
    ike && /^[^ ]/ { i = $5; r = $6; gsub(/_i|_r|\*/, "", i); gsub(/_i|_r|\*/, "", r); spi = i " " r; next }
    ike && !algs && /^  [^ ]/ && $1 ~ /\// { algs = $1 }
    ike && /^  [^ ]/ && $1 ~ /:$/ { inst = /INSTALLED/; if (inst) { mode = $6; esp = $7; sub(/,$/, "", mode) } }
    ike && inst && $1 == "in" { cin = $2; sub(/,$/, "", cin) }
    ike && inst && $1 == "out" { cout = $2; sub(/,$/, "", cout) }
    END { if (spi) print spi, cin, cout, algs, mode, esp }'
}
