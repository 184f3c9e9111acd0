/**
 * Gets a matrix kernel into the cache ($TETRAGON_TS_VM_CACHE/kernels/<name>): Debian kernels
 * with test/vm/rig/fetch-kernel.sh (apt-get download), the override kernel from
 * $TETRAGON_TS_OVERRIDE_KERNEL, the cache, or a prebuilt copy to seed the cache from. Returns the
 * kernel's directory, or why it cannot be had (the matrix skips it with that reason).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "../helpers/agent";
import type { VmKernel } from "../vm/kernels";
import { config } from "./vm-config";

export const RIG = path.join(ROOT, "test/vm/rig");
/** Where this project's development machines keep a prebuilt override kernel (optional). */
const OVERRIDE_SEEDS = ["/work/shared/vmrig/kernel-override"];

export type Obtained = { dir: string; how: string } | { skip: string };

/** True when dir has what run-in-vm.sh boots: boot/vmlinuz-* and boot/config-*. */
export function isKernelDir(dir: string): boolean {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(dir, "boot"));
  } catch {
    return false;
  }
  return names.some((n) => n.startsWith("vmlinuz-")) && names.some((n) => n.startsWith("config-"));
}

/** The kernel's config text (boot/config-*). */
export function kernelConfig(dir: string): string {
  const boot = path.join(dir, "boot");
  return fs.readFileSync(path.join(boot, fs.readdirSync(boot).find((n) => n.startsWith("config-"))!), "utf8");
}

/** The options of k.config that the kernel in dir lacks. */
export function missingConfig(k: VmKernel, dir: string): string[] {
  const cfg = kernelConfig(dir);
  return k.config.filter((o) => !new RegExp(`^CONFIG_${o}=[ym]$`, "m").test(cfg)).map((o) => `CONFIG_${o}`);
}

/** The last lines of a script's output, on one line (a skip reason). */
function tail(text: string, lines = 2): string {
  return text.split("\n").map((l) => l.trim()).filter(Boolean).slice(-lines).join(" / ");
}

/** Runs a rig script; on failure, what it said last. */
function rig(script: string, args: string[], timeoutS: number): string | undefined {
  const r = spawnSync("bash", [path.join(RIG, script), ...args], {
    encoding: "utf8",
    timeout: Math.max(1, Math.floor(timeoutS * 1000)),
    env: { ...process.env, TETRAGON_TS_VM_CACHE: config.cacheDir },
  });
  if (r.status === 0) return undefined;
  const why = r.error ? String(r.error) : `exit ${r.status ?? r.signal}`;
  return `${[script, ...args].join(" ")} failed (${why}): ${tail(`${r.stdout}${r.stderr}`)}`;
}

function obtainOverride(k: VmKernel, cached: string): Obtained {
  if (config.overrideKernel) {
    if (!isKernelDir(config.overrideKernel)) {
      throw new Error(`TETRAGON_TS_OVERRIDE_KERNEL=${config.overrideKernel} has no boot/vmlinuz-* and boot/config-*`);
    }
    const lacks = missingConfig(k, config.overrideKernel);
    if (lacks.length) throw new Error(`TETRAGON_TS_OVERRIDE_KERNEL=${config.overrideKernel} lacks ${lacks.join(", ")}`);
    return { dir: config.overrideKernel, how: "TETRAGON_TS_OVERRIDE_KERNEL" };
  }
  const build = "build it (about 45 minutes on 2 cores) with: bash test/vm/rig/build-override-kernel.sh";
  if (isKernelDir(cached)) {
    const lacks = missingConfig(k, cached);
    if (lacks.length) return { skip: `the cached ${k.name} (${cached}) lacks ${lacks.join(", ")}; re${build}` };
    return { dir: cached, how: "cache" };
  }
  const seed = OVERRIDE_SEEDS.find((d) => isKernelDir(d) && !missingConfig(k, d).length);
  if (seed) {
    fs.rmSync(cached, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    fs.cpSync(path.join(seed, "boot"), path.join(`${cached}.part`, "boot"), { recursive: true });
    fs.renameSync(`${cached}.part`, cached);
    return { dir: cached, how: `cache, seeded from ${seed}` };
  }
  const stale = OVERRIDE_SEEDS.filter(isKernelDir).map((d) => ` (${d} lacks ${missingConfig(k, d).join(", ")})`);
  return {
    skip:
      `${k.name} cannot be downloaded (no distribution enables CONFIG_BPF_KPROBE_OVERRIDE) and is not in ${cached}${stale.join("")}; ` +
      `${build}, or point TETRAGON_TS_OVERRIDE_KERNEL at a directory with boot/vmlinuz-* and boot/config-*`,
  };
}

/** The kernel's directory (fetching it when the cache lacks it), or why it cannot be had. */
export function obtainKernel(k: VmKernel, fetchTimeoutS: number): Obtained {
  const cached = path.join(config.cacheDir, "kernels", k.name);
  const got = k.source === "override" ? obtainOverride(k, cached) : undefined;
  if (got && "skip" in got) return got;
  const busybox = rig("fetch-busybox.sh", [], fetchTimeoutS);
  if (busybox) return { skip: `no busybox for the VM's initramfs: ${busybox}` };
  if (got) return got;
  let how = "cache";
  if (!isKernelDir(cached)) {
    const failed = rig("fetch-kernel.sh", [k.source, cached], fetchTimeoutS);
    if (failed) return { skip: `cannot fetch ${k.name}: ${failed}` };
    how = `downloaded by fetch-kernel.sh ${k.source}`;
  }
  const lacks = missingConfig(k, cached);
  if (lacks.length) throw new Error(`${k.name} (${cached}) lacks ${lacks.join(", ")}`);
  return { dir: cached, how };
}
