#!/usr/bin/env bash
# Lints .github/workflows with actionlint, built once from the Go module proxy at the pinned version.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
asm_load_versions
cd "$ASM_REPO_ROOT"
dir="$(asm_cache_root)/toolchain/actionlint-${ACTIONLINT_VERSION}"
if [ ! -x "$dir/actionlint" ]; then
  echo "building actionlint ${ACTIONLINT_VERSION}..."
  GOBIN="$dir" go install "github.com/rhysd/actionlint/cmd/actionlint@${ACTIONLINT_VERSION}"
fi
"$dir/actionlint" -no-color
echo "actionlint ${ACTIONLINT_VERSION}: workflows ok"
