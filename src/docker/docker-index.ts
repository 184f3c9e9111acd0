/**
 * `--enable-docker`: the containers of the local Docker daemon by id, as the Pod message
 * the process cache puts on events (src/process/cache.ts). Filled by listing the running
 * containers at start, then from the daemon's container event stream (create, start,
 * rename: inspect; destroy: forget, after a delay so that the last events of the
 * container's processes still find it). A container id that events show but the index
 * does not know yet is inspected on demand, once; `whenKnown` lets the event path wait a
 * bounded time for that answer (src/docker/event-gate.ts).
 *
 * Tetragon itself associates containers with pods only through Kubernetes; plain Docker
 * gets just the `docker` field (issue cilium/tetragon#4026). tetragon-ts adds what the
 * Docker API knows in `pod.container` (id `docker://<id>`, name, image name and id,
 * start time), with empty pod namespace and name, for containers that no Kubernetes pod
 * claims.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ContainerSchema, ImageSchema, PodSchema, SecurityContextSchema } from "../api/gen/tetragon/tetragon_pb";
import { ContainerPod, type PodLookup } from "../k8s/pod-index";
import { dockerField } from "../process/container";
import type { Logger } from "../log/logger";
import { DockerClient, type DockerContainerInfo } from "./docker-client";

/** How long a destroyed container stays known. */
const FORGET_DELAY_MS = 30_000;

export function containerPodOf(info: DockerContainerInfo): ContainerPod {
  const started = info.startedAt ? new Date(info.startedAt) : undefined;
  const pod = create(PodSchema, {
    container: create(ContainerSchema, {
      id: `docker://${info.id}`,
      name: info.name,
      image: create(ImageSchema, { id: info.imageId, name: info.imageName }),
      startTime: started && !Number.isNaN(started.getTime()) ? timestampFromDate(started) : undefined,
      securityContext: create(SecurityContextSchema, { privileged: info.privileged }),
    }),
  });
  return new ContainerPod(info.id, `docker/${info.id}`, "", pod);
}

export interface DockerIndexOptions {
  socketPath: string;
  log: Logger;
  /** first delay before re-opening a failed event stream, doubled up to 30 s */
  retryMs?: number;
}

export class DockerIndex implements PodLookup {
  readonly client: DockerClient;
  /** keyed by the docker field (first 31 characters of the id) */
  private readonly byShort = new Map<string, ContainerPod>();
  /** on-demand inspections in flight or done without result, by docker field */
  private readonly pending = new Map<string, Promise<void>>();
  private readonly misses = new Set<string>();
  private stream?: { done: Promise<void>; close: () => void };
  private stopped = false;
  private retryTimer?: NodeJS.Timeout;
  private readonly timers = new Set<NodeJS.Timeout>();
  private retryMs: number;
  readonly counts = { inspected: 0, events: 0, errors: 0 };

  constructor(private readonly opts: DockerIndexOptions) {
    this.client = new DockerClient(opts.socketPath);
    this.retryMs = opts.retryMs ?? 500;
  }

  get size(): number {
    return this.byShort.size;
  }

  /**
   * Lists the running containers and opens the event stream. A daemon that does not answer
   * is logged; the stream is retried in the background and look-ups inspect on demand.
   */
  async start(): Promise<void> {
    this.openStream();
    try {
      const ids = await this.client.listIds();
      await Promise.all(ids.map((id) => this.refresh(id)));
      this.opts.log.info({ socket: this.opts.socketPath, containers: this.byShort.size }, "docker: containers listed");
    } catch (err) {
      this.opts.log.warn({ socket: this.opts.socketPath, err: String(err) }, "docker: cannot list containers; retrying through the event stream");
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.stream?.close();
    await this.stream?.done.catch(() => undefined);
    this.stream = undefined;
  }

  lookup(containerId: string): ContainerPod | undefined {
    if (containerId === "") return undefined;
    const short = dockerField(containerId);
    const rec = this.byShort.get(short);
    if (rec === undefined) {
      this.inspectOnce(short);
      return undefined;
    }
    return rec;
  }

  /**
   * Resolves once the container of this docker field is known, or its inspection gave
   * nothing, or `ms` passed. Resolves at once for a known container or a known miss.
   */
  whenKnown(containerId: string, ms: number): Promise<void> | undefined {
    const short = dockerField(containerId);
    if (this.byShort.has(short) || this.misses.has(short)) return undefined;
    const p = this.inspectOnce(short);
    if (p === undefined) return undefined;
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      p.then(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Inspects a container and (re)indexes it; forgets it when the daemon no longer has it. */
  async refresh(id: string): Promise<void> {
    const info = await this.client.inspect(id);
    this.counts.inspected++;
    const short = dockerField(id);
    if (info === undefined) return;
    this.misses.delete(short);
    this.byShort.set(dockerField(info.id), containerPodOf(info));
  }

  private inspectOnce(short: string): Promise<void> | undefined {
    if (this.stopped) return undefined;
    const cur = this.pending.get(short);
    if (cur !== undefined) return cur;
    if (this.misses.has(short)) return undefined;
    // the API takes a unique id prefix: 31 characters are unique in practice
    const p = this.refresh(short)
      .catch((err) => {
        this.counts.errors++;
        this.opts.log.debug({ id: short, err: String(err) }, "docker: inspect failed");
      })
      .finally(() => {
        this.pending.delete(short);
        if (!this.byShort.has(short)) this.misses.add(short);
      });
    this.pending.set(short, p);
    return p;
  }

  private openStream(): void {
    if (this.stopped) return;
    const stream = this.client.events((e) => this.onEvent(e.action, e.id));
    this.stream = stream;
    stream.done.then(
      () => this.reopen("event stream ended"),
      (err) => this.reopen(String(err)),
    );
  }

  private reopen(why: string): void {
    if (this.stopped) return;
    this.counts.errors++;
    this.opts.log.warn({ socket: this.opts.socketPath, err: why, retryMs: this.retryMs }, "docker: event stream closed; re-opening");
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.openStream();
      // containers started while the stream was down
      this.client.listIds().then((ids) => Promise.all(ids.map((id) => this.refresh(id))), () => undefined).catch(() => undefined);
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, 30_000);
  }

  private onEvent(action: string, id: string): void {
    this.counts.events++;
    this.retryMs = this.opts.retryMs ?? 500;
    const short = dockerField(id);
    switch (action) {
      case "create":
      case "start":
      case "rename":
      case "update": {
        this.misses.delete(short);
        const p = this.refresh(id).catch((err) => {
          this.counts.errors++;
          this.opts.log.debug({ id, err: String(err) }, "docker: inspect failed");
        });
        if (!this.pending.has(short)) {
          this.pending.set(short, p);
          void p.finally(() => this.pending.delete(short));
        }
        break;
      }
      case "destroy": {
        const t = setTimeout(() => {
          this.timers.delete(t);
          const rec = this.byShort.get(short);
          if (rec !== undefined && rec.containerId === id) this.byShort.delete(short);
          this.misses.delete(short);
        }, FORGET_DELAY_MS);
        t.unref();
        this.timers.add(t);
        break;
      }
      default:
        break;
    }
  }
}

/** Pod look-ups in order: the first that knows the container wins (Kubernetes, then Docker). */
export class ChainedLookup implements PodLookup {
  constructor(private readonly lookups: PodLookup[]) {}

  lookup(containerId: string): ContainerPod | undefined {
    for (const l of this.lookups) {
      const r = l.lookup(containerId);
      if (r !== undefined) return r;
    }
    return undefined;
  }
}
