/** Policy sections to hook plans: syscalls (through their tracepoints), tracepoints, uprobes. */
import * as fs from "node:fs";
import { ACT, GenericOp, GT, HOOK_DENY_SHIFT, HOOK_F, HOOK_SOCK_SLOT_SHIFT, LIMITS } from "../../decode/generic-layout";
import type { KProbeArg, KProbeSpec, TracepointSpec, TracingPolicy, UProbeSpec } from "../types";
import {
  archSyscallPrefix, readFormat, syscallBaseName, syscallNames, TracefsError, type TracepointFormat,
} from "../../sensors/tracing/tracefs";
import { buildArgs, fieldSource, PT_REGS_ARGS, PT_REGS_RET, PT_REGS_SIZE, resolveType, type ArgSource, type DataArgs, type Resolver } from "./args";
import { SRC } from "../../decode/generic-layout";
import { compileSelectors } from "./selectors";
import type { CompiledPolicy, EventMeta, HookPlan, ValueSets } from "./plan";
import { newValueSets } from "./plan";
import { CompileError, fail } from "./errors";
import { equivalentHook, EQUIVALENTS } from "./equivalents";
import { kernelFunctionHook } from "./kernel-functions";
import { CGROUP_HOOK_CALLS, cgroupEvaluable } from "./cgroup-hooks";
import {
  enforcerPlans, fanotifyPlan, KPROBE_FIRST_ARG, overrideActionsIn, SYSCALL_REGS, syscallOverrideRoute, type SyscallRoute,
} from "./enforcement";
import { UNFILTERED_OPTION } from "./selectors";

export interface CompileEnv {
  /** kernel features the agent probed */
  kprobes: boolean;
  /** bpf_strstr exists: SubString operators */
  substring: boolean;
  /** raw tracepoint links take a cookie (Linux 6.10+) */
  rawTracepointCookies: boolean;
  /** `resolve` through kernel structs, from BTF */
  resolve?: Resolver;
  /** TP_PROTO arguments of a raw tracepoint, from BTF */
  rawTracepointArgs: (event: string) => Array<{ ctype: string; size: number; signed: boolean }> | undefined;
  tracefsRoot?: string;
  hostNs: (ns: string) => number;
  /** fentry/fexit programs load (BPF trampolines) */
  fentry?: boolean;
  /** BPF-LSM is active */
  lsm?: boolean;
  /** a kernel function's prototype, from BTF */
  functionProto?: (name: string) => { params: Array<{ ctype: string; size: number; signed: boolean; name: string }>; ret: { ctype: string; size: number; signed: boolean } } | undefined;
  /** functions kprobes can attach to */
  kprobeTargets?: () => Set<string>;
  /** bpf_override_return works on kprobes */
  overrideReturn?: boolean;
  /** fmod_ret programs load (BPF trampolines that can change a return value) */
  fmodRet?: boolean;
  /** cgroup v2 is mounted: the cgroup programs can deny network calls */
  cgroupV2?: boolean;
  /** fanotify permission events: the guard can deny opens and executions */
  fanotify?: boolean;
  /** per policy, set by compilePolicy: the enforcement safety rule's inputs */
  safety?: { protectedBinaries?: string[]; allowUnfiltered?: boolean; enforcerKinds?: number };
  /** executables spared by enforcement unless named: PID 1's, the agent's CLI */
  protectedBinaries?: string[];
}

const SYSCALL_FIRST_ARG_FIELD = 5;

/** pt_regs offsets by register name (x86-64), for data args with source: pt_regs */
const PT_REGS: Record<string, number> = {
  r15: 0, r14: 8, r13: 16, r12: 24, bp: 32, bx: 40, r11: 48, r10: 56, r9: 64, r8: 72, ax: 80, cx: 88, dx: 96,
  si: 104, di: 112, orig_ax: 120, ip: 128, cs: 136, flags: 144, sp: 152, ss: 160,
};

