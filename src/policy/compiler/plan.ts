/**
 * What a compiled policy is made of: hooks, each with its attachment, its hook_config
 * contents (argument layout and selectors) and the values its selectors look up in maps.
 * Value sets are numbered per policy; the sensor renumbers them when it installs the policy.
 */
import type { LabelSelector } from "../types";

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
  /** GT_MODULE / GT_LOAD_INFO: 1 + the offset of load_info.mod (maxData: of sig_ok), 0 = absent */
  aux?: number;
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
  /** string operators: `vals` holds the set's lengths (MATCH_F_LENS), checked before any lookup */
  lens?: boolean;
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
  actions: ActionPlan[];
  /** matchReturnActions */
  retActions: ActionPlan[];
  /** SEL_F bits */
  flags: number;
}

/** One action: arg is a signal, an interval in ms or an errno; kinds are NotifyEnforcer's DENY_K */
export interface ActionPlan { action: number; arg: number; scope: number; kinds?: number }

/**
 * How a hook's Override is carried out. In the hook itself where the kernel can fail the call
 * from there (bpf_override_return, fmod_ret, a BPF-LSM verdict); otherwise the hook leaves a
 * decision in deny_map for cgroup programs (network calls) or the fanotify guard (open, exec).
 */
export type OverrideMechanism = "override_return" | "fmod_ret" | "lsm" | "cgroup" | "fanotify";

export interface FanotifyPlan {
  /** paths the selectors name, to mark: Equal → the file, Prefix → the tree */
  values: Array<{ op: "Equal" | "Prefix"; path: string }>;
  open: boolean;
  exec: boolean;
}

export interface EnforcementPlan {
  mechanism: OverrideMechanism;
  /** DENY_K kinds of the decisions the hook leaves (cgroup, fanotify) */
  denyKinds: number;
  fanotify?: FanotifyPlan;
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
  /** uprobes attached by offset: the offset in the binary (0 for symbols) */
  offset?: number;
  /** uprobes with refCtrOffsets: the semaphore the kernel counts up while the probe is attached */
  refCtrOffset?: number;
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
  | { kind: "uprobe"; binary: string; func?: string; offset?: number; refCtrOffset?: number; withReturn: boolean }
  | { kind: "kprobe"; func: string; withReturn: boolean; nargs?: number; override?: boolean; indirect?: number }
  | { kind: "fentry"; func: string; withReturn: boolean; nargs: number; modifyReturn?: boolean; indirect?: number }
  | { kind: "lsm"; hook: string }
  /** connect/bind hooks the cgroup programs evaluate (./cgroup-hooks.ts) */
  | { kind: "cgroup"; call: string };

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
  /** present when a selector asks for Override */
  enforcement?: EnforcementPlan;
}

/** spec.enforcers: programs that fail the listed calls when a NotifyEnforcer asked for it */
export interface EnforcerPlan {
  path: string;
  /** syscalls, as attach targets (__x64_sys_connect) */
  calls: string[];
  mechanism: "override_return" | "fmod_ret" | "cgroup";
  /** DENY_K kinds NotifyEnforcer decisions carry */
  kinds: number;
}

export interface CompiledPolicy {
  name: string;
  namespace: string;
  hooks: HookPlan[];
  values: ValueSets;
  mode: "enforce" | "monitor";
  /** matchBinaries with followChildren: each gets a bit of process_entry.mbset at install */
  followSets: string[][];
  enforcers: EnforcerPlan[];
  /** TracingPolicyNamespaced / spec.podSelector / spec.containerSelector: the hooks run only
   * in the cgroups of the matching containers (policy_filter_map) */
  filter?: PolicyFilterSpec;
}

/** Which containers a filtered policy applies to (all given parts must match). */
export interface PolicyFilterSpec {
  /** TracingPolicyNamespaced: the pods of this namespace */
  namespace?: string;
  podSelector?: LabelSelector;
  /** matched against the container's labels: `name` = the container name */
  containerSelector?: LabelSelector;
}

export function newValueSets(): ValueSets {
  return { strEq: new Map(), strPrefix: new Map(), strPostfix: new Map(), num: new Map(), addr: new Map(), substr: new Map(), next: 0 };
}
