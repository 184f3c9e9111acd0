/** Hook plans to the bytes of struct hook_config, and value sets to map keys. */
import {
  ARG_SPEC, HOOK_CONFIG, MATCH_ARG, MATCH_BIN, MATCH_CAPS, MATCH_F_SIGNED, MATCH_NS, MATCH_PIDS, SELECTOR,
  SELECTOR_ACTION, STR_KEY, STR_LPM_KEY, NUM_KEY, ADDR_LPM_KEY, SUBSTR_KEY, LIMITS, RESOLVE, RESOLVE_STEP, MATCH_F_SOCK, MATCH_F_LENS, GT, ARG_F, SRC,
} from "../../decode/generic-layout";
import type { SelectorPlan, HookPlan, MatchArgPlan, ValueSets } from "./plan";

export type SetIdMap = (local: number) => number;

function writeMatchArg(b: Buffer, off: number, m: MatchArgPlan, ids: SetIdMap): void {
  b.writeUInt8(m.arg, off + MATCH_ARG.arg);
  b.writeUInt8(m.op, off + MATCH_ARG.op);
  b.writeUInt8(m.vals.length, off + MATCH_ARG.nvals);
  b.writeUInt8((m.signed ? MATCH_F_SIGNED : 0) | (m.sock ? MATCH_F_SOCK : 0) | (m.lens ? MATCH_F_LENS : 0), off + MATCH_ARG.flags);
  b.writeUInt32LE(m.set >= 0 ? ids(m.set) : 0, off + MATCH_ARG.set_id);
  m.vals.forEach((v, i) => b.writeBigUInt64LE(v, off + MATCH_ARG.vals + i * 8));
}

/**
 * The arguments a hook reads and matches before anything else: those of the matchArgs, when
 * every selector has matchArgs on the call's arguments (a selector without any would let every
 * call through the pre-filter, so there is none then).
 */
export function prefilterArgs(h: Pick<HookPlan, "selectors" | "args">): number {
  if (h.selectors.length === 0) return 0;
  let mask = 0;
  for (const s of h.selectors) {
    const onArgs = s.args.filter((m) => m.arg < LIMITS.MAX_ARGS);
    if (onArgs.length === 0) return 0;
    for (const m of onArgs) mask |= 1 << m.arg;
  }
  for (let i = 0; i < LIMITS.MAX_ARGS; i++) {
    if (!(mask & (1 << i))) continue;
    const a = h.args[i];
    if (!a || !PREFILTER_TYPES.has(a.gt) || a.steps.length || a.source !== SRC.RECORD || a.flags & (ARG_F.EXIT_VALUE | ARG_F.RETURN_COPY)) return 0;
  }
  return mask;
}

/** What the BPF pre-filter's reader reads: record values, strings and a sockaddr (not
 *  kernel_cap_t, whose value is behind its pointer). */
const PREFILTER_TYPES: ReadonlySet<number> = new Set([
  GT.S64, GT.U64, GT.S32, GT.U32, GT.S16, GT.U16, GT.S8, GT.U8, GT.SIZE, GT.SYSCALL64, GT.CAPABILITY,
  GT.BPF_CMD, GT.STRING, GT.KSTRING, GT.SOCKADDR,
]);

/** followChildren set (index in the policy) → its bit in process_entry.mbset */
export type FollowBitMap = (local: number) => number;

