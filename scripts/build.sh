#!/usr/bin/env bash
# Builds the BPF objects, the native addon and the TypeScript, each only when stale.
set -euo pipefail
cd "$(dirname "$0")/.."

make -s -C bpf

addon=build/Release/tetragon_native.node
if [ ! -f "$addon" ] || [ -n "$(find native binding.gyp -newer "$addon" -type f 2>/dev/null | head -1)" ]; then
  echo "build: native addon" >&2
  gyp=$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js
  log=$(mktemp)
  node "$gyp" rebuild --nodedir="$(npm config get nodedir)" --loglevel=error >"$log" 2>&1 || {
    cat "$log" >&2
    echo "build: native addon failed" >&2
    exit 1
  }
fi

npx --no-install tsc -p .
