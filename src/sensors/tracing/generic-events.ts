/**
 * Records of the generic hook sensor to process_kprobe, process_tracepoint and
 * process_uprobe events: arguments decoded by the hook's layout into Tetragon's
 * KprobeArgument variants, the process and parent from the process cache.
 */
import { fastCreate } from "../../api/fast-create";
import { GetEventsResponseSchema, type GetEventsResponse } from "../../api/gen/tetragon/events_pb";
import {
  KprobeArgumentSchema, KprobeCapabilitySchema, KprobeFileSchema, KprobePathSchema, KprobeLinuxBinprmSchema, KprobeSockSchema, KprobeSockaddrSchema, KprobeTruncatedBytesSchema,
  ProcessKprobeSchema, ProcessLsmSchema, ProcessSchema, ProcessTracepointSchema, ProcessUprobeSchema, SyscallIdSchema, KprobeAction,
  type KprobeArgument, type Process,
} from "../../api/gen/tetragon/tetragon_pb";
import { ACT, ARG_SLOT, GENERIC_F, GT, MSG_DATA, MSG_GENERIC, LIMITS, SOCK_BLOB } from "../../decode/generic-layout";
import { HEADER } from "../../decode/layout";
import type { ArgOutput, HookPlan } from "../../policy/compiler/plan";
import type { ProcessCache, CachedProcess } from "../../process/cache";
import { execId } from "../../process/exec-id";
import type { KtimeClock } from "../../process/ktime";
import { CAP_NAMES } from "../../process/capabilities";
import { KERNEL_OBJECT_GTS } from "../../policy/compiler/args";
import { kernelObjectArg } from "./kernel-args";
import type { DataCache } from "./data-cache";

export interface GenericEventOptions {
  nodeName: string;
  clusterName: string;
  clock: KtimeClock;
  ancestors: { kprobe: boolean; tracepoint: boolean; uprobe: boolean };
}

const FAMILY: Record<number, string> = { 1: "AF_UNIX", 2: "AF_INET", 10: "AF_INET6" };
const SOCK_TYPES: Record<number, string> = { 1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 5: "SOCK_SEQPACKET" };
const PROTOCOLS: Record<number, string> = { 1: "IPPROTO_ICMP", 6: "IPPROTO_TCP", 17: "IPPROTO_UDP", 58: "IPPROTO_ICMPV6", 132: "IPPROTO_SCTP" };
const TCP_STATE_NAMES: Record<number, string> = {
  1: "TCP_ESTABLISHED", 2: "TCP_SYN_SENT", 3: "TCP_SYN_RECV", 4: "TCP_FIN_WAIT1", 5: "TCP_FIN_WAIT2", 6: "TCP_TIME_WAIT",
  7: "TCP_CLOSE", 8: "TCP_CLOSE_WAIT", 9: "TCP_LAST_ACK", 10: "TCP_LISTEN", 11: "TCP_CLOSING", 12: "TCP_NEW_SYN_RECV",
};

function action(a: number): KprobeAction {
  if (a === ACT.SIGKILL) return KprobeAction.SIGKILL;
  if (a === ACT.SIGNAL) return KprobeAction.SIGNAL;
  if (a === ACT.OVERRIDE) return KprobeAction.OVERRIDE;
  if (a === ACT.NOTIFY_ENFORCER) return KprobeAction.NOTIFYENFORCER;
  return KprobeAction.POST;
}

function ipString(family: number, b: Buffer): string {
  if (family === 2) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::").replace(/:{3,}/, "::");
}

/**
 * Where the bytes an argument slot (at `s`) names are in the record, cut at the data's end:
 * sets `span.start` and `span.end` (no Buffer per argument; strings decode from the record).
 */
const span = { start: 0, end: 0 };
function slotSpan(view: DataView, s: number, dataStart: number, dataLen: number): typeof span {
  const o = view.getUint16(s + ARG_SLOT.off, true);
  const end = Math.min(o + view.getUint16(s + ARG_SLOT.len, true), dataLen);
  span.start = dataStart + o;
  span.end = dataStart + Math.max(o, end);
  return span;
}

