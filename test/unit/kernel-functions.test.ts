/**
 * Kernel-function hooks as the compiler builds them for kernels that can attach to them
 * (kprobes, fentry, BPF-LSM), with prototypes given here as BTF would: where each argument is
 * read, the type `auto` picks, type checks against the prototype, returned kernel objects
 * and socket operators on them, and the rejections that name a missing kernel feature.
 * The real attachments are tested inside VMs (test/vm/kernel-functions.test.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parsePolicy } from "../../src/policy";
import { compilePolicy, type CompileEnv } from "../../src/policy/compiler/hooks";
import { CompileError } from "../../src/policy/compiler/errors";
import { ACT, ARG_F, GT, HOOK_F, HOOK_SOCK_SLOT_SHIFT, MOP } from "../../src/decode/generic-layout";
import { PT_REGS_ARGS, PT_REGS_RET } from "../../src/policy/compiler/args";
import { MODULE_HOOKS } from "../helpers/module-hooks";

const ptr = (s: string) => ({ ctype: `struct ${s} *`, size: 8, signed: false });
const PROTOS: Record<string, { params: Array<{ ctype: string; size: number; signed: boolean; name: string }>; ret: { ctype: string; size: number; signed: boolean } }> = {
  tcp_connect: { params: [{ ...ptr("sock"), name: "sk" }], ret: { ctype: "int", size: 4, signed: true } },
  fd_install: { params: [{ ctype: "unsigned int", size: 4, signed: false, name: "fd" }, { ...ptr("file"), name: "file" }], ret: { ctype: "void", size: 0, signed: false } },
  inet_csk_accept: { params: [{ ...ptr("sock"), name: "sk" }, { ctype: "int", size: 4, signed: true, name: "flags" }], ret: ptr("sock") },
  security_socket_connect: { params: [{ ...ptr("socket"), name: "sock" }, { ...ptr("sockaddr"), name: "address" }, { ctype: "int", size: 4, signed: true, name: "addrlen" }], ret: { ctype: "int", size: 4, signed: true } },
  commit_creds: { params: [{ ctype: "struct cred *", size: 8, signed: false, name: "new" }], ret: { ctype: "int", size: 4, signed: true } },
  bpf_lsm_file_open: { params: [{ ...ptr("file"), name: "file" }], ret: { ctype: "int", size: 4, signed: true } },
};

function env(over: Partial<CompileEnv> = {}): CompileEnv {
  return {
    kprobes: true, fentry: true, lsm: true, substring: false, rawTracepointCookies: true, hostNs: () => 0,
    rawTracepointArgs: () => undefined,
    functionProto: (fn) => PROTOS[fn],
    kprobeTargets: () => new Set(["security_socket_connect", "tcp_connect", "fd_install", "inet_csk_accept", "commit_creds", "security_file_open"]),
    ...over,
  };
}

function compile(spec: string, e = env()) {
  const yaml = `apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: p\nspec:\n${spec}`;
  return compilePolicy(parsePolicy(yaml), e);
}

function rejection(spec: string, e = env()): string {
  try {
    compile(spec, e);
  } catch (err) {
    // the schema rejects what it can see alone (PolicyError), the compiler what needs the kernel
    assert.ok(err instanceof CompileError || (err as Error).name === "PolicyError", String(err));
    return (err as Error).message;
  }
  assert.fail("the policy compiled");
}

test("a kprobe reads its arguments from pt_regs, typed by BTF; auto picks the kernel object", () => {
  const { hooks } = compile(`  kprobes:
  - call: fd_install
    syscall: false
    args:
    - index: 0
      type: int
    - index: 1
      type: auto
`);
  const h = hooks[0];
  assert.deepEqual(h.attach, { kind: "kprobe", func: "fd_install", withReturn: false, nargs: 2 });
  assert.equal(h.args[0].off, PT_REGS_ARGS[0]);
  assert.equal(h.args[1].off, PT_REGS_ARGS[1]);
  assert.equal(h.args[1].gt, GT.FILE);
  assert.equal(h.meta.args[1].type, "file");
  assert.equal(h.meta.functionName, "fd_install");
  assert.equal(h.meta.kind, "kprobe");
});

test("an explicit type that does not match the prototype is rejected with its path", () => {
  const msg = rejection(`  kprobes:
  - call: tcp_connect
    syscall: false
    args:
    - index: 0
      type: file
`);
  assert.match(msg, /spec\.kprobes\[0\]\.args\[0\]\.type: type 'file' reads a struct file, but this argument is a struct sock \*/);
});

