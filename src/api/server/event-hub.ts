/**
 * The agent side of every GetEvents stream: one subscription to the event bus while at
 * least one client listens. Each published event has the agent's redaction filters
 * applied once, then is offered to every stream (each filters, encodes via the shared
 * cache and queues on its own).
 */
import type { EventBus } from "../../agent/event-bus";
import type { GetEventsResponse } from "../../api/gen/tetragon/events_pb";
import { EncodeCache } from "./encode-cache";
import type { EventStream } from "./event-stream";

export class EventHub {
  /** open streams, each with how to end its call at shutdown */
  private readonly streams = new Map<EventStream, () => void>();
  private unsubscribe?: () => void;
  readonly cache = new EncodeCache();

  constructor(
    private readonly bus: EventBus,
    private readonly redact: (ev: GetEventsResponse) => GetEventsResponse = (ev) => ev,
  ) {}

  get size(): number {
    return this.streams.size;
  }

  add(s: EventStream, abort: () => void = () => undefined): void {
    this.streams.set(s, abort);
    this.unsubscribe ??= this.bus.subscribe(this.onEvent);
  }

  remove(s: EventStream): void {
    s.close();
    this.streams.delete(s);
    if (this.streams.size === 0 && this.unsubscribe) {
      this.unsubscribe();
      this.unsubscribe = undefined;
      this.cache.reset();
    }
  }

  /** Ends every stream's call (agent shutdown) and forgets the streams. */
  shutdown(): void {
    for (const [s, abort] of [...this.streams]) {
      this.remove(s);
      abort();
    }
  }

  private readonly onEvent = (ev: GetEventsResponse): void => {
    const r = this.redact(ev);
    for (const s of this.streams.keys()) s.offer(r, this.cache);
  };
}
