/**
 * More kernel-function stand-ins on a kernel without kprobes, each with real processes:
 * inet_csk_accept (a real TCP server), cap_capable (real capability checks, allowed and
 * denied), tcp_sendmsg (a real send of a known size) and security_bprm_check /
 * security_bprm_committing_creds (real execs), filtered in the kernel.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { ROOT, startAgent, startAgentWithPolicies, tempDir, type JsonEvent } from "../helpers/agent";

const PY = "/usr/bin/python3.11";
const kp = (e: JsonEvent) => e.process_kprobe;
/** a sock_arg without its cookie (0, and so absent, until something asks the kernel for it) */
const noCookie = (s: Record<string, unknown>) => Object.fromEntries(Object.entries(s).filter(([k]) => k !== "cookie"));
const settle = () => new Promise((r) => setTimeout(r, 400));

function compact(exportFile: string): string {
  const tetra = path.join(ROOT, "dist/src/cli/tetra/main.js");
  return spawnSync("/bin/sh", ["-c", `cat '${exportFile}' | '${process.execPath}' '${tetra}' getevents -o compact`], { encoding: "utf8" }).stdout;
}

function policy(name: string, body: string): string {
  return `apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: "${name}"\nspec:\n  kprobes:\n${body}`;
}

/** Runs a python script that prints a line of JSON first; resolves it and the process. */
async function pyServer(script: string) {
  const proc = spawn(PY, ["-c", script], { stdio: ["pipe", "pipe", "inherit"] });
  const first = await new Promise<any>((resolve, reject) => {
    let out = "";
    proc.stdout!.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)));
    });
    proc.on("exit", () => reject(new Error("the python server exited")));
  });
  const exited = new Promise((r) => proc.on("exit", r));
  return { proc, first, exited };
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => resolve(s));
    s.on("error", reject);
  });
}

test("inet_csk_accept: the accepted sock as the return value, in the accepting process", async () => {
  const dir = tempDir("tp-accept-");
  const unixPath = path.join(dir, "u.sock");
  const server = await pyServer(`
import socket, json, sys
a = socket.socket(); a.bind(("127.0.0.1", 0)); a.listen()
b = socket.socket(); b.bind(("127.0.0.1", 0)); b.listen()
u = socket.socket(socket.AF_UNIX); u.bind(${JSON.stringify(unixPath)}); u.listen()
print(json.dumps([a.getsockname()[1], b.getsockname()[1]]), flush=True)
sys.stdin.readline()  # accept once the agent is there: it sees accept() from its start
for s in (a, b, u):
    c, _ = s.accept()
    c.close()
`);
  const [portA, portB] = server.first as number[];
  const accept = (name: string, selectors: string) => policy(name, `  - call: "inet_csk_accept"
    syscall: false
    return: true
    args:
    - index: 0
      type: "sock"
    returnArg:
      index: 0
      type: "sock"
${selectors}`);
  const agent = await startAgentWithPolicies(dir, {
    "accept-a": accept("accept-a", `    selectors:
    - matchArgs:
      - index: 0
        operator: "SPort"
        values:
        - "${portA}"
`),
    "accept-all": accept("accept-all", ""),
  });
  try {
    assert.match(agent.logs(), /accept-a.*inet_csk_accept as the return of accept4\(\) on a TCP socket/);
    server.proc.stdin!.write("go\n");
    const ca = await connect(portA);
    const cb = await connect(portB);
    const cu = net.connect(unixPath);
    const [portCa, portCb] = [ca.localPort, cb.localPort]; // gone once the server closes them
    await server.exited;
    const fromServer = (e: JsonEvent) => kp(e)?.function_name === "inet_csk_accept" && kp(e).process.pid === server.proc.pid;
    const ev = await agent.waitFor((e) => fromServer(e) && kp(e).policy_name === "accept-a", "accept event");
    const k = kp(ev);
    assert.equal(k.process.binary, PY);
    assert.deepEqual(noCookie(k.args[0].sock_arg), {
      family: "AF_INET", type: "SOCK_STREAM", protocol: "IPPROTO_TCP", saddr: "127.0.0.1", daddr: "0.0.0.0",
      sport: portA, state: "TCP_LISTEN",
    });
    assert.deepEqual(noCookie(k.return.sock_arg), {
      family: "AF_INET", type: "SOCK_STREAM", protocol: "IPPROTO_TCP", saddr: "127.0.0.1", daddr: "127.0.0.1",
      sport: portA, dport: portCa, state: "TCP_ESTABLISHED",
    });
    await agent.waitFor((e) => fromServer(e) && kp(e).policy_name === "accept-all" && kp(e).return?.sock_arg?.sport === portB, "accept of b");
    await settle();
    const mine = agent.events().filter(fromServer);
    assert.equal(mine.filter((e) => kp(e).policy_name === "accept-a").length, 1, "the accept on port b does not match SPort a");
    assert.deepEqual(
      mine.filter((e) => kp(e).policy_name === "accept-all").map((e) => kp(e).return.sock_arg.dport).sort(),
      [portCa, portCb].sort(), "two TCP accepts; the unix socket's accept is not one",
    );
    assert.match(compact(agent.exportFile), new RegExp(`❓ syscall +\\S+ ${PY} inet_csk_accept\\n`));
    for (const s of [ca, cb, cu]) s.destroy();
  } finally {
    await agent.stop();
    server.proc.kill();
  }
});

