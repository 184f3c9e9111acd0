/**
 * The contract of the N-API addon (native/): a thin binding of libbpf.
 * It holds no policy logic; every decision is taken in TypeScript.
 * Errors thrown by the addon are `Error`s with `errno` (positive number), `code`
 * (e.g. "EPERM") and a message that ends with libbpf's last log lines.
 */
import * as path from "node:path";

export type AttachSpec =
  | { kind: "auto" }
  | { kind: "tracepoint"; category: string; name: string; cookie?: number }
  | { kind: "raw_tracepoint"; name: string; cookie?: number }
  | { kind: "tp_btf" }
  /** fentry/fexit programs: the target was set with setAttachTarget */
  | { kind: "trace" }
  | { kind: "lsm" }
  | { kind: "kprobe"; func: string; retprobe?: boolean; offset?: number; cookie?: number }
  /** one link for many kernel functions (kprobe.multi programs), a cookie each */
  | { kind: "kprobe_multi"; syms: string[]; cookies: number[]; retprobe?: boolean }
  | { kind: "uprobe"; binary: string; func?: string; offset?: number; refCtrOffset?: number; retprobe?: boolean; pid?: number; cookie?: number }
  | { kind: "cgroup"; cgroupPath: string };

export interface ProgramInfo { name: string; section: string; type: number; autoload: boolean }
export interface MapInfo { name: string; type: number; keySize: number; valueSize: number; maxEntries: number; fd: number }

export interface NativeLink {
  readonly fd: number;
  pin(path: string): void;
  unpin(): void;
  /** Detaches (unless pinned and then unpinned later) and frees the link. Idempotent. */
  destroy(): void;
}

export interface NativeObject {
  /** Overwrites a `const volatile` global in .rodata (or .data/.bss) by name; before load. */
  setGlobal(name: string, value: Buffer): void;
  setMapMaxEntries(map: string, maxEntries: number): void;
  setMapPinPath(map: string, path: string): void;
  setProgramAutoload(prog: string, autoload: boolean): void;
  /** fentry/fexit: the kernel function; LSM: the hook name without bpf_lsm_. Before load. */
  setAttachTarget(prog: string, target: string): void;
  load(): void;
  programs(): ProgramInfo[];
  maps(): MapInfo[];
  mapFd(name: string): number;
  progFd(name: string): number;
  attach(prog: string, spec: AttachSpec): NativeLink;
  /** Frees the object; links created from it must be destroyed first. Idempotent. */
  close(): void;
}

export interface NativeRingBuffer {
  /** Starts the consumer thread. */
  start(): void;
  /** Stops the consumer thread and waits for it; batches in flight are delivered first. Idempotent. */
  stop(): Promise<void>;
  /** Records handed to JavaScript so far, and batches. */
  stats(): { records: number; batches: number; bytes: number };
}

export type FanotifyMarkKind = "inode" | "dir" | "mount";

export interface FanotifyGuardStats {
  /** Permission events answered (overflow notices are not events). */
  events: number;
  /** Answered from a fresh deny_map entry: verdict 0 (allowed) or non-zero (denied). */
  allowed: number;
  denied: number;
  /** No entry, an entry for another kind of operation, or one older than 10 s. */
  unknown: number;
  /** Unknown events denied because the guard is fail-closed. */
  unknownDenied: number;
  /** Events caused by the agent's own threads: always allowed. */
  own: number;
  /** deny_map lookups failing other than ENOENT, failed reads or response writes. */
  errors: number;
  /** FAN_Q_OVERFLOW notices (the kernel allowed what it could not queue). */
  overflows: number;
  /** Events carrying FAN_OPEN_PERM / FAN_OPEN_EXEC_PERM (one event may carry both). */
  openEvents: number;
  execEvents: number;
  /** Time from read() returning the event to the response written, in ns. */
  answerNsSum: number;
  answerNsMax: number;
  /** Non-empty buckets (4 per power of two), ascending: `count` answers took less than `belowNs`. */
  answerHistogram: Array<{ belowNs: number; count: number }>;
}

/**
 * A fanotify group (FAN_CLASS_CONTENT) whose native thread answers FAN_OPEN_PERM and
 * FAN_OPEN_EXEC_PERM events from deny_map (key: u32 tid, value: struct deny_entry, 24 bytes).
 */
export interface NativeFanotifyGuard {
  /**
   * "inode": the file or directory itself; "dir": the directory and its direct children
   * (FAN_EVENT_ON_CHILD); "mount": the whole mount containing `path` (FAN_MARK_MOUNT).
   * Opening a directory is checked too (FAN_ONDIR). Throws an errno Error naming the path.
   */
  mark(path: string, kind: FanotifyMarkKind, events: { open?: boolean; exec?: boolean }): void;
  /** Starts the answering thread; marks may be added before or after. */
  start(): void;
  /** Stops and joins the thread and closes the group (the kernel allows pending events). Idempotent. */
  close(): void;
  stats(): FanotifyGuardStats;
  /** false when the kernel refused FAN_REPORT_TID: events then carry the tgid. */
  readonly reportTid: boolean;
}

export interface LookupBatchResult { keys: Buffer; values: Buffer; count: number }

export interface NativeAddon {
  libbpfVersion(): string;
  BpfObject: new (objectPath: string, opts?: { btfCustomPath?: string; kernelLogLevel?: number }) => NativeObject;
  /**
   * A consumer of a BPF_MAP_TYPE_RINGBUF. `onBatch(buf, count)` runs on the JS thread with
   * `count` records packed in `buf` as [u32 length][u32 reserved][length bytes, padded to 8].
   */
  RingBuffer: new (
    mapFd: number,
    onBatch: (buf: Buffer, count: number) => void,
    opts?: { batchBytes?: number; pollTimeoutMs?: number; maxPendingBatches?: number },
  ) => NativeRingBuffer;
  /**
   * Enforces Override on opens and executions without kprobes or BPF-LSM. The deny map fd is
   * duplicated (the caller may close its own). Needs CAP_SYS_ADMIN.
   */
  FanotifyGuard: new (opts: { denyMapFd: number; failClosed?: boolean }) => NativeFanotifyGuard;
  /** valueSize must be the map's (per-CPU maps: round_up(value, 8) x possible CPUs): it is trusted. */
  mapLookup(fd: number, key: Buffer, valueSize: number): Buffer | null;
  mapUpdate(fd: number, key: Buffer, value: Buffer, flags?: number): void;
  mapDelete(fd: number, key: Buffer): boolean;
  mapNextKey(fd: number, key: Buffer | null, keySize: number): Buffer | null;
  mapLookupBatch(fd: number, keySize: number, valueSize: number, maxCount: number): LookupBatchResult;
  objPin(fd: number, path: string): void;
  objGet(path: string): number;
  closeFd(fd: number): void;
  numPossibleCpus(): number;
  /** clock_gettime(CLOCK_BOOTTIME) in ns: the clock of the kernel's event times. */
  clockBoottimeNs(): bigint;
  /** Probes: libbpf_probe_bpf_prog_type / libbpf_probe_bpf_helper. */
  probeProgType(progType: number): boolean;
  probeHelper(progType: number, helperId: number): boolean;
}

let cached: NativeAddon | undefined;

export function loadNative(): NativeAddon {
  if (!cached) {
    const addonPath = path.resolve(__dirname, "../../../build/Release/tetragon_native.node");
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    cached = require(addonPath) as NativeAddon;
  }
  return cached;
}
