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

asm_log() { printf '%s\n' "$*" >&2; }
asm_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# asm_now: seconds since the epoch (integer).
asm_now() { date +%s; }

# asm_load_versions: source toolchain/versions.env into the current shell.
asm_load_versions() {
  # shellcheck source=../toolchain/versions.env
  . "$ASM_REPO_ROOT/toolchain/versions.env"
}
