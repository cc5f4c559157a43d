#!/usr/bin/env bash
# Runs a command in a network and mount namespace of its own: the world of the mesh tests, where pods
# get addresses of a pod network (10.244.0.0/16) that must never appear on the host's interfaces.
#
#   scripts/netns.sh CMD [ARGS...]    run CMD inside; exits with its status
#   scripts/netns.sh --check          exit 0 if namespaces can be created here, else print why, exit 3
#
# Inside: loopback up, ASM_NODE_ADDRESS (10.245.0.1/32, the "node" that pods in their own network
# namespaces reach the API server and istiod at) on the namespace's own loopback, IP forwarding on
# between pods, ASM_POD_CIDR exported for scripts/cluster.sh. Mounts made inside (the pods' memory
# volumes) are private to it. It is a PID namespace too: when CMD ends, the kernel kills every process
# started inside (daemons that detached included), so nothing is left on the host. As root, plain namespaces; otherwise a user namespace mapping the caller to root, where allowed.
set -euo pipefail

NODE_ADDRESS=10.245.0.1
POD_CIDR=10.244.0.1/16

unshare_args() {
  if [ "$(id -u)" = 0 ]; then
    echo "--net --mount --pid --fork --mount-proc --kill-child --propagation private"
  else
    echo "--user --map-root-user --net --mount --pid --fork --mount-proc --kill-child --propagation private"
  fi
}

check() {
  local why
  # shellcheck disable=SC2046 # word splitting of the flags is wanted
  if ! why="$(unshare $(unshare_args) -- ip link set lo up 2>&1)"; then
    printf 'network namespaces are not available here (%s)\n' "${why:-unshare failed}" >&2
    return 3
  fi
}

case "${1:-}" in
  --check) check; exit $? ;;
  ""|-h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}"; exit 2 ;;
esac

check || exit 3
# shellcheck disable=SC2046,SC2016 # flags split on purpose; $@ expands in the inner shell
exec unshare $(unshare_args) -- bash -euc '
  ip link set lo up
  ip addr add "$0/32" dev lo
  sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  export ASM_NODE_ADDRESS="$0" ASM_POD_CIDR="$1" ASM_IN_NETNS=1
  shift
  exec "$@"
' "$NODE_ADDRESS" "$POD_CIDR" "$@"
