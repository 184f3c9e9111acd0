/**
 * Walks a batch of ring-buffer records ([u32 len][u32 reserved][record, padded to 8]) and
 * hands each to the handler its sensor registered for the record's operation. Unknown
 * operations are counted, not thrown.
 */
export type RecordHandler = (buf: Buffer, view: DataView, off: number) => void;

export class RecordDispatcher {
  private readonly handlers: Array<RecordHandler | undefined> = new Array(256);
  records = 0;
  readonly unknownOps = new Map<number, number>();

  register(op: number, h: RecordHandler): void {
    this.handlers[op] = h;
  }

  dispatch(buf: Buffer, count: number): void {
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const handlers = this.handlers;
    let off = 0;
    for (let i = 0; i < count && off + 8 <= buf.length; i++) {
      const len = view.getUint32(off, true);
      const rec = off + 8;
      off = rec + ((len + 7) & ~7);
      if (len < 16 || rec + len > buf.length) continue;
      const op = view.getUint8(rec);
      this.records++;
      const h = handlers[op];
      if (h) h(buf, view, rec);
      else this.unknownOps.set(op, (this.unknownOps.get(op) ?? 0) + 1);
    }
  }
}
