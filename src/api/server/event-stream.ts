/**
 * One GetEvents client. Events that pass the client's filters are encoded (through the
 * shared EncodeCache) into a bounded queue, and written to the client as fast as its
 * connection takes them. When the queue is full, events are dropped and counted; the
 * next event that fits is preceded by a rate_limit_info event carrying the number
 * dropped, so the client sees exactly where the gap is. Nothing here ever blocks the
 * publisher or grows without bound.
 */
import type { GetEventsResponse } from "../../api/gen/tetragon/events_pb";
import { BoundedQueue } from "./bounded-queue";
import type { EncodeCache, Transform } from "./encode-cache";

/** Where a stream writes: a grpc-js server call (call-sink.ts), or a fake in tests. */
export interface StreamSink {
  /** Takes one encoded message; false when the writer must wait for "drain". */
  write(bytes: Uint8Array): boolean;
  once(event: "drain", cb: () => void): unknown;
  /** optional: batch the writes of one flush into one transport write */
  cork?: () => void;
  uncork?: () => void;
}

export interface EventStreamOptions {
  filter: (ev: GetEventsResponse) => boolean;
  /** identifies `transform` among streams: equal keys share encodings */
  transformKey: string;
  transform: Transform;
  capacity: number;
  /** encoded rate_limit_info event for `dropped` events */
  rateLimitInfo: (dropped: number) => Uint8Array;
  /** called once per dropped event (metrics) */
  onDrop?: () => void;
}

export class EventStream {
  private readonly queue: BoundedQueue<Uint8Array>;
  private waitingDrain = false;
  private flushScheduled = false;
  private closed = false;
  /** dropped since the last rate_limit_info was queued */
  private pendingDropped = 0;
  /** totals, for tests and logs */
  sent = 0;
  dropped = 0;

  constructor(private readonly sink: StreamSink, private readonly opts: EventStreamOptions) {
    this.queue = new BoundedQueue(Math.max(2, opts.capacity));
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Offers one published event; never throws for a slow client. */
  offer(ev: GetEventsResponse, cache: EncodeCache): void {
    if (this.closed || !this.opts.filter(ev)) return;
    const need = this.pendingDropped > 0 ? 2 : 1;
    if (this.queue.free < need) {
      this.drop();
      return;
    }
    if (this.pendingDropped > 0) {
      this.queue.push(this.opts.rateLimitInfo(this.pendingDropped));
      this.pendingDropped = 0;
    }
    this.queue.push(cache.encode(ev, this.opts.transformKey, this.opts.transform));
    this.scheduleFlush();
  }

  private drop(): void {
    this.pendingDropped++;
    this.dropped++;
    this.opts.onDrop?.();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.waitingDrain) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.closed || this.waitingDrain || this.queue.length === 0) return;
    this.sink.cork?.();
    try {
      while (!this.closed && !this.waitingDrain && this.queue.length > 0) {
        const bytes = this.queue.shift()!;
        this.sent++;
        if (!this.sink.write(bytes)) {
          this.waitingDrain = true;
          this.sink.once("drain", () => {
            this.waitingDrain = false;
            this.flush();
          });
        }
      }
    } finally {
      this.sink.uncork?.();
    }
  }

  close(): void {
    this.closed = true;
    this.queue.clear();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
