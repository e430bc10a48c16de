#!/usr/bin/env bash
# e2e_ike.sh: IKEv2 end to end. Two gateways in network namespaces
# (scripts/lib/topology.sh), each a portcullis-dataplane driven by a
# portcullisd whose tunnel (config/examples/gwN.toml) uses keying = "ikev2";
# gw1 initiates, gw2 waits. Checks, in order:
#   1. PSK, PRIME: the tunnel comes up on both sides within seconds, one
#      IKE SA each (aes128gcm16-prfsha256-ecp256, initiator/responder);
#      ping both ways, IPv4 and IPv6;
#   2. the WAN carries only IKE and ESP, and the ESP SPIs on the wire are
#      the Child SA's of `tunnel show`;
#   3. Child SA and IKE SA rekeys from both sides under a 20 pps ping: no
#      ping lost, new SPIs, the old SAs gone from the data plane after
#      the grace period;
#   4. ECDSA certificates from scripts/ike-pki.sh (P-256 with FQDN
#      identities, then P-384 with DN identities and profile prime-256),
#      switched to by `portcullisctl config reload`;
#   5. a wrong PSK: no tunnel, both logs say why; fixed by a reload;
#   6. kill -9 of gw1's portcullisd under traffic: the installed SAs carry
#      on; the restarted daemon negotiates a new IKE SA (INITIAL_CONTACT)
#      and removes the pair its predecessor left;
#   7. kill -9 of gw2's data plane: renegotiated, ping within 15 s.
# No secret (PSK, private key) is printed; the last check greps for it.
# Needs root, tcpdump, jq and openssl. KEEP=1 keeps the logs and captures
# in the /tmp/pc-e2e-ike.* directory; NO_HUGE=1 runs the data planes
# without hugepages (also done when fewer than 150 are free).
# Prints "N passed, M failed"; exits non-zero on failure.
set -uo pipefail

DATAPLANE=${DATAPLANE:?path to portcullis-dataplane}
DAEMON=${DAEMON:?path to portcullisd}
CTL=${CTL:?path to portcullisctl}
DPCHAN=${DPCHAN:?path to dpchan}
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
TOPO=pce$$
TOPO_DIR=$(mktemp -d /tmp/pc-e2e-ike.XXXXXX)
# shellcheck source=../../scripts/lib/topology.sh
source "$SRC/scripts/lib/topology.sh"
passed=0
failed=0
declare -A pid
declare -A tun=([gw1]=gw1-gw2 [gw2]=gw2-gw1)
t_start=$(date +%s)

cleanup() {
  local p
  for p in "${bg[@]:-}"; do [[ -n $p ]] && kill "$p" 2>/dev/null; done
  topo_stop "${pid[@]}" 2>/dev/null
  topo_down
  if [[ -n ${KEEP:-} ]]; then echo "kept $TOPO_DIR"; else rm -rf "$TOPO_DIR"; fi
}
bg=()
trap cleanup EXIT INT TERM

