/**
 * Enforcement on this kernel (no kprobes, no fmod_ret, no BPF-LSM): real processes are killed,
 * signalled and denied by the agent. Override goes through cgroup programs (connect, sendto)
 * and fanotify (open, exec), decided by the same selectors in the hooks.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { FineGuidanceSensors } from "../../src/api/gen/tetragon/sensors_pb";
import { ROOT, startAgent, startAgentWithPolicies, tempDir, type JsonEvent, type RunningAgent } from "../helpers/agent";
import { connect as grpcConnect } from "./grpc-helpers";
import type { TetraClient } from "../../src/cli/tetra/common/client";
import { trackedHierarchyRoot } from "../../src/sensors/base/cgroup-mode";
import { anyUnpack, StringValueSchema } from "@bufbuild/protobuf/wkt";
import { DENY_ENTRY } from "../../src/decode/generic-layout";

const PY = "/usr/bin/python3";
const kp = (e: JsonEvent) => e.process_kprobe;

const policy = (name: string, body: string, options = "") => `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "${name}"
spec:
${options}  kprobes:
${body}`;

const openPolicy = (name: string, file: string, action: string) => policy(name, `  - call: "sys_openat"
    syscall: true
    args:
    - index: 1
      type: "string"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Equal"
        values:
        - "${file}"
      matchActions:
${action}`);

const connectPolicy = (name: string, port: number, action: string, options = "", moreArgs = "") => policy(name, `  - call: "sys_connect"
    syscall: true
    args:
${moreArgs}    - index: 1
      type: "sockaddr"
    selectors:
    - matchArgs:
      - index: 1
        operator: "SPort"
        values:
        - "${port}"
      matchActions:
${action}`, options);

/** A connect hook whose one selector asks for SPort `port` and what `caller` (YAML of selector
 *  fields about the caller) says, denied with EPERM: a hook the cgroup program evaluates. */
const callerConnectPolicy = (name: string, port: number, caller: string) => policy(name, `  - call: "sys_connect"
    syscall: true
    args:
    - index: 1
      type: "sockaddr"
    selectors:
    - matchArgs:
      - index: 1
        operator: "SPort"
        values: ["${port}"]
${caller}      matchActions:
      - action: Override
        argError: -1
`);

/** Runs python and returns its stdout, stderr and status (never throws). */
function py(script: string, timeoutMs = 20_000) {
  const r = spawnSync(PY, ["-c", script], { encoding: "utf8", timeout: timeoutMs });
  return { out: r.stdout.trim(), err: r.stderr, status: r.status, signal: r.signal };
}

/** connect() to 127.0.0.1:port from a fresh process: "ok" or the errno name. */
const TRY_CONNECT = (port: number) => `
import socket, errno
s = socket.socket()
try:
    s.connect(("127.0.0.1", ${port})); print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
`;

function tryConnect(port: number): string {
  return py(TRY_CONNECT(port)).out;
}

