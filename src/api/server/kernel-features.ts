/**
 * The kernel BPF features Tetragon reports (`tetra probe`, GetInfo probes, the agent's
 * "BPF detected features" log line), in Tetragon's order. Helpers, trampolines, LSM,
 * link types and kfuncs are detected by the kernel functions that only exist when they
 * are built in (/proc/kallsyms; libbpf's helper probe through the addon when kallsyms
 * cannot be read); the rest from files the kernel exposes or, last, from the kernel
 * version. A probe that fails counts as "not available".
 */
import * as fs from "node:fs";
import * as os from "node:os";
import type { NativeAddon } from "../../loader/native";

export interface KernelFeature {
  name: string;
  enabled: boolean;
}

const PROG_KPROBE = 2;
const HELPER_PROBE_WRITE_USER = 36;
const HELPER_OVERRIDE_RETURN = 58;
const HELPER_SEND_SIGNAL = 109;

export interface ProbeEnv {
  native?: NativeAddon;
  /** bpf/.output/probe.bpf.o: programs loaded (never attached) to see whether the kernel runs them */
  probeObject?: string;
  release?: string;
  readFile?: (path: string) => string | undefined;
  exists?: (path: string) => boolean;
  arch?: string;
}

/** [major, minor, patch] of a kernel release such as "6.1.0-18-amd64". */
export function kernelVersion(release: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : [0, 0, 0];
}

function atLeast(v: [number, number, number], major: number, minor: number): boolean {
  return v[0] > major || (v[0] === major && v[1] >= minor);
}

