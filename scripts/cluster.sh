#!/usr/bin/env bash
# A local Kubernetes control plane for end-to-end tests, on loopback only, made by kwok's own kwokctl
# (`--runtime binary`, the toolchain's binaries, nothing downloaded): etcd + kube-apiserver (TLS) +
# kube-controller-manager + kube-scheduler + kwok (fake kubelets), with 3 fake Nodes in 2 zones whose Pods
# become Running and Ready with 127.x IPs, and a default StorageClass of local PersistentVolumes (folders
# under the cluster's directory).
#
#   scripts/cluster.sh up       start it (no-op that reports status when it is already up)
#   scripts/cluster.sh down     stop exactly the processes it started, then remove its directory
#   scripts/cluster.sh status   print the state of each process and of the API server
#   scripts/cluster.sh env      print `export KUBECONFIG=...` (eval "$(scripts/cluster.sh env)")
#   scripts/cluster.sh stop-apiserver | start-apiserver   kill / restart kube-apiserver alone (fault tests)
#
# Environment:
#   ASM_CLUSTER_DIR          state directory (default ${XDG_CACHE_HOME:-$HOME/.cache}/asm-prom-mtls/cluster)
#   ASM_CLUSTER_TIMEOUT      seconds to wait for health (default 120)
#   ASM_CLUSTER_NODES        number of fake nodes (default 3)
#   ASM_ETCD_PORT, ASM_ETCD_PEER_PORT, ASM_APISERVER_PORT, ASM_KCM_PORT, ASM_SCHEDULER_PORT,
#   ASM_KWOK_PORT            fixed ports (default: free ports picked at random in 20000-32000)
#   ASM_POD_CIDR             range kwok takes pod IPs from (default 127.100.0.1/16). The mesh tests use
#                            10.244.0.1/16, inside a network namespace of their own (scripts/netns.sh)
#   ASM_NODE_ADDRESS         an address of this network namespace that pods in namespaces of their own
#                            reach the API server at (scripts/netns.sh sets it): the API server then listens
#                            on all addresses, and its certificate names this one too
# Binaries come from the pinned toolchain (scripts/toolchain.sh --print-bin), built if missing.
#
# Everything binds to 127.0.0.1. Pod IPs come from 127.100.0.0/16, node IPs from 127.101.0.0/16,
# Service cluster IPs from 127.96.0.0/16 (never routed anywhere off this machine). With ASM_NODE_ADDRESS
# (only inside scripts/netns.sh) the API server and kwok's kubelet endpoint listen on all addresses of that
# namespace, which has no interface but its own loopback and the pods' veth pairs.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DIR="${ASM_CLUSTER_DIR:-$(asm_cache_root)/cluster}"
TIMEOUT="${ASM_CLUSTER_TIMEOUT:-120}"
NODES="${ASM_CLUSTER_NODES:-3}"
POD_CIDR="${ASM_POD_CIDR:-127.100.0.1/16}"
NODE_ADDRESS="${ASM_NODE_ADDRESS:-}"
APISERVER_BIND=127.0.0.1
[ -z "$NODE_ADDRESS" ] || APISERVER_BIND=0.0.0.0
NODE_IP_PREFIX="127.101.0"
SERVICE_CIDR="127.96.0.0/16"
SERVICE_FIRST_IP="127.96.0.1"
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok-controller)
# kwokctl's files: its configuration, the PKI it makes, each component's pid and log.
KWOK_NAME=asm
KWOK_CLUSTER="$DIR/kwok/clusters/$KWOK_NAME"
STORAGE_CLASS=local-disk
VOLUMES_PER_NODE=2

BIN="$(asm_toolchain_bin)"

# ---------------------------------------------------------------------------------------
# helpers

port_in_use() {
  # true when something listens on (or is connected from) local port $1, per /proc/net/tcp*.
  local hex
  hex="$(printf ':%04X ' "$1")"
  grep -qi -- "$hex" /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

pick_port() {
  local p i
  for i in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 12000 ))
    if ! port_in_use "$p" && ! grep -qx "$p" "$DIR/.ports-taken" 2>/dev/null; then
      echo "$p" >>"$DIR/.ports-taken"
      echo "$p"
      return 0
    fi
  done
  asm_die "no free port found"
}

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