function dataArgs(list: KProbeArg[] | undefined, probe: boolean): DataArgs {
  return {
    list: list ?? [],
    sourceOf: (arg, path) => {
      if (arg.source === "pt_regs") {
        if (!probe) fail(`${path}.source`, "pt_regs data is only available on probes (uprobes, kprobes)");
        const off = PT_REGS[arg.resolve];
        if (off === undefined) fail(`${path}.resolve`, `unknown register '${arg.resolve}' (${Object.keys(PT_REGS).join(", ")})`);
        return { off, size: 8, userPointers: true };
      }
      return { off: 0, size: 8, source: SRC.CURRENT_TASK, ctype: "struct task_struct *", userPointers: false };
    },
  };
} // common_type, common_flags, common_preempt_count, common_pid, __syscall_nr

function baseMeta(policy: TracingPolicy, kind: EventMeta["kind"], spec: { message?: string; tags?: string[] }): EventMeta {
  return {
    kind, policyName: policy.metadata.name, functionName: "", subsys: "", event: "", path: "", symbol: "",
    message: (spec.message ?? "").slice(0, 256), tags: spec.tags ?? [], args: [], hasReturn: false,
  };
}

function expandCalls(policy: TracingPolicy, call: string, path: string, env: CompileEnv): string[] {
  if (!call.startsWith("list:")) return [call];
  const name = call.slice(5);
  const list = (policy.spec.lists ?? []).find((l) => l.name === name);
  if (!list) fail(`${path}.call`, `no list named '${name}' in spec.lists`);
  if (list.type === "generated_syscalls") return syscallNames(env.tracefsRoot);
  if (list.type === "generated_ftrace") {
    if (!env.kprobes || !env.kprobeTargets) fail(`${path}.call`, "generated_ftrace lists need kprobes, which this kernel does not have");
    // the kernel functions kprobes can attach to whose names the pattern matches
    const re = new RegExp(list.pattern ?? "");
    const fns = [...env.kprobeTargets()].filter((f) => re.test(f)).sort();
    if (!fns.length) fail(`${path}.call`, `list '${name}': no traceable kernel function matches ${list.pattern}`);
    if (fns.length > LIMITS.MAX_HOOKS) fail(`${path}.call`, `list '${name}': ${fns.length} functions match ${list.pattern}, at most ${LIMITS.MAX_HOOKS} hooks`);
    return fns;
  }
  return list.values ?? [];
}

