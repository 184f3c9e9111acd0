/**
 * With `--enable-k8s-api`, lists and watches the TracingPolicy CRDs: `tracingpolicies.cilium.io`
 * (cluster-scoped) and `tracingpoliciesnamespaced.cilium.io` (all namespaces), each with a
 * @kubernetes/client-node ListWatch informer, and applies them to the policy manager in the
 * domain "k8s": an added object is loaded, a modified one replaces its policy (when its spec
 * changed), a deleted one is unloaded. A rejected object is logged with the field paths of its
 * problems and does not stop the others. Errors of the API server are logged and the informer
 * is restarted after a back-off, as the pod watcher does.
 */
import { loadKubeConfig } from "./kubeconfig";
import type { KubeConfig, ListWatch, KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "../log/logger";
import { isPolicyError } from "../policy/errors";
import { CRD_GROUP, CRD_VERSION, TRACING_POLICY_NAMES, TRACING_POLICY_NAMESPACED_NAMES, type CrdNames } from "./crds";

export const K8S_POLICY_DOMAIN = "k8s";

/** What the watcher needs of the policy manager (src/policy/manager.ts). */
export interface PolicySink {
  /** recordFailure: a rejected policy with a name stays listed in state load_error */
  add(yaml: string, domain: string, source?: string, recordFailure?: boolean): unknown;
  delete(name: string, namespace?: string, domain?: string): void;
}

export interface PolicyWatcherOptions {
  kubeconfigPath: string;
  log: Logger;
  sink: PolicySink;
  retryMs?: number;
  maxRetryMs?: number;
  syncTimeoutMs?: number;
}

type CrdObject = KubernetesObject & { spec?: unknown };

/** The document given to the policy manager: the object without status and server-set metadata. */
export function policyDocument(o: CrdObject): Record<string, unknown> {
  const m = o.metadata ?? {};
  const metadata: Record<string, unknown> = { name: m.name };
  if (m.namespace) metadata.namespace = m.namespace;
  if (m.labels && Object.keys(m.labels).length) metadata.labels = m.labels;
  if (m.annotations) {
    // kubectl apply's copy of the whole object is not needed
    const a = { ...m.annotations };
    delete a["kubectl.kubernetes.io/last-applied-configuration"];
    if (Object.keys(a).length) metadata.annotations = a;
  }
  return { apiVersion: o.apiVersion, kind: o.kind, metadata, spec: o.spec };
}

interface Loaded {
  /** JSON of the document last applied (a MODIFIED with the same document is a no-op) */
  doc: string;
  /** whether the policy manager holds it */
  loaded: boolean;
}

export class PolicyWatcher {
  private readonly informers: ListWatch<CrdObject>[] = [];
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  private readonly retryMs = new Map<string, number>();
  private readonly synced = new Set<string>();
  private readonly seen = new Map<string, Loaded>();
  private stopped = false;
  /** objects applied, for logs and tests */
  readonly counts = { added: 0, updated: 0, deleted: 0, rejected: 0, errors: 0, restarts: 0 };

  constructor(private readonly opts: PolicyWatcherOptions) {}

  get isSynced(): boolean {
    return this.synced.size === 2;
  }

  /** Starts both informers; resolves once both lists arrived, after an error, or after syncTimeoutMs. */
  async start(): Promise<void> {
    const { k8s, kc, server } = await loadKubeConfig(this.opts.kubeconfigPath);
    const api = kc.makeApiClient(k8s.CustomObjectsApi);
    let settle: () => void = () => undefined;
    const settled = new Promise<void>((resolve) => {
      settle = resolve;
      setTimeout(resolve, this.opts.syncTimeoutMs ?? 10000).unref();
    });
    for (const names of [TRACING_POLICY_NAMES, TRACING_POLICY_NAMESPACED_NAMES]) {
      const path = `/apis/${CRD_GROUP}/${CRD_VERSION}/${names.plural}`;
      const list = async () => {
        // for a namespaced kind, the cluster-wide list returns the objects of all namespaces
        const l = (await api.listClusterCustomObject({ group: CRD_GROUP, version: CRD_VERSION, plural: names.plural })) as {
          metadata?: { resourceVersion?: string }; items?: CrdObject[];
        };
        setImmediate(() => {
          this.retryMs.delete(names.plural);
          if (!this.synced.has(names.plural)) {
            this.opts.log.info({ resource: `${names.plural}.${CRD_GROUP}`, objects: l.items?.length ?? 0 }, "k8s API: tracing policies synced");
          }
          this.synced.add(names.plural);
          if (this.isSynced) settle();
        });
        return { apiVersion: `${CRD_GROUP}/${CRD_VERSION}`, kind: names.listKind, metadata: l.metadata ?? {}, items: l.items ?? [] };
      };
      const informer = new k8s.ListWatch<CrdObject>(path, new k8s.Watch(kc as KubeConfig), list as never, false);
      informer.on("add", (o) => this.apply(names, o, "add"));
      informer.on("update", (o) => this.apply(names, o, "update"));
      informer.on("delete", (o) => this.remove(names, o));
      informer.on("error", (err) => {
        this.onError(names, informer, err);
        settle();
      });
      this.informers.push(informer);
      void informer.start().catch((err: unknown) => this.onError(names, informer, err));
    }
    this.opts.log.info({ server }, "k8s API: watching TracingPolicy and TracingPolicyNamespaced objects");
    await settled;
  }

  private key(names: CrdNames, o: CrdObject): string {
    return `${names.kind}/${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
  }

  private apply(names: CrdNames, o: CrdObject, how: "add" | "update"): void {
    const key = this.key(names, o);
    const doc = JSON.stringify(policyDocument(o));
    const prev = this.seen.get(key);
    if (prev && prev.doc === doc) return; // status or metadata-only change
    const name = o.metadata?.name ?? "";
    const namespace = names.scope === "Namespaced" ? o.metadata?.namespace ?? "" : "";
    if (prev?.loaded) {
      try {
        this.opts.sink.delete(name, namespace, K8S_POLICY_DOMAIN);
      } catch (err) {
        this.opts.log.warn({ policy: name, namespace, err: String((err as Error).message) }, "k8s API: could not unload the previous version of a tracing policy");
      }
    }
    const entry: Loaded = { doc, loaded: false };
    this.seen.set(key, entry);
    try {
      this.opts.sink.add(doc, K8S_POLICY_DOMAIN, `k8s:${names.plural}/${namespace ? `${namespace}/` : ""}${name}`, true);
      entry.loaded = true;
      if (how === "add" && !prev) this.counts.added++;
      else this.counts.updated++;
      this.opts.log.info({ kind: names.kind, policy: name, namespace: namespace || undefined, how }, "k8s API: tracing policy loaded");
    } catch (err) {
      this.counts.rejected++;
      const issues = isPolicyError(err) ? err.issues.map((i) => ({ path: i.path, reason: i.reason })) : undefined;
      this.opts.log.error(
        { kind: names.kind, policy: name, namespace: namespace || undefined, issues, err: issues ? undefined : String((err as Error).message ?? err) },
        "k8s API: tracing policy rejected",
      );
    }
  }

  private remove(names: CrdNames, o: CrdObject): void {
    const key = this.key(names, o);
    const prev = this.seen.get(key);
    this.seen.delete(key);
    if (!prev) return;
    const name = o.metadata?.name ?? "";
    const namespace = names.scope === "Namespaced" ? o.metadata?.namespace ?? "" : "";
    if (!prev.loaded) {
      // a rejected object is listed as load_error: it goes with the object
      try {
        this.opts.sink.delete(name, namespace, K8S_POLICY_DOMAIN);
      } catch {
        /* it had no name to be listed under */
      }
      return;
    }
    try {
      this.opts.sink.delete(name, namespace, K8S_POLICY_DOMAIN);
      this.counts.deleted++;
      this.opts.log.info({ kind: names.kind, policy: name, namespace: namespace || undefined }, "k8s API: tracing policy unloaded");
    } catch (err) {
      this.opts.log.warn({ policy: name, namespace, err: String((err as Error).message) }, "k8s API: could not unload a deleted tracing policy");
    }
  }

  private onError(names: CrdNames, informer: ListWatch<CrdObject>, err: unknown): void {
    if (this.stopped) return;
    this.counts.errors++;
    const e = err as { message?: string; code?: number | string; statusCode?: number };
    const status = typeof e?.statusCode === "number" ? e.statusCode : typeof e?.code === "number" ? e.code : undefined;
    const delay = this.retryMs.get(names.plural) ?? this.opts.retryMs ?? 1000;
    this.opts.log.warn(
      { resource: `${names.plural}.${CRD_GROUP}`, err: (e?.message ?? String(err)).split("\n")[0].slice(0, 300), status, retrySec: delay / 1000 },
      "k8s API: tracing policy list/watch failed, retrying",
    );
    clearTimeout(this.retryTimers.get(names.plural));
    const t = setTimeout(() => {
      this.counts.restarts++;
      if (!this.stopped) void informer.start().catch((er: unknown) => this.onError(names, informer, er));
    }, delay);
    t.unref();
    this.retryTimers.set(names.plural, t);
    this.retryMs.set(names.plural, Math.min(delay * 2, this.opts.maxRetryMs ?? 30000));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.retryTimers.values()) clearTimeout(t);
    await Promise.all(this.informers.map((i) => i.stop()));
  }
}
