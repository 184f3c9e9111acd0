/**
 * The pods of this node, indexed by container id, and the tetragon.Pod message of each
 * container. Filled by the pod watcher (src/k8s/pod-watcher.ts) from the Kubernetes API;
 * read on every event through ProcessCache.eventProcess with one Map look-up.
 *
 * Pod objects are taken as the API server sends them (JSON, camelCase) or as
 * @kubernetes/client-node deserializes them (same names, dates as Date objects): only
 * the fields below are read.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import {
  ContainerSchema, ImageSchema, PodSchema, SecurityContextSchema, type Pod,
} from "../api/gen/tetragon/tetragon_pb";
import { dockerField } from "../process/container";
import { formatArguments } from "../process/args";

export interface K8sOwnerReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  uid?: string;
  controller?: boolean;
}

export interface K8sContainerStatus {
  name?: string;
  containerID?: string;
  image?: string;
  imageID?: string;
  state?: { running?: { startedAt?: string | Date } | null } | null;
}

export interface K8sContainerSpec {
  name?: string;
  securityContext?: { privileged?: boolean } | null;
  livenessProbe?: { exec?: { command?: string[] | null } | null } | null;
  readinessProbe?: { exec?: { command?: string[] | null } | null } | null;
}

export interface K8sPod {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    generateName?: string;
    resourceVersion?: string;
    labels?: Record<string, string> | null;
    ownerReferences?: K8sOwnerReference[] | null;
  };
  spec?: {
    nodeName?: string;
    containers?: K8sContainerSpec[] | null;
    initContainers?: K8sContainerSpec[] | null;
    ephemeralContainers?: K8sContainerSpec[] | null;
  } | null;
  status?: {
    containerStatuses?: K8sContainerStatus[] | null;
    initContainerStatuses?: K8sContainerStatus[] | null;
    ephemeralContainerStatuses?: K8sContainerStatus[] | null;
  } | null;
}

export interface Workload {
  name: string;
  kind: string;
}

/** Job names that end in `-<8 to 10 digits>` were created by a CronJob (Tetragon's heuristic). */
const CRONJOB_JOB_RE = /^(.+)-\d{8,10}$/;

/**
 * The top-level workload of a pod, as Tetragon derives it (pkg/podhelpers): for a pod with
 * a generated name, its controller owner; a ReplicaSet whose name ends in the
 * pod-template-hash label is a Deployment, a Job named `<name>-<timestamp>` a CronJob.
 * Otherwise the pod itself (kind Pod).
 */
export function workloadOf(pod: K8sPod): Workload {
  const md = pod.metadata ?? {};
  const out: Workload = { name: md.name ?? "", kind: "Pod" };
  if (md.generateName) {
    const ref = (md.ownerReferences ?? []).find((r) => r.controller === true);
    if (ref) {
      out.kind = ref.kind ?? "";
      out.name = ref.name ?? "";
      const hash = md.labels?.["pod-template-hash"] ?? "";
      if (out.kind === "ReplicaSet" && hash !== "" && out.name.endsWith(hash)) {
        const suffix = "-" + hash;
        if (out.name.endsWith(suffix)) out.name = out.name.slice(0, -suffix.length);
        out.kind = "Deployment";
      } else if (out.kind === "ReplicationController" && md.labels?.deploymentconfig) {
        out.name = md.labels.deploymentconfig;
        out.kind = "DeploymentConfig";
      } else if (out.kind === "Job") {
        const m = CRONJOB_JOB_RE.exec(out.name);
        if (m) {
          out.name = m[1];
          out.kind = "CronJob";
        }
      }
    }
  }
  if (out.name === "") out.name = md.name ?? "";
  return out;
}

/** The container id without the runtime prefix (`containerd://`, `docker://`, `cri-o://`). */
export function stripRuntime(containerID: string): string {
  const i = containerID.indexOf("://");
  return i >= 0 ? containerID.slice(i + 3) : containerID;
}

function toTimestamp(v: string | Date | undefined): Timestamp | undefined {
  if (v === undefined || v === null) return undefined;
  const d = v instanceof Date ? v : new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : timestampFromDate(d);
}

/**
 * Tetragon's maybe_exec_probe heuristic (pkg/filters MaybeExecProbe): the process runs the
 * command of an exec probe. An absolute probe path must equal the binary, a relative one its
 * base name; the arguments must equal the probe's, joined as process arguments are; a script
 * run through its shebang also has its own path as first argument.
 */
export function maybeExecProbe(binary: string, args: string, probe: readonly string[] | undefined): boolean {
  if (!probe || probe.length === 0) return false;
  const cmd = probe[0];
  if (cmd.startsWith("/")) {
    if (binary !== cmd) return false;
  } else if (baseName(binary) !== baseName(cmd)) {
    return false;
  }
  if (args === formatArguments(probe.slice(1))) return true;
  return cmd === binary && args === formatArguments([binary, ...probe.slice(1)]);
}

function baseName(p: string): string {
  const t = p.replace(/\/+$/, "");
  const i = t.lastIndexOf("/");
  return i >= 0 ? t.slice(i + 1) : t;
}

/** One container of one pod: its Pod message, shared by every event of its processes. */
export class ContainerPod {
  constructor(
    /** the id without runtime prefix (64 hex for containerd, Docker and CRI-O) */
    readonly containerId: string,
    readonly podKey: string,
    readonly podUid: string,
    /** pod.container.pid unset, maybe_exec_probe false: the message for processes with neither */
    readonly pod: Pod,
    /** the exec commands of the container's liveness and readiness probes */
    readonly probes: ReadonlyArray<readonly string[]> = [],
  ) {}

