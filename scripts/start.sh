#!/usr/bin/env bash
# `npm start [-- FLAGS]`: set up what is missing, put tetragon and tetra on the PATH,
# then run the agent with the defaults of an installed agent plus FLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
for b in tetragon tetra; do
  [ -x "bin/$b" ] && ln -sfn "$PWD/bin/$b" "/usr/local/bin/$b"
done
defaults=(--export-filename /var/log/tetragon/tetragon.log)
exec bin/tetragon "${defaults[@]}" "$@"
