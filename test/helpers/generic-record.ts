/**
 * Records of the generic hook sensor as the BPF program writes them (msg_generic header,
 * argument slots, argument data), for driving GenericEvents without a kernel: the layout
 * comes from src/decode/generic-layout.ts, which test/unit/layout.test.ts checks against
 * the object's BTF.
 */
import { ARG_SLOT, GENERIC_F, LIMITS, MSG_GENERIC, GenericOp } from "../../src/decode/generic-layout";
import { HEADER } from "../../src/decode/layout";
import type { EventMeta, HookPlan } from "../../src/policy/compiler/plan";

export interface SlotValue {
  value?: bigint;
  data?: Buffer;
  /** the argument's size before truncation (char_buf) */
  origLen?: number;
}

export interface RecordSpec {
  hookId: number;
  ktime: bigint;
  pid: number;
  tid: number;
  procKtime: bigint;
  action?: number;
  /** slot index → value; the return slot is LIMITS.RET_ARG */
  slots: Map<number, SlotValue>;
  ret?: bigint;
  kind?: keyof typeof GenericOp;
}

export function genericRecord(r: RecordSpec): Buffer {
  const datas: Buffer[] = [];
  let dataLen = 0;
  const slotAt = new Map<number, { off: number; len: number }>();
  for (const [i, s] of r.slots) {
    if (!s.data) continue;
    slotAt.set(i, { off: dataLen, len: s.data.length });
    datas.push(s.data);
    dataLen += s.data.length;
  }
  const b = Buffer.alloc(MSG_GENERIC.SIZE + dataLen);
  b.writeUInt8(GenericOp[r.kind ?? "KPROBE"], HEADER.op);
  b.writeUInt32LE(b.length, HEADER.size);
  b.writeBigUInt64LE(r.ktime, HEADER.ktime);
  b.writeUInt32LE(r.hookId, MSG_GENERIC.hook_id);
  b.writeUInt32LE(r.pid, MSG_GENERIC.pid);
  b.writeUInt32LE(r.tid, MSG_GENERIC.tid);
  b.writeUInt32LE(r.action ?? 1, MSG_GENERIC.action);
  b.writeBigUInt64LE(r.procKtime, MSG_GENERIC.proc_ktime);
  if (r.ret !== undefined) {
    b.writeBigInt64LE(r.ret, MSG_GENERIC.ret);
    b.writeUInt32LE(GENERIC_F.RETURN, MSG_GENERIC.flags);
  }
  b.writeUInt16LE(dataLen, MSG_GENERIC.data_len);
  for (const [i, s] of r.slots) {
    if (i > LIMITS.RET_ARG) throw new Error(`slot ${i} out of range`);
    const at = MSG_GENERIC.args + i * ARG_SLOT.SIZE;
    b.writeBigUInt64LE(BigInt.asUintN(64, s.value ?? 0n), at + ARG_SLOT.value);
    const d = slotAt.get(i);
    b.writeUInt16LE(d?.off ?? 0, at + ARG_SLOT.off);
    b.writeUInt16LE(d?.len ?? 0, at + ARG_SLOT.len);
    b.writeUInt32LE(s.origLen ?? d?.len ?? 0, at + ARG_SLOT.orig_len);
  }
  Buffer.concat(datas).copy(b, MSG_GENERIC.SIZE);
  return b;
}

/** A hook table entry as GenericEvents reads it: only the event metadata matters there. */
export function hookWithMeta(meta: Partial<EventMeta> & Pick<EventMeta, "kind" | "args">): HookPlan {
  return {
    meta: {
      policyName: "", functionName: "", subsys: "", event: "", path: "", symbol: "", message: "", tags: [],
      hasReturn: false, ...meta,
    },
  } as HookPlan;
}

/** Records laid out as the native ring consumer hands a batch to JavaScript. */
export function ringBatch(records: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const r of records) {
    const h = Buffer.alloc(8);
    h.writeUInt32LE(r.length, 0);
    parts.push(h, r, Buffer.alloc((8 - (r.length % 8)) % 8));
  }
  return Buffer.concat(parts);
}
