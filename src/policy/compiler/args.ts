/**
 * Argument types: where each argument's value is in the hook's record (a tracepoint's
 * fields, or pt_regs for probes) and how the kernel reads it.
 */
import { GT, ARG_F, LIMITS } from "../../decode/generic-layout";
import type { KProbeArg } from "../types";
import type { FormatField } from "../../sensors/tracing/tracefs";
import type { ArgOutput, ArgSpecPlan } from "./plan";
import type { ResolvedField } from "../../sensors/tracing/btf";
import { SRC } from "../../decode/generic-layout";
import { fail } from "./errors";

/** Where an argument's raw value lives. */
export interface ArgSource {
  off: number;
  size: number;
  /** the C type from a tracepoint format, for `auto` */
  ctype?: string;
  signed?: boolean;
  dataLoc?: boolean;
  /** pointers in this hook's arguments point to user memory (syscalls, uprobes) */
  userPointers: boolean;
  /** SRC.CURRENT_TASK for data args read from the current task */
  source?: number;
}

/** What `resolve` needs: the kernel's BTF. */
export type Resolver = (struct: string, path: string) => ResolvedField;

/** x86-64 pt_regs offsets of the first six function arguments, and of the return value. */
export const PT_REGS_ARGS = [112, 104, 96, 88, 72, 64];
export const PT_REGS_RET = 80;
/** sizeof(struct pt_regs) on x86-64 */
export const PT_REGS_SIZE = 168;

interface TypeInfo { gt: number; signed: boolean; bits: number }

const FIXED: Record<string, TypeInfo> = {
  int: { gt: GT.S32, signed: true, bits: 32 }, sint32: { gt: GT.S32, signed: true, bits: 32 }, int32: { gt: GT.S32, signed: true, bits: 32 },
  uint32: { gt: GT.U32, signed: false, bits: 32 },
  sint16: { gt: GT.S16, signed: true, bits: 16 }, int16: { gt: GT.S16, signed: true, bits: 16 }, uint16: { gt: GT.U16, signed: false, bits: 16 },
  sint8: { gt: GT.S8, signed: true, bits: 8 }, int8: { gt: GT.S8, signed: true, bits: 8 }, uint8: { gt: GT.U8, signed: false, bits: 8 },
  long: { gt: GT.S64, signed: true, bits: 64 }, sint64: { gt: GT.S64, signed: true, bits: 64 }, int64: { gt: GT.S64, signed: true, bits: 64 },
  ulong: { gt: GT.U64, signed: false, bits: 64 }, uint64: { gt: GT.U64, signed: false, bits: 64 }, "unsigned long": { gt: GT.U64, signed: false, bits: 64 },
  size_t: { gt: GT.SIZE, signed: false, bits: 64 },
  char_buf: { gt: GT.CHAR_BUF, signed: false, bits: 64 },
  char_iovec: { gt: GT.CHAR_IOVEC, signed: false, bits: 64 },
  const_buf: { gt: GT.CONST_BUF, signed: false, bits: 64 },
  fd: { gt: GT.FD, signed: true, bits: 32 },
  sockaddr: { gt: GT.SOCKADDR, signed: false, bits: 64 },
  syscall64: { gt: GT.SYSCALL64, signed: true, bits: 64 },
  capability: { gt: GT.CAPABILITY, signed: true, bits: 32 },
  kernel_cap_t: { gt: GT.KERNEL_CAP, signed: false, bits: 64 },
  cap_inheritable: { gt: GT.KERNEL_CAP, signed: false, bits: 64 },
  cap_permitted: { gt: GT.KERNEL_CAP, signed: false, bits: 64 },
  cap_effective: { gt: GT.KERNEL_CAP, signed: false, bits: 64 },
  bpf_cmd: { gt: GT.BPF_CMD, signed: true, bits: 32 },
  nop: { gt: GT.NOP, signed: false, bits: 64 },
  data_loc: { gt: GT.DATA_LOC, signed: false, bits: 32 },
  file: { gt: GT.FILE, signed: false, bits: 64 },
  path: { gt: GT.PATH, signed: false, bits: 64 },
  linux_binprm: { gt: GT.BINPRM, signed: false, bits: 64 },
  sock: { gt: GT.SOCK, signed: false, bits: 64 },
  cred: { gt: GT.CRED, signed: false, bits: 64 },
  dentry: { gt: GT.DENTRY, signed: false, bits: 64 },
  socket: { gt: GT.SOCKET, signed: false, bits: 64 },
  skb: { gt: GT.SKB, signed: false, bits: 64 },
  net_device: { gt: GT.NET_DEV, signed: false, bits: 64 },
  bpf_attr: { gt: GT.BPF_ATTR, signed: false, bits: 64 },
  bpf_map: { gt: GT.BPF_MAP, signed: false, bits: 64 },
  bpf_prog: { gt: GT.BPF_PROG, signed: false, bits: 64 },
  perf_event: { gt: GT.PERF_EVENT, signed: false, bits: 64 },
  module: { gt: GT.MODULE, signed: false, bits: 64 },
  load_info: { gt: GT.LOAD_INFO, signed: false, bits: 64 },
  user_namespace: { gt: GT.USER_NS, signed: false, bits: 64 },
  kiocb: { gt: GT.KIOCB, signed: false, bits: 64 },
  iov_iter: { gt: GT.IOV_ITER, signed: false, bits: 64 },
};

