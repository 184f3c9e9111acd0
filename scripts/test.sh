#!/usr/bin/env bash
# `npm test`: set up what is missing, then run every test (unit and real-kernel) with
# node's test runner on this kernel, then, last, the kernel matrix: the focused suite of
# test/vm/ inside VMs with other kernels (test/vm/README.md; TETRAGON_TS_VM_KERNELS=none skips
# it). The kernel tests need root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
mapfile -t files < <(find dist/test -name '*.test.js' -not -path 'dist/test/vm/*' -not -path 'dist/test/matrix/*' | sort)
status=0
node --test --test-concurrency=1 "${files[@]}" || status=$?
node --test --test-concurrency=1 dist/test/matrix/ || status=$?
exit "$status"
