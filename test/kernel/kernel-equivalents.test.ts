/**
 * Kernel-function hooks on a kernel without kprobes: Tetragon's quick-start policy
 * (tcp_connect with NotDAddr) with a real curl, tcp_close with a real server, and a clear
 * rejection for a function with no stand-in.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { ROOT, startAgent, tempDir, type JsonEvent } from "../helpers/agent";

const kp = (e: JsonEvent) => e.process_kprobe;

test("the quick-start policy: tcp_connect with NotDAddr, as tetra prints it", async () => {
  const dir = tempDir("tp-qs-");
  const tp = path.join(dir, "tracing-policy-01.yaml");
  fs.writeFileSync(tp, `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "monitor-network"
spec:
  kprobes:               # How to inject (kprobes, tracepoints, uprobes)
  - call: "tcp_connect"  # Where to inject (syscall, kernel function, tracepoint)
    syscall: false
    args:                # Extra data to include in the event
    - index: 0
      type: "sock"
    selectors:
    - matchArgs:         # How to filter events
      - index: 0
        operator: "NotDAddr"
        values:
        - 127.0.0.1
`);
  const server = spawn("python3", ["-m", "http.server", "0", "--bind", "127.0.0.2"], { stdio: ["ignore", "pipe", "ignore"] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    server.stdout!.on("data", (d) => {
      out += d;
      const m = /port (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    server.on("exit", () => reject(new Error("the test server exited")));
  });
  const agent = await startAgent(["--tracing-policy", tp]);
  try {
    assert.match(agent.logs(), /tracing policy added.*monitor-network.*tcp_connect as sock\/inet_sock_set_state/);
    // a connection to 127.0.0.1 (refused: port 1) makes the same connect() and must be filtered out
    spawnSync("/usr/bin/curl", ["-s", "-o", "/dev/null", "--max-time", "5", "http://127.0.0.1:1/"]);
    const r = spawnSync("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{local_port}", `http://127.0.0.2:${port}/`], { encoding: "utf8" });
    assert.equal(r.status, 0);
    const curlPort = Number(r.stdout);
    const ev = await agent.waitFor((e) => kp(e)?.function_name === "tcp_connect", "tcp_connect event");
    const k = kp(ev);
    assert.equal(k.process.binary, "/usr/bin/curl");
    assert.equal(k.policy_name, "monitor-network");
    assert.deepEqual(k.args[0].sock_arg, {
      family: "AF_INET", type: "SOCK_STREAM", protocol: "IPPROTO_TCP", saddr: "127.0.0.1", daddr: "127.0.0.2",
      sport: curlPort, dport: port, state: "TCP_SYN_SENT",
    });
    await new Promise((res) => setTimeout(res, 300));
    const all = agent.events().filter((e) => kp(e)?.function_name === "tcp_connect");
    assert.equal(all.length, 1, "the connection to 127.0.0.1 is filtered out in the kernel");
    const tetra = path.join(ROOT, "dist/src/cli/tetra/main.js");
    const compact = spawnSync("/bin/sh", ["-c", `cat '${agent.exportFile}' | '${process.execPath}' '${tetra}' getevents -o compact`], { encoding: "utf8" });
    assert.match(compact.stdout, new RegExp(`🔌 connect \\S+ /usr/bin/curl tcp 127\\.0\\.0\\.1:${curlPort} -> 127\\.0\\.0\\.2:${port}\\n`));
  } finally {
    await agent.stop();
    server.kill();
  }
});

test("tcp_close for a real server's connection, and no stand-in for other functions", async () => {
  const dir = tempDir("tp-close-");
  const tp = path.join(dir, "close.yaml");
  fs.writeFileSync(tp, `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "tcp-close"
spec:
  kprobes:
  - call: "tcp_close"
    syscall: false
    args:
    - index: 0
      type: "sock"
    selectors:
    - matchArgs:
      - index: 0
        operator: "DPort"
        values:
        - "PORT"
`);
  const srv = net.createServer((s) => s.on("data", () => s.end())).listen(0, "127.0.0.1");
  await new Promise((r) => srv.once("listening", r));
  const port = (srv.address() as net.AddressInfo).port;
  fs.writeFileSync(tp, fs.readFileSync(tp, "utf8").replace("PORT", String(port)));
  const bad = path.join(dir, "bad.yaml");
  fs.writeFileSync(bad, `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "no-stand-in"
spec:
  kprobes:
  - call: "do_sys_openat2"
    syscall: false
`);
  const agent = await startAgent(["--tracing-policy", tp, "--tracing-policy-dir", dir]);
  try {
    assert.match(agent.logs(), /no-stand-in.*'do_sys_openat2' is a kernel function: hooking it needs kprobes, which this kernel does not have/);
    // asynchronously: the server runs in this process's event loop
    const client = spawn("python3", ["-c", `import socket\ns=socket.create_connection(("127.0.0.1", ${port}))\ns.sendall(b"x")\ns.recv(10)\ns.close()`]);
    await new Promise((r) => client.on("exit", r));
    const ev = await agent.waitFor((e) => kp(e)?.function_name === "tcp_close", "tcp_close event");
    assert.equal(kp(ev).args[0].sock_arg.dport, port);
    assert.equal(kp(ev).args[0].sock_arg.state, "TCP_CLOSE");
  } finally {
    await agent.stop();
    srv.close();
  }
});
