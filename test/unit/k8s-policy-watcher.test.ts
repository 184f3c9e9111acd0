/**
 * The TracingPolicy CRD watcher against a local list/watch server standing in for the
 * Kubernetes API server (test/helpers/k8s-api.ts serving /apis/cilium.io/v1alpha1/...): objects
 * listed at start and added later are loaded in the domain "k8s", a modified spec replaces the
 * policy, a deleted object unloads it, a rejected object is logged with its field path and does
 * not stop the others. The sink parses the policies as the policy manager does (no kernel here).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import pino from "pino";
import { PolicyWatcher, policyDocument, K8S_POLICY_DOMAIN } from "../../src/k8s/policy-watcher";
import { parsePolicy } from "../../src/policy";
import { LocalPodApi, TRACING_POLICIES_NAMESPACED_PATH, TRACING_POLICIES_PATH, type PodJson } from "../helpers/k8s-api";
import { tempDir } from "../helpers/agent";

function memLogger(): { log: pino.Logger; lines: () => any[] } {
  const lines: any[] = [];
  const log = pino({ level: "debug" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines: () => lines };
}

async function waitUntil(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

class FakeManager {
  readonly loaded = new Map<string, { domain: string; call: string }>();
  readonly ops: string[] = [];
  add(yaml: string, domain: string): void {
    const p = parsePolicy(yaml);
    const key = `${p.metadata.namespace ?? ""}/${p.metadata.name}`;
    if (this.loaded.has(key)) throw new Error(`${key} already exists`);
    this.loaded.set(key, { domain, call: p.spec.kprobes?.[0]?.call ?? "" });
    this.ops.push(`add ${key}`);
  }
  delete(name: string, namespace = "", domain?: string): void {
    const key = `${namespace}/${name}`;
    const p = this.loaded.get(key);
    if (!p || p.domain !== domain) throw new Error(`${key} not found`);
    this.loaded.delete(key);
    this.ops.push(`delete ${key}`);
  }
}

function tp(name: string, call: string, extra: PodJson = {}): PodJson {
  return {
    apiVersion: "cilium.io/v1alpha1",
    kind: "TracingPolicy",
    metadata: {
      name, uid: crypto.randomUUID(), generation: 1, creationTimestamp: "2026-11-29T09:00:00Z",
      annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}" },
      managedFields: [{ manager: "kubectl", operation: "Update" }],
    },
    spec: { kprobes: [{ call, syscall: false, args: [{ index: 0, type: "int" }] }] },
    ...extra,
  };
}

describe("TracingPolicy CRD watcher, against a local list/watch server standing in for the Kubernetes API", () => {
  let api: LocalPodApi;
  let watcher: PolicyWatcher;
  const mgr = new FakeManager();
  const { log, lines } = memLogger();

  before(async () => {
    api = await new LocalPodApi().listen();
    api.serve(TRACING_POLICIES_PATH).serve(TRACING_POLICIES_NAMESPACED_PATH);
    api.addObject(TRACING_POLICIES_PATH, tp("listed", "fd_install"));
    const kubeconfig = api.writeKubeconfig(tempDir("k8s-tp-"));
    watcher = new PolicyWatcher({ kubeconfigPath: kubeconfig, log, sink: mgr, retryMs: 50 });
    await watcher.start();
  });

  after(async () => {
    await watcher?.stop();
    await api?.close();
  });

  test("a listed object is loaded in the domain k8s, both resources are listed and watched", async () => {
    assert.ok(watcher.isSynced);
    assert.deepEqual(mgr.loaded.get("/listed"), { domain: K8S_POLICY_DOMAIN, call: "fd_install" });
    await waitUntil(() => api.watchRequests().length >= 2, "two watches");
    const paths = new Set(api.requests.map((r) => r.url.split("?")[0]));
    assert.deepEqual([...paths].sort(), [TRACING_POLICIES_PATH, TRACING_POLICIES_NAMESPACED_PATH].sort());
  });

  test("an added object is loaded, a modified spec replaces it, a metadata-only change does nothing", async () => {
    api.addObject(TRACING_POLICIES_PATH, tp("added", "security_file_open"));
    await waitUntil(() => mgr.loaded.has("/added"), "added policy");
    const before = mgr.ops.length;
    const o = tp("added", "security_file_open");
    o.metadata.labels = {};
    api.modifyObject(TRACING_POLICIES_PATH, { ...o, status: { state: "enabled" } });
    api.modifyObject(TRACING_POLICIES_PATH, tp("added", "security_bprm_check"));
    await waitUntil(() => mgr.loaded.get("/added")?.call === "security_bprm_check", "replaced policy");
    assert.deepEqual(mgr.ops.slice(before), ["delete /added", "add /added"]);
  });

  test("a deleted object unloads its policy", async () => {
    api.deleteObject(TRACING_POLICIES_PATH, "", "added");
    await waitUntil(() => !mgr.loaded.has("/added"), "unloaded policy");
    assert.ok(mgr.loaded.has("/listed"));
  });

  test("a rejected object is logged with its field path and does not stop the others", async () => {
    const bad = tp("bad", "fd_install");
    bad.spec.kprobes[0].args[0].type = "no-such-type";
    api.addObject(TRACING_POLICIES_PATH, bad);
    api.addObject(TRACING_POLICIES_PATH, tp("after-bad", "fd_install"));
    await waitUntil(() => mgr.loaded.has("/after-bad"), "policy after the rejected one");
    assert.ok(!mgr.loaded.has("/bad"));
    const rejected = lines().find((l) => l.msg === "k8s API: tracing policy rejected" && l.policy === "bad");
    assert.ok(rejected, "rejection logged");
    assert.ok(rejected.issues.some((i: { path: string }) => i.path.startsWith("spec.kprobes[0].args[0].type")), JSON.stringify(rejected.issues));
    // deleting a rejected object is not an error
    api.deleteObject(TRACING_POLICIES_PATH, "", "bad");
    api.deleteObject(TRACING_POLICIES_PATH, "", "after-bad");
    await waitUntil(() => !mgr.loaded.has("/after-bad"), "unloaded");
    assert.equal(watcher.counts.rejected, 1);
  });

  test("a TracingPolicyNamespaced object reaches the manager with its namespace", async () => {
    const o = tp("ns-policy", "fd_install");
    o.kind = "TracingPolicyNamespaced";
    o.metadata.namespace = "shop";
    api.addObject(TRACING_POLICIES_NAMESPACED_PATH, o);
    await waitUntil(() => mgr.loaded.has("shop/ns-policy"), "namespaced policy");
    api.deleteObject(TRACING_POLICIES_NAMESPACED_PATH, "shop", "ns-policy");
    await waitUntil(() => !mgr.loaded.has("shop/ns-policy"), "namespaced policy unloaded");
  });

  test("a watch cut by the server is resumed without reloading the policies", async () => {
    const adds = mgr.ops.filter((o) => o.startsWith("add")).length;
    const watches = api.watchRequests().length;
    api.closeWatches();
    await waitUntil(() => api.watchRequests().length >= watches + 2, "resumed watches");
    api.addObject(TRACING_POLICIES_PATH, tp("after-cut", "fd_install"));
    await waitUntil(() => mgr.loaded.has("/after-cut"), "policy after the cut");
    assert.equal(mgr.ops.filter((o) => o.startsWith("add")).length, adds + 1);
  });

  test("policyDocument keeps name, namespace, labels and annotations, not server fields or status", () => {
    const d = policyDocument({ ...tp("x", "fd_install"), status: { a: 1 } } as never) as any;
    assert.deepEqual(Object.keys(d).sort(), ["apiVersion", "kind", "metadata", "spec"]);
    assert.deepEqual(d.metadata, { name: "x" });
  });
});
