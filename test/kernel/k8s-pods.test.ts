/**
 * Pod identity end to end: the real agent with --enable-k8s-api, pointed (through a
 * kubeconfig file) at a local list/watch server that stands in for the Kubernetes API
 * server (test/helpers/k8s-api.ts). Real processes run in real cgroups named like
 * containerd's container cgroups (cri-containerd-<64 hex>.scope); the fake pods'
 * containerStatuses carry those ids, so the agent must join kernel events (cgroup name →
 * container id) with the watched pods. Checked in the JSON export and in
 * `tetra getevents -o compact`.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT, isExec, isExit, startAgent, tempDir, type JsonEvent, type RunningAgent } from "../helpers/agent";
import { LocalPodApi, podJson, type PodSpec } from "../helpers/k8s-api";
import { detectCgroupMode, trackedHierarchyRoot } from "../../src/sensors/base/cgroup-mode";
import { waitUntil } from "./grpc-helpers";

const TETRA_MAIN = path.join(ROOT, "dist/src/cli/tetra/main.js");
const NODE = `k8s-node-${crypto.randomBytes(3).toString("hex")}`;

/** A cgroup laid out as the kubelet and containerd lay them out (systemd driver names). */
function containerCgroup(podUid: string, id: string): { dir: string; remove: () => void } {
  const root = trackedHierarchyRoot(detectCgroupMode());
  assert.ok(root, "no cgroup hierarchy found");
  const base = path.join(root, `tetragon-test-kubepods-${process.pid}.slice`);
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

/** Runs `/bin/echo <marker>` in the cgroup (a shell moves itself there first). */
function echoIn(dir: string, marker: string): void {
  const r = spawnSync("/bin/sh", ["-c", `echo $$ > ${dir}/cgroup.procs && /bin/echo ${marker}`]);
  assert.equal(r.status, 0, String(r.stderr));
}

/** Repeats an async check (each try makes new processes) until it holds. */
async function retry(cond: () => Promise<boolean>, what: string, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const execOf = (marker: string) => (e: JsonEvent) => isExec(e) && e.process_exec.process.arguments === marker;

describe("pods on events, against a local list/watch server standing in for the Kubernetes API", () => {
  let api: LocalPodApi;
  let agent: RunningAgent;
  const cleanups: Array<() => void> = [];
  const webId = crypto.randomBytes(32).toString("hex");
  const webUid = crypto.randomUUID();
  const web: PodSpec = {
    namespace: "shop", name: "web-7c9d8f6b5d-x2k4q", uid: webUid, node: NODE,
    labels: { app: "web", tier: "front", "pod-template-hash": "7c9d8f6b5d" },
    owner: { kind: "ReplicaSet", name: "web-7c9d8f6b5d" },
    containers: [{ name: "nginx", id: webId, image: "docker.io/library/nginx:1.27" }],
  };
  let webCg: { dir: string; remove: () => void };
  let early: ChildProcess;
  const watched = path.join(tempDir("k8s-watched-"), "w");
  const earlyMarker = `${400 + crypto.randomInt(1000)}.${crypto.randomInt(1e6)}`;

  before(async () => {
    api = await new LocalPodApi().listen();
    api.add(podJson(web));
    api.add(podJson({ ...web, name: "elsewhere", uid: crypto.randomUUID(), node: "other-node", containers: [{ name: "x", id: crypto.randomBytes(32).toString("hex") }] }));
    webCg = containerCgroup(webUid, webId);
    cleanups.push(webCg.remove);
    // a container process that runs before the agent starts: exported from the /proc walk
    early = spawn("/bin/sh", ["-c", `echo $$ > ${webCg.dir}/cgroup.procs && exec /bin/sleep ${earlyMarker}`], { stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 100));
    const dir = tempDir("k8s-pods-");
    const kubeconfig = api.writeKubeconfig(dir);
    fs.mkdirSync(watched);
    fs.writeFileSync(path.join(watched, "f.txt"), "x\n");
    const policy = path.join(dir, "openat.yaml");
    fs.writeFileSync(policy, `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "k8s-openat"
spec:
  kprobes:
  - call: "sys_openat"
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "string"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Prefix"
        values:
        - "${watched}/"
`);
    agent = await startAgent(
      ["--enable-k8s-api", "--k8s-kubeconfig-path", kubeconfig, "--tracing-policy", policy],
      { grpc: true, env: { NODE_NAME: NODE } },
    );
  });

  after(async () => {
    early?.kill("SIGKILL");
    const code = await agent?.stop();
    await api?.close();
    for (const c of cleanups.reverse()) c();
    assert.equal(code, 0, agent?.logs());
  });

  test("the agent lists and watches the pods of its node (field selector spec.nodeName)", () => {
    assert.match(agent.logs(), /k8s API: pods of this node synced/);
    const lists = api.listRequests();
    assert.ok(lists.length >= 1);
    assert.equal(lists[0].fieldSelector, `spec.nodeName=${NODE}`);
  });

  test("a container process found in /proc at start is exported with its pod", async () => {
    const ev = await agent.waitFor(execOf(earlyMarker), "the /proc exec of the early sleep");
    assert.match(ev.process_exec.process.flags, /procFS/);
    assert.equal(ev.process_exec.process.pod?.name, web.name);
    assert.equal(ev.process_exec.process.pod?.container?.name, "nginx");
  });

  test("a process in the pod's container cgroup: process_exec carries pod (namespace, name, container, workload, labels)", async () => {
    const marker = `k8s-${crypto.randomBytes(4).toString("hex")}`;
    // the inner shell is exec'd in the cgroup, so the parent of echo is in the container too
    const r = spawnSync("/bin/sh", ["-c", `echo $$ > ${webCg.dir}/cgroup.procs && exec /bin/sh -c '/bin/echo ${marker}; true'`]);
    assert.equal(r.status, 0, String(r.stderr));
    const ev = await agent.waitFor(execOf(marker), "exec in the container cgroup");
    const p = ev.process_exec.process;
    assert.equal(p.docker, webId.slice(0, 31));
    const pod = p.pod;
    assert.ok(pod, JSON.stringify(p));
    assert.equal(pod.namespace, "shop");
    assert.equal(pod.name, web.name);
    assert.equal(pod.uid, webUid);
    assert.equal(pod.workload, "web");
    assert.equal(pod.workload_kind, "Deployment");
    assert.deepEqual(pod.pod_labels, web.labels);
    assert.equal(pod.container.id, `containerd://${webId}`);
    assert.equal(pod.container.name, "nginx");
    assert.equal(pod.container.image.name, "docker.io/library/nginx:1.27");
    assert.equal(pod.container.start_time, "2026-11-29T09:00:00Z");
    assert.equal(typeof pod.container.pid, "number", "the pid in the container's pid namespace");
    assert.equal(ev.process_exec.parent.pod?.name, web.name, "the parent shell, exec'd in the container, is in the pod too");
    const exit = await agent.waitFor((e) => isExit(e) && e.process_exit.process.exec_id === p.exec_id, "exit");
    assert.equal(exit.process_exit.process.pod?.name, web.name);
    const host = `host-${crypto.randomBytes(4).toString("hex")}`;
    spawnSync("/bin/echo", [host]);
    const hostEv = await agent.waitFor(execOf(host), "host exec");
    assert.equal(hostEv.process_exec.process.pod, undefined);
  });

  test("a kprobe event of a process in the pod carries pod on process and parent", async () => {
    const tag = `kp-${crypto.randomBytes(4).toString("hex")}`;
    const file = path.join(watched, "f.txt");
    const r = spawnSync("/bin/sh", ["-c", `echo $$ > ${webCg.dir}/cgroup.procs && exec /bin/sh -c '/bin/cat ${file} ${tag} 2>/dev/null; true'`]);
    assert.equal(r.status, 0, String(r.stderr));
    const ev = await agent.waitFor(
      (e) => e.process_kprobe?.policy_name === "k8s-openat" && e.process_kprobe.process.arguments === `${file} ${tag}`,
      "the kprobe event of cat",
    );
    const k = ev.process_kprobe;
    assert.equal(k.args[1].string_arg, file);
    assert.equal(k.process.pod?.name, web.name);
    assert.equal(k.process.pod?.namespace, "shop");
    assert.equal(k.process.pod?.container?.id, `containerd://${webId}`);
    assert.equal(k.parent.pod?.name, web.name);
  });

  test("tetra getevents -o compact --namespaces shows namespace/pod, and only the pod's events", async () => {
    const live: ChildProcess = spawn(process.execPath, [TETRA_MAIN, "getevents", "-o", "compact", "--namespaces", "shop"], {
      env: { ...process.env, TETRAGON_RUN_DIR: agent.runDir }, stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    live.stdout!.on("data", (d) => (out += d));
    live.stderr!.on("data", (d) => (err += d));
    try {
      const tag = `c${crypto.randomBytes(4).toString("hex")}`;
      let i = 0;
      // until one echo's exec and exit are both shown: an echo that started before the stream
      // was subscribed shows only its exit
      const both = () => [...out.matchAll(new RegExp(`🚀 process shop/${web.name} /bin/echo (${tag}-\\d+)\\n`, "g"))]
        .some((m) => out.includes(`💥 exit    shop/${web.name} /bin/echo ${m[1]} `));
      await waitUntil(() => {
        spawnSync("/bin/echo", [`host-${tag}`]);
        echoIn(webCg.dir, `${tag}-${i++}`);
        return both();
      }, `tetra's compact output (${err})`);
      assert.ok(both(), out);
      assert.ok(!out.includes(`host-${tag}`), "host processes are filtered out by --namespaces");
      assert.ok(!out.includes(` ${NODE} `), "no line has the node name as its source");
    } finally {
      const exited = new Promise((r) => live.on("exit", r));
      live.kill("SIGINT");
      await exited;
    }
  });

  test("a pod ADDED after its process started is on the process's later events", async () => {
    const id = crypto.randomBytes(32).toString("hex");
    const podUid = crypto.randomUUID();
    const cg = containerCgroup(podUid, id);
    cleanups.push(cg.remove);
    const marker = `${300 + crypto.randomInt(1000)}.${crypto.randomInt(1e6)}`;
    const sleeper = spawn("/bin/sh", ["-c", `echo $$ > ${cg.dir}/cgroup.procs && exec /bin/sleep ${marker}`], { stdio: "ignore" });
    const ev = await agent.waitFor(execOf(marker), "exec of sleep before its pod exists");
    assert.equal(ev.process_exec.process.pod, undefined, "no pod yet");
    assert.equal(ev.process_exec.process.docker, id.slice(0, 31));
    const watchesBefore = api.watchRequests().length;
    assert.ok(watchesBefore >= 1);
    api.add(podJson({
      namespace: "jobs", name: "backup-29412345-q8x7z", uid: podUid, node: NODE, labels: { job: "backup" },
      owner: { kind: "Job", name: "backup-29412345" }, containers: [{ name: "backup", id }],
    }));
    // the watch delivers the pod; then the process exits
    await new Promise((r) => setTimeout(r, 300));
    sleeper.kill("SIGKILL");
    const exit = await agent.waitFor((e) => isExit(e) && e.process_exit.process.exec_id === ev.process_exec.process.exec_id, "exit of sleep");
    const pod = exit.process_exit.process.pod;
    assert.ok(pod, JSON.stringify(exit.process_exit.process));
    assert.equal(pod.namespace, "jobs");
    assert.equal(pod.workload, "backup");
    assert.equal(pod.workload_kind, "CronJob");
    assert.equal(exit.process_exit.signal, "SIGKILL");
  });

  test("a pod DELETED from the watch: new processes in its cgroup carry no pod", async () => {
    api.delete("shop", web.name);
    // each try is a new process; the watch event reaches the agent within the retries
    let last: JsonEvent | undefined;
    await retry(async () => {
      const marker = `del-${crypto.randomBytes(4).toString("hex")}`;
      echoIn(webCg.dir, marker);
      last = await agent.waitFor(execOf(marker), "exec after the delete");
      return last.process_exec.process.pod === undefined;
    }, "an exec without pod after the DELETED event");
    assert.equal(last!.process_exec.process.docker, webId.slice(0, 31), "still in the container cgroup");
    // re-created under the same name with a new uid and container: new processes get the new pod
    const newId = crypto.randomBytes(32).toString("hex");
    const newUid = crypto.randomUUID();
    const cg = containerCgroup(newUid, newId);
    cleanups.push(cg.remove);
    api.add(podJson({ ...web, uid: newUid, containers: [{ name: "nginx", id: newId }] }));
    let fresh: JsonEvent | undefined;
    await retry(async () => {
      const marker = `new-${crypto.randomBytes(4).toString("hex")}`;
      echoIn(cg.dir, marker);
      fresh = await agent.waitFor(execOf(marker), "exec in the re-created pod");
      return fresh.process_exec.process.pod !== undefined;
    }, "an exec with the re-created pod");
    assert.equal(fresh!.process_exec.process.pod.uid, newUid);
    assert.equal(fresh!.process_exec.process.pod.container.id, `containerd://${newId}`);
  });
});

describe("--enable-k8s-api without a reachable API server", () => {
  test("the agent logs the error, starts, and exports events without pods", async () => {
    const api = await new LocalPodApi().listen();
    const dir = tempDir("k8s-down-");
    const kubeconfig = api.writeKubeconfig(dir);
    await api.close(); // nothing listens on its port any more
    const agent = await startAgent(["--enable-k8s-api", "--k8s-kubeconfig-path", kubeconfig], { env: { NODE_NAME: NODE } });
    try {
      assert.match(agent.logs(), /k8s API: pod list\/watch failed/);
      const marker = `down-${crypto.randomBytes(4).toString("hex")}`;
      spawnSync("/bin/echo", [marker]);
      const ev = await agent.waitFor(execOf(marker), "exec");
      assert.equal(ev.process_exec.process.pod, undefined);
    } finally {
      assert.equal(await agent.stop(), 0, agent.logs());
    }
    const bad = await startAgent(["--enable-k8s-api", "--k8s-kubeconfig-path", path.join(dir, "missing")]);
    try {
      assert.match(bad.logs(), /k8s API: cannot start the pod watcher/);
    } finally {
      assert.equal(await bad.stop(), 0, bad.logs());
    }
  });
});
