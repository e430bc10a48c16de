#!/usr/bin/env bash
# ike_interop.sh: portcullisd's IKEv2 against strongSwan. Run with --help.
#
#   hA 10.1.0.2 -- a0|g1p [gw1: Portcullis] g1u 192.0.2.1 -- WAN -- 192.0.2.2 g2u [gw2: strongSwan] g2p|b0 -- hB 10.2.0.2
#
# gw1 is portcullis-dataplane on two net_af_packet ports with portcullisd
# (as in tests/e2e/e2e_daemon.sh; namespaces from scripts/lib/topology.sh).
# gw2 is charon 5.9 with kernel-libipsec (userspace ESP, strongswan.sh).
# With --self-check gw1 is a second charon, to show the harness is sound.
# Prints "ok:" / "FAIL:" lines and "N passed, M failed"; exits non-zero on
# failure. Needs root.
set -uo pipefail

# --- adjust here if the engine's wording or the CLI change -----------------------------
# Extended regexps, case-insensitive, that portcullisd's log must match for
# each negative case (control/daemon/README.md, "IKEv2", "Logs"): as the
# side that checks the peer, then as the side the peer refused. A matching
# line must also name the tunnel or the peer's address (PC_LOG_NEEDS_WHO=0
# drops that).
PC_LOG_BAD_PSK='authentication of .* failed: pre-shared key mismatch|refused our authentication'
PC_LOG_BAD_CERT='authentication of .* failed: certificate .* is not trusted'
PC_LOG_BAD_PROPOSAL='no proposal chosen|refused IKE_SA_INIT: NO_PROP'
PC_LOG_NEEDS_WHO=1
# `portcullisctl --json tunnel list` .state of a tunnel whose Child SA
# carries its traffic.
PC_UP_STATES='^up$'
# How portcullisctl rekeys (control/cli/README.md).
pc_rekey_child() { ctl tunnel rekey "$1"; }
pc_rekey_ike() { ctl tunnel rekey "$1" --ike; }
# charon's wording, for the same checks with --self-check.
SW_LOG_BAD_PSK='MAC mismatched|AUTHENTICATION_FAILED'
SW_LOG_BAD_CERT='no trusted .* public key found|constraint check failed|AUTHENTICATION_FAILED'
SW_LOG_BAD_PROPOSAL='proposals unacceptable|no acceptable proposal|NO_PROPOSAL_CHOSEN|N\(NO_PROP\)'
# Seconds to wait for a tunnel to come up, and for a refusal to show.
UP_TIMEOUT=${UP_TIMEOUT:-10}
NEG_TIMEOUT=${NEG_TIMEOUT:-8}

usage() {
  cat <<'EOF'
Usage: ike_interop.sh [--self-check] [--role initiator|responder|both] [--rekey|--no-rekey] [--keep] CASE

Cases (AUTH-SUITE):
  psk-prime        PSK, IKE aes128gcm16-prfsha256-ecp256 (PRIME, the default), ESP aes128gcm16
  ecdsa-prime      ECDSA P-256 certificates, PRIME
  psk-prime256     PSK, IKE aes256gcm16-prfsha384-ecp384 (profile "prime-256"), ESP aes256gcm16
  ecdsa-prime256   ECDSA P-384 certificates, prime-256
  psk-chacha       PSK, IKE chacha20poly1305-prfsha256-curve25519 (crypto.allow), ESP chacha20poly1305
  ecdsa-chacha     ECDSA P-256, chacha
                   The chacha cases leave Portcullis's local_id/remote_id unset: its
                   default identity is its address with a PSK, its certificate's
                   subject DN with ECDSA. The others use FQDNs (gw1.ike.test).
  negative         wrong PSK, certificate from another CA, proposal mismatch, each with
                   strongSwan initiating and with Portcullis initiating; none may come up,
                   portcullisd must log why, and a working tunnel keeps working

Each positive case runs with Portcullis as IKE initiator, then as responder
(--role picks one): tunnel up on both sides (portcullisctl tunnel list,
swanctl --list-sas), the negotiated algorithms, SPIs that match, ping both
ways, iperf3 for 2 s. The *-prime cases then rekey: Child SA and IKE SA,
each started from either side, while pinging every 0.05 s; no ping may be
lost. psk-prime rekeys in the initiator phase, ecdsa-prime in the
responder phase (--rekey: in every phase of any case; --no-rekey: none).

Options:
  --self-check   gw1 is a second strongSwan instead of Portcullis
  --keep         keep the work directory (configs, logs) and print its path
Environment: DATAPLANE, DAEMON, CTL (the Portcullis binaries; not needed
with --self-check), SRC (the source tree), UP_TIMEOUT, NEG_TIMEOUT.
EOF
}

SELF=0 ROLE=both REKEY="" KEEP=0 CASE=""
while (($#)); do
  case $1 in
    --self-check) SELF=1 ;;
    --role) ROLE=${2:-}; shift ;;
    --rekey) REKEY=1 ;;
    --no-rekey) REKEY=0 ;;
    --keep) KEEP=1 ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "ike_interop.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) [[ -z $CASE ]] || { echo "ike_interop.sh: one case at a time" >&2; exit 2; }; CASE=$1 ;;
  esac
  shift
done
case $ROLE in initiator | responder | both) ;; *) echo "ike_interop.sh: --role initiator|responder|both" >&2; exit 2 ;; esac
SRC=${SRC:-$(cd "$(dirname "$0")/../../.." && pwd)}
if ((!SELF)); then
  DATAPLANE=${DATAPLANE:?path to portcullis-dataplane}
  DAEMON=${DAEMON:?path to portcullisd}
  CTL=${CTL:?path to portcullisctl}
fi

