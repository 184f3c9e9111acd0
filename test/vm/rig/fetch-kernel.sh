#!/bin/bash
# fetch-kernel.sh SPEC DEST_DIR -- download (never install) a Debian kernel image package with
# apt-get and unpack it (dpkg -x), then busybox-static (fetch-busybox.sh). SPEC: 6.1 | 6.1-cloud |
# 6.12 | 6.12-cloud (the newest *-unsigned image apt knows) or an exact ABI (6.1.0-57-cloud-amd64).
# Downloads are kept in $TETRAGON_TS_VM_CACHE/debs (default ~/.cache/tetragon-ts-vm).
set -euo pipefail
HERE=$(dirname "$(realpath "$0")")
CACHE=${TETRAGON_TS_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tetragon-ts-vm}
[ $# = 2 ] || { sed -n '2,5p' "$0" >&2; exit 2; }
SPEC=$1; DEST=$(realpath -m "$2"); mkdir -p "$CACHE/debs"; cd "$CACHE/debs"
command -v apt-get >/dev/null || { echo "fetch-kernel: apt-get is missing (Debian only)" >&2; exit 1; }
updated=
update() { [ -n "$updated" ] && return 1; updated=1; echo "fetch-kernel: apt-get update" >&2; apt-get update -qq >&2; }
apt-cache search --names-only '^linux-image-' | grep -q . || update
pick() {
  case $SPEC in
    *-amd64) echo "linux-image-$SPEC-unsigned" ;;
    *) local s=${SPEC%-cloud} f= re
       [[ $SPEC == *-cloud ]] && f=cloud-
       [ "$s" = 6.1 ] && re="6\.1\.0-[0-9]+" || re="${s//./\\.}\.[0-9]+\+deb[0-9]+"
       apt-cache search --names-only '^linux-image-' | grep -E "^linux-image-$re-${f}amd64-unsigned " \
         | awk '{print $1}' | sort -V | tail -1 ;;
  esac
}
PKG=$(pick); apt-cache show "$PKG" >/dev/null 2>&1 || PKG=
if [ -z "$PKG" ]; then update || true; PKG=$(pick); fi
[ -n "$PKG" ] && apt-cache show "$PKG" >/dev/null 2>&1 || { echo "fetch-kernel: apt knows no package for $SPEC" >&2; exit 1; }
get() {
  ls "$1"_*.deb >/dev/null 2>&1 && return
  echo "fetch-kernel: apt-get download $1" >&2
  apt-get download -q "$1" 2>&1 | { grep -v 'Download is performed unsandboxed' || true; } >&2
}
get "$PKG"
rm -rf "$DEST" "$DEST.part"; mkdir -p "$DEST.part"
dpkg -x "$(ls "${PKG}"_*.deb | tail -1)" "$DEST.part"
mv "$DEST.part" "$DEST"
"$HERE/fetch-busybox.sh"
printf 'fetch-kernel: %s -> %s:' "$PKG" "$DEST" >&2
for o in KPROBES FPROBE BPF_KPROBE_OVERRIDE BPF_LSM DEBUG_INFO_BTF NET_9P_VIRTIO 9P_FS OVERLAY_FS; do
  printf ' %s=%s' $o "$(grep -E "^CONFIG_$o=" "$DEST"/boot/config-* | cut -d= -f2 || true)" >&2; done; echo >&2
