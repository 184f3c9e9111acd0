/**
 * What every kernel-function stand-in shares: the policy's context, the stand-in's own
 * conditions ANDed into the policy's selectors, a return value held in an argument slot,
 * and the event metadata that reports the hook under the function's name.
 */
import { LIMITS, MOP } from "../../../decode/generic-layout";
import type { KProbeArg, KProbeSpec, TracingPolicy } from "../../types";
import type { ArgOutput, EventMeta, MatchArgPlan, SelectorPlan, ValueSets } from "../plan";
import type { CompileEnv } from "../hooks";
import { fail } from "../errors";

export interface StandInContext {
  policy: TracingPolicy;
  spec: KProbeSpec;
  call: string;
  path: string;
  values: ValueSets;
  env: CompileEnv;
  followSets: string[][];
}

/** Function argument indexes of the values a stand-in reads for itself (never shown). */
export const HIDDEN_BASE = 1000;
/** The function argument index given to a return value read into a slot. */
export const RETURN_INDEX = 2000;

/** A number filter a stand-in adds to every selector: `op` on the value in `slot`. */
export function condition(slot: number, op: number, vals: number[], extra: Partial<MatchArgPlan> = {}): MatchArgPlan {
  return { arg: slot, op, vals: vals.map((v) => BigInt.asUintN(64, BigInt(v))), signed: true, set: -1, ...extra };
}

/** A selector that matches everything, for policies without selectors. */
function emptySelector(): SelectorPlan {
  return { ns: [], nsChanges: 0, nsChangesOp: MOP.EQ, caps: [], args: [], ret: [], actions: [], retActions: [], flags: 0 };
}

/**
 * ANDs the stand-in's argument (and return value) conditions into every selector; a policy
 * without selectors gets one that holds only them.
 */
export function withConditions(
  selectors: SelectorPlan[], args: MatchArgPlan[], ret: MatchArgPlan[], ctx: StandInContext,
): SelectorPlan[] {
  const out = selectors.length ? selectors : [emptySelector()];
  for (const [i, s] of out.entries()) {
    if (s.args.length + args.length > LIMITS.MAX_MATCH_ARGS) {
      fail(`${ctx.path}.selectors[${i}].matchArgs`, `at most ${LIMITS.MAX_MATCH_ARGS - args.length} argument filters when ${ctx.call} runs on a stand-in`);
    }
    if (s.ret.length + ret.length > LIMITS.MAX_MATCH_RET) {
      fail(`${ctx.path}.selectors[${i}].matchReturnArgs`, `at most ${LIMITS.MAX_MATCH_RET - ret.length} return value filters when ${ctx.call} runs on a stand-in`);
    }
    s.args.push(...args);
    s.ret.push(...ret);
  }
  return out;
}

/**
 * A return value read into an argument slot is known with the arguments: its
 * matchReturnArgs filters become argument filters on that slot.
 */
export function returnFiltersOnSlot(selectors: SelectorPlan[], slot: number): void {
  for (const s of selectors) {
    s.args.push(...s.ret.map((m) => ({ ...m, arg: slot })));
    s.ret = [];
  }
}

/** The hidden argument a stand-in reads for one of its conditions. */
export function hiddenArg(index: number, type: KProbeArg["type"]): KProbeArg {
  return { index, type, resolve: "", returnCopy: false, maxData: false };
}

/** The `returnArg` as an argument at RETURN_INDEX, or undefined without `return: true`. */
export function returnAsArg(ctx: StandInContext): KProbeArg | undefined {
  const { spec, path } = ctx;
  if (!spec.return) return undefined;
  if (!spec.returnArg) fail(`${path}.returnArg`, "return: true needs a returnArg");
  return { ...spec.returnArg, index: RETURN_INDEX, resolve: "", returnCopy: false };
}

/** Where a stand-in's user arguments can come from, for error messages. */
export function availableArgs(call: string, indexes: number[]): string {
  return `${call} arguments available without kprobes: ${indexes.map((i) => `index ${i}`).join(", ")}`;
}

/**
 * The event metadata: a process_kprobe under the function's name; `returnSlot` holds the
 * return value, shown as the event's `return` rather than among its arguments.
 */
export function standInMeta(ctx: StandInContext, outputs: ArgOutput[], returnSlot?: number, extra: Partial<EventMeta> = {}): EventMeta {
  const { policy, spec, call } = ctx;
  const retSlot = returnSlot === undefined ? undefined : outputs.find((o) => o.slot === returnSlot);
  if (retSlot) retSlot.hidden = true;
  const meta: EventMeta = {
    kind: "kprobe", policyName: policy.metadata.name, functionName: call, subsys: "", event: "", path: "", symbol: "",
    message: (spec.message ?? "").slice(0, 256), tags: spec.tags ?? [], args: outputs, hasReturn: false, ...extra,
  };
  if (retSlot) {
    meta.hasReturn = true;
    meta.returnArg = { type: retSlot.type, gt: retSlot.gt, label: retSlot.label, signed: retSlot.signed, slot: retSlot.slot };
  }
  return meta;
}