# --- the case ------------------------------------------------------------------------------
# IDS: fqdn (gw1.ike.test / gw2.ike.test) or default (Portcullis gets no
# *_id keys: it names itself by its address with a PSK, by its
# certificate's subject DN with ECDSA; strongSwan is told the same).
IDS=fqdn P384=0 PROPOSAL_KEY=1
case $CASE in
  psk-* | ecdsa-*)
    AUTH=${CASE%%-*}
    SUITE=${CASE#*-}
    ;;
  negative) AUTH=mixed SUITE=prime ;;
  "") usage >&2; exit 2 ;;
  *) echo "ike_interop.sh: unknown case \"$CASE\"" >&2; usage >&2; exit 2 ;;
esac
case $SUITE in
  prime)
    # The profile's default: Portcullis gets no proposal key.
    PROFILE=prime ALLOW=() PROPOSAL_KEY=0
    IKE_PROP=aes128gcm16-prfsha256-ecp256 ESP=aes128gcm16 SW_ESP=aes128gcm16-ecp256-noesn
    SW_IKE_ALGS=AES_GCM_16-128/PRF_HMAC_SHA2_256/ECP_256 SW_ESP_ALGS=ESP:AES_GCM_16-128
    ;;
  prime256)
    PROFILE=prime-256 ALLOW=() P384=1
    IKE_PROP=aes256gcm16-prfsha384-ecp384 ESP=aes256gcm16 SW_ESP=aes256gcm16-ecp384-noesn
    SW_IKE_ALGS=AES_GCM_16-256/PRF_HMAC_SHA2_384/ECP_384 SW_ESP_ALGS=ESP:AES_GCM_16-256
    ;;
  chacha)
    PROFILE=prime ALLOW=(chacha20poly1305 curve25519) IDS=default
    IKE_PROP=chacha20poly1305-prfsha256-curve25519 ESP=chacha20poly1305 SW_ESP=chacha20poly1305-curve25519-noesn
    SW_IKE_ALGS=CHACHA20_POLY1305/PRF_HMAC_SHA2_256/CURVE_25519 SW_ESP_ALGS=ESP:CHACHA20_POLY1305
    ;;
  *) echo "ike_interop.sh: unknown suite in \"$CASE\"" >&2; exit 2 ;;
esac
# strongSwan 5.9's libipsec has no ESN: Portcullis must say esn = false.
ALLOW+=(noesn)
[[ $AUTH == psk || $AUTH == mixed ]] && ALLOW+=(psk)
# Rekeys: psk-prime in the phase where Portcullis initiated the IKE SA,
# ecdsa-prime where it responded, so that the two cover every pairing of
# original role and rekey initiator; --rekey asks for them in every phase.
case $REKEY:$CASE in
  1:*) REKEY_PHASES="initiator responder" ;;
  0:*) REKEY_PHASES="" ;;
  :psk-prime) REKEY_PHASES=initiator ;;
  :ecdsa-prime) REKEY_PHASES=responder ;;
  *) REKEY_PHASES="" ;;
esac

# --- set-up and tear-down ------------------------------------------------------------------
TOPO=pci$$
TOPO_DIR=$(mktemp -d /tmp/pc-ike.XXXXXX)
# shellcheck source=../../../scripts/lib/topology.sh
source "$SRC/scripts/lib/topology.sh"
# shellcheck source=strongswan.sh
source "$SRC/tests/interop/ike/strongswan.sh"
passed=0
failed=0
declare -A pid

cleanup() {
  local p
  for p in "${!pid[@]}"; do kill "${pid[$p]}" 2>/dev/null; done
  topo_stop "${pid[@]}" 2>/dev/null
  topo_down
  if ((KEEP)); then echo "kept $TOPO_DIR"; else rm -rf "$TOPO_DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# spawn KEY FUNCTION ARGS...: run a starter that prints its pid (topo_dataplane,
# topo_daemon, sw_start) in this shell, not in $(...): the process is then
# our child, and bash reaps it as soon as it exits. An orphan would wait
# for init to reap it, and topo_stop would wait for that (seconds here).
spawn() {
  local key=$1
  shift
  "$@" >"$TOPO_DIR/spawn.pid"
  pid[$key]=$(<"$TOPO_DIR/spawn.pid")
}
ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() {  # check LABEL COMMAND...
  local label=$1
  shift
  if "$@"; then ok "$label"; else bad "$label"; fi
}
ctl() {  # portcullisctl against gw1's daemon; output kept for the secret grep
  "$CTL" --socket "$TOPO_DIR/gw1/portcullisd.sock" "$@" 2>&1 | tee -a "$TOPO_DIR/cli.out"
  return "${PIPESTATUS[0]}"
}
tail_logs() {  # after a failure: Portcullis's tunnels, the last lines of the logs
  local f
  if ((!SELF)) && [[ -S $TOPO_DIR/gw1/portcullisd.sock ]]; then
    echo "--- portcullisctl tunnel list"
    timeout 5 "$CTL" --socket "$TOPO_DIR/gw1/portcullisd.sock" tunnel list 2>&1 | tee -a "$TOPO_DIR/cli.out"
  fi
  for f in "$TOPO_DIR/gw1/portcullisd.log" "$TOPO_DIR/gw1/dataplane.log" "$TOPO_DIR/gw1/charon.log" "$TOPO_DIR/gw2/charon.log"; do
    [[ -s $f ]] || continue
    echo "--- last lines of ${f#"$TOPO_DIR"/}"
    tail -n 15 "$f" | cut -c1-240
  done
}

# --- credentials ------------------------------------------------------------------------------
# Lab CA with gw1 and gw2 (P-384 for prime-256), another CA with "evil".
pki_args=()
((P384)) && pki_args+=(--p384)
PKI_ORG="Portcullis interop"
bash "$SRC/scripts/ike-pki.sh" "${pki_args[@]}" --org "$PKI_ORG" "$TOPO_DIR/pki" \
  gw1:gw1.ike.test:192.0.2.1 gw2:gw2.ike.test:192.0.2.2 >"$TOPO_DIR/pki.out" 2>&1 || { cat "$TOPO_DIR/pki.out"; exit 1; }
if [[ $CASE == negative ]]; then
  bash "$SRC/scripts/ike-pki.sh" --org "Someone else" "$TOPO_DIR/pki-other" evil:evil.ike.test >>"$TOPO_DIR/pki.out" 2>&1 ||
    { cat "$TOPO_DIR/pki.out"; exit 1; }
fi
mkdir -m 700 "$TOPO_DIR/psk"
for k in good wrong; do
  (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TOPO_DIR/psk/$k.psk")
done
psk_hex() { cat "$TOPO_DIR/psk/$1.psk"; }

# --- strongSwan connections (gw2, and gw1 with --self-check) ----------------------------------------
# sw_conn key=value...: one swanctl connection with one child of the same
# name (a key given twice: the last one counts).
#   name laddr raddr lts rts auth(psk|pubkey) id rid cert cacert proposals esp start(none|start)
sw_conn() {
  local name laddr raddr lts rts auth id rid cert="" cacert="" proposals esp start=none
  local "$@"
  cat <<EOF
  $name {
    version = 2
    local_addrs = $laddr
    remote_addrs = $raddr
    proposals = $proposals
    # libipsec: ESP only in UDP 4500 (RFC 3948); forces NAT-T.
    encap = yes
    keyingtries = 1
    # The test rekeys by hand; none of its own, no DPD.
    rekey_time = 0
    reauth_time = 0
    dpd_delay = 0
    local {
      auth = $auth
      id = "$id"
EOF
  [[ -n $cert ]] && echo "      certs = $cert"
  cat <<EOF
    }
    remote {
      auth = $auth
      id = "$rid"
EOF
  [[ -n $cacert ]] && echo "      cacerts = $cacert"
  cat <<EOF
    }
    children {
      $name {
        local_ts = $lts
        remote_ts = $rts
        esp_proposals = $esp
        mode = tunnel
        rekey_time = 0
        start_action = $start
        dpd_action = none
        close_action = none
      }
    }
  }
EOF
}
# sw_secret NAME ID1 ID2 PSKNAME
sw_secret() {
  printf '  ike-%s {\n    id-1 = "%s"\n    id-2 = "%s"\n    secret = 0x%s\n  }\n' "$1" "$2" "$3" "$(psk_hex "$4")"
}
# sw_creds INSTANCE FILE...: certificates into x509/, keys into private/, the CA into x509ca/.
sw_creds() {
  local inst=$1 f
  shift
  for f in "$@"; do
    case $f in
      */ca.pem) cp "$f" "$TOPO_DIR/$inst/swanctl/x509ca/" ;;
      *.pem) cp "$f" "$TOPO_DIR/$inst/swanctl/x509/" ;;
      *.key) install -m 600 "$f" "$TOPO_DIR/$inst/swanctl/private/" ;;
    esac
  done
}