/** The C struct each kernel-object type reads, for `auto` and for checks against BTF. */
export const STRUCT_OF_TYPE: Record<string, string> = {
  file: "file", path: "path", linux_binprm: "linux_binprm", sock: "sock", cred: "cred", dentry: "dentry",
  socket: "socket", skb: "sk_buff", net_device: "net_device", bpf_attr: "bpf_attr", bpf_map: "bpf_map",
  bpf_prog: "bpf_prog", perf_event: "perf_event", module: "module", load_info: "load_info",
  user_namespace: "user_namespace", kiocb: "kiocb", iov_iter: "iov_iter",
};

/** Types that read kernel objects: they need a kernel pointer. */
export const KERNEL_OBJECT_GTS: number[] = [
  GT.FILE, GT.PATH, GT.BINPRM, GT.SOCK, GT.CRED, GT.DENTRY, GT.SOCKET, GT.SKB, GT.NET_DEV, GT.BPF_ATTR, GT.BPF_MAP,
  GT.BPF_PROG, GT.PERF_EVENT, GT.MODULE, GT.LOAD_INFO, GT.USER_NS, GT.KIOCB, GT.IOV_ITER,
];

function intFromCType(ctype: string, size: number, signed: boolean): TypeInfo {
  if (size === 8) return signed ? { gt: GT.S64, signed, bits: 64 } : { gt: GT.U64, signed, bits: 64 };
  if (size === 4) return signed ? { gt: GT.S32, signed, bits: 32 } : { gt: GT.U32, signed, bits: 32 };
  if (size === 2) return signed ? { gt: GT.S16, signed, bits: 16 } : { gt: GT.U16, signed, bits: 16 };
  void ctype;
  return signed ? { gt: GT.S8, signed, bits: 8 } : { gt: GT.U8, signed, bits: 8 };
}

/** `auto` on a kernel pointer to a struct the sensor knows how to read: that type. */
function autoObjectType(ctype: string | undefined): string | undefined {
  const m = /^(?:struct|union) (\w+) \*$/.exec(ctype ?? "");
  if (!m) return undefined;
  return Object.keys(STRUCT_OF_TYPE).find((t) => STRUCT_OF_TYPE[t] === m[1]);
}

