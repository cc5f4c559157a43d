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

# PATH entries for running this project's stacks with the pinned CLI: the toolchain, then the folder of
# @pulumi/pulumi's pulumi-resource-pulumi-nodejs, which runs the CRD set's provider (a released CLI ships
# it beside itself; the one built from source does not).
asm_pulumi_path() {
  printf '%s:%s\n' "$(asm_toolchain_bin)" "$ASM_REPO_ROOT/node_modules/@pulumi/pulumi"
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