# --- Portcullis's config (gw1) ---------------------------------------------------------------------
# pc_tunnel key=value...: one [[tunnel]] with keying = "ikev2" (a key
# given twice: the last one counts).
#   name remote rts auth id rid cert key ca psk initiate enabled proposal
pc_tunnel() {
  local name remote rts auth id="" rid="" cert="" key="" ca="" psk="" initiate=true enabled=true proposal=""
  local "$@"
  cat <<EOF

[[tunnel]]
name = "$name"
enabled = $enabled
local = "192.0.2.1"
remote = "$remote"
local_ts = ["10.1.0.0/24"]
remote_ts = ["$rts"]
esp = "$ESP"
# strongSwan 5.9 (libipsec): no ESN, ESP only inside UDP 4500.
esn = false
udp_encap = true
keying = "ikev2"

[tunnel.ike]
auth = "$auth"
initiate = $initiate
EOF
  [[ -n $id ]] && echo "local_id = \"$id\""
  [[ -n $rid ]] && echo "remote_id = \"$rid\""
  [[ -n $proposal ]] && echo "proposal = \"$proposal\""
  if [[ $auth == psk ]]; then
    echo "psk_file = \"$psk\""
  else
    printf 'certificate = "%s"\nprivate_key = "%s"\nca = "%s"\n' "$cert" "$key" "$ca"
  fi
}
# pc_config TUNNELS_TEXT: TOPO_DIR/gw1/portcullis.toml from the demo's
# gw1.toml (daemon and ports, paths moved by topo_config), our crypto
# section, and the tunnels.
pc_config() {
  local f=$TOPO_DIR/gw1/portcullis.toml a allow=""
  topo_config gw1 "$SRC"
  sed -i -e '1,/^\[daemon\]/{/^\[daemon\]/!d}' -e '/^\[\[tunnel\]\]/,$d' -e '/^# No \[\[route\]\]/,$d' \
    -e '/^\[crypto\]/,/^$/d' -e 's/^log_level = .*/log_level = "debug"/' "$f"
  sed -i '1i # gw1 for tests/interop/ike/ike_interop.sh: daemon and ports from\n# config/examples/gw1.toml, IKEv2 tunnels to strongSwan.\n' "$f"
  for a in "${ALLOW[@]}"; do allow+="${allow:+, }\"$a\""; done
  printf '\n[crypto]\nprofile = "%s"\nallow = [%s]\n' "$PROFILE" "$allow" >>"$f"
  printf '%s\n' "$1" >>"$f"
}

