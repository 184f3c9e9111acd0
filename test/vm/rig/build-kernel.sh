#!/bin/bash
# build-kernel.sh SRC_DIR OUT_DIR : minimal test kernel with everything built in
# (no modules/initramfs modules needed) incl. FUNCTION_ERROR_INJECTION +
# BPF_KPROBE_OVERRIDE + FPROBE, which no Debian kernel flavour enables; OUT_DIR/boot/ gets
# vmlinuz-custom and config-custom. build-override-kernel.sh fetches the source and runs this.
# SRC_DIR: unpacked linux-source-6.1 (apt-get download linux-source-6.1; dpkg -x; tar xf)
# Needs: gcc make flex bison bc libelf-dev libssl-dev dwarves(pahole)
set -euo pipefail
SRC=$(realpath "$1"); OUT=$(realpath -m "$2"); mkdir -p "$OUT"
cd "$SRC"
make O="$OUT" -s x86_64_defconfig kvm_guest.config
C="scripts/config --file $OUT/.config"
for o in BPF_SYSCALL BPF_JIT BPF_EVENTS KPROBES KPROBE_EVENTS FTRACE FUNCTION_TRACER \
  DYNAMIC_FTRACE FTRACE_SYSCALLS FPROBE FUNCTION_ERROR_INJECTION BPF_KPROBE_OVERRIDE SECURITY SECURITYFS \
  BPF_LSM SECURITY_PATH CGROUP_BPF USER_NS DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT DEBUG_INFO_BTF NET_9P NET_9P_VIRTIO \
  9P_FS 9P_FS_POSIX_ACL VIRTIO_PCI VIRTIO_FS FUSE_FS OVERLAY_FS TMPFS DEVTMPFS PVH \
  SERIAL_8250 SERIAL_8250_CONSOLE MAGIC_SYSRQ IKCONFIG IKCONFIG_PROC KALLSYMS_ALL; do $C -e $o; done
$C --set-str LSM "lockdown,capability,bpf"
$C -d DEBUG_INFO_REDUCED -d DEBUG_INFO_SPLIT   # (MODULES must stay: KPROBES depends on it in 6.1)
# trim what a test VM never needs (build time)
for o in DRM SOUND WLAN WIRELESS CFG80211 MAC80211 RFKILL USB_SUPPORT HID INPUT_MOUSE \
  INPUT_KEYBOARD AGP FB MEDIA_SUPPORT HAMRADIO MACINTOSH_DRIVERS NETWORK_FILESYSTEMS_NFS \
  NFS_FS ATA SCSI MD ETHERNET PCCARD HWMON THERMAL I2C; do $C -d $o; done
make O="$OUT" -s olddefconfig
for o in FUNCTION_ERROR_INJECTION BPF_KPROBE_OVERRIDE FPROBE FTRACE_SYSCALLS BPF_LSM DEBUG_INFO_BTF 9P_FS NET_9P_VIRTIO OVERLAY_FS; do
  grep -q "^CONFIG_$o=y" "$OUT/.config" || { echo "CONFIG_$o did not stick" >&2; exit 1; }; done
time make O="$OUT" -j"$(nproc)" bzImage
mkdir -p "$OUT/boot"
cp "$OUT/arch/x86/boot/bzImage" "$OUT/boot/vmlinuz-custom"
cp "$OUT/.config" "$OUT/boot/config-custom"
echo "built $OUT/boot/vmlinuz-custom"