  /**
   * The Pod message of one process: container.pid is its pid in the container's pid
   * namespace (when known), maybe_exec_probe whether it runs a probe's command.
   */
  forProcess(nspid: number | undefined, binary = "", args = ""): Pod {
    const c = this.pod.container;
    if (c === undefined) return this.pod;
    const probe = this.probes.some((p) => maybeExecProbe(binary, args, p));
    if (!nspid && !probe) return this.pod;
    // spreads of messages are messages of the same type: shallow copies
    return { ...this.pod, container: { ...c, pid: nspid || undefined, maybeExecProbe: probe } };
  }
}

/** The Pod message of each container of a pod that has a container id. */
export function containerPods(pod: K8sPod): ContainerPod[] {
  const md = pod.metadata ?? {};
  const key = `${md.namespace ?? ""}/${md.name ?? ""}`;
  const workload = workloadOf(pod);
  const labels: Record<string, string> = { ...(md.labels ?? {}) };
  const specs = [
    ...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? []), ...(pod.spec?.ephemeralContainers ?? []),
  ];
  const statuses = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
    ...(pod.status?.ephemeralContainerStatuses ?? []),
  ];
  const out: ContainerPod[] = [];
  for (const s of statuses) {
    const full = s.containerID ?? "";
    const id = stripRuntime(full);
    if (id === "") continue;
    const spec = specs.find((c) => c.name === s.name);
    const message = create(PodSchema, {
      namespace: md.namespace ?? "",
      name: md.name ?? "",
      uid: md.uid ?? "",
      container: create(ContainerSchema, {
        id: full,
        name: s.name ?? "",
        image: create(ImageSchema, { id: s.imageID ?? "", name: s.image ?? "" }),
        startTime: toTimestamp(s.state?.running?.startedAt ?? undefined),
        securityContext: create(SecurityContextSchema, { privileged: spec?.securityContext?.privileged === true }),
      }),
      podLabels: labels,
      workload: workload.name,
      workloadKind: workload.kind,
    });
    const probes = [spec?.livenessProbe?.exec?.command, spec?.readinessProbe?.exec?.command]
      .filter((c): c is string[] => Array.isArray(c) && c.length > 0);
    out.push(new ContainerPod(id, key, md.uid ?? "", message, probes));
  }
  return out;
}

/** What the process cache asks: the container of a process, by its `docker` field or full id. */
export interface PodLookup {
  lookup(containerId: string): ContainerPod | undefined;
}

/**
 * Container id → ContainerPod, for the pods the watcher reported. A pod is replaced whole
 * on every update (its record objects change, so caches that keep the record by identity
 * see the update); a pod re-created under the same name replaces the old one.
 */
export class PodIndex implements PodLookup {
  /** keyed by the first 31 characters of the container id: Process.docker */
  private readonly byContainer = new Map<string, ContainerPod>();
  /** namespace/name → that pod's uid and container ids */
  private readonly byPod = new Map<string, { uid: string; ids: string[] }>();

  get podCount(): number {
    return this.byPod.size;
  }

  get containerCount(): number {
    return this.byContainer.size;
  }

  /** Every indexed container. */
  containers(): IterableIterator<ContainerPod> {
    return this.byContainer.values();
  }

  lookup(containerId: string): ContainerPod | undefined {
    if (containerId === "") return undefined;
    const rec = this.byContainer.get(dockerField(containerId));
    if (rec === undefined) return undefined;
    // a full id must match fully; a 31-character docker field matches its prefix
    if (containerId.length > 31 && rec.containerId !== containerId) return undefined;
    return rec;
  }

  /** Adds or replaces a pod (ADDED, MODIFIED, or a re-list). */
  upsert(pod: K8sPod): void {
    const md = pod.metadata ?? {};
    const key = `${md.namespace ?? ""}/${md.name ?? ""}`;
    this.dropKey(key);
    const recs = containerPods(pod);
    for (const r of recs) this.byContainer.set(dockerField(r.containerId), r);
    this.byPod.set(key, { uid: md.uid ?? "", ids: recs.map((r) => r.containerId) });
  }

  /**
   * Removes a pod (DELETED). The containers listed in the deleted object go in any case;
   * the pod held under its name only when it is the same pod (uid), not a newer one.
   */
  remove(pod: K8sPod): void {
    const md = pod.metadata ?? {};
    const key = `${md.namespace ?? ""}/${md.name ?? ""}`;
    const held = this.byPod.get(key);
    if (held && (!md.uid || held.uid === md.uid)) this.dropKey(key);
    for (const r of containerPods(pod)) {
      const cur = this.byContainer.get(dockerField(r.containerId));
      if (cur && cur.podUid === r.podUid) this.byContainer.delete(dockerField(r.containerId));
    }
  }

  clear(): void {
    this.byContainer.clear();
    this.byPod.clear();
  }

  private dropKey(key: string): void {
    const held = this.byPod.get(key);
    if (!held) return;
    for (const id of held.ids) {
      const short = dockerField(id);
      if (this.byContainer.get(short)?.podKey === key) this.byContainer.delete(short);
    }
    this.byPod.delete(key);
  }
}
