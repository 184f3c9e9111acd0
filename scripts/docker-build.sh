#!/usr/bin/env bash
# Builds the agent image from the built tree (run `bash scripts/build.sh` first):
#   bash scripts/docker-build.sh [tag (tetragon-ts:local)] [base image (node:20-bookworm-slim)]
# The context is sent as a tar that follows symlinks (node_modules may be one), with the
# same paths as .dockerignore keeps; development dependencies are left out.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-tetragon-ts:local}
base=${2:-node:20-bookworm-slim}
docker_cli=$(command -v /usr/bin/docker || command -v docker)
for f in dist/src/cli/tetragon/main.js build/Release/tetragon_native.node bpf/.output/process.bpf.o; do
  [ -e "$f" ] || { echo "docker-build: $f is missing: run bash scripts/build.sh first" >&2; exit 1; }
done
tar -ch \
  --exclude=node_modules/typescript --exclude=node_modules/@types --exclude='node_modules/@bufbuild/buf*' \
  --exclude=node_modules/@bufbuild/protoc-gen-es --exclude=node_modules/@bufbuild/protoplugin --exclude=node_modules/.bin \
  Dockerfile .dockerignore package.json bin dist/src build/Release/tetragon_native.node bpf/.output/*.bpf.o node_modules \
  | DOCKER_BUILDKIT=0 "$docker_cli" build -q --build-arg "BASE_IMAGE=$base" -t "$tag" -