test("an argument index beyond the prototype is rejected", () => {
  assert.match(rejection(`  kprobes:
  - call: tcp_connect
    syscall: false
    args:
    - index: 2
      type: int
`), /spec\.kprobes\[0\]\.args\[0\]\.index: tcp_connect has 1 arguments/);
});

test("a function kprobes cannot attach to is rejected by name", () => {
  assert.match(rejection(`  kprobes:
  - call: not_a_function
    syscall: false
`), /spec\.kprobes\[0\]\.call: 'not_a_function' is not a kernel function kprobes can attach to/);
});

test("a kretprobe returning a sock: the object is read at the exit and socket operators apply to it", () => {
  const { hooks } = compile(`  kprobes:
  - call: inet_csk_accept
    syscall: false
    return: true
    returnArg:
      index: 0
      type: sock
    selectors:
    - matchReturnArgs:
      - index: 0
        operator: SPort
        values: ["8080"]
`);
  const h = hooks[0];
  assert.equal(h.retType, GT.SOCK);
  assert.equal(h.retOff, PT_REGS_RET);
  assert.equal(h.meta.returnArg?.type, "sock");
  assert.equal(h.selectors[0].ret[0].op, MOP.SPORT);
  assert.match(h.description, /kretprobe/);
  assert.match(rejection(`  kprobes:
  - call: inet_csk_accept
    syscall: false
    return: true
    returnArg:
      index: 0
      type: sock
    selectors:
    - matchReturnArgs:
      - index: 0
        operator: Prefix
        values: ["x"]
`), /matchReturnArgs\[0\]\.operator: operator Prefix is only supported for string/);
});

test("a kernel function's sockaddr and socket: read in kernel memory, socket operators on the socket", () => {
  const { hooks } = compile(`  kprobes:
  - call: security_socket_connect
    syscall: false
    args:
    - index: 0
      type: socket
    - index: 1
      type: sockaddr
    selectors:
    - matchArgs:
      - index: 0
        operator: DPort
        values: ["443"]
      - index: 1
        operator: SAddr
        values: ["10.0.0.0/8"]
`);
  const h = hooks[0];
  assert.equal(h.args[0].gt, GT.SOCKET);
  assert.equal(h.args[1].gt, GT.SOCKADDR);
  assert.equal(h.args[1].flags & ARG_F.KERNEL_PTR, ARG_F.KERNEL_PTR);
  assert.equal(h.args[0].flags & ARG_F.KERNEL_PTR, 0);
  assert.equal(h.selectors[0].args[0].sock, true);
  assert.equal(h.selectors[0].args[0].op, MOP.DPORT);
});

test("cred arguments read a cred blob", () => {
  const { hooks } = compile(`  kprobes:
  - call: commit_creds
    syscall: false
    args:
    - index: 0
      type: cred
`);
  assert.equal(hooks[0].args[0].gt, GT.CRED);
});

test("fentry and fexit: arguments from the argument array, the return value after them", () => {
  const { hooks } = compile(`  fentries:
  - call: tcp_connect
    return: true
    args:
    - index: 0
      type: sock
    returnArg:
      index: 0
      type: int
`);
  const h = hooks[0];
  assert.deepEqual(h.attach, { kind: "fentry", func: "tcp_connect", withReturn: true, nargs: 1 });
  assert.equal(h.args[0].off, 0);
  assert.equal(h.retOff, 8);
  assert.equal(h.meta.kind, "kprobe");
});

test("an LSM hook: process_lsm, typed by bpf_lsm_<hook>'s prototype", () => {
  const { hooks } = compile(`  lsmhooks:
  - hook: file_open
    args:
    - index: 0
      type: file
`);
  assert.deepEqual(hooks[0].attach, { kind: "lsm", hook: "file_open" });
  assert.equal(hooks[0].meta.kind, "lsm");
  assert.equal(hooks[0].meta.functionName, "file_open");
  assert.match(rejection(`  lsmhooks:
  - hook: no_such_hook
`), /spec\.lsmhooks\[0\]\.hook: 'no_such_hook' is not an LSM hook of this kernel/);
});

test("a kernel without fentry or BPF-LSM: the policy is rejected naming the missing feature", () => {
  assert.match(rejection(`  fentries:
  - call: tcp_connect
`, env({ fentry: false })), /spec\.fentries\[0\]: this kernel does not run fentry programs/);
  assert.match(rejection(`  lsmhooks:
  - hook: file_open
`, env({ lsm: false })), /spec\.lsmhooks\[0\]: this kernel does not run BPF-LSM programs/);
});

