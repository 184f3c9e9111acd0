/**
 * Which cgroup hierarchy identifies containers: the unified (v2) one when /sys/fs/cgroup
 * is cgroup2, else the memory controller's v1 hierarchy (hybrid and legacy hosts, where
 * Docker's cgroupfs driver puts containers).
 */
import * as fs from "node:fs";

export type CgroupMode = "v2" | "v1-memory";

export function detectCgroupMode(mountsText = fs.readFileSync("/proc/self/mounts", "utf8")): CgroupMode {
  let v1Memory = false;
  for (const line of mountsText.split("\n")) {
    const [, mnt, type, opts] = line.split(" ");
    if (mnt === "/sys/fs/cgroup" && type === "cgroup2") return "v2";
    if (type === "cgroup" && opts?.split(",").includes("memory")) v1Memory = true;
  }
  return v1Memory ? "v1-memory" : "v2";
}

/** The mount point of the tracked hierarchy, for tests and tools that create cgroups. */
export function trackedHierarchyRoot(mode: CgroupMode, mountsText = fs.readFileSync("/proc/self/mounts", "utf8")): string | undefined {
  for (const line of mountsText.split("\n")) {
    const [, mnt, type, opts] = line.split(" ");
    if (mode === "v2" && type === "cgroup2") return mnt;
    if (mode === "v1-memory" && type === "cgroup" && opts?.split(",").includes("memory")) return mnt;
  }
  return undefined;
}