# --- gw1, either backend -----------------------------------------------------------------------------
# gw1_start: Portcullis (fresh state) or charon with TOPO_DIR/gw1/swanctl.
gw1_start() {
  if ((SELF)); then
    spawn gw1 sw_start gw1 gw1
    sw_wait gw1 && sw_load gw1 && return 0
    bad "gw1: charon did not start"; tail_logs; return 1
  fi
  rm -rf "$TOPO_DIR/gw1/state"
  if ! "$DAEMON" --check "$TOPO_DIR/gw1/portcullis.toml" >"$TOPO_DIR/gw1/check.out" 2>&1; then
    bad "gw1: portcullisd --check refuses the generated config"
    cat "$TOPO_DIR/gw1/check.out"
    return 1
  fi
  # Other DPDK processes on the machine can leave the data plane short of
  # hugepage memory for its tables; that is the machine, not IKE: say so
  # and try again, up to three times.
  local off end
  for _ in 1 2 3; do
    off=$(($(stat -c %s "$TOPO_DIR/gw1/portcullisd.log" 2>/dev/null || echo 0) + 1))
    spawn dp topo_dataplane gw1 "$DATAPLANE"
    spawn pcd topo_daemon gw1 "$DAEMON"
    if ! topo_wait_socket "$TOPO_DIR/gw1/dataplane.sock" 200 || ! topo_wait_socket "$TOPO_DIR/gw1/portcullisd.sock"; then
      bad "gw1: portcullis-dataplane or portcullisd did not start"
      tail_logs
      return 1
    fi
    end=$(deadline 5)
    while ahead "$end" && ! tail -c +"$off" "$TOPO_DIR/gw1/portcullisd.log" | grep -q "connected to the data plane"; do sleep 0.1; done
    sleep 0.2
    tail -c +"$off" "$TOPO_DIR/gw1/portcullisd.log" | grep -q "Cannot allocate memory" || return 0
    echo "   (gw1's data plane is short of hugepage memory, $(awk '/HugePages_Free/ { print $2 }' /proc/meminfo) pages free: other DPDK processes; starting it again)"
    gw1_stop
    sleep 2
  done
  bad "gw1: the data plane found no hugepage memory for its tables three times (see HugePages_Free in /proc/meminfo)"
  return 1
}
gw1_stop() {
  local p
  for p in gw1 pcd dp; do
    [[ -n ${pid[$p]:-} ]] || continue
    topo_stop "${pid[$p]}"
    unset "pid[$p]"
  done
  # A socket left by a killed process must not pass for the next one.
  rm -f "$TOPO_DIR/gw1/dataplane.sock" "$TOPO_DIR/gw1/portcullisd.sock" "$TOPO_DIR/gw1/charon.vici"
}
gw1_log() { if ((SELF)); then echo "$TOPO_DIR/gw1/charon.log"; else echo "$TOPO_DIR/gw1/portcullisd.log"; fi; }
gw1_up() {  # gw1_up TUNNEL
  if ((SELF)); then sw_up gw1 "$1" "$1"; return; fi
  local s
  s=$(ctl --json tunnel list 2>/dev/null | jq -r --arg n "$1" '.[] | select(.name == $n) | .state' 2>/dev/null)
  [[ $s =~ $PC_UP_STATES ]]
}
gw1_spis() {  # gw1_spis TUNNEL: "OUT IN", 8 lower-case hex digits each
  if ((SELF)); then
    sw_state gw1 "$1" | awk '{ print $4, $3 }'
    return
  fi
  ctl --json tunnel list 2>/dev/null | jq -r --arg n "$1" '.[] | select(.name == $n) | "\(.spi_out) \(.spi_in)"' 2>/dev/null |
    tr 'A-F' 'a-f' | sed 's/0x//g'
}
gw1_rekey() {  # gw1_rekey child|ike TUNNEL
  if ((SELF)); then sw_ctl gw1 --rekey "--$1" "$2" >/dev/null 2>&1; return; fi
  if [[ $1 == child ]]; then pc_rekey_child "$2" >/dev/null; else pc_rekey_ike "$2" >/dev/null; fi
}
gw1_enable() {  # gw1_enable TUNNEL: a disabled tunnel starts (and initiates)
  if ((SELF)); then
    sw_initiate_bg gw1 "$1" "$NEG_TIMEOUT" "$TOPO_DIR/gw1/initiate-$1.out"
    pid[init_$1]=$SW_BG_PID
    return 0
  fi
  ctl tunnel up "$1" >/dev/null
}
gw1_disable() {
  if ((SELF)); then sw_ctl gw1 --terminate --ike "$1" --force >/dev/null 2>&1; return 0; fi
  ctl tunnel down "$1" >/dev/null
}

