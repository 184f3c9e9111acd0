/**
 * Tracing policies managed over the gRPC API: a bad policy is rejected whole with its field
 * path and the agent keeps running; disabling detaches; deleting frees; 100 add/delete
 * cycles leave no program, map or link behind; events arrive in the GetEvents stream.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as grpc from "@grpc/grpc-js";
import * as fs from "node:fs";
import * as path from "node:path";
import { FineGuidanceSensors, TracingPolicyState } from "../../src/api/gen/tetragon/sensors_pb";
import { ROOT, startAgent, type RunningAgent } from "../helpers/agent";
import { connect, openStream, waitUntil } from "./grpc-helpers";
import type { TetraClient } from "../../src/cli/tetra/common/client";

function bpftoolCount(kind: "prog" | "map" | "link"): number {
  return (JSON.parse(execFileSync("bpftool", [kind, "show", "--json"], { encoding: "utf8" })) as unknown[]).length;
}

async function settledCount(kind: "prog" | "map" | "link", want: number): Promise<number> {
  const end = Date.now() + 5000;
  let n = bpftoolCount(kind);
  while (n !== want && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    n = bpftoolCount(kind);
  }
  return n;
}

/** Entries of the agent's value maps (string sets, prefix tries, number sets): what a policy adds, a delete must take out. */
function valueEntries(bpfDir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of ["str_eq_map", "str_prefix_map", "str_postfix_map", "num_set_map", "addr_map", "inflight"]) {
    const pin = `/sys/fs/bpf/${bpfDir}/generic/${m}`;
    out[m] = (JSON.parse(execFileSync("bpftool", ["map", "dump", "pinned", pin, "--json"], { encoding: "utf8" })) as unknown[]).length;
  }
  return out;
}

/** Policies of every kind the cycles go through: each fills value maps and attaches its own target. */
function cyclePolicy(name: string, i: number): string {
  const head = `apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: "${name}"\nspec:\n`;
  switch (i % 4) {
    case 0:
      return policy(name);
    case 1:
      return `${head}  kprobes:
  - call: "sys_openat"
    args:
    - index: 1
      type: "string"
    - index: 2
      type: "int"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Equal"
        values: ["/etc/cycle-${i}", "/etc/cycle-${i}-b"]
    - matchArgs:
      - index: 1
        operator: "Prefix"
        values: ["/var/cycle-${i}/"]
      - index: 1
        operator: "Postfix"
        values: [".cycle-${i}"]
    - matchArgs:
      - index: 2
        operator: "InMap"
        values: ["${1000 + i}", "${2000 + i}:${2010 + i}"]
`;
    case 2:
      return `${head}  tracepoints:
  - subsystem: "sched"
    event: "sched_process_exec"
    args:
    - index: 4
    selectors:
    - matchArgs:
      - index: 4
        operator: "Postfix"
        values: ["/cycle-${i}"]
`;
    default:
      return `${head}  uprobes:
  - path: "/lib/x86_64-linux-gnu/libc.so.6"
    symbols: ["mkdir"]
    args:
    - index: 0
      type: "string"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Prefix"
        values: ["/tmp/cycle-${i}/"]
`;
  }
}

const policy = (name: string, extra = "") => `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "${name}"
spec:
  kprobes:
  - call: "sys_getcwd"
    return: true
    args:
    - index: 1
      type: "size_t"
    returnArg:
      index: 0
      type: "int"
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "/usr/bin/pwd"
${extra}`;

