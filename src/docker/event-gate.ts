/**
 * `--enable-docker`: holds back an event whose process (or parent) runs in a container
 * the Docker index does not know yet, for at most `maxWaitMs`, while the index inspects
 * that container; then fills `pod` on the event's processes and publishes it. Like
 * Tetragon's event cache, which holds events whose pod information is missing, but with
 * one bounded wait per container id. Events keep their order: while one waits, the
 * events after it queue behind it. Events of host processes and of known containers pass
 * straight through when nothing waits.
 */
import type { GetEventsResponse } from "../api/gen/tetragon/events_pb";
import type { Process } from "../api/gen/tetragon/tetragon_pb";
import type { ProcessCache } from "../process/cache";

export interface ContainerWaiter {
  /** undefined when there is nothing to wait for */
  whenKnown(containerId: string, ms: number): Promise<void> | undefined;
}

export class DockerEventGate {
  private readonly queue: GetEventsResponse[] = [];
  private waiting = false;
  /** events that were held, for tests and logs */
  held = 0;

  constructor(
    private readonly cache: ProcessCache,
    private readonly index: ContainerWaiter,
    private readonly publish: (ev: GetEventsResponse) => void,
    private readonly maxWaitMs = 1000,
  ) {}

  push(ev: GetEventsResponse): void {
    if (this.waiting) {
      this.queue.push(ev);
      return;
    }
    const wait = this.waitFor(ev);
    if (wait === undefined) {
      this.publish(ev);
      return;
    }
    this.queue.push(ev);
    this.hold(wait);
  }

  private hold(wait: Promise<void>): void {
    this.waiting = true;
    this.held++;
    void wait.then(() => this.drain());
  }

  private drain(): void {
    this.waiting = false;
    // the head's container is now known (or given up on): re-fill its pods and go on
    let first = true;
    while (this.queue.length > 0) {
      const ev = this.queue[0];
      if (!first) {
        const wait = this.waitFor(ev);
        if (wait !== undefined) {
          this.hold(wait);
          return;
        }
      }
      first = false;
      this.queue.shift();
      this.refill(ev);
      this.publish(ev);
    }
  }

  /** The wait for one process's container, or undefined when there is none (known, or host). */
  private waitForProcess(p: Process | undefined, waits: Promise<void>[] | undefined): Promise<void>[] | undefined {
    if (p === undefined || p.docker === "" || p.pod !== undefined) return waits;
    const w = this.index.whenKnown(p.docker, this.maxWaitMs);
    if (w === undefined) return waits;
    (waits ??= []).push(w);
    return waits;
  }

  /** Per event: no list, no closure unless a container is unknown. */
  private waitFor(ev: GetEventsResponse): Promise<void> | undefined {
    const v = ev.event.value as { process?: Process; parent?: Process; ancestors?: Process[] } | undefined;
    if (v === undefined) return undefined;
    let waits = this.waitForProcess(v.process, undefined);
    waits = this.waitForProcess(v.parent, waits);
    if (Array.isArray(v.ancestors)) for (const a of v.ancestors) waits = this.waitForProcess(a, waits);
    if (waits === undefined) return undefined;
    return Promise.all(waits).then(() => undefined);
  }

  /** The process with the pod found after the wait, as a copy: an event's Process can be
   *  shared with other events (ProcessCache.eventProcess), so it is replaced, not edited. */
  private refillProcess<P extends Process | undefined>(p: P): P {
    if (p === undefined || p.docker === "" || p.pod !== undefined) return p;
    const e = this.cache.peek(p.execId);
    const pod = e ? this.cache.podOf(e) : undefined;
    return pod !== undefined ? { ...p, pod } : p;
  }

  private refill(ev: GetEventsResponse): void {
    const v = ev.event.value as { process?: Process; parent?: Process; ancestors?: Process[] } | undefined;
    if (v === undefined) return;
    if (v.process !== undefined) v.process = this.refillProcess(v.process);
    if (v.parent !== undefined) v.parent = this.refillProcess(v.parent);
    if (Array.isArray(v.ancestors)) v.ancestors = v.ancestors.map((a) => this.refillProcess(a));
  }
}
