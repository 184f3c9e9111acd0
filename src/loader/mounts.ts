/** Mounts the pseudo file systems BPF needs when they are missing. */
import * as fs from "node:fs";
import { execFileSync } from "node:child_process";

const MOUNTS: Array<{ type: string; target: string }> = [
  { type: "tracefs", target: "/sys/kernel/tracing" },
  { type: "bpf", target: "/sys/fs/bpf" },
  { type: "securityfs", target: "/sys/kernel/security" },
];

function mounted(target: string, table: string): boolean {
  return table.split("\n").some((l) => l.split(" ")[1] === target);
}

/** Returns the file systems it mounted; throws with the mount error when one fails. */
export function ensureMounts(): string[] {
  const table = fs.readFileSync("/proc/self/mounts", "utf8");
  const done: string[] = [];
  for (const m of MOUNTS) {
    if (mounted(m.target, table)) continue;
    try {
      execFileSync("mount", ["-t", m.type, m.type, m.target], { stdio: ["ignore", "ignore", "pipe"] });
      done.push(m.target);
    } catch (err) {
      // securityfs is only needed for the BPF-LSM probe: its absence is not fatal
      if (m.type === "securityfs") continue;
      throw new Error(`mount ${m.type} at ${m.target}`, { cause: err });
    }
  }
  return done;
}