/** The read type of one argument; `path` is the argument's field path for errors. */
export function resolveType(arg: KProbeArg, src: ArgSource, path: string): TypeInfo & { name: string } {
  let type: string = arg.type;
  if (type === "auto") {
    if (src.dataLoc) type = "data_loc";
    else if (src.ctype && /char\s*\*/.test(src.ctype)) type = "string";
    else if (!src.userPointers && autoObjectType(src.ctype)) type = autoObjectType(src.ctype)!;
    else if (src.ctype) {
      const t = intFromCType(src.ctype, src.size, src.signed ?? false);
      const name = t.gt === GT.S32 ? "int" : t.gt === GT.U32 ? "uint32" : t.gt === GT.S64 ? "long" : t.gt === GT.U64 ? "uint64" : t.signed ? `sint${t.bits}` : `uint${t.bits}`;
      return { ...t, name };
    } else {
      fail(`${path}.type`, "type 'auto' needs type information this hook does not have: give the type");
    }
  }
  if (type === "string" || type === "filename") {
    if (src.dataLoc) return { gt: GT.DATA_LOC, signed: false, bits: 32, name: "string" };
    return { gt: src.userPointers ? GT.STRING : GT.KSTRING, signed: false, bits: 64, name: "string" };
  }
  if (type === "data_loc" && !src.dataLoc) fail(`${path}.type`, "data_loc needs a __data_loc tracepoint field");
  const t = FIXED[type];
  if (!t) {
    const why = src.userPointers
      ? `type '${type}' needs a kernel object pointer, which this hook does not carry (hook the kernel function on a kernel with kprobes, or use a tracepoint that has it)`
      : `type '${type}' is not supported on tracepoint fields yet`;
    fail(`${path}.type`, why);
  }
  if (KERNEL_OBJECT_GTS.includes(t.gt) && src.userPointers) {
    fail(`${path}.type`, `type '${type}' needs a kernel object pointer, which this hook does not carry (hook the kernel function on a kernel with kprobes, or use a raw tracepoint that has it)`);
  }
  const pointee = /^(?:const )?(?:struct|union) (\w+) \*$/.exec(src.ctype ?? "")?.[1];
  if (KERNEL_OBJECT_GTS.includes(t.gt) && pointee && STRUCT_OF_TYPE[type] && pointee !== STRUCT_OF_TYPE[type]) {
    fail(`${path}.type`, `type '${type}' reads a struct ${STRUCT_OF_TYPE[type]}, but this argument is a ${src.ctype}`);
  }
  // a kernel function's sockaddr is in kernel memory (copied from the user): read there
  if ((t.gt === GT.CHAR_BUF || t.gt === GT.CONST_BUF || t.gt === GT.CHAR_IOVEC) && !src.userPointers) {
    fail(`${path}.type`, `type '${type}' reads user memory: only syscall and uprobe arguments point there`);
  }
  return { ...t, name: type };
}

/**
 * Builds the argument slots of a hook. Arguments a size refers to that the policy did not
 * list are added as hidden slots, since the kernel needs their value.
 */
export interface DataArgs {
  list: KProbeArg[];
  /** where a data arg's walk starts (current_task, or a register for pt_regs) */
  sourceOf: (arg: KProbeArg, path: string) => ArgSource;
}

/** The struct a pointer type points to: "struct file *" → "file". */
function pointee(ctype: string | undefined): string | undefined {
  const m = /^(struct|union) (\w+) \*$/.exec(ctype ?? "");
  return m ? m[2] : undefined;
}

/**
 * 1 + the offset of a field that only some kernel configurations have (module.sig_ok needs
 * CONFIG_MODULE_SIG), or 0 when this kernel's BTF has no such field: the kernel then reports
 * the value as unknown.
 */
function fieldSlot(resolver: Resolver | undefined, struct: string, field: string): number {
  if (!resolver) return 0;
  try {
    const r = resolver(struct, field);
    const last = r.steps[r.steps.length - 1];
    return r.steps.length === 1 && last.off < 0xffff ? last.off + 1 : 0;
  } catch {
    return 0;
  }
}