function syscallHook(policy: TracingPolicy, spec: KProbeSpec, call: string, path: string, values: ValueSets, env: CompileEnv, followSets: string[][]): HookPlan {
  const name = syscallBaseName(call);
  const fn = archSyscallPrefix() + name;
  let route: SyscallRoute = overrideActionsIn(spec.selectors) ? syscallOverrideRoute(call, env, path) : { kind: "tracepoint" };
  const probed = route.kind === "kprobe" || route.kind === "fmod_ret";
  // a cgroup-routed Override needs no exit program: its decision is bound to the call (bpf/lib/deny.h)
  const needExit = !!spec.return || route.kind === "fanotify";
  let enter: TracepointFormat | undefined;
  let exit: TracepointFormat | undefined;
  try {
    enter = readFormat("syscalls", `sys_enter_${name}`, env.tracefsRoot);
    if (needExit) exit = readFormat("syscalls", `sys_exit_${name}`, env.tracefsRoot);
  } catch (e) {
    if (!(e instanceof TracefsError)) throw e;
    // kernels without syscall tracepoints (CONFIG_FTRACE_SYSCALLS) still have the entry functions
    const viaKprobe = env.kprobes && env.kprobeTargets?.().has(fn) && route.kind === "tracepoint";
    if (!probed && !viaKprobe) fail(`${path}.call`, `syscall '${call}' not found: ${e.message}`);
    if (viaKprobe) route = { kind: "kprobe", override: false };
    enter = undefined;
    exit = undefined;
  }
  const viaProbe = route.kind === "kprobe" || route.kind === "fmod_ret";
  const argFields = enter?.fields.slice(SYSCALL_FIRST_ARG_FIELD);
  const sourceOf = (index: number, p: string): ArgSource => {
    const count = argFields?.length ?? SYSCALL_REGS.length;
    if (index >= count) fail(p, `syscall ${name} has ${count} arguments (index 0..${count - 1})`);
    const f = argFields?.[index];
    if (!viaProbe) return fieldSource(f!, true);
    // the syscall's entry function: the arguments are the user registers
    const base: ArgSource = f ? fieldSource(f, true) : { off: 0, size: 8, ctype: "long", signed: true, userPointers: true };
    return { ...base, off: SYSCALL_REGS[index], size: 8 };
  };
  const args = spec.args ?? [];
  const { specs, outputs, slotOfIndex, dataSlots } = buildArgs(args, sourceOf, path, dataArgs(spec.data, false), env.resolve);
  const meta = baseMeta(policy, "kprobe", spec);
  meta.functionName = fn;
  meta.args = outputs;
  let retType: number = GT.S64;
  const retField = exit?.fields.find((f) => f.name === "ret");
  // the return value: sys_exit's ret, kretprobe's ax, or fexit's value after the one argument
  const retOff = route.kind === "kprobe" ? PT_REGS_RET : route.kind === "fmod_ret" ? 8 : retField?.offset ?? 0;
  if (spec.return) {
    if (!spec.returnArg) fail(`${path}.returnArg`, "return: true needs a returnArg");
    if (!viaProbe && !retField) fail(`${path}.return`, `sys_exit_${name} has no ret field`);
    const retSrc = retField && !viaProbe ? fieldSource(retField, true) : { off: retOff, size: 8, userPointers: true };
    const t = resolveType(spec.returnArg, { ...retSrc, ctype: "long", signed: true }, `${path}.returnArg`);
    if (t.gt === GT.STRING || t.gt === GT.CHAR_BUF || t.gt === GT.SOCKADDR || t.gt === GT.CONST_BUF) {
      fail(`${path}.returnArg.type`, "a return value is a number here");
    }
    retType = t.gt;
    meta.returnArg = { type: t.name, gt: t.gt, label: spec.returnArg.label, signed: t.signed };
    meta.hasReturn = true;
  }
  const selectors = compileSelectors(spec.selectors, {
    path, outputs, slotOfIndex, slotOfPosition: (pos) => (pos < args.length ? pos : undefined),
    returnOutput: meta.returnArg ? { gt: meta.returnArg.gt, signed: meta.returnArg.signed } : undefined,
    values, hostNs: env.hostNs, ...env.safety, substring: env.substring, followSets, dataSlots,
  });
  const base = {
    path, op: GenericOp.KPROBE, retType, args: specs, selectors, meta,
    retSize: viaProbe ? 8 : retField ? Math.min(retField.size, 8) : 0,
    retOff,
  };
  const flags = HOOK_F.ENABLED | (spec.return ? HOOK_F.RETURN : 0);
  if (route.kind === "kprobe") {
    return {
      ...base,
      description: `kprobe ${fn}${spec.return ? " + kretprobe" : ""}${route.override ? " (Override: bpf_override_return)" : ""}`,
      attach: { kind: "kprobe", func: fn, withReturn: !!spec.return, override: route.override, indirect: KPROBE_FIRST_ARG },
      flags, recSize: PT_REGS_SIZE,
      enforcement: route.override ? { mechanism: "override_return", denyKinds: 0 } : undefined,
    };
  }
  if (route.kind === "fmod_ret") {
    return {
      ...base,
      description: `fmod_ret ${fn}${spec.return ? " + fexit" : ""} (Override: fmod_ret)`,
      attach: { kind: "fentry", func: fn, withReturn: !!spec.return, nargs: 1, modifyReturn: true, indirect: 0 },
      flags, recSize: PT_REGS_SIZE,
      enforcement: { mechanism: "fmod_ret", denyKinds: 0 },
    };
  }
  const filtered = policy.kind === "TracingPolicyNamespaced" || !!policy.spec.podSelector || !!policy.spec.containerSelector;
  if (route.kind === "cgroup" && cgroupEvaluable(name, spec, specs, selectors, filtered)) {
    const [v4, v6] = CGROUP_HOOK_CALLS[name].programs.map((p) => p.replace("generic_cgroup_", "cgroup/"));
    return {
      ...base,
      description: `${v4} + ${v6} (Override: cgroup BPF, selectors evaluated there: no syscall tracepoint)`,
      attach: { kind: "cgroup", call: name },
      flags, recSize: 0,
      enforcement: { mechanism: "cgroup", denyKinds: 0 },
    };
  }
  const deny = route.kind === "cgroup" || route.kind === "fanotify" ? route.denyKinds : 0;
  const how = route.kind === "cgroup" ? " (Override: cgroup BPF)" : route.kind === "fanotify" ? " (Override: fanotify)" : "";
  return {
    ...base,
    description: `syscalls/sys_enter_${name}${needExit ? ` + sys_exit_${name}` : ""}${how}`,
    attach: { kind: "tracepoint", category: "syscalls", name: `sys_enter_${name}`, exit: needExit ? { category: "syscalls", name: `sys_exit_${name}` } : undefined },
    flags: flags | (deny << HOOK_DENY_SHIFT) | (route.kind === "cgroup" && !needExit ? HOOK_F.DENY_BOUND : 0),
    recSize: Math.min(Math.max(enter!.size, exit?.size ?? 0), LIMITS.REC_MAX - 8),
    enforcement: route.kind === "cgroup" ? { mechanism: "cgroup", denyKinds: deny }
      : route.kind === "fanotify" ? { mechanism: "fanotify", denyKinds: deny, fanotify: fanotifyPlan(spec, route.pathIndex, deny, path) }
      : undefined,
  };
}

