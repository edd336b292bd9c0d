#!/usr/bin/env bash
# Installs the Debian packages ThreadNet needs to build, test and benchmark, only those
# that are missing. Debian 12; run as root (or with sudo).
set -euo pipefail

BUILD_PKGS=(build-essential cmake pkg-config clang libclang-rt-14-dev
  libseccomp-dev libboost-context-dev libunwind-dev libgtest-dev libgmock-dev
  libfmt-dev libcli11-dev libvdeplug-dev libvdeplug-slirp vde2 libsodium-dev)
TEST_PKGS=(iproute2 curl python3 nginx-light iperf3 busybox-static dnsmasq-base wrk procps tcpdump iputils-ping
  chromium passt)

want=("${BUILD_PKGS[@]}")
[ "${1:-}" = "--build-only" ] || want+=("${TEST_PKGS[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then exec sudo "$0" "$@"; fi
  echo "install-deps: missing packages: ${missing[*]} (run as root to install them)" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
