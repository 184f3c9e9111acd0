/**
 * Fan-out of exported events to subscribers (export file, gRPC streams). A subscriber
 * must not block: each keeps its own bounded queue and counts what it drops.
 */
import type { GetEventsResponse } from "../api/gen/tetragon/events_pb";

export type EventListener = (ev: GetEventsResponse) => void;

export class EventBus {
  private listeners: EventListener[] = [];

  subscribe(l: EventListener): () => void {
    this.listeners = [...this.listeners, l];
    return () => {
      this.listeners = this.listeners.filter((x) => x !== l);
    };
  }

  publish(ev: GetEventsResponse): void {
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) ls[i](ev);
  }

  get size(): number {
    return this.listeners.length;
  }
}
