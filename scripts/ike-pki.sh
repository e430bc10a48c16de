#!/usr/bin/env bash
# ike-pki.sh: a lab PKI for IKEv2 certificate authentication, made with the
# openssl command line. Run with --help for usage.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/ike-pki.sh [OPTIONS] DIR [GATEWAY...]

Makes a small certification authority and gateway certificates for
IKEv2 ECDSA authentication (portcullis.toml [tunnel.ike] auth = "ecdsa",
or any IKEv2 peer such as strongSwan) in DIR:

  DIR/ca.pem          the CA certificate (give it to every gateway: ike.ca)
  DIR/ca.key          the CA's private key (mode 0600; keep it off the gateways)
  DIR/NAME.pem        a gateway certificate (ike.certificate)
  DIR/NAME.key        its private key (mode 0600; ike.private_key)

If DIR/ca.key exists, that CA signs the new certificates, so gateways can
be added later. An existing gateway's files are never overwritten unless
--force is given.

GATEWAY is NAME[:DNS[:IP]]. The certificate's subject is CN=NAME; its
subjectAltNames are DNS (default: NAME; a comma-separated list allowed)
and IP (optional; comma-separated IPv4 or IPv6 addresses). An IKE identity
(local_id / remote_id) must be one of these names or addresses, or the
subject DN. Examples:

  scripts/ike-pki.sh /etc/portcullis/pki gw1:gw1.example.net:192.0.2.1
  scripts/ike-pki.sh --p384 lab/pki gw1::192.0.2.1 gw2:gw2.lab:192.0.2.2,2001:db8::2

Options:
  --p384          ECDSA P-384 keys, SHA-384 signatures (crypto.profile
                  "prime-256"); the default is P-256 with SHA-256 (PRIME)
  --org ORG       organisation (O=) in every subject (default "Portcullis lab")
  --ca-cn CN      the CA's common name (default "ORG CA")
  --days N        gateway certificate validity in days (default 365)
  --ca-days N     CA validity in days (default 3650)
  --force         replace existing gateway files (never the CA)
  -h, --help      this text

Needs the openssl command (Debian package openssl). Private keys are
PKCS#8 PEM, unencrypted, created under umask 077; the script never prints
them. Lab use: a production CA belongs offline, with revocation.
EOF
}

curve=P-256 digest=sha256 org="Portcullis lab" ca_cn="" days=365 ca_days=3650 force=0
dir="" gws=()
while (($#)); do
  case $1 in
    --p384) curve=P-384 digest=sha384 ;;
    --org) org=${2:?--org needs a value}; shift ;;
    --ca-cn) ca_cn=${2:?--ca-cn needs a value}; shift ;;
    --days) days=${2:?--days needs a value}; shift ;;
    --ca-days) ca_days=${2:?--ca-days needs a value}; shift ;;
    --force) force=1 ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "ike-pki.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) if [[ -z $dir ]]; then dir=$1; else gws+=("$1"); fi ;;
  esac
  shift
done
[[ -n $dir ]] || { usage >&2; exit 2; }
[[ $days =~ ^[1-9][0-9]*$ && $ca_days =~ ^[1-9][0-9]*$ ]] || { echo "ike-pki.sh: --days and --ca-days take a positive number" >&2; exit 2; }
[[ -n $ca_cn ]] || ca_cn="$org CA"
command -v openssl >/dev/null || { echo "ike-pki.sh: openssl not found (apt-get install openssl)" >&2; exit 1; }

umask 077
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

newkey() {  # newkey FILE: an EC key on $curve, mode 0600
  openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$curve" -pkeyopt ec_param_enc:named_curve \
    -out "$1" 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
  chmod 600 "$1"
}
serial() { echo "0x$(openssl rand -hex 16)"; }
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }
dn_escape() { printf '%s' "$1" | sed 's/[\/,+=]/\\&/g'; }

# --- the CA ---------------------------------------------------------------------------
if [[ -f $dir/ca.key ]]; then
  [[ -f $dir/ca.pem ]] || { echo "ike-pki.sh: $dir/ca.key exists but $dir/ca.pem does not" >&2; exit 1; }
  echo "ike-pki.sh: using the existing CA $dir/ca.pem ($(openssl x509 -in "$dir/ca.pem" -noout -subject | sed 's/^subject=//'))"
else
  newkey "$dir/ca.key"
  cat >"$tmp/ca.ext" <<EOF
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
  openssl req -new -key "$dir/ca.key" -subj "/O=$(dn_escape "$org")/CN=$(dn_escape "$ca_cn")" -out "$tmp/ca.csr" 2>"$tmp/err" ||
    { cat "$tmp/err" >&2; exit 1; }
  openssl x509 -req -in "$tmp/ca.csr" -signkey "$dir/ca.key" -"$digest" -days "$ca_days" -set_serial "$(serial)" \
    -extfile "$tmp/ca.ext" -out "$dir/ca.pem" 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
  chmod 644 "$dir/ca.pem"
  echo "ike-pki.sh: CA $dir/ca.pem (ECDSA $curve, CN=$ca_cn), SHA-256 fingerprint $(fp "$dir/ca.pem")"
fi

# --- gateways -----------------------------------------------------------------------------
for g in "${gws[@]}"; do
  # read gives the last field the rest of the line, colons and all (IPv6).
  IFS=: read -r name dns ips <<<"$g"
  [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || { echo "ike-pki.sh: gateway name \"$name\": use letters, digits, . _ -" >&2; exit 2; }
  [[ -n $dns ]] || dns=$name
  if [[ -e $dir/$name.key || -e $dir/$name.pem ]] && ((!force)); then
    echo "ike-pki.sh: $dir/$name.pem or .key exists; not overwritten (--force replaces it)" >&2
    exit 1
  fi
  san=""
  IFS=, read -ra list <<<"$dns"
  for d in "${list[@]}"; do san+="${san:+, }DNS:$d"; done
  if [[ -n $ips ]]; then
    IFS=, read -ra list <<<"$ips"
    for a in "${list[@]}"; do san+=", IP:$a"; done
  fi
  cat >"$tmp/gw.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth, ipsecIKE
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
  newkey "$tmp/gw.key"
  openssl req -new -key "$tmp/gw.key" -subj "/O=$(dn_escape "$org")/CN=$(dn_escape "$name")" -out "$tmp/gw.csr" 2>"$tmp/err" ||
    { cat "$tmp/err" >&2; exit 1; }
  openssl x509 -req -in "$tmp/gw.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -"$digest" -days "$days" \
    -set_serial "$(serial)" -extfile "$tmp/gw.ext" -out "$tmp/gw.pem" 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
  openssl verify -CAfile "$dir/ca.pem" "$tmp/gw.pem" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
  chmod 644 "$tmp/gw.pem"
  mv -f "$tmp/gw.key" "$dir/$name.key"
  mv -f "$tmp/gw.pem" "$dir/$name.pem"
  echo "ike-pki.sh: $dir/$name.pem (CN=$name; $san), key $dir/$name.key (0600)"
done
