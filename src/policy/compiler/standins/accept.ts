/**
 * inet_csk_accept without kprobes: accept() and accept4() on a TCP socket. The listening sock
 * is the entry's descriptor, the accepted one the descriptor the call returns, both read
 * through the task's file table (file → socket → sock), in the accepting process. (The
 * passive socket's transition to ESTABLISHED runs in the softirq of whoever sent the last
 * ACK, often the client: not the process that accepts.) Failed calls (EAGAIN of a
 * non-blocking accept) are not reported.
 */
import { ARG_F, GenericOp, GT, HOOK_F, LIMITS, MOP } from "../../../decode/generic-layout";
import { readFormat, TracefsError, type TracepointFormat } from "../../../sensors/tracing/tracefs";
import { buildArgs, type ArgSource } from "../args";
import { compileSelectors } from "../selectors";
import type { ArgSpecPlan, HookPlan } from "../plan";
import { fail } from "../errors";
import {
  availableArgs, condition, hiddenArg, HIDDEN_BASE, RETURN_INDEX, returnAsArg, standInMeta, withConditions,
  type StandInContext,
} from "./common";

const IPPROTO_TCP = 6;
const SYSCALLS = ["accept4", "accept"];
const LISTENER = HIDDEN_BASE;

/** The walk from a descriptor to its struct sock: fd → file → file.private_data (socket) → socket.sk. */
function sockOfFd(ctx: StandInContext): ArgSpecPlan["steps"] {
  const resolve = ctx.env.resolve;
  if (!resolve) fail(`${ctx.path}.call`, `${ctx.call} without kprobes reads sockets through the kernel's BTF, which is not available`);
  try {
    return [{ off: 0, kind: "fd", size: 0 }, ...resolve("file", "private_data").steps, ...resolve("socket", "sk").steps];
  } catch (e) {
    fail(`${ctx.path}.call`, `${ctx.call} without kprobes: ${(e as Error).message}`);
  }
}

function formats(name: string, ctx: StandInContext): { enter: TracepointFormat; exit: TracepointFormat } {
  try {
    return {
      enter: readFormat("syscalls", `sys_enter_${name}`, ctx.env.tracefsRoot),
      exit: readFormat("syscalls", `sys_exit_${name}`, ctx.env.tracefsRoot),
    };
  } catch (e) {
    if (e instanceof TracefsError) fail(`${ctx.path}.call`, `${ctx.call} needs kprobes or the ${name} syscall tracepoints: ${e.message}`);
    throw e;
  }
}

function acceptHook(name: string, ctx: StandInContext, steps: ArgSpecPlan["steps"]): HookPlan {
  const { spec, call, path, env } = ctx;
  const { enter, exit } = formats(name, ctx);
  const fd = enter.fields.find((f) => f.name === "fd");
  const ret = exit.fields.find((f) => f.name === "ret");
  if (!fd || !ret) fail(`${path}.call`, `syscalls/sys_enter_${name} has no fd or sys_exit_${name} no ret on this kernel`);
  const sock = (off: number): ArgSource => ({ off, size: 8, ctype: "struct sock *", userPointers: false });
  const sourceOf = (index: number, p: string): ArgSource => {
    if (index === 0 || index === LISTENER) return sock(fd.offset);
    if (index === RETURN_INDEX) return sock(ret.offset);
    fail(p, `${availableArgs(call, [0])} (the listening sock); the accepted sock is the return value`);
  };
  (spec.args ?? []).forEach((a, i) => {
    sourceOf(a.index, `${path}.args[${i}].index`);
    if (a.type !== "sock" && a.type !== "nop") fail(`${path}.args[${i}].type`, `${call}'s argument 0 is the listening sock: type sock`);
    if (a.resolve) fail(`${path}.args[${i}].resolve`, `resolve is not supported on ${call}'s stand-in`);
  });
  const userArgs = spec.args ?? [];
  const retArg = returnAsArg(ctx);
  if (retArg && retArg.type !== "sock") fail(`${path}.returnArg.type`, `${call} returns the accepted sock: returnArg type sock`);
  const { specs, outputs, slotOfIndex } = buildArgs([...userArgs, ...(retArg ? [retArg] : []), hiddenArg(LISTENER, "sock")], sourceOf, path);
  for (const o of outputs.slice(userArgs.length)) o.hidden = true;
  for (const [i, a] of [...userArgs, ...(retArg ? [retArg] : []), { index: LISTENER }].entries()) {
    if (specs[i].gt !== GT.SOCK) continue;
    specs[i].steps = steps;
    if (a.index === RETURN_INDEX) specs[i].flags |= ARG_F.EXIT_VALUE;
  }
  if (spec.selectors?.some((s) => s.matchReturnArgs?.length)) {
    fail(`${path}.selectors`, `matchReturnArgs on ${call}'s returned sock is not supported without kprobes`);
  }
  const selectors = compileSelectors(spec.selectors, {
    path, outputs, slotOfIndex, slotOfPosition: (pos) => (pos < userArgs.length ? pos : undefined),
    values: ctx.values, hostNs: env.hostNs, ...env.safety, substring: env.substring, followSets: ctx.followSets,
  });
  const tcp = condition(slotOfIndex.get(LISTENER)!, MOP.PROTOCOL, [IPPROTO_TCP], { sock: true, signed: false });
  const accepted = condition(LIMITS.RET_ARG, MOP.GT, [-1]);
  const retSlot = retArg ? slotOfIndex.get(RETURN_INDEX) : undefined;
  return {
    path,
    description: `${call} as the return of ${name}() on a TCP socket (syscalls/sys_exit_${name}, the sock through the returned descriptor)`,
    attach: { kind: "tracepoint", category: "syscalls", name: `sys_enter_${name}`, exit: { category: "syscalls", name: `sys_exit_${name}` } },
    op: GenericOp.KPROBE,
    flags: HOOK_F.ENABLED | HOOK_F.RETURN,
    recSize: Math.min(Math.max(enter.size, exit.size), LIMITS.REC_MAX - 8),
    retOff: ret.offset, retSize: Math.min(ret.size, 8), retType: GT.S64,
    args: specs,
    selectors: withConditions(selectors, [tcp], [accepted], ctx),
    meta: standInMeta(ctx, outputs, retSlot),
  };
}

export function acceptStandIn(ctx: StandInContext): HookPlan[] {
  const steps = sockOfFd(ctx);
  return SYSCALLS.map((name) => acceptHook(name, ctx, steps));
}
