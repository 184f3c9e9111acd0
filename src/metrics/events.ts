/**
 * tetragon_events_total{type,namespace,workload,pod,binary}. Labels left out of
 * --metrics-label-filter are reported empty (as Tetragon does). To keep the series count
 * bounded whatever runs on the host, at most `maxSeries` label sets are created; events
 * of further sets are counted under binary="other" with the other process labels empty,
 * so the sum over all series always equals the number of events.
 */
import type * as client from "prom-client";
import { CounterCells, type Cell } from "./counter-cells";
import type { GetEventsResponse } from "../api/gen/tetragon/events_pb";
import { eventProcess, eventTypeOf } from "../filters";
import { EventType } from "../api/gen/tetragon/events_pb";

export const PROCESS_LABELS = ["namespace", "workload", "pod", "binary"] as const;
export const DEFAULT_MAX_SERIES = 4096;
export const OVERFLOW_BINARY = "other";

export class EventMetrics {
  private readonly enabled: ReadonlySet<string>;
  private readonly children = new Map<string, Cell>();
  private readonly cells: CounterCells<string>;
  /** the label set counted last: storms repeat it, and then no key is built */
  private last = { type: "", namespace: "", workload: "", pod: "", binary: "", cell: undefined as Cell | undefined };

  /** @param onRead registers the flush that adds the counts to `counter` when metrics are read */
  constructor(
    counter: client.Counter<string>,
    labelFilter: readonly string[],
    onRead: (flush: () => void) => void,
    private readonly maxSeries = DEFAULT_MAX_SERIES,
  ) {
    this.enabled = new Set(labelFilter);
    this.cells = new CounterCells(counter);
    onRead(() => this.cells.flush());
  }

  private label(name: string, v: string | undefined): string {
    return this.enabled.has(name) ? v ?? "" : "";
  }

  count(ev: GetEventsResponse): void {
    const type = EventType[eventTypeOf(ev)] ?? "UNDEF";
    const p = eventProcess(ev);
    const namespace = this.label("namespace", p?.pod?.namespace);
    const workload = this.label("workload", p?.pod?.workload);
    const pod = this.label("pod", p?.pod?.name);
    const binary = this.label("binary", p?.binary);
    const l = this.last;
    if (l.cell !== undefined && l.type === type && l.binary === binary && l.pod === pod && l.namespace === namespace && l.workload === workload) {
      l.cell.n++;
      return;
    }
    const key = `${type}\0${namespace}\0${workload}\0${pod}\0${binary}`;
    let child = this.children.get(key);
    if (child === undefined) {
      if (this.children.size >= this.maxSeries) {
        this.overflow(type).n++;
        return;
      }
      child = this.cells.cell({ type, namespace, workload, pod, binary });
      this.children.set(key, child);
    }
    this.last = { type, namespace, workload, pod, binary, cell: child };
    child.n++;
  }

  private overflow(type: string): Cell {
    const key = `${type}\0overflow`;
    let child = this.children.get(key);
    if (child === undefined) {
      child = this.cells.cell({ type, namespace: "", workload: "", pod: "", binary: OVERFLOW_BINARY });
      this.children.set(key, child);
    }
    return child;
  }
}
