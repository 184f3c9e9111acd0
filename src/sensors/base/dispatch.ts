/**
 * Walks a batch of ring-buffer records ([u32 len][u32 reserved][record, padded to 8])
 * and hands each to the decoder of its operation. Unknown operations are counted, not
 * thrown.
 */
import { MsgOp } from "../../decode/layout";
import { decodeClone, decodeExec, decodeExit } from "../../decode/process";
import type { ProcessEvents } from "./process-events";

export interface DispatchCounters {
  records: number;
  unknownOps: Map<number, number>;
  byOp: Map<number, number>;
}

export function newCounters(): DispatchCounters {
  return { records: 0, unknownOps: new Map(), byOp: new Map() };
}

export function dispatchBatch(buf: Buffer, count: number, handler: ProcessEvents, counters: DispatchCounters): void {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  for (let i = 0; i < count && off + 8 <= buf.length; i++) {
    const len = view.getUint32(off, true);
    const rec = off + 8;
    off = rec + ((len + 7) & ~7);
    if (len < 16 || rec + len > buf.length) continue;
    const op = view.getUint8(rec);
    counters.records++;
    counters.byOp.set(op, (counters.byOp.get(op) ?? 0) + 1);
    switch (op) {
      case MsgOp.EXECVE:
        handler.handleExec(decodeExec(buf, view, rec));
        break;
      case MsgOp.CLONE:
        handler.handleClone(decodeClone(view, rec));
        break;
      case MsgOp.EXIT:
        handler.handleExit(decodeExit(view, rec));
        break;
      default:
        counters.unknownOps.set(op, (counters.unknownOps.get(op) ?? 0) + 1);
    }
  }
}
