#!/usr/bin/env bash
# Runs a command in a network and mount namespace of its own: the world of the mesh tests, where pods
# get addresses of a pod network (10.244.0.0/16) that must never appear on the host's interfaces.
#
#   scripts/netns.sh CMD [ARGS...]    run CMD inside; exits with its status
#   scripts/netns.sh --check          exit 0 if namespaces can be created here and pods can run as their
#                                     own users inside (uids 1 to 65534), else print why, exit 3
#
# Inside: loopback up, ASM_NODE_ADDRESS (10.245.0.1/32, the "node" that pods in their own network
# namespaces reach the API server and istiod at) on the namespace's own loopback, IP forwarding on
# between pods, ASM_POD_CIDR exported for scripts/cluster.sh. Mounts made inside (the pods' memory
# volumes) are private to it. It is a PID namespace too: when CMD ends, the kernel kills every process
# started inside (daemons that detached included), so nothing is left on the host.
#
# As root: plain namespaces. Otherwise a user namespace where the caller is root and, so that pods can run
# as uid 1000 or 1337, the caller's subordinate ids (/etc/subuid, /etc/subgid, as rootless containers use)
# are uids and gids 1 to 65536; that needs newuidmap/newgidmap (Debian package uidmap).
set -euo pipefail

NODE_ADDRESS=10.245.0.1
POD_CIDR=10.244.0.1/16
NS_FLAGS=(--net --mount --pid --fork --mount-proc --kill-child --propagation private)

# "start,count" of the caller's first subordinate range in FILE (by name or uid), or nothing.
subordinate() {
  local file="$1" name uid
  name="$(id -un)"; uid="$(id -u)"
  [ -r "$file" ] || return 0
  awk -F: -v n="$name" -v u="$uid" '($1 == n || $1 == u) && $3 >= 65536 { print $2 "," $3; exit }' "$file"
}

unshare_args() {
  if [ "$(id -u)" = 0 ]; then
    printf '%s\n' "${NS_FLAGS[@]}"
    return
  fi
  local su sg
  su="$(subordinate /etc/subuid)"; sg="$(subordinate /etc/subgid)"
  if [ -n "$su" ] && [ -n "$sg" ] && command -v newuidmap >/dev/null && command -v newgidmap >/dev/null; then
    printf '%s\n' --map-user=0 --map-group=0 "--map-users=${su%,*},1,65536" "--map-groups=${sg%,*},1,65536" "${NS_FLAGS[@]}"
  else
    printf '%s\n' --map-root-user "${NS_FLAGS[@]}"
  fi
}

check() {
  local why args
  mapfile -t args < <(unshare_args)
  if ! why="$(unshare "${args[@]}" -- ip link set lo up 2>&1)"; then
    printf 'network namespaces are not available here (%s)\n' "${why:-unshare failed}" >&2
    return 3
  fi
  if ! unshare "${args[@]}" -- setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
    printf 'pods cannot run as their own users in a namespace of %s: give it a subordinate id range (/etc/subuid, /etc/subgid) and install newuidmap (Debian package uidmap), or run as root\n' "$(id -un)" >&2
    return 3
  fi
}

case "${1:-}" in
  --check) check; exit $? ;;
  ""|-h|--help) sed -n '2,19p' "${BASH_SOURCE[0]}"; exit 2 ;;
esac

check || exit 3
mapfile -t ARGS < <(unshare_args)
# shellcheck disable=SC2016 # $0, $1 and $@ expand in the inner shell
exec unshare "${ARGS[@]}" -- bash -euc '
  ip link set lo up
  ip addr add "$0/32" dev lo
  sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  export ASM_NODE_ADDRESS="$0" ASM_POD_CIDR="$1" ASM_IN_NETNS=1
  shift
  exec "$@"
' "$NODE_ADDRESS" "$POD_CIDR" "$@"