export function serializeHook(h: HookPlan, ids: SetIdMap, flags = h.flags, followBit: FollowBitMap = () => 0, policyFilter = 0): Buffer {
  const b = Buffer.alloc(HOOK_CONFIG.SIZE);
  b.writeUInt32LE(policyFilter, HOOK_CONFIG.policy_filter);
  b.writeUInt32LE(prefilterArgs(h), HOOK_CONFIG.prefilter_args);
  b.writeUInt32LE(flags, HOOK_CONFIG.flags);
  b.writeUInt32LE(h.op, HOOK_CONFIG.op);
  b.writeUInt16LE(h.recSize, HOOK_CONFIG.rec_size);
  b.writeUInt16LE(h.retOff, HOOK_CONFIG.ret_off);
  b.writeUInt8(h.retSize, HOOK_CONFIG.ret_size);
  b.writeUInt8(h.retType, HOOK_CONFIG.ret_type);
  b.writeUInt8(h.args.length, HOOK_CONFIG.nargs);
  b.writeUInt8(h.selectors.length, HOOK_CONFIG.nselectors);
  h.args.forEach((a, i) => {
    const o = HOOK_CONFIG.args + i * ARG_SPEC.SIZE;
    b.writeUInt8(a.gt, o + ARG_SPEC.type);
    b.writeUInt8(a.size, o + ARG_SPEC.size);
    b.writeInt8(a.sizeArg, o + ARG_SPEC.size_arg);
    b.writeUInt8(a.flags, o + ARG_SPEC.flags);
    b.writeUInt16LE(a.off, o + ARG_SPEC.off);
    b.writeUInt16LE(a.maxData, o + ARG_SPEC.max_data);
    b.writeUInt8(a.source, o + ARG_SPEC.source);
    b.writeUInt8(a.steps.length, o + ARG_SPEC.nsteps);
    b.writeUInt16LE(a.aux ?? 0, o + ARG_SPEC.aux);
    a.steps.forEach((st, j) => {
      const so = o + ARG_SPEC.steps + j * RESOLVE_STEP.SIZE;
      b.writeUInt16LE(st.off, so + RESOLVE_STEP.off);
      b.writeUInt8(RESOLVE[st.kind], so + RESOLVE_STEP.kind);
      b.writeUInt8(st.size, so + RESOLVE_STEP.size);
    });
  });
  h.selectors.forEach((s, si) => {
    const o = HOOK_CONFIG.sel + si * SELECTOR.SIZE;
    b.writeUInt8(s.args.length, o + SELECTOR.n_args);
    b.writeUInt8(s.ret.length, o + SELECTOR.n_ret);
    b.writeUInt8(s.ns.length, o + SELECTOR.n_ns);
    b.writeUInt8(s.caps.length, o + SELECTOR.n_caps);
    b.writeUInt8(s.actions.length, o + SELECTOR.n_actions);
    b.writeUInt16LE(s.nsChanges & 0xffff, o + SELECTOR.ns_changes);
    b.writeUInt8(s.nsChangesOp, o + SELECTOR.ns_changes_op);
    if (s.pids) {
      const p = o + SELECTOR.pids;
      b.writeUInt8(s.pids.op, p + MATCH_PIDS.op);
      b.writeUInt8(s.pids.pids.length, p + MATCH_PIDS.n);
      b.writeUInt8(s.pids.nsPid ? 1 : 0, p + MATCH_PIDS.ns_pid);
      b.writeUInt8(s.pids.followForks ? 1 : 0, p + MATCH_PIDS.follow_forks);
      s.pids.pids.forEach((v, i) => b.writeUInt32LE(v >>> 0, p + MATCH_PIDS.pids + i * 4));
    }
    if (s.bin) {
      const p = o + SELECTOR.bin;
      b.writeUInt8(s.bin.op, p + MATCH_BIN.op);
      b.writeUInt8(s.bin.parent ? 1 : 0, p + MATCH_BIN.parent);
      if (s.bin.follow >= 0) b.writeUInt8(followBit(s.bin.follow) + 1, p + MATCH_BIN.follow);
      b.writeUInt32LE(ids(s.bin.set), p + MATCH_BIN.set_id);
    }
    s.ns.forEach((n, i) => {
      const p = o + SELECTOR.ns + i * MATCH_NS.SIZE;
      b.writeUInt8(n.ns, p + MATCH_NS.ns);
      b.writeUInt8(n.op, p + MATCH_NS.op);
      b.writeUInt8(n.vals.length, p + MATCH_NS.n);
      n.vals.forEach((v, j) => b.writeUInt32LE(v >>> 0, p + MATCH_NS.vals + j * 4));
    });
    s.caps.forEach((c, i) => {
      const p = o + SELECTOR.caps + i * MATCH_CAPS.SIZE;
      b.writeUInt8(c.type, p + MATCH_CAPS.type);
      b.writeUInt8(c.op, p + MATCH_CAPS.op);
      b.writeUInt8(c.changes ? 1 : 0, p + MATCH_CAPS.changes);
      b.writeBigUInt64LE(c.mask, p + MATCH_CAPS.mask);
    });
    s.args.forEach((m, i) => writeMatchArg(b, o + SELECTOR.args + i * MATCH_ARG.SIZE, m, ids));
    s.ret.forEach((m, i) => writeMatchArg(b, o + SELECTOR.ret + i * MATCH_ARG.SIZE, m, ids));
    const writeAction = (base: number) => (a: SelectorPlan["actions"][number], i: number) => {
      const p = o + base + i * SELECTOR_ACTION.SIZE;
      b.writeUInt32LE(a.action, p + SELECTOR_ACTION.action);
      b.writeUInt32LE(a.arg >>> 0, p + SELECTOR_ACTION.arg);
      b.writeUInt32LE(a.scope, p + SELECTOR_ACTION.scope);
      b.writeUInt32LE(a.kinds ?? 0, p + SELECTOR_ACTION.kinds);
    };
    s.actions.forEach(writeAction(SELECTOR.actions));
    s.retActions.forEach(writeAction(SELECTOR.ret_actions));
    b.writeUInt8(s.retActions.length, o + SELECTOR.n_ret_actions);
    b.writeUInt8(s.flags, o + SELECTOR.flags);
  });
  return b;
}

