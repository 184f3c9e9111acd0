/**
 * TracingPolicy CRDs end to end: the real agent with --enable-k8s-api, pointed at a local
 * list/watch server that stands in for the Kubernetes API server (test/helpers/k8s-api.ts,
 * serving /apis/cilium.io/v1alpha1/tracingpolicies and tracingpoliciesnamespaced). A served
 * TracingPolicy object is loaded (kprobe events appear for a real process), a modified one
 * is replaced, a deleted one is unloaded (no more events), a rejected one is logged.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { isExec, startAgent, tempDir, type JsonEvent, type RunningAgent } from "../helpers/agent";
import { LocalPodApi, TRACING_POLICIES_NAMESPACED_PATH, TRACING_POLICIES_PATH, type PodJson } from "../helpers/k8s-api";
import { sleep, waitUntil } from "./grpc-helpers";

function openatPolicy(name: string, prefix: string): PodJson {
  return {
    apiVersion: "cilium.io/v1alpha1",
    kind: "TracingPolicy",
    metadata: { name, uid: crypto.randomUUID(), generation: 1, creationTimestamp: "2026-11-29T09:00:00Z" },
    spec: {
      kprobes: [{
        call: "sys_openat",
        args: [{ index: 0, type: "int" }, { index: 1, type: "string" }],
        selectors: [{ matchArgs: [{ index: 1, operator: "Prefix", values: [prefix] }] }],
      }],
    },
  };
}

const kprobeOf = (policy: string, tag: string) => (e: JsonEvent) =>
  e.process_kprobe?.policy_name === policy && String(e.process_kprobe.process.arguments ?? "").endsWith(tag);

describe("TracingPolicy CRDs served by a local list/watch server standing in for the Kubernetes API", () => {
  let api: LocalPodApi;
  let agent: RunningAgent;
  const watched = path.join(tempDir("k8s-crd-watched-"), "w");
  const file = path.join(watched, "f.txt");
  const NAME = `crd-openat-${crypto.randomBytes(3).toString("hex")}`;

  /** cat <file> <tag>: an openat of the watched file by a new process */
  const catWithTag = (tag: string) => spawnSync("/bin/cat", [file, tag], { stdio: "ignore" });

  before(async () => {
    fs.mkdirSync(watched);
    fs.writeFileSync(file, "x\n");
    api = await new LocalPodApi().listen();
    api.serve(TRACING_POLICIES_PATH).serve(TRACING_POLICIES_NAMESPACED_PATH);
    api.addObject(TRACING_POLICIES_PATH, openatPolicy(NAME, `${watched}/`));
    const kubeconfig = api.writeKubeconfig(tempDir("k8s-crd-"));
    agent = await startAgent(["--enable-k8s-api", "--k8s-kubeconfig-path", kubeconfig], { grpc: true, env: { NODE_NAME: "crd-node" } });
  });

  after(async () => {
    const code = await agent?.stop();
    await api?.close();
    assert.equal(code, 0, agent?.logs());
  });

  test("a TracingPolicy object listed at start is loaded: a real process's openat gives a kprobe event", async () => {
    assert.match(agent.logs(), /k8s API: tracing policy loaded/);
    const tag = `t-${crypto.randomBytes(4).toString("hex")}`;
    catWithTag(tag);
    const ev = await agent.waitFor(kprobeOf(NAME, tag), "kprobe event of the CRD policy");
    assert.equal(ev.process_kprobe.args[1].string_arg, file);
  });

  test("a modified object replaces the policy (new prefix)", async () => {
    const other = path.join(tempDir("k8s-crd-other-"), "o.txt");
    fs.writeFileSync(other, "y\n");
    api.modifyObject(TRACING_POLICIES_PATH, openatPolicy(NAME, other));
    const tag = `m-${crypto.randomBytes(4).toString("hex")}`;
    // retried: the replacement is applied asynchronously
    const end = Date.now() + 15000;
    let seen: JsonEvent | undefined;
    while (!seen && Date.now() < end) {
      spawnSync("/bin/cat", [other, tag], { stdio: "ignore" });
      await sleep(200);
      seen = agent.events().find(kprobeOf(NAME, tag));
    }
    assert.ok(seen, "event for the new prefix");
    assert.equal(seen.process_kprobe.args[1].string_arg, other);
  });

  test("a rejected object is logged with its field path, the others stay loaded", async () => {
    const bad = openatPolicy("crd-bad", "/nowhere/");
    bad.spec.kprobes[0].args[1].type = "no-such-type";
    api.addObject(TRACING_POLICIES_PATH, bad);
    await waitUntil(() => /k8s API: tracing policy rejected/.test(agent.logs()), "rejection logged");
    assert.match(agent.logs(), /spec\.kprobes\[0\]\.args\[1\]\.type/);
  });

  test("a deleted object unloads its policy: no more events", async () => {
    api.deleteObject(TRACING_POLICIES_PATH, "", NAME);
    await waitUntil(() => /k8s API: tracing policy unloaded/.test(agent.logs()), "unloaded");
    const tag = `d-${crypto.randomBytes(4).toString("hex")}`;
    catWithTag(tag);
    // a later exec as a marker that the events of the cat were read
    const marker = `after-${tag}`;
    spawnSync("/bin/echo", [marker]);
    await agent.waitFor((e) => isExec(e) && e.process_exec.process.arguments === marker, "marker exec");
    await sleep(500);
    assert.equal(agent.events().filter((e) => e.process_kprobe?.policy_name === NAME && String(e.process_kprobe.process.arguments).endsWith(tag)).length, 0);
  });
});
