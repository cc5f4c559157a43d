#!/usr/bin/env bash
# Installs the Debian packages the local run and the tests use, when missing:
#   jq                      scripts/toolchain.sh
#   bubblewrap iptables     the mesh tests' process kubelet (a mount namespace per container; the pods'
#                           istio-init rules)
#   uidmap                  newuidmap/newgidmap: the mesh world without sudo (scripts/netns.sh)
#   python3-flask python3-prometheus-client python3-requests python3-simplejson
#                           Istio's productpage, run by the mesh tests
#   apache2-utils           htpasswd -B: the bcrypt hash of the mesh tests' remote write receiver's user
#
#   scripts/deps.sh           install what is missing (as root: apt-get; otherwise print the command)
#   scripts/deps.sh --check   exit 1 and name what is missing, install nothing
set -euo pipefail

PACKAGES=(jq bubblewrap iptables uidmap python3-flask python3-prometheus-client python3-requests python3-simplejson apache2-utils)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "${1:-}" = --check ] || [ "$(id -u)" != 0 ]; then
  printf 'missing Debian packages: %s\ninstall them with: sudo apt-get install -y %s\n' "${missing[*]}" "${missing[*]}" >&2
  exit 1
fi
printf 'installing Debian packages: %s\n' "${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
