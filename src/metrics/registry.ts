/**
 * The agent's Prometheus metrics, with Tetragon's names (tetragon_*). Counters that the
 * kernel keeps (ring-buffer drops) are read on scrape.
 */
import * as client from "prom-client";
import { CounterCells, type Cell } from "./counter-cells";

export class AgentMetrics {
  readonly registry = new client.Registry();
  private readonly beforeRead: Array<() => void> = [];
  /** counters whose per-event counts are kept in CounterCells run this when read */
  private readonly flushCells = (): void => {
    for (const f of this.beforeRead) f();
  };
  readonly eventsTotal = new client.Counter({
    name: "tetragon_events_total", help: "The total number of Tetragon events",
    labelNames: ["type", "namespace", "workload", "pod", "binary"], registers: [this.registry], collect: this.flushCells,
  });
  readonly errorsTotal = new client.Counter({
    name: "tetragon_errors_total", help: "The total number of Tetragon errors. For internal use only.", labelNames: ["type"], registers: [this.registry],
  });
  readonly ringbufLost = new client.Counter({
    name: "tetragon_observer_ringbuf_events_lost_total", help: "Number of perf/ring buffer events lost", registers: [this.registry],
  });
  readonly notifyOverflowed = new client.Counter({
    name: "tetragon_notify_overflowed_events_total", help: "The total number of events dropped because a listener queue was full", registers: [this.registry],
  });
  readonly msgOpTotal = new client.Counter({
    name: "tetragon_msg_op_total", help: "The total number of times we encounter a given message opcode", labelNames: ["msg_op"], registers: [this.registry],
  });
  readonly unknownOpTotal = new client.Counter({
    name: "tetragon_handler_errors_total", help: "The total number of event handler errors", labelNames: ["opcode", "error_type"], registers: [this.registry],
  });
  readonly bpfMissedEvents = new client.Gauge({
    name: "tetragon_bpf_missed_events_total", help: "Number of events lost in the kernel (ring buffer full, map full)", labelNames: ["msg_op", "error"], registers: [this.registry],
  });
  readonly ringbufReceived = new client.Counter({
    name: "tetragon_observer_ringbuf_events_received_total", help: "Number of perf/ring buffer events received", registers: [this.registry],
  });
  readonly cacheSize = new client.Gauge({ name: "tetragon_process_cache_size", help: "The size of the process cache", registers: [this.registry] });
  readonly cacheCapacity = new client.Gauge({ name: "tetragon_process_cache_capacity", help: "The capacity of the process cache", registers: [this.registry] });
  readonly cacheEvictions = new client.Gauge({ name: "tetragon_process_cache_evictions_total", help: "Process cache evictions", registers: [this.registry] });
  readonly cacheMisses = new client.Gauge({ name: "tetragon_process_cache_misses_total", help: "Process cache misses", registers: [this.registry] });
  readonly dataCacheSize = new client.Gauge({ name: "tetragon_data_cache_size", help: "The number of maxData buffers waiting for their event", registers: [this.registry] });
  readonly dataCacheCapacity = new client.Gauge({ name: "tetragon_data_cache_capacity", help: "The capacity of the data cache", registers: [this.registry] });
  readonly dataCacheEvictions = new client.Gauge({ name: "tetragon_data_cache_evictions_total", help: "maxData buffers evicted before their event came", registers: [this.registry] });
  readonly dataCacheMisses = new client.Gauge({ name: "tetragon_data_cache_misses_total", help: "Events whose maxData buffer was not in the data cache", labelNames: ["op"], registers: [this.registry] });
  readonly exportedTotal = new client.Counter({ name: "tetragon_events_exported_total", help: "Total number of events exported", registers: [this.registry] });
  readonly exportedBytes = new client.Counter({ name: "tetragon_events_exported_bytes_total", help: "Number of bytes exported for events", registers: [this.registry] });
  readonly exportLastTs = new client.Gauge({ name: "tetragon_events_last_exported_timestamp", help: "Timestamp of the most recent event to be exported", registers: [this.registry] });
  readonly rateLimitDropped = new client.Counter({ name: "tetragon_export_ratelimit_events_dropped_total", help: "Number of events dropped on export due to rate limiting", registers: [this.registry] });
  readonly exportFilterDropped = new client.Counter({ name: "tetragon_export_filtered_events_total", help: "Events not exported because of the allow/deny lists", registers: [this.registry] });
  readonly exportQueueDropped = new client.Counter({ name: "tetragon_export_queue_events_dropped_total", help: "Events dropped because the export writer fell behind", registers: [this.registry] });
  readonly policyEvents = new client.Counter({
    name: "tetragon_policy_events_total", help: "Policy events calls observed", labelNames: ["policy", "hook"], registers: [this.registry],
    collect: this.flushCells,
  });
  readonly buildInfo = new client.Gauge({ name: "tetragon_build_info", help: "Build information about tetragon", labelNames: ["version", "commit", "runtime"], registers: [this.registry] });

  /** policy → hook → events counted since the last read */
  private readonly policyEventCells = new Map<string, Map<string, Cell>>();
  private readonly policyCells = new CounterCells(this.policyEvents);

  constructor() {
    client.collectDefaultMetrics({ register: this.registry });
    this.onRead(() => this.policyCells.flush());
  }

  /** Runs `flush` before tetragon_events_total and tetragon_policy_events_total are read. */
  onRead(flush: () => void): void {
    this.beforeRead.push(flush);
  }

  /** Counts one event of a policy's hook into tetragon_policy_events_total. */
  countPolicyEvent(policy: string, hook: string): void {
    let byHook = this.policyEventCells.get(policy);
    if (byHook === undefined) this.policyEventCells.set(policy, (byHook = new Map()));
    let cell = byHook.get(hook);
    if (cell === undefined) byHook.set(hook, (cell = this.policyCells.cell({ policy, hook })));
    cell.n++;
  }
}