async function pyServer(script: string): Promise<{ line: string; stop: () => void }> {
  const proc = spawn(PY, ["-c", script], { stdio: ["pipe", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = "";
    proc.stdout!.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    proc.on("exit", () => reject(new Error("the python server exited")));
  });
  return { line, stop: () => proc.kill() };
}

const LISTENERS = `
import socket, threading, sys
socks = []
for _ in range(2):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64); socks.append(s)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks + [u]), flush=True)
def serve(s):
    while True:
        c, _ = s.accept(); c.close()
for s in socks:
    threading.Thread(target=serve, args=(s,), daemon=True).start()
sys.stdin.read()
`;

const FD_ARG = "    - index: 0\n      type: \"int\"\n";

/** One thread: leaves a stale decision before each step (argv: forbidden port, allowed port). */
const BOUND_STEPS = `
import ctypes, errno, socket, struct, sys, threading
F, A = int(sys.argv[1]), int(sys.argv[2])
libc = ctypes.CDLL(None, use_errno=True)
def res(f):
    try:
        f(); return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
def stale():
    sa = struct.pack("<H", socket.AF_INET) + struct.pack("!H", F) + socket.inet_aton("127.0.0.1") + bytes(8)
    libc.connect(-1, sa, len(sa))
    print("stale", errno.errorcode[ctypes.get_errno()], flush=True)
print(threading.get_native_id(), flush=True)
stale()
print("connect allowed", res(lambda: socket.socket().connect(("127.0.0.1", A))), flush=True)
stale()
print("fastopen sendto allowed", res(lambda: socket.socket().sendto(b"x", 0x20000000, ("127.0.0.1", A))), flush=True)
stale()
sys.stdin.readline()
print("connect forbidden", res(lambda: socket.socket().connect(("127.0.0.1", F))), flush=True)
`;

/** Lines of a child's stdout, one per next(). */
function lineReader(proc: ReturnType<typeof spawn>): { next(): Promise<string> } {
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  let buf = "";
  proc.stdout!.on("data", (d) => {
    buf += d;
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
    wake?.();
  });
  return {
    async next() {
      const end = Date.now() + 20_000;
      while (!lines.length) {
        if (Date.now() > end || proc.exitCode !== null) throw new Error(`no line from the child (exit ${proc.exitCode})`);
        await new Promise<void>((r) => { wake = r; setTimeout(r, 200); });
      }
      return lines.shift()!;
    },
  };
}

/** Waits until `n` events match, and returns them. */
async function waitEvents(agent: RunningAgent, pred: (e: JsonEvent) => boolean, n: number): Promise<JsonEvent[]> {
  const end = Date.now() + 15_000;
  for (;;) {
    const evs = agent.events().filter(pred);
    if (evs.length >= n || Date.now() > end) return evs;
    await settle();
  }
}

/** Whether deny_map holds a call-bound decision for this thread. */
function denyEntryOf(pin: string, tid: number): boolean {
  const key = Buffer.alloc(4);
  key.writeUInt32LE(tid);
  const r = spawnSync("bpftool", ["map", "lookup", "pinned", pin, "key", ...[...key].map(String), "-j"], { encoding: "utf8" });
  if (r.status !== 0) return false;
  const v = Buffer.from((JSON.parse(r.stdout) as { value: string[] }).value.map((x) => Number(x)));
  return v.readBigUInt64LE(DENY_ENTRY.regs) !== 0n;
}

async function addPolicy(client: TetraClient, yaml: string): Promise<void> {
  await client.unary(FineGuidanceSensors.method.addTracingPolicy, { yaml });
}

async function deletePolicy(client: TetraClient, name: string): Promise<void> {
  await client.unary(FineGuidanceSensors.method.deleteTracingPolicy, { name });
}

async function listPolicies(client: TetraClient): Promise<any[]> {
  const r: any = await client.unary(FineGuidanceSensors.method.listTracingPolicies, {});
  return r.policies;
}

const settle = () => new Promise((r) => setTimeout(r, 300));

function cgroupPrograms(): string {
  const root = trackedHierarchyRoot("v2");
  if (!root) return "";
  return execFileSync("bpftool", ["cgroup", "show", root], { encoding: "utf8" });
}

describe("enforcement on a kernel without kprobes, fmod_ret or BPF-LSM", () => {
  let agent: RunningAgent;
  let client: TetraClient;
  let dir: string;
  let ports: number[];
  let stopServers: () => void;

  before(async () => {
    dir = tempDir("tp-enforce-");
    const s = await pyServer(LISTENERS);
    ports = s.line.split(" ").map(Number);
    stopServers = s.stop;
    agent = await startAgent([], { grpc: true });
    client = await grpcConnect(agent.serverAddress);
  });

  after(async () => {
    stopServers?.();
    client?.close();
    if (agent) assert.equal(await agent.stop(), 0, agent.logs());
  });

  test("Sigkill: a process that opens a forbidden file dies before it can print it", async () => {
    const secret = path.join(dir, "secret.txt");
    fs.writeFileSync(secret, "TOP-SECRET\n");
    await addPolicy(client, openPolicy("kill-open", secret, "      - action: Sigkill"));
    try {
      const r = spawnSync("/bin/cat", [secret], { encoding: "utf8" });
      assert.equal(r.signal, "SIGKILL");
      assert.doesNotMatch(r.stdout, /TOP-SECRET/);
      const ev = await agent.waitFor((e) => kp(e)?.policy_name === "kill-open", "the kill event");
      assert.equal(kp(ev).action, "KPROBE_ACTION_SIGKILL");
      assert.match(kp(ev).process.binary, /\/cat$/);
      const exit = await agent.waitFor((e) => e.process_exit?.process.pid === r.pid, "cat's exit");
      assert.equal(exit.process_exit.signal, "SIGKILL");
      // another file is untouched
      assert.equal(spawnSync("/bin/cat", ["/etc/hostname"]).status, 0);
    } finally {
      await deletePolicy(client, "kill-open");
    }
  });

  test("Signal: the named signal is delivered", async () => {
    const f = path.join(dir, "signal.txt");
    fs.writeFileSync(f, "x\n");
    await addPolicy(client, openPolicy("signal-open", f, "      - action: Signal\n        argSig: 10"));
    try {
      const r = spawnSync("/bin/cat", [f], { encoding: "utf8" });
      assert.equal(r.signal, "SIGUSR1");
      const ev = await agent.waitFor((e) => kp(e)?.policy_name === "signal-open", "the signal event");
      assert.equal(kp(ev).action, "KPROBE_ACTION_SIGNAL");
    } finally {
      await deletePolicy(client, "signal-open");
    }
  });

  test("NoPost with Sigkill: the process dies and no event is sent", async () => {
    const f = path.join(dir, "quiet.txt");
    fs.writeFileSync(f, "x\n");
    await addPolicy(client, openPolicy("quiet-kill", f, "      - action: Sigkill\n      - action: NoPost"));
    try {
      const r = spawnSync("/bin/cat", [f], { encoding: "utf8" });
      assert.equal(r.signal, "SIGKILL");
      await agent.waitFor((e) => e.process_exit?.process.pid === r.pid, "cat's exit");
      assert.equal(agent.events().filter((e) => kp(e)?.policy_name === "quiet-kill").length, 0);
      const [st] = (await listPolicies(client)).filter((p) => p.name === "quiet-kill");
      assert.ok(st.stats.actionCounters.signal >= 1n && st.stats.actionCounters.nopost >= 1n);
    } finally {
      await deletePolicy(client, "quiet-kill");
    }
  });

  test("matchReturnActions: the action runs once the return value matched", async () => {
    const missing = path.join(dir, "does-not-exist");
    const yaml = policy("return-signal", `  - call: "sys_openat"
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
        values:
        - "${dir}/does-"
      matchReturnArgs:
      - index: 0
        operator: "Equal"
        values:
        - "-2"
      matchReturnActions:
      - action: Signal
        argSig: 12
`);
    await addPolicy(client, yaml);
    try {
      fs.writeFileSync(path.join(dir, "does-exist"), "x\n");
      assert.equal(spawnSync("/bin/cat", [path.join(dir, "does-exist")]).status, 0, "a successful open returns 3, not -2");
      const r = spawnSync("/bin/cat", [missing], { encoding: "utf8" });
      assert.equal(r.signal, "SIGUSR2");
      const ev = await agent.waitFor((e) => kp(e)?.policy_name === "return-signal", "the return event");
      assert.equal(kp(ev).return.int_arg, -2);
      assert.equal(kp(ev).action, "KPROBE_ACTION_SIGNAL");
    } finally {
      await deletePolicy(client, "return-signal");
    }
  });

  test("Override on connect (cgroup programs): the forbidden port fails with the policy's error, another works", async () => {
    const [allowed, forbidden] = ports;
    assert.equal(tryConnect(forbidden), "ok");
    await addPolicy(client, connectPolicy("deny-connect", forbidden, "      - action: Override\n        argError: -13"));
    try {
      assert.equal(tryConnect(forbidden), "EACCES");
      assert.equal(tryConnect(allowed), "ok");
      const ev = await agent.waitFor((e) => kp(e)?.policy_name === "deny-connect", "the override event");
      assert.equal(kp(ev).action, "KPROBE_ACTION_OVERRIDE");
      assert.equal(kp(ev).args[0].sockaddr_arg.port, forbidden);
      const [st] = (await listPolicies(client)).filter((p) => p.name === "deny-connect");
      assert.match(st.hookStatuses[0].hookDescription, /Override: cgroup BPF/);
      assert.match(st.info, /cgroup/);
      assert.ok(st.stats.actionCounters.override >= 1n);
      // the selectors look at the address alone: the cgroup program evaluates them, and
      // connect() pays no syscall tracepoint
      assert.match(st.hookStatuses[0].hookDescription, /no syscall tracepoint/);
      assert.match(cgroupPrograms(), /generic_cgroup_connect4/);
    } finally {
      await deletePolicy(client, "deny-connect");
    }
    // deleting the policy lifts the block and detaches the programs
    assert.equal(tryConnect(forbidden), "ok");
    assert.doesNotMatch(cgroupPrograms(), /deny_connect|generic_cgroup_connect/);
  });

  test("disabling the policy lifts the block at once; enabling restores it", async () => {
    const forbidden = ports[1];
    await addPolicy(client, connectPolicy("deny-toggle", forbidden, "      - action: Override\n        argError: -1"));
    try {
      assert.equal(tryConnect(forbidden), "EPERM");
      await client.unary(FineGuidanceSensors.method.configureTracingPolicy, { name: "deny-toggle", enable: false });
      assert.equal(tryConnect(forbidden), "ok");
      await client.unary(FineGuidanceSensors.method.configureTracingPolicy, { name: "deny-toggle", enable: true });
      assert.equal(tryConnect(forbidden), "EPERM");
    } finally {
      await deletePolicy(client, "deny-toggle");
    }
  });

  test("connect hooks the cgroup program evaluates: IPv4 and IPv6, CIDRs, a Post selector next to an Override one, TCP Fast Open, and the events the syscall hook would send", async () => {
    const [allowed, forbidden] = ports;
    await addPolicy(client, policy("cgroup-eval", `  - call: "sys_connect"
    syscall: true
    args:
    - index: 1
      type: "sockaddr"
      label: "to"
    selectors:
    - matchArgs:
      - index: 1
        operator: "SAddr"
        values: ["127.0.0.0/8", "::1/128"]
      - index: 1
        operator: "SPort"
        values: ["${forbidden}"]
      matchActions:
      - action: Override
        argError: -13
    - matchArgs:
      - index: 1
        operator: "SPort"
        values: ["${allowed}"]
      - index: 1
        operator: "NotSAddr"
        values: ["10.0.0.0/8"]
      matchActions:
      - action: Post
`));
    try {
      const [st] = (await listPolicies(client)).filter((p) => p.name === "cgroup-eval");
      assert.match(st.hookStatuses[0].hookDescription, /cgroup\/connect4 \+ cgroup\/connect6 .*no syscall tracepoint/);
      const r = py(`
import errno, socket
def res(f):
    try:
        f(); return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
print(res(lambda: socket.socket().connect(("127.0.0.1", ${forbidden}))))
print(res(lambda: socket.socket(socket.AF_INET6).connect(("::1", ${forbidden}))))
print(res(lambda: socket.socket().connect(("127.0.0.1", ${allowed}))))
print(res(lambda: socket.socket().sendto(b"x", 0x20000000, ("127.0.0.1", ${forbidden}))))
`);
      // IPv4 and IPv6 denied with the policy's errno; the Post selector lets its port through;
      // a Fast Open send passes the same cgroup hook, so it cannot go around the policy
      assert.deepEqual(r.out.split("\n"), ["EACCES", "EACCES", "ok", "EACCES"], r.err);
      const evs = await waitEvents(agent, (e) => kp(e)?.policy_name === "cgroup-eval", 4);
      const summary = evs.map((e) => `${kp(e).action} ${kp(e).args[0].sockaddr_arg.family} ${kp(e).args[0].sockaddr_arg.addr} ${kp(e).args[0].sockaddr_arg.port}`);
      assert.deepEqual(summary.sort(), [
        `KPROBE_ACTION_OVERRIDE AF_INET 127.0.0.1 ${forbidden}`,
        `KPROBE_ACTION_OVERRIDE AF_INET 127.0.0.1 ${forbidden}`,
        `KPROBE_ACTION_OVERRIDE AF_INET6 ::1 ${forbidden}`,
        `KPROBE_ACTION_POST AF_INET 127.0.0.1 ${allowed}`,
      ].sort());
      for (const e of evs) {
        assert.equal(kp(e).function_name, "__x64_sys_connect");
        assert.equal(kp(e).args[0].label, "to");
        assert.match(kp(e).process.binary, /python3/);
        assert.ok(kp(e).parent?.exec_id, "the parent comes from the process cache");
      }
      const [after] = (await listPolicies(client)).filter((p) => p.name === "cgroup-eval");
      assert.equal(after.stats.actionCounters.override, 3n);
    } finally {
      await deletePolicy(client, "cgroup-eval");
    }
  });

  test("matchBinaries in a connect hook the cgroup program evaluates: python is denied, bash's /dev/tcp connect to the same port is not", async () => {
    const forbidden = ports[1];
    const python = fs.realpathSync(PY);
    await addPolicy(client, callerConnectPolicy("cgroup-bin", forbidden, `      matchBinaries:
      - operator: "In"
        values: ["${python}"]
`));
    try {
      const [st] = (await listPolicies(client)).filter((p) => p.name === "cgroup-bin");
      assert.match(st.hookStatuses[0].hookDescription, /no syscall tracepoint/);
      assert.equal(tryConnect(forbidden), "EPERM");
      const bash = spawnSync("/bin/bash", ["-c", `exec 3<>/dev/tcp/127.0.0.1/${forbidden} && echo ok`], { encoding: "utf8" });
      assert.equal(bash.stdout.trim(), "ok", bash.stderr);
      const ev = await agent.waitFor((e) => kp(e)?.policy_name === "cgroup-bin", "the override event");
      assert.match(kp(ev).process.binary, /python3/);
      assert.equal(kp(ev).action, "KPROBE_ACTION_OVERRIDE");
      await settle();
      assert.equal(agent.events().filter((e) => kp(e)?.policy_name === "cgroup-bin").length, 1, "bash's connect matched no selector");
    } finally {
      await deletePolicy(client, "cgroup-bin");
    }
  });

  test("matchNamespaces and matchCapabilities in a connect hook the cgroup program evaluates", async () => {
    const forbidden = ports[1];
    const nsPolicy = (name: string, nsOp: string) => callerConnectPolicy(name, forbidden, `      matchNamespaces:
      - namespace: Net
        operator: ${nsOp}
        values: ["host_ns"]
      matchCapabilities:
      - type: Effective
        operator: In
        values: ["CAP_SYS_ADMIN"]
`);
    // a caller in the host's network namespace with CAP_SYS_ADMIN: NotIn host_ns does not match
    await addPolicy(client, nsPolicy("cgroup-ns-out", "NotIn"));
    try {
      const [st] = (await listPolicies(client)).filter((p) => p.name === "cgroup-ns-out");
      assert.match(st.hookStatuses[0].hookDescription, /no syscall tracepoint/);
      assert.equal(tryConnect(forbidden), "ok");
    } finally {
      await deletePolicy(client, "cgroup-ns-out");
    }
    await addPolicy(client, nsPolicy("cgroup-ns-in", "In"));
    try {
      assert.equal(tryConnect(forbidden), "EPERM");
      // without CAP_SYS_ADMIN (an unprivileged user) the capability selector does not match
      const r = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", PY, "-c", TRY_CONNECT(forbidden)], { encoding: "utf8" });
      assert.equal(r.stdout.trim(), "ok", r.stderr);
    } finally {
      await deletePolicy(client, "cgroup-ns-in");
    }
  });

  test("a connect decision is bound to its call: one that failed early reaches neither the thread's next connect nor a TCP Fast Open send; disabling purges it", async () => {
    const [allowed, forbidden] = ports;
    // the descriptor argument keeps the syscall hook (the cgroup program has no descriptor)
    await addPolicy(client, connectPolicy("deny-bound", forbidden, "      - action: Override\n        argError: -1", "", FD_ARG));
    const denyMap = `/sys/fs/bpf/tetragon-test-${process.pid}-${path.basename(agent.dir)}/generic/deny_map`;
    const proc = spawn(PY, ["-c", BOUND_STEPS, String(forbidden), String(allowed)], { stdio: ["pipe", "pipe", "inherit"] });
    try {
      const lines = lineReader(proc);
      const [tid] = (await lines.next()).split(" ").map(Number);
      // each step first leaves a decision: connect(-1, forbidden) matches and fails with EBADF
      assert.equal(await lines.next(), "stale EBADF");
      assert.equal(await lines.next(), "connect allowed ok", "the next connect's entry clears the stale decision");
      assert.equal(await lines.next(), "stale EBADF");
      assert.equal(await lines.next(), "fastopen sendto allowed ok", "a decision of connect() does not apply inside sendto()");
      assert.equal(await lines.next(), "stale EBADF");
      assert.ok(denyEntryOf(denyMap, tid), "the failed call left its decision in deny_map");
      await client.unary(FineGuidanceSensors.method.configureTracingPolicy, { name: "deny-bound", enable: false });
      assert.equal(denyEntryOf(denyMap, tid), false, "disabling the policy purged the decision");
      proc.stdin!.write("go\n");
      assert.equal(await lines.next(), "connect forbidden ok");
    } finally {
      proc.kill();
      await deletePolicy(client, "deny-bound");
    }
  });

  test("monitor mode lets the call through and counts what it would have done", async () => {
    const forbidden = ports[1];
    await addPolicy(client, connectPolicy("deny-monitor", forbidden, "      - action: Override\n        argError: -13", "  options:\n  - name: policy-mode\n    value: monitor\n"));
    try {
      assert.equal(tryConnect(forbidden), "ok");
      await settle();
      const [st] = (await listPolicies(client)).filter((p) => p.name === "deny-monitor");
      assert.ok(st.stats.actionCounters.monitorOverride >= 1n, JSON.stringify(st.stats, (_k, v) => (typeof v === "bigint" ? String(v) : v)));
      assert.equal(st.stats.actionCounters.override, 0n);
      // set-mode enforce: the same policy now denies
      await client.unary(FineGuidanceSensors.method.configureTracingPolicy, { name: "deny-monitor", mode: 1 });
      assert.equal(tryConnect(forbidden), "EACCES");
    } finally {
      await deletePolicy(client, "deny-monitor");
    }
  });

  test("NotifyEnforcer with spec.enforcers fails the enforcer's call", async () => {
    const forbidden = ports[1];
    const yaml = policy("notify-connect", `  - call: "sys_connect"
    syscall: true
    args:
    - index: 1
      type: "sockaddr"
    selectors:
    - matchArgs:
      - index: 1
        operator: "SPort"
        values:
        - "${forbidden}"
      matchActions:
      - action: NotifyEnforcer
        argError: -111
`, "  enforcers:\n  - calls:\n    - \"sys_connect\"\n");
    await addPolicy(client, yaml);
    try {
      assert.equal(tryConnect(forbidden), "ECONNREFUSED");
      assert.equal(tryConnect(ports[0]), "ok");
      // the decision is used up by the call it failed: the same thread connects elsewhere next
      assert.equal(py(`
import socket, errno
out = []
for port in (${forbidden}, ${ports[0]}):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port)); out.append("ok")
    except OSError as e:
        out.append(errno.errorcode[e.errno])
print(" ".join(out))
`).out, "ECONNREFUSED ok");
      const ev = await agent.waitFor((e) => kp(e)?.policy_name === "notify-connect", "the notify event");
      assert.equal(kp(ev).action, "KPROBE_ACTION_NOTIFYENFORCER");
    } finally {
      await deletePolicy(client, "notify-connect");
    }
  });

  test("Override on UDP sendto: a forbidden DNS server cannot be reached", async () => {
    const udp = ports[2];
    const yaml = policy("deny-dns", `  - call: "sys_sendto"
    syscall: true
    args:
    - index: 0
      type: "int"
    - index: 4
      type: "sockaddr"
    selectors:
    - matchArgs:
      - index: 4
        operator: "SPort"
        values:
        - "${udp}"
      - index: 4
        operator: "SAddr"
        values:
        - "127.0.0.1"
      matchActions:
      - action: Override
        argError: -1
`);
    const send = (port: number) => py(`
import socket, errno
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(b"query", ("127.0.0.1", ${port})); print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
`).out;
    await addPolicy(client, yaml);
    try {
      assert.equal(send(udp), "EPERM");
      assert.equal(send(udp + 1 === ports[0] ? udp + 2 : udp + 1), "ok");
    } finally {
      await deletePolicy(client, "deny-dns");
    }
  });

  test("Override on bind and socket (cgroup programs): the forbidden port and the forbidden socket type fail", async () => {
    const yaml = policy("deny-bind-socket", `  - call: "sys_bind"
    syscall: true
    args:
    - index: 1
      type: "sockaddr"
    selectors:
    - matchArgs:
      - index: 1
        operator: "SPort"
        values:
        - "4999"
      matchActions:
      - action: Override
        argError: -98
  - call: "sys_socket"
    syscall: true
    args:
    - index: 0
      type: "int"
    - index: 2
      type: "int"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Equal"
        values:
        - "2"
      - index: 2
        operator: "Equal"
        values:
        - "1"
      matchBinaries:
      - operator: "In"
        values:
        - "/usr/bin/python3.11"
      matchActions:
      - action: Override
        argError: -97
`);
    const attempt = (code: string) => py(`
import socket, errno
try:
    ${code}; print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
`).out;
    await addPolicy(client, yaml);
    try {
      assert.equal(attempt('socket.socket(socket.AF_INET, socket.SOCK_STREAM).bind(("127.0.0.1", 4999))'), "EADDRINUSE");
      assert.equal(attempt('socket.socket(socket.AF_INET, socket.SOCK_STREAM).bind(("127.0.0.1", 0))'), "ok");
      assert.equal(attempt("socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)"), "EAFNOSUPPORT", "AF_INET, IPPROTO_ICMP");
      assert.equal(attempt("socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)"), "ok");
    } finally {
      await deletePolicy(client, "deny-bind-socket");
    }
    assert.equal(attempt("socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)"), "ok");
  });

  test("Override on execve (fanotify): the forbidden binary fails with EPERM and nothing of it runs", async () => {
    const forbidden = path.join(dir, "forbidden-true");
    const allowed = path.join(dir, "allowed-true");
    fs.copyFileSync("/bin/true", forbidden);
    fs.copyFileSync("/bin/true", allowed);
    fs.chmodSync(forbidden, 0o755);
    fs.chmodSync(allowed, 0o755);
    const yaml = policy("deny-exec", `  - call: "sys_execve"
    syscall: true
    args:
    - index: 0
      type: "string"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Equal"
        values:
        - "${forbidden}"
      matchActions:
      - action: Override
        argError: -1
`);
    await addPolicy(client, yaml);
    try {
      const r = spawnSync(PY, ["-c", `
import os, errno
try:
    os.execv(${JSON.stringify(forbidden)}, ["x"])
except OSError as e:
    print(errno.errorcode[e.errno])
`], { encoding: "utf8" });
      assert.equal(r.stdout.trim(), "EPERM");
      assert.equal(spawnSync(allowed).status, 0);
      const ev = await agent.waitFor((e) => kp(e)?.policy_name === "deny-exec", "the override event");
      assert.equal(kp(ev).action, "KPROBE_ACTION_OVERRIDE");
      await settle();
      assert.equal(agent.events().filter((e) => e.process_exec?.process.binary === forbidden).length, 0, "no exec event for the denied binary");
      const [st] = (await listPolicies(client)).filter((p) => p.name === "deny-exec");
      assert.match(st.hookStatuses[0].hookDescription, /Override: fanotify/);
    } finally {
      await deletePolicy(client, "deny-exec");
    }
    assert.equal(spawnSync(forbidden).status, 0, "deleting the policy removes the fanotify marks");
  });

  test("Override on openat (fanotify): the open fails with EPERM, no byte is read", async () => {
    const secret = path.join(dir, "deny-open.txt");
    fs.writeFileSync(secret, "TOP-SECRET\n");
    await addPolicy(client, openPolicy("deny-open", secret, "      - action: Override\n        argError: -1"));
    try {
      const r = spawnSync("/bin/cat", [secret], { encoding: "utf8" });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /Operation not permitted/); // fanotify denies with EPERM
      assert.doesNotMatch(r.stdout, /TOP-SECRET/);
      assert.equal(spawnSync("/bin/cat", ["/etc/hostname"]).status, 0);
    } finally {
      await deletePolicy(client, "deny-open");
    }
    assert.equal(spawnSync("/bin/cat", [secret], { encoding: "utf8" }).stdout, "TOP-SECRET\n");
  });

  test("the safety rule: the agent's own CLI is spared, other processes are not", async () => {
    const cliDir = path.join(ROOT, "dist/src/cli/tetra");
    const yaml = policy("kill-cli-files", `  - call: "sys_openat"
    syscall: true
    args:
    - index: 1
      type: "string"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Prefix"
        values:
        - "${cliDir}"
      matchActions:
      - action: Sigkill
`);
    await addPolicy(client, yaml);
    try {
      const tetra = spawnSync(path.join(ROOT, "bin/tetra"), ["version", "--server-address", agent.serverAddress], { encoding: "utf8" });
      assert.equal(tetra.status, 0, tetra.stderr);
      const cat = spawnSync("/bin/cat", [path.join(cliDir, "main.js")], { encoding: "utf8" });
      assert.equal(cat.signal, "SIGKILL");
    } finally {
      await deletePolicy(client, "kill-cli-files");
    }
  });

  test("GetInfo names the Override mechanisms this kernel offers", async () => {
    const info: any = await client.unary(FineGuidanceSensors.method.getInfo, {});
    const conf = info.conf.find((c: any) => c.key === "override-mechanisms");
    assert.equal(anyUnpack(conf.value, StringValueSchema)?.value, "cgroup,fanotify");
    const probes = new Map(info.probes.map((p: any) => [p.Name, p.Enabled]));
    assert.equal(probes.get("cgroup_sock_addr"), true);
    assert.equal(probes.get("fanotify_perm"), true);
    assert.equal(probes.get("override_return"), false);
  });

  test("policies that cannot be enforced are rejected whole, naming what is missing", async () => {
    const reject = async (yaml: string, re: RegExp) => {
      await assert.rejects(addPolicy(client, yaml), (e: grpc.ServiceError) => {
        assert.equal(e.code, grpc.status.INVALID_ARGUMENT);
        assert.match(e.details, re);
        return true;
      });
    };
    await reject(policy("deny-write", `  - call: "sys_write"
    syscall: true
    args:
    - index: 0
      type: "int"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Equal"
        values: ["99"]
      matchActions:
      - action: Override
        argError: -1
`), /spec\.kprobes\[0\]\.call: Override on write needs bpf_override_return .* fmod_ret or BPF-LSM.*connect/);
    await reject(openPolicy("deny-open-postfix", "/etc/shadow", "      - action: Override\n        argError: -1").replace('operator: "Equal"', 'operator: "Postfix"'),
      /matchArgs: Override through fanotify .* needs matchArgs Equal or Prefix/);
    await reject(`apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "deny-tp"
spec:
  tracepoints:
  - subsystem: "syscalls"
    event: "sys_enter_getcwd"
    args:
    - index: 5
      type: "uint64"
    selectors:
    - matchArgs:
      - index: 5
        operator: "Equal"
        values: ["1"]
      matchActions:
      - action: Override
        argError: -1
`, /spec\.tracepoints\[0\]: Override needs a syscall/);
    await reject(policy("kill-all", `  - call: "sys_getcwd"
    syscall: true
    selectors:
    - matchActions:
      - action: Sigkill
`), /needs a filter .* allow-unfiltered-enforcement/);
    const names = (await listPolicies(client)).map((p) => p.name);
    for (const n of ["deny-write", "deny-open-postfix", "deny-tp", "kill-all"]) assert.ok(!names.includes(n));
  });
});

