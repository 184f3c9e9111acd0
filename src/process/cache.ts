/**
 * The user-space process cache: every known process by exec_id, with parent links and
 * reference counts (own exec, each child's parent reference). An entry whose count drops
 * to zero is removed by the garbage collector one interval later, so that late events
 * still find it. The cache is bounded: past `capacity`, the least recently added entries
 * are evicted and counted.
 */
import type { Pod, Process } from "../api/gen/tetragon/tetragon_pb";
import type { ContainerPod, PodLookup } from "../k8s/pod-index";

export interface CachedProcess {
  process: Process;
  ktime: bigint;
  /** capability and namespace data kept for filters and later sensors */
  capEffective: bigint;
  refcnt: number;
  /** set when refcnt reached 0; the GC removes it on the pass after */
  deletePending: boolean;
  exited: boolean;
  /** pid in the process's pid namespace (pod.container.pid), when known */
  nspid?: number;
  /** the pod record and Pod message last found for the process's container */
  podSrc?: ContainerPod;
  pod?: Pod;
  /** the Process last handed to an event, and the `process` it was made from: reused while
   *  neither it nor refcnt, tid and pod changed (events' messages are never edited in place) */
  shown?: Process;
  shownFrom?: Process;
}

export interface CacheStats {
  size: number;
  capacity: number;
  evictions: number;
  misses: number;
}

export class ProcessCache {
  private readonly byExecId = new Map<string, CachedProcess>();
  /** the current (latest) process of each pid */
  private readonly byPid = new Map<number, CachedProcess>();
  private evictions = 0;
  private misses = 0;

  /** set with --enable-k8s-api: the pods of this node by container id */
  pods?: PodLookup;

  constructor(readonly capacity: number) {}

  /**
   * The Process of an event: a copy of the cached one with the current refcnt and, when the
   * process runs in a container of a known pod, its `pod`. The pod is looked up at every
   * event (one Map look-up on the docker field), so a pod listed after the process started
   * is attributed, and an updated pod (labels) is seen. A process keeps the last pod found
   * for it after that pod is deleted: its last events (exit) come after the kubelet
   * reported the container gone. The same object is returned while nothing in it changed.
   */
  eventProcess(e: CachedProcess, tid?: number): Process {
    const src = e.process;
    const pod = this.podOf(e) ?? src.pod;
    const shown = e.shown;
    if (shown !== undefined && e.shownFrom === src && shown.refcnt === e.refcnt && shown.pod === pod && shown.tid === (tid ?? src.tid)) {
      return shown;
    }
    const out: Process = { ...src, refcnt: e.refcnt };
    if (tid !== undefined) out.tid = tid;
    if (pod) out.pod = pod;
    e.shown = out;
    e.shownFrom = src;
    return out;
  }

  podOf(e: CachedProcess): Pod | undefined {
    const docker = e.process.docker;
    if (this.pods === undefined || docker === "") return e.pod;
    const rec = this.pods.lookup(docker);
    if (rec !== undefined && rec !== e.podSrc) {
      e.podSrc = rec;
      e.pod = rec.forProcess(e.nspid, e.process.binary, e.process.arguments);
    }
    return e.pod;
  }

  get size(): number {
    return this.byExecId.size;
  }

  stats(): CacheStats {
    return { size: this.byExecId.size, capacity: this.capacity, evictions: this.evictions, misses: this.misses };
  }

  add(entry: CachedProcess): void {
    const id = entry.process.execId;
    if (!this.byExecId.has(id) && this.byExecId.size >= this.capacity) this.evictOldest();
    this.byExecId.set(id, entry);
    const pid = entry.process.pid ?? 0;
    this.byPid.set(pid, entry);
  }

  get(execId: string): CachedProcess | undefined {
    const e = this.byExecId.get(execId);
    if (!e) this.misses++;
    return e;
  }

  /** Without counting a miss: for look-ups where absence is expected. */
  peek(execId: string): CachedProcess | undefined {
    return this.byExecId.get(execId);
  }

  byPidCurrent(pid: number): CachedProcess | undefined {
    return this.byPid.get(pid);
  }

  countMiss(): void {
    this.misses++;
  }

  ref(entry: CachedProcess | undefined): void {
    if (!entry) return;
    entry.refcnt++;
    entry.deletePending = false;
  }

  unref(entry: CachedProcess | undefined): void {
    if (!entry) return;
    if (entry.refcnt > 0) entry.refcnt--;
  }

  /** One GC pass: removes entries that were already unreferenced on the previous pass. */
  gc(): number {
    let removed = 0;
    for (const [id, e] of this.byExecId) {
      if (e.refcnt > 0) continue;
      if (e.deletePending) {
        this.remove(id, e);
        removed++;
      } else {
        e.deletePending = true;
      }
    }
    return removed;
  }

  *entries(): IterableIterator<CachedProcess> {
    yield* this.byExecId.values();
  }

  private remove(id: string, e: CachedProcess): void {
    this.byExecId.delete(id);
    const pid = e.process.pid ?? 0;
    if (this.byPid.get(pid) === e) this.byPid.delete(pid);
  }

  private evictOldest(): void {
    // Map iteration order is insertion order: the first entry is the oldest.
    const first = this.byExecId.entries().next();
    if (first.done) return;
    this.remove(first.value[0], first.value[1]);
    this.evictions++;
  }
}
