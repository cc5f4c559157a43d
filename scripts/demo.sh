#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The whole stack on this machine, no cloud account needed:
#   scripts/demo.sh up     npm ci if needed, build the pinned toolchain if needed, start the local
#                          cluster and the manifest mirror, `pulumi up` the stack `local`, print its outputs;
#                          then, where Linux namespaces allow, "mesh in a box": the stack with STRICT mTLS
#                          in a world of its own with a real istiod, Prometheus and productpage, ending
#                          with `npm run verify`'s table (that world ends with the demo)
#   scripts/demo.sh down   `pulumi destroy`, stop the mirror and the cluster, remove their files
# State lives in a local file backend under the cache folder; its passphrase is generated once and kept
# there (0600). The mirror serves $ASM_UPSTREAM_MIRROR (default ../shared/upstream when present);
# without one the stack downloads the real release files.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ASM_REPO_ROOT"

DEMO="$(asm_cache_root)/demo"
STACK=local
export ASM_CLUSTER_DIR="${ASM_CLUSTER_DIR:-$(asm_cache_root)/cluster}"
export PULUMI_BACKEND_URL="file://$DEMO/state"
# The file backend rewrites the state twice per step; compressed it is 50 times smaller (docs/design.md, State and speed).
export PULUMI_DIY_BACKEND_ZSTD=true
# The Kubernetes provider copies the kubeconfig it is given into TMPDIR on every run and never removes it
# (docs/security.md): keep those copies in the demo's folder, which `down` removes.
export TMPDIR="$DEMO/tmp"
mkdir -p "$TMPDIR"
MIRROR="${ASM_UPSTREAM_MIRROR:-}"
[ -z "$MIRROR" ] && [ -d ../shared/upstream ] && MIRROR="$(cd ../shared/upstream && pwd)"

passphrase() {
  mkdir -p "$DEMO"
  if [ ! -s "$DEMO/passphrase" ]; then
    (umask 077; od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$DEMO/passphrase")
  fi
  PULUMI_CONFIG_PASSPHRASE_FILE="$DEMO/passphrase"
  export PULUMI_CONFIG_PASSPHRASE_FILE
}

mirror_up() {
  if [ -f "$DEMO/mirror.pid" ] && kill -0 "$(cat "$DEMO/mirror.pid")" 2>/dev/null; then return 0; fi
  rm -f "$DEMO/mirror.url"
  setsid node scripts/mirror-server.mjs --root "$MIRROR" --port-file "$DEMO/mirror.url" >"$DEMO/mirror.log" 2>&1 </dev/null &
  echo $! >"$DEMO/mirror.pid"
  for _ in $(seq 1 50); do [ -s "$DEMO/mirror.url" ] && return 0; sleep 0.1; done
  asm_die "the mirror did not start; see $DEMO/mirror.log"
}

mirror_down() {
  if [ -f "$DEMO/mirror.pid" ]; then kill "$(cat "$DEMO/mirror.pid")" 2>/dev/null || true; rm -f "$DEMO/mirror.pid" "$DEMO/mirror.url"; fi
}

p() { pulumi --non-interactive --stack "$STACK" "$@"; }

do_up() {
  local t0; t0="$(asm_now)"
  scripts/deps.sh || asm_log "continuing: without them the mesh step is skipped"
  scripts/toolchain.sh >/dev/null
  # From here on the toolchain's Node.js runs npm, the program and the tests.
  asm_use_local_pulumi "$DEMO/pulumi-home"
  [ -d node_modules ] || npm ci --no-audit --no-fund
  scripts/cluster.sh up
  passphrase
  mkdir -p "$DEMO/state"
  pulumi stack select "$STACK" 2>/dev/null || pulumi stack init "$STACK" --secrets-provider passphrase
  pulumi config set --stack "$STACK" alicloud:region cn-hangzhou
  p config set --secret kubeconfig <"$ASM_CLUSTER_DIR/admin.kubeconfig"
  p config set prometheusReplicas 1
  # kwok pods have loopback IPs, which EndpointSlices refuse: Services never get endpoints here.
  p config set awaitServiceEndpoints false
  # No operator runs the Prometheus pods here, so nothing makes the Prometheus Available.
  p config set awaitPrometheus false
  p config set awaitServiceMonitors false
  # The local cluster's default StorageClass (its local volumes), not ACK's disks.
  p config set prometheusStorageClass ""
  if [ -n "$MIRROR" ]; then
    mirror_up
    local url; url="$(cat "$DEMO/mirror.url")"
    p config set operatorUrlTemplate "$url/prometheus-operator/{version}/bundle.yaml"
    p config set bookinfoUrlTemplate "$url/istio/{version}/bookinfo.yaml"
  fi
  p up --yes
  echo
  p stack output
  cat <<MSG

Applied in $(( $(asm_now) - t0 ))s to the local cluster (kubeconfig: $ASM_CLUSTER_DIR/admin.kubeconfig).
Look around:  KUBECONFIG=$ASM_CLUSTER_DIR/admin.kubeconfig kubectl get prometheus,servicemonitors -A
Tear down:    npm run demo:down
MSG
  mesh_in_a_box
}

# The mTLS scrape itself, observed: needs network namespaces, the Debian packages of scripts/deps.sh and
# the upstream mirror (productpage's source); otherwise one line says what was skipped and why.
mesh_in_a_box() {
  local why
  if ! why="$(scripts/netns.sh --check 2>&1)"; then
    echo "mesh in a box skipped: $why"; return 0
  fi
  if ! why="$(scripts/deps.sh --check 2>&1)"; then
    echo "mesh in a box skipped: $(printf '%s' "$why" | head -n1)"; return 0
  fi
  if [ -z "$MIRROR" ]; then
    echo "mesh in a box skipped: it runs productpage from the upstream mirror (set ASM_UPSTREAM_MIRROR)"; return 0
  fi
  echo
  echo "mesh in a box: the stack with STRICT mTLS, a real istiod, Prometheus and productpage (about a minute)"
  npm run -s build
  ASM_UPSTREAM_MIRROR="$MIRROR" scripts/netns.sh node dist/e2e/meshDemo.js
}

do_down() {
  if [ -d "$DEMO/state" ]; then
    asm_use_local_pulumi "$DEMO/pulumi-home"
    passphrase
    if scripts/cluster.sh status >/dev/null 2>&1 && pulumi stack select "$STACK" 2>/dev/null; then
      p destroy --yes
      pulumi stack rm --yes --force "$STACK" || true
    fi
  fi
  mirror_down
  scripts/cluster.sh down
  # The kubeconfig file the program writes for the providers (lib/kubeProvider.ts, KUBECONFIG_DIR).
  rm -rf "$DEMO" Pulumi.local.yaml ".pulumi-kubeconfig/$STACK.yaml"
}

case "${1:-up}" in
  up) do_up ;;
  down) do_down ;;
  *) asm_die "usage: scripts/demo.sh up|down" ;;
esac
