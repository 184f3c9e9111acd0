/**
 * Lists and watches the pods of this node (`--enable-k8s-api`) with @kubernetes/client-node's
 * ListWatch informer (GET /api/v1/pods?fieldSelector=spec.nodeName=<node>, then the same
 * with watch=true from the list's resourceVersion), and keeps a PodIndex of their
 * containers. The informer resumes a closed watch from the last resourceVersion and lists
 * again after 410 Gone; other errors (API server unreachable, 403, ...) are logged and the
 * informer is restarted after a back-off. The agent runs on without pod information for as
 * long as the API server cannot be reached.
 *
 * The client library is loaded only when the watcher starts: it is ESM and takes about a
 * second to load, which agents without --enable-k8s-api do not pay.
 */
import { loadKubeConfig } from "./kubeconfig";
import type { KubeConfig, ListWatch, V1Pod, V1PodList } from "@kubernetes/client-node";
import type { Logger } from "../log/logger";
import { PodIndex, type K8sPod } from "./pod-index";

export interface PodWatcherOptions {
  /** --k8s-kubeconfig-path; "" = KUBECONFIG, ~/.kube/config or the in-cluster service account */
  kubeconfigPath: string;
  /** the node whose pods are watched (spec.nodeName) */
  nodeName: string;
  log: Logger;
  index?: PodIndex;
  /** first restart delay after an error, doubled up to maxRetryMs */
  retryMs?: number;
  maxRetryMs?: number;
  /** how long start() waits for the first list */
  syncTimeoutMs?: number;
}


/** `NODE_NAME`, else `HUBBLE_NODE_NAME`, else the host name: the node whose pods are watched. */
export function k8sNodeName(env: NodeJS.ProcessEnv, fallback: string): string {
  return env.NODE_NAME || env.HUBBLE_NODE_NAME || fallback;
}

/** The message of a Kubernetes Status object in an error body (JSON text or parsed). */
function statusMessage(body: unknown): string | undefined {
  let b = body;
  if (typeof b === "string") {
    try {
      b = JSON.parse(b);
    } catch {
      return undefined;
    }
  }
  const m = (b as { message?: unknown } | null)?.message;
  return typeof m === "string" ? m : undefined;
}

export class PodWatcher {
  readonly index: PodIndex;
  private informer?: ListWatch<V1Pod>;
  private stopped = false;
  private settle?: () => void;
  private retryTimer?: NodeJS.Timeout;
  private retryMs: number;
  private synced = false;
  private lastError = "";
  /** pod events applied, for logs and tests */
  readonly counts = { added: 0, updated: 0, deleted: 0, errors: 0, restarts: 0 };

  constructor(private readonly opts: PodWatcherOptions) {
    this.index = opts.index ?? new PodIndex();
    this.retryMs = opts.retryMs ?? 1000;
  }

  get fieldSelector(): string {
    return `spec.nodeName=${this.opts.nodeName}`;
  }

  get isSynced(): boolean {
    return this.synced;
  }

  /**
   * Loads the kubeconfig and starts the informer. Throws when the kubeconfig cannot be
   * loaded; API errors are only logged (and retried). Resolves once the first list is
   * indexed, the first error was seen, or syncTimeoutMs passed.
   */
  async start(): Promise<void> {
    const { k8s, kc, server } = await loadKubeConfig(this.opts.kubeconfigPath);
    const api = kc.makeApiClient(k8s.CoreV1Api);
    const fieldSelector = this.fieldSelector;
    const list = async (): Promise<V1PodList> => {
      const l = await api.listPodForAllNamespaces({ fieldSelector });
      // the informer indexes the list right after this promise settles, before it opens the watch
      setImmediate(() => this.onListed(l.items.length));
      return l;
    };
    const informer = new k8s.ListWatch<V1Pod>("/api/v1/pods", new k8s.Watch(kc as KubeConfig), list, false, undefined, fieldSelector);
    this.informer = informer;
    informer.on("add", (p) => {
      this.counts.added++;
      this.index.upsert(p as K8sPod);
    });
    informer.on("update", (p) => {
      this.counts.updated++;
      this.index.upsert(p as K8sPod);
    });
    informer.on("delete", (p) => {
      this.counts.deleted++;
      this.index.remove(p as K8sPod);
    });
    informer.on("error", (err) => this.onError(err));
    this.opts.log.info({ server, node: this.opts.nodeName, fieldSelector }, "k8s API: watching the pods of this node");
    const timeoutMs = this.opts.syncTimeoutMs ?? 10000;
    let timer: NodeJS.Timeout | undefined;
    const settled = new Promise<void>((resolve) => {
      this.settle = resolve;
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    });
    void this.run();
    await settled;
    this.settle = undefined;
    clearTimeout(timer);
    if (!this.synced && this.counts.errors === 0) {
      this.opts.log.warn({ server, timeoutSec: timeoutMs / 1000 }, "k8s API: no pod list yet, events carry no pod information until it arrives");
    }
  }

  private async run(): Promise<void> {
    if (this.stopped || !this.informer) return;
    await this.informer.start().catch((err: unknown) => this.onError(err));
  }

  /** A list was indexed: the first one, or the first after errors, is logged. */
  private onListed(items: number): void {
    this.retryMs = this.opts.retryMs ?? 1000;
    if (!this.synced || this.lastError) {
      this.opts.log.info({ pods: items, containers: this.index.containerCount }, "k8s API: pods of this node synced");
      if (items === 0 && !this.synced) {
        this.opts.log.warn({ node: this.opts.nodeName }, "k8s API: no pod runs on this node name; set NODE_NAME to the node's Kubernetes name (spec.nodeName)");
      }
    }
    this.synced = true;
    this.lastError = "";
    this.settle?.();
  }

  private onError(err: unknown): void {
    if (this.stopped) return;
    this.counts.errors++;
    const e = err as { message?: string; code?: number | string; statusCode?: number; cause?: { code?: string } };
    // ApiException (list) has the HTTP status in code, the watch's error in statusCode; fetch errors a string code
    const status = typeof e?.statusCode === "number" ? e.statusCode : typeof e?.code === "number" ? e.code : undefined;
    const cause = typeof e?.code === "string" ? e.code : e?.cause?.code;
    let msg = (e?.message ?? String(err)).split("\n")[0].slice(0, 300);
    const reason = statusMessage((err as { body?: unknown })?.body);
    if (reason) msg += `: ${reason.slice(0, 300)}`;
    const retrySec = this.retryMs / 1000;
    this.lastError = msg;
    this.opts.log.warn(
      { err: msg, status, cause, retrySec },
      "k8s API: pod list/watch failed; events carry the pod information known so far, retrying",
    );
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.counts.restarts++;
      void this.run();
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, this.opts.maxRetryMs ?? 30000);
    this.settle?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.informer?.stop();
  }
}