ok() { echo "ok: $*"; passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() {  # check LABEL COMMAND...
  local label=$1
  shift
  if "$@"; then ok "$label"; else bad "$label"; fi
}
ctl() {  # ctl GW ARGS...: portcullisctl against GW's daemon, output kept for the secret grep
  local gw=$1
  shift
  "$CTL" --socket "$TOPO_DIR/$gw/portcullisd.sock" "$@" 2>&1 | tee -a "$TOPO_DIR/cli.out"
  return "${PIPESTATUS[0]}"
}
j() { local gw=$1; shift; ctl "$gw" --json "$@"; }
# Pings run with a deadline (-w) rather than -W: with -c alone ping stops
# waiting max(2 RTT, interval) after its last request, and on a loaded
# machine a veth can hold a packet longer than that.
ping_ok() {  # ping_ok FROM DEST COUNT INTERVAL; says what was lost
  topo_ns "$1" ping -c "$3" -i "$4" -w "$(deadline "$3" "$4")" "$2" >"$TOPO_DIR/ping" 2>&1 && grep -q " 0% packet loss" "$TOPO_DIR/ping" && return 0
  echo "  ping $1 -> $2: $(grep -E 'transmitted|rror' "$TOPO_DIR/ping" | head -2 | tr '\n' ' ')$(lost_seqs "$TOPO_DIR/ping" "$3")"
  drops
  return 1
}
drops() {  # the data planes' drop counters that are not zero
  local gw
  for gw in gw1 gw2; do
    echo "  $gw drops: $("$DPCHAN" "$TOPO_DIR/$gw/dataplane.sock" <<<'stats drop.' 2>&1 | awk '$2 != 0 {printf "%s=%s ", $1, $2}')"
  done
}
deadline() { awk -v c="$1" -v i="$2" 'BEGIN { print int(c * i) + 4 }'; }
lost_seqs() {  # lost_seqs PINGLOG COUNT: the icmp_seq numbers without an answer
  local s missing=()
  for ((s = 1; s <= $2; s++)); do grep -q "icmp_seq=$s " "$1" || missing+=("$s"); done
  ((${#missing[@]})) && echo "(no answer to icmp_seq ${missing[*]})"
}
ping_both() {  # IPv4 and IPv6, each way
  ping_ok hA 10.2.0.2 3 0.1 && ping_ok hB 10.1.0.2 3 0.1 && ping_ok hA fd00:2::2 3 0.1 && ping_ok hB fd00:1::2 3 0.1
}
no_ping() { ! topo_ns "$1" ping -c 2 -i 0.2 -W 1 "$2" >/dev/null 2>&1; }
warm() {  # first packets may go to ARP or ND resolution
  topo_ns hA ping -c 2 -i 0.2 -W 1 10.2.0.2 >/dev/null 2>&1
  topo_ns hB ping -c 2 -i 0.2 -W 1 10.1.0.2 >/dev/null 2>&1
  topo_ns hA ping -c 2 -i 0.2 -W 1 fd00:2::2 >/dev/null 2>&1
  topo_ns hB ping -c 2 -i 0.2 -W 1 fd00:1::2 >/dev/null 2>&1
}
start_dp() { pid[dp$1]=$(topo_dataplane "$1" "$DATAPLANE"); }
start_d() { pid[d$1]=$(topo_daemon "$1" "$DAEMON"); }
state() { j "$1" tunnel list 2>/dev/null | jq -r '.[0].state' 2>/dev/null; }
# wait_up TENTHS: both tunnels "up"; prints the time it took.
wait_up() {
  local i t0
  t0=$(date +%s%N)
  for ((i = 0; i < $1; i++)); do
    if [[ $(state gw1) == up && $(state gw2) == up ]]; then
      echo "$((($(date +%s%N) - t0) / 1000000)) ms"
      return 0
    fi
    sleep 0.1
  done
  echo "not up after $(($1 / 10)) s (gw1: $(state gw1), gw2: $(state gw2))"
  return 1
}
dp_sas() { "$DPCHAN" "$TOPO_DIR/$1/dataplane.sock" <<<'stats agent.sas' 2>/dev/null | awk '$1 == "agent.sas" {print $2}'; }
spis() { j "$1" tunnel show "${tun[$1]}" | jq -r '[.spi_out, .spi_in] | join(" ")'; }
# ike_state GW: "NUMBER STATE ROLE PROPOSAL" of the established IKE SAs.
ike_state() { j "$1" ike list | jq -r '[length, (.[] | .state, .role, .proposal)] | join(" ")'; }
ike_spis() { j "$1" ike list | jq -r '[.[] | .spi_i + "_" + .spi_r] | join(",")'; }
logged() {  # logged GW TEXT [TENTHS]: TEXT appears in GW's portcullisd log
  local i
  for ((i = 0; i < ${3:-1}; i++)); do
    grep -qF -- "$2" "$TOPO_DIR/$1/portcullisd.log" && return 0
    sleep 0.1
  done
  grep -qF -- "$2" "$TOPO_DIR/$1/portcullisd.log"
}
count_log() { grep -cF -- "$2" "$TOPO_DIR/$1/portcullisd.log"; }

# ike_config GW AUTH [PROFILE]: TOPO_DIR/GW/portcullis.toml from the
# example (topo_config) with its tunnel switched to IKEv2. AUTH: psk
# (file $PSK_GW1/$PSK_GW2), p256 or p384 (certificates in TOPO_DIR/pki256
# or pki384: FQDN identities for P-256, subject DNs for P-384 and profile
# prime-256 with AES-256 everywhere).
PSK_GW1=$TOPO_DIR/keys/psk
PSK_GW2=$TOPO_DIR/keys/psk
ike_config() {
  local gw=$1 auth=$2 f=$TOPO_DIR/$1/portcullis.toml peer psk
  if [[ $gw == gw1 ]]; then peer=gw2 psk=$PSK_GW1; else peer=gw1 psk=$PSK_GW2; fi
  local profile=prime esp=aes128gcm16
  [[ $auth == p384 ]] && profile=prime-256 esp=aes256gcm16
  topo_config "$gw" "$SRC"
  sed -i -e '/^keying = /,$d' -e 's|^log_level = .*|log_level = "debug"|' \
    -e "s|^profile = .*|profile = \"$profile\"\nallow = [\"psk\"]|" -e "s|^esp = .*|esp = \"$esp\"|" "$f"
  {
    echo 'keying = "ikev2"'
    echo
    echo '[tunnel.ike]'
    if [[ $gw == gw1 ]]; then echo 'initiate = true'; else echo 'initiate = false'; fi
    case $auth in
      psk)
        echo 'auth = "psk"'
        echo "psk_file = \"$psk\""
        ;;
      p256 | p384)
        local pki=$TOPO_DIR/pki${auth#p}
        echo 'auth = "ecdsa"'
        echo "certificate = \"$pki/$gw.pem\""
        echo "private_key = \"$pki/$gw.key\""
        echo "ca = \"$pki/ca.pem\""
        if [[ $auth == p256 ]]; then
          echo "local_id = \"$gw.lab\""
          echo "remote_id = \"$peer.lab\""
        else
          # local_id empty: the certificate's subject DN.
          echo "remote_id = \"O=Portcullis lab, CN=$peer\""
          echo 'proposal = "aes256gcm16-prfsha384-ecp384"'
        fi
        ;;
    esac
  } >>"$f"
}
reload() {  # reload GW...: config reload, the responder (gw2) first if both
  local gw
  for gw in "$@"; do j "$gw" config reload >"$TOPO_DIR/reload.out" 2>&1 || { echo "config reload on $gw failed:"; cat "$TOPO_DIR/reload.out"; }; done
}
capture() {  # capture IFACE GW FILE: tcpdump in GW's namespace; its pid in bg
  ip netns exec "$TOPO-$2" tcpdump -i "$1" -nn -U -w "$3" 2>"$3.err" &
  bg+=($!)
  local i
  for ((i = 0; i < 50; i++)); do grep -q listening "$3.err" 2>/dev/null && return 0; sleep 0.1; done
}

# --- set up ----------------------------------------------------------------------
# Each data plane takes about 72 hugepages of 2 MB (--in-memory). On a
# shared machine wait a little for another test's to go, then run the
# data planes on ordinary memory: a wrapper around the binary that
# topo_dataplane starts turns its EAL --in-memory (which needs
# hugepages) into --no-shconf --no-huge; exec keeps the pid.
for ((i = 0; i < 15; i++)); do
  free_pages=$(awk '/^HugePages_Free/ {print $2}' /proc/meminfo)
  ((free_pages >= 150)) && break
  ((i == 0)) && echo "only $free_pages hugepages free, two data planes need about 150: waiting up to 30 s"
  sleep 2
done
if ((free_pages < 150)) || [[ -n ${NO_HUGE:-} ]]; then
  echo "data planes without hugepages (EAL --no-huge)"
  cat >"$TOPO_DIR/dataplane-nohuge" <<WRAP
#!/usr/bin/env bash
a=()
for x in "\$@"; do [[ \$x == --in-memory ]] && x=--no-shconf; a+=("\$x"); done
exec "$(realpath "$DATAPLANE")" "\${a[@]}" --no-huge -m 512
WRAP
  chmod 755 "$TOPO_DIR/dataplane-nohuge"
  DATAPLANE=$TOPO_DIR/dataplane-nohuge
fi
topo_up
topo_keys
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TOPO_DIR/keys/psk")
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TOPO_DIR/keys/psk-wrong")
for gw in gw1 gw2; do ike_config "$gw" psk; done
# The WAN from the start, IKE_SA_INIT included: each gateway's sends on
# the other's veth (af_packet sends bypass the qdisc and its taps).
capture g2u gw2 "$TOPO_DIR/from-gw1.pcap"
capture g1u gw1 "$TOPO_DIR/from-gw2.pcap"
caps=("${bg[@]}")
for gw in gw1 gw2; do
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

# --- 1. PSK, PRIME -------------------------------------------------------------------
if took=$(wait_up 50); then ok "1a. PSK: tunnel up on both sides in $took"; else
  bad "1a. PSK: tunnel $took; the rest would only fail too"
  for gw in gw1 gw2; do echo "--- $gw"; tail -15 "$TOPO_DIR/$gw/portcullisd.log"; done
  exit 1
fi
check "1b. gw1: one IKE SA, established, initiator, aes128gcm16-prfsha256-ecp256" \
  test "$(ike_state gw1)" = "1 established initiator aes128gcm16-prfsha256-ecp256"
check "1c. gw2: one IKE SA, established, responder, aes128gcm16-prfsha256-ecp256" \
  test "$(ike_state gw2)" = "1 established responder aes128gcm16-prfsha256-ecp256"
check "1d. both sides name the same IKE SA (SPIi_SPIr)" test "$(ike_spis gw1)" = "$(ike_spis gw2)"
check "1e. ike show: the Child SA, aes128gcm16-esn" \
  test "$(j gw1 ike show gw1-gw2 | jq -r '[.state, (.ike_sas[0].children | length), .ike_sas[0].children[0].esp] | join(" ")')" = "up 1 aes128gcm16-esn"
warm
check "1f. ping hA -> hB, no loss" ping_ok hA 10.2.0.2 5 0.1
check "1g. ping hB -> hA, no loss" ping_ok hB 10.1.0.2 5 0.1
check "1h. IPv6 ping hA -> hB (fd00:2::2)" ping_ok hA fd00:2::2 5 0.1
check "1i. IPv6 ping hB -> hA (fd00:1::2)" ping_ok hB fd00:1::2 5 0.1

# --- 2. the WAN: IKE and ESP only; SPIs as shown -------------------------------------
sleep 0.3
kill "${caps[@]}" 2>/dev/null
wait "${caps[@]}" 2>/dev/null
read -r g1_out g1_in <<<"$(spis gw1)"
read -r g2_out g2_in <<<"$(spis gw2)"
check "2a. tunnel show: gw1's outbound SPI is gw2's inbound and back ($g1_out/$g1_in)" \
  test "$g1_out $g1_in" = "$g2_in $g2_out" -a "$g1_out" != 0x00000000
other=0 ike=0
for f in from-gw1 from-gw2; do
  other=$((other + $(tcpdump -nn -r "$TOPO_DIR/$f.pcap" 'not arp and not esp and not (udp and (port 500 or port 4500))' 2>/dev/null | wc -l)))
  ike=$((ike + $(tcpdump -nn -r "$TOPO_DIR/$f.pcap" 'udp port 500' 2>/dev/null | wc -l)))
done
if ((other == 0 && ike >= 4)); then ok "2b. WAN: $ike IKE packets, nothing but IKE, ESP and ARP"; else
  bad "2b. WAN: $ike IKE packets, $other others:"
  for f in from-gw1 from-gw2; do tcpdump -nn -r "$TOPO_DIR/$f.pcap" 'not arp and not esp and not (udp and (port 500 or port 4500))' 2>/dev/null | head -5; done
fi
esp_spis() { tcpdump -nn -r "$TOPO_DIR/$1.pcap" esp 2>/dev/null | grep -o 'ESP(spi=0x[0-9a-f]*' | cut -d= -f2 | sort -u | tr '\n' ' ' | sed 's/ $//'; }
check "2c. ESP from gw1 on the wire: SPI $g1_out only (seen: $(esp_spis from-gw1))" test "$(esp_spis from-gw1)" = "$g1_out"
check "2d. ESP from gw2 on the wire: SPI $g2_out only (seen: $(esp_spis from-gw2))" test "$(esp_spis from-gw2)" = "$g2_out"

# --- 3. rekeys under traffic -----------------------------------------------------------
topo_ns hA ping -c 170 -i 0.05 -w 14 10.2.0.2 >"$TOPO_DIR/ping-rekey" 2>&1 &
pinger=$!
bg+=("$pinger")
sleep 0.5
spis0=$(spis gw1)
ike0=$(ike_spis gw1)
check "3a. tunnel rekey gw1-gw2 (Child SA, gw1 initiates)" ctl gw1 tunnel rekey gw1-gw2
sleep 1.5
spis1=$(spis gw1)
check "3b. new SPIs after gw1's Child SA rekey ($spis0 -> $spis1), the same on gw2" \
  test "$spis1" != "$spis0" -a "$(spis gw2)" = "$(awk '{print $2, $1}' <<<"$spis1")"
check "3c. tunnel rekey gw2-gw1 (Child SA, gw2 initiates)" ctl gw2 tunnel rekey gw2-gw1
sleep 1.5
spis2=$(spis gw1)
check "3d. new SPIs after gw2's Child SA rekey ($spis2)" test "$spis2" != "$spis1" -a "$spis2" != "$spis0"
check "3e. tunnel rekey gw1-gw2 --ike (gw1 initiates)" ctl gw1 tunnel rekey gw1-gw2 --ike
sleep 1.5
ike1=$(ike_spis gw1)
check "3f. one new IKE SA after gw1's IKE SA rekey, the same on gw2" \
  test "$ike1" != "$ike0" -a "$ike1" = "$(ike_spis gw2)" -a "$(ike_state gw1 | cut -d' ' -f1-2)" = "1 established"
check "3g. tunnel rekey gw2-gw1 --ike (gw2 initiates)" ctl gw2 tunnel rekey gw2-gw1 --ike
sleep 1.5
ike2=$(ike_spis gw1)
check "3h. one new IKE SA after gw2's IKE SA rekey, the same on gw2" \
  test "$ike2" != "$ike1" -a "$ike2" = "$(ike_spis gw2)" -a "$(ike_state gw2 | cut -d' ' -f1-3)" = "1 established initiator"
check "3i. the Child SA moved to the new IKE SA (SPIs kept: $spis2)" test "$(spis gw1)" = "$spis2"
wait "$pinger"
if grep -q " 0% packet loss" "$TOPO_DIR/ping-rekey"; then ok "3j. 170 pings at 50 ms across four rekeys: none lost"; else
  bad "3j. pings across the rekeys: $(grep 'packet loss' "$TOPO_DIR/ping-rekey") $(lost_seqs "$TOPO_DIR/ping-rekey" 170)"
fi
# Old inbound SAs stay for the grace period (2 s) after their DELETE.
n1="" n2=""
for _ in $(seq 40); do
  n1=$(dp_sas gw1) n2=$(dp_sas gw2)
  [[ $n1 == 2 && $n2 == 2 ]] && break
  sleep 0.1
done
check "3k. after the grace period each data plane holds 2 SAs (gw1: $n1, gw2: $n2)" test "$n1 $n2" = "2 2"
check "3l. sa list: 2 SAs per side, the current SPIs" \
  test "$(j gw1 sa list | jq -r 'map(.spi) | sort | join(" ")')" = "$(tr ' ' '\n' <<<"$spis2" | sort | tr '\n' ' ' | sed 's/ $//')" \
  -a "$(j gw2 sa list | jq -r length)" = 2
warm
check "3m. ping both ways after the rekeys" ping_both

# --- 4. ECDSA certificates ------------------------------------------------------------
if "$SRC/scripts/ike-pki.sh" "$TOPO_DIR/pki256" gw1:gw1.lab:192.0.2.1 gw2:gw2.lab:192.0.2.2 >"$TOPO_DIR/pki.out" 2>&1 &&
  "$SRC/scripts/ike-pki.sh" --p384 "$TOPO_DIR/pki384" gw1:gw1.lab:192.0.2.1 gw2:gw2.lab:192.0.2.2 >>"$TOPO_DIR/pki.out" 2>&1; then
  ok "4a. ike-pki.sh: P-256 and P-384 CAs and gateway certificates"
else
  bad "4a. ike-pki.sh failed"; cat "$TOPO_DIR/pki.out"
fi
for gw in gw1 gw2; do ike_config "$gw" p256; done
mark1=$(count_log gw1 "IKE SA established") mark2=$(count_log gw2 "IKE SA established")
reload gw2 gw1
if took=$(wait_up 150) && [[ $(count_log gw1 "IKE SA established") -gt $mark1 ]]; then
  ok "4b. ECDSA P-256 (ids gw1.lab/gw2.lab) after config reload: a new IKE SA, up in $took"
else
  bad "4b. ECDSA P-256: $took"; tail -5 "$TOPO_DIR/gw1/portcullisd.log"
fi
check "4c. gw2 authenticated gw1 by its certificate (log: established with \"gw1.lab\")" logged gw2 'IKE SA established with "gw1.lab"'
check "4d. P-256: one IKE SA, aes128gcm16-prfsha256-ecp256" test "$(ike_state gw1)" = "1 established initiator aes128gcm16-prfsha256-ecp256"
warm
check "4e. ping hA -> hB over the certificate-authenticated tunnel" ping_ok hA 10.2.0.2 5 0.1
for gw in gw1 gw2; do ike_config "$gw" p384; done
reload gw2 gw1
if took=$(wait_up 150) && [[ $(ike_state gw1) == "1 established initiator aes256gcm16-prfsha384-ecp384" ]]; then
  ok "4f. ECDSA P-384, prime-256, DN identities: up in $took with aes256gcm16-prfsha384-ecp384"
else
  bad "4f. ECDSA P-384: $took; ike list: $(ike_state gw1)"; tail -5 "$TOPO_DIR/gw1/portcullisd.log"
fi
check "4g. gw1 authenticated gw2 by its subject DN (log: established with \"/O=Portcullis lab/CN=gw2\")" \
  logged gw1 'IKE SA established with "/O=Portcullis lab/CN=gw2"'
check "4h. the Child SA is aes256gcm16" test "$(j gw1 ike show gw1-gw2 | jq -r '.ike_sas[0].children[0].esp')" = aes256gcm16-esn
warm
check "4i. ping both ways, IPv4 and IPv6, over P-384" ping_both

# --- 5. a wrong PSK --------------------------------------------------------------------
PSK_GW2=$TOPO_DIR/keys/psk-wrong
for gw in gw1 gw2; do ike_config "$gw" psk; done
# The notify is AUTHENTICATION_FAILED (24) in RFC 7296, AUTH_FAILED in the log as in strongSwan's.
refused() { grep -cE "the peer 192.0.2.2:500 refused our authentication \((AUTH_FAILED|AUTHENTICATION_FAILED)" "$TOPO_DIR/gw1/portcullisd.log"; }
mis=$(count_log gw2 "pre-shared key mismatch") ref=$(refused)
reload gw2 gw1
sleep 3
check "5a. wrong PSK on gw2: the tunnel is not up (gw1: $(state gw1), gw2: $(state gw2))" \
  test "$(state gw1)" != up -a "$(state gw2)" != up
check "5b. gw2's log: pre-shared key mismatch" test "$(count_log gw2 "pre-shared key mismatch")" -gt "$mis"
check "5c. gw1's log: the peer refused our authentication (AUTHENTICATION_FAILED)" test "$(refused)" -gt "$ref"
grep -F "pre-shared key mismatch" "$TOPO_DIR/gw2/portcullisd.log" | tail -1 | cut -c1-160
grep -F "refused our authentication" "$TOPO_DIR/gw1/portcullisd.log" | tail -1 | cut -c1-160
check "5d. no ping gets through" no_ping hA 10.2.0.2
PSK_GW2=$TOPO_DIR/keys/psk
ike_config gw2 psk
reload gw2
if took=$(wait_up 250); then ok "5e. PSK fixed on gw2, reload: tunnel up in $took"; else bad "5e. PSK fixed: $took"; fi
warm
check "5f. ping hA -> hB" ping_ok hA 10.2.0.2 5 0.1

# --- 6. kill -9 of gw1's portcullisd under traffic --------------------------------------
for _ in $(seq 40); do [[ $(dp_sas gw1) == 2 && $(dp_sas gw2) == 2 ]] && break; sleep 0.1; done
old_spis=$(spis gw1)
old_ike=$(ike_spis gw2)
topo_ns hA ping -c 60 -i 0.05 -w "$(deadline 60 0.05)" 10.2.0.2 >"$TOPO_DIR/ping-down" 2>&1 &
pinger=$!
bg+=("$pinger")
sleep 0.3
kill -9 "${pid[dgw1]}"
wait "${pid[dgw1]}" 2>/dev/null
wait "$pinger"
if grep -q " 0% packet loss" "$TOPO_DIR/ping-down"; then ok "6a. gw1's portcullisd killed: 60 pings at 50 ms while it is down, none lost"; else
  bad "6a. while gw1's daemon is down: $(grep 'packet loss' "$TOPO_DIR/ping-down") $(lost_seqs "$TOPO_DIR/ping-down" 60)"
fi
topo_ns hA ping -c 100 -i 0.05 -w "$(deadline 100 0.05)" 10.2.0.2 >"$TOPO_DIR/ping-restart" 2>&1 &
pinger=$!
bg+=("$pinger")
mark1=$(count_log gw1 "IKE SA established")
start_d gw1
topo_wait_socket "$TOPO_DIR/gw1/portcullisd.sock"
if took=$(wait_up 100) && logged gw1 "IKE SA established" 50 && [[ $(count_log gw1 "IKE SA established") -gt $mark1 ]]; then
  ok "6b. restarted portcullisd negotiated a new IKE SA ($took)"
else
  bad "6b. restarted portcullisd: $took"; tail -5 "$TOPO_DIR/gw1/portcullisd.log"
fi
sleep 0.5
new_ike=$(ike_spis gw2)
check "6c. INITIAL_CONTACT: gw2 dropped the old IKE SA, keeps only the new one ($new_ike)" \
  test "$new_ike" != "$old_ike" -a "$(ike_state gw2 | cut -d' ' -f1)" = 1 -a "$new_ike" = "$(ike_spis gw1)"
n2=""
for _ in $(seq 40); do n2=$(dp_sas gw2); [[ $n2 == 2 ]] && break; sleep 0.1; done
check "6d. gw2's data plane holds only the new pair too ($n2 SAs), with gw1's SPIs swapped" \
  test "$n2" = 2 -a "$(spis gw2)" = "$(spis gw1 | awk '{print $2, $1}')"
n1=""
for _ in $(seq 40); do n1=$(dp_sas gw1); [[ $n1 == 2 ]] && break; sleep 0.1; done
new_spis=$(spis gw1)
check "6e. gw1's data plane holds only the new pair ($n1 SAs; SPIs $old_spis -> $new_spis)" \
  test "$n1" = 2 -a "$new_spis" != "$old_spis"
check "6f. sa list on gw1: the new pair only" test "$(j gw1 sa list | jq -r 'map(.spi) | sort | join(" ")')" = "$(tr ' ' '\n' <<<"$new_spis" | sort | tr '\n' ' ' | sed 's/ $//')"
wait "$pinger"
# None lost: gw2 keeps the old Child SAs for a grace period after the
# IKE_AUTH with INITIAL_CONTACT, while gw1 still sends on them until the
# response comes back.
answered=$(grep -o '[0-9]* received' "$TOPO_DIR/ping-restart" | cut -d' ' -f1)
if [[ ${answered:-0} -ge 100 ]]; then ok "6g. 100 pings at 50 ms across the renegotiation: ${answered} answered"; else
  bad "6g. pings across the renegotiation: $(grep 'packet loss' "$TOPO_DIR/ping-restart") $(lost_seqs "$TOPO_DIR/ping-restart" 100)"
  drops
fi
check "6h. ping both ways after the restart" ping_both

# --- 7. kill -9 of gw2's data plane -----------------------------------------------------
mark2=$(count_log gw2 "IKE SA established") restarts=$(count_log gw2 "closing the IKE SA: restarting the tunnel")
kill -9 "${pid[dpgw2]}"
wait "${pid[dpgw2]}" 2>/dev/null
rm -f "$TOPO_DIR/gw2/dataplane.sock"
t0=$(date +%s%N)
start_dp gw2
topo_wait_socket "$TOPO_DIR/gw2/dataplane.sock" 200
back=0
for _ in $(seq 150); do
  if topo_ns hA ping -c 1 -W 1 10.2.0.2 >/dev/null 2>&1; then back=1; break; fi
  sleep 0.1
done
ms=$((($(date +%s%N) - t0) / 1000000))
if ((back && ms <= 15000)); then ok "7a. gw2's data plane restarted: ping through again after $ms ms"; else bad "7a. gw2's data plane restart: no ping after $ms ms"; fi
check "7b. gw2's daemon restarted the tunnel and renegotiated (log: restarting the tunnel, then a new IKE SA)" \
  test "$(count_log gw2 "closing the IKE SA: restarting the tunnel")" -gt "$restarts" -a "$(count_log gw2 "IKE SA established")" -gt "$mark2"
grep -F "IKE SA established" "$TOPO_DIR/gw2/portcullisd.log" | tail -1 | cut -c1-160
check "7c. one IKE SA on each side, 2 SAs in each data plane" \
  test "$(ike_state gw1 | cut -d' ' -f1) $(ike_state gw2 | cut -d' ' -f1) $(dp_sas gw1) $(dp_sas gw2)" = "1 1 2 2"
warm
check "7d. ping both ways, IPv4 and IPv6" ping_both

# --- secrets ---------------------------------------------------------------------------
leaks=0
for k in "$TOPO_DIR/keys/psk" "$TOPO_DIR/keys/psk-wrong"; do
  hex=$(cat "$k")
  for f in "$TOPO_DIR"/gw*/*.log "$TOPO_DIR/cli.out" "$TOPO_DIR"/gw*/state/*; do
    if grep -qi -e "${hex:0:16}" -e "${hex:16:16}" -e "${hex:48:16}" "$f" 2>/dev/null; then leaks=$((leaks + 1)); echo "PSK bytes in $f"; fi
  done
done
for k in "$TOPO_DIR"/pki*/gw*.key; do
  body=$(sed -n 2p "$k" | cut -c1-24)
  for f in "$TOPO_DIR"/gw*/*.log "$TOPO_DIR/cli.out" "$TOPO_DIR/pki.out"; do
    if grep -qF -e "$body" "$f" 2>/dev/null; then leaks=$((leaks + 1)); echo "private key bytes in $f"; fi
  done
done
check "8. no PSK or private key bytes in any log, state file or CLI output" test "$leaks" = 0

echo "$passed passed, $failed failed ($(($(date +%s) - t_start)) s)"
((failed == 0))
