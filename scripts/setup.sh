#!/usr/bin/env bash
# setup.sh: install everything Portcullis needs on Debian 12 and prepare
# hugepages. Idempotent; run as root. Says what it did.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  echo "setup.sh: must run as root (it installs packages and mounts hugetlbfs)" >&2
  exit 1
fi

# Build tools, libraries and the tools the tests drive.
PACKAGES=(
  build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
  libdpdk-dev dpdk libipsec-mb-dev libsodium-dev libhwloc-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  libtomlplusplus-dev libcli11-dev libssl-dev libpcap-dev nlohmann-json3-dev
  python3-scapy iproute2 iputils-ping ethtool tcpdump iperf3 jq
  # perf/run.sh: dpdk-test-crypto-perf (the crypto ceiling), the plot, and
  # the source of DPDK's ipsec-secgw example (perf/secgw.sh builds it for
  # the same-run comparison).
  dpdk-dev python3-matplotlib dpdk-doc
  # The e2e tests: setpriv (socket permission checks), groupadd.
  util-linux passwd
  # IKEv2 interop (tests/interop/ike/): strongSwan's charon with userspace
  # ESP (kernel-libipsec, in libcharon-extra-plugins), swanctl; the openssl
  # CLI for the lab PKI (scripts/ike-pki.sh).
  strongswan-charon strongswan-swanctl libcharon-extra-plugins
  libstrongswan-standard-plugins libstrongswan-extra-plugins openssl
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "setup: installing ${#missing[@]} package(s): ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all ${#PACKAGES[@]} packages already installed"
fi

# 2 MB hugepages for DPDK. Only ever raise the count.
want=${PORTCULLIS_HUGEPAGES:-256}
hp=/proc/sys/vm/nr_hugepages
have=$(cat "$hp")
if ((have < want)); then
  echo "$want" >"$hp" || true
  echo "setup: hugepages $have -> $(cat "$hp") (2 MB each)"
else
  echo "setup: hugepages already $have"
fi
mkdir -p /dev/hugepages
if ! mountpoint -q /dev/hugepages; then
  mount -t hugetlbfs nodev /dev/hugepages
  echo "setup: mounted hugetlbfs on /dev/hugepages"
else
  echo "setup: hugetlbfs already mounted on /dev/hugepages"
fi
