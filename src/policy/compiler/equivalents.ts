/**
 * Kernel functions users hook most, on kernels without kprobes: the tracepoint that carries
 * the same object stands in for the function, with conditions that select the function's
 * moment (a TCP state transition), and the event is reported under the function's name.
 */
import { GenericOp, GT, HOOK_F, LIMITS, MOP } from "../../decode/generic-layout";
import type { KProbeSpec, TracingPolicy } from "../types";
import { readFormat, TracefsError } from "../../sensors/tracing/tracefs";
import { buildArgs, fieldSource, type ArgSource } from "./args";
import { compileSelectors } from "./selectors";
import type { HookPlan, MatchArgPlan, SelectorPlan, ValueSets } from "./plan";
import { fail } from "./errors";
import type { CompileEnv } from "./hooks";

interface Equivalent {
  subsystem: string;
  event: string;
  /** the function's arguments by index: the record field holding them */
  args: Record<number, string>;
  /** record field = value conditions, ANDed into every selector */
  when: Array<{ field: string; value: number }>;
  /** also report from this tracepoint's exit (the object is complete then), keeping the entry's match */
  exit?: { subsystem: string; event: string };
  sockState?: string;
  description: string;
}

const TCP_SYN_SENT = 2;
const TCP_CLOSE = 7;
const IPPROTO_TCP = 6;

export const EQUIVALENTS: Record<string, Equivalent> = {
  tcp_connect: {
    subsystem: "sock", event: "inet_sock_set_state", args: { 0: "skaddr" },
    when: [{ field: "newstate", value: TCP_SYN_SENT }, { field: "protocol", value: IPPROTO_TCP }],
    // the source port is chosen after the state changes: read the socket when connect() returns
    exit: { subsystem: "syscalls", event: "sys_exit_connect" },
    sockState: "TCP_SYN_SENT",
    description: "tcp_connect as sock/inet_sock_set_state to TCP_SYN_SENT, reported at the end of connect()",
  },
  tcp_close: {
    subsystem: "sock", event: "inet_sock_set_state", args: { 0: "skaddr" },
    when: [{ field: "newstate", value: TCP_CLOSE }, { field: "protocol", value: IPPROTO_TCP }],
    sockState: "TCP_CLOSE",
    description: "tcp_close as sock/inet_sock_set_state to TCP_CLOSE",
  },
};

const HIDDEN_BASE = 1000;

export function equivalentHook(
  policy: TracingPolicy, spec: KProbeSpec, call: string, path: string, values: ValueSets, env: CompileEnv,
  followSets: string[][],
): HookPlan | undefined {
  const eq = EQUIVALENTS[call];
  if (!eq) return undefined;
  if (spec.return) fail(`${path}.return`, `${call} is hooked through a tracepoint here: it has no return value`);
  let fmt;
  try {
    fmt = readFormat(eq.subsystem, eq.event, env.tracefsRoot);
    if (eq.exit) readFormat(eq.exit.subsystem, eq.exit.event, env.tracefsRoot);
  } catch (e) {
    if (e instanceof TracefsError) fail(`${path}.call`, `${call} needs kprobes or the ${eq.subsystem}/${eq.event} tracepoint: ${e.message}`);
    throw e;
  }
  const field = (name: string) => {
    const f = fmt.fields.find((x) => x.name === name);
    if (!f) fail(`${path}.call`, `${eq.subsystem}/${eq.event} has no field ${name} on this kernel`);
    return f;
  };
  const hidden = eq.when.map((w, i) => ({ index: HIDDEN_BASE + i, field: field(w.field), value: w.value }));
  const sourceOf = (index: number, p: string): ArgSource => {
    const h = hidden.find((x) => x.index === index);
    if (h) return fieldSource(h.field, false);
    const name = eq.args[index];
    if (!name) fail(p, `${call} arguments available without kprobes: ${Object.keys(eq.args).map((i) => `index ${i}`).join(", ")}`);
    return { ...fieldSource(field(name), false), ctype: "struct sock *" };
  };
  const userArgs = (spec.args ?? []).map((a) => ({ ...a, returnCopy: a.returnCopy || !!eq.exit }));
  const hiddenArgs = hidden.map((h) => ({ index: h.index, type: "int" as const, resolve: "", returnCopy: false, maxData: false }));
  const { specs, outputs, slotOfIndex } = buildArgs([...userArgs, ...hiddenArgs], sourceOf, path);
  for (const o of outputs.slice(userArgs.length)) o.hidden = true;
  const selectors = compileSelectors(spec.selectors, {
    path, outputs, slotOfIndex, slotOfPosition: (pos) => (pos < userArgs.length ? pos : undefined),
    values, hostNs: env.hostNs, substring: env.substring, followSets,
  });
  const conditions: MatchArgPlan[] = hidden.map((h) => ({
    arg: slotOfIndex.get(h.index)!, op: MOP.EQ, vals: [BigInt(h.value)], signed: true, set: -1,
  }));
  const withConditions: SelectorPlan[] = selectors.length
    ? selectors
    : [{ ns: [], nsChanges: 0, nsChangesOp: MOP.EQ, caps: [], args: [], ret: [], actions: [] }];
  for (const [i, s] of withConditions.entries()) {
    if (s.args.length + conditions.length > LIMITS.MAX_MATCH_ARGS) {
      fail(`${path}.selectors[${i}].matchArgs`, `at most ${LIMITS.MAX_MATCH_ARGS - conditions.length} argument filters when ${call} runs on a tracepoint`);
    }
    s.args.push(...conditions);
  }
  const meta = {
    kind: "kprobe" as const, policyName: policy.metadata.name, functionName: call, subsys: "", event: "", path: "", symbol: "",
    message: (spec.message ?? "").slice(0, 256), tags: spec.tags ?? [], args: outputs, hasReturn: false, sockState: eq.sockState,
  };
  // the record holds the state fields the conditions read: copy it all
  const recSize = Math.min(fmt.size, LIMITS.REC_MAX - 8);
  void GT;
  return {
    path,
    description: eq.description,
    attach: { kind: "tracepoint", category: eq.subsystem, name: eq.event, exit: eq.exit ? { category: eq.exit.subsystem, name: eq.exit.event } : undefined },
    op: GenericOp.KPROBE,
    flags: HOOK_F.ENABLED | (eq.exit ? HOOK_F.RETURN : 0),
    recSize,
    retOff: 16, retSize: 8, retType: GT.S64,
    args: specs,
    selectors: withConditions,
    meta,
  };
}
