/**
 * The kernels of the VM test matrix: where the host gets each one (test/matrix/) and what the
 * in-VM suite (test/vm/) expects of it. The host passes the kernel's name into the VM as
 * TETRAGON_TS_VM_KERNEL.
 */

export interface VmKernel {
  name: string;
  /** fetch-kernel.sh SPEC (a Debian package), or "override": the locally built kernel */
  source: string;
  /** kernel config options (CONFIG_*) the suite needs; a kernel without them is not booted */
  config: string[];
  /** os.release() inside the VM */
  release: RegExp;
  /** `tetra probe` / "BPF detected features" values this kernel must report */
  features: Record<string, boolean>;
}

export const VM_KERNELS: readonly VmKernel[] = [
  {
    name: "debian-6.1",
    source: "6.1-cloud",
    config: ["BPF_LSM", "DEBUG_INFO_BTF", "FTRACE_SYSCALLS", "KPROBES"],
    release: /^6\.1\.0-\d+-cloud-amd64$/,
    features: { fentry: true, lsm: true, kprobe_multi: false, override_return: false },
  },
  {
    name: "debian-6.12",
    source: "6.12-cloud",
    config: ["BPF_LSM", "DEBUG_INFO_BTF", "FTRACE_SYSCALLS", "KPROBES", "FPROBE"],
    release: /^6\.12\.\d+\+deb\d+-cloud-amd64$/,
    features: { fentry: true, lsm: true, kprobe_multi: true, override_return: false },
  },
  {
    // Debian's linux-source-6.1 built by test/vm/rig/build-kernel.sh with everything built in,
    // CONFIG_BPF_KPROBE_OVERRIDE and CONFIG_FPROBE included. Syscall tracepoints are not
    // required (older builds lack CONFIG_FTRACE_SYSCALLS): the syscall-policy file skips there.
    name: "override-6.1",
    source: "override",
    config: ["BPF_LSM", "DEBUG_INFO_BTF", "KPROBES", "FPROBE", "BPF_KPROBE_OVERRIDE"],
    release: /^6\.1\.\d+$/,
    features: { fentry: true, lsm: true, kprobe_multi: true, override_return: true },
  },
];

export const VM_KERNEL_ENV = "TETRAGON_TS_VM_KERNEL";

export function vmKernel(name: string): VmKernel | undefined {
  return VM_KERNELS.find((k) => k.name === name);
}
