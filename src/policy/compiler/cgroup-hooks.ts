/**
 * connect() and bind() hooks that the cgroup programs on the cgroup v2 root evaluate
 * themselves (bpf/programs/generic.bpf.c, cgroup_hooks): when the hook's one argument is the
 * address and its selectors look at nothing else, the kernel's own copy of the address is all
 * they need, with what the selectors ask of the caller (pids, binaries, namespaces,
 * capabilities: the current task and its execve_map entry, as in the syscall hook), so the
 * call pays no syscall tracepoint, and a denied call fails in the cgroup program with no
 * decision left for later. Anything more (other arguments, a return value, a policy filter,
 * other actions) keeps the syscall hook.
 */
import { ACT, ARG_F, GT, MOP, SRC } from "../../decode/generic-layout";
import type { KProbeSpec } from "../types";
import type { ArgSpecPlan, SelectorPlan } from "./plan";

/** the syscall's address argument, and the cgroup programs that see the address */
export const CGROUP_HOOK_CALLS: Record<string, { addrIndex: number; programs: [string, string] }> = {
  connect: { addrIndex: 1, programs: ["generic_cgroup_connect4", "generic_cgroup_connect6"] },
  bind: { addrIndex: 1, programs: ["generic_cgroup_bind4", "generic_cgroup_bind6"] },
};

const ADDRESS_OPS = new Set<number>([
  MOP.SADDR, MOP.NOT_SADDR, MOP.SPORT, MOP.NOT_SPORT, MOP.SPORT_PRIV, MOP.NOT_SPORT_PRIV, MOP.FAMILY, MOP.NOT_FAMILY,
]);
const ACTIONS = new Set<number>([ACT.POST, ACT.NOPOST, ACT.OVERRIDE]);

function selectorFits(sel: SelectorPlan): boolean {
  return sel.ret.length === 0 && sel.retActions.length === 0
    && sel.args.every((m) => m.arg === 0 && ADDRESS_OPS.has(m.op) && !m.sock)
    && sel.actions.every((a) => ACTIONS.has(a.action));
}

/** Whether the cgroup programs can evaluate this syscall hook in place of its tracepoint. */
export function cgroupEvaluable(name: string, spec: KProbeSpec, args: ArgSpecPlan[], selectors: SelectorPlan[], filtered: boolean): boolean {
  const call = CGROUP_HOOK_CALLS[name];
  if (!call || filtered || spec.return || spec.data?.length) return false;
  const declared = spec.args ?? [];
  if (declared.length !== 1 || declared[0].index !== call.addrIndex || args.length !== 1) return false;
  const a = args[0];
  if (a.gt !== GT.SOCKADDR || a.source !== SRC.RECORD || a.steps.length || a.flags & ARG_F.KERNEL_PTR) return false;
  return selectors.every(selectorFits);
}
