/**
 * `pid_set`: the process with one of the listed pids and its descendants.
 *
 * As in Tetragon the filter is stateful: it remembers children of matching
 * processes. Whenever it sees an event whose parent pid (or, when the event
 * carries ancestors, any ancestor pid) is tracked, the event's process pid
 * joins the tracked set, so that the child's own children match later on.
 * Differences from Tetragon, both to keep memory bounded:
 *  - learned child pids are capped at `PID_SET_MAX_CHILDREN`; beyond that the
 *    oldest learned pid is forgotten (the listed pids are never dropped);
 *  - a learned pid is forgotten after its process_exit event (which still
 *    matches), so reused pids do not match later.
 * Learning happens in `observe`, which the compiled filter runs for every
 * event, so short-circuiting of other predicates does not hide children.
 */
import type { Process } from "../api/gen/tetragon/tetragon_pb";
import type { GetEventsResponse } from "../api/gen/tetragon/events_pb";
import type { Predicate, PredicateBuilder } from "./types";
import { eventAncestors, eventParent } from "./event-fields";

export const PID_SET_MAX_CHILDREN = 65536;

export class PidSetTracker {
  private readonly roots: ReadonlySet<number>;
  private readonly children = new Set<number>();
  private pendingExit = -1;

  constructor(
    pids: readonly number[],
    private readonly maxChildren = PID_SET_MAX_CHILDREN,
  ) {
    this.roots = new Set(pids);
  }

  /** Number of learned (non-root) pids. */
  get learned(): number {
    return this.children.size;
  }

  tracked(pid: number): boolean {
    return this.roots.has(pid) || this.children.has(pid);
  }

  observe(ev: GetEventsResponse, proc: Process | undefined): void {
    if (this.pendingExit >= 0) {
      this.children.delete(this.pendingExit);
      this.pendingExit = -1;
    }
    if (proc === undefined) return;
    const pid = proc.pid ?? 0;
    if (this.tracked(pid)) {
      if (ev.event.case === "processExit" && this.children.has(pid)) this.pendingExit = pid;
      return;
    }
    const parent = eventParent(ev);
    let join = parent !== undefined && this.tracked(parent.pid ?? 0);
    if (!join) {
      const ancestors = eventAncestors(ev);
      for (let i = 0; i < ancestors.length && !join; i++) {
        join = this.tracked(ancestors[i].pid ?? 0);
      }
    }
    if (!join) return;
    if (this.children.size >= this.maxChildren) {
      for (const oldest of this.children) {
        this.children.delete(oldest);
        break;
      }
    }
    this.children.add(pid);
    if (ev.event.case === "processExit") this.pendingExit = pid;
  }

  matches(proc: Process | undefined): boolean {
    return proc !== undefined && this.tracked(proc.pid ?? 0);
  }
}

export const buildPidSet: PredicateBuilder = (f) => {
  if (f.pidSet.length === 0) return undefined;
  const tracker = new PidSetTracker(f.pidSet);
  const p: Predicate = (_ev, proc) => tracker.matches(proc);
  p.observe = (ev, proc) => tracker.observe(ev, proc);
  return p;
};
