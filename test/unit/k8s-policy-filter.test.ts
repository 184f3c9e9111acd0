/**
 * Policy filters, the user-space half: label selector semantics, which containers a filter
 * matches (namespace, podSelector, containerSelector on the container name), finding a
 * container's cgroup id by its directory name (inode number), the sync that keeps the
 * filter's cgroup set equal to the matching containers' cgroups, and the compiler turning
 * TracingPolicyNamespaced / podSelector / containerSelector into a filter.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import pino from "pino";
import { CgroupFinder, PolicyFilterSync, filterMatches, labelSelectorMatches } from "../../src/k8s/policy-filter";
import { PodIndex, type K8sPod } from "../../src/k8s/pod-index";
import type { PolicyFilterSpec } from "../../src/policy/compiler/plan";
import { podJson } from "../helpers/k8s-api";
import { tempDir } from "../helpers/agent";
import { parsePolicy } from "../../src/policy";
import { compilePolicy, type CompileEnv } from "../../src/policy/compiler/hooks";

const hex = () => crypto.randomBytes(32).toString("hex");

describe("policy filters (user space)", () => {
  test("label selectors: matchLabels and In/NotIn/Exists/DoesNotExist, {} and null match all", () => {
    const l = { app: "web", tier: "front" };
    assert.ok(labelSelectorMatches(undefined, l));
    assert.ok(labelSelectorMatches({}, l));
    assert.ok(labelSelectorMatches({ matchLabels: { app: "web" } }, l));
    assert.ok(!labelSelectorMatches({ matchLabels: { app: "db" } }, l));
    assert.ok(labelSelectorMatches({ matchExpressions: [{ key: "app", operator: "In", values: ["db", "web"] }] }, l));
    assert.ok(!labelSelectorMatches({ matchExpressions: [{ key: "app", operator: "NotIn", values: ["web"] }] }, l));
    assert.ok(labelSelectorMatches({ matchExpressions: [{ key: "zone", operator: "NotIn", values: ["a"] }] }, l));
    assert.ok(labelSelectorMatches({ matchExpressions: [{ key: "tier", operator: "Exists" }] }, l));
    assert.ok(!labelSelectorMatches({ matchExpressions: [{ key: "tier", operator: "DoesNotExist" }] }, l));
    assert.ok(!labelSelectorMatches({ matchLabels: { app: "web" }, matchExpressions: [{ key: "x", operator: "Exists" }] }, l));
  });

  test("a filter matches by namespace, pod labels and container name", () => {
    const idx = new PodIndex();
    const a = hex();
    const b = hex();
    idx.upsert(podJson({ namespace: "shop", name: "web", uid: "u1", node: "n", labels: { app: "web" }, containers: [{ name: "nginx", id: a }, { name: "side", id: b }] }) as K8sPod);
    const cs = [...idx.containers()];
    const names = (f: PolicyFilterSpec) => cs.filter((c) => filterMatches(f, c)).map((c) => c.pod.container?.name).sort();
    assert.deepEqual(names({ namespace: "shop" }), ["nginx", "side"]);
    assert.deepEqual(names({ namespace: "other" }), []);
    assert.deepEqual(names({ podSelector: { matchLabels: { app: "web" } } }), ["nginx", "side"]);
    assert.deepEqual(names({ podSelector: { matchLabels: { app: "db" } } }), []);
    assert.deepEqual(names({ containerSelector: { matchLabels: { name: "side" } } }), ["side"]);
    assert.deepEqual(names({ namespace: "shop", podSelector: {}, containerSelector: { matchExpressions: [{ key: "name", operator: "NotIn", values: ["side"] }] } }), ["nginx"]);
  });

  test("CgroupFinder: a container's cgroup id is the inode of the directory named after it, re-found when it goes", () => {
    const root = tempDir("pf-cg-");
    const id = hex();
    const dir = path.join(root, "kubepods.slice", "kubepods-pod1.slice", `cri-containerd-${id}.scope`);
    fs.mkdirSync(dir, { recursive: true });
    const f = new CgroupFinder(root, 12, 0);
    const got = f.resolve([id, hex()]);
    assert.equal(got.size, 1);
    assert.equal(got.get(id), fs.statSync(dir, { bigint: true }).ino);
    fs.rmdirSync(dir);
    assert.equal(f.resolve([id]).size, 0);
    fs.mkdirSync(path.join(root, `docker-${id}.scope`));
    assert.equal(f.resolve([id]).get(id), fs.statSync(path.join(root, `docker-${id}.scope`), { bigint: true }).ino);
  });

  test("the sync sets each filter's cgroups to those of its matching containers", () => {
    const root = tempDir("pf-sync-");
    const idx = new PodIndex();
    const [a, b] = [hex(), hex()];
    for (const id of [a, b]) fs.mkdirSync(path.join(root, `cri-containerd-${id}.scope`));
    const ino = (id: string) => fs.statSync(path.join(root, `cri-containerd-${id}.scope`), { bigint: true }).ino;
    idx.upsert(podJson({ namespace: "shop", name: "a", uid: "ua", node: "n", labels: { app: "web" }, containers: [{ name: "c", id: a }] }) as K8sPod);
    idx.upsert(podJson({ namespace: "shop", name: "b", uid: "ub", node: "n", labels: { app: "db" }, containers: [{ name: "c", id: b }] }) as K8sPod);
    const sets = new Map<number, Set<bigint>>();
    const sensor = {
      policyFilters: () => [
        { id: 1, policy: "ns", filter: { namespace: "shop" }, cgroups: sets.get(1) ?? new Set<bigint>() },
        { id: 2, policy: "web", filter: { podSelector: { matchLabels: { app: "web" } } }, cgroups: sets.get(2) ?? new Set<bigint>() },
      ],
      setFilterCgroups: (id: number, ids: ReadonlySet<bigint>) => void sets.set(id, new Set(ids)),
    };
    const sync = new PolicyFilterSync({ sensor, containers: () => idx.containers(), cgroupRoot: root, log: pino({ level: "silent" }) });
    sync.sync();
    assert.deepEqual(sets.get(1), new Set([ino(a), ino(b)]));
    assert.deepEqual(sets.get(2), new Set([ino(a)]));
    idx.upsert(podJson({ namespace: "shop", name: "a", uid: "ua", node: "n", labels: { app: "api" }, containers: [{ name: "c", id: a }] }) as K8sPod);
    sync.sync();
    assert.deepEqual(sets.get(2), new Set());
  });
});

describe("the compiler turns namespaces and selectors into a policy filter", () => {
  const env = (): CompileEnv => ({
    kprobes: true, fentry: false, lsm: false, substring: false, rawTracepointCookies: true, hostNs: () => 0,
    rawTracepointArgs: () => undefined, cgroupV2: true, fanotify: true, functionProto: () => undefined,
    kprobeTargets: () => new Set(["__x64_sys_openat", "fd_install"]), protectedBinaries: [],
  });
  const spec = `  kprobes:\n  - call: fd_install\n    syscall: false\n    args:\n    - index: 0\n      type: int\n`;
  test("TracingPolicyNamespaced: the namespace; podSelector and containerSelector: as given; none: no filter", () => {
    const ns = compilePolicy(parsePolicy(`apiVersion: cilium.io/v1alpha1\nkind: TracingPolicyNamespaced\nmetadata:\n  name: p\n  namespace: shop\nspec:\n${spec}`), env());
    assert.deepEqual(ns.filter, { namespace: "shop" });
    const sel = compilePolicy(parsePolicy(`apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: p\nspec:\n  podSelector:\n    matchLabels:\n      app: web\n  containerSelector:\n    matchLabels:\n      name: nginx\n${spec}`), env());
    assert.deepEqual(sel.filter, { podSelector: { matchLabels: { app: "web" } }, containerSelector: { matchLabels: { name: "nginx" } } });
    const plain = compilePolicy(parsePolicy(`apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: p\nspec:\n${spec}`), env());
    assert.equal(plain.filter, undefined);
  });
});