/** raw: true — the tracepoint's TP_PROTO arguments, typed by the kernel's BTF. */
function rawTracepointHook(policy: TracingPolicy, spec: TracepointSpec, path: string, values: ValueSets, env: CompileEnv, followSets: string[][]): HookPlan {
  if (!env.rawTracepointCookies) fail(`${path}.raw`, "raw tracepoints need attach cookies (Linux 6.10 or later), which this kernel does not have");
  const protoArgs = env.rawTracepointArgs(spec.event);
  if (!protoArgs) fail(`${path}.event`, `raw tracepoint ${spec.event} is not in the kernel's BTF`);
  const sourceOf = (index: number, p: string): ArgSource => {
    const a = protoArgs[index];
    if (!a) fail(p, `raw tracepoint ${spec.event} has ${protoArgs.length} arguments (index 0..${protoArgs.length - 1})`);
    return { off: index * 8, size: Math.min(a.size || 8, 8), ctype: a.ctype, signed: a.signed, userPointers: false };
  };
  const args = spec.args ?? [];
  const { specs, outputs, slotOfIndex } = buildArgs(args, sourceOf, path, undefined, env.resolve);
  const meta = baseMeta(policy, "tracepoint", spec);
  meta.subsys = spec.subsystem;
  meta.event = spec.event;
  meta.args = outputs;
  const selectors = compileSelectors(spec.selectors, {
    path, outputs, slotOfIndex, slotOfPosition: (pos) => (pos < args.length ? pos : undefined), values,
    hostNs: env.hostNs, ...env.safety, substring: env.substring, followSets,
  });
  return {
    path,
    description: `raw_tp/${spec.event}`,
    attach: { kind: "raw_tracepoint", name: spec.event },
    op: GenericOp.TRACEPOINT,
    flags: HOOK_F.ENABLED,
    recSize: protoArgs.length * 8,
    retOff: 0, retSize: 0, retType: 0,
    args: specs,
    selectors,
    meta,
  };
}

