#!/bin/bash
# fetch-busybox.sh -- download (never install) busybox-static with apt-get and unpack it to
# $TETRAGON_TS_VM_CACHE/busybox (default ~/.cache/tetragon-ts-vm): the VM's initramfs shell.
set -euo pipefail
CACHE=${TETRAGON_TS_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tetragon-ts-vm}
[ -x "$CACHE/busybox/bin/busybox" ] && exit 0
command -v apt-get >/dev/null || { echo "fetch-busybox: apt-get is missing (Debian only)" >&2; exit 1; }
mkdir -p "$CACHE/debs"; cd "$CACHE/debs"
apt-cache show busybox-static >/dev/null 2>&1 || { echo "fetch-busybox: apt-get update" >&2; apt-get update -qq >&2; }
if ! ls busybox-static_*.deb >/dev/null 2>&1; then
  echo "fetch-busybox: apt-get download busybox-static" >&2
  apt-get download -q busybox-static 2>&1 | { grep -v 'Download is performed unsandboxed' || true; } >&2
fi
rm -rf "$CACHE/busybox.part"; dpkg -x "$(ls busybox-static_*.deb | tail -1)" "$CACHE/busybox.part"
rm -rf "$CACHE/busybox"; mv "$CACHE/busybox.part" "$CACHE/busybox"