test("cap_capable: the capability and the result of real checks, filtered by capability and result", async () => {
  const dir = tempDir("tp-cap-");
  const body = (ret: string) => `  - call: "cap_capable"
    syscall: false
    return: true
    args:
    - index: 0
      type: "nop"
    - index: 2
      type: "capability"
    returnArg:
      index: 0
      type: "int"
    selectors:
    - matchArgs:
      - index: 2
        operator: "Equal"
        values:
        - "13"
${ret}`;
  const agent = await startAgentWithPolicies(dir, {
    "cap-net-raw": policy("cap-net-raw", body("")),
    "cap-denied": policy("cap-denied", body(`      matchReturnArgs:
      - index: 0
        operator: "Equal"
        values:
        - "-1"
`)),
  });
  try {
    assert.match(agent.logs(), /cap-net-raw.*cap_capable as capability\/cap_capable/);
    const raw = `import socket\ntry:\n  socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)\nexcept PermissionError:\n  pass`;
    const root = spawn(PY, ["-c", raw]);
    await new Promise((r) => root.on("exit", r));
    const nobody = spawn("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", PY, "-c", raw]);
    await new Promise((r) => nobody.on("exit", r));
    // CAP_SYS_ADMIN, not CAP_NET_RAW: must not match
    const admin = spawn("/usr/bin/unshare", ["-m", "/bin/true"]);
    await new Promise((r) => admin.on("exit", r));
    const of = (pid: number | undefined, name: string) => (e: JsonEvent) => kp(e)?.function_name === "cap_capable" && kp(e).process.pid === pid && kp(e).policy_name === name;
    const ok = kp(await agent.waitFor(of(root.pid, "cap-net-raw"), "root's CAP_NET_RAW check"));
    assert.deepEqual(ok.args, [{ capability_arg: { value: 13, name: "CAP_NET_RAW" } }]);
    assert.deepEqual(ok.return, { int_arg: 0 });
    const denied = kp(await agent.waitFor(of(nobody.pid, "cap-denied"), "nobody's denied CAP_NET_RAW check"));
    assert.deepEqual(denied.args, [{ capability_arg: { value: 13, name: "CAP_NET_RAW" } }]);
    assert.deepEqual(denied.return, { int_arg: -1 });
    await agent.waitFor(of(nobody.pid, "cap-net-raw"), "nobody's check in the unfiltered policy");
    await settle();
    const evs = agent.events();
    assert.equal(evs.filter(of(root.pid, "cap-denied")).length, 0, "root's allowed check is not a denied one");
    assert.equal(evs.filter((e) => kp(e)?.process.pid === admin.pid).length, 0, "CAP_SYS_ADMIN does not match Equal 13");
  } finally {
    await agent.stop();
  }
});

