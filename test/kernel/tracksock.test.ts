/**
 * TrackSock / UntrackSock on this kernel's stand-ins: a TCP sock tracked at tcp_connect keeps
 * its owner, so tcp_close (whose state change to CLOSE runs wherever the last packet is
 * handled) reports the process that connected; UntrackSock at close forgets it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { startAgentWithPolicies, tempDir, type JsonEvent } from "../helpers/agent";

const kp = (e: JsonEvent) => e.process_kprobe;

const POLICY = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "tracksock"
spec:
  kprobes:
  - call: "tcp_connect"
    syscall: false
    args:
    - index: 0
      type: "sock"
    selectors:
    - matchArgs:
      - index: 0
        operator: "DPort"
        values: ["PORT"]
      matchActions:
      - action: TrackSock
        argSock: 0
  - call: "tcp_close"
    syscall: false
    args:
    - index: 0
      type: "sock"
    selectors:
    - matchArgs:
      - index: 0
        operator: "DPort"
        values: ["PORT"]
      matchActions:
      - action: UntrackSock
        argSock: 0
`;

test("TrackSock: tcp_close of a tracked sock reports the process that connected, wherever it runs", async () => {
  const dir = tempDir("tp-tracksock-");
  // the server closes after the client: the client's sock reaches CLOSE when the server's
  // FIN is handled, in the server's context on loopback
  const server = spawn("/usr/bin/python3", ["-c", `
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True)
sys.stdin.readline()
c, _ = s.accept()
c.recv(10)
time.sleep(0.3)
c.close()
time.sleep(0.5)
`], { stdio: ["pipe", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve) => server.stdout!.once("data", (d) => resolve(Number(String(d).trim()))));
  const agent = await startAgentWithPolicies(dir, { tracksock: POLICY.replace(/PORT/g, String(port)) });
  try {
    server.stdin!.write("go\n");
    const client = spawnSync("/usr/bin/python3", ["-c", `
import socket, time
c = socket.create_connection(("127.0.0.1", ${port}))
c.shutdown(socket.SHUT_WR)
time.sleep(1.2)  # the server's FIN arrives while this process sleeps
c.close()
`], { encoding: "utf8" });
    assert.equal(client.status, 0, client.stderr);
    const connect = await agent.waitFor((e) => kp(e)?.function_name === "tcp_connect", "tcp_connect");
    const close = await agent.waitFor((e) => kp(e)?.function_name === "tcp_close", "tcp_close");
    assert.equal(connect.process_kprobe.process.pid, client.pid);
    assert.equal(close.process_kprobe.process.pid, client.pid, "the tracked sock's owner");
    assert.equal(close.process_kprobe.args[0].sock_arg.dport, port);
  } finally {
    server.kill();
    assert.equal(await agent.stop(), 0, agent.logs());
  }
});