export interface MapEntries {
  strEq: Buffer[];
  strPrefix: Buffer[];
  strPostfix: Buffer[];
  num: Buffer[];
  addr: Buffer[];
  /** key and value pairs of substr_map */
  substr: Array<[Buffer, Buffer]>;
}

function strKey(id: number, s: string): Buffer {
  const k = Buffer.alloc(STR_KEY.SIZE);
  const bytes = Buffer.from(s);
  k.writeUInt32LE(id, STR_KEY.set_id);
  k.writeUInt32LE(bytes.length, STR_KEY.len);
  bytes.copy(k, STR_KEY.s, 0, LIMITS.STR_KEY_LEN - 1);
  return k;
}

function lpmKey(id: number, s: string): Buffer {
  const k = Buffer.alloc(STR_LPM_KEY.SIZE);
  const bytes = Buffer.from(s, "latin1");
  k.writeUInt32LE(32 + Math.min(bytes.length, LIMITS.STR_LPM_LEN) * 8, STR_LPM_KEY.prefixlen);
  k.writeUInt32LE(id, STR_LPM_KEY.set_id);
  bytes.copy(k, STR_LPM_KEY.s, 0, LIMITS.STR_LPM_LEN);
  return k;
}

/** The keys of every value set, with the sets numbered by `ids`. */
export function valueMapEntries(v: ValueSets, ids: SetIdMap): MapEntries {
  const out: MapEntries = { strEq: [], strPrefix: [], strPostfix: [], num: [], addr: [], substr: [] };
  for (const [set, vals] of v.substr) vals.forEach((s, i) => {
    const k = Buffer.alloc(SUBSTR_KEY.SIZE);
    k.writeUInt32LE(ids(set), SUBSTR_KEY.set_id);
    k.writeUInt32LE(i, SUBSTR_KEY.idx);
    const val = Buffer.alloc(LIMITS.SUBSTR_LEN);
    Buffer.from(s).copy(val, 0, 0, LIMITS.SUBSTR_LEN - 1);
    out.substr.push([k, val]);
  });
  for (const [set, vals] of v.strEq) for (const s of vals) out.strEq.push(strKey(ids(set), s));
  for (const [set, vals] of v.strPrefix) for (const s of vals) out.strPrefix.push(lpmKey(ids(set), Buffer.from(s).toString("latin1")));
  // postfix values were reversed byte-wise into latin1 strings by the compiler
  for (const [set, vals] of v.strPostfix) for (const s of vals) out.strPostfix.push(lpmKey(ids(set), s));
  for (const [set, vals] of v.num) for (const n of vals) {
    const k = Buffer.alloc(NUM_KEY.SIZE);
    k.writeUInt32LE(ids(set), NUM_KEY.set_id);
    k.writeBigUInt64LE(BigInt.asUintN(64, n), NUM_KEY.value);
    out.num.push(k);
  }
  for (const [set, vals] of v.addr) for (const a of vals) {
    const k = Buffer.alloc(ADDR_LPM_KEY.SIZE);
    k.writeUInt32LE(64 + a.bits, ADDR_LPM_KEY.prefixlen);
    k.writeUInt32LE(ids(set), ADDR_LPM_KEY.set_id);
    k.writeUInt32LE(a.family, ADDR_LPM_KEY.family);
    a.addr.copy(k, ADDR_LPM_KEY.addr);
    out.addr.push(k);
  }
  return out;
}