function defaultRead(path: string): string | undefined {
  try {
    return fs.readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Whether the kernel loads program `prog` of the probe object (a failed load counts as no). */
function loads(native: NativeAddon | undefined, objectPath: string | undefined, prog: string): boolean {
  if (!native || !objectPath) return false;
  let obj;
  try {
    obj = new native.BpfObject(objectPath);
    for (const p of obj.programs()) obj.setProgramAutoload(p.name, p.name === prog);
    obj.load();
    return true;
  } catch {
    return false;
  } finally {
    obj?.close();
  }
}

function cgroupV2(read: (p: string) => string | undefined): boolean {
  return (read("/proc/self/mounts") ?? "").split("\n").some((l) => l.split(" ")[2] === "cgroup2");
}

/** The Override mechanisms this kernel offers, in the order the compiler prefers them. */
export function overrideMechanisms(features: readonly KernelFeature[]): string[] {
  const on = (n: string) => features.find((f) => f.name === n)?.enabled ?? false;
  return [
    ...(on("override_return") && on("kprobe") ? ["override_return"] : []),
    ...(on("fmodret") ? ["fmod_ret"] : []),
    ...(on("lsm") ? ["lsm"] : []),
    ...(on("cgroup_sock_addr") ? ["cgroup"] : []),
    ...(on("fanotify_perm") ? ["fanotify"] : []),
  ];
}

/** Detects every feature; cheap enough to run at start and per `tetra probe`. */
export function probeKernelFeatures(env: ProbeEnv = {}): KernelFeature[] {
  const read = env.readFile ?? defaultRead;
  const exists = env.exists ?? ((p: string) => fs.existsSync(p));
  const ver = kernelVersion(env.release ?? os.release());
  const arch = env.arch ?? process.arch;
  const native = env.native;
  const helper = (t: number, h: number): boolean => {
    try {
      return native ? native.probeHelper(t, h) : false;
    } catch {
      return false;
    }
  };
  const kallsyms = read("/proc/kallsyms") ?? "";
  const symbols = new Set<string>();
  for (const want of [
    "bpf_override_return", "bpf_send_signal", "bpf_probe_write_user", "bpf_trampoline_link_prog", "bpf_lsm_file_open",
    "bpf_kprobe_multi_cookie", "bpf_kprobe_multi_link_lops", "bpf_uprobe_multi_cookie", "within_error_injection_list", "bpf_strstr",
    "bpf_copy_from_user_str", "bpf_ringbuf_output", "kprobe_multi_link_handler", "uprobe_multi_link_handler",
    "__cgroup_bpf_run_filter_sock_addr", "fanotify_write",
  ]) {
    if (kallsyms.includes(` ${want}\n`)) symbols.add(want);
  }
  // A helper exists when its kernel function does; libbpf's load probe is the fallback
  // when /proc/kallsyms cannot be read (it reports some missing helpers as present).
  const hasHelper = (sym: string, h: number): boolean => (kallsyms ? symbols.has(sym) : helper(PROG_KPROBE, h));
  const btf = exists("/sys/kernel/btf/vmlinux");
  // the symbols say the kernel was built with them; a load says it runs them
  const fentry = btf && symbols.has("bpf_trampoline_link_prog") && loads(native, env.probeObject, "probe_fentry");
  const signal = hasHelper("bpf_send_signal", HELPER_SEND_SIGNAL);
  const fmodret = fentry && symbols.has("within_error_injection_list");
  const lsmList = read("/sys/kernel/security/lsm") ?? "";
  const lsm = symbols.has("bpf_lsm_file_open") && lsmList.split(",").map((s) => s.trim()).includes("bpf")
    && loads(native, env.probeObject, "probe_lsm");
  // bpf_kprobe_multi_cookie is inlined away on 6.1 and 6.12; the link ops and handler exist only with CONFIG_FPROBE
  const kprobeMulti = symbols.has("bpf_kprobe_multi_cookie") || symbols.has("bpf_kprobe_multi_link_lops") || symbols.has("kprobe_multi_link_handler");
  const mixTail = arch === "x64" ? atLeast(ver, 5, 10) : arch === "arm64" ? atLeast(ver, 6, 0) : false;

  return [
    { name: "override_return", enabled: hasHelper("bpf_override_return", HELPER_OVERRIDE_RETURN) },
    { name: "buildid", enabled: atLeast(ver, 5, 12) },
    { name: "kprobe_multi", enabled: kprobeMulti },
    { name: "uprobe_multi", enabled: symbols.has("bpf_uprobe_multi_cookie") || symbols.has("uprobe_multi_link_handler") },
    { name: "fmodret", enabled: fmodret },
    { name: "fmodret_syscall", enabled: fmodret },
    { name: "signal", enabled: signal },
    { name: "large", enabled: atLeast(ver, 5, 3) && signal },
    { name: "link_pin", enabled: atLeast(ver, 5, 7) },
    { name: "lsm", enabled: lsm },
    { name: "missed_stats_kprobe_multi", enabled: kprobeMulti && atLeast(ver, 6, 7) },
    { name: "missed_stats_kprobe", enabled: atLeast(ver, 6, 7) },
    { name: "batch_update", enabled: atLeast(ver, 5, 6) },
    { name: "uprobe_refctroff", enabled: exists("/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset") },
    { name: "audit_loginuid", enabled: exists("/proc/self/loginuid") },
    { name: "probe_write_user", enabled: hasHelper("bpf_probe_write_user", HELPER_PROBE_WRITE_USER) },
    { name: "uprobe_regs_change", enabled: atLeast(ver, 6, 12) },
    { name: "mix_bpf_and_tail_calls", enabled: mixTail },
    { name: "fentry", enabled: fentry },
    { name: "get_func_ret", enabled: fentry && atLeast(ver, 5, 17) },
    { name: "substring_kfunc", enabled: symbols.has("bpf_strstr") },
    { name: "copy_from_user_str", enabled: symbols.has("bpf_copy_from_user_str") },
    // tetragon-ts's own, after Tetragon's list: what kernel-function hooks and events need
    { name: "kprobe", enabled: exists("/sys/bus/event_source/devices/kprobe") },
    { name: "ringbuf", enabled: kallsyms ? symbols.has("bpf_ringbuf_output") : atLeast(ver, 5, 8) },
    // where Override falls back to without override_return, fmod_ret and BPF-LSM
    { name: "cgroup_sock_addr", enabled: symbols.has("__cgroup_bpf_run_filter_sock_addr") && cgroupV2(read) },
    { name: "fanotify_perm", enabled: symbols.has("fanotify_write") },
  ];
}

/** Tetragon's one-line form: `override_return: true, buildid: false, ...`. */
export function formatFeatures(features: readonly KernelFeature[]): string {
  return features.map((f) => `${f.name}: ${f.enabled}`).join(", ");
}