component_pid() { cat "$KWOK_CLUSTER/pids/$1.pid" 2>/dev/null || true; }

kwokctl() { KWOK_WORKDIR="$DIR/kwok" "$BIN/kwokctl" --name "$KWOK_NAME" "$@"; }

# Its discovery cache stays with the cluster files, not in ~/.kube/cache.
kctl() { KUBECACHEDIR="$DIR/kube-cache" "$BIN/kubectl" --kubeconfig "$DIR/admin.kubeconfig" "$@"; }

load_state() {
  [ -f "$DIR/cluster.env" ] || return 1
  # shellcheck source=/dev/null
  . "$DIR/cluster.env"
}

is_up() {
  load_state || return 1
  local c
  for c in "${COMPONENTS[@]}"; do pid_alive "$(component_pid "$c")" || return 1; done
  return 0
}

readyz_ok() {
  local out
  out="$(kctl get --raw='/readyz' 2>/dev/null || true)"
  [ "$out" = ok ]
}

# wait_for DESCRIPTION LOGNAME COMMAND...: poll until COMMAND succeeds, or fail with the log tail.
wait_for() {
  local what="$1" logname="$2"; shift 2
  local deadline=$(( $(asm_now) + TIMEOUT ))
  while ! "$@" >/dev/null 2>&1; do
    if [ -n "$logname" ] && ! pid_alive "$(component_pid "$logname")"; then
      fail "$logname exited while waiting for $what" "$logname"
    fi
    if [ "$(asm_now)" -ge "$deadline" ]; then
      fail "timed out after ${TIMEOUT}s waiting for $what" "$logname"
    fi
    sleep 0.5
  done
}

fail() {
  local msg="$1" logname="${2:-}"
  asm_log "error: $msg"
  if [ -n "$logname" ] && [ -f "$KWOK_CLUSTER/logs/$logname.log" ]; then
    asm_log "---- last lines of $KWOK_CLUSTER/logs/$logname.log ----"
    tail -n 40 "$KWOK_CLUSTER/logs/$logname.log" >&2
    asm_log "----"
  fi
  asm_log "cleaning up"
  do_down >&2 || true
  exit 1
}

# ---------------------------------------------------------------------------------------
# kwokctl's configuration

# The KwokctlConfiguration: ports, the toolchain's binaries (kwokctl links them, downloading nothing),
# loopback binding, and the flags the local world needs beyond kwokctl's own. kwokctl makes one CA and
# one system:masters certificate, which serves the API server and kwok's kubelet endpoint too: its SANs
# name the Service IP, the nodes' IPs and, in a network namespace, ASM_NODE_ADDRESS.
kwokctl_config() {
  local i sans="\"$SERVICE_FIRST_IP\""
  for i in $(seq 1 "$NODES"); do sans+=", \"$NODE_IP_PREFIX.$i\""; done
  [ -z "$NODE_ADDRESS" ] || sans+=", \"$NODE_ADDRESS\""
  # With loopback pod IPs no Endpoints or EndpointSlice can exist (the API server refuses them): their
  # controllers would only fail, and the Events they leave reach pulumi up as warnings on the Services.
  local controllers="*,-cloud-node-lifecycle-controller,-service-lb-controller,-node-route-controller"
  case "$POD_CIDR" in
    127.*) controllers+=",-endpoints-controller,-endpointslice-controller,-endpointslice-mirroring-controller" ;;
  esac
  cat <<EOF2
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  bindAddress: 127.0.0.1
  kubeApiserverPort: $APISERVER_PORT
  etcdPort: $ETCD_PORT
  etcdPeerPort: $ETCD_PEER_PORT
  kubeControllerManagerPort: $KCM_PORT
  kubeSchedulerPort: $SCHEDULER_PORT
  kwokControllerPort: $KWOK_PORT
  nodeLeaseDurationSeconds: 40
  heartbeatFactor: 1
  kubeApiserverCertSANs: [$sans]
  etcdBinary: $BIN/etcd
  kubeApiserverBinary: $BIN/kube-apiserver
  kubeControllerManagerBinary: $BIN/kube-controller-manager
  kubeSchedulerBinary: $BIN/kube-scheduler
  kwokControllerBinary: $BIN/kwok
  kubectlBinary: $BIN/kubectl
