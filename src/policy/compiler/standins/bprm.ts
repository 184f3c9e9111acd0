/**
 * security_bprm_check and security_bprm_committing_creds without kprobes: the raw tracepoint
 * sched_process_exec, whose TP_PROTO carries the struct linux_binprm of the exec. It fires
 * once the new program is loaded, so a script reports its interpreter (the file the exec
 * runs), where security_bprm_check also fires for the script itself.
 */
import { GenericOp, HOOK_F } from "../../../decode/generic-layout";
import { buildArgs, type ArgSource } from "../args";
import { compileSelectors } from "../selectors";
import type { HookPlan } from "../plan";
import { fail } from "../errors";
import { availableArgs, standInMeta, type StandInContext } from "./common";

const EVENT = "sched_process_exec";

export function bprmStandIn(ctx: StandInContext): HookPlan[] {
  const { spec, call, path, env } = ctx;
  if (spec.return) fail(`${path}.return`, `${call} is hooked through the ${EVENT} tracepoint here: it has no return value`);
  if (!env.rawTracepointCookies) {
    fail(`${path}.call`, `${call} needs kprobes, or raw tracepoints with attach cookies (Linux 6.10 or later) for ${EVENT}: this kernel has neither`);
  }
  const proto = env.rawTracepointArgs(EVENT);
  const bprm = proto?.findIndex((a) => /^(const )?struct linux_binprm \*$/.test(a.ctype)) ?? -1;
  if (bprm < 0) fail(`${path}.call`, `${call} needs kprobes or the ${EVENT} raw tracepoint with a linux_binprm argument, which this kernel's BTF does not have`);
  const sourceOf = (index: number, p: string): ArgSource => {
    if (index !== 0) fail(p, availableArgs(call, [0]));
    return { off: bprm * 8, size: 8, ctype: "struct linux_binprm *", signed: false, userPointers: false };
  };
  const args = spec.args ?? [];
  const { specs, outputs, slotOfIndex } = buildArgs(args, sourceOf, path, undefined, env.resolve);
  const selectors = compileSelectors(spec.selectors, {
    path, outputs, slotOfIndex, slotOfPosition: (pos) => (pos < args.length ? pos : undefined),
    values: ctx.values, hostNs: env.hostNs, ...env.safety, substring: env.substring, followSets: ctx.followSets,
  });
  return [{
    path,
    description: `${call} as the raw tracepoint ${EVENT} (its linux_binprm)`,
    attach: { kind: "raw_tracepoint", name: EVENT },
    op: GenericOp.KPROBE,
    flags: HOOK_F.ENABLED,
    recSize: proto!.length * 8,
    retOff: 0, retSize: 0, retType: 0,
    args: specs,
    selectors,
    meta: standInMeta(ctx, outputs),
  }];
}
