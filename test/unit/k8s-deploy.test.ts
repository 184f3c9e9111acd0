/**
 * deploy/tetragon.yaml: every object valid against the Kubernetes schemas (kubernetes-models'
 * validate()), and the properties the agent depends on: least-privilege RBAC (pods and the two
 * tracing policy resources, get/list/watch only), hostPID, a privileged agent with NODE_NAME
 * from the downward API, its flags from the ConfigMap (--config-dir), /sys/kernel, /sys/fs/bpf
 * and /proc as /procRoot mounted, and an export-stdout container tailing the shared export file.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { ConfigMap, ServiceAccount } from "kubernetes-models/v1";
import { DaemonSet } from "kubernetes-models/apps/v1";
import { ClusterRole, ClusterRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { FLAGS } from "../../src/config/flags";

const FILE = path.join(__dirname, "..", "..", "..", "deploy", "tetragon.yaml");
const objects = parseAllDocuments(fs.readFileSync(FILE, "utf8")).map((d) => d.toJS()).filter(Boolean) as any[];
const byKind = (k: string) => {
  const o = objects.filter((x) => x.kind === k);
  assert.equal(o.length, 1, `one ${k}`);
  return o[0];
};

describe("deploy/tetragon.yaml (Kubernetes manifests)", () => {
  test("every object is valid for its Kubernetes schema", () => {
    const classes: Record<string, new (o: any) => { validate(): void }> = {
      ServiceAccount, ClusterRole, ClusterRoleBinding, ConfigMap, DaemonSet,
    };
    assert.deepEqual(objects.map((o) => o.kind).sort(), Object.keys(classes).sort());
    for (const o of objects) new classes[o.kind](o).validate();
    // and the validation does reject a broken object
    const bad = structuredClone(byKind("DaemonSet"));
    bad.spec.template.spec.containers[0].env = "NODE_NAME";
    assert.throws(() => new DaemonSet(bad).validate());
  });

  test("RBAC: exactly get/list/watch on pods, tracingpolicies and tracingpoliciesnamespaced", () => {
    const role = byKind("ClusterRole");
    const grants = role.rules.flatMap((r: any) =>
      r.apiGroups.flatMap((g: string) => r.resources.map((res: string) => `${g}/${res}:${[...r.verbs].sort().join(",")}`)));
    assert.deepEqual(grants.sort(), [
      "/pods:get,list,watch",
      "cilium.io/tracingpolicies:get,list,watch",
      "cilium.io/tracingpoliciesnamespaced:get,list,watch",
    ]);
    for (const r of role.rules) assert.equal(r.resourceNames, undefined);
    const binding = byKind("ClusterRoleBinding");
    const sa = byKind("ServiceAccount");
    assert.deepEqual(binding.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.metadata.name });
    assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: sa.metadata.name, namespace: sa.metadata.namespace }]);
  });

  test("DaemonSet: kube-system, hostPID, privileged agent with NODE_NAME, config dir, mounts, export-stdout", () => {
    const ds = byKind("DaemonSet");
    assert.equal(ds.metadata.name, "tetragon");
    assert.equal(ds.metadata.namespace, "kube-system");
    const pod = ds.spec.template.spec;
    assert.equal(pod.hostPID, true);
    assert.equal(pod.serviceAccountName, byKind("ServiceAccount").metadata.name);
    const agent = pod.containers.find((c: any) => c.name === "tetragon");
    assert.equal(agent.securityContext.privileged, true);
    const nodeName = agent.env.find((e: any) => e.name === "NODE_NAME");
    assert.deepEqual(nodeName.valueFrom, { fieldRef: { fieldPath: "spec.nodeName" } });
    const volume = (name: string) => pod.volumes.find((v: any) => v.name === name);
    const mountAt = (c: any, p: string) => c.volumeMounts.find((m: any) => m.mountPath === p);
    // flags: --config-dir on the ConfigMap
    const dir = agent.args[agent.args.indexOf("--config-dir") + 1];
    const cfgMount = mountAt(agent, dir);
    assert.equal(volume(cfgMount.name).configMap.name, byKind("ConfigMap").metadata.name);
    // host file systems
    assert.equal(volume(mountAt(agent, "/sys/kernel").name).hostPath.path, "/sys/kernel");
    assert.equal(volume(mountAt(agent, "/sys/fs/bpf").name).hostPath.path, "/sys/fs/bpf");
    assert.equal(volume(mountAt(agent, "/procRoot").name).hostPath.path, "/proc");
    assert.equal(volume(mountAt(agent, "/sys/fs/cgroup").name).hostPath.path, "/sys/fs/cgroup");
    const cfg = byKind("ConfigMap").data;
    assert.equal(cfg.procfs, "/procRoot");
    assert.equal(cfg["enable-k8s-api"], "true");
    // every ConfigMap key is a flag of the agent
    const flags = new Set(FLAGS.map((f) => f.name));
    for (const k of Object.keys(cfg)) assert.ok(flags.has(k), `${k} is a flag`);
    // the export file is on a volume the export-stdout container shares, and it tails that file
    const exportDir = path.dirname(cfg["export-filename"]);
    const exportVol = mountAt(agent, exportDir).name;
    const stdout = pod.containers.find((c: any) => c.name === "export-stdout");
    assert.equal(mountAt(stdout, exportDir).name, exportVol);
    assert.match(stdout.command.join(" "), new RegExp(`tail .*-F ${cfg["export-filename"].replace(/[.]/g, "\\.")}`));
    assert.notEqual(stdout.securityContext?.privileged, true);
  });
});
