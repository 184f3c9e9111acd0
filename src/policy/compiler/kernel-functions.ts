/**
 * Hooks on kernel functions, on kernels that can attach to them: kprobes (and kretprobes),
 * fentry (and fexit) and BPF-LSM hooks. Arguments are typed by the function's prototype in
 * the kernel's BTF; the same selector machinery as every other hook applies.
 */
import * as fs from "node:fs";
import { GenericOp, GT, HOOK_F } from "../../decode/generic-layout";
import type { KProbeArg, KProbeSpec, LsmHookSpec, TracingPolicy } from "../types";
import { buildArgs, KERNEL_OBJECT_GTS, PT_REGS_ARGS, PT_REGS_RET, PT_REGS_SIZE, resolveType, type ArgSource, type DataArgs } from "./args";
import { compileSelectors } from "./selectors";
import type { EventMeta, HookPlan, ValueSets } from "./plan";
import { fail } from "./errors";
import type { CompileEnv } from "./hooks";
import { overrideActionsIn } from "./enforcement";

export type KernelHookKind = "kprobe" | "fentry" | "lsm";

/** sizeof(struct pt_regs) on x86-64: the record of a kprobe */

let traceable: Set<string> | undefined;

/** Functions kprobes can attach to (the ftrace list; a function missing there is inlined or notrace). */
export function traceableFunctions(tracefsRoot = "/sys/kernel/tracing"): Set<string> {
  if (traceable) return traceable;
  const out = new Set<string>();
  try {
    for (const line of fs.readFileSync(`${tracefsRoot}/available_filter_functions`, "utf8").split("\n")) {
      const name = line.split(" ")[0];
      if (name) out.add(name);
    }
  } catch {
    /* no ftrace: attach errors will say it */
  }
  traceable = out;
  return out;
}

const MECHANISM: Record<KernelHookKind, string> = { kprobe: "kprobe", fentry: "fentry", lsm: "BPF-LSM hook" };

