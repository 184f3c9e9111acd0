/**
 * Reads the processes that already run when the agent starts from /proc, as the kernel
 * sensor would have seen them. Processes may vanish mid-read: those are skipped.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { RawCreds, RawNamespaces } from "../decode/process";
import { NS_FIELDS } from "../decode/layout";

const PF_KTHREAD = 0x00200000;
const CLK_TCK = 100n;

export interface ProcEntry {
  pid: number;
  ppid: number;
  nspid: number;
  /** boot-relative start time in ns, at the clock-tick granularity of /proc */
  ktime: bigint;
  kernelThread: boolean;
  comm: string;
  exe: string;
  /** argv, argv[0] included */
  argv: string[];
  cwd: string;
  creds: RawCreds;
  ns: RawNamespaces;
  auid: number;
  cgroupPath: string;
}

const NS_LINKS: Record<(typeof NS_FIELDS)[number], string> = {
  uts: "uts", ipc: "ipc", mnt: "mnt", pid: "pid", pid_for_children: "pid_for_children", net: "net",
  time: "time", time_for_children: "time_for_children", cgroup: "cgroup", user: "user",
};

export function readNamespaceInodes(dir: string): RawNamespaces {
  const ns = {} as RawNamespaces;
  for (const f of NS_FIELDS) {
    try {
      const link = fs.readlinkSync(path.join(dir, "ns", NS_LINKS[f]));
      const m = /\[(\d+)\]/.exec(link);
      ns[f] = m ? Number(m[1]) : 0;
    } catch {
      ns[f] = 0;
    }
  }
  return ns;
}

/**
 * The host's namespaces: those of PID 1, or of kthreadd (PID 2) where PID 1's are hidden
 * (kernel threads always live in the initial namespaces).
 */
export function hostNamespaces(procRoot: string): RawNamespaces {
  const init = readNamespaceInodes(path.join(procRoot, "1"));
  if (init.net && init.mnt) return init;
  return readNamespaceInodes(path.join(procRoot, "2"));
}

function parseStat(text: string): { ppid: number; flags: number; starttime: bigint; comm: string } {
  // comm may hold spaces and parentheses: fields restart after the last ')'.
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  const rest = text.slice(close + 2).split(" ");
  // rest[0] is field 3 (state)
  return { ppid: Number(rest[1]), flags: Number(rest[6]), starttime: BigInt(rest[19]), comm };
}

function parseStatus(text: string): { creds: RawCreds; nspid: number } {
  const get = (key: string): string => {
    const i = text.indexOf("\n" + key + ":");
    if (i < 0) return "";
    const end = text.indexOf("\n", i + 1);
    return text.slice(i + key.length + 2, end < 0 ? undefined : end).trim();
  };
  const uids = get("Uid").split(/\s+/).map(Number);
  const gids = get("Gid").split(/\s+/).map(Number);
  const hex = (k: string): bigint => {
    const v = get(k);
    return v ? BigInt("0x" + v) : 0n;
  };
  const nspids = get("NSpid").split(/\s+/).filter(Boolean).map(Number);
  return {
    creds: {
      uid: uids[0] ?? 0, euid: uids[1] ?? 0, suid: uids[2] ?? 0, fsuid: uids[3] ?? 0,
      gid: gids[0] ?? 0, egid: gids[1] ?? 0, sgid: gids[2] ?? 0, fsgid: gids[3] ?? 0,
      securebits: 0,
      userNsLevel: 0,
      capPermitted: hex("CapPrm"),
      capEffective: hex("CapEff"),
      capInheritable: hex("CapInh"),
    },
    nspid: nspids.length ? nspids[nspids.length - 1] : 0,
  };
}

/**
 * The cgroup path of the hierarchy the kernel sensor tracks: the memory controller's
 * line on cgroup v1, the "0::" line on v2.
 */
export function pickCgroupPath(text: string, mode: "v1-memory" | "v2"): string {
  for (const line of text.split("\n")) {
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const p = line.slice(second + 1);
    if (mode === "v2" && line.startsWith("0::")) return p;
    if (mode === "v1-memory" && controllers.split(",").includes("memory")) return p;
  }
  return "";
}

export function readProcEntry(procRoot: string, pid: number, cgroupMode: "v1-memory" | "v2"): ProcEntry | undefined {
  const dir = path.join(procRoot, String(pid));
  try {
    const stat = parseStat(fs.readFileSync(path.join(dir, "stat"), "latin1"));
    const status = parseStatus(fs.readFileSync(path.join(dir, "status"), "utf8"));
    const kernelThread = (stat.flags & PF_KTHREAD) !== 0;
    let argv: string[] = [];
    let exe = "";
    let cwd = "";
    let auid = 0xffffffff;
    let cgroupPath = "";
    if (!kernelThread) {
      const cmdline = fs.readFileSync(path.join(dir, "cmdline"));
      argv = cmdline.length ? cmdline.toString("utf8").replace(/\0$/, "").split("\0") : [];
      try { exe = fs.readlinkSync(path.join(dir, "exe")); } catch { exe = argv[0] ?? ""; }
      try { cwd = fs.readlinkSync(path.join(dir, "cwd")); } catch { cwd = ""; }
      try { auid = Number(fs.readFileSync(path.join(dir, "loginuid"), "utf8").trim()); } catch { /* no audit */ }
      try { cgroupPath = pickCgroupPath(fs.readFileSync(path.join(dir, "cgroup"), "utf8"), cgroupMode); } catch { /* gone */ }
    }
    return {
      pid,
      ppid: stat.ppid,
      nspid: status.nspid,
      ktime: stat.starttime * (1_000_000_000n / CLK_TCK),
      kernelThread,
      comm: stat.comm,
      exe,
      argv,
      cwd,
      creds: status.creds,
      ns: readNamespaceInodes(dir),
      auid,
      cgroupPath,
    };
  } catch {
    return undefined;
  }
}

/** Every process in /proc, parents before children (ascending start time). */
export function walkProc(procRoot: string, cgroupMode: "v1-memory" | "v2"): ProcEntry[] {
  const out: ProcEntry[] = [];
  for (const name of fs.readdirSync(procRoot)) {
    if (!/^\d+$/.test(name)) continue;
    const e = readProcEntry(procRoot, Number(name), cgroupMode);
    if (e) out.push(e);
  }
  out.sort((a, b) => (a.ktime < b.ktime ? -1 : a.ktime > b.ktime ? 1 : a.pid - b.pid));
  return out;
}
