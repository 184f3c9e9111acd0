#!/usr/bin/env bash
# `npm test`: set up what is missing, then run every test (unit and real-kernel) with
# node's test runner. The kernel tests need root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
mapfile -t files < <(find dist/test -name '*.test.js' | sort)
exec node --test --test-concurrency=1 "${files[@]}"
