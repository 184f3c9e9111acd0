/**
 * What a compiled policy is made of: hooks, each with its attachment, its hook_config
 * contents (argument layout and selectors) and the values its selectors look up in maps.
 * Value sets are numbered per policy; the sensor renumbers them when it installs the policy.
 */
export type HookKind = "tracepoint" | "raw_tracepoint" | "uprobe" | "kprobe";
export type EventKind = "kprobe" | "tracepoint" | "uprobe" | "lsm";

export interface ArgSpecPlan {
  gt: number;
  size: number;
  sizeArg: number;
  flags: number;
  off: number;
  maxData: number;
  /** SRC.RECORD, or SRC.CURRENT_TASK for data args */
  source: number;
  /** `resolve`, compiled to a walk through struct fields */
  steps: Array<{ off: number; kind: "deref" | "load" | "addr" | "fd"; size: number }>;
}

/** How one argument slot comes out in the event. */
export interface ArgOutput {
  slot: number;
  /** the policy's type name, e.g. "string", "fd", "int" */
  type: string;
  gt: number;
  label?: string;
  /** read for a size or a selector only, not shown */
  hidden: boolean;
  /** for `int`-family output variants */
  signed: boolean;
  bits: number;
  /** a `data` argument: shown in the event's `data` list */
  data?: boolean;
}

export interface MatchArgPlan {
  arg: number;
  op: number;
  vals: bigint[];
  signed: boolean;
  /** the argument is a sock blob (socket operators) */
  sock?: boolean;
  /** local value-set number, or -1 */
  set: number;
}

export interface SelectorPlan {
  pids?: { op: number; pids: number[]; nsPid: boolean; followForks: boolean };
  /** follow: index into CompiledPolicy.followSets, -1 when followChildren is off */
  bin?: { op: number; parent: boolean; set: number; follow: number };
  ns: Array<{ ns: number; op: number; vals: number[] }>;
  nsChanges: number;
  nsChangesOp: number;
  caps: Array<{ type: number; op: number; changes: boolean; mask: bigint }>;
  args: MatchArgPlan[];
  ret: MatchArgPlan[];
  actions: Array<{ action: number; arg: number; scope: number }>;
}

export interface ValueSets {
  /** local set number → values */
  strEq: Map<number, string[]>;
  strPrefix: Map<number, string[]>;
  strPostfix: Map<number, string[]>;
  num: Map<number, bigint[]>;
  addr: Map<number, Array<{ family: number; addr: Buffer; bits: number }>>;
  /** SubString needles (lower-cased for SubStringIgnCase) */
  substr: Map<number, string[]>;
  next: number;
}

export interface EventMeta {
  kind: EventKind;
  policyName: string;
  /** process_kprobe: function_name as Tetragon reports it (__x64_sys_openat) */
  functionName: string;
  subsys: string;
  event: string;
  path: string;
  symbol: string;
  message: string;
  tags: string[];
  args: ArgOutput[];
  /** `slot`: the return value is read into this argument slot (a kernel-function stand-in) */
  returnArg?: { type: string; gt: number; label?: string; signed: boolean; slot?: number };
  hasReturn: boolean;
  /** kernel-function equivalents on tracepoints: the state the function implies (TCP_SYN_SENT) */
  sockState?: string;
}

export type AttachPlan =
  | { kind: "tracepoint"; category: string; name: string; exit?: { category: string; name: string } }
  | { kind: "raw_tracepoint"; name: string }
  | { kind: "uprobe"; binary: string; func?: string; offset?: number; withReturn: boolean }
  | { kind: "kprobe"; func: string; withReturn: boolean; nargs?: number }
  | { kind: "fentry"; func: string; withReturn: boolean; nargs: number }
  | { kind: "lsm"; hook: string };

export interface HookPlan {
  /** where in the policy it comes from, e.g. spec.kprobes[0] */
  path: string;
  /** a short human description: "syscalls/sys_enter_openat" */
  description: string;
  attach: AttachPlan;
  op: number;
  flags: number;
  recSize: number;
  retOff: number;
  retSize: number;
  retType: number;
  args: ArgSpecPlan[];
  selectors: SelectorPlan[];
  meta: EventMeta;
}

export interface CompiledPolicy {
  name: string;
  namespace: string;
  hooks: HookPlan[];
  values: ValueSets;
  mode: "enforce" | "monitor";
  /** matchBinaries with followChildren: each gets a bit of process_entry.mbset at install */
  followSets: string[][];
}

export function newValueSets(): ValueSets {
  return { strEq: new Map(), strPrefix: new Map(), strPostfix: new Map(), num: new Map(), addr: new Map(), substr: new Map(), next: 0 };
}