function tracepointHook(policy: TracingPolicy, spec: TracepointSpec, path: string, values: ValueSets, env: CompileEnv, followSets: string[][]): HookPlan {
  if (spec.raw) return rawTracepointHook(policy, spec, path, values, env, followSets);
  let fmt: TracepointFormat;
  try {
    fmt = readFormat(spec.subsystem, spec.event, env.tracefsRoot);
  } catch (e) {
    if (e instanceof TracefsError) fail(`${path}.event`, e.message);
    throw e;
  }
  const isSyscallTp = spec.subsystem === "syscalls" || spec.subsystem === "raw_syscalls";
  const sourceOf = (index: number, p: string): ArgSource => {
    const f = fmt.fields[index];
    if (!f) fail(p, `${spec.subsystem}/${spec.event} has ${fmt.fields.length} fields (index 0..${fmt.fields.length - 1})`);
    return fieldSource(f, spec.subsystem === "syscalls");
  };
  const args = spec.args ?? [];
  const { specs, outputs, slotOfIndex } = buildArgs(args, sourceOf, path);
  void isSyscallTp;
  const meta = baseMeta(policy, "tracepoint", spec);
  meta.subsys = spec.subsystem;
  meta.event = spec.event;
  meta.args = outputs;
  const selectors = compileSelectors(spec.selectors, {
    path, outputs, slotOfIndex, slotOfPosition: (pos) => (pos < args.length ? pos : undefined), values, hostNs: env.hostNs, ...env.safety, substring: env.substring, followSets,
  });
  return {
    path,
    description: `${spec.subsystem}/${spec.event}`,
    attach: { kind: "tracepoint", category: spec.subsystem, name: spec.event },
    op: GenericOp.TRACEPOINT,
    flags: HOOK_F.ENABLED,
    recSize: Math.min(fmt.size, LIMITS.REC_MAX - 8),
    retOff: 0, retSize: 0, retType: 0,
    args: specs,
    selectors,
    meta,
  };
}

function uprobeHooks(policy: TracingPolicy, spec: UProbeSpec, path: string, values: ValueSets, followSets: string[][], env: CompileEnv): HookPlan[] {
  try {
    fs.accessSync(spec.path, fs.constants.R_OK);
  } catch (e) {
    fail(`${path}.path`, `cannot read ${spec.path}: ${(e as NodeJS.ErrnoException).code}`);
  }
  if (spec.addrs?.length) fail(`${path}.addrs`, "addrs are not supported by tetragon-ts yet: use symbols or offsets");
  const sourceOf = (index: number, p: string): ArgSource => {
    if (index >= PT_REGS_ARGS.length) fail(p, `uprobe arguments are read from registers: index 0..${PT_REGS_ARGS.length - 1}`);
    return { off: PT_REGS_ARGS[index], size: 8, userPointers: true };
  };
  const args = spec.args ?? [];
  const targets: Array<{ func?: string; offset?: number; label: string }> = spec.symbols?.length
    ? spec.symbols.map((s) => ({ func: s, label: s }))
    : (spec.offsets ?? []).map((o) => ({ offset: o, label: `0x${o.toString(16)}` }));
  return targets.map((t, i) => {
    const hp = `${path}.${spec.symbols?.length ? "symbols" : "offsets"}[${i}]`;
    const { specs, outputs, slotOfIndex, dataSlots } = buildArgs(args, sourceOf, path, dataArgs(spec.data, true), env.resolve);
    const meta = baseMeta(policy, "uprobe", spec);
    meta.path = spec.path;
    meta.symbol = t.func ?? "";
    meta.offset = t.offset;
    meta.refCtrOffset = spec.refCtrOffsets?.[i];
    meta.args = outputs;
    if (spec.return) {
      if (!spec.returnArg) fail(`${path}.returnArg`, "return: true needs a returnArg");
      const rt = resolveType(spec.returnArg as KProbeArg, { off: PT_REGS_RET, size: 8, userPointers: true, ctype: "long", signed: true }, `${path}.returnArg`);
      meta.returnArg = { type: rt.name, gt: rt.gt, label: spec.returnArg.label, signed: rt.signed };
      meta.hasReturn = true;
    }
    const selectors = compileSelectors(spec.selectors, {
      path, outputs, slotOfIndex, slotOfPosition: (pos) => (pos < args.length ? pos : undefined),
      returnOutput: meta.returnArg ? { gt: meta.returnArg.gt, signed: meta.returnArg.signed } : undefined,
      values, hostNs: env.hostNs, ...env.safety, substring: env.substring, followSets, dataSlots,
    });
    return {
      path: hp,
      description: `${spec.path}:${t.label}`,
      attach: { kind: "uprobe", binary: spec.path, func: t.func, offset: t.offset, refCtrOffset: meta.refCtrOffset, withReturn: spec.return },
      op: GenericOp.UPROBE,
      flags: HOOK_F.ENABLED | (spec.return ? HOOK_F.RETURN : 0),
      recSize: 168, // sizeof(struct pt_regs) on x86-64
      retOff: PT_REGS_RET, retSize: 8, retType: meta.returnArg?.gt ?? GT.S64,
      args: specs,
      selectors,
      meta,
    };
  });
}

