#!/usr/bin/env bash
# Lints .github/workflows with actionlint, built once from the Go module proxy at the pinned version.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=/dev/null
. toolchain/versions.env
dir="${XDG_CACHE_HOME:-$HOME/.cache}/asm-prom-mtls/toolchain/actionlint-${ACTIONLINT_VERSION}"
if [ ! -x "$dir/actionlint" ]; then
  echo "building actionlint ${ACTIONLINT_VERSION}..."
  GOBIN="$dir" go install "github.com/rhysd/actionlint/cmd/actionlint@${ACTIONLINT_VERSION}"
fi
"$dir/actionlint" -no-color
echo "actionlint ${ACTIONLINT_VERSION}: workflows ok"