test("tcp_sendmsg: the sock and the size of a real send, as tetra prints it", async () => {
  const dir = tempDir("tp-send-");
  const received: Buffer[] = [];
  const mk = () => net.createServer((s) => s.on("data", (d) => received.push(d))).listen(0, "127.0.0.1");
  const a = mk();
  const b = mk();
  await Promise.all([a, b].map((s) => new Promise((r) => s.once("listening", r))));
  const portA = (a.address() as net.AddressInfo).port;
  const portB = (b.address() as net.AddressInfo).port;
  const agent = await startAgentWithPolicies(dir, {
    send: policy("send", `  - call: "tcp_sendmsg"
    syscall: false
    args:
    - index: 0
      type: "sock"
    - index: 2
      type: "int"
    selectors:
    - matchArgs:
      - index: 0
        operator: "DPort"
        values:
        - "${portA}"
`),
  });
  try {
    assert.match(agent.logs(), /tcp_sendmsg as sock\/sock_send_length/);
    const client = spawn(PY, ["-c", `import socket, sys
a = socket.create_connection(("127.0.0.1", ${portA}))
b = socket.create_connection(("127.0.0.1", ${portB}))
print(a.getsockname()[1], flush=True)
b.sendall(b"y" * 777)
a.sendall(b"x" * 1234)
a.close(); b.close()`], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    client.stdout!.on("data", (d) => (out += d));
    await new Promise((r) => client.on("exit", r));
    const sport = Number(out.trim());
    const mine = (e: JsonEvent) => kp(e)?.function_name === "tcp_sendmsg" && kp(e).process.pid === client.pid;
    const k = kp(await agent.waitFor(mine, "tcp_sendmsg event"));
    assert.equal(k.process.binary, PY);
    assert.equal(k.args.length, 2);
    assert.deepEqual(noCookie(k.args[0].sock_arg), {
      family: "AF_INET", type: "SOCK_STREAM", protocol: "IPPROTO_TCP", saddr: "127.0.0.1", daddr: "127.0.0.1",
      sport, dport: portA, state: "TCP_ESTABLISHED",
    });
    assert.deepEqual(k.args[1], { int_arg: 1234 });
    await settle();
    assert.equal(agent.events().filter(mine).length, 1, "the send to port b does not match DPort");
    assert.match(compact(agent.exportFile), new RegExp(`📤 sendmsg \\S+ ${PY} tcp 127\\.0\\.0\\.1:${sport} -> 127\\.0\\.0\\.1:${portA} bytes 1234\\n`));
  } finally {
    await agent.stop();
    a.close();
    b.close();
  }
});

test("security_bprm_check and security_bprm_committing_creds: the binary of real execs, filtered on its path", async () => {
  const dir = tempDir("tp-bprm-");
  const bprm = (name: string, call: string, op: string, value: string) => policy(name, `  - call: "${call}"
    syscall: false
    args:
    - index: 0
      type: "linux_binprm"
    selectors:
    - matchArgs:
      - index: 0
        operator: "${op}"
        values:
        - "${value}"
`);
  const tpdir = path.join(dir, "tp.d");
  fs.mkdirSync(tpdir);
  fs.writeFileSync(path.join(tpdir, "check.yaml"), bprm("check", "security_bprm_check", "Equal", "/usr/bin/true"));
  fs.writeFileSync(path.join(tpdir, "commit.yaml"), bprm("commit", "security_bprm_committing_creds", "Postfix", "/false"));
  const agent = await startAgent(["--tracing-policy-dir", tpdir], { grpc: true });
  try {
    // the policy's status says the hook runs on a stand-in
    const tetra = path.join(ROOT, "dist/src/cli/tetra/main.js");
    const list = spawnSync(process.execPath, [tetra, "tracingpolicy", "list", "-o", "json", "--server-address", agent.serverAddress], { encoding: "utf8" });
    const check = JSON.parse(list.stdout).policies.find((p: JsonEvent) => p.name === "check");
    assert.equal(check.state, "TP_STATE_ENABLED");
    assert.deepEqual(check.hook_statuses.map((h: JsonEvent) => h.hook_description), ["security_bprm_check as the raw tracepoint sched_process_exec (its linux_binprm)"]);
    const t = spawnSync("/usr/bin/true");
    const f = spawnSync("/usr/bin/false");
    assert.equal(t.status, 0);
    assert.equal(f.status, 1);
    const of = (pid: number, fn: string) => (e: JsonEvent) => kp(e)?.function_name === fn && kp(e).process.pid === pid;
    const ct = kp(await agent.waitFor(of(t.pid, "security_bprm_check"), "security_bprm_check of true"));
    assert.deepEqual(ct.args, [{ linux_binprm_arg: { path: "/usr/bin/true" } }]);
    assert.equal(ct.policy_name, "check");
    const cf = kp(await agent.waitFor(of(f.pid, "security_bprm_committing_creds"), "committing_creds of false"));
    assert.deepEqual(cf.args, [{ linux_binprm_arg: { path: "/usr/bin/false" } }]);
    await settle();
    const evs = agent.events();
    assert.equal(evs.filter(of(f.pid, "security_bprm_check")).length, 0, "false is not Equal /usr/bin/true");
    assert.equal(evs.filter(of(t.pid, "security_bprm_committing_creds")).length, 0, "true has no Postfix /false");
  } finally {
    await agent.stop();
  }
});

test("stand-ins reject what they cannot report", async () => {
  const dir = tempDir("tp-standin-bad-");
  const tp = path.join(dir, "bad.yaml");
  fs.writeFileSync(tp, policy("bad-arg", `  - call: "tcp_sendmsg"
    syscall: false
    args:
    - index: 1
      type: "int"
`));
  const agent = await startAgent(["--tracing-policy", tp]);
  try {
    assert.match(agent.logs(), /bad-arg.*tcp_sendmsg arguments available without kprobes: index 0, index 2/);
  } finally {
    await agent.stop();
  }
});
