/**
 * Kernel-function stand-ins as the compiler builds them, on a tracefs of format files written
 * here (the formats of Linux 6.18) and a fixed BTF resolver: attachments, the stand-in's own
 * conditions in every selector, the return value's slot and the rejections.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parsePolicy } from "../../src/policy";
import { compilePolicy, type CompileEnv } from "../../src/policy/compiler/hooks";
import { CompileError } from "../../src/policy/compiler/errors";
import { ARG_F, GT, LIMITS, MOP } from "../../src/decode/generic-layout";

const COMMON = `	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;
`;

const FORMATS: Record<string, string> = {
  "sock/sock_send_length": `	field:void * sk;	offset:8;	size:8;	signed:0;
	field:__u16 family;	offset:16;	size:2;	signed:0;
	field:__u16 protocol;	offset:18;	size:2;	signed:0;
	field:int ret;	offset:20;	size:4;	signed:1;
	field:int flags;	offset:24;	size:4;	signed:1;`,
  "capability/cap_capable": `	field:const struct cred * cred;	offset:8;	size:8;	signed:0;
	field:struct user_namespace * target_ns;	offset:16;	size:8;	signed:0;
	field:const struct user_namespace * capable_ns;	offset:24;	size:8;	signed:0;
	field:int cap;	offset:32;	size:4;	signed:1;
	field:int ret;	offset:36;	size:4;	signed:1;`,
  "syscalls/sys_enter_accept4": `	field:int __syscall_nr;	offset:8;	size:4;	signed:1;
	field:int fd;	offset:16;	size:8;	signed:0;
	field:struct sockaddr * upeer_sockaddr;	offset:24;	size:8;	signed:0;
	field:int * upeer_addrlen;	offset:32;	size:8;	signed:0;
	field:int flags;	offset:40;	size:8;	signed:0;`,
  "syscalls/sys_exit_accept4": `	field:int __syscall_nr;	offset:8;	size:4;	signed:1;
	field:long ret;	offset:16;	size:8;	signed:1;`,
  "syscalls/sys_enter_accept": `	field:int __syscall_nr;	offset:8;	size:4;	signed:1;
	field:int fd;	offset:16;	size:8;	signed:0;
	field:struct sockaddr * upeer_sockaddr;	offset:24;	size:8;	signed:0;
	field:int * upeer_addrlen;	offset:32;	size:8;	signed:0;`,
  "syscalls/sys_exit_accept": `	field:int __syscall_nr;	offset:8;	size:4;	signed:1;
	field:long ret;	offset:16;	size:8;	signed:1;`,
};

function tracefs(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "standins-tracefs-"));
  for (const [name, fields] of Object.entries(FORMATS)) {
    const [sub, ev] = name.split("/");
    fs.mkdirSync(path.join(root, "events", sub, ev), { recursive: true });
    fs.writeFileSync(path.join(root, "events", sub, ev, "format"), `name: ${ev}\nID: 1\nformat:\n${COMMON}\n${fields}\n\nprint fmt: ""\n`);
  }
  return root;
}

const ROOT = tracefs();

function env(over: Partial<CompileEnv> = {}): CompileEnv {
  return {
    kprobes: false, substring: false, rawTracepointCookies: true, tracefsRoot: ROOT, hostNs: () => 0,
    resolve: (struct, p) => ({ steps: [{ off: struct === "file" ? 32 : 24, kind: "load", size: 8 }], type: { ctype: `${struct}.${p}`, size: 8, signed: false }, isArray: false, elemChar: false }),
    rawTracepointArgs: (ev) => (ev === "sched_process_exec"
      ? [{ ctype: "struct task_struct *", size: 8, signed: false }, { ctype: "pid_t", size: 4, signed: true }, { ctype: "struct linux_binprm *", size: 8, signed: false }]
      : undefined),
    ...over,
  };
}

/** `kprobe`: one entry of spec.kprobes, `syscall: false` added after its call */
function compile(kprobe: string, e = env()) {
  const entry = kprobe.replace("\n", "\n    syscall: false\n");
  const yaml = `apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: p\nspec:\n  kprobes:\n${entry}`;
  return compilePolicy(parsePolicy(yaml), e);
}

function rejection(kprobe: string, e = env()): string {
  try {
    compile(kprobe, e);
  } catch (err) {
    assert.ok(err instanceof CompileError, String(err));
    return err.message;
  }
  assert.fail("the policy compiled");
}

test("tcp_sendmsg: sock_send_length, the size from the bytes sent, TCP and success ANDed into the selector", () => {
  const { hooks } = compile(`  - call: tcp_sendmsg
    args:
    - {index: 0, type: sock}
    - {index: 2, type: int}
    selectors:
    - matchArgs:
      - {index: 0, operator: DPort, values: ["80"]}
`);
  assert.equal(hooks.length, 1);
  const h = hooks[0];
  assert.deepEqual(h.attach, { kind: "tracepoint", category: "sock", name: "sock_send_length", exit: undefined });
  assert.deepEqual(h.args.map((a) => [a.gt, a.off]), [[GT.SOCK, 8], [GT.S32, 20], [GT.S32, 18], [GT.S32, 20]]);
  assert.deepEqual(h.meta.args.map((o) => o.hidden), [false, false, true, true]);
  assert.equal(h.meta.functionName, "tcp_sendmsg");
  const sel = h.selectors[0];
  assert.deepEqual(sel.args.map((m) => [m.arg, m.op, m.vals]), [
    [0, MOP.DPORT, [80n]], [2, MOP.EQ, [6n]], [3, MOP.GT, [2n ** 64n - 1n]],
  ]);
  assert.ok(sel.args[2].signed, "the size is compared as a signed number");
});

