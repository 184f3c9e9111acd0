/**
 * The sockaddr operators of matchArgs, evaluated in BPF on connect()'s address: one python3
 * process connects to addresses and ports chosen so that each policy must report exactly one
 * set of them, and not the others.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import { startAgentWithPolicies, tempDir, type JsonEvent, type RunningAgent } from "../helpers/agent";

const kp = (e: JsonEvent) => e.process_kprobe;
const PYTHON = fs.realpathSync("/usr/bin/python3");

function connectPolicy(name: string, matchArgs: string): string {
  return `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "${name}"
spec:
  kprobes:
  - call: "sys_connect"
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "sockaddr"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "/usr/bin/python3"
        - "${PYTHON}"
      matchArgs:
${matchArgs}
`;
}

const op = (operator: string, values: string[] = []) =>
  `      - index: 1\n        operator: "${operator}"` + (values.length ? `\n        values:\n${values.map((v) => `        - "${v}"`).join("\n")}` : "");

describe("sockaddr operators", () => {
  let agent: RunningAgent;
  let srv: net.Server;
  let port = 0;
  const dir = tempDir("tp-sockaddr-");

  before(async () => {
    // dual stack: the one listener takes 127.0.0.1, 127.0.0.2 and ::1
    srv = net.createServer((s) => s.end()).listen(0, "::");
    await new Promise((r) => srv.once("listening", r));
    port = (srv.address() as net.AddressInfo).port;
    agent = await startAgentWithPolicies(dir, {
      saddr: connectPolicy("sa-in", op("SAddr", ["127.0.0.2/32", "10.0.0.0/8"])),
      notsaddr: connectPolicy("sa-notin", `${op("NotSAddr", ["127.0.0.2/32"])}\n${op("Family", ["AF_INET"])}\n${op("SPort", [String(port)])}`),
      saddr6: connectPolicy("sa-v6", op("SAddr", ["::1/128"])),
      notsport: connectPolicy("sport-notin", `${op("NotSPort", [String(port)])}\n${op("Family", ["AF_INET"])}`),
      priv: connectPolicy("sport-priv", op("SPortPriv")),
      family: connectPolicy("family-v6", op("Family", ["AF_INET6"])),
    });
  });

  after(async () => {
    srv.close();
    assert.equal(await agent.stop(), 0, agent.logs());
  });

  test("SAddr, NotSAddr, NotSPort, SPortPriv and Family: each policy reports exactly its connections", async () => {
    const targets: Array<[string, number]> = [
      ["127.0.0.1", port], ["127.0.0.2", port], ["::1", port], ["127.0.0.1", 1],
    ];
    const py = [
      "import socket, sys",
      "for host, port in zip(sys.argv[1::2], sys.argv[2::2]):",
      "    fam = socket.AF_INET6 if ':' in host else socket.AF_INET",
      "    s = socket.socket(fam, socket.SOCK_STREAM)",
      "    s.settimeout(1)",
      "    try: s.connect((host, int(port)))",
      "    except OSError: pass",
      "    s.close()",
    ].join("\n");
    const r = spawnSync("/usr/bin/python3", ["-c", py, ...targets.flat().map(String)]);
    assert.equal(r.status, 0, String(r.stderr));
    const pid = r.pid;
    const ofPolicy = (name: string) => agent.events()
      .filter((e) => kp(e)?.policy_name === name && kp(e).process.pid === pid)
      .map((e) => { const a = kp(e).args[1].sockaddr_arg; return `${a.family} ${a.addr} ${a.port}`; })
      .sort();
    const end = Date.now() + 10000;
    while (Date.now() < end && ofPolicy("family-v6").length < 1) await new Promise((res) => setTimeout(res, 50));
    await new Promise((res) => setTimeout(res, 300));
    assert.deepEqual(ofPolicy("sa-in"), [`AF_INET 127.0.0.2 ${port}`]);
    assert.deepEqual(ofPolicy("sa-notin"), [`AF_INET 127.0.0.1 ${port}`]);
    assert.deepEqual(ofPolicy("sa-v6"), [`AF_INET6 ::1 ${port}`]);
    assert.deepEqual(ofPolicy("sport-notin"), ["AF_INET 127.0.0.1 1"]);
    assert.deepEqual(ofPolicy("sport-priv"), ["AF_INET 127.0.0.1 1"]);
    assert.deepEqual(ofPolicy("family-v6"), [`AF_INET6 ::1 ${port}`]);
  });
});
