/**
 * Boots a kernel with test/vm/rig/run-in-vm.sh and runs the in-VM suite (every
 * dist/test/vm/*.test.js) in it with node's TAP reporter, streaming the test results (or, with
 * TETRAGON_TS_VM_VERBOSE=1, every line) to stderr and collecting the whole output.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "../helpers/agent";
import { VM_KERNEL_ENV, type VmKernel } from "../vm/kernels";
import { config } from "./vm-config";
import { RIG } from "./vm-obtain";

export interface VmResult {
  /** the guest command's exit status; 124: the VM timed out, 125: the guest never reported one */
  status: number;
  output: string;
  wallS: number;
  /** run-in-vm.sh's last line: kernel, accelerator, boot and run times */
  rigLine: string;
}

/** The in-VM suite's files, relative to the project (adding a test/vm/*.test.ts adds one). */
export function vmTestFiles(): string[] {
  const dir = path.join(ROOT, "dist/test/vm");
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".test.js"))
    .sort()
    .map((f) => path.join("dist/test/vm", f));
}

const SHOWN = /^\s*(not ok|ok) \d+ - |^run-in-vm:|^# (pass|fail|skipped) /;

export function runSuiteInVm(k: VmKernel, kernelDir: string, timeoutS: number): Promise<VmResult> {
  const t0 = Date.now();
  const cmd = [
    "env", `${VM_KERNEL_ENV}=${k.name}`, `TETRAGON_TS_VM_KERNEL_DIR=${path.resolve(kernelDir)}`, `TETRAGON_TS_TIMEOUT_SCALE=${config.timeoutScale}`,
    process.execPath, "--test", "--test-reporter=tap", "--test-concurrency=1", ...vmTestFiles(),
  ];
  const child = spawn("bash", [path.join(RIG, "run-in-vm.sh"), "-t", String(Math.floor(timeoutS)), kernelDir, "--", ...cmd], {
    cwd: ROOT,
    detached: true, // its own process group: a hung qemu is killed with it
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, TETRAGON_TS_VM_CACHE: config.cacheDir },
  });
  let output = "";
  let partial = "";
  const show = (l: string) => {
    if (config.verbose || SHOWN.test(l)) process.stderr.write(`[${k.name}] ${l}\n`);
  };
  const onData = (d: Buffer) => {
    output += d.toString().replace(/\r/g, "");
    const lines = (partial + d.toString().replace(/\r/g, "")).split("\n");
    partial = lines.pop() ?? "";
    lines.forEach(show);
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  // run-in-vm.sh stops qemu at timeoutS; this is the backstop should the script itself hang
  const killer = setTimeout(() => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      /* gone */
    }
  }, Math.floor((timeoutS + 60) * 1000));
  return new Promise((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(killer);
      if (partial) show(partial);
      const rigLine = output.split("\n").filter((l) => l.startsWith("run-in-vm:")).pop() ?? "";
      resolve({ status: code ?? (signal ? 128 : 125), output, wallS: (Date.now() - t0) / 1000, rigLine });
    });
  });
}

/**
 * The VM never got to the suite: its kernel panicked while booting, before node's test runner
 * printed a single line (a panic once the suite runs is a failure like any other).
 */
export function panickedBeforeSuite(r: VmResult): boolean {
  return r.status === 125 && /Kernel panic - not syncing/.test(r.output) && !/^\s*(# Subtest: |(not )?ok \d+ )/m.test(r.output);
}