test("cap_capable: the result is a slot; matchReturnArgs filters it with the arguments", () => {
  const { hooks } = compile(`  - call: cap_capable
    return: true
    args:
    - {index: 2, type: capability}
    returnArg: {index: 0, type: int}
    selectors:
    - matchArgs:
      - {index: 2, operator: Equal, values: ["21"]}
      matchReturnArgs:
      - {index: 0, operator: Equal, values: ["-1"]}
`);
  const h = hooks[0];
  assert.equal(h.flags & 0x2, 0, "reported at the tracepoint, not at an exit");
  assert.deepEqual(h.args.map((a) => [a.gt, a.off]), [[GT.CAPABILITY, 32], [GT.S32, 36]]);
  assert.deepEqual(h.meta.returnArg, { type: "int", gt: GT.S32, label: undefined, signed: true, slot: 1 });
  assert.ok(h.meta.hasReturn);
  assert.ok(h.meta.args[1].hidden);
  assert.deepEqual(h.selectors[0].ret, []);
  assert.deepEqual(h.selectors[0].args.map((m) => [m.arg, m.op, m.vals]), [[0, MOP.EQ, [21n]], [1, MOP.EQ, [2n ** 64n - 1n]]]);
  assert.match(rejection(`  - call: cap_capable
    args:
    - {index: 3, type: int}
`), /cap_capable arguments available without kprobes: index 0, index 1, index 2/);
});

test("inet_csk_accept: accept4 and accept, the listener at the entry, the accepted sock from the returned descriptor", () => {
  const { hooks } = compile(`  - call: inet_csk_accept
    return: true
    args:
    - {index: 0, type: sock}
    returnArg: {index: 0, type: sock}
`);
  assert.deepEqual(hooks.map((h) => h.attach), [
    { kind: "tracepoint", category: "syscalls", name: "sys_enter_accept4", exit: { category: "syscalls", name: "sys_exit_accept4" } },
    { kind: "tracepoint", category: "syscalls", name: "sys_enter_accept", exit: { category: "syscalls", name: "sys_exit_accept" } },
  ]);
  const h = hooks[0];
  const fdToSock = [{ off: 0, kind: "fd", size: 0 }, { off: 32, kind: "load", size: 8 }, { off: 24, kind: "load", size: 8 }];
  assert.deepEqual(h.args.map((a) => [a.gt, a.off, a.flags & ARG_F.EXIT_VALUE, a.steps]), [
    [GT.SOCK, 16, 0, fdToSock], [GT.SOCK, 16, ARG_F.EXIT_VALUE, fdToSock], [GT.SOCK, 16, 0, fdToSock],
  ]);
  assert.equal(h.meta.returnArg?.slot, 1);
  assert.deepEqual(h.meta.args.map((o) => o.hidden), [false, true, true]);
  const sel = h.selectors[0];
  assert.deepEqual(sel.args.map((m) => [m.arg, m.op, m.vals, m.sock]), [[2, MOP.PROTOCOL, [6n], true]]);
  assert.deepEqual(sel.ret.map((m) => [m.arg, m.op, m.vals, m.signed]), [[LIMITS.RET_ARG, MOP.GT, [2n ** 64n - 1n], true]]);
  assert.match(rejection(`  - call: inet_csk_accept
    return: true
    returnArg: {index: 0, type: int}
`), /returns the accepted sock: returnArg type sock/);
  assert.match(rejection(`  - call: inet_csk_accept
    args:
    - {index: 1, type: int}
`), /inet_csk_accept arguments available without kprobes: index 0/);
});

test("security_bprm_*: the linux_binprm of sched_process_exec; no stand-in without raw tracepoint cookies", () => {
  for (const call of ["security_bprm_check", "security_bprm_committing_creds"]) {
    const { hooks } = compile(`  - call: ${call}
    args:
    - {index: 0, type: linux_binprm}
    selectors:
    - matchArgs:
      - {index: 0, operator: Postfix, values: ["/true"]}
`);
    assert.deepEqual(hooks[0].attach, { kind: "raw_tracepoint", name: "sched_process_exec" });
    assert.deepEqual(hooks[0].args.map((a) => [a.gt, a.off]), [[GT.BINPRM, 16]]);
    assert.equal(hooks[0].meta.functionName, call);
    assert.equal(hooks[0].selectors[0].args[0].op, MOP.POSTFIX);
  }
  assert.match(rejection(`  - call: security_bprm_check
    args:
    - {index: 0, type: linux_binprm}
`, env({ rawTracepointCookies: false })), /needs kprobes, or raw tracepoints with attach cookies/);
});

test("a kernel function with no stand-in names kprobes and the stand-ins there are", () => {
  assert.match(rejection(`  - call: do_sys_openat2
`), /'do_sys_openat2' is a kernel function: hooking it needs kprobes.*stand in for tcp_connect, tcp_close, cap_capable, tcp_sendmsg, inet_csk_accept, security_bprm_check, security_bprm_committing_creds/);
});