export function buildArgs(
  args: KProbeArg[],
  sourceOf: (index: number, path: string) => ArgSource,
  basePath: string,
  data?: DataArgs,
  resolver?: Resolver,
): { specs: ArgSpecPlan[]; outputs: ArgOutput[]; slotOfIndex: Map<number, number>; dataSlots: number[] } {
  const specs: ArgSpecPlan[] = [];
  const outputs: ArgOutput[] = [];
  const slotOfIndex = new Map<number, number>();
  const dataSlots: number[] = [];
  const add = (arg: KProbeArg, path: string, hidden: boolean, isData = false): number => {
    if (specs.length >= LIMITS.MAX_ARGS) fail(basePath, `at most ${LIMITS.MAX_ARGS} arguments (args, data and size arguments) per hook`);
    let src = isData ? data!.sourceOf(arg, path) : sourceOf(arg.index, `${path}.index`);
    let steps: ArgSpecPlan["steps"] = [];
    // pt_regs data args name a register in `resolve`: their source already says where it is
    if (arg.resolve && arg.source !== "pt_regs") {
      if (!resolver) fail(`${path}.resolve`, "resolve needs the kernel's BTF");
      const struct = arg.btfType || (src.source === SRC.CURRENT_TASK ? "task_struct" : pointee(src.ctype));
      if (!struct) fail(`${path}.resolve`, "resolve starts from a pointer to a kernel struct: this argument is not one (give btfType)");
      if (src.userPointers && src.source !== SRC.CURRENT_TASK) fail(`${path}.resolve`, "resolve walks kernel memory: this argument points to user memory");
      let r: ResolvedField;
      try {
        r = resolver(struct, arg.resolve);
      } catch (e) {
        fail(`${path}.resolve`, (e as Error).message);
      }
      steps = r.steps;
      const last = r.type;
      src = r.isArray && r.elemChar
        ? { ...src, ctype: "char *", size: 8, signed: false, userPointers: false }
        : { ...src, ctype: last.ctype, size: Math.min(last.size || 8, 8), signed: last.signed, userPointers: false };
    }
    const t = resolveType(arg, src, path);
    const slot = specs.length;
    let maxData = 0;
    if (t.gt === GT.CHAR_BUF || t.gt === GT.CHAR_IOVEC || t.gt === GT.IOV_ITER) maxData = LIMITS.ARG_DATA_MAX - 1;
    if (t.gt === GT.CONST_BUF) {
      if (!arg.sizeArgIndex) fail(`${path}.sizeArgIndex`, "const_buf needs its size in sizeArgIndex");
      maxData = Math.min(arg.sizeArgIndex, LIMITS.ARG_DATA_MAX);
    }
    let aux = 0;
    if (t.gt === GT.MODULE) maxData = fieldSlot(resolver, "module", "sig_ok");
    if (t.gt === GT.LOAD_INFO) {
      maxData = fieldSlot(resolver, "load_info", "sig_ok");
      aux = fieldSlot(resolver, "load_info", "mod");
    }
    if (arg.maxData && t.gt !== GT.CHAR_BUF) fail(`${path}.maxData`, `maxData applies to char_buf arguments, not ${t.name}`);
    const flags = (arg.returnCopy ? ARG_F.RETURN_COPY : 0) | (t.gt === GT.SOCKADDR && !src.userPointers ? ARG_F.KERNEL_PTR : 0)
      | (arg.maxData ? ARG_F.MAX_DATA : 0);
    specs.push({
      gt: t.gt, size: src.size, sizeArg: -1, flags, off: src.off, maxData,
      source: src.source ?? SRC.RECORD, steps, aux,
    });
    outputs.push({ slot, type: t.name, gt: t.gt, label: arg.label, hidden, signed: t.signed, bits: t.bits, data: isData });
    if (isData) dataSlots.push(slot);
    else if (!slotOfIndex.has(arg.index)) slotOfIndex.set(arg.index, slot);
    return slot;
  };
  args.forEach((a, i) => add(a, `${basePath}.args[${i}]`, false));
  (data?.list ?? []).forEach((a, i) => add(a, `${basePath}.data[${i}]`, false, true));
  args.forEach((a, i) => {
    const spec = specs[i];
    if (spec.gt !== GT.CHAR_BUF && spec.gt !== GT.CHAR_IOVEC) return;
    const path = `${basePath}.args[${i}]`;
    if (spec.gt === GT.CHAR_IOVEC && !a.sizeArgIndex) fail(`${path}.sizeArgIndex`, "char_iovec needs sizeArgIndex (1-based index of the iovec count)");
    if (a.returnCopy && a.sizeArgIndex === undefined) {
      spec.flags |= ARG_F.SIZE_FROM_RET;
      return;
    }
    if (a.sizeArgIndex === undefined || a.sizeArgIndex === 0) {
      fail(`${path}.sizeArgIndex`, "char_buf needs sizeArgIndex (1-based index of the size argument) or returnCopy");
    }
    const idx = a.sizeArgIndex - 1;
    let slot = slotOfIndex.get(idx);
    if (slot === undefined) slot = add({ index: idx, type: "size_t", resolve: "", returnCopy: false, maxData: false }, `${path}.sizeArgIndex`, true);
    spec.sizeArg = slot;
  });
  return { specs, outputs, slotOfIndex, dataSlots };
}

export function fieldSource(f: FormatField, userPointers: boolean): ArgSource {
  return { off: f.offset, size: Math.min(f.size, 8), ctype: f.type, signed: f.signed, dataLoc: f.dataLoc, userPointers };
}
