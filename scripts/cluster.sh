#!/usr/bin/env bash
# A local Kubernetes control plane for end-to-end tests, on loopback only:
# etcd + kube-apiserver (TLS) + kube-controller-manager + kube-scheduler + kwok (fake kubelets),
# with 3 fake Nodes in 2 zones whose Pods become Running and Ready with 127.x IPs, and a default
# StorageClass of local PersistentVolumes (folders under the cluster's directory).
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
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)
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

component_pid() { cat "$DIR/pids/$1.pid" 2>/dev/null || true; }

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

# start NAME BINARY ARGS...: start a component in the background, log to $DIR/logs/NAME.log
# and record its pid. setsid gives it its own process group, away from the caller's terminal.
start() {
  local name="$1"; shift
  setsid "$@" >"$DIR/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$DIR/pids/$name.pid"
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
  if [ -n "$logname" ] && [ -f "$DIR/logs/$logname.log" ]; then
    asm_log "---- last lines of $DIR/logs/$logname.log ----"
    tail -n 40 "$DIR/logs/$logname.log" >&2
    asm_log "----"
  fi
  asm_log "cleaning up"
  do_down >&2 || true
  exit 1
}

# ---------------------------------------------------------------------------------------
# certificates and kubeconfigs (openssl)

gen_cert() {
  # gen_cert NAME SUBJECT [SAN]: key + cert signed by the local CA.
  local name="$1" subj="$2" san="${3:-}" pki="$DIR/pki" ext
  openssl genrsa -out "$pki/$name.key" 2048 2>/dev/null
  openssl req -new -key "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr" 2>/dev/null
  ext="$pki/$name.ext"
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [ -n "$san" ]; then
      echo "extendedKeyUsage=serverAuth,clientAuth"
      echo "subjectAltName=$san"
    else
      echo "extendedKeyUsage=clientAuth"
    fi
  } >"$ext"
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 30 -sha256 -extfile "$ext" -out "$pki/$name.crt" 2>/dev/null
  rm -f "$pki/$name.csr" "$ext"
}

gen_pki() {
  local pki="$DIR/pki"
  mkdir -p "$pki"
  chmod 700 "$pki"
  openssl genrsa -out "$pki/ca.key" 2048 2>/dev/null
  openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=asm-prom-mtls-local-ca" -days 30 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$pki/ca.crt" 2>/dev/null
  gen_cert apiserver "/CN=kube-apiserver" \
    "IP:127.0.0.1,IP:$SERVICE_FIRST_IP,${NODE_ADDRESS:+IP:$NODE_ADDRESS,}DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  gen_cert admin "/O=system:masters/CN=asm-admin"
  gen_cert controller-manager "/CN=system:kube-controller-manager"
  gen_cert scheduler "/CN=system:kube-scheduler"
  gen_cert kwok "/O=system:masters/CN=kwok"
  # kwok's kubelet endpoint, where the API server sends port-forwards (mesh mode only).
  [ -z "$NODE_ADDRESS" ] || gen_cert kwok-serving "/CN=kwok-serving" "$(node_ip_sans)"
  # Service-account token signing key pair.
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
}

node_ip_sans() {
  local i sans=""
  for i in $(seq 1 "$NODES"); do sans+="${sans:+,}IP:$NODE_IP_PREFIX.$i"; done
  printf '%s\n' "$sans"
}

write_kubeconfig() {
  # write_kubeconfig FILE CERTNAME
  local file="$1" cert="$2" pki="$DIR/pki"
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: asm-local
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $pki/ca.crt
users:
- name: $cert
  user:
    client-certificate: $pki/$cert.crt
    client-key: $pki/$cert.key
contexts:
- name: asm-local
  context:
    cluster: asm-local
    user: $cert
current-context: asm-local
EOF
  chmod 600 "$file"
}

# ---------------------------------------------------------------------------------------
# up / down / status / env

ensure_toolchain() {
  local b missing=0
  for b in openssl curl setsid; do
    command -v "$b" >/dev/null || asm_die "$b is required (Debian packages openssl, curl, util-linux)"
  done
  for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok; do
    [ -x "$BIN/$b" ] || missing=1
  done
  if [ "$missing" = 1 ]; then
    asm_log "toolchain incomplete: running scripts/toolchain.sh kubernetes etcd kwok"
    "$ASM_REPO_ROOT/scripts/toolchain.sh" kubernetes etcd kwok >&2
  fi
  KWOK_STAGES="$(dirname "$(readlink -f "$BIN/kwok")")/../stages"
  [ -d "$KWOK_STAGES" ] || asm_die "kwok stage files not found next to $(readlink -f "$BIN/kwok")"
}