describe("policy management over gRPC", () => {
  let agent: RunningAgent;
  let client: TetraClient;

  before(async () => {
    agent = await startAgent([], { grpc: true });
    client = await connect(agent.serverAddress);
  });

  after(async () => {
    client.close();
    assert.equal(await agent.stop(), 0, agent.logs());
  });

  test("a bad policy is INVALID_ARGUMENT with the field path, and nothing of it stays", async () => {
    const counts = { prog: bpftoolCount("prog"), map: bpftoolCount("map"), link: bpftoolCount("link") };
    const bad = policy("bad-one").replace('"/usr/bin/pwd"', '"/usr/bin/pwd"\n      matchArgs:\n      - index: 7\n        operator: "Equal"\n        values: ["1"]');
    await assert.rejects(client.unary(FineGuidanceSensors.method.addTracingPolicy, { yaml: bad }), (e: grpc.ServiceError) => {
      assert.equal(e.code, grpc.status.INVALID_ARGUMENT);
      assert.match(e.details, /spec\.kprobes\[0\]\.selectors\[0\]\.matchArgs\[0\]\.index/);
      return true;
    });
    const kernelFn = policy("kernel-fn").replace('call: "sys_getcwd"', 'call: "do_sys_openat2"\n    syscall: false');
    await assert.rejects(client.unary(FineGuidanceSensors.method.addTracingPolicy, { yaml: kernelFn }), (e: grpc.ServiceError) => {
      assert.equal(e.code, grpc.status.INVALID_ARGUMENT);
      assert.match(e.details, /spec\.kprobes\[0\]\.call: 'do_sys_openat2' is a kernel function: hooking it needs kprobes/);
      return true;
    });
    const list = await client.unary(FineGuidanceSensors.method.listTracingPolicies, {});
    assert.equal(list.policies.length, 0);
    assert.deepEqual({ prog: bpftoolCount("prog"), map: bpftoolCount("map"), link: bpftoolCount("link") }, counts, "no program, map or link of the rejected policies");
    const h = await client.unary(FineGuidanceSensors.method.getHealth, {});
    assert.equal(h.healthStatus[0].details, "running");
  });

  test("the whole bad-document corpus, sent over gRPC: each one INVALID_ARGUMENT with its field path, none listed", async () => {
    const dir = path.join(ROOT, "test", "fixtures", "policies", "bad");
    const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort();
    assert.ok(files.length >= 50);
    for (const f of files) {
      const text = fs.readFileSync(path.join(dir, f), "utf8");
      const paths = [...text.matchAll(/^# expect: (.*?) \| /gm)].map((m) => m[1].trim());
      await assert.rejects(client.unary(FineGuidanceSensors.method.addTracingPolicy, { yaml: text }), (e: grpc.ServiceError) => {
        assert.equal(e.code, grpc.status.INVALID_ARGUMENT, `${f}: ${e.details}`);
        for (const p of paths) assert.ok(e.details.includes(`${p}: `) || e.details.includes(`${p} `), `${f}: ${p} not in ${e.details}`);
        return true;
      }, f);
    }
    const list = await client.unary(FineGuidanceSensors.method.listTracingPolicies, {});
    assert.equal(list.policies.length, 0);
  });

  test("events of an added policy reach GetEvents; disable detaches and frees its map entries; enable installs it again", async () => {
    await client.unary(FineGuidanceSensors.method.addTracingPolicy, { yaml: policy("getcwd-pwd") });
    const stream = openStream(client, { allowList: [{ policyNames: ["getcwd-pwd"] }] });
    await new Promise((r) => setTimeout(r, 200));
    spawnSync("/usr/bin/pwd", ["-P"]);
    await waitUntil(() => stream.events.length >= 1, "a kprobe event on the stream");
    const k = stream.events[0].process_kprobe;
    assert.equal(k.function_name, "__x64_sys_getcwd");
    assert.ok(k.return.int_arg > 0, "getcwd returns the length");
    const links = bpftoolCount("link");
    const enabledEntries = valueEntries(agent.bpfDir);
    await client.unary(FineGuidanceSensors.method.configureTracingPolicy, { name: "getcwd-pwd", enable: false });
    assert.equal(await settledCount("link", links - 2), links - 2, "the entry and exit links are gone");
    // and its map entries: the binary set of matchBinaries, its hook slot
    const disabledEntries = valueEntries(agent.bpfDir);
    assert.notDeepEqual(disabledEntries, enabledEntries);
    const off = await client.unary(FineGuidanceSensors.method.listTracingPolicies, {});
    assert.equal(off.policies[0].state, TracingPolicyState.TP_STATE_DISABLED);
    assert.equal(off.policies[0].kernelMemoryBytes, 0n);
    const before = stream.events.length;
    spawnSync("/usr/bin/pwd", ["-P"]);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(stream.events.length, before, "no event while disabled");
    await client.unary(FineGuidanceSensors.method.configureTracingPolicy, { name: "getcwd-pwd", enable: true });
    spawnSync("/usr/bin/pwd", ["-P"]);
    await waitUntil(() => stream.events.length > before, "an event after enable");
    await new Promise((r) => setTimeout(r, 300));
    const list = await client.unary(FineGuidanceSensors.method.listTracingPolicies, {});
    assert.equal(list.policies[0].name, "getcwd-pwd");
    assert.equal(list.policies[0].stats!.actionCounters!.post, BigInt(stream.events.length), "one Post for each event, none while disabled");
    stream.call.cancel();
    await client.unary(FineGuidanceSensors.method.deleteTracingPolicy, { name: "getcwd-pwd" });
    assert.deepEqual(valueEntries(agent.bpfDir), disabledEntries, "disabled, the policy had nothing more in the maps than deleted");
  });

  test("100 add/delete cycles of syscall, tracepoint and uprobe policies leave no program, map, link or map entry behind", async () => {
    // the first cycle loads the generic sensor's programs and maps, which stay for later policies
    await client.unary(FineGuidanceSensors.method.addTracingPolicy, { yaml: policy("cycle") });
    await client.unary(FineGuidanceSensors.method.deleteTracingPolicy, { name: "cycle" });
    // so do the uprobe programs' object, loaded with the first uprobe
    await client.unary(FineGuidanceSensors.method.addTracingPolicy, { yaml: cyclePolicy("cycle-up", 3) });
    await client.unary(FineGuidanceSensors.method.deleteTracingPolicy, { name: "cycle-up" });
    const progs = bpftoolCount("prog");
    const maps = bpftoolCount("map");
    const links = bpftoolCount("link");
    const entries = valueEntries(agent.bpfDir);
    for (let i = 0; i < 100; i++) {
      await client.unary(FineGuidanceSensors.method.addTracingPolicy, { yaml: cyclePolicy(`cycle-${i}`, i) });
      if (i === 1) assert.notDeepEqual(valueEntries(agent.bpfDir), entries, "the string and number sets are in the maps");
      await client.unary(FineGuidanceSensors.method.deleteTracingPolicy, { name: `cycle-${i}` });
    }
    assert.equal(await settledCount("prog", progs), progs);
    assert.equal(await settledCount("map", maps), maps);
    assert.equal(await settledCount("link", links), links);
    assert.deepEqual(valueEntries(agent.bpfDir), entries, "every value a policy put in the maps is gone");
    const list = await client.unary(FineGuidanceSensors.method.listTracingPolicies, {});
    assert.equal(list.policies.length, 0);
  });
});

describe("policies the agent loads itself", () => {
  test("a policy of the default --tracing-policy-dir that fails is listed as load_error with its error; the good one runs", async () => {
    // /etc/tetragon/tetragon.tp.d, the default: made for the test when the machine has none
    const tpDir = "/etc/tetragon/tetragon.tp.d";
    const madeEtc = !fs.existsSync("/etc/tetragon");
    const made = !fs.existsSync(tpDir);
    fs.mkdirSync(tpDir, { recursive: true });
    const good = path.join(tpDir, `tetragon-ts-test-${process.pid}-good.yaml`);
    const bad = path.join(tpDir, `tetragon-ts-test-${process.pid}-bad.yaml`);
    fs.writeFileSync(good, policy(`default-dir-good-${process.pid}`));
    fs.writeFileSync(bad, policy(`default-dir-bad-${process.pid}`).replace('call: "sys_getcwd"', 'call: "do_sys_openat2"\n    syscall: false'));
    let agent: RunningAgent | undefined;
    let client: TetraClient | undefined;
    try {
      agent = await startAgent([], { grpc: true });
      client = await connect(agent.serverAddress);
      const list = await client.unary(FineGuidanceSensors.method.listTracingPolicies, {});
      const byName = new Map(list.policies.map((p) => [p.name, p]));
      const g = byName.get(`default-dir-good-${process.pid}`);
      const b = byName.get(`default-dir-bad-${process.pid}`);
      assert.equal(g?.state, TracingPolicyState.TP_STATE_ENABLED);
      assert.equal(b?.state, TracingPolicyState.TP_STATE_LOAD_ERROR);
      assert.match(b!.error, /spec\.kprobes\[0\]\.call: 'do_sys_openat2' is a kernel function: hooking it needs kprobes/);
      const text = spawnSync(process.execPath, [path.join(ROOT, "dist/src/cli/tetra/main.js"), "tp", "list", "--server-address", agent.serverAddress], { encoding: "utf8" });
      assert.match(text.stdout, new RegExp(`default-dir-bad-${process.pid}\\s+static\\s+load_error`), text.stderr);
      await assert.rejects(client.unary(FineGuidanceSensors.method.configureTracingPolicy, { name: `default-dir-bad-${process.pid}`, enable: true }),
        (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT || e.code === grpc.status.FAILED_PRECONDITION);
      spawnSync("/usr/bin/pwd", ["-P"]);
      await agent.waitFor((e) => e.process_kprobe?.policy_name === `default-dir-good-${process.pid}`, "the good policy's event");
      await client.unary(FineGuidanceSensors.method.deleteTracingPolicy, { name: `default-dir-bad-${process.pid}` });
      const after = await client.unary(FineGuidanceSensors.method.listTracingPolicies, {});
      assert.deepEqual(after.policies.map((p) => p.name), [`default-dir-good-${process.pid}`]);
    } finally {
      client?.close();
      if (agent) assert.equal(await agent.stop(), 0, agent.logs());
      fs.rmSync(good, { force: true });
      fs.rmSync(bad, { force: true });
      if (madeEtc) fs.rmSync("/etc/tetragon", { recursive: true, force: true });
      else if (made) fs.rmdirSync(tpDir);
    }
  });
});
