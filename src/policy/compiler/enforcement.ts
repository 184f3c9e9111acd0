/**
 * Where a hook's Override is carried out, chosen from what the running kernel offers, in
 * Tetragon's order: bpf_override_return on a kprobe of the syscall, then fmod_ret, then a
 * BPF-LSM verdict. Without any of them (this project's development kernel) the hook still
 * decides in BPF and leaves the decision in deny_map, where cgroup programs (connect, bind,
 * sendto/sendmsg, socket) or the fanotify guard (open, exec) carry it out before the call
 * takes effect. Anything else is rejected, naming the missing kernel feature.
 */
import { DENY_K } from "../../decode/generic-layout";
import type { KProbeSelector, KProbeSpec, TracingPolicy } from "../types";
import { archSyscallPrefix, syscallBaseName } from "../../sensors/tracing/tracefs";
import type { EnforcerPlan, FanotifyPlan } from "./plan";
import { fail } from "./errors";
import type { CompileEnv } from "./hooks";

/** Network syscalls a cgroup program can fail, and the deny kind its program checks. */
export const CGROUP_CALLS: Record<string, number> = {
  connect: DENY_K.CONNECT, bind: DENY_K.BIND, sendto: DENY_K.SENDMSG, sendmsg: DENY_K.SENDMSG,
  sendmmsg: DENY_K.SENDMSG, socket: DENY_K.SOCKET,
};

/** Syscalls that open or execute a file: the fanotify guard fails them; pathIndex names the file. */
export const FANOTIFY_CALLS: Record<string, { kind: number; pathIndex: number }> = {
  open: { kind: DENY_K.OPEN, pathIndex: 0 }, creat: { kind: DENY_K.OPEN, pathIndex: 0 },
  openat: { kind: DENY_K.OPEN, pathIndex: 1 }, openat2: { kind: DENY_K.OPEN, pathIndex: 1 },
  execve: { kind: DENY_K.EXEC, pathIndex: 0 }, execveat: { kind: DENY_K.EXEC, pathIndex: 1 },
};

/** x86-64 syscall arguments in the user registers (struct pt_regs offsets: di, si, dx, r10, r8, r9). */
export const SYSCALL_REGS = [112, 104, 96, 56, 72, 64];
/** the x86 syscall entry function's argument (the user pt_regs pointer), in the kprobe's regs (di) */
export const KPROBE_FIRST_ARG = 112;

export type SyscallRoute =
  | { kind: "tracepoint" }
  | { kind: "kprobe"; override: boolean }
  | { kind: "fmod_ret" }
  | { kind: "cgroup"; denyKinds: number }
  | { kind: "fanotify"; denyKinds: number; pathIndex: number };

export function overrideActionsIn(selectors: KProbeSelector[] | undefined): boolean {
  return (selectors ?? []).some((s) => (s.matchActions ?? []).some((a) => a.action === "Override"));
}

const NO_OVERRIDE = "bpf_override_return (kprobes with CONFIG_BPF_KPROBE_OVERRIDE), fmod_ret or BPF-LSM";

/** How a syscall hook that asks for Override attaches on this kernel. */
export function syscallOverrideRoute(call: string, env: CompileEnv, path: string): SyscallRoute {
  const name = syscallBaseName(call);
  if (env.kprobes && env.overrideReturn) return { kind: "kprobe", override: true };
  if (env.fmodRet) return { kind: "fmod_ret" };
  if (CGROUP_CALLS[name] !== undefined) {
    if (!env.cgroupV2) fail(`${path}.call`, `Override on ${name} needs ${NO_OVERRIDE}, or cgroup v2 for the cgroup programs that stand in; this kernel has none of them`);
    return { kind: "cgroup", denyKinds: CGROUP_CALLS[name] };
  }
  const fan = FANOTIFY_CALLS[name];
  if (fan) {
    if (!env.fanotify) fail(`${path}.call`, `Override on ${name} needs ${NO_OVERRIDE}, or fanotify permission events (CONFIG_FANOTIFY_ACCESS_PERMISSIONS); this kernel has none of them`);
    return { kind: "fanotify", denyKinds: fan.kind, pathIndex: fan.pathIndex };
  }
  fail(`${path}.call`, `Override on ${name} needs ${NO_OVERRIDE}, which this kernel does not have; without them tetragon-ts overrides ${Object.keys(CGROUP_CALLS).join(", ")} (cgroup BPF) and ${Object.keys(FANOTIFY_CALLS).join(", ")} (fanotify)`);
}

/**
 * The paths the fanotify guard watches: every selector that overrides must name the file with
 * Equal or Prefix on the path argument (fanotify marks files and directories, not patterns).
 */
export function fanotifyPlan(spec: KProbeSpec, pathIndex: number, kind: number, path: string): FanotifyPlan {
  const values: FanotifyPlan["values"] = [];
  (spec.selectors ?? []).forEach((sel, si) => {
    if (!(sel.matchActions ?? []).some((a) => a.action === "Override")) return;
    const named = (sel.matchArgs ?? []).filter((m) => {
      const idx = m.args?.length ? spec.args?.[m.args[0]]?.index : m.index ?? 0;
      return idx === pathIndex && (m.operator === "Equal" || m.operator === "Prefix");
    });
    if (!named.length) {
      fail(`${path}.selectors[${si}].matchArgs`, `Override through fanotify (this kernel has no ${NO_OVERRIDE}) needs matchArgs Equal or Prefix on argument ${pathIndex}, the file: fanotify watches the files and directories a policy names`);
    }
    for (const m of named) {
      (m.values ?? []).forEach((v, i) => {
        if (!v.startsWith("/")) fail(`${path}.selectors[${si}].matchArgs.values[${i}]`, `fanotify watches absolute paths, got '${v}'`);
        values.push({ op: m.operator as "Equal" | "Prefix", path: v });
      });
    }
  });
  return { values, open: kind === DENY_K.OPEN, exec: kind === DENY_K.EXEC };
}

/** spec.enforcers: where NotifyEnforcer's decisions fail the listed calls. */
export function enforcerPlans(policy: TracingPolicy, env: CompileEnv, expand: (call: string, path: string) => string[]): EnforcerPlan[] {
  return (policy.spec.enforcers ?? []).map((e, i) => {
    const path = `spec.enforcers[${i}]`;
    const names = e.calls.flatMap((c, j) => expand(c, `${path}.calls[${j}]`)).map(syscallBaseName);
    const calls = names.map((n) => archSyscallPrefix() + n);
    if (env.kprobes && env.overrideReturn) return { path, calls, mechanism: "override_return", kinds: DENY_K.ENFORCER };
    if (env.fmodRet) return { path, calls, mechanism: "fmod_ret", kinds: DENY_K.ENFORCER };
    const other = names.findIndex((n) => CGROUP_CALLS[n] === undefined);
    if (other >= 0 || !env.cgroupV2) {
      fail(`${path}.calls`, `an enforcer on ${names[Math.max(other, 0)]} needs ${NO_OVERRIDE}, which this kernel does not have; without them enforcers can fail ${Object.keys(CGROUP_CALLS).join(", ")} (cgroup BPF)`);
    }
    // ENFORCER marks the decision as one the failed call uses up
    return { path, calls, mechanism: "cgroup", kinds: names.reduce<number>((k, n) => k | CGROUP_CALLS[n], DENY_K.ENFORCER) };
  });
}
