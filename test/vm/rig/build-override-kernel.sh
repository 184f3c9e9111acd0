#!/bin/bash
# build-override-kernel.sh [DEST_DIR] -- build the kernel matrix's override kernel (Debian's
# linux-source-6.1 through build-kernel.sh: everything built in, CONFIG_BPF_KPROBE_OVERRIDE,
# FPROBE, FTRACE_SYSCALLS) and install its boot/ as DEST_DIR, by default the matrix's cache entry
# $TETRAGON_TS_VM_CACHE/kernels/override-6.1 (cache default ~/.cache/tetragon-ts-vm).
# Installs the build tools with apt-get when missing. Source and objects stay in the cache's
# build/ (about 4 GB; delete it when done). Takes long: run it alone, e.g. under nice.
set -euo pipefail
HERE=$(dirname "$(realpath "$0")")
CACHE=${TETRAGON_TS_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tetragon-ts-vm}
DEST=$(realpath -m "${1:-$CACHE/kernels/override-6.1}")
need=()
for p in gcc make flex bison bc libelf-dev libssl-dev dwarves xz-utils; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  echo "build-override-kernel: installing ${need[*]}" >&2
  apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
W=$CACHE/build; mkdir -p "$W"; cd "$W"
if ! ls linux-source-6.1_*.deb >/dev/null 2>&1; then
  apt-cache show linux-source-6.1 >/dev/null 2>&1 || apt-get update -qq
  apt-get download -q linux-source-6.1 2>&1 | { grep -v 'Download is performed unsandboxed' || true; } >&2
fi
if [ ! -d src ]; then
  rm -rf pkg src.part; dpkg -x "$(ls linux-source-6.1_*.deb | tail -1)" pkg; mkdir src.part
  tar -xf pkg/usr/src/linux-source-6.1.tar.xz -C src.part --strip-components=1
  rm -rf pkg; mv src.part src
fi
"$HERE/build-kernel.sh" src out
rm -rf "$DEST.part"; mkdir -p "$DEST.part/boot"; cp out/boot/vmlinuz-custom out/boot/config-custom "$DEST.part/boot/"
rm -rf "$DEST"; mv "$DEST.part" "$DEST"
echo "build-override-kernel: installed $DEST (the build tree is $W, $(du -sh "$W" | cut -f1))" >&2