export class GenericEvents {
  constructor(
    private readonly cache: ProcessCache,
    private readonly hooks: ReadonlyArray<HookPlan | undefined>,
    private readonly opts: GenericEventOptions,
    private readonly emit: (ev: GetEventsResponse) => void,
    private readonly countUnknownHook: () => void,
    private readonly dataCache?: DataCache,
  ) {}

  /** A MSG_OP_GENERIC_DATA record: one chunk of a maxData buffer, kept for its event. */
  handleData(buf: Buffer, view: DataView, off: number): void {
    const start = off + MSG_DATA.bytes;
    const len = Math.min(view.getUint32(off + MSG_DATA.len, true), buf.length - start);
    this.dataCache?.add(view.getUint32(off + MSG_DATA.tid, true), view.getBigUint64(off + MSG_DATA.id, true), buf.subarray(start, start + len));
  }

  /** The whole buffer of a maxData argument whose bytes came ahead in data records, if they did. */
  private wholeBuffer(view: DataView, slotAt: number, tid: number): Buffer | undefined {
    return this.dataCache?.take(tid, view.getBigUint64(slotAt + ARG_SLOT.value, true));
  }

  /**
   * One argument: its value is the slot's (at `valueAt`) or, for a return value kept outside
   * the slots, `ret`; its bytes are buf[at.start, at.end).
   */
  private argument(out: { gt: number; label?: string; type: string }, view: DataView, valueAt: number, ret: bigint | undefined,
    buf: Buffer, at: typeof span, origLen: number, sockState?: string): KprobeArgument | undefined {
    const a = fastCreate(KprobeArgumentSchema, { label: out.label ?? "" });
    switch (out.gt) {
      case GT.STRING: case GT.KSTRING: case GT.DATA_LOC:
        a.arg = { case: "stringArg", value: buf.toString("utf8", at.start, at.end) };
        return a;
      case GT.FD: case GT.FILE:
        a.arg = { case: "fileArg", value: fastCreate(KprobeFileSchema, { path: buf.toString("utf8", at.start, at.end) }) };
        return a;
      case GT.PATH:
        a.arg = { case: "pathArg", value: fastCreate(KprobePathSchema, { path: buf.toString("utf8", at.start, at.end) }) };
        return a;
      case GT.BINPRM:
        a.arg = { case: "linuxBinprmArg", value: fastCreate(KprobeLinuxBinprmSchema, { path: buf.toString("utf8", at.start, at.end) }) };
        return a;
    }
    const value = ret ?? view.getBigUint64(valueAt, true);
    const data = buf.subarray(at.start, at.end);
    switch (out.gt) {
      case GT.S32: case GT.S16: case GT.S8:
        a.arg = { case: "intArg", value: Number(BigInt.asIntN(32, value)) };
        break;
      case GT.U32: case GT.U16: case GT.U8:
        a.arg = { case: "uintArg", value: Number(BigInt.asUintN(32, value)) };
        break;
      case GT.S64:
        a.arg = { case: "longArg", value: BigInt.asIntN(64, value) };
        break;
      case GT.U64: case GT.SIZE:
        a.arg = { case: "sizeArg", value: BigInt.asUintN(64, value) };
        break;
      case GT.CHAR_BUF: case GT.CONST_BUF: case GT.CHAR_IOVEC: case GT.IOV_ITER: {
        const bytes = new Uint8Array(data);
        if (origLen > data.length) {
          a.arg = { case: "truncatedBytesArg", value: fastCreate(KprobeTruncatedBytesSchema, { bytesArg: bytes, origSize: BigInt(origLen) }) };
        } else {
          a.arg = { case: "bytesArg", value: bytes };
        }
        break;
      }
      case GT.SOCK: case GT.SOCKET: {
        if (data.length < SOCK_BLOB.SIZE) return a;
        const family = data.readUInt16LE(SOCK_BLOB.family);
        const fam = family === 2 || family === 10;
        a.arg = {
          case: "sockArg",
          value: fastCreate(KprobeSockSchema, {
            family: FAMILY[family] ?? String(family),
            type: SOCK_TYPES[data.readUInt16LE(SOCK_BLOB.type)] ?? String(data.readUInt16LE(SOCK_BLOB.type)),
            protocol: PROTOCOLS[data.readUInt16LE(SOCK_BLOB.protocol)] ?? String(data.readUInt16LE(SOCK_BLOB.protocol)),
            mark: data.readUInt32LE(SOCK_BLOB.mark),
            priority: data.readUInt32LE(SOCK_BLOB.priority),
            saddr: fam ? ipString(family, data.subarray(SOCK_BLOB.saddr, SOCK_BLOB.saddr + 16)) : "",
            daddr: fam ? ipString(family, data.subarray(SOCK_BLOB.daddr, SOCK_BLOB.daddr + 16)) : "",
            sport: data.readUInt16LE(SOCK_BLOB.sport),
            dport: data.readUInt16LE(SOCK_BLOB.dport),
            cookie: data.readBigUInt64LE(SOCK_BLOB.cookie),
            state: sockState ?? TCP_STATE_NAMES[data.readUInt16LE(SOCK_BLOB.state)] ?? "",
          }),
        };
        break;
      }
      case GT.SOCKADDR: {
        if (data.length < 20) return a;
        const family = data.readUInt16LE(0);
        a.arg = {
          case: "sockaddrArg",
          value: fastCreate(KprobeSockaddrSchema, {
            family: FAMILY[family] ?? String(family),
            addr: family === 2 || family === 10 ? ipString(family, data.subarray(4, 20)) : "",
            port: data.readUInt16LE(2),
          }),
        };
        break;
      }
      case GT.SYSCALL64: {
        const id = Number(BigInt.asUintN(32, value));
        a.arg = { case: "syscallId", value: fastCreate(SyscallIdSchema, { id, abi: "x64" }) };
        break;
      }
      case GT.CAPABILITY: {
        const v = Number(BigInt.asIntN(32, value));
        a.arg = { case: "capabilityArg", value: fastCreate(KprobeCapabilitySchema, { value: v, name: CAP_NAMES[v] ?? "" }) };
        break;
      }
      case GT.KERNEL_CAP:
        a.arg = { case: "kernelCapTArg", value: BigInt.asUintN(64, value).toString(16) };
        break;
      case GT.BPF_CMD:
        a.arg = { case: "bpfCmdArg", value: Number(BigInt.asIntN(32, value)) };
        break;
      default: {
        const v = kernelObjectArg(out.gt, data);
        if (!v) return KERNEL_OBJECT_GTS.includes(out.gt) ? a : undefined;
        a.arg = v;
      }
    }
    return a;
  }

