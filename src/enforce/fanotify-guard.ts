/**
 * Override for file opens and executions on kernels without kprobes or BPF-LSM: sys_enter
 * BPF programs write per-thread decisions into deny_map, and a fanotify group whose native
 * thread answers FAN_OPEN_PERM / FAN_OPEN_EXEC_PERM events from that map (native/fanotify.cc)
 * turns them into EPERM. This module chooses the marks and drives the native guard.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { FanotifyGuardStats, FanotifyMarkKind, NativeAddon, NativeFanotifyGuard } from "../loader/native";

export interface GuardEvents {
  open?: boolean;
  exec?: boolean;
}

export interface GuardMark {
  path: string;
  kind: FanotifyMarkKind;
  events: GuardEvents;
}

export interface MarkFailure {
  path: string;
  kind: FanotifyMarkKind;
  errno?: number;
  code?: string;
  message: string;
}

export interface FanotifyGuardOptions {
  denyMapFd: number;
  /** Deny events the map has no fresh decision for (else allow them). */
  failClosed: boolean;
  marks: GuardMark[];
}

export class FanotifyGuard {
  private guard?: NativeFanotifyGuard;
  private last?: FanotifyGuardStats;

  constructor(
    private readonly native: NativeAddon,
    private readonly opts: FanotifyGuardOptions,
  ) {}

  /**
   * Creates the group, starts the answering thread, then adds the marks: started first, so
   * that an open of a marked file by the agent itself never waits for a thread not yet
   * running. Per-path mark errors (a missing path, ...) are returned, not thrown.
   */
  open(): MarkFailure[] {
    if (this.guard) throw new Error("fanotify guard: already open");
    const g = new this.native.FanotifyGuard({ denyMapFd: this.opts.denyMapFd, failClosed: this.opts.failClosed });
    try {
      g.start();
    } catch (e) {
      g.close();
      throw e;
    }
    const failures: MarkFailure[] = [];
    for (const m of this.opts.marks) {
      try {
        g.mark(m.path, m.kind, m.events);
      } catch (e) {
        const err = e as Error & { errno?: number; code?: string };
        failures.push({ path: m.path, kind: m.kind, errno: err.errno, code: err.code, message: err.message });
      }
    }
    this.guard = g;
    this.last = undefined;
    return failures;
  }

  get isOpen(): boolean {
    return this.guard !== undefined;
  }

  /** false when the kernel reports process ids instead of thread ids (no FAN_REPORT_TID). */
  get reportTid(): boolean | undefined {
    return this.guard?.reportTid;
  }

  /** Stops the thread and closes the group; the kernel allows what was still pending. Idempotent. */
  close(): void {
    const g = this.guard;
    if (!g) return;
    this.guard = undefined;
    g.close();
    this.last = g.stats();
  }

  /** Live counters, or the final ones after close(); undefined before open(). */
  stats(): FanotifyGuardStats | undefined {
    return this.guard ? this.guard.stats() : this.last;
  }
}

/** Upper bound (ns) of the histogram bucket holding quantile q (0..1); 0 without samples. */
export function histogramQuantile(hist: FanotifyGuardStats["answerHistogram"], q: number): number {
  const total = hist.reduce((n, b) => n + b.count, 0);
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const b of hist) {
    seen += b.count;
    if (seen >= rank) return b.belowNs;
  }
  return hist[hist.length - 1].belowNs;
}

export interface PathValue {
  op: "Equal" | "Prefix";
  path: string;
}

export interface PlannedMark {
  path: string;
  kind: FanotifyMarkKind;
}

function statDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function exists(p: string): boolean {
  try {
    fs.statSync(p);
    return true;
  } catch {
    return false;
  }
}

/** The closest ancestor of `p` that is an existing directory ("/" at worst). */
function nearestDir(p: string): string {
  let d = path.dirname(p);
  while (d !== "/" && !statDir(d)) d = path.dirname(d);
  return d;
}

/**
 * Chooses fanotify marks covering the paths of a policy's Equal/Prefix selector values.
 * - Equal on an existing path: an inode mark on it.
 * - Equal on a missing path: a "dir" mark on its nearest existing parent (covers the file
 *   once created if that parent is its directory).
 * - Prefix naming a directory ("/etc/", or "/etc" when it is one): "dir" marks on it and on
 *   every directory below it, found by a walk that does not follow symlinks.
 * - Prefix ending in a name ("/etc/ss"): a "dir" mark on the parent ("/etc", for its files
 *   starting with "ss") and on every directory below the parent's subdirectories whose name
 *   starts with "ss".
 * When a walk would mark more than `maxDirs` directories, a single "mount" mark on the
 * starting directory replaces its "dir" marks. Directories created later are not covered.
 */
export function planMarks(values: PathValue[], opts: { maxDirs: number }): { marks: PlannedMark[]; notes: string[] } {
  const marks: PlannedMark[] = [];
  const notes: string[] = [];
  const seen = new Set<string>();
  const add = (p: string, kind: FanotifyMarkKind): void => {
    const key = `${kind}\0${p}`;
    if (seen.has(key)) return;
    seen.add(key);
    marks.push({ path: p, kind });
  };

  for (const v of values) {
    if (!path.isAbsolute(v.path)) {
      notes.push(`${v.op} ${v.path}: not an absolute path, not guarded`);
      continue;
    }
    if (v.op === "Equal") {
      const p = path.normalize(v.path);
      if (exists(p)) {
        add(p, "inode");
        continue;
      }
      const dir = nearestDir(p);
      add(dir, "dir");
      notes.push(
        dir === path.dirname(p)
          ? `Equal ${p}: does not exist; watching the files of ${dir}`
          : `Equal ${p}: does not exist, nor does ${path.dirname(p)}; watching the files of ${dir}, which do not include it`,
      );
      continue;
    }

    // Prefix: a directory walked whole, or a parent whose entries are filtered by a name prefix.
    let start: string;
    let namePrefix: string | undefined;
    const trimmed = v.path.length > 1 ? v.path.replace(/\/+$/, "") : v.path;
    if (v.path.endsWith("/") || statDir(v.path)) {
      start = path.normalize(trimmed || "/");
    } else {
      start = path.dirname(path.normalize(v.path));
      namePrefix = path.basename(v.path);
    }
    if (!statDir(start)) {
      const dir = nearestDir(start);
      add(dir, "dir");
      notes.push(`Prefix ${v.path}: ${start} does not exist; watching the files of ${dir}`);
      continue;
    }

    const found: string[] = [start];
    const queue: string[] = [];
    let overflow = false;
    const visit = (dir: string, filter?: string): void => {
      let entries: fs.Dirent[];
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
      } catch (e) {
        notes.push(`Prefix ${v.path}: cannot list ${dir} (${(e as NodeJS.ErrnoException).code ?? e}); its subdirectories are not guarded`);
        return;
      }
      for (const ent of entries) {
        if (!ent.isDirectory()) continue; // symlinks are not followed
        if (filter !== undefined && !ent.name.startsWith(filter)) continue;
        if (found.length >= opts.maxDirs) {
          overflow = true;
          return;
        }
        const sub = path.join(dir, ent.name);
        found.push(sub);
        queue.push(sub);
      }
    };
    visit(start, namePrefix);
    while (!overflow && queue.length > 0) visit(queue.shift() as string);

    if (overflow) {
      add(start, "mount");
      notes.push(`Prefix ${v.path}: more than ${opts.maxDirs} directories under ${start}; one mount mark instead (covers only the mount holding ${start})`);
      continue;
    }
    for (const d of found) add(d, "dir");
  }
  return { marks, notes };
}