describe("the agent stopping ends enforcement", () => {
  for (const signal of ["SIGTERM", "SIGKILL"] as const) {
    test(`${signal}: nothing stays attached, and the next start is clean`, async () => {
      const dir = tempDir("tp-enforce-stop-");
      const s = await pyServer(LISTENERS);
      const forbidden = Number(s.line.split(" ")[1]);
      const secret = path.join(dir, "secret.txt");
      fs.writeFileSync(secret, "x\n");
      // policies given at start: loaded before the agent reports ready, whatever the load
      const agent = await startAgentWithPolicies(dir, {
        "deny-connect": connectPolicy("deny-connect", forbidden, "      - action: Override\n        argError: -13"),
        "deny-open": openPolicy("deny-open", secret, "      - action: Override\n        argError: -1"),
      });
      try {
        assert.equal(tryConnect(forbidden), "EACCES");
        assert.notEqual(spawnSync("/bin/cat", [secret]).status, 0);
        if (signal === "SIGKILL") {
          agent.proc.kill("SIGKILL");
          await new Promise((r) => agent.proc.once("exit", r));
        } else {
          assert.equal(await agent.stop(), 0, agent.logs());
        }
        const end = Date.now() + 5000;
        while (/deny_|generic_cgroup_/.test(cgroupPrograms()) && Date.now() < end) await settle();
        assert.doesNotMatch(cgroupPrograms(), /deny_|generic_cgroup_/);
        assert.equal(tryConnect(forbidden), "ok");
        assert.equal(spawnSync("/bin/cat", [secret]).status, 0, "no fanotify mark stays");
        // the next start on the same pins: whatever the crash left is removed, and the stop
        // removes the rest
        const next = await startAgent(["--bpf-dir", agent.bpfDir], { grpc: true });
        assert.equal(await next.stop(), 0, next.logs());
        assert.equal(fs.existsSync(path.join("/sys/fs/bpf", agent.bpfDir)), false, `pins left: ${agent.bpfDir}`);
      } finally {
        if (agent.proc.exitCode === null && agent.proc.signalCode === null) agent.proc.kill("SIGKILL");
        s.stop();
      }
    });
  }
});

