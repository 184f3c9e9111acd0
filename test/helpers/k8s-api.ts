/**
 * A local stand-in for the Kubernetes API server's pod endpoint, for tests: a node:http
 * server that speaks the list/watch protocol of GET /api/v1/pods — a PodList with a
 * resourceVersion, and with `watch=true` a stream of newline-delimited watch events
 * ({type, object}) from the requested resourceVersion on, `fieldSelector=spec.nodeName=X`
 * applied to both. Watches can be cut (the client resumes) and history can be expired
 * (the client gets 410 Gone and lists again), as a real API server does.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import type { AddressInfo } from "node:net";

export type PodJson = Record<string, any>;

/** the collection path of pods; other collections (e.g. the TracingPolicy CRDs) are served the same way */
export const PODS_PATH = "/api/v1/pods";
export const TRACING_POLICIES_PATH = "/apis/cilium.io/v1alpha1/tracingpolicies";
export const TRACING_POLICIES_NAMESPACED_PATH = "/apis/cilium.io/v1alpha1/tracingpoliciesnamespaced";

interface HistoryEntry {
  path: string;
  rv: number;
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: PodJson;
}

export interface RecordedRequest {
  url: string;
  watch: boolean;
  fieldSelector: string | null;
  resourceVersion: string | null;
}

export class LocalPodApi {
  readonly server: http.Server;
  readonly requests: RecordedRequest[] = [];
  private readonly pods = new Map<string, PodJson>();
  private history: HistoryEntry[] = [];
  private rv = 100;
  /** watches from a resourceVersion below this get 410 Gone */
  private expiredBefore = 0;
  private readonly watches = new Set<{ res: http.ServerResponse; selector: string | null; path: string }>();
  /** objects of the other collections (path -> namespace/name -> object) */
  private readonly objects = new Map<string, Map<string, PodJson>>();
  /** collection paths served besides pods (an unknown path gets 404) */
  readonly collections = new Set<string>([PODS_PATH]);
  port = 0;
  /** when set, every request is answered with this HTTP status and a Status object */
  failStatus = 0;

  constructor() {
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  async listen(port = 0): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, "127.0.0.1", () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * A kubeconfig (YAML is a superset of JSON) pointing at this server, without credentials.
   * @kubernetes/client-node accepts an http:// server only with insecure-skip-tls-verify.
   */
  writeKubeconfig(dir: string): string {
    const file = path.join(dir, "kubeconfig");
    const cfg = {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "local", cluster: { server: this.url, "insecure-skip-tls-verify": true } }],
      users: [{ name: "nobody", user: {} }],
      contexts: [{ name: "local", context: { cluster: "local", user: "nobody" } }],
      "current-context": "local",
    };
    fs.writeFileSync(file, JSON.stringify(cfg, null, 2));
    return file;
  }

  listRequests(): RecordedRequest[] {
    return this.requests.filter((r) => !r.watch);
  }

  watchRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.watch);
  }

  get openWatches(): number {
    return this.watches.size;
  }

  add(pod: PodJson): void {
    this.change("ADDED", pod);
  }

  /** Serves a collection (e.g. TRACING_POLICIES_PATH) with an empty list until objects are added. */
  serve(collection: string): this {
    this.collections.add(collection);
    return this;
  }

  /** Adds (ADDED), replaces (MODIFIED) or deletes (DELETED) an object of another collection. */
  addObject(collection: string, obj: PodJson): void {
    this.serve(collection);
    this.change("ADDED", obj, collection);
  }

  modifyObject(collection: string, obj: PodJson): void {
    this.change("MODIFIED", obj, collection);
  }

  deleteObject(collection: string, namespace: string, name: string): void {
    const cur = this.objects.get(collection)?.get(`${namespace}/${name}`);
    if (!cur) throw new Error(`no object ${namespace}/${name} in ${collection}`);
    this.change("DELETED", cur, collection);
  }

  modify(pod: PodJson): void {
    this.change("MODIFIED", pod);
  }

  delete(namespace: string, name: string): void {
    const cur = this.pods.get(`${namespace}/${name}`);
    if (!cur) throw new Error(`no pod ${namespace}/${name}`);
    this.change("DELETED", cur);
  }

  /**
   * Changes a pod without telling open watches, and forgets the history up to now: the next
   * watch resumed from an older resourceVersion gets 410 Gone (an etcd compaction).
   */
  changeSilentlyAndExpire(f: () => void): void {
    const open = [...this.watches];
    this.watches.clear();
    f();
    this.expiredBefore = this.rv;
    for (const w of open) this.watches.add(w);
  }

  /** Ends every open watch stream, as an API server does at its request timeout. */
  closeWatches(): void {
    for (const w of this.watches) w.res.end();
    this.watches.clear();
  }

  async close(): Promise<void> {
    this.closeWatches();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private change(type: HistoryEntry["type"], pod: PodJson, collection = PODS_PATH): void {
    this.rv++;
    const object = structuredClone(pod);
    object.metadata.resourceVersion = String(this.rv);
    const key = `${object.metadata.namespace ?? ""}/${object.metadata.name}`;
    let store = this.pods;
    if (collection !== PODS_PATH) {
      store = this.objects.get(collection) ?? new Map();
      this.objects.set(collection, store);
    }
    if (type === "DELETED") store.delete(key);
    else store.set(key, object);
    const ev = { path: collection, rv: this.rv, type, object };
    this.history.push(ev);
    for (const w of this.watches) {
      if (w.path === collection && matches(object, w.selector)) w.res.write(JSON.stringify({ type, object }) + "\n");
    }
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const u = new URL(req.url ?? "/", this.url);
    const watch = u.searchParams.get("watch") === "true";
    const selector = u.searchParams.get("fieldSelector");
    const resourceVersion = u.searchParams.get("resourceVersion");
    this.requests.push({ url: req.url ?? "", watch, fieldSelector: selector, resourceVersion });
    if (this.failStatus) {
      res.writeHead(this.failStatus, { "Content-Type": "application/json" });
      res.end(JSON.stringify({
        kind: "Status", apiVersion: "v1", status: "Failure", code: this.failStatus, reason: "Forbidden",
        message: 'pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" at the cluster scope',
      }));
      return;
    }
    const collection = u.pathname;
    if (!this.collections.has(collection) || req.method !== "GET") {
      res.writeHead(404, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404 }));
      return;
    }
    if (!watch) {
      const store = collection === PODS_PATH ? this.pods : this.objects.get(collection) ?? new Map<string, PodJson>();
      const items = [...store.values()].filter((p) => matches(p, selector));
      res.writeHead(200, { "Content-Type": "application/json" });
      const listKind = collection === PODS_PATH ? "PodList" : "List";
      const apiVersion = collection === PODS_PATH ? "v1" : collection.split("/").slice(2, 4).join("/");
      res.end(JSON.stringify({ kind: listKind, apiVersion, metadata: { resourceVersion: String(this.rv) }, items }));
      return;
    }
    const from = Number(resourceVersion ?? "0") || 0;
    res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
    res.flushHeaders();
    if (from !== 0 && from < this.expiredBefore) {
      const status = {
        kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure",
        message: `too old resource version: ${from} (${this.expiredBefore})`, reason: "Expired", code: 410,
      };
      res.end(JSON.stringify({ type: "ERROR", object: status }) + "\n");
      return;
    }
    for (const ev of this.history) {
      if (ev.path === collection && ev.rv > from && matches(ev.object, selector)) res.write(JSON.stringify({ type: ev.type, object: ev.object }) + "\n");
    }
    const w = { res, selector, path: collection };
    this.watches.add(w);
    res.on("close", () => this.watches.delete(w));
  }
}

