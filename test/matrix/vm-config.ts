/**
 * The kernel matrix's settings, all from the environment:
 * - TETRAGON_TS_VM_KERNELS: `all` (default), `none`, or a comma list of kernel names
 * - TETRAGON_TS_VM_CACHE: kernels, downloads, initramfs (default ~/.cache/tetragon-ts-vm)
 * - TETRAGON_TS_VM_BUDGET_S: wall time for the whole VM part, fetches included (default 1200)
 * - TETRAGON_TS_VM_TIMEOUT_S: wall time for one VM (default 600; the budget left caps it)
 * - TETRAGON_TS_VM_TIMEOUT_SCALE: the in-VM TETRAGON_TS_TIMEOUT_SCALE (default 10: TCG is slow)
 * - TETRAGON_TS_VM_VERBOSE=1: stream every line of the VMs' output, not only the test results
 * - TETRAGON_TS_OVERRIDE_KERNEL: a directory with boot/vmlinuz-* and boot/config-* of the
 *   override kernel (see test/vm/README.md)
 */
import * as os from "node:os";
import * as path from "node:path";
import { VM_KERNELS, type VmKernel } from "../vm/kernels";

function num(name: string, dflt: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : dflt;
}

export const config = {
  cacheDir:
    process.env.TETRAGON_TS_VM_CACHE || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "tetragon-ts-vm"),
  budgetS: num("TETRAGON_TS_VM_BUDGET_S", 1200),
  vmTimeoutS: num("TETRAGON_TS_VM_TIMEOUT_S", 600),
  timeoutScale: num("TETRAGON_TS_VM_TIMEOUT_SCALE", 10),
  verbose: process.env.TETRAGON_TS_VM_VERBOSE === "1",
  overrideKernel: process.env.TETRAGON_TS_OVERRIDE_KERNEL || "",
};

export interface Selection {
  /** kernel name → why it is not run (absent: run it) */
  deselected: Map<string, string>;
  /** names in TETRAGON_TS_VM_KERNELS that no kernel has */
  unknown: string[];
}

export function selectKernels(value = process.env.TETRAGON_TS_VM_KERNELS ?? "all"): Selection {
  const v = value.trim() || "all";
  const deselected = new Map<string, string>();
  if (v === "all") return { deselected, unknown: [] };
  const wanted = v === "none" ? [] : v.split(",").map((s) => s.trim()).filter(Boolean);
  for (const k of VM_KERNELS) {
    if (!wanted.includes(k.name)) deselected.set(k.name, `not selected by TETRAGON_TS_VM_KERNELS=${value}`);
  }
  return { deselected, unknown: wanted.filter((n) => !VM_KERNELS.some((k: VmKernel) => k.name === n)) };
}
