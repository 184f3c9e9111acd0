/**
 * Policy filters end to end, in the kernel: the real agent with --enable-k8s-api, pointed at a
 * local list/watch server that stands in for the Kubernetes API server (pods and TracingPolicy
 * CRDs, test/helpers/k8s-api.ts). Real processes run in real cgroups named like containerd's
 * container cgroups; the fake pods' containerStatuses carry those ids. A TracingPolicyNamespaced
 * gives events only for processes in pods of its namespace, a podSelector only for the matching
 * pods, a containerSelector only for the matching containers; processes outside them (other
 * namespace, other pods, the host) give no event: the hooks skip them in the kernel
 * (policy_filter_map), which the hook counters show.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { isExec, startAgent, tempDir, type JsonEvent, type RunningAgent } from "../helpers/agent";
import {
  LocalPodApi, podJson, TRACING_POLICIES_NAMESPACED_PATH, TRACING_POLICIES_PATH, type PodJson, type PodSpec,
} from "../helpers/k8s-api";
import { detectCgroupMode, trackedHierarchyRoot } from "../../src/sensors/base/cgroup-mode";
import { sleep } from "./grpc-helpers";

const NODE = `pf-node-${crypto.randomBytes(3).toString("hex")}`;

/** A cgroup laid out as the kubelet and containerd lay them out (systemd driver names). */
function containerCgroup(podUid: string, id: string): { dir: string; remove: () => void } {
  const root = trackedHierarchyRoot(detectCgroupMode());
  assert.ok(root, "no cgroup hierarchy found");
  const base = path.join(root, `tetragon-test-pf-${process.pid}.slice`);
  const podDir = path.join(base, `kubepods-besteffort-pod${podUid.replace(/-/g, "_")}.slice`);
  const dir = path.join(podDir, `cri-containerd-${id}.scope`);
  fs.mkdirSync(dir, { recursive: true });
  return {
    dir,
    remove: () => {
      for (const d of [dir, podDir, base]) {
        try { fs.rmdirSync(d); } catch { /* busy or shared */ }
      }
    },
  };
}

function openatPolicy(kind: string, name: string, prefix: string, extra: Record<string, unknown> = {}, namespace?: string): PodJson {
  return {
    apiVersion: "cilium.io/v1alpha1",
    kind,
    metadata: { name, ...(namespace ? { namespace } : {}), uid: crypto.randomUUID(), generation: 1 },
    spec: {
      ...extra,
      kprobes: [{
        call: "sys_openat",
        args: [{ index: 0, type: "int" }, { index: 1, type: "string" }],
        selectors: [{ matchArgs: [{ index: 1, operator: "Prefix", values: [prefix] }] }],
      }],
    },
  };
}

interface Ctr { spec: PodSpec; cg: { dir: string; remove: () => void } }