function optionValue(policy: TracingPolicy, name: string): string | undefined {
  return policy.spec.options?.find((o) => o.name === name)?.value;
}

/** Compiles a validated policy for this kernel, or throws CompileError naming what cannot be. */
export function compilePolicy(policy: TracingPolicy, envIn: CompileEnv): CompiledPolicy {
  const values = newValueSets();
  const env: CompileEnv = { ...envIn };
  const followSets: string[][] = [];
  const hooks: HookPlan[] = [];
  const issues: Array<{ path: string; reason: string }> = [];
  const attempt = (f: () => void) => {
    try {
      f();
    } catch (e) {
      if (e instanceof CompileError) issues.push(...e.issues);
      else throw e;
    }
  };
  const spec = policy.spec;
  let enforcers: CompiledPolicy["enforcers"] = [];
  attempt(() => { enforcers = enforcerPlans(policy, env, (c, p) => expandCalls(policy, c, p, env)); });
  env.safety = {
    protectedBinaries: env.protectedBinaries,
    allowUnfiltered: optionValue(policy, UNFILTERED_OPTION) === "true",
    enforcerKinds: enforcers.length ? enforcers.reduce((k, e) => k | e.kinds, 0) : undefined,
  };
  // TracingPolicyNamespaced, podSelector, containerSelector: a policy filter, checked in the
  // kernel against the cgroups of the matching containers (src/k8s/policy-filter.ts)
  let filter: CompiledPolicy["filter"];
  if (policy.kind === "TracingPolicyNamespaced" || spec.podSelector || spec.containerSelector) {
    if (policy.kind === "TracingPolicyNamespaced" && !policy.metadata.namespace) {
      issues.push({ path: "metadata.namespace", reason: "a TracingPolicyNamespaced needs a namespace" });
    }
    filter = {
      ...(policy.kind === "TracingPolicyNamespaced" ? { namespace: policy.metadata.namespace ?? "" } : {}),
      ...(spec.podSelector ? { podSelector: spec.podSelector } : {}),
      ...(spec.containerSelector ? { containerSelector: spec.containerSelector } : {}),
    };
  }
  (spec.kprobes ?? []).forEach((k, i) => attempt(() => {
    const path = `spec.kprobes[${i}]`;
    for (const call of expandCalls(policy, k.call, path, env)) {
      if (k.syscall) hooks.push(syscallHook(policy, k, call, path, values, env, followSets));
      else if (env.kprobes) hooks.push(kernelFunctionHook(policy, k, call, path, values, env, followSets, "kprobe", dataArgs(k.data, true)));
      else {
        const eq = equivalentHook(policy, k, call, path, values, env, followSets);
        if (!eq) fail(`${path}.call`, `'${call}' is a kernel function: hooking it needs kprobes, which this kernel does not have (CONFIG_KPROBES is not set); without them tetragon-ts can stand in for ${Object.keys(EQUIVALENTS).join(", ")}`);
        hooks.push(...eq);
      }
    }
  }));
  (spec.fentries ?? []).forEach((f, i) => attempt(() => {
    const path = `spec.fentries[${i}]`;
    if (!env.fentry) fail(path, "this kernel does not run fentry programs (BPF trampolines: a probe program failed to load): hook the function with kprobes, or use a kernel with fentry");
    for (const call of expandCalls(policy, f.call, path, env)) {
      hooks.push(kernelFunctionHook(policy, f, call, path, values, env, followSets, "fentry"));
    }
  }));
  (spec.lsmhooks ?? []).forEach((l, i) => attempt(() => {
    const path = `spec.lsmhooks[${i}]`;
    if (!env.lsm) fail(path, "this kernel does not run BPF-LSM programs (they need CONFIG_BPF_LSM and 'bpf' in the lsm= boot parameter; a probe program failed to load)");
    hooks.push(kernelFunctionHook(policy, l, l.hook, path, values, env, followSets, "lsm"));
  }));
  (spec.tracepoints ?? []).forEach((t, i) => attempt(() => hooks.push(tracepointHook(policy, t, `spec.tracepoints[${i}]`, values, env, followSets))));
  (spec.uprobes ?? []).forEach((u, i) => attempt(() => hooks.push(...uprobeHooks(policy, u, `spec.uprobes[${i}]`, values, followSets, env))));
  if (spec.usdts?.length) issues.push({ path: "spec.usdts", reason: "USDT probes are not supported by tetragon-ts yet" });
  (spec.kprobes ?? []).forEach((k, i) => {
    if (!k.returnArgAction) return;
    const path = `spec.kprobes[${i}].returnArgAction`;
    for (const h of hooks.filter((x) => x.path === `spec.kprobes[${i}]`)) {
      if (h.meta.returnArg?.gt !== GT.SOCK) issues.push({ path, reason: `${k.returnArgAction} needs a returnArg of type sock` });
      else if (h.meta.returnArg.slot !== undefined) issues.push({ path, reason: `${k.returnArgAction} on the return value of a stand-in (${h.description}) is not supported` });
      else h.flags |= k.returnArgAction === "TrackSock" ? HOOK_F.RET_TRACK_SOCK : HOOK_F.RET_UNTRACK_SOCK;
    }
  });
  for (const h of hooks) {
    // events of a tracked sock go to the process that tracked it
    const sock = h.meta.args.find((a) => a.gt === GT.SOCK);
    if (sock && sock.slot < 15) h.flags |= (sock.slot + 1) << HOOK_SOCK_SLOT_SHIFT;
    const wants = h.selectors.some((s) => s.actions.some((a) => a.action === ACT.OVERRIDE));
    if (wants && !h.enforcement) {
      issues.push({ path: h.path, reason: `Override needs a syscall, a kernel function open to error injection or an LSM hook; ${h.description} cannot be overridden` });
    }
  }
  if (spec.loader) issues.push({ path: "spec.loader", reason: "the loader sensor is not supported by tetragon-ts yet" });
  if (issues.length) throw new CompileError(issues, policy.metadata.name);
  if (hooks.length === 0) throw new CompileError([{ path: "spec", reason: "the policy has no hooks" }], policy.metadata.name);
  if (hooks.length > LIMITS.MAX_HOOKS) throw new CompileError([{ path: "spec", reason: `at most ${LIMITS.MAX_HOOKS} hooks` }], policy.metadata.name);
  const mode = optionValue(policy, "policy-mode") === "monitor" ? "monitor" : "enforce";
  if (mode === "monitor") for (const h of hooks) h.flags |= HOOK_F.MONITOR;
  return { name: policy.metadata.name, namespace: policy.metadata.namespace ?? "", hooks, values, mode, followSets, enforcers, ...(filter ? { filter } : {}) };
}