$( [ -z "$NODE_ADDRESS" ] || printf '  enableCRDs: [PortForward]\n' )
componentsPatches:
- name: etcd
  extraArgs:
  - {key: unsafe-no-fsync, value: "true"}
  - {key: log-level, value: warn}
- name: kube-apiserver
  extraArgs:
  - {key: service-cluster-ip-range, value: $SERVICE_CIDR}
  - {key: endpoint-reconciler-type, value: none}
  - {key: advertise-address, value: 127.0.0.1}
  - {key: kubelet-preferred-address-types, value: InternalIP}
  - {key: profiling, value: "false"}
$( [ -z "$NODE_ADDRESS" ] || printf '  - {key: bind-address, value: 0.0.0.0, override: true}\n' )
- name: kube-controller-manager
  extraArgs:
  - {key: controllers, value: "$controllers"}
  - {key: use-service-account-credentials, value: "true"}
  - {key: cluster-signing-cert-file, value: $KWOK_CLUSTER/pki/ca.crt}
  - {key: cluster-signing-key-file, value: $KWOK_CLUSTER/pki/ca.key}
  - {key: leader-elect, value: "false"}
  - {key: profiling, value: "false"}
- name: kube-scheduler
  extraArgs:
  - {key: leader-elect, value: "false"}
  - {key: profiling, value: "false"}
- name: kwok-controller
  extraArgs:
  - {key: manage-all-nodes, value: "false", override: true}
  - {key: manage-nodes-with-annotation-selector, value: kwok.x-k8s.io/node=fake}
  - {key: node-ip, value: $NODE_IP_PREFIX.1, override: true}
  - {key: cidr, value: $POD_CIDR}
$( [ -z "$NODE_ADDRESS" ] || printf '  - {key: server-address, value: "0.0.0.0:%s", override: true}\n' "$KWOK_PORT" )
EOF2
}

# ---------------------------------------------------------------------------------------
# up / down / status / env

ensure_toolchain() {
  local b missing=0
  for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok kwokctl; do
    [ -x "$BIN/$b" ] || missing=1
  done
  if [ "$missing" = 1 ]; then
    asm_log "toolchain incomplete: running scripts/toolchain.sh kubernetes etcd kwok"
    "$ASM_REPO_ROOT/scripts/toolchain.sh" kubernetes etcd kwok >&2
  fi
  KWOK_STAGES="$(dirname "$(readlink -f "$BIN/kwok")")/../stages"
  [ -d "$KWOK_STAGES" ] || asm_die "kwok stage files not found next to $(readlink -f "$BIN/kwok")"
}

# start_apiserver: after stop-apiserver, kwokctl starts again what is not running (the API server alone).
start_apiserver() {
  asm_log "starting kube-apiserver on https://127.0.0.1:$APISERVER_PORT"
  kwokctl start cluster --timeout "${TIMEOUT}s" >"$DIR/kwokctl-start.log" 2>&1 ||
    fail "kwokctl start cluster failed: $(tail -n 5 "$DIR/kwokctl-start.log")" kube-apiserver
  wait_for "kube-apiserver /readyz" kube-apiserver readyz_ok
}

# stop_apiserver: kill kube-apiserver alone (fault tests); everything else keeps running.
stop_apiserver() {
  load_state || asm_die "cluster is not up"
  local pid; pid="$(component_pid kube-apiserver)"
  pid_alive "$pid" || { asm_log "kube-apiserver is not running"; return 0; }
  kill -KILL "$pid"
  while pid_alive "$pid"; do sleep 0.1; done
  asm_log "kube-apiserver (pid $pid) killed"
}