  /** the exec_id of the last event's process: events come in runs from one process */
  private lastPid = -1;
  private lastKtime = 0n;
  private lastExecId = "";

  /** The cached process of an event (counted as a miss when there is none). */
  private processOf(pid: number, procKtime: bigint): CachedProcess | undefined {
    if (pid !== this.lastPid || procKtime !== this.lastKtime) {
      this.lastPid = pid;
      this.lastKtime = procKtime;
      this.lastExecId = execId(this.opts.nodeName, procKtime, pid);
    }
    const proc = (procKtime !== 0n ? this.cache.peek(this.lastExecId) : undefined) ?? this.cache.byPidCurrent(pid);
    if (!proc) this.cache.countMiss();
    return proc;
  }

  /** The hook's returnArg: the exit's return value, or a stand-in's slot; undefined without one. */
  private returnValue(meta: HookPlan["meta"], view: DataView, off: number, flags: number, buf: Buffer, dataStart: number, dataLen: number): KprobeArgument | undefined {
    const retSlot = meta.returnArg?.slot;
    if (!meta.hasReturn || !meta.returnArg || !(flags & GENERIC_F.RETURN || retSlot !== undefined)) return undefined;
    const ret = view.getBigInt64(off + MSG_GENERIC.ret, true);
    const rs = off + MSG_GENERIC.args + (retSlot ?? LIMITS.RET_ARG) * ARG_SLOT.SIZE;
    return this.argument(meta.returnArg, view, rs + ARG_SLOT.value, retSlot !== undefined ? undefined : BigInt.asUintN(64, ret),
      buf, slotSpan(view, rs, dataStart, dataLen), view.getUint32(rs + ARG_SLOT.orig_len, true));
  }

