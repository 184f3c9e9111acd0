#!/usr/bin/env bash
# Installs what is missing on a fresh Debian machine (as root), then builds.
# Idempotent and quick when everything is in place.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v clang >/dev/null || need_apt+=(clang llvm)
command -v bpftool >/dev/null || need_apt+=(bpftool)
[ -f /usr/include/bpf/libbpf.h ] || need_apt+=(libbpf-dev)
[ -f /usr/include/libelf.h ] || need_apt+=(libelf-dev)
[ -f /usr/include/zlib.h ] || need_apt+=(zlib1g-dev)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
command -v make >/dev/null || need_apt+=(make)
command -v g++ >/dev/null || need_apt+=(g++)
command -v mount >/dev/null || need_apt+=(mount)
# the kernel matrix (test/vm/README.md): qemu boots the test kernels; the rig downloads the rest
command -v qemu-system-x86_64 >/dev/null || need_apt+=(qemu-system-x86)
command -v xz >/dev/null || need_apt+=(xz-utils)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies" >&2
  npm install --no-audit --no-fund --loglevel=error
fi

bash scripts/build.sh
