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

# The CLI runs node under its own name (a hard link, or a copy across file systems), so that
# the kernel sees its executable and enforcement can spare the agent's own CLI.
node_bin=$(readlink -f "$(command -v node)")
link=build/tetra-node
if [ ! "$link" -ef "$node_bin" ] && ! cmp -s "$link" "$node_bin" 2>/dev/null; then
  mkdir -p build
  ln -f "$node_bin" "$link" 2>/dev/null || cp -f "$node_bin" "$link"
fi