do_up() {
  if is_up; then
    asm_log "cluster already up"
    do_status
    return 0
  fi
  if [ -d "$DIR" ]; then
    asm_log "stale cluster directory $DIR: cleaning it up first"
    do_down >&2 || true
  fi
  ensure_toolchain
  local start
  start="$(asm_now)"
  mkdir -p "$DIR"
  : >"$DIR/.ports-taken"
  ETCD_PORT="${ASM_ETCD_PORT:-$(pick_port)}"
  ETCD_PEER_PORT="${ASM_ETCD_PEER_PORT:-$(pick_port)}"
  APISERVER_PORT="${ASM_APISERVER_PORT:-$(pick_port)}"
  KCM_PORT="${ASM_KCM_PORT:-$(pick_port)}"
  SCHEDULER_PORT="${ASM_SCHEDULER_PORT:-$(pick_port)}"
  KWOK_PORT="${ASM_KWOK_PORT:-$(pick_port)}"
  cat >"$DIR/cluster.env" <<EOF
ETCD_PORT=$ETCD_PORT
ETCD_PEER_PORT=$ETCD_PEER_PORT
APISERVER_PORT=$APISERVER_PORT
KCM_PORT=$KCM_PORT
SCHEDULER_PORT=$SCHEDULER_PORT
KWOK_PORT=$KWOK_PORT
EOF

  asm_log "kwokctl: etcd on 127.0.0.1:$ETCD_PORT, kube-apiserver on https://127.0.0.1:$APISERVER_PORT, kube-controller-manager, kube-scheduler, kwok"
  kwokctl_config >"$DIR/kwokctl.yaml"
  local configs=(-c "$DIR/kwokctl.yaml") f c
  # What kwok does to fake Nodes and Pods: the stage files of the same module version.
  for f in "$KWOK_STAGES"/*.yaml; do configs+=(-c "$f"); done
  # --kubeconfig: kwokctl would add a context to ~/.kube/config; it gets a file of its own instead.
  if ! kwokctl "${configs[@]}" create cluster --runtime binary --kubeconfig "$DIR/kwokctl.kubeconfig" \
      --timeout "${TIMEOUT}s" --wait "${TIMEOUT}s" >"$DIR/kwokctl-create.log" 2>&1; then
    fail "kwokctl create cluster failed: $(tail -n 5 "$DIR/kwokctl-create.log")" kube-apiserver
  fi
  ln -sfn "$KWOK_CLUSTER/kubeconfig.yaml" "$DIR/admin.kubeconfig"
  # kwokctl reports a cluster created even when a component did not come up.
  for c in "${COMPONENTS[@]}"; do
    pid_alive "$(component_pid "$c")" || fail "$c is not running after kwokctl create cluster" "$c"
  done
  wait_for "kube-apiserver /readyz" kube-apiserver readyz_ok

  asm_log "creating $NODES fake nodes"
  local i
  for i in $(seq 1 "$NODES"); do
    kctl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: kwok-node-$i
    topology.kubernetes.io/zone: local-$(( (i - 1) % 2 + 1 ))
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    kubernetes.io/role: agent
    node-role.kubernetes.io/agent: ""
    type: kwok
EOF
  done
  wait_for "$NODES Ready nodes" kwok-controller nodes_ready
  # Distinct loopback InternalIPs per node (kwok keeps addresses that are already set).
  for i in $(seq 1 "$NODES"); do
    kctl patch node "kwok-node-$i" --subresource=status --type=merge \
      -p "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"$NODE_IP_PREFIX.$i\"},{\"type\":\"Hostname\",\"address\":\"kwok-node-$i\"}]}}" >/dev/null
  done
  local_volumes
  wait_for "the default serviceaccount" kube-controller-manager kctl -n default get serviceaccount default
  wait_for "kube-apiserver /readyz" kube-apiserver readyz_ok
  asm_log "cluster up in $(( $(asm_now) - start ))s"
  do_status
}

# The cluster's default StorageClass and $VOLUMES_PER_NODE local PersistentVolumes per node, folders under
# $DIR/volumes: a claim binds for real when its pod is scheduled (WaitForFirstConsumer, like ACK's disk
# class), and the mesh tests' process kubelet mounts the folder, so data outlives the pod. Their capacity
# is nominal: the folders share this machine's disk.
local_volumes() {
  local i k dir
  kctl apply -f - >/dev/null <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: $STORAGE_CLASS
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
EOF
  for i in $(seq 1 "$NODES"); do
    for k in $(seq 1 "$VOLUMES_PER_NODE"); do
      dir="$DIR/volumes/kwok-node-$i-$k"
      mkdir -p "$dir"
      kctl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $STORAGE_CLASS-kwok-node-$i-$k
spec:
  capacity:
    storage: 100Gi
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: $STORAGE_CLASS
  local:
    path: $dir
  nodeAffinity:
    required:
      nodeSelectorTerms:
        - matchExpressions:
            - { key: kubernetes.io/hostname, operator: In, values: [kwok-node-$i] }
EOF
    done
  done
}

nodes_ready() {
  local n
  n="$(kctl get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null | grep -c '^True$' || true)"
  [ "$n" -ge "$NODES" ]
}

do_down() {
  if [ ! -d "$DIR" ]; then
    asm_log "cluster is down (no $DIR)"
    return 0
  fi
  # kwokctl stops the pids it recorded (SIGKILL, in reverse start order) and removes its files.
  if [ -d "$KWOK_CLUSTER" ] && [ -x "$BIN/kwokctl" ]; then
    kwokctl delete cluster --kubeconfig "$DIR/kwokctl.kubeconfig" >"$DIR/kwokctl-delete.log" 2>&1 ||
      asm_log "kwokctl delete cluster failed: $(tail -n 3 "$DIR/kwokctl-delete.log")"
  fi
  # What it could not stop: a create that failed half-way leaves its pids behind.
  local c pid
  for c in "${COMPONENTS[@]}"; do
    pid="$(component_pid "$c")"
    if pid_alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  rm -rf "$DIR"
  asm_log "cluster down"
}

do_status() {
  if [ ! -f "$DIR/cluster.env" ]; then
    echo "cluster: down"
    return 1
  fi
  load_state
  local c pid state rc=0
  for c in "${COMPONENTS[@]}"; do
    pid="$(component_pid "$c")"
    if pid_alive "$pid"; then state="running (pid $pid)"; else state="NOT running"; rc=1; fi
    printf '%-24s %s\n' "$c" "$state"
  done
  if readyz_ok; then echo "apiserver                https://127.0.0.1:$APISERVER_PORT readyz=ok"
  else echo "apiserver                https://127.0.0.1:$APISERVER_PORT readyz=NOT ok"; rc=1; fi
  kctl get nodes -o wide 2>/dev/null || true
  echo "kubeconfig               $DIR/admin.kubeconfig"
  return "$rc"
}

do_env() {
  [ -f "$DIR/admin.kubeconfig" ] || asm_die "cluster is not up (no $DIR/admin.kubeconfig)"
  printf 'export KUBECONFIG=%q\n' "$DIR/admin.kubeconfig"
  local lines line
  # The environment the local world's stacks run in (lib.sh), with the Pulumi home in the cache folder.
  lines="$(asm_local_pulumi_env)" || exit 1
  while IFS= read -r line; do printf 'export %s=%q\n' "${line%%=*}" "${line#*=}"; done <<<"$lines"
}

case "${1:-}" in
  up) do_up ;;
  down) do_down ;;
  status) do_status ;;
  env) do_env ;;
  stop-apiserver) stop_apiserver ;;
  start-apiserver) load_state || asm_die "cluster is not up"; start_apiserver ;;
  *) sed -n '2,21p' "${BASH_SOURCE[0]}"; exit 2 ;;
esac
