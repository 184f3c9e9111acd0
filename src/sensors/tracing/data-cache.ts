/**
 * The maxData buffers of generic events: the kernel sends each as MSG_OP_GENERIC_DATA chunks
 * just ahead of the event that names it by (tid, id). The chunks wait here until the event
 * takes them; a buffer whose event never comes (lost in the ring buffer) is evicted, oldest
 * first, once `capacity` buffers wait. Evictions and misses are counted for the metrics.
 */
export class DataCache {
  private readonly buffers = new Map<string, Buffer[]>();
  evictions = 0;
  misses = 0;

  constructor(readonly capacity = 256) {}

  get size(): number {
    return this.buffers.size;
  }

  /** One chunk, copied: the ring-buffer batch it arrived in is reused. */
  add(tid: number, id: bigint, chunk: Buffer): void {
    const key = `${tid}:${id}`;
    let parts = this.buffers.get(key);
    if (!parts) {
      if (this.buffers.size >= this.capacity) {
        const oldest = this.buffers.keys().next().value as string;
        this.buffers.delete(oldest);
        this.evictions++;
      }
      parts = [];
      this.buffers.set(key, parts);
    }
    parts.push(Buffer.from(chunk));
  }

  /** The whole buffer, removed from the cache; undefined (and a miss) when none came. */
  take(tid: number, id: bigint): Buffer | undefined {
    const key = `${tid}:${id}`;
    const parts = this.buffers.get(key);
    if (!parts) {
      this.misses++;
      return undefined;
    }
    this.buffers.delete(key);
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }
}