# start_apiserver: start kube-apiserver (also on its own, after stop-apiserver) and wait for /readyz.
start_apiserver() {
  local pki="$DIR/pki"
  asm_log "starting kube-apiserver on https://127.0.0.1:$APISERVER_PORT"
  start kube-apiserver "$BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address "$APISERVER_BIND" --advertise-address 127.0.0.1 \
    --secure-port "$APISERVER_PORT" --kubelet-preferred-address-types InternalIP \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --authorization-mode Node,RBAC \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --endpoint-reconciler-type none \
    --allow-privileged=true --profiling=false
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
  mkdir -p "$DIR/logs" "$DIR/pids" "$DIR/etcd-data"
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

  asm_log "generating certificates"
  gen_pki
  write_kubeconfig "$DIR/admin.kubeconfig" admin
  write_kubeconfig "$DIR/controller-manager.kubeconfig" controller-manager
  write_kubeconfig "$DIR/scheduler.kubeconfig" scheduler
  write_kubeconfig "$DIR/kwok.kubeconfig" kwok
  local pki="$DIR/pki"

  asm_log "starting etcd on 127.0.0.1:$ETCD_PORT"
  start etcd "$BIN/etcd" --name asm-local --data-dir "$DIR/etcd-data" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "asm-local=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync --log-level warn
  wait_for "etcd health" etcd curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_PORT/health"

  start_apiserver

  asm_log "starting kube-controller-manager, kube-scheduler"
  start kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig "$DIR/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$DIR/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$DIR/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$KCM_PORT" \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --use-service-account-credentials=true \
    --controllers '*,-cloud-node-lifecycle-controller,-service-lb-controller,-node-route-controller' \
    --leader-elect=false --profiling=false
  start kube-scheduler "$BIN/kube-scheduler" \
    --kubeconfig "$DIR/scheduler.kubeconfig" \
    --authentication-kubeconfig "$DIR/scheduler.kubeconfig" \
    --authorization-kubeconfig "$DIR/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$SCHEDULER_PORT" \
    --leader-elect=false --profiling=false

  asm_log "starting kwok"
  local stage_args=() f server_args=(--server-address "127.0.0.1:$KWOK_PORT")
  for f in "$KWOK_STAGES"/*.yaml; do stage_args+=(-c "$f"); done
  if [ -n "$NODE_ADDRESS" ]; then
    # In its own network namespace kwok serves the nodes' kubelet endpoint on their addresses, so that
    # kubectl port-forward reaches pods through PortForward objects (the mesh tests' process kubelet makes them).
    kctl apply --server-side -f "$KWOK_STAGES/../crds/kwok.x-k8s.io_portforwards.yaml" >/dev/null
    server_args=(--server-address "0.0.0.0:$KWOK_PORT" --node-port "$KWOK_PORT" --enable-crds PortForward
      --tls-cert-file "$pki/kwok-serving.crt" --tls-private-key-file "$pki/kwok-serving.key")
  fi
  start kwok "$BIN/kwok" --kubeconfig "$DIR/kwok.kubeconfig" \
    "${stage_args[@]}" \
    --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --cidr "$POD_CIDR" --node-ip "$NODE_IP_PREFIX.1" \
    "${server_args[@]}" \
    --node-lease-duration-seconds 40

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
  wait_for "$NODES Ready nodes" kwok nodes_ready
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
  local i c pid pids=()
  # Reverse start order; only the pids recorded at start.
  for (( i=${#COMPONENTS[@]}-1; i>=0; i-- )); do
    c="${COMPONENTS[$i]}"
    pid="$(component_pid "$c")"
    if pid_alive "$pid"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  local deadline=$(( $(asm_now) + 20 ))
  for pid in "${pids[@]}"; do
    while pid_alive "$pid"; do
      if [ "$(asm_now)" -ge "$deadline" ]; then
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.2
        break
      fi
      sleep 0.2
    done
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