function matches(pod: PodJson, selector: string | null): boolean {
  if (!selector) return true;
  for (const term of selector.split(",")) {
    const [k, v] = term.split("=");
    if (k === "spec.nodeName" && pod.spec?.nodeName !== v) return false;
  }
  return true;
}

export interface PodSpec {
  namespace?: string;
  name: string;
  uid: string;
  node: string;
  labels?: Record<string, string>;
  /** the controller owner; with one, the pod gets a generateName as controllers set it */
  owner?: { kind: string; name: string };
  containers: Array<{
    name: string; id: string; image?: string; runtime?: string; init?: boolean; ephemeral?: boolean; privileged?: boolean;
    /** exec commands of the liveness and readiness probes */
    liveness?: string[]; readiness?: string[];
  }>;
}

/** A Pod object as the API server returns it (the fields a kubelet and controllers fill). */
export function podJson(s: PodSpec): PodJson {
  const started = "2026-11-29T09:00:00Z";
  const status = (c: PodSpec["containers"][number]) => ({
    name: c.name,
    state: { running: { startedAt: started } },
    lastState: {},
    ready: true,
    restartCount: 0,
    image: c.image ?? "docker.io/library/busybox:1.36",
    imageID: `docker.io/library/busybox@sha256:${"ab".repeat(32)}`,
    containerID: `${c.runtime ?? "containerd"}://${c.id}`,
    started: true,
  });
  const specC = (c: PodSpec["containers"][number]) => ({
    name: c.name,
    image: c.image ?? "docker.io/library/busybox:1.36",
    ...(c.privileged ? { securityContext: { privileged: true } } : {}),
    ...(c.liveness ? { livenessProbe: { exec: { command: c.liveness }, periodSeconds: 10, timeoutSeconds: 1 } } : {}),
    ...(c.readiness ? { readinessProbe: { exec: { command: c.readiness }, periodSeconds: 10, timeoutSeconds: 1 } } : {}),
  });
  const main = s.containers.filter((c) => !c.init && !c.ephemeral);
  const init = s.containers.filter((c) => c.init);
  const eph = s.containers.filter((c) => c.ephemeral);
  return {
    kind: "Pod",
    apiVersion: "v1",
    metadata: {
      name: s.name,
      namespace: s.namespace ?? "default",
      uid: s.uid,
      resourceVersion: "1",
      creationTimestamp: "2026-11-29T08:59:58Z",
      labels: s.labels ?? {},
      ...(s.owner
        ? {
          generateName: s.name.slice(0, s.name.lastIndexOf("-") + 1),
          ownerReferences: [{
            apiVersion: s.owner.kind === "Job" ? "batch/v1" : "apps/v1", kind: s.owner.kind, name: s.owner.name,
            uid: "0e8f0d4c-0000-4000-8000-000000000001", controller: true, blockOwnerDeletion: true,
          }],
        }
        : {}),
    },
    spec: {
      nodeName: s.node,
      restartPolicy: "Always",
      containers: main.map(specC),
      ...(init.length ? { initContainers: init.map(specC) } : {}),
      ...(eph.length ? { ephemeralContainers: eph.map(specC) } : {}),
    },
    status: {
      phase: "Running",
      hostIP: "10.0.0.10",
      podIP: "10.244.1.7",
      startTime: "2026-11-29T08:59:59Z",
      containerStatuses: main.map(status),
      ...(init.length ? { initContainerStatuses: init.map(status) } : {}),
      ...(eph.length ? { ephemeralContainerStatuses: eph.map(status) } : {}),
    },
  };
}