describe("--fanotify-fail", () => {
  const rawOpen = (file: string) => py(`
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.syscall(2, ${JSON.stringify(file)}.encode(), os.O_RDONLY)  # open(2): not the hooked openat
print("ok" if fd >= 0 else errno.errorcode[ctypes.get_errno()])
`).out;
  const viaOpenat = (file: string) => py(`
import errno
try:
    open(${JSON.stringify(file)}).read(); print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
`).out;
  const catOnly = (file: string) => policy("deny-cat", `  - call: "sys_openat"
    syscall: true
    args:
    - index: 1
      type: "string"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Equal"
        values:
        - "${file}"
      matchBinaries:
      - operator: "In"
        values:
        - "/usr/bin/cat"
      matchActions:
      - action: Override
        argError: -1
`);

  for (const mode of ["open", "closed"] as const) {
    test(`${mode}: an open of a watched file that no hook decided on is ${mode === "open" ? "allowed" : "denied"}`, async () => {
      const dir = tempDir(`tp-fanotify-${mode}-`);
      const file = path.join(dir, "watched.txt");
      fs.writeFileSync(file, "x\n");
      const agent = await startAgentWithPolicies(dir, { "deny-cat": catOnly(file) }, ["--fanotify-fail", mode]);
      try {
        assert.notEqual(spawnSync("/usr/bin/cat", [file]).status, 0, "the selector's binary is denied");
        assert.equal(viaOpenat(file), "ok", "a process the selector does not match, through the hooked openat");
        assert.equal(rawOpen(file), mode === "open" ? "ok" : "EPERM", "open(2), which no hook saw");
      } finally {
        assert.equal(await agent.stop(), 0, agent.logs());
      }
    });
  }
});