# --- checks ------------------------------------------------------------------------------------------
ping_ok() {  # ping_ok FROM DEST COUNT INTERVAL; on loss, says which were answered
  # -w (a deadline) as well as -c: without it ping stops waiting for the
  # last replies after max(2 RTT, interval), less than a loaded veth and
  # data plane may hold them, and counts them lost.
  local deadline
  deadline=$(awk -v c="$3" -v i="$4" 'BEGIN { printf "%d", c * i + 3 }')
  topo_ns "$1" ping -c "$3" -i "$4" -W 1 -w "$deadline" "$2" >"$TOPO_DIR/ping" 2>&1 && grep -q " 0% packet loss" "$TOPO_DIR/ping" && return 0
  echo "   $(grep -o '[0-9]* packets transmitted, [0-9]* received' "$TOPO_DIR/ping"); answered icmp_seq:" \
    "$(grep -o 'icmp_seq=[0-9]*' "$TOPO_DIR/ping" | cut -d= -f2 | tr '\n' ' ')"
  return 1
}
warm() {  # the first packets may wait for ARP on either gateway
  topo_ns hA ping -c 3 -i 0.2 -W 1 10.2.0.2 >/dev/null 2>&1
  topo_ns hB ping -c 3 -i 0.2 -W 1 10.1.0.2 >/dev/null 2>&1
}
# deadline SECONDS: that time from now; ahead DEADLINE: not reached yet (polls that
# run commands take longer than their sleeps).
deadline() { echo $((${EPOCHREALTIME/./} + $1 * 1000000)); }
ahead() { ((${EPOCHREALTIME/./} < $1)); }
clock() { printf '%(%H:%M:%S)T.%s' "${1%.*}" "$(cut -c1-3 <<<"${1#*.}")"; }  # clock EPOCHREALTIME
# lost_report PINGOUT COUNT INTERVAL T0: which echo requests went unanswered,
# as icmp_seq ranges with the time each range was sent (ping started at T0),
# to compare with the gateways' logs.
lost_report() {
  local seq first=0 prev=0 ranges="" t
  local -A got=()
  while read -r seq; do got[$seq]=1; done < <(grep -o 'icmp_seq=[0-9]*' "$1" | cut -d= -f2)
  for ((seq = 1; seq <= $2 + 1; seq++)); do
    if ((seq <= $2)) && [[ -z ${got[$seq]:-} ]]; then
      ((first)) || first=$seq
      prev=$seq
    elif ((first)); then
      t=$(awk -v t0="$4" -v i="$3" -v s="$first" 'BEGIN { printf "%.3f", t0 + (s - 1) * i }')
      ranges+=" $first-$prev (from $(clock "$t"))"
      first=0
    fi
  done
  echo "   unanswered icmp_seq:${ranges:- none}"
}
wait_up() {  # wait_up TUNNEL SECONDS: both sides up
  local end
  end=$(deadline "$2")
  while ahead "$end"; do
    gw1_up "$1" && sw_up gw2 "$1" "$1" && return 0
    sleep 0.1
  done
  return 1
}
spis_agree() {  # spis_agree TUNNEL: gw1's outbound SPI is gw2's inbound and back
  local o i s
  read -r o i < <(gw1_spis "$1")
  s=$(sw_state gw2 "$1")
  [[ -n $o && $o == "$(awk '{ print $3 }' <<<"$s")" && $i == "$(awk '{ print $4 }' <<<"$s")" ]]
}
iperf_ok() {
  ip netns exec "$TOPO-hB" iperf3 -s -1 >"$TOPO_DIR/iperf-s.out" 2>&1 &
  pid[iperf]=$!
  local i rate
  for ((i = 0; i < 30; i++)); do
    topo_ns hB ss -ltn 2>/dev/null | grep -q ':5201 ' && break
    sleep 0.1
  done
  topo_ns hA timeout 20 iperf3 -c 10.2.0.2 -t 2 -J >"$TOPO_DIR/iperf.json" 2>&1
  wait "${pid[iperf]}" 2>/dev/null
  unset "pid[iperf]"
  rate=$(jq -r '.end.sum_received.bits_per_second // 0 | floor' "$TOPO_DIR/iperf.json" 2>/dev/null)
  IPERF_RATE="$((${rate:-0} / 1000000)) Mbit/s"
  ((${rate:-0} > 0))
}

# rekey_check TUNNEL WHO(gw1|gw2) KIND(child|ike): rekey while pinging
# every 0.05 s for 3 s; no ping lost, the SPIs changed, both sides agree.
rekey_check() {
  local t=$1 who=$2 kind=$3 before after changed=0 label
  label="$kind SA rekey started by $who ($([[ $who == gw1 ]] && gw1_name || echo strongSwan))"
  before=$(sw_state gw2 "$t")
  # Not through topo_ns: $! must be ping itself, to wait for or stop it.
  local t0=$EPOCHREALTIME t1
  ip netns exec "$TOPO-hA" ping -c 60 -i 0.05 -W 1 -w 6 10.2.0.2 >"$TOPO_DIR/ping-rekey" 2>&1 &
  pid[pinger]=$!
  sleep 0.5
  t1=$EPOCHREALTIME
  if [[ $who == gw1 ]]; then
    gw1_rekey "$kind" "$t" || echo "   ($label: the command failed)"
  else
    sw_ctl gw2 --rekey "--$kind" "$t" >/dev/null 2>&1 || echo "   ($label: swanctl --rekey failed)"
  fi
  local end
  end=$(deadline 5)
  while ahead "$end"; do
    after=$(sw_state gw2 "$t")
    if [[ $kind == child ]]; then
      [[ $(cut -d' ' -f3 <<<"$after") != "$(cut -d' ' -f3 <<<"$before")" && -n $(cut -d' ' -f3 <<<"$after") ]] && changed=1
    else
      [[ $(cut -d' ' -f1 <<<"$after") != "$(cut -d' ' -f1 <<<"$before")" && -n $(cut -d' ' -f1 <<<"$after") ]] && changed=1
    fi
    ((changed)) && break
    sleep 0.1
  done
  wait "${pid[pinger]}"
  unset "pid[pinger]"
  local loss
  loss=$(grep -o '[0-9.]*% packet loss' "$TOPO_DIR/ping-rekey")
  if ((changed)) && [[ $loss == "0% packet loss" ]]; then
    ok "$label: new SPIs, 60 pings at 0.05 s, none lost"
  else
    bad "$label: SPIs changed=$changed, ${loss:-no ping output}"
    lost_report "$TOPO_DIR/ping-rekey" 60 0.05 "$t0"
    echo "   the rekey was asked for at $(clock "$t1")"
    echo "   before: $before"
    echo "   after:  $(sw_state gw2 "$t")"
  fi
  # The old SAs go after a grace period; then both sides name the same pair.
  end=$(deadline 5)
  while ahead "$end"; do spis_agree "$t" && break; sleep 0.1; done
  check "after the $kind rekey by $who: both sides use the same Child SA pair" spis_agree "$t"
  check "after the $kind rekey by $who: the tunnel is up on both sides" wait_up "$t" 3
}
gw1_name() { if ((SELF)); then echo "strongSwan"; else echo "Portcullis"; fi; }

# --- the topology --------------------------------------------------------------------------------------
topo_up
sw_net gw2 g2u 192.0.2.2/24 g2p 10.2.0.1/24
if ((SELF)); then sw_net gw1 g1u 192.0.2.1/24 g1p 10.1.0.1/24; else mkdir -p "$TOPO_DIR/gw1"; fi
sw_init gw2
((SELF)) && sw_init gw1
# The ids each side uses and expects (fqdn, or the addresses by default).
if [[ $IDS == fqdn ]]; then
  id1=gw1.ike.test id2=gw2.ike.test
elif [[ $AUTH == psk ]]; then
  id1=192.0.2.1 id2=192.0.2.2
else
  id1="O=$PKI_ORG, CN=gw1" id2="O=$PKI_ORG, CN=gw2"
fi

# --- a positive case ---------------------------------------------------------------------------------
positive() {
  local T=interop sw_auth swc phase
  sw_auth=$([[ $AUTH == psk ]] && echo psk || echo pubkey)
  # gw2 (strongSwan): one connection that answers or initiates.
  swc=(name=$T laddr=192.0.2.2 raddr=192.0.2.1 lts=10.2.0.0/24 rts=10.1.0.0/24 auth=$sw_auth
    id="$id2" rid="$id1" proposals=$IKE_PROP esp=$SW_ESP)
  [[ $AUTH == ecdsa ]] && swc+=(cert=gw2.pem cacert=ca.pem)
  {
    echo "connections {"
    sw_conn "${swc[@]}"
    echo "}"
    if [[ $AUTH == psk ]]; then echo "secrets {"; sw_secret $T "$id1" "$id2" good; echo "}"; fi
  } >"$TOPO_DIR/gw2/swanctl/swanctl.conf"
  [[ $AUTH == ecdsa ]] && sw_creds gw2 "$TOPO_DIR/pki/gw2.pem" "$TOPO_DIR/pki/gw2.key" "$TOPO_DIR/pki/ca.pem"
  spawn gw2 sw_start gw2 gw2
  if ! sw_wait gw2 || ! sw_load gw2; then
    bad "gw2: charon did not start or refused its config"; cat "$TOPO_DIR/gw2/load.out"; tail_logs; return
  fi
  ((SELF)) && [[ $AUTH == ecdsa ]] && sw_creds gw1 "$TOPO_DIR/pki/gw1.pem" "$TOPO_DIR/pki/gw1.key" "$TOPO_DIR/pki/ca.pem"

  local roles=(initiator responder)
  [[ $ROLE != both ]] && roles=("$ROLE")
  for phase in "${roles[@]}"; do
    echo "== $CASE: $(gw1_name) as IKE $phase"
    local init=true
    [[ $phase == responder ]] && init=false
    if ((SELF)); then
      local c1=(name=$T laddr=192.0.2.1 raddr=192.0.2.2 lts=10.1.0.0/24 rts=10.2.0.0/24 auth=$sw_auth
        id="$id1" rid="$id2" proposals=$IKE_PROP esp=$SW_ESP start=$([[ $init == true ]] && echo start || echo none))
      [[ $AUTH == ecdsa ]] && c1+=(cert=gw1.pem cacert=ca.pem)
      {
        echo "connections {"
        sw_conn "${c1[@]}"
        echo "}"
        if [[ $AUTH == psk ]]; then echo "secrets {"; sw_secret $T "$id1" "$id2" good; echo "}"; fi
      } >"$TOPO_DIR/gw1/swanctl/swanctl.conf"
    else
      local pt=(name=$T remote=192.0.2.2 rts=10.2.0.0/24 auth=$AUTH initiate=$init)
      [[ $IDS == fqdn ]] && pt+=(id="$id1" rid="$id2")
      ((PROPOSAL_KEY)) && pt+=(proposal=$IKE_PROP)
      if [[ $AUTH == psk ]]; then pt+=(psk="$TOPO_DIR/psk/good.psk"); else
        pt+=(cert="$TOPO_DIR/pki/gw1.pem" key="$TOPO_DIR/pki/gw1.key" ca="$TOPO_DIR/pki/ca.pem")
      fi
      pc_config "$(pc_tunnel "${pt[@]}")"
    fi
    gw1_start || return
    if [[ $phase == responder ]]; then
      sw_initiate_bg gw2 $T "$UP_TIMEOUT" "$TOPO_DIR/gw2/initiate.out"
      pid[initiate]=$SW_BG_PID
    fi
    if wait_up $T "$UP_TIMEOUT"; then
      ok "tunnel up on both sides ($(gw1_name) $phase, $AUTH, $IKE_PROP)"
      local s
      s=$(sw_state gw2 $T)
      check "strongSwan negotiated $SW_IKE_ALGS, $SW_ESP_ALGS in UDP ($(cut -d' ' -f5- <<<"$s"))" \
        test "$(cut -d' ' -f5- <<<"$s")" = "$SW_IKE_ALGS TUNNEL-in-UDP $SW_ESP_ALGS"
      check "Child SA SPIs match: gw1 out/in $(gw1_spis $T | tr ' ' /), strongSwan in/out $(cut -d' ' -f3,4 <<<"$s" | tr ' ' /)" \
        spis_agree $T
      warm
      check "ping hA -> hB through the tunnel, no loss" ping_ok hA 10.2.0.2 10 0.1
      check "ping hB -> hA through the tunnel, no loss" ping_ok hB 10.1.0.2 10 0.1
      if iperf_ok; then ok "iperf3 hA -> hB for 2 s: $IPERF_RATE"; else bad "iperf3 hA -> hB"; tail -5 "$TOPO_DIR/iperf.json"; fi
      if [[ " $REKEY_PHASES " == *" $phase "* ]]; then
        rekey_check $T gw2 child
        rekey_check $T gw1 child
        rekey_check $T gw2 ike
        rekey_check $T gw1 ike
        check "ping after the rekeys, no loss" ping_ok hA 10.2.0.2 10 0.1
      fi
    else
      bad "tunnel did not come up within $UP_TIMEOUT s ($(gw1_name) $phase, $AUTH, $IKE_PROP)"
      [[ $phase == responder ]] && { wait "${pid[initiate]}" 2>/dev/null; tail -3 "$TOPO_DIR/gw2/initiate.out"; }
      tail_logs
    fi
    if [[ -n ${pid[initiate]:-} ]]; then kill "${pid[initiate]}" 2>/dev/null; wait "${pid[initiate]}" 2>/dev/null; unset "pid[initiate]"; fi
    gw1_stop
    sw_ctl gw2 --terminate --ike $T --force --timeout 2 >/dev/null 2>&1
  done
}

# --- the negative case --------------------------------------------------------------------------------
# One good tunnel (ECDSA, gw2 at 192.0.2.2) stays up with a ping running
# while strongSwan, at extra addresses, tries six bad ones:
#   name          sw addr  initiator  what is wrong
#   bad-psk-in    .3       strongSwan its PSK differs from Portcullis's
#   bad-psk-out   .4       Portcullis strongSwan's PSK differs
#   bad-cert-in   .5       strongSwan its certificate is from another CA
#   bad-cert-out  .6       Portcullis strongSwan answers with that certificate
#   bad-prop-in   .7       strongSwan it offers only aes256gcm16-prfsha384-ecp384 (not in PRIME)
#   bad-prop-out  .8       Portcullis strongSwan accepts only that
# Portcullis's -out tunnels start disabled, and `tunnel up` starts each in
# turn, so every log line can be attributed to its attempt.
negative() {
  local -A addr=([bad-psk-in]=3 [bad-psk-out]=4 [bad-cert-in]=5 [bad-cert-out]=6 [bad-prop-in]=7 [bad-prop-out]=8)
  local n sw2="" pc="" self1="" secrets2="" secrets1="" a
  for n in "${!addr[@]}"; do topo_ns gw2 ip addr add "192.0.2.${addr[$n]}/24" dev g2u; done
  # gw2: the good connection and the bad ones.
  sw2+=$(sw_conn name=good laddr=192.0.2.2 raddr=192.0.2.1 lts=10.2.0.0/24 rts=10.1.0.0/24 auth=pubkey \
    id=gw2.ike.test rid=gw1.ike.test cert=gw2.pem cacert=ca.pem proposals=$IKE_PROP esp=$SW_ESP)$'\n'
  for n in bad-psk-in bad-psk-out bad-cert-in bad-cert-out bad-prop-in bad-prop-out; do
    a=192.0.2.${addr[$n]}
    local c=(name=$n laddr=$a raddr=192.0.2.1 lts=10.${addr[$n]}.0.0/24 rts=10.1.0.0/24 id=$n.ike.test rid=gw1.ike.test
      proposals=$IKE_PROP esp=$SW_ESP auth=psk)
    case $n in
      # gw2 holds no PSK that Portcullis has: charon tries every shared
      # key that matches either identity, so one good key for gw1.ike.test
      # anywhere would let bad-psk-out through. bad-prop-* fail before AUTH.
      bad-psk-* | bad-prop-*) secrets2+=$(sw_secret "$n" "$n.ike.test" gw1.ike.test wrong)$'\n' ;;&
      bad-cert-*) c+=(id=evil.ike.test auth=pubkey cert=evil.pem cacert=ca.pem) ;;
      bad-prop-*) c+=(proposals=aes256gcm16-prfsha384-ecp384 esp=aes256gcm16-ecp384-noesn) ;;
    esac
    sw2+=$(sw_conn "${c[@]}")$'\n'
  done
  printf 'connections {\n%s}\nsecrets {\n%s}\n' "$sw2" "$secrets2" >"$TOPO_DIR/gw2/swanctl/swanctl.conf"
  sw_creds gw2 "$TOPO_DIR/pki/gw2.pem" "$TOPO_DIR/pki/gw2.key" "$TOPO_DIR/pki/ca.pem" \
    "$TOPO_DIR/pki-other/evil.pem" "$TOPO_DIR/pki-other/evil.key"
  spawn gw2 sw_start gw2 gw2
  if ! sw_wait gw2 || ! sw_load gw2; then
    bad "gw2: charon did not start or refused its config"; cat "$TOPO_DIR/gw2/load.out"; tail_logs; return
  fi

  # gw1: the same tunnels from Portcullis's side (or a charon's).
  if ((SELF)); then
    self1+=$(sw_conn name=good laddr=192.0.2.1 raddr=192.0.2.2 lts=10.1.0.0/24 rts=10.2.0.0/24 auth=pubkey \
      id=gw1.ike.test rid=gw2.ike.test cert=gw1.pem cacert=ca.pem proposals=$IKE_PROP esp=$SW_ESP start=start)$'\n'
    for n in bad-psk-in bad-psk-out bad-cert-in bad-cert-out bad-prop-in bad-prop-out; do
      local c=(name=$n laddr=192.0.2.1 raddr=192.0.2.${addr[$n]} lts=10.1.0.0/24 rts=10.${addr[$n]}.0.0/24
        id=gw1.ike.test rid=$n.ike.test proposals=$IKE_PROP esp=$SW_ESP auth=psk)
      case $n in
        bad-cert-*) c+=(rid=evil.ike.test auth=pubkey cert=gw1.pem cacert=ca.pem) ;;
        *) secrets1+=$(sw_secret "$n" "$n.ike.test" gw1.ike.test good)$'\n' ;;
      esac
      self1+=$(sw_conn "${c[@]}")$'\n'
    done
    printf 'connections {\n%s}\nsecrets {\n%s}\n' "$self1" "$secrets1" >"$TOPO_DIR/gw1/swanctl/swanctl.conf"
    sw_creds gw1 "$TOPO_DIR/pki/gw1.pem" "$TOPO_DIR/pki/gw1.key" "$TOPO_DIR/pki/ca.pem"
  else
    local k="$TOPO_DIR/pki"
    pc+=$(pc_tunnel name=good remote=192.0.2.2 rts=10.2.0.0/24 auth=ecdsa id=gw1.ike.test rid=gw2.ike.test \
      cert="$k/gw1.pem" key="$k/gw1.key" ca="$k/ca.pem")
    for n in bad-psk-in bad-psk-out bad-cert-in bad-cert-out bad-prop-in bad-prop-out; do
      local t=(name=$n remote=192.0.2.${addr[$n]} rts=10.${addr[$n]}.0.0/24 id=gw1.ike.test rid=$n.ike.test)
      [[ $n == *-in ]] && t+=(initiate=false) || t+=(initiate=true enabled=false)
      case $n in
        bad-cert-*) t+=(auth=ecdsa rid=evil.ike.test cert="$k/gw1.pem" key="$k/gw1.key" ca="$k/ca.pem") ;;
        *) t+=(auth=psk psk="$TOPO_DIR/psk/good.psk") ;;
      esac
      pc+=$(pc_tunnel "${t[@]}")
    done
    pc_config "$pc"
  fi
  gw1_start || return
  if ! wait_up good "$UP_TIMEOUT"; then
    bad "the good tunnel did not come up within $UP_TIMEOUT s"
    tail_logs
  else
    ok "the good tunnel is up (ECDSA, $IKE_PROP)"
    warm
  fi
  local good_before
  good_before=$(sw_state gw2 good)
  ip netns exec "$TOPO-hA" ping -i 0.1 -W 1 10.2.0.2 >"$TOPO_DIR/ping-good" 2>&1 &
  pid[pinger]=$!

  local log pat who
  log=$(gw1_log)
  for n in bad-psk-in bad-psk-out bad-cert-in bad-cert-out bad-prop-in bad-prop-out; do
    a=192.0.2.${addr[$n]}
    case $n in
      bad-psk-*) pat=$([[ $SELF == 1 ]] && echo "$SW_LOG_BAD_PSK" || echo "$PC_LOG_BAD_PSK") ;;
      bad-cert-*) pat=$([[ $SELF == 1 ]] && echo "$SW_LOG_BAD_CERT" || echo "$PC_LOG_BAD_CERT") ;;
      bad-prop-*) pat=$([[ $SELF == 1 ]] && echo "$SW_LOG_BAD_PROPOSAL" || echo "$PC_LOG_BAD_PROPOSAL") ;;
    esac
    who=$([[ $n == *-in ]] && echo "gw2 strongSwan initiates" || echo "gw1 $(gw1_name) initiates")
    local off found=0 up=0
    off=$(($(stat -c %s "$log" 2>/dev/null || echo 0) + 1))
    if [[ $n == *-in ]]; then
      sw_initiate_bg gw2 "$n" "$NEG_TIMEOUT" "$TOPO_DIR/gw2/initiate-$n.out"
      pid[initiate]=$SW_BG_PID
    else
      gw1_enable "$n"
    fi
    local end
    end=$(deadline "$NEG_TIMEOUT")
    while ahead "$end"; do
      if tail -c +"$off" "$log" 2>/dev/null | grep -Ei -- "$pat" | { ((PC_LOG_NEEDS_WHO && !SELF)) && grep -F -e "$n" -e "$a" || cat; } | grep -q .; then
        found=1
        break
      fi
      sleep 0.1
    done
    sleep 1  # time for a wrong success to show
    gw1_up "$n" && up=1
    sw_up gw2 "$n" "$n" && up=1
    if ((up)); then bad "$n ($who): the tunnel came up"; else ok "$n ($who): the tunnel did not come up"; fi
    if ((found)); then
      ok "$n: $(gw1_name)'s log says why: $(tail -c +"$off" "$log" | grep -Ei -m1 -- "$pat" | cut -c1-200)"
    else
      bad "$n: nothing in $(gw1_name)'s log matches /$pat/$([[ $PC_LOG_NEEDS_WHO == 1 && $SELF == 0 ]] && echo " with \"$n\" or $a")"
      echo "   its log since the attempt:"
      tail -c +"$off" "$log" 2>/dev/null | tail -n 8 | cut -c1-240 | sed 's/^/   /'
    fi
    if [[ $n == *-in ]]; then
      kill "${pid[initiate]}" 2>/dev/null; wait "${pid[initiate]}" 2>/dev/null; unset "pid[initiate]"
    else
      gw1_disable "$n"
      if [[ -n ${pid[init_$n]:-} ]]; then kill "${pid[init_$n]}" 2>/dev/null; wait "${pid[init_$n]}" 2>/dev/null; unset "pid[init_$n]"; fi
    fi
    sw_ctl gw2 --terminate --ike "$n" --force --timeout 2 >/dev/null 2>&1
  done

  kill -INT "${pid[pinger]}" 2>/dev/null
  wait "${pid[pinger]}" 2>/dev/null
  unset "pid[pinger]"
  local tx rx
  tx=$(grep -o '[0-9]* packets transmitted' "$TOPO_DIR/ping-good" | cut -d' ' -f1)
  rx=$(grep -o '[0-9]* received' "$TOPO_DIR/ping-good" | cut -d' ' -f1)
  # The last ping may still be in flight when ping is stopped.
  if ((${tx:-0} > 50 && ${rx:-0} >= ${tx:-0} - 1)); then
    ok "the good tunnel kept working through the six refusals: $rx of $tx pings answered"
  else
    bad "the good tunnel during the refusals: ${rx:-0} of ${tx:-0} pings answered"
  fi
  check "the good tunnel kept its SAs (IKE and Child SPIs unchanged)" \
    test -n "$good_before" -a "$(sw_state gw2 good)" = "$good_before"
  check "the good tunnel is still up on both sides" wait_up good 2
  gw1_stop
}

if [[ $CASE == negative ]]; then negative; else positive; fi

# --- secrets never shown -----------------------------------------------------------------------------
leaks=0
for k in good wrong; do
  hex=$(psk_hex $k)
  for f in "$TOPO_DIR"/gw1/*.log "$TOPO_DIR"/gw1/*.out "$TOPO_DIR"/gw2/*.log "$TOPO_DIR"/gw2/*.out "$TOPO_DIR/cli.out"; do
    [[ -f $f ]] || continue
    if grep -qi -e "${hex:0:16}" -e "${hex:16:16}" -e "${hex:32:16}" -e "${hex:48:16}" "$f"; then
      leaks=$((leaks + 1))
      echo "PSK bytes in ${f#"$TOPO_DIR"/}"
    fi
  done
done
check "no PSK bytes in any log or CLI output" test "$leaks" = 0

echo "$passed passed, $failed failed"
((failed == 0))
