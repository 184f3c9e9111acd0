/**
 * Helpers for the in-VM suite (test/vm/*.test.ts). These tests run only inside a VM booted by
 * test/vm/rig/run-in-vm.sh (VMRIG_GUEST=1), started by test/matrix/kernel-matrix.test.ts with
 * the kernel's name in TETRAGON_TS_VM_KERNEL; `npm test` does not run them on the host.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import assert from "node:assert/strict";
import type { RunningAgent } from "../helpers/agent";
import { VM_KERNEL_ENV, vmKernel, type VmKernel } from "./kernels";

/** A skip reason for describe()/test() on the host, false inside a VM. */
export function guestOnly(): string | false {
  return process.env.VMRIG_GUEST === "1" ? false : "runs only inside a VM (test/matrix/kernel-matrix.test.ts boots one)";
}

/** The kernel this VM was booted with, as the host named it. */
export function guestKernel(): VmKernel {
  const name = process.env[VM_KERNEL_ENV] ?? "";
  const k = vmKernel(name);
  if (!k) throw new Error(`${VM_KERNEL_ENV}=${JSON.stringify(name)} names no kernel of test/vm/kernels.ts`);
  return k;
}

/** The last `lines` lines of the agent's log. */
export function logTail(agent: RunningAgent, lines = 40): string {
  return agent.logs().trimEnd().split("\n").slice(-lines).join("\n");
}

/** Runs fn; when it throws, appends the agent's log tail to the error (the host prints it). */
export async function withAgentLog<T>(agent: RunningAgent, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    err.message += `\n--- agent log tail ---\n${logTail(agent)}`;
    throw err;
  }
}

/** `name: true|false` pairs of `tetra probe` or of the agent's "BPF detected features" line. */
export function parseFeatures(text: string): Map<string, boolean> {
  const m = new Map<string, boolean>();
  for (const [, name, v] of text.matchAll(/([a-z_]+): (true|false)/g)) m.set(name, v === "true");
  return m;
}

export function assertFeatures(got: Map<string, boolean>, want: Record<string, boolean>, where: string): void {
  for (const [name, value] of Object.entries(want)) {
    assert.equal(got.get(name), value, `${where}: ${name} should be ${value} on this kernel (got ${got.get(name)})`);
  }
}

/** open(path) from a fresh process: "ok" or the errno name */
export function tryOpen(file: string): string {
  const r = spawnSync("/usr/bin/python3", ["-c", `
import errno
try:
    open(${JSON.stringify(file)}).read(); print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
`], { encoding: "utf8" });
  return r.stdout.trim();
}

/**
 * The loadable modules of the kernel this VM runs (the host passes the kernel's folder in
 * TETRAGON_TS_VM_KERNEL_DIR; the guest sees the host's files), or undefined when it has none:
 * the override kernel has everything built in.
 */
export function guestModulesDir(): string | undefined {
  const dir = process.env.TETRAGON_TS_VM_KERNEL_DIR;
  if (!dir) return undefined;
  const mods = path.join(dir, "lib/modules", os.release(), "kernel");
  return fs.existsSync(mods) && fs.existsSync("/proc/modules") ? mods : undefined;
}

/**
 * Loads a module file with finit_module(2) from a fresh process, decompressing a .ko.xz first,
 * and with its appended signature cut off when `unsigned`. "ok" or the errno name.
 */
export function loadModule(file: string, unsigned: boolean): string {
  const r = spawnSync("/usr/bin/python3", ["-c", `
import ctypes, errno, lzma, os, struct, sys, tempfile
data = open(sys.argv[1], "rb").read()
if sys.argv[1].endswith(".xz"):
    data = lzma.decompress(data)
magic = b"~Module signature appended~\\n"
if sys.argv[2] == "1" and data.endswith(magic):
    sig_len = struct.unpack(">I", data[-len(magic) - 4:-len(magic)])[0]
    data = data[:len(data) - len(magic) - 12 - sig_len]
fd, name = tempfile.mkstemp(suffix=".ko")
os.write(fd, data)
os.close(fd)
fd = os.open(name, os.O_RDONLY)  # finit_module refuses a file open for writing (ETXTBSY)
libc = ctypes.CDLL(None, use_errno=True)
rc = libc.syscall(313, fd, b"", 0)  # finit_module
print("ok" if rc == 0 else errno.errorcode[ctypes.get_errno()])
`, file, unsigned ? "1" : "0"], { encoding: "utf8" });
  return r.stdout.trim() || r.stderr.trim();
}
