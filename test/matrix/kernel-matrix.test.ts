/**
 * The kernel test matrix: for each kernel of test/vm/kernels.ts, get it (download and cache),
 * boot it under qemu and run the in-VM suite (dist/test/vm/*.test.js) inside; the subtest fails
 * with the failed inner tests (and the agent's log tails) when the inner suite fails. A kernel
 * that cannot be had, or that TETRAGON_TS_VM_KERNELS deselects, is skipped with the reason.
 * `npm test` runs this file last. Settings: test/matrix/vm-config.ts.
 */
import { after, describe, test } from "node:test";
import * as fs from "node:fs";
import { spawnSync } from "node:child_process";
import { VM_KERNELS, type VmKernel } from "../vm/kernels";
import { parseTap, type TapSummary } from "./tap";
import { config, selectKernels } from "./vm-config";
import { kernelConfig, obtainKernel } from "./vm-obtain";
import { panickedBeforeSuite, runSuiteInVm, vmTestFiles, type VmResult } from "./vm-run";

const started = Date.now();
/** Below this much budget left, a kernel is skipped rather than started. */
const MIN_VM_S = 120;
/** Boots of one kernel whose guest panics before the suite starts (each costs ~10 s). */
const MAX_BOOTS = 3;
const selection = selectKernels();
const timings: string[] = [];

const budgetLeftS = () => config.budgetS - (Date.now() - started) / 1000;

/** Why this machine cannot boot the kernel, if it cannot. */
function missingTools(kernelDir: string): string | undefined {
  const q = spawnSync("qemu-system-x86_64", ["--version"], { encoding: "utf8" });
  if (q.error || q.status !== 0) return "qemu-system-x86_64 is missing (apt-get install qemu-system-x86; scripts/setup.sh installs it)";
  const cfg = kernelConfig(kernelDir);
  const has9p = /^CONFIG_9P_FS=[ym]$/m.test(cfg) && /^CONFIG_NET_9P_VIRTIO=[ym]$/m.test(cfg);
  if (!has9p && !fs.existsSync("/usr/lib/qemu/virtiofsd")) {
    return "the kernel has no 9p, and virtiofsd (/usr/lib/qemu/virtiofsd, Debian 12's qemu-system-common) is missing";
  }
  return undefined;
}

function failureMessage(k: VmKernel, r: VmResult, tap: TapSummary, timeoutS: number): string {
  const why =
    r.status === 124 ? `the VM timed out after ${Math.floor(timeoutS)} s` : r.status === 125 ? "the guest never reported a status" : `exit ${r.status}`;
  const parts = [`${k.name}: the in-VM suite failed (${why}; ${tap.failures.length} failed, ${tap.counts.pass ?? 0} passed)`];
  for (const f of tap.failures) {
    const error = f.error.split("\n").slice(-60).map((l) => `    ${l}`).join("\n");
    parts.push(`  ✖ ${f.name}\n${error}`);
  }
  if (!tap.counts.pass) parts.push("  no inner test passed");
  parts.push(`--- last lines of the VM's output ---\n${r.output.trimEnd().split("\n").slice(-30).join("\n")}`);
  return parts.join("\n");
}

describe("kernel matrix (in-VM suite under qemu)", () => {
  after(() => {
    if (timings.length) process.stderr.write(`kernel matrix wall times:\n${timings.map((s) => `  ${s}`).join("\n")}\n`);
  });

  if (selection.unknown.length) {
    test("TETRAGON_TS_VM_KERNELS names known kernels", () => {
      throw new Error(`unknown: ${selection.unknown.join(", ")}; known: ${VM_KERNELS.map((k) => k.name).join(", ")}`);
    });
  }

  for (const k of VM_KERNELS) {
    test(k.name, async (t) => {
      const deselected = selection.deselected.get(k.name);
      if (deselected) return t.skip(deselected);
      if (budgetLeftS() < MIN_VM_S) {
        return t.skip(`less than ${MIN_VM_S} s left of the VM part's budget (TETRAGON_TS_VM_BUDGET_S=${config.budgetS})`);
      }
      const files = vmTestFiles();
      if (!files.length) throw new Error("no dist/test/vm/*.test.js: build first (npm run build)");

      const f0 = Date.now();
      const got = obtainKernel(k, Math.min(600, budgetLeftS()));
      const fetchS = (Date.now() - f0) / 1000;
      if ("skip" in got) return t.skip(got.skip);
      const missing = missingTools(got.dir);
      if (missing) return t.skip(missing);

      const timeoutS = Math.min(config.vmTimeoutS, budgetLeftS());
      process.stderr.write(`[${k.name}] kernel from ${got.how} (${fetchS.toFixed(1)} s); booting it for ${files.length} test files, at most ${Math.floor(timeoutS)} s\n`);
      let r = await runSuiteInVm(k, got.dir, timeoutS);
      let tap = parseTap(r.output);
      for (let boot = 2; boot <= MAX_BOOTS && panickedBeforeSuite(r) && budgetLeftS() >= MIN_VM_S; boot++) {
        // qemu's TCG now and then trips the guest kernel's own boot (an int3 from live text
        // patching): nothing of ours has run yet, so the VM is booted again, and said so
        t.diagnostic(`${k.name}: the guest kernel panicked while booting, before the suite started; boot ${boot} of at most ${MAX_BOOTS}`);
        process.stderr.write(`[${k.name}] the guest kernel panicked while booting; boot ${boot} of at most ${MAX_BOOTS}\n`);
        r = await runSuiteInVm(k, got.dir, Math.min(config.vmTimeoutS, budgetLeftS()));
        tap = parseTap(r.output);
      }
      const timing = `${k.name}: ${r.wallS.toFixed(1)} s in the VM, ${fetchS.toFixed(1)} s to get the kernel (${got.how}); ${r.rigLine}`;
      timings.push(timing);
      t.diagnostic(timing);
      t.diagnostic(`in the VM: ${tap.top.map((x) => `${x.name} ${(x.ms / 1000).toFixed(1)} s`).join(", ")}`);
      for (const s of tap.skipped) t.diagnostic(`skipped in the VM: ${s}`);
      if (r.status !== 0 || tap.failures.length || !tap.counts.pass) throw new Error(failureMessage(k, r, tap, timeoutS));
    });
  }
});