describe("policy filters in the kernel (TracingPolicyNamespaced, podSelector, containerSelector), against a local list/watch server standing in for the Kubernetes API", () => {
  let api: LocalPodApi;
  let agent: RunningAgent;
  const watched = path.join(tempDir("k8s-pf-watched-"), "w");
  const file = path.join(watched, "f.txt");
  const pods: Record<string, Ctr> = {};
  const mk = (key: string, namespace: string, labels: Record<string, string>, container: string) => {
    const uid = crypto.randomUUID();
    const id = crypto.randomBytes(32).toString("hex");
    const spec: PodSpec = { namespace, name: `${key}-pod`, uid, node: NODE, labels, containers: [{ name: container, id }] };
    pods[key] = { spec, cg: containerCgroup(uid, id) };
  };

  /** cat <file> <tag> run in a container's cgroup (or on the host) */
  const catIn = (where: string, tag: string) => {
    const cmd = `/bin/cat ${file} ${tag}`;
    const r = where === "host"
      ? spawnSync("/bin/sh", ["-c", `${cmd} >/dev/null; true`])
      : spawnSync("/bin/sh", ["-c", `echo $$ > ${pods[where].cg.dir}/cgroup.procs && exec /bin/sh -c '${cmd} >/dev/null; true'`]);
    assert.equal(r.status, 0, String(r.stderr));
  };
  const eventsOf = (policy: string, tag: string) => agent.events().filter((e: JsonEvent) =>
    e.process_kprobe?.policy_name === policy && String(e.process_kprobe.process.arguments ?? "").endsWith(tag));

  /**
   * Runs cat everywhere, each try with a new tag, until `until(tag)` holds for the events of
   * one try (the filters follow the pods within about a second); returns that tag.
   */
  async function round(until: (tag: string) => boolean, base: string): Promise<string> {
    const end = Date.now() + 20000;
    let tag = base;
    for (let i = 0; Date.now() < end; i++) {
      tag = `${base}${i}`;
      for (const w of ["web", "db", "otherweb", "host"]) catIn(w, `${tag}-${w}`);
      const marker = `pf-marker-${tag}-${crypto.randomBytes(2).toString("hex")}`;
      spawnSync("/bin/echo", [marker]);
      await agent.waitFor((e) => isExec(e) && e.process_exec.process.arguments === marker, "marker exec");
      await sleep(300);
      if (until(tag)) return tag;
    }
    const seen = Object.fromEntries(["pf-all", "pf-ns", "pf-web", "pf-pg"].map((p) => [p, who(p, tag)]));
    const logs = agent.logs().split("\n").filter((l) => /policy filter|pod/.test(l)).slice(-15).join("\n");
    throw new Error(`timed out: ${tag}: ${JSON.stringify(seen)}\n${logs}`);
  }
  const who = (policy: string, tag: string) =>
    ["web", "db", "otherweb", "host"].filter((w) => eventsOf(policy, `${tag}-${w}`).length > 0);

  before(async () => {
    fs.mkdirSync(watched);
    fs.writeFileSync(file, "x\n");
    mk("web", "shop", { app: "web" }, "nginx");
    mk("db", "shop", { app: "db" }, "pg");
    mk("otherweb", "other", { app: "web" }, "nginx");
    api = await new LocalPodApi().listen();
    for (const p of Object.values(pods)) api.add(podJson(p.spec));
    api.serve(TRACING_POLICIES_PATH).serve(TRACING_POLICIES_NAMESPACED_PATH);
    api.addObject(TRACING_POLICIES_NAMESPACED_PATH, openatPolicy("TracingPolicyNamespaced", "pf-ns", `${watched}/`, {}, "shop"));
    api.addObject(TRACING_POLICIES_PATH, openatPolicy("TracingPolicy", "pf-web", `${watched}/`, { podSelector: { matchLabels: { app: "web" } } }));
    api.addObject(TRACING_POLICIES_PATH, openatPolicy("TracingPolicy", "pf-pg", `${watched}/`, {
      containerSelector: { matchExpressions: [{ key: "name", operator: "In", values: ["pg"] }] },
    }));
    api.addObject(TRACING_POLICIES_PATH, openatPolicy("TracingPolicy", "pf-all", `${watched}/`));
    const kubeconfig = api.writeKubeconfig(tempDir("k8s-pf-"));
    agent = await startAgent(["--enable-k8s-api", "--k8s-kubeconfig-path", kubeconfig], { grpc: true, env: { NODE_NAME: NODE } });
  });

  after(async () => {
    const code = await agent?.stop();
    await api?.close();
    for (const p of Object.values(pods)) p.cg.remove();
    assert.equal(code, 0, agent?.logs());
  });

  test("each policy gives events only for the processes of its namespace / pods / containers", async () => {
    const tag = await round((tag) => who("pf-all", tag).length === 4 && who("pf-ns", tag).length === 2 && who("pf-web", tag).length === 2 && who("pf-pg", tag).length === 1, `a${crypto.randomBytes(3).toString("hex")}`);
    assert.deepEqual(who("pf-all", tag), ["web", "db", "otherweb", "host"], "an unfiltered policy sees everyone");
    assert.deepEqual(who("pf-ns", tag), ["web", "db"], "TracingPolicyNamespaced: the pods of namespace shop");
    assert.deepEqual(who("pf-web", tag), ["web", "otherweb"], "podSelector app=web");
    assert.deepEqual(who("pf-pg", tag), ["db"], "containerSelector name in (pg)");
    const ev = eventsOf("pf-ns", `${tag}-web`)[0];
    assert.equal(ev.process_kprobe.process.pod?.namespace, "shop");
  });

  test("a pod whose labels change leaves (and joins) a podSelector policy", async () => {
    const otherweb = pods.otherweb.spec;
    api.modify(podJson({ ...otherweb, labels: { app: "api" } }));
    const tag = await round((tag) => JSON.stringify(who("pf-web", tag)) === JSON.stringify(["web"]) && who("pf-all", tag).length === 4, `b${crypto.randomBytes(3).toString("hex")}`);
    assert.deepEqual(who("pf-web", tag), ["web"]);
    api.modify(podJson(otherweb));
    const tag2 = await round((tag) => who("pf-web", tag).length === 2, `c${crypto.randomBytes(3).toString("hex")}`);
    assert.deepEqual(who("pf-web", tag2), ["web", "otherweb"]);
  });

  test("the agent logs the containers of each filtered policy", () => {
    assert.match(agent.logs(), /policy filter: containers of the policy updated/);
  });
});