test("generated_ftrace lists: every traceable function the pattern matches, one hook each; none without kprobes", () => {
  const spec = `  lists:
  - name: "tcp"
    type: "generated_ftrace"
    pattern: "^(tcp_connect|inet_csk_.*)$"
  kprobes:
  - call: "list:tcp"
    syscall: false
    args:
    - index: 0
      type: "sock"
`;
  const p = compile(spec);
  assert.deepEqual(p.hooks.map((h) => h.meta.functionName), ["inet_csk_accept", "tcp_connect"]);
  assert.match(rejection(spec.replace("^(tcp_connect|inet_csk_.*)$", "^nothing_like_this$")), /no traceable kernel function matches/);
  assert.match(rejection(spec, env({ kprobes: false })), /generated_ftrace lists need kprobes/);
});

test("TrackSock and UntrackSock: the sock's slot in the action, returnArgAction on a returned sock, the attribution slot", () => {
  const p = compile(`  kprobes:
  - call: "tcp_connect"
    syscall: false
    args:
    - index: 0
      type: "sock"
    selectors:
    - matchActions:
      - action: TrackSock
        argSock: 0
  - call: "inet_csk_accept"
    syscall: false
    return: true
    args:
    - index: 1
      type: "int"
    returnArg:
      index: 0
      type: "sock"
    returnArgAction: TrackSock
`);
  const [connect, accept] = p.hooks;
  assert.deepEqual(connect.selectors[0].actions, [{ action: ACT.TRACK_SOCK, arg: 0, scope: 0 }]);
  assert.equal((connect.flags >> HOOK_SOCK_SLOT_SHIFT) & 0xf, 1, "events of tracked socks: slot 0 + 1");
  assert.equal(accept.flags & HOOK_F.RET_TRACK_SOCK, HOOK_F.RET_TRACK_SOCK);
  assert.match(rejection(`  kprobes:
  - call: "fd_install"
    syscall: false
    args:
    - index: 0
      type: "int"
    selectors:
    - matchActions:
      - action: TrackSock
        argSock: 0
`), /argSock: TrackSock tracks a sock: argument 0 has type int/);
  assert.match(rejection(`  kprobes:
  - call: "commit_creds"
    syscall: false
    return: true
    args:
    - index: 0
      type: "cred"
    returnArg:
      index: 0
      type: "int"
    returnArgAction: UntrackSock
`), /returnArgAction: UntrackSock needs a returnArg of type sock/);
});

test("module and load_info carry the BTF offsets of sig_ok and load_info.mod; a kernel without them gets 0 (unknown)", () => {
  const protos = {
    ...PROTOS,
    do_init_module: { params: [{ ...ptr("module"), name: "mod" }], ret: { ctype: "int", size: 4, signed: true } },
    mod_sysfs_setup: { params: [{ ...ptr("module"), name: "mod" }, { ...ptr("load_info"), name: "info" }], ret: { ctype: "int", size: 4, signed: true } },
  };
  const fields: Record<string, number> = { "module.sig_ok": 1234, "load_info.sig_ok": 88, "load_info.mod": 16 };
  const resolve = (struct: string, p: string) => {
    const off = fields[`${struct}.${p}`];
    if (off === undefined) throw new Error(`${struct}.${p}: no such field`);
    return { steps: [{ off, kind: "load" as const, size: 8 }], type: { ctype: "bool", size: 1, signed: false }, isArray: false, elemChar: false };
  };
  const spec = MODULE_HOOKS;
  const targets = () => new Set(["do_init_module", "mod_sysfs_setup"]);
  const withSig = compile(spec, env({ functionProto: (fn) => protos[fn as keyof typeof protos], kprobeTargets: targets, resolve }));
  const [mod, info] = withSig.hooks.map((h) => h.args[0]);
  assert.equal(mod.gt, GT.MODULE);
  assert.equal(mod.maxData, 1234 + 1);
  assert.equal(info.gt, GT.LOAD_INFO);
  assert.deepEqual([info.maxData, info.aux], [88 + 1, 16 + 1]);
  delete fields["module.sig_ok"];
  delete fields["load_info.sig_ok"];
  const noSig = compile(spec, env({ functionProto: (fn) => protos[fn as keyof typeof protos], kprobeTargets: targets, resolve }));
  assert.deepEqual(noSig.hooks.map((h) => h.args[0].maxData), [0, 0]);
  assert.equal(noSig.hooks[1].args[0].aux, 17);
});
