/**
 * Kernel-object arguments on this kernel, through raw tracepoints (their TP_PROTO arguments
 * are typed by BTF like a kernel function's): an skb sent by a real UDP socket, with the
 * socket operators deciding in the kernel. The same readers serve
 * kprobes, fentry and LSM hooks, tested in the kernel matrix (test/vm/).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { startAgentWithPolicies, tempDir, type JsonEvent, type RunningAgent } from "../helpers/agent";
import { probeKernelFeatures } from "../../src/api/server/kernel-features";
import { loadNative } from "../../src/loader/native";
import { bpfObjectPath } from "../../src/loader/paths";

const tp = (e: JsonEvent) => e.process_tracepoint;
const PORT = 39871;
const OTHER = 39872;

function sendUdp(port: number, bytes: number): void {
  const r = spawnSync("/usr/bin/python3", ["-c", `import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"x" * ${bytes}, ("127.0.0.1", ${port}))`], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
}

describe("kernel objects from raw tracepoints", () => {
  let agent: RunningAgent;

  before(async () => {
    agent = await startAgentWithPolicies(tempDir("kobj-"), {
      skb: `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "udp-skb"
spec:
  tracepoints:
  - subsystem: "net"
    event: "net_dev_queue"
    raw: true
    args:
    - index: 0
      type: "skb"
    selectors:
    - matchArgs:
      - index: 0
        operator: "DPort"
        values: ["${PORT}"]
      - index: 0
        operator: "Protocol"
        values: ["IPPROTO_UDP"]
      - index: 0
        operator: "DAddr"
        values: ["127.0.0.0/8"]
`,
    });
  });

  after(async () => {
    if (agent) assert.equal(await agent.stop(), 0, agent.logs());
  });

  test("an skb: addresses, ports, protocol and length, filtered by DPort, Protocol and DAddr in the kernel", async () => {
    sendUdp(OTHER, 10);
    sendUdp(PORT, 100);
    const ev = await agent.waitFor((e) => tp(e)?.policy_name === "udp-skb", "the skb of the UDP send");
    const skb = tp(ev).args[0].skb_arg;
    assert.equal(skb.daddr, "127.0.0.1");
    assert.equal(skb.saddr, "127.0.0.1");
    assert.equal(skb.dport, PORT);
    assert.ok(skb.sport > 0, JSON.stringify(skb));
    assert.equal(skb.protocol, "IPPROTO_UDP");
    assert.equal(skb.proto, 17);
    assert.equal(skb.family, "AF_INET");
    assert.ok(skb.len >= 100 + 8 + 20, `IP + UDP + payload: ${JSON.stringify(skb)}`);
    assert.equal(tp(ev).process.binary, "/usr/bin/python3");
    await new Promise((r) => setTimeout(r, 1000));
    const all = agent.events().filter((e) => tp(e)?.policy_name === "udp-skb");
    assert.equal(all.length, 1, `only the send to ${PORT}: ${JSON.stringify(all.map((e) => tp(e).args))}`);
  });
});

const features = probeKernelFeatures({ native: loadNative(), probeObject: bpfObjectPath("probe") });
const runs = (name: string) => features.find((f) => f.name === name)?.enabled ?? false;

test("fentries and lsmhooks where the kernel does not run them: rejected whole, naming the feature",
  { skip: runs("fentry") && runs("lsm") ? "this kernel runs fentry and BPF-LSM programs (the kernel matrix tests them)" : false },
  async () => {
    const policy = (name: string, body: string) => `apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: "${name}"\nspec:\n${body}`;
    const err = await startAgentWithPolicies(tempDir("kobj-rej-"), {
      fentry: policy("no-fentry", "  fentries:\n  - call: \"security_file_open\"\n    args:\n    - index: 0\n      type: \"file\"\n"),
      lsm: policy("no-lsm", "  lsmhooks:\n  - hook: \"file_open\"\n    args:\n    - index: 0\n      type: \"file\"\n"),
    }).then(async (a) => {
      await a.stop();
      return new Error("both policies loaded");
    }, (e: Error) => e);
    if (!runs("fentry")) assert.match(err.message, /policy 'no-fentry' rejected: spec\.fentries\[0\]: this kernel does not run fentry programs/);
    if (!runs("lsm")) assert.match(err.message, /policy 'no-lsm' rejected: spec\.lsmhooks\[0\]: this kernel does not run BPF-LSM programs/);
    assert.match(err.message, /agent ready/, "the agent itself started");
  });
