/**
 * How the compiler plans Override, NotifyEnforcer and the safety rule for each kind of kernel:
 * bpf_override_return on the syscall's entry function, fmod_ret, the LSM verdict, and on a
 * kernel with none of them (this one) cgroup programs or fanotify; and the rejections that
 * name the missing feature. Syscall formats come from this machine's tracefs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parsePolicy } from "../../src/policy";
import { compilePolicy, type CompileEnv } from "../../src/policy/compiler/hooks";
import { CompileError } from "../../src/policy/compiler/errors";
import { ACT, DENY_K, HOOK_DENY_SHIFT, HOOK_F, SEL_F } from "../../src/decode/generic-layout";
import { KPROBE_FIRST_ARG, SYSCALL_REGS } from "../../src/policy/compiler/enforcement";
import { PT_REGS_RET } from "../../src/policy/compiler/args";

function env(over: Partial<CompileEnv> = {}): CompileEnv {
  return {
    kprobes: false, fentry: false, lsm: false, substring: false, rawTracepointCookies: true, hostNs: () => 0,
    rawTracepointArgs: () => undefined, cgroupV2: true, fanotify: true,
    functionProto: (fn) => (fn === "bpf_lsm_file_open" ? { params: [{ ctype: "struct file *", size: 8, signed: false, name: "file" }], ret: { ctype: "int", size: 4, signed: true } } : undefined),
    kprobeTargets: () => new Set(["__x64_sys_openat", "__x64_sys_connect"]),
    protectedBinaries: ["/opt/tetra/build/tetra-node", "/sbin/init"],
    ...over,
  };
}

const WITH_OVERRIDE_RETURN = { kprobes: true, overrideReturn: true, fentry: true, fmodRet: true };
const WITH_FMOD_RET = { kprobes: true, fentry: true, fmodRet: true };

function compile(spec: string, e = env()) {
  const yaml = `apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: p\nspec:\n${spec}`;
  return compilePolicy(parsePolicy(yaml), e);
}

function rejection(spec: string, e = env()): string {
  try {
    compile(spec, e);
  } catch (err) {
    assert.ok(err instanceof CompileError || (err as Error).name === "PolicyError", String(err));
    return (err as Error).message;
  }
  assert.fail("the policy compiled");
}

const syscall = (call: string, argIndex: number, type: string, match: string, action: string, extra = "") => `  kprobes:
  - call: "${call}"
    syscall: true
${extra}    args:
    - index: ${argIndex}
      type: "${type}"
    selectors:
    - matchArgs:
      - index: ${argIndex}
${match}
      matchActions:
${action}`;

const OPEN_SECRET = syscall("sys_openat", 1, "string", '        operator: "Equal"\n        values: ["/etc/shadow"]', "      - action: Override\n        argError: -13");
const CONNECT_PORT = syscall("sys_connect", 1, "sockaddr", '        operator: "SPort"\n        values: ["25"]', "      - action: Override\n        argError: -111");

test("with bpf_override_return: a kprobe on the syscall's entry function, reading the user registers", () => {
  const [h] = compile(OPEN_SECRET, env(WITH_OVERRIDE_RETURN)).hooks;
  assert.deepEqual(h.attach, { kind: "kprobe", func: "__x64_sys_openat", withReturn: false, override: true, indirect: KPROBE_FIRST_ARG });
  assert.equal(h.enforcement?.mechanism, "override_return");
  assert.equal(h.args[0].off, SYSCALL_REGS[1]);
  assert.match(h.description, /kprobe __x64_sys_openat \(Override: bpf_override_return\)/);
  const [a] = h.selectors[0].actions;
  assert.deepEqual({ action: a.action, arg: a.arg }, { action: ACT.OVERRIDE, arg: -13 });
});

test("with fmod_ret and no bpf_override_return: fmod_ret on the entry function; return values from fexit", () => {
  const [h] = compile(OPEN_SECRET.replace('syscall: true\n', 'syscall: true\n    return: true\n    returnArg:\n      index: 0\n      type: "int"\n'), env(WITH_FMOD_RET)).hooks;
  assert.deepEqual(h.attach, { kind: "fentry", func: "__x64_sys_openat", withReturn: true, nargs: 1, modifyReturn: true, indirect: 0 });
  assert.equal(h.enforcement?.mechanism, "fmod_ret");
  assert.equal(h.retOff, 8);
});

test("kretprobe return value on the kprobe route", () => {
  const [h] = compile(OPEN_SECRET.replace('syscall: true\n', 'syscall: true\n    return: true\n    returnArg:\n      index: 0\n      type: "int"\n'), env(WITH_OVERRIDE_RETURN)).hooks;
  assert.equal(h.retOff, PT_REGS_RET);
});

test("fentries override through fmod_ret: security_ functions on any kernel with trampolines, others need error injection", () => {
  const fentry = (fn: string) => `  fentries:
  - call: "${fn}"
    args:
    - index: 0
      type: "file"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Equal"
        values: ["/etc/shadow"]
      matchActions:
      - action: Override
        argError: -1
`;
  const protos = { functionProto: (fn: string) => ({ params: [{ ctype: "struct file *", size: 8, signed: false, name: "file" }], ret: { ctype: "int", size: 4, signed: true }, fn }) };
  const [h] = compile(fentry("security_file_open"), env({ fentry: true, ...protos })).hooks;
  assert.deepEqual(h.attach, { kind: "fentry", func: "security_file_open", withReturn: false, nargs: 1, modifyReturn: true });
  assert.equal(h.enforcement?.mechanism, "fmod_ret");
  assert.match(rejection(fentry("vfs_open"), env({ fentry: true, ...protos })), /needs fmod_ret, which this kernel allows only on security_ functions/);
  assert.equal(compile(fentry("vfs_open"), env({ fentry: true, fmodRet: true, ...protos })).hooks[0].enforcement?.mechanism, "fmod_ret");
});

test("BPF-LSM hooks override with their verdict", () => {
  const [h] = compile(`  lsmhooks:
  - hook: "file_open"
    args:
    - index: 0
      type: "file"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Equal"
        values: ["/etc/shadow"]
      matchActions:
      - action: Override
        argError: -1
`, env({ lsm: true, fentry: true })).hooks;
  assert.equal(h.enforcement?.mechanism, "lsm");
});

test("without any of them: connect through cgroup programs, with the deny kind in the hook's flags", () => {
  // a descriptor argument: the cgroup program cannot supply it, so the syscall hook decides
  const [h] = compile(CONNECT_PORT.replace("    args:\n", '    args:\n    - index: 0\n      type: "int"\n')).hooks;
  assert.equal(h.attach.kind, "tracepoint");
  assert.deepEqual(h.enforcement, { mechanism: "cgroup", denyKinds: DENY_K.CONNECT });
  assert.equal((h.flags >> HOOK_DENY_SHIFT) & 0xff, DENY_K.CONNECT);
  // no exit program: the decision is bound to the call
  assert.ok(h.attach.kind === "tracepoint" && h.attach.exit === undefined);
  assert.ok(h.flags & HOOK_F.DENY_BOUND);
  // with return: true the exit is there anyway, and it clears the decision
  const [r] = compile(syscall("sys_connect", 1, "sockaddr", '        operator: "SPort"\n        values: ["25"]', "      - action: Override\n        argError: -111",
    '    return: true\n    returnArg:\n      index: 0\n      type: "int"\n')).hooks;
  assert.ok(r.attach.kind === "tracepoint" && r.attach.exit?.name === "sys_exit_connect");
  assert.equal(r.flags & HOOK_F.DENY_BOUND, 0);
});

test("connect and bind hooks that look at the address alone are evaluated by the cgroup programs", () => {
  const [h] = compile(CONNECT_PORT).hooks;
  assert.deepEqual(h.attach, { kind: "cgroup", call: "connect" });
  assert.deepEqual(h.enforcement, { mechanism: "cgroup", denyKinds: 0 });
  assert.equal(h.flags & (HOOK_F.DENY_BOUND | 0xff00), 0, "no deny_map decision");
  assert.match(h.description, /cgroup\/connect4 \+ cgroup\/connect6/);
  const bind = compile(syscall("sys_bind", 1, "sockaddr", '        operator: "SAddr"\n        values: ["10.0.0.0/8"]', "      - action: Override\n        argError: -1")).hooks[0];
  assert.deepEqual(bind.attach, { kind: "cgroup", call: "bind" });
  // the caller's binary and pid come from the process cache, which the cgroup program reads too
  const bin = compile(CONNECT_PORT.replace("      matchActions:", '      matchBinaries:\n      - operator: "In"\n        values: ["/usr/bin/curl"]\n      matchPIDs:\n      - operator: "NotIn"\n        values: [1]\n      matchActions:')).hooks[0];
  assert.deepEqual(bin.attach, { kind: "cgroup", call: "connect" });
  const ns = compile(CONNECT_PORT.replace("      matchActions:", '      matchNamespaces:\n      - namespace: "Net"\n        operator: "In"\n        values: ["host_ns"]\n      matchCapabilities:\n      - type: Effective\n        operator: In\n        values: ["CAP_SYS_ADMIN"]\n      matchActions:')).hooks[0];
  assert.deepEqual(ns.attach, { kind: "cgroup", call: "connect" });
  // each of these needs what only the syscall hook has
  const port = '        operator: "SPort"\n        values: ["25"]';
  const override = "      - action: Override\n        argError: -1";
  const keeps: Array<[string, string]> = [
    ["a Signal next to the Override", syscall("sys_connect", 1, "sockaddr", port, `${override}\n      - action: Signal\n        argSig: 10`)],
    ["a Sigkill next to the Override", syscall("sys_connect", 1, "sockaddr", port, `${override}\n      - action: Sigkill`)],
    ["a return value", syscall("sys_connect", 1, "sockaddr", port, override, '    return: true\n    returnArg:\n      index: 0\n      type: "int"\n')],
    ["a port on a call the cgroup programs do not evaluate", syscall("sys_sendto", 4, "sockaddr", port, override)],
    ["a policy filter", `  podSelector:\n    matchLabels:\n      app: x\n${CONNECT_PORT}`],
  ];
  for (const [why, yaml] of keeps) assert.notEqual(compile(yaml).hooks[0].attach.kind, "cgroup", why);
});

test("without any of them: openat and execve through fanotify on the paths the selectors name", () => {
  const [h] = compile(OPEN_SECRET).hooks;
  assert.equal(h.enforcement?.mechanism, "fanotify");
  assert.deepEqual(h.enforcement?.fanotify, { values: [{ op: "Equal", path: "/etc/shadow" }], open: true, exec: false });
  const [x] = compile(syscall("sys_execve", 0, "string", '        operator: "Prefix"\n        values: ["/tmp/bad/"]', "      - action: Override\n        argError: -1")).hooks;
  assert.deepEqual(x.enforcement?.fanotify, { values: [{ op: "Prefix", path: "/tmp/bad/" }], open: false, exec: true });
  assert.equal((x.flags >> HOOK_DENY_SHIFT) & 0xff, DENY_K.EXEC);
});

test("rejections name the missing kernel feature and the field", () => {
  assert.match(rejection(syscall("sys_write", 0, "int", '        operator: "Equal"\n        values: ["1"]', "      - action: Override\n        argError: -1")),
    /spec\.kprobes\[0\]\.call: Override on write needs bpf_override_return .*fmod_ret or BPF-LSM, which this kernel does not have; without them tetragon-ts overrides connect/);
  assert.match(rejection(OPEN_SECRET.replace('"Equal"', '"Postfix"')), /selectors\[0\]\.matchArgs: Override through fanotify .*Equal or Prefix/);
  assert.match(rejection(OPEN_SECRET.replace('["/etc/shadow"]', '["shadow"]')), /absolute paths/);
  assert.match(rejection(CONNECT_PORT, env({ cgroupV2: false })), /cgroup v2/);
  assert.match(rejection(`  tracepoints:
  - subsystem: "sched"
    event: "sched_process_fork"
    args:
    - index: 0
      type: "int"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Equal"
        values: ["1"]
      matchActions:
      - action: Override
        argError: -1
`), /spec\.tracepoints\[0\]: Override needs a syscall/);
  assert.match(rejection(`  kprobes:
  - call: "tcp_connect"
    syscall: false
    args:
    - index: 0
      type: "sock"
    selectors:
    - matchArgs:
      - index: 0
        operator: "DPort"
        values: ["25"]
      matchActions:
      - action: Override
        argError: -1
`), /Override needs a syscall/);
  assert.match(rejection(OPEN_SECRET.replace("argError: -13", "argError: 13")), /argError/);
});

test("NotifyEnforcer: enforcers route by kernel, and the action carries the enforcer's deny kinds", () => {
  const spec = syscall("sys_connect", 1, "sockaddr", '        operator: "SPort"\n        values: ["25"]', "      - action: NotifyEnforcer\n        argError: -1\n        argSig: 9\n") + "  enforcers:\n  - calls:\n    - \"sys_connect\"\n    - \"sys_bind\"\n";
  const here = compile(spec);
  assert.deepEqual(here.enforcers.map((e) => [e.mechanism, e.kinds, e.calls]), [["cgroup", DENY_K.CONNECT | DENY_K.BIND | DENY_K.ENFORCER, ["__x64_sys_connect", "__x64_sys_bind"]]]);
  const [a] = here.hooks[0].selectors[0].actions;
  assert.deepEqual(a, { action: ACT.NOTIFY_ENFORCER, arg: -1, scope: 9, kinds: DENY_K.CONNECT | DENY_K.BIND | DENY_K.ENFORCER });
  assert.equal(compile(spec, env(WITH_OVERRIDE_RETURN)).enforcers[0].mechanism, "override_return");
  assert.equal(compile(spec, env(WITH_FMOD_RET)).enforcers[0].mechanism, "fmod_ret");
  assert.match(rejection(spec.replace('"sys_bind"', '"sys_write"')), /spec\.enforcers\[0\]\.calls: an enforcer on write needs/);
  assert.match(rejection(spec.replace(/  enforcers:[\s\S]*$/, "")), /NotifyEnforcer/);
});

test("safety: a selector that kills without any filter needs the policy option; naming PID 1 or the CLI lifts the spare", () => {
  const unfiltered = `  kprobes:
  - call: "sys_getcwd"
    syscall: true
    selectors:
    - matchActions:
      - action: Sigkill
`;
  assert.match(rejection(unfiltered), /selectors\[0\]: a selector that kills or denies needs a filter .*allow-unfiltered-enforcement/);
  assert.ok(compile(`  options:\n  - name: "allow-unfiltered-enforcement"\n    value: "true"\n${unfiltered}`).hooks.length === 1);
  const withPids = (pid: number) => `  kprobes:
  - call: "sys_getcwd"
    syscall: true
    selectors:
    - matchPIDs:
      - operator: In
        values: [${pid}]
      matchActions:
      - action: Sigkill
`;
  assert.equal(compile(withPids(1)).hooks[0].selectors[0].flags & SEL_F.EXPLICIT, SEL_F.EXPLICIT);
  assert.equal(compile(withPids(4242)).hooks[0].selectors[0].flags & SEL_F.EXPLICIT, 0);
  const cli = compile(`  kprobes:
  - call: "sys_getcwd"
    syscall: true
    selectors:
    - matchBinaries:
      - operator: In
        values: ["/opt/tetra/build/tetra-node"]
      matchActions:
      - action: Sigkill
`);
  assert.equal(cli.hooks[0].selectors[0].flags & SEL_F.EXPLICIT, SEL_F.EXPLICIT);
});

test("matchReturnActions run after matchReturnArgs; they cannot override a call that has returned", () => {
  const spec = `  kprobes:
  - call: "sys_openat"
    syscall: true
    return: true
    args:
    - index: 1
      type: "string"
    returnArg:
      index: 0
      type: "int"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Prefix"
        values: ["/etc/"]
      matchReturnArgs:
      - index: 0
        operator: "Equal"
        values: ["-13"]
      matchReturnActions:
      - action: Signal
        argSig: 10
`;
  const [h] = compile(spec).hooks;
  assert.deepEqual(h.selectors[0].retActions, [{ action: ACT.SIGNAL, arg: 10, scope: 0 }]);
  assert.match(rejection(spec.replace("- action: Signal\n        argSig: 10", "- action: Override\n        argError: -1")), /matchReturnActions\[0\]: the call has returned/);
});
