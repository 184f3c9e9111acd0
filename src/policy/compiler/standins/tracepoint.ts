/**
 * Stand-ins on one tracepoint whose record carries the function's arguments (and maybe its
 * return value): conditions on other record fields select the function's moment.
 */
import { GenericOp, GT, HOOK_F, LIMITS } from "../../../decode/generic-layout";
import { readFormat, TracefsError, type FormatField } from "../../../sensors/tracing/tracefs";
import { buildArgs, fieldSource, type ArgSource } from "../args";
import { compileSelectors } from "../selectors";
import type { HookPlan } from "../plan";
import { fail } from "../errors";
import {
  availableArgs, condition, hiddenArg, HIDDEN_BASE, RETURN_INDEX, returnAsArg, returnFiltersOnSlot, standInMeta,
  withConditions, type StandInContext,
} from "./common";

export interface TracepointStandIn {
  subsystem: string;
  event: string;
  /** the function's arguments by index: the record field holding each, and its C type */
  args: Record<number, { field: string; ctype?: string }>;
  /** record field conditions (MOP op on the values), ANDed into every selector */
  when: Array<{ field: string; op: number; values: number[] }>;
  /** the record field holding the function's return value */
  ret?: string;
  /** also report from this tracepoint's exit (the object is complete then), keeping the entry's match */
  exit?: { subsystem: string; event: string };
  sockState?: string;
  description: string;
}

export function tracepointStandIn(def: TracepointStandIn, ctx: StandInContext): HookPlan[] {
  const { spec, call, path, env } = ctx;
  if (spec.return && !def.ret) fail(`${path}.return`, `${call} is hooked through a tracepoint here: it has no return value`);
  let fmt;
  try {
    fmt = readFormat(def.subsystem, def.event, env.tracefsRoot);
    if (def.exit) readFormat(def.exit.subsystem, def.exit.event, env.tracefsRoot);
  } catch (e) {
    if (e instanceof TracefsError) fail(`${path}.call`, `${call} needs kprobes or the ${def.subsystem}/${def.event} tracepoint: ${e.message}`);
    throw e;
  }
  const field = (name: string): FormatField => {
    const f = fmt.fields.find((x) => x.name === name);
    if (!f) fail(`${path}.call`, `${def.subsystem}/${def.event} has no field ${name} on this kernel`);
    return f;
  };
  const hidden = def.when.map((w, i) => ({ index: HIDDEN_BASE + i, field: field(w.field), w }));
  const sourceOf = (index: number, p: string): ArgSource => {
    const h = hidden.find((x) => x.index === index);
    if (h) return fieldSource(h.field, false);
    if (index === RETURN_INDEX) return { ...fieldSource(field(def.ret!), false), signed: true };
    const a = def.args[index];
    if (!a) fail(p, availableArgs(call, Object.keys(def.args).map(Number)));
    const src = fieldSource(field(a.field), false);
    return a.ctype ? { ...src, ctype: a.ctype } : src;
  };
  const userArgs = (spec.args ?? []).map((a) => ({ ...a, returnCopy: a.returnCopy || !!def.exit }));
  const ret = returnAsArg(ctx);
  const extra = [...(ret ? [ret] : []), ...hidden.map((h) => hiddenArg(h.index, "int"))];
  const { specs, outputs, slotOfIndex } = buildArgs([...userArgs, ...extra], sourceOf, path);
  for (const o of outputs.slice(userArgs.length)) o.hidden = true;
  const retSlot = ret ? slotOfIndex.get(RETURN_INDEX) : undefined;
  const selectors = compileSelectors(spec.selectors, {
    path, outputs, slotOfIndex, slotOfPosition: (pos) => (pos < userArgs.length ? pos : undefined),
    returnOutput: retSlot !== undefined ? { gt: outputs[retSlot].gt, signed: outputs[retSlot].signed } : undefined,
    values: ctx.values, hostNs: env.hostNs, ...env.safety, substring: env.substring, followSets: ctx.followSets,
  });
  if (retSlot !== undefined) returnFiltersOnSlot(selectors, retSlot);
  const conditions = hidden.map((h) => condition(slotOfIndex.get(h.index)!, h.w.op, h.w.values));
  const meta = standInMeta(ctx, outputs, retSlot, { sockState: def.sockState });
  return [{
    path,
    description: def.description,
    attach: { kind: "tracepoint", category: def.subsystem, name: def.event, exit: def.exit ? { category: def.exit.subsystem, name: def.exit.event } : undefined },
    op: GenericOp.KPROBE,
    flags: HOOK_F.ENABLED | (def.exit ? HOOK_F.RETURN : 0),
    // the record holds the fields the conditions read: copy it all
    recSize: Math.min(fmt.size, LIMITS.REC_MAX - 8),
    retOff: 16, retSize: 8, retType: GT.S64,
    args: specs,
    selectors: withConditions(selectors, conditions, [], ctx),
    meta,
  }];
}
