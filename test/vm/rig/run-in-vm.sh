#!/bin/bash
# run-in-vm.sh [-m MEM] [-c CPUS] [-t SECS] [--fs 9p|virtiofs] [--tcg|--kvm] [--rw DIR]
#              KERNEL_DIR -- COMMAND [ARGS...]
# Boot KERNEL_DIR (from fetch-kernel.sh: boot/vmlinuz-*, boot/config-*, lib/modules/;
# or a build tree with arch/x86/boot/bzImage + .config) under qemu with the host /
# shared read-only (9p or virtiofs) + tmpfs overlay as guest root; run COMMAND as
# root in $PWD; stream its output; exit with its status (124 timeout, 125 no status).
# --rw DIR: host DIR shared read-write at the same path. VMRIG_CONSOLE=1: show console.
# The guest command sees VMRIG_GUEST=1. Cache (initramfs, busybox, per-run files):
# $TETRAGON_TS_VM_CACHE, default ~/.cache/tetragon-ts-vm.
set -euo pipefail
VMRIG=${TETRAGON_TS_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tetragon-ts-vm}; BB=${BUSYBOX:-$VMRIG/busybox/bin/busybox}
MEM=2G CPUS=2 TMO=900 FS=auto ACCEL=auto RW=
while [[ ${1:-} == -* && $1 != -- ]]; do case $1 in
  -m) MEM=$2 ;; -c) CPUS=$2 ;; -t) TMO=$2 ;; --fs) FS=$2 ;; --rw) RW=$(realpath "$2") ;;
  --tcg|--kvm) ACCEL=${1#--}; shift; continue ;; *) echo "bad option $1" >&2; exit 2 ;;
  esac; shift 2; done
[[ $# -ge 3 && $2 == -- ]] || { sed -n '2,10p' "$0" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null || { echo "run-in-vm: qemu-system-x86_64 is missing (apt-get install qemu-system-x86)" >&2; exit 2; }
K=$(realpath "$1"); shift 2
first() { for f in "$@"; do [ -f "$f" ] && { echo "$f"; return; }; done; }
VMLINUZ=$(first "$K"/boot/vmlinuz-* "$K"/arch/x86/boot/bzImage)
CONFIG=$(first "$K"/boot/config-* "$K"/.config)
MODDIR=$(ls -d "$K"/lib/modules/* 2>/dev/null | head -1 || true)
[[ -n $VMLINUZ && -n $CONFIG ]] || { echo "run-in-vm: need boot/vmlinuz-* and boot/config-* in $K" >&2; exit 2; }
[[ -x $BB ]] || { echo "run-in-vm: no busybox at $BB (run fetch-busybox.sh)" >&2; exit 2; }
has() { grep -qE "^CONFIG_$1=[ym]" "$CONFIG"; }
[ "$FS" = auto ] && { if has 9P_FS && has NET_9P_VIRTIO; then FS=9p; elif has VIRTIO_FS; then FS=virtiofs
  else echo "kernel has neither 9p nor virtiofs" >&2; exit 2; fi; }
[ "$FS" = 9p ] && WANT="virtio_pci 9pnet_virtio 9p overlay" || WANT="virtio_pci virtiofs overlay"

# Resolve needed modules (=m) and their dependencies from each .ko's modinfo "depends=".
declare -A MP=() SEEN=(); ORDER=()
unz() { case $1 in *.xz) xz -dc "$1" ;; *.zst) zstd -qdc "$1" ;; *) cat "$1" ;; esac; }
[ -n "$MODDIR" ] && while read -r f; do b=${f##*/}; b=${b%%.ko*}; MP[${b//-/_}]=$f; done \
  < <(find "$MODDIR" -name '*.ko*')
add() { local m=${1//-/_} d; [ -n "${SEEN[$m]:-}" ] && return; SEEN[$m]=1
  [ -z "${MP[$m]:-}" ] && return   # not a module file: built in (modules.builtin)
  for d in $(unz "${MP[$m]}" | tr '\0' '\n' | sed -n 's/^depends=//p' | tr , ' '); do add "$d"; done
  ORDER+=("$m"); }
for m in $WANT; do add "$m"; done

# Initramfs (cached): static busybox, the modules, and /init.
mkdir -p "$VMRIG/cache" "$VMRIG/runs"
INITRD=$VMRIG/cache/initrd-$( { echo "$K $FS ${ORDER[*]:-}"; stat -c %Y "$VMLINUZ" "$0"; } | sha1sum | cut -c1-12).gz
if [ ! -s "$INITRD" ]; then
  ST=$(mktemp -d "$VMRIG/cache/st.XXXX"); mkdir -p "$ST"/{bin,dev,proc,sys,ko,lower,rw,R}
  cp "$BB" "$ST/bin/busybox"; mknod -m 600 "$ST/dev/console" c 5 1 || true
  for m in "${ORDER[@]}"; do unz "${MP[$m]}" > "$ST/ko/$m.ko"; done
  echo "${ORDER[*]:-}" > "$ST/modules"
  cat > "$ST/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin; export PATH=/bin
mount -t devtmpfs dev /dev; exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc; mount -t sysfs sys /sys
for m in $(cat /modules); do insmod /ko/$m.ko || echo "insmod $m failed"; done
for a in $(cat /proc/cmdline); do case $a in vmrig.*=*) a=${a#vmrig.}; eval "${a%%=*}=\${a#*=}";; esac; done
if [ $fs = 9p ]; then t=9p o=trans=virtio,version=9p2000.L,msize=512000; ro=ro,cache=loose,$o; else t=virtiofs o=rw ro=ro; fi
mount -t $t -o $ro hostroot /lower || { echo VMRIG_RC=125 >/dev/ttyS1; poweroff -f; }
mount -t tmpfs tmpfs /rw; mkdir /rw/u /rw/w; R=/R
mount -t overlay -o lowerdir=/lower,upperdir=/rw/u,workdir=/rw/w overlay $R
[ -n "$rw" ] && mkdir -p $R$rw && mount -t $t -o $o hostrw $R$rw
mount -t proc proc $R/proc; mount -t sysfs sys $R/sys; mount -t devtmpfs dev $R/dev
mkdir -p $R/dev/pts $R/dev/shm; mount -t devpts pts $R/dev/pts; mount -t tmpfs shm $R/dev/shm
mount -t tmpfs run $R/run; mount -t cgroup2 cgroup2 $R/sys/fs/cgroup
for f in tracefs:kernel/tracing debugfs:kernel/debug securityfs:kernel/security bpf:fs/bpf; do
  mount -t ${f%%:*} ${f%%:*} $R/sys/${f#*:}; done
ip link set lo up; hostname vmrig; stty -F /dev/ttyS1 raw -echo; ulimit -l unlimited
echo "vmrig-init: boot done at $(cut -d' ' -f1 /proc/uptime)s"
chroot $R /bin/bash "$cmd" </dev/null >/dev/ttyS1 2>&1; rc=$?
echo "vmrig-init: rc=$rc at $(cut -d' ' -f1 /proc/uptime)s, guest mem used $(free -m | awk '/Mem:/{print $3}') MiB"
echo "VMRIG_RC=$rc" >/dev/ttyS1; sync; poweroff -f
EOF
  chmod 755 "$ST/init"
  (cd "$ST" && find . | "$BB" cpio -o -H newc 2>/dev/null | gzip -1) > "$INITRD"; rm -rf "$ST"
fi

# Per-run dir (the guest reads cmd through the shared root); serial0=console, serial1=output.
RUN=$(mktemp -d "$VMRIG/runs/r.XXXXXX"); VP=(); trap 'kill ${VP[*]:-} 2>/dev/null || true; rm -rf "$RUN"' EXIT
{ echo "export PATH='$PATH' HOME=/root TERM=dumb VMRIG_GUEST=1"; printf 'cd %q || cd /\nexec' "$PWD"
  printf ' %q' "$@"; echo; } > "$RUN/cmd"
: > "$RUN/out"
Q=(qemu-system-x86_64 -nographic -no-reboot -nodefaults -monitor none -m "$MEM" -smp "$CPUS"
   -kernel "$VMLINUZ" -initrd "$INITRD" -serial "file:$RUN/console" -serial "file:$RUN/out"
   -append "console=ttyS0 rdinit=/init panic=-1 lsm=lockdown,capability,bpf loglevel=4 vmrig.fs=$FS vmrig.cmd=$RUN/cmd ${RW:+vmrig.rw=$RW}")
if [ "$FS" = 9p ]; then
  Q+=(-fsdev local,id=r,path=/,security_model=none,readonly=on,multidevs=remap -device virtio-9p-pci,fsdev=r,mount_tag=hostroot)
  [ -n "$RW" ] && Q+=(-fsdev "local,id=w,path=$RW,security_model=none" -device virtio-9p-pci,fsdev=w,mount_tag=hostrw)
else  # virtiofs: one C virtiofsd (Debian qemu 7.2) per share; needs shared guest memory
  Q+=(-object "memory-backend-memfd,id=mem,size=$MEM,share=on" -numa node,memdev=mem)
  for s in "hostroot:/" ${RW:+"hostrw:$RW"}; do
    /usr/lib/qemu/virtiofsd --socket-path="$RUN/${s%%:*}" -o source="${s#*:}" -o cache=always \
      -o sandbox=chroot -o log_level=err >/dev/null 2>&1 & VP+=($!)
    Q+=(-chardev "socket,id=${s%%:*},path=$RUN/${s%%:*}" -device "vhost-user-fs-pci,chardev=${s%%:*},tag=${s%%:*}")
    for _ in $(seq 50); do [ -S "$RUN/${s%%:*}" ] && break; sleep 0.1; done
  done
fi
# /dev/kvm backed by kvm_pvm (e.g. Firecracker sandboxes) cannot run stock kernels: use TCG.
if [ $ACCEL = kvm ] || [[ $ACCEL = auto && -w /dev/kvm && ! -d /sys/module/kvm_pvm ]]; then
  ACCEL=kvm; Q+=(-enable-kvm -cpu host); else ACCEL=tcg; Q+=(-accel tcg -cpu max); fi
T0=$(date +%s.%N)
timeout "$TMO" "${Q[@]}" & QPID=$!
tail -n +1 -f --pid=$QPID "$RUN/out" | sed -u '/^VMRIG_RC=/d' & TPID=$!
QRC=0; wait $QPID || QRC=$?; wait $TPID
RC=$(sed -n 's/^VMRIG_RC=//p' "$RUN/out" | tr -dc 0-9); RC=${RC:-$([ $QRC = 124 ] && echo 124 || echo 125)}
[[ $RC = 12[45] || ${VMRIG_CONSOLE:-0} = 1 ]] && cat "$RUN/console" >&2
echo "run-in-vm: $(basename "$VMLINUZ") $ACCEL fs=$FS wall=$(awk "BEGIN{printf \"%.2f\", $(date +%s.%N) - $T0}")s" \
  "$(grep -ao 'boot done.*\|rc=.*' "$RUN/console" | tr '\n' ' ')" >&2
exit "$RC"