describe("--keep-sensors-on-exit", () => {
  test("enforcement outlives the agent until the next start", async () => {
    const dir = tempDir("tp-enforce-keep-");
    const s = await pyServer(LISTENERS);
    const forbidden = Number(s.line.split(" ")[1]);
    try {
      const bpfDir = `tetragon-keep-${process.pid}`;
      const agent = await startAgentWithPolicies(dir, {
        "deny-connect": connectPolicy("deny-connect", forbidden, "      - action: Override\n        argError: -13"),
      }, ["--keep-sensors-on-exit", "--bpf-dir", bpfDir]);
      assert.equal(tryConnect(forbidden), "EACCES");
      assert.equal(await agent.stop(), 0, agent.logs());
      assert.equal(tryConnect(forbidden), "EACCES", "kept after the agent stopped");
      assert.match(cgroupPrograms(), /generic_cgroup_connect4/);
      const next = await startAgent(["--bpf-dir", bpfDir]);
      try {
        assert.equal(tryConnect(forbidden), "ok", "the next start removed what the last one kept");
        assert.doesNotMatch(cgroupPrograms(), /deny_|generic_cgroup_/);
      } finally {
        assert.equal(await next.stop(), 0, next.logs());
      }
      fs.rmSync(`/sys/fs/bpf/${bpfDir}`, { recursive: true, force: true });
    } finally {
      s.stop();
    }
  });
});
