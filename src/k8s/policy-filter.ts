/**
 * The user-space half of policy filters (TracingPolicyNamespaced, spec.podSelector,
 * spec.containerSelector), as Tetragon's policyfilter: a filtered policy's hooks carry a
 * filter id (hook_config.policy_filter) and run only for tasks whose cgroup — in the tracked
 * hierarchy (src/sensors/base/cgroup-mode.ts) — is in policy_filter_map under that id. This
 * keeps the map equal, for each filter, to the cgroup ids of the containers that match it:
 * containers from the pod index (the pods of this node), their cgroups found by name (the
 * container runtimes name a container's cgroup after its id: cri-containerd-<id>.scope,
 * docker-<id>.scope, crio-<id>.scope, or <id>), the cgroup id being the directory's inode
 * number (kernfs node id, what bpf reads as cgrp->kn->id).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Logger } from "../log/logger";
import type { LabelSelector } from "../policy/types";
import type { PolicyFilterSpec } from "../policy/compiler/plan";
import type { ContainerPod } from "./pod-index";

/** Kubernetes label selector semantics: every matchLabels pair and every expression must hold. */
export function labelSelectorMatches(sel: LabelSelector | null | undefined, labels: Record<string, string>): boolean {
  if (!sel) return true;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const vals = e.values ?? [];
    switch (e.operator) {
      case "In": if (!has || !vals.includes(labels[e.key])) return false; break;
      case "NotIn": if (has && vals.includes(labels[e.key])) return false; break;
      case "Exists": if (!has) return false; break;
      case "DoesNotExist": if (has) return false; break;
      default: return false;
    }
  }
  return true;
}

/** Whether a container (of a pod of this node) is one a filtered policy applies to. */
export function filterMatches(f: PolicyFilterSpec, c: ContainerPod): boolean {
  const pod = c.pod;
  if (f.namespace !== undefined && pod.namespace !== f.namespace) return false;
  if (!labelSelectorMatches(f.podSelector, pod.podLabels ?? {})) return false;
  // as Tetragon: a container's labels are {name: <container name>}
  if (!labelSelectorMatches(f.containerSelector, { name: pod.container?.name ?? "" })) return false;
  return true;
}

/** Finds containers' cgroup directories under the tracked hierarchy, by the container id in their names. */
export class CgroupFinder {
  private readonly found = new Map<string, { dir: string; id: bigint }>();
  private lastScan = 0;

  constructor(private readonly root: string, private readonly maxDepth = 12, private readonly rescanMs = 2000) {}

  /** The cgroup id of each container id found (missing ones are looked for at most every rescanMs). */
  resolve(ids: readonly string[], now = Date.now()): Map<string, bigint> {
    const out = new Map<string, bigint>();
    const missing: string[] = [];
    for (const id of ids) {
      const f = this.found.get(id);
      if (f) {
        try {
          const st = fs.statSync(f.dir, { bigint: true });
          if (st.ino === f.id) {
            out.set(id, f.id);
            continue;
          }
        } catch { /* removed */ }
        this.found.delete(id);
      }
      missing.push(id);
    }
    if (missing.length && now - this.lastScan >= this.rescanMs) {
      this.lastScan = now;
      this.scan(new Set(missing));
      for (const id of missing) {
        const f = this.found.get(id);
        if (f) out.set(id, f.id);
      }
    }
    for (const id of [...this.found.keys()]) if (!ids.includes(id)) this.found.delete(id);
    return out;
  }

  private scan(want: Set<string>): void {
    const walk = (dir: string, depth: number): void => {
      let ents: fs.Dirent[];
      try {
        ents = fs.readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of ents) {
        if (!e.isDirectory()) continue;
        const p = path.join(dir, e.name);
        for (const id of want) {
          if (id && e.name.includes(id)) {
            try {
              this.found.set(id, { dir: p, id: fs.statSync(p, { bigint: true }).ino });
            } catch { /* gone */ }
          }
        }
        if (depth < this.maxDepth) walk(p, depth + 1);
      }
    };
    walk(this.root, 0);
  }
}

export interface FilterSensor {
  policyFilters(): Array<{ id: number; policy: string; filter: PolicyFilterSpec; cgroups: ReadonlySet<bigint> }>;
  setFilterCgroups(filterId: number, ids: ReadonlySet<bigint>): void;
  onFiltersChanged?: () => void;
}

export interface PolicyFilterSyncOptions {
  sensor: FilterSensor;
  /** the containers of the pods of this node (the pod index); none without --enable-k8s-api */
  containers: () => Iterable<ContainerPod>;
  /** the tracked cgroup hierarchy's root */
  cgroupRoot: string;
  log: Logger;
  intervalMs?: number;
}

/** Keeps policy_filter_map in step with the pods: at every interval and when a filtered policy is added. */
export class PolicyFilterSync {
  private timer?: NodeJS.Timeout;
  private readonly finder: CgroupFinder;
  private readonly lastCounts = new Map<number, number>();

  constructor(private readonly opts: PolicyFilterSyncOptions) {
    this.finder = new CgroupFinder(opts.cgroupRoot);
  }

  start(): void {
    this.opts.sensor.onFiltersChanged = () => setImmediate(() => this.sync());
    this.timer = setInterval(() => this.sync(), this.opts.intervalMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.opts.sensor.onFiltersChanged = undefined;
  }

  sync(): void {
    const filters = this.opts.sensor.policyFilters();
    if (!filters.length) return;
    const containers = [...this.opts.containers()];
    const matching = filters.map((f) => containers.filter((c) => filterMatches(f.filter, c)).map((c) => c.containerId));
    const resolved = this.finder.resolve([...new Set(matching.flat())]);
    filters.forEach((f, i) => {
      const ids = new Set<bigint>();
      for (const c of matching[i]) {
        const cg = resolved.get(c);
        if (cg !== undefined) ids.add(cg);
      }
      try {
        this.opts.sensor.setFilterCgroups(f.id, ids);
      } catch (err) {
        this.opts.log.warn({ policy: f.policy, err: String((err as Error).message) }, "policy filter: could not update policy_filter_map");
        return;
      }
      if (this.lastCounts.get(f.id) !== ids.size || matching[i].length !== ids.size) {
        if (this.lastCounts.get(f.id) !== ids.size) {
          this.opts.log.info({ policy: f.policy, containers: matching[i].length, cgroups: ids.size }, "policy filter: containers of the policy updated");
        }
        this.lastCounts.set(f.id, ids.size);
      }
    });
    for (const id of [...this.lastCounts.keys()]) if (!filters.some((f) => f.id === id)) this.lastCounts.delete(id);
  }
}