  handle(buf: Buffer, view: DataView, off: number): void {
    const hookId = view.getUint32(off + MSG_GENERIC.hook_id, true);
    const plan = this.hooks[hookId];
    if (!plan) {
      this.countUnknownHook();
      return;
    }
    const meta = plan.meta;
    const pid = view.getUint32(off + MSG_GENERIC.pid, true);
    const tid = view.getUint32(off + MSG_GENERIC.tid, true);
    const procKtime = view.getBigUint64(off + MSG_GENERIC.proc_ktime, true);
    const flags = view.getUint32(off + MSG_GENERIC.flags, true);
    const act = view.getUint32(off + MSG_GENERIC.action, true);
    const dataStart = off + MSG_GENERIC.SIZE;
    const dataLen = view.getUint16(off + MSG_GENERIC.data_len, true);
    const args: KprobeArgument[] = [];
    const data: KprobeArgument[] = [];
    const outs = meta.args as ArgOutput[];
    for (let i = 0; i < outs.length; i++) {
      const out = outs[i];
      if (out.hidden) continue;
      const s = off + MSG_GENERIC.args + out.slot * ARG_SLOT.SIZE;
      let bytes = buf;
      let at = slotSpan(view, s, dataStart, dataLen);
      // a maxData buffer: its whole bytes came ahead; without them, the event's first bytes
      if ((flags >>> (GENERIC_F.DATA_SHIFT + out.slot)) & 1) {
        const whole = this.wholeBuffer(view, s, tid);
        if (whole) {
          bytes = whole;
          at = { start: 0, end: whole.length };
        }
      }
      const a = this.argument(out, view, s + ARG_SLOT.value, undefined, bytes, at,
        view.getUint32(s + ARG_SLOT.orig_len, true), meta.sockState);
      if (a) (out.data ? data : args).push(a);
    }
    const proc = this.processOf(pid, procKtime);
    const process = proc ? this.cache.eventProcess(proc, tid) : fastCreate(ProcessSchema, { pid, tid });
    const parentEntry = proc ? this.cache.peek(proc.process.parentExecId) : undefined;
    const parent = parentEntry ? this.cache.eventProcess(parentEntry) : undefined;
    const ev = fastCreate(GetEventsResponseSchema, {
      nodeName: this.opts.nodeName,
      clusterName: this.opts.clusterName,
      time: this.opts.clock.timestamp(view.getBigUint64(off + HEADER.ktime, true)),
    });
    const kact = action(act);
    if (meta.kind === "kprobe") {
      const k = fastCreate(ProcessKprobeSchema, {
        process, parent, functionName: meta.functionName, args, action: kact, policyName: meta.policyName,
        message: meta.message, tags: meta.tags, data,
      });
      k.return = this.returnValue(meta, view, off, flags, buf, dataStart, dataLen);
      if (k.return) k.returnAction = KprobeAction.POST;
      ev.event = { case: "processKprobe", value: k };
    } else if (meta.kind === "lsm") {
      ev.event = {
        case: "processLsm",
        value: fastCreate(ProcessLsmSchema, {
          process, parent, functionName: meta.functionName, policyName: meta.policyName, message: meta.message,
          args, action: kact, tags: meta.tags,
        }),
      };
    } else if (meta.kind === "tracepoint") {
      ev.event = {
        case: "processTracepoint",
        value: fastCreate(ProcessTracepointSchema, {
          process, parent, subsys: meta.subsys, event: meta.event, args, policyName: meta.policyName,
          action: kact, message: meta.message, tags: meta.tags,
        }),
      };
    } else {
      ev.event = {
        case: "processUprobe",
        value: fastCreate(ProcessUprobeSchema, {
          process, parent, path: meta.path, symbol: meta.symbol, offset: BigInt(meta.offset ?? 0), refCtrOffset: BigInt(meta.refCtrOffset ?? 0), policyName: meta.policyName, message: meta.message,
          args, tags: meta.tags, action: kact, data, return: this.returnValue(meta, view, off, flags, buf, dataStart, dataLen),
        }),
      };
    }
    this.emit(ev);
  }
}
