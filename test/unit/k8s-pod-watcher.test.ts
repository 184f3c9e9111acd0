/**
 * Pod identity (--enable-k8s-api): the pod watcher against a local list/watch server that
 * stands in for the Kubernetes API server (test/helpers/k8s-api.ts: real HTTP, the
 * list/watch protocol, real-looking Pod objects), the workload heuristics, the process
 * cache attaching pods to event processes, and the GetEvents filters and compact output
 * on events that carry those pods.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { FilterSchema, GetEventsResponseSchema, type GetEventsResponse } from "../../src/api/gen/tetragon/events_pb";
import { ProcessSchema, type Process } from "../../src/api/gen/tetragon/tetragon_pb";
import { PodWatcher, k8sNodeName } from "../../src/k8s/pod-watcher";
import { PodIndex, maybeExecProbe, workloadOf, stripRuntime, type K8sPod } from "../../src/k8s/pod-index";
import { ProcessCache, type CachedProcess } from "../../src/process/cache";
import { dockerField } from "../../src/process/container";
import { compileFilter } from "../../src/filters";
import { eventToCompact } from "../../src/encode/compact";
import { encodeEventJson } from "../../src/encode/json";
import { newColorer } from "../../src/encode/color";
import { LocalPodApi, podJson, type PodSpec } from "../helpers/k8s-api";

const NODE = "node-a";
const hex = () => crypto.randomBytes(32).toString("hex");
const uid = () => crypto.randomUUID();

function memLogger(): { log: pino.Logger; lines: () => string[] } {
  const lines: string[] = [];
  const log = pino({ level: "debug" }, { write: (s: string) => void lines.push(s) });
  return { log, lines: () => lines };
}

async function waitUntil(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "k8s-pods-"));
}

function web(id: string, podUid = uid(), extra: Partial<PodSpec> = {}): PodSpec {
  return {
    namespace: "shop", name: "web-7c9d8f6b5d-x2k4q", uid: podUid, node: NODE,
    labels: { app: "web", tier: "front", "pod-template-hash": "7c9d8f6b5d" },
    owner: { kind: "ReplicaSet", name: "web-7c9d8f6b5d" },
    containers: [{ name: "nginx", id, image: "docker.io/library/nginx:1.27" }],
    ...extra,
  };
}

describe("pod watcher against a local list/watch server", () => {
  let api: LocalPodApi;
  let dir: string;
  let kubeconfig: string;
  const mainId = hex();
  const initId = hex();
  const otherNodeId = hex();
  let watcher: PodWatcher;
  const logs = memLogger();

  before(async () => {
    api = await new LocalPodApi().listen();
    dir = tmp();
    kubeconfig = api.writeKubeconfig(dir);
    api.add(podJson({
      namespace: "shop", name: "db-0", uid: uid(), node: NODE, labels: { app: "db" },
      owner: { kind: "StatefulSet", name: "db" },
      containers: [{ name: "postgres", id: mainId, image: "docker.io/library/postgres:17" }, { name: "migrate", id: initId, init: true }],
    }));
    api.add(podJson({ namespace: "shop", name: "cache-abcde", uid: uid(), node: "node-b", containers: [{ name: "redis", id: otherNodeId }] }));
    watcher = new PodWatcher({ kubeconfigPath: kubeconfig, nodeName: NODE, log: logs.log, retryMs: 50 });
    await watcher.start();
  });

  after(async () => {
    await watcher.stop();
    await api.close();
  });

  test("against a local list/watch server: the initial list is indexed, with init containers, and only this node's pods", () => {
    assert.equal(watcher.isSynced, true, logs.lines().join(""));
    const rec = watcher.index.lookup(dockerField(mainId));
    assert.ok(rec, "main container indexed");
    const pod = rec.pod;
    assert.equal(pod.namespace, "shop");
    assert.equal(pod.name, "db-0");
    assert.equal(pod.workload, "db");
    assert.equal(pod.workloadKind, "StatefulSet");
    assert.deepEqual(pod.podLabels, { app: "db" });
    assert.equal(pod.container?.id, `containerd://${mainId}`);
    assert.equal(pod.container?.name, "postgres");
    assert.equal(pod.container?.image?.name, "docker.io/library/postgres:17");
    assert.match(pod.container?.image?.id ?? "", /^docker\.io\/library\/busybox@sha256:/);
    assert.equal(pod.container?.startTime?.seconds, BigInt(Date.parse("2026-11-29T09:00:00Z") / 1000));
    assert.equal(pod.container?.pid, undefined);
    assert.equal(watcher.index.lookup(mainId)?.pod.name, "db-0", "the full 64-hex id finds it too");
    assert.equal(watcher.index.lookup(dockerField(initId))?.pod.container?.name, "migrate");
    assert.equal(watcher.index.lookup(dockerField(otherNodeId)), undefined, "pods of other nodes are not listed");
  });

  test("against a local list/watch server: list and watch carry the field selector with the node name", async () => {
    await waitUntil(() => api.watchRequests().length >= 1, "the watch request");
    const lists = api.listRequests();
    const watches = api.watchRequests();
    assert.ok(lists.length >= 1 && watches.length >= 1);
    for (const r of [...lists, ...watches]) assert.equal(r.fieldSelector, `spec.nodeName=${NODE}`, r.url);
    assert.equal(watches[0].resourceVersion, "102", "the watch starts at the list's resourceVersion");
  });

  test("against a local list/watch server: an ADDED pod is indexed", async () => {
    const id = hex();
    api.add(podJson(web(id)));
    await waitUntil(() => watcher.index.lookup(dockerField(id)) !== undefined, "ADDED pod indexed");
    const pod = watcher.index.lookup(id)!.pod;
    assert.equal(pod.name, "web-7c9d8f6b5d-x2k4q");
    assert.equal(pod.workload, "web");
    assert.equal(pod.workloadKind, "Deployment");
    assert.equal(pod.podLabels.tier, "front");
  });

  test("against a local list/watch server: MODIFIED with a restarted container moves the pod to the new id", async () => {
    const oldId = hex();
    const newId = hex();
    const podUid = uid();
    const spec = web(oldId, podUid, { name: "api-5f6b7c8d9-abcde", labels: { app: "api", "pod-template-hash": "5f6b7c8d9" }, owner: { kind: "ReplicaSet", name: "api-5f6b7c8d9" } });
    api.add(podJson(spec));
    await waitUntil(() => watcher.index.lookup(oldId) !== undefined, "pod indexed");
    const before = watcher.index.lookup(oldId);
    api.modify(podJson({ ...spec, labels: { ...spec.labels, version: "2" }, containers: [{ name: "nginx", id: newId }] }));
    await waitUntil(() => watcher.index.lookup(newId) !== undefined, "restarted container indexed");
    assert.equal(watcher.index.lookup(oldId), undefined, "the old container id is gone");
    const after = watcher.index.lookup(newId)!;
    assert.notEqual(after, before);
    assert.equal(after.pod.uid, podUid);
    assert.equal(after.pod.podLabels.version, "2");
  });

  test("against a local list/watch server: DELETED removes the pod's containers", async () => {
    const id = hex();
    api.add(podJson({ namespace: "batch", name: "once", uid: uid(), node: NODE, containers: [{ name: "c", id }] }));
    await waitUntil(() => watcher.index.lookup(id) !== undefined, "pod indexed");
    api.delete("batch", "once");
    await waitUntil(() => watcher.index.lookup(id) === undefined, "pod removed");
  });

  test("against a local list/watch server: a pod deleted and re-created under the same name is the new pod (uid, containers)", async () => {
    const id1 = hex();
    const id2 = hex();
    const uid1 = uid();
    const uid2 = uid();
    const spec: PodSpec = { namespace: "shop", name: "worker", uid: uid1, node: NODE, labels: { gen: "1" }, containers: [{ name: "w", id: id1 }] };
    api.add(podJson(spec));
    await waitUntil(() => watcher.index.lookup(id1) !== undefined, "first pod indexed");
    api.delete("shop", "worker");
    api.add(podJson({ ...spec, uid: uid2, labels: { gen: "2" }, containers: [{ name: "w", id: id2 }] }));
    await waitUntil(() => watcher.index.lookup(id2) !== undefined, "second pod indexed");
    assert.equal(watcher.index.lookup(id1), undefined);
    const p = watcher.index.lookup(id2)!.pod;
    assert.equal(p.uid, uid2);
    assert.equal(p.podLabels.gen, "2");
    assert.equal(p.workload, "worker");
    assert.equal(p.workloadKind, "Pod");
  });

  test("against a local list/watch server: a closed watch is resumed from its resourceVersion without a new list", async () => {
    const lists = api.listRequests().length;
    const watches = api.watchRequests().length;
    api.closeWatches();
    await waitUntil(() => api.watchRequests().length > watches && api.openWatches > 0, "watch resumed");
    const w = api.watchRequests().at(-1)!;
    assert.notEqual(w.resourceVersion, "", "resumed from a resourceVersion");
    const id = hex();
    api.add(podJson({ namespace: "shop", name: "late", uid: uid(), node: NODE, containers: [{ name: "c", id }] }));
    await waitUntil(() => watcher.index.lookup(id) !== undefined, "pod added after the resume");
    assert.equal(api.listRequests().length, lists, "no re-list");
  });

  test("against a local list/watch server: 410 Gone makes the informer list again and catch up on missed changes", async () => {
    const gone = hex();
    const fresh = hex();
    api.add(podJson({ namespace: "shop", name: "gone", uid: uid(), node: NODE, containers: [{ name: "c", id: gone }] }));
    await waitUntil(() => watcher.index.lookup(gone) !== undefined, "pod indexed");
    const lists = api.listRequests().length;
    // changes the watch never delivers, then the history is compacted and the watch cut
    api.changeSilentlyAndExpire(() => {
      api.delete("shop", "gone");
      api.add(podJson({ namespace: "shop", name: "fresh", uid: uid(), node: NODE, containers: [{ name: "c", id: fresh }] }));
    });
    api.closeWatches();
    await waitUntil(() => watcher.index.lookup(fresh) !== undefined, "re-listed pod indexed");
    assert.equal(watcher.index.lookup(gone), undefined, "a pod missing from the new list is removed");
    assert.ok(api.listRequests().length > lists, "listed again");
    assert.equal(watcher.index.lookup(mainId)?.pod.name, "db-0", "pods in both lists stay");
  });
});

describe("pod watcher errors", () => {
  test("against a local list/watch server that is not up yet: the error is logged, retried, and pods arrive once it is", async () => {
    const api = new LocalPodApi();
    // a free port: listen, note it, close
    await api.listen();
    const port = api.port;
    await new Promise<void>((r) => api.server.close(() => r()));
    const dir = tmp();
    const kubeconfig = api.writeKubeconfig(dir);
    const logs = memLogger();
    const watcher = new PodWatcher({ kubeconfigPath: kubeconfig, nodeName: NODE, log: logs.log, retryMs: 100, maxRetryMs: 200 });
    const t0 = Date.now();
    await watcher.start();
    assert.ok(Date.now() - t0 < 5000, "start does not wait for an unreachable server");
    assert.equal(watcher.isSynced, false);
    const warn = logs.lines().map((l) => JSON.parse(l)).find((l) => /pod list\/watch failed/.test(l.msg));
    assert.ok(warn, logs.lines().join(""));
    assert.equal(warn.cause, "ECONNREFUSED");
    const id = hex();
    const up = new LocalPodApi();
    up.add(podJson({ namespace: "ns", name: "p", uid: uid(), node: NODE, containers: [{ name: "c", id }] }));
    await up.listen(port);
    try {
      await waitUntil(() => watcher.index.lookup(id) !== undefined, "pod indexed after the server came up", 8000);
      assert.equal(watcher.isSynced, true);
      await waitUntil(() => /pods of this node synced/.test(logs.lines().join("")), "synced logged");
    } finally {
      await watcher.stop();
      await up.close();
    }
  });

  test("against a local list/watch server answering 403: the status is logged, and pods arrive once access is granted", async () => {
    const api = await new LocalPodApi().listen();
    api.failStatus = 403;
    const id = hex();
    api.add(podJson({ namespace: "ns", name: "p", uid: uid(), node: NODE, containers: [{ name: "c", id }] }));
    const logs = memLogger();
    const watcher = new PodWatcher({ kubeconfigPath: api.writeKubeconfig(tmp()), nodeName: NODE, log: logs.log, retryMs: 50, maxRetryMs: 100 });
    try {
      await watcher.start();
      assert.equal(watcher.isSynced, false);
      const warn = logs.lines().map((l) => JSON.parse(l)).find((l) => /pod list\/watch failed/.test(l.msg));
      assert.ok(warn, logs.lines().join(""));
      assert.equal(warn.status, 403);
      assert.match(warn.err, /403: pods is forbidden/, "the Status message of the API server");
      api.failStatus = 0;
      await waitUntil(() => watcher.index.lookup(id) !== undefined, "pod indexed after access was granted");
    } finally {
      await watcher.stop();
      await api.close();
    }
  });

  test("a kubeconfig that cannot be loaded makes start() throw (the agent logs it and runs on)", async () => {
    const dir = tmp();
    const missing = path.join(dir, "nope");
    await assert.rejects(new PodWatcher({ kubeconfigPath: missing, nodeName: NODE, log: memLogger().log }).start());
    const bad = path.join(dir, "bad");
    fs.writeFileSync(bad, "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\n");
    await assert.rejects(new PodWatcher({ kubeconfigPath: bad, nodeName: NODE, log: memLogger().log }).start(), /no current cluster/);
  });

  test("the node whose pods are watched: NODE_NAME, else HUBBLE_NODE_NAME, else the host name", () => {
    assert.equal(k8sNodeName({ NODE_NAME: "a", HUBBLE_NODE_NAME: "b" }, "h"), "a");
    assert.equal(k8sNodeName({ HUBBLE_NODE_NAME: "b" }, "h"), "b");
    assert.equal(k8sNodeName({}, "h"), "h");
  });
});

describe("workload of a pod (Tetragon's heuristics)", () => {
  const pod = (name: string, owner?: PodSpec["owner"], labels: Record<string, string> = {}) =>
    podJson({ name, uid: uid(), node: NODE, owner, labels, containers: [] }) as K8sPod;

  test("ReplicaSet with the pod-template-hash suffix → Deployment", () => {
    assert.deepEqual(workloadOf(pod("web-7c9d8f6b5d-x2k4q", { kind: "ReplicaSet", name: "web-7c9d8f6b5d" }, { "pod-template-hash": "7c9d8f6b5d" })), { name: "web", kind: "Deployment" });
  });
  test("ReplicaSet without the hash label stays a ReplicaSet", () => {
    assert.deepEqual(workloadOf(pod("rs-abcde", { kind: "ReplicaSet", name: "rs" })), { name: "rs", kind: "ReplicaSet" });
  });
  test("DaemonSet and StatefulSet: the owner", () => {
    assert.deepEqual(workloadOf(pod("cilium-xk2p9", { kind: "DaemonSet", name: "cilium" })), { name: "cilium", kind: "DaemonSet" });
    assert.deepEqual(workloadOf(pod("db-0", { kind: "StatefulSet", name: "db" })), { name: "db", kind: "StatefulSet" });
  });
  test("Job, and a CronJob's Job (timestamp suffix trimmed)", () => {
    assert.deepEqual(workloadOf(pod("migrate-q8x7z", { kind: "Job", name: "migrate" })), { name: "migrate", kind: "Job" });
    assert.deepEqual(workloadOf(pod("backup-29412345-q8x7z", { kind: "Job", name: "backup-29412345" })), { name: "backup", kind: "CronJob" });
  });
  test("a bare pod is its own workload", () => {
    assert.deepEqual(workloadOf(pod("debug")), { name: "debug", kind: "Pod" });
  });
  test("runtime prefixes are stripped from container ids", () => {
    assert.equal(stripRuntime("containerd://abc"), "abc");
    assert.equal(stripRuntime("docker://abc"), "abc");
    assert.equal(stripRuntime("cri-o://abc"), "abc");
  });
});

describe("pods on event processes", () => {
  const id = hex();
  const podUid = uid();
  const spec = web(id, podUid);

  function entry(docker: string, nspid?: number, execId = `e-${crypto.randomInt(1e9)}`): CachedProcess {
    const process = create(ProcessSchema, { execId, pid: 4000, binary: "/usr/sbin/nginx", arguments: "-g daemon off;", docker });
    return { process, ktime: 1n, capEffective: 0n, refcnt: 1, deletePending: false, exited: false, nspid };
  }

  test("the cache attaches the container's pod with the process's pid in the container", () => {
    const index = new PodIndex();
    index.upsert(podJson(spec) as K8sPod);
    const cache = new ProcessCache(16);
    cache.pods = index;
    const e = entry(dockerField(id), 7);
    cache.add(e);
    const p = cache.eventProcess(e);
    assert.equal(p.pod?.name, spec.name);
    assert.equal(p.pod?.container?.pid, 7);
    assert.equal(p.pod?.container?.id, `containerd://${id}`);
    assert.equal(e.process.pod, undefined, "the cached Process is not changed");
    assert.equal(cache.eventProcess(e).pod, p.pod, "the same Pod message for every event of the process");
    const host = entry("");
    assert.equal(cache.eventProcess(host).pod, undefined);
  });

  test("a pod listed after the process started is attributed at the next event; a deleted pod stays on its processes, not on new ones", () => {
    const index = new PodIndex();
    const cache = new ProcessCache(16);
    cache.pods = index;
    const e = entry(dockerField(id), 1);
    assert.equal(cache.eventProcess(e).pod, undefined);
    index.upsert(podJson(spec) as K8sPod);
    assert.equal(cache.eventProcess(e).pod?.uid, podUid);
    index.upsert(podJson({ ...spec, labels: { ...spec.labels, rollout: "b" } }) as K8sPod);
    assert.equal(cache.eventProcess(e).pod?.podLabels.rollout, "b", "updates are seen");
    index.remove(podJson(spec) as K8sPod);
    assert.equal(cache.eventProcess(e).pod?.uid, podUid, "an existing process keeps its pod (its exit comes after)");
    assert.equal(cache.eventProcess(entry(dockerField(id), 2)).pod, undefined, "a new process in that cgroup has none");
  });

  function execEvent(p: Process): GetEventsResponse {
    return create(GetEventsResponseSchema, { nodeName: NODE, event: { case: "processExec", value: { process: p } } });
  }

  test("GetEvents filters select on the pod field of events built from the index", () => {
    const index = new PodIndex();
    index.upsert(podJson(spec) as K8sPod);
    const cache = new ProcessCache(16);
    cache.pods = index;
    const inPod = execEvent(cache.eventProcess(entry(dockerField(id), 1)));
    const onHost = execEvent(cache.eventProcess(entry("")));
    const otherId = hex();
    const other = execEvent(cache.eventProcess(entry(dockerField(otherId))));
    const m = (f: MessageInitShape<typeof FilterSchema>, ev: GetEventsResponse) => compileFilter(create(FilterSchema, f))(ev);
    assert.equal(m({ namespace: ["shop"] }, inPod), true);
    assert.equal(m({ namespace: ["kube-system"] }, inPod), false);
    assert.equal(m({ namespace: [""] }, onHost), true, "\"\" selects host processes");
    assert.equal(m({ namespace: [""] }, inPod), false);
    assert.equal(m({ namespace: [""] }, other), true, "a container of no known pod is not in a namespace");
    assert.equal(m({ namespaceRegex: ["^sh"] }, inPod), true);
    assert.equal(m({ namespaceRegex: ["^sh"] }, onHost), false);
    assert.equal(m({ podRegex: ["^web-7c9d"] }, inPod), true);
    assert.equal(m({ podRegex: ["^db-"] }, inPod), false);
    assert.equal(m({ labels: ["app=web,tier in (front,back)"] }, inPod), true);
    assert.equal(m({ labels: ["app=db"] }, inPod), false);
    assert.equal(m({ labels: ["app"] }, onHost), false);
    assert.equal(m({ containerId: [`^containerd://${id.slice(0, 12)}`] }, inPod), true, "pod.container.id");
    assert.equal(m({ containerId: [`^${id.slice(0, 12)}`] }, inPod), true, "docker");
    assert.equal(m({ containerId: [`^${otherId.slice(0, 12)}`] }, inPod), false);
    assert.equal(m({ containerNameRegex: ["^nginx$"] }, inPod), true);
  });

  test("maybe_exec_probe: processes running a probe's command (Tetragon's heuristic), and the health_check filter", () => {
    assert.equal(maybeExecProbe("/bin/cat", "/tmp/healthy", ["cat", "/tmp/healthy"]), true, "relative probe: base name");
    assert.equal(maybeExecProbe("/usr/bin/cat", "/tmp/healthy", ["/bin/cat", "/tmp/healthy"]), false, "absolute probe: full path");
    assert.equal(maybeExecProbe("/bin/cat", "/tmp/other", ["cat", "/tmp/healthy"]), false);
    assert.equal(maybeExecProbe("/bin/sh", '-c "pg_isready -U app"', ["sh", "-c", "pg_isready -U app"]), true, "arguments joined as process arguments");
    assert.equal(maybeExecProbe("/health/ping.sh", "/health/ping.sh 5", ["/health/ping.sh", "5"]), true, "script run through its shebang");
    assert.equal(maybeExecProbe("/bin/cat", "", []), false);

    const probeId = hex();
    const index = new PodIndex();
    index.upsert(podJson({
      namespace: "shop", name: "db-0", uid: uid(), node: NODE,
      containers: [{ name: "pg", id: probeId, liveness: ["pg_isready", "-U", "app"], readiness: ["cat", "/tmp/ready"] }],
    }) as K8sPod);
    const cache = new ProcessCache(16);
    cache.pods = index;
    const proc = (binary: string, args: string) => {
      const e = entry(dockerField(probeId), 3);
      e.process.binary = binary;
      e.process.arguments = args;
      return cache.eventProcess(e);
    };
    const live = proc("/usr/bin/pg_isready", "-U app");
    const ready = proc("/bin/cat", "/tmp/ready");
    const server = proc("/usr/lib/postgresql/17/bin/postgres", "-D /var/lib/postgresql/data");
    assert.equal(live.pod?.container?.maybeExecProbe, true);
    assert.equal(ready.pod?.container?.maybeExecProbe, true);
    assert.equal(server.pod?.container?.maybeExecProbe, false);
    const hc = (want: boolean, p: Process) => compileFilter(create(FilterSchema, { healthCheck: want }))(execEvent(p));
    assert.equal(hc(true, live), true);
    assert.equal(hc(false, live), false);
    assert.equal(hc(true, server), false);
    assert.equal(hc(false, server), true);
    assert.equal(JSON.parse(encodeEventJson(execEvent(live))).process_exec.process.pod.container.maybe_exec_probe, true);
  });

  test("compact output shows namespace/pod, the JSON export the pod fields", () => {
    const index = new PodIndex();
    index.upsert(podJson(spec) as K8sPod);
    const cache = new ProcessCache(16);
    cache.pods = index;
    const ev = execEvent(cache.eventProcess(entry(dockerField(id), 1)));
    assert.equal(eventToCompact(ev, newColorer("never")), "🚀 process shop/web-7c9d8f6b5d-x2k4q /usr/sbin/nginx -g daemon off;");
    const host = execEvent(cache.eventProcess(entry("")));
    assert.equal(eventToCompact(host, newColorer("never")), `🚀 process ${NODE} /usr/sbin/nginx -g daemon off;`);
    const json = JSON.parse(encodeEventJson(ev));
    const pod = json.process_exec.process.pod;
    assert.equal(pod.namespace, "shop");
    assert.equal(pod.name, "web-7c9d8f6b5d-x2k4q");
    assert.equal(pod.uid, podUid);
    assert.equal(pod.workload, "web");
    assert.equal(pod.workload_kind, "Deployment");
    assert.deepEqual(pod.pod_labels, spec.labels);
    assert.equal(pod.container.id, `containerd://${id}`);
    assert.equal(pod.container.name, "nginx");
    assert.equal(pod.container.image.name, "docker.io/library/nginx:1.27");
    assert.equal(pod.container.start_time, "2026-11-29T09:00:00Z");
    assert.equal(pod.container.pid, 1);
  });
});