export function kernelFunctionHook(
  policy: TracingPolicy, spec: KProbeSpec | LsmHookSpec, fn: string, path: string, values: ValueSets, env: CompileEnv,
  followSets: string[][], kind: KernelHookKind, dataArgs?: DataArgs,
): HookPlan {
  const callPath = kind === "lsm" ? `${path}.hook` : `${path}.call`;
  const proto = env.functionProto?.(kind === "lsm" ? `bpf_lsm_${fn}` : fn);
  if (kind === "lsm" && !proto) fail(callPath, `'${fn}' is not an LSM hook of this kernel (no bpf_lsm_${fn} in its BTF)`);
  if (kind === "fentry" && !proto) fail(callPath, `'${fn}' has no prototype in the kernel's BTF: fentry cannot attach to it (use a kprobe)`);
  if (kind === "kprobe" && env.kprobeTargets && !env.kprobeTargets().has(fn)) {
    fail(callPath, `'${fn}' is not a kernel function kprobes can attach to (not in available_filter_functions: inlined, notrace or missing)`);
  }
  const params = proto?.params;
  const maxArgs = kind === "kprobe" ? PT_REGS_ARGS.length : (params?.length ?? 0);
  const sourceOf = (index: number, p: string): ArgSource => {
    if (index >= maxArgs || (params && index >= params.length)) {
      fail(p, `${fn} has ${params ? params.length : maxArgs} arguments ${kind === "kprobe" && !params ? "reachable from registers " : ""}(index 0..${Math.min(maxArgs, params?.length ?? maxArgs) - 1})`);
    }
    const param = params?.[index];
    const off = kind === "kprobe" ? PT_REGS_ARGS[index] : index * 8;
    return { off, size: Math.min(param?.size || 8, 8), ctype: param?.ctype, signed: param?.signed, userPointers: false };
  };
  const args = spec.args ?? [];
  const { specs, outputs, slotOfIndex, dataSlots } = buildArgs(args, sourceOf, path, dataArgs, env.resolve);
  const isProbe = "call" in spec;
  const k = spec as KProbeSpec;
  const wantsReturn = isProbe && !!k.return;
  if (kind === "lsm" && "return" in spec) fail(`${path}.return`, "LSM hooks report no return value");
  const meta: EventMeta = {
    kind: kind === "lsm" ? "lsm" : "kprobe", policyName: policy.metadata.name, functionName: fn, subsys: "", event: "",
    path: "", symbol: "", message: (spec.message ?? "").slice(0, 256), tags: spec.tags ?? [], args: outputs, hasReturn: false,
  };
  const nparams = params?.length ?? 0;
  const retOff = kind === "kprobe" ? PT_REGS_RET : nparams * 8;
  let retType: number = GT.S64;
  if (wantsReturn) {
    if (!k.returnArg) fail(`${path}.returnArg`, "return: true needs a returnArg");
    if (proto && proto.ret.ctype === "void") fail(`${path}.return`, `${fn} returns nothing`);
    const retSrc: ArgSource = { off: retOff, size: 8, ctype: proto?.ret.ctype ?? "long", signed: proto?.ret.signed ?? true, userPointers: false };
    const t = resolveType(k.returnArg as KProbeArg, retSrc, `${path}.returnArg`);
    const numeric = t.gt <= GT.SIZE || t.gt === GT.CAPABILITY || t.gt === GT.KERNEL_CAP || t.gt === GT.BPF_CMD;
    if (!numeric && !KERNEL_OBJECT_GTS.includes(t.gt) && t.gt !== GT.KSTRING) {
      fail(`${path}.returnArg.type`, `a return value is a number or a kernel object here, not '${t.name}'`);
    }
    retType = t.gt;
    meta.returnArg = { type: t.name, gt: t.gt, label: k.returnArg.label, signed: t.signed };
    meta.hasReturn = true;
  }
  const selectors = compileSelectors(spec.selectors, {
    path, outputs, slotOfIndex, slotOfPosition: (pos) => (pos < args.length ? pos : undefined),
    returnOutput: meta.returnArg ? { gt: meta.returnArg.gt, signed: meta.returnArg.signed } : undefined,
    values, hostNs: env.hostNs, ...env.safety, substring: env.substring, followSets, dataSlots,
  });
  // Override: the kprobe's bpf_override_return, fmod_ret instead of fentry, or the LSM verdict
  const override = overrideActionsIn(spec.selectors);
  // fmod_ret: the kernel allows it on security_* functions, and on functions open to error
  // injection where it has CONFIG_FUNCTION_ERROR_INJECTION
  const modifiable = env.fmodRet || (env.fentry && fn.startsWith("security_"));
  if (override && kind === "kprobe" && !env.overrideReturn) fail(callPath, `Override on a kprobe needs bpf_override_return (CONFIG_BPF_KPROBE_OVERRIDE), which this kernel does not have${modifiable ? ": hook it with fentries, which override through fmod_ret" : ""}`);
  if (override && kind === "fentry" && !modifiable) fail(callPath, `Override on an fentry hook needs fmod_ret, which this kernel allows only on security_ functions${env.fentry ? "" : " (and it has no BPF trampolines)"}`);
  const attach: HookPlan["attach"] = kind === "lsm"
    ? { kind: "lsm", hook: fn }
    : kind === "kprobe" ? { kind, func: fn, withReturn: wantsReturn, nargs: nparams, ...(override ? { override } : {}) }
    : { kind, func: fn, withReturn: wantsReturn, nargs: nparams, ...(override ? { modifyReturn: true } : {}) };
  const enforcement = !override ? undefined
    : { mechanism: kind === "lsm" ? "lsm" as const : kind === "kprobe" ? "override_return" as const : "fmod_ret" as const, denyKinds: 0 };
  return {
    path,
    enforcement,
    description: `${override && kind === "fentry" ? "fmod_ret" : MECHANISM[kind]} ${fn}${wantsReturn ? (kind === "kprobe" ? " + kretprobe" : " + fexit") : ""}${enforcement ? ` (Override: ${enforcement.mechanism})` : ""}`,
    attach,
    op: GenericOp.KPROBE,
    flags: HOOK_F.ENABLED | (wantsReturn ? HOOK_F.RETURN : 0),
    recSize: kind === "kprobe" ? PT_REGS_SIZE : Math.max(8, (nparams + (wantsReturn ? 1 : 0)) * 8),
    retOff,
    retSize: 8,
    retType,
    args: specs,
    selectors,
    meta,
  };
}
