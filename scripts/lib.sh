# shellcheck shell=bash source-path=SCRIPTDIR
# Shared helpers for scripts/toolchain.sh and scripts/cluster.sh. Source it; do not run it.

# Repository root (the directory holding toolchain/ and scripts/).
ASM_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ASM_REPO_ROOT

# Root of everything this project caches outside the work tree.
asm_cache_root() {
  printf '%s\n' "${XDG_CACHE_HOME:-$HOME/.cache}/asm-prom-mtls"
}

# Directory of symlinks to the pinned tools.
asm_toolchain_bin() {
  printf '%s\n' "$(asm_cache_root)/toolchain/bin"
}

# The environment this project's stacks run in on this machine (the demo, the e2e tests and the bench,
# `scripts/cluster.sh env`), as KEY=value lines for the caller to export. The engine finds every plugin
# where a released CLI keeps it, so it prints no warning about where it took one from:
# - PATH: the toolchain first (its Node.js and CLI). scripts/toolchain.sh puts the language host and the
#   dynamic-provider host (the CRD set's) beside the `pulumi` binary, where the engine looks for the
#   plugins a release bundles, and leaves them and the Kubernetes provider off PATH.
# - PULUMI_HOME (the argument, default the cache root's pulumi-home): its plugin cache links the
#   Kubernetes provider the toolchain built, filed under the version the SDK asks for.
# - PULUMI_DEV: that provider is older than the SDK (versions.json, kubernetesProvider: the module proxy
#   serves no later provider commit; the e2e tests run this pair). Told so, the engine skips its
#   plugin-version check, which would repeat the skew as a warning on every step; here is the one place
#   it is accepted. It also shows the CLI's hidden developer commands, and changes nothing else a stack does.
asm_local_pulumi_env() {
  local home="${1:-$(asm_cache_root)/pulumi-home}" plugin cached
  [ -n "${PULUMI_KUBERNETES_SDK_VERSION:-}" ] || asm_load_versions
  plugin="$(asm_cache_root)/toolchain/pulumi-resource-kubernetes-v$PULUMI_KUBERNETES_VERSION/bin/pulumi-resource-kubernetes"
  [ -x "$plugin" ] || asm_die "the toolchain's Kubernetes provider $PULUMI_KUBERNETES_VERSION is not built: run scripts/toolchain.sh"
  cached="$home/plugins/resource-kubernetes-v$PULUMI_KUBERNETES_SDK_VERSION"
  mkdir -p "$cached"
  ln -sfn "$plugin" "$cached/pulumi-resource-kubernetes"
  printf 'PATH=%s:%s\n' "$(asm_toolchain_bin)" "$PATH"
  printf 'PULUMI_HOME=%s\n' "$home"
  printf 'PULUMI_DEV=true\n'
  printf 'PULUMI_SKIP_UPDATE_CHECK=true\n'
  printf 'PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true\n'
}

# Exports what asm_local_pulumi_env prints into the current shell.
asm_use_local_pulumi() {
  local lines line
  lines="$(asm_local_pulumi_env "$@")" || exit 1
  while IFS= read -r line; do
    export "${line?}"
  done <<<"$lines"
}

asm_log() { printf '%s\n' "$*" >&2; }
asm_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# asm_now: seconds since the epoch (integer).
asm_now() { date +%s; }

# asm_load_versions: the toolchain's pins into the current shell: toolchain/versions.env, then the pins
# it shares with the stack, from versions.json (PROMETHEUS_OPERATOR_VERSION, PROMETHEUS_VERSION,
# PROMETHEUS_MODULE_VERSION, PULUMI_KUBERNETES_*).
asm_load_versions() {
  # shellcheck source=../toolchain/versions.env
  . "$ASM_REPO_ROOT/toolchain/versions.env"
  local shared
  shared="$(node "$ASM_REPO_ROOT/scripts/versions-env.mjs")" || asm_die "cannot read the shared pins of versions.json (needs node)"
  eval "$shared"
}
