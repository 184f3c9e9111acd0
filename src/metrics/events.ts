/**
 * tetragon_events_total{type,namespace,workload,pod,binary}. Labels left out of
 * --metrics-label-filter are reported empty (as Tetragon does). To keep the series count
 * bounded whatever runs on the host, at most `maxSeries` label sets are created; events
 * of further sets are counted under binary="other" with the other process labels empty,
 * so the sum over all series always equals the number of events.
 */
import type * as client from "prom-client";
import type { GetEventsResponse } from "../api/gen/tetragon/events_pb";
import { eventProcess, eventTypeOf } from "../filters";
import { EventType } from "../api/gen/tetragon/events_pb";

export const PROCESS_LABELS = ["namespace", "workload", "pod", "binary"] as const;
export const DEFAULT_MAX_SERIES = 4096;
export const OVERFLOW_BINARY = "other";

type Inc = { inc(n?: number): void };

export class EventMetrics {
  private readonly enabled: ReadonlySet<string>;
  private readonly children = new Map<string, Inc>();

  constructor(
    private readonly counter: client.Counter<string>,
    labelFilter: readonly string[],
    private readonly maxSeries = DEFAULT_MAX_SERIES,
  ) {
    this.enabled = new Set(labelFilter);
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
    const key = `${type}\0${namespace}\0${workload}\0${pod}\0${binary}`;
    let child = this.children.get(key);
    if (child === undefined) {
      if (this.children.size >= this.maxSeries) {
        this.overflow(type).inc();
        return;
      }
      child = this.counter.labels({ type, namespace, workload, pod, binary });
      this.children.set(key, child);
    }
    child.inc();
  }

  private overflow(type: string): Inc {
    const key = `${type}\0overflow`;
    let child = this.children.get(key);
    if (child === undefined) {
      child = this.counter.labels({ type, namespace: "", workload: "", pod: "", binary: OVERFLOW_BINARY });
      this.children.set(key, child);
    }
    return child;
  }
}
