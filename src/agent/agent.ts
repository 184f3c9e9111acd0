/**
 * The agent: loads the process sensor, seeds the process cache from /proc, turns kernel
 * records into events and fans them out to the exporters. Built from one AgentConfig;
 * stop() detaches and unpins everything it created.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import type { AgentConfig } from "../config";
import type { Logger } from "../log/logger";
import { loadNative, type NativeAddon } from "../loader/native";
import { ensureMounts } from "../loader/mounts";
import { bpfObjectPath } from "../loader/paths";
import { ProcessSensor } from "../sensors/base/process-sensor";
import { detectCgroupMode, trackedHierarchyRoot, type CgroupMode } from "../sensors/base/cgroup-mode";
import { ProcessEvents } from "../sensors/base/process-events";
import { RecordDispatcher } from "../sensors/dispatch";
import { MsgOp } from "../decode/layout";
import { decodeClone, decodeExec, decodeExit } from "../decode/process";
import { Tracing, countPolicyEvent } from "./tracing";
import { ProcessCache } from "../process/cache";
import { KtimeClock, nowTimestamp } from "../process/ktime";
import { hostNamespaces, walkProc } from "../process/procfs";
import { EventBus } from "./event-bus";
import { nodeName } from "./node-name";
import { AgentMetrics } from "../metrics/registry";
import { JsonFileExporter } from "../exporters/json-file-exporter";
import { buildExportPipeline } from "../exporters/export-pipeline";
import { SensorStat } from "../decode/layout";
import { ApiServer, formatFeatures, probeKernelFeatures, type KernelFeature } from "../api/server";
import { EventMetrics } from "../metrics/events";
import { CpuProfiler } from "./profiler";
import { PodWatcher, k8sNodeName } from "../k8s/pod-watcher";
import { ChainedLookup, DockerIndex } from "../docker/docker-index";
import { DockerClient } from "../docker/docker-client";
import { DockerEventGate } from "../docker/event-gate";
import type { GetEventsResponse } from "../api/gen/tetragon/events_pb";
import { PolicyWatcher } from "../k8s/policy-watcher";
import { PolicyFilterSync } from "../k8s/policy-filter";

const DEFAULT_EXECVE_MAP_ENTRIES = 32768;
const MIN_RING_BYTES = 1 << 20;

function ringBytes(cfg: AgentConfig, ncpu: number): number {
  let want = cfg["rb-size-total"] > 0 ? cfg["rb-size-total"] : cfg["rb-size"] > 0 ? cfg["rb-size"] * ncpu : 65536 * ncpu;
  want = Math.max(want, MIN_RING_BYTES);
  let p = 4096;
  while (p < want) p *= 2;
  return p;
}

export class Agent {
  readonly bus = new EventBus();
  readonly metrics = new AgentMetrics();
  readonly cache: ProcessCache;
  readonly node: string;
  private native!: NativeAddon;
  private sensor?: ProcessSensor;
  private handler!: ProcessEvents;
  private exporter?: JsonFileExporter;
  readonly dispatcher = new RecordDispatcher();
  tracing?: Tracing;
  private timers: NodeJS.Timeout[] = [];
  private metricsServer?: http.Server;
  private pendingBatches: Array<[Buffer, number]> | null = [];
  private lastStats: Record<string, number> = {};
  private lastCacheStats = { misses: 0, evictions: 0 };
  private api?: ApiServer;
  private readonly eventMetrics: EventMetrics;
  features: KernelFeature[] = [];
  private profiler = new CpuProfiler(process.env.TETRAGON_TS_CPU_PROFILE);
  cgroupMode: CgroupMode = "v2";
  clock!: KtimeClock;
  podWatcher?: PodWatcher;
  docker?: DockerIndex;
  private dockerGate?: DockerEventGate;
  policyWatcher?: PolicyWatcher;
  policyFilter?: PolicyFilterSync;

  constructor(readonly config: AgentConfig, readonly log: Logger) {
    this.cache = new ProcessCache(config["process-cache-size"]);
    this.node = nodeName();
    this.eventMetrics = new EventMetrics(this.metrics.eventsTotal, config["metrics-label-filter"], (f) => this.metrics.onRead(f));
  }

  async start(): Promise<void> {
    const cfg = this.config;
    const mounted = ensureMounts();
    if (mounted.length) this.log.info({ mounted }, "mounted pseudo file systems");
    this.native = loadNative();
    this.clock = new KtimeClock(this.native.clockBoottimeNs(), BigInt(Date.now()) * 1_000_000n);
    this.cgroupMode = detectCgroupMode();
    this.log.info({ libbpf: this.native.libbpfVersion(), cgroupMode: this.cgroupMode, node: this.node }, "starting tetragon-ts");

    if (cfg["enable-k8s-api"]) await this.startPodWatcher();
    if (cfg["enable-docker"] || (await this.dockerAnswers())) await this.startDocker();
    const publish = (ev: GetEventsResponse) => (this.dockerGate ? this.dockerGate.push(ev) : this.bus.publish(ev));

    this.handler = new ProcessEvents(
      this.cache,
      {
        nodeName: this.node,
        clusterName: cfg["cluster-name"],
        ancestors: cfg["enable-ancestors"].includes("base"),
        clock: this.clock,
        enableProcessCred: cfg["enable-process-cred"],
        enableProcessNs: cfg["enable-process-ns"],
        hostNs: hostNamespaces(cfg.procfs),
      },
      (ev) => {
        this.eventMetrics.count(ev);
        publish(ev);
      },
    );

    if (cfg["export-filename"]) {
      const pipeline = buildExportPipeline(cfg);
      this.exporter = new JsonFileExporter(
        {
          filename: cfg["export-filename"],
          maxSizeBytes: cfg["export-file-max-size-mb"] * 1024 * 1024,
          maxBackups: cfg["export-file-max-backups"],
          compress: cfg["export-file-compress"],
          mode: parseInt(cfg["export-file-perm"], 8),
          rotationIntervalSec: cfg["export-file-rotation-interval"],
          rateLimit: cfg["export-rate-limit"],
          nodeName: this.node,
          filter: pipeline.filter,
          transform: pipeline.transform,
        },
        this.metrics,
      );
      this.bus.subscribe(this.exporter.onEvent);
      this.log.info({ file: cfg["export-filename"] }, "exporting events as JSON");
    }

    const ncpu = this.native.numPossibleCpus();
    this.sensor = new ProcessSensor(
      this.native,
      {
        objectPath: bpfObjectPath("process", cfg["bpf-lib"]),
        cgroupMode: this.cgroupMode,
        execveMapEntries: cfg["execve-map-entries"] > 0 ? cfg["execve-map-entries"] : DEFAULT_EXECVE_MAP_ENTRIES,
        ringBufferBytes: ringBytes(cfg, ncpu),
        pinDir: path.join("/sys/fs/bpf", cfg["bpf-dir"]),
        btfPath: cfg.btf || undefined,
        verbose: cfg.verbose,
        wakeupBytes: Math.min(64 * 1024, ringBytes(cfg, ncpu) / 8),
        pollTimeoutMs: 10,
      },
      this.log,
    );
    try {
      this.sensor.load();
    } catch (err) {
      this.sensor = undefined;
      throw new Error("load sensor process", { cause: err });
    }
    this.log.info({ attach: this.sensor.attachMode }, "process sensor loaded");
    this.features = probeKernelFeatures({ native: this.native, probeObject: bpfObjectPath("probe", cfg["bpf-lib"]) });
    this.log.info(`BPF detected features: ${formatFeatures(this.features)}`);
    // Records that arrive during the /proc walk wait until the cache knows their parents.
    const h = this.handler;
    this.dispatcher.register(MsgOp.EXECVE, (buf, view, off) => h.handleExec(decodeExec(buf, view, off)));
    this.dispatcher.register(MsgOp.CLONE, (_buf, view, off) => h.handleClone(decodeClone(view, off)));
    this.dispatcher.register(MsgOp.EXIT, (_buf, view, off) => h.handleExit(decodeExit(view, off)));
    this.sensor.startRing((buf, count) => this.onBatch(buf, count));
    this.seedFromProc();
    this.tracing = new Tracing({
      config: cfg, log: this.log, native: this.native, cache: this.cache, clock: this.clock, nodeName: this.node,
      dispatcher: this.dispatcher, features: this.features,
      emit: (ev) => {
        this.eventMetrics.count(ev);
        countPolicyEvent(this.metrics, ev);
        publish(ev);
      },
      cgroupMode: this.cgroupMode,
      execveMapPin: this.sensor.execveMapPin,
      eventsPin: this.sensor.eventsPin,
      mbsetMapPin: this.sensor.mbsetMapPin,
      execveMapEntries: cfg["execve-map-entries"] > 0 ? cfg["execve-map-entries"] : DEFAULT_EXECVE_MAP_ENTRIES,
      ringBufferBytes: ringBytes(cfg, ncpu),
      wakeupBytes: Math.min(64 * 1024, ringBytes(cfg, ncpu) / 8),
    });
    const cgroupRoot = trackedHierarchyRoot(this.cgroupMode);
    if (cgroupRoot) {
      // before the static policies: their filters are filled as soon as they are installed
      this.policyFilter = new PolicyFilterSync({
        sensor: this.tracing.sensor, containers: () => this.podWatcher?.index.containers() ?? [], cgroupRoot, log: this.log,
      });
      this.policyFilter.start();
    }
    this.tracing.loadStatic();
    if (cfg["enable-k8s-api"]) await this.startPolicyWatcher(this.tracing);
    const queued = this.pendingBatches ?? [];
    this.pendingBatches = null;
    for (const [b, c] of queued) this.onBatch(b, c);

    this.timers.push(setInterval(() => this.cache.gc(), Math.max(1, cfg["process-cache-gc-interval"]) * 1000));
    this.timers.push(setInterval(() => this.pollKernelStats(), 5000));
    for (const t of this.timers) t.unref();
    const version = require("../../../package.json").version as string;
    this.metrics.buildInfo.set({ version, commit: "", runtime: process.version }, 1);
    this.api = new ApiServer({
      config: cfg, log: this.log, bus: this.bus, cache: this.cache, metrics: this.metrics, nodeName: this.node,
      version, features: () => this.features, policies: this.tracing?.policies,
    });
    await this.api.start();
    if (cfg["metrics-server"]) await this.startMetricsServer(cfg["metrics-server"]);
    this.profiler.start();
    this.log.info("agent ready");
  }

  /**
   * --enable-k8s-api: the pod watcher fills the process cache's pod index before the /proc
   * walk, so that running processes are exported with their pods. A kubeconfig that cannot
   * be loaded, or an API server that cannot be reached, is logged and the agent runs on
   * without pod information (the watcher keeps retrying the API server).
   */
  private async startPodWatcher(): Promise<void> {
    const watcher = new PodWatcher({
      kubeconfigPath: this.config["k8s-kubeconfig-path"],
      nodeName: k8sNodeName(process.env, this.node),
      log: this.log,
    });
    try {
      await watcher.start();
      this.podWatcher = watcher;
      this.cache.pods = watcher.index;
    } catch (err) {
      await watcher.stop().catch(() => undefined);
      this.log.error(
        { err: err instanceof Error ? err.message : String(err), kubeconfig: this.config["k8s-kubeconfig-path"] || "(default)" },
        "k8s API: cannot start the pod watcher; events carry no pod information",
      );
    }
  }

  /**
   * --enable-docker: the Docker index lists the running containers before the /proc walk
   * and follows the daemon's container events; the event gate holds back, for a bounded
   * time, events of containers the index is still inspecting. A daemon that does not answer
   * is logged; the index keeps re-opening its event stream.
   */
  /** Without --enable-docker, a daemon that answers on --docker-socket turns the Docker index on. */
  private async dockerAnswers(): Promise<boolean> {
    const socket = this.config["docker-socket"];
    if (!socket || !fs.existsSync(socket)) return false;
    const up = await new DockerClient(socket, 1000).ping();
    if (up) this.log.info({ socket }, "a Docker daemon answers: container names and images on events (--enable-docker)");
    return up;
  }

  private async startDocker(): Promise<void> {
    const index = new DockerIndex({ socketPath: this.config["docker-socket"], log: this.log });
    await index.start();
    this.docker = index;
    this.cache.pods = this.cache.pods ? new ChainedLookup([this.cache.pods, index]) : index;
    this.dockerGate = new DockerEventGate(this.cache, index, (ev) => this.bus.publish(ev));
  }

  /**
   * --enable-k8s-api: the TracingPolicy and TracingPolicyNamespaced objects are loaded into the
   * policy manager (domain "k8s") and kept in sync with the API server.
   */
  private async startPolicyWatcher(tracing: Tracing): Promise<void> {
    const watcher = new PolicyWatcher({ kubeconfigPath: this.config["k8s-kubeconfig-path"], log: this.log, sink: tracing.policies });
    try {
      await watcher.start();
      this.policyWatcher = watcher;
    } catch (err) {
      await watcher.stop().catch(() => undefined);
      this.log.error(
        { err: err instanceof Error ? err.message : String(err), kubeconfig: this.config["k8s-kubeconfig-path"] || "(default)" },
        "k8s API: cannot watch TracingPolicy objects",
      );
    }
  }

  private onBatch(buf: Buffer, count: number): void {
    if (this.pendingBatches) {
      this.pendingBatches.push([buf, count]);
      return;
    }
    this.metrics.ringbufReceived.inc(count);
    this.dispatcher.dispatch(buf, count);
  }

  private seedFromProc(): void {
    const entries = walkProc(this.config.procfs, this.cgroupMode);
    const now = nowTimestamp();
    let exported = 0;
    for (const p of entries) {
      const parent = this.cache.byPidCurrent(p.ppid);
      this.handler.handleProcEntry(p, !p.kernelThread, now);
      if (!p.kernelThread) exported++;
      try {
        this.sensor!.writeProcEntry(p, parent ? parent.ktime : 0n);
      } catch (err) {
        // EEXIST: the process exec'd since it was read, the kernel has a fresher entry
        if ((err as { code?: string }).code !== "EEXIST") this.log.warn({ pid: p.pid, err: String(err) }, "could not add a /proc process to execve_map");
      }
    }
    this.log.info({ processes: entries.length, exported }, "read running processes from /proc");
  }

  private pollKernelStats(): void {
    if (!this.sensor) return;
    const stats = this.sensor.readStats();
    const prevStats = this.lastStats;
    for (const name of SensorStat) {
      const v = stats[name] ?? 0;
      const prev = this.lastStats[name] ?? 0;
      if (v > prev && name !== "parent_miss") this.log.warn({ counter: name, total: v, since: v - prev }, "events lost in the kernel");
      const [msgOp, error] = name.startsWith("ringbuf_drop") ? [name.slice("ringbuf_drop_".length), "ENOSPC"] : ["", name];
      this.metrics.bpfMissedEvents.set({ msg_op: msgOp, error }, v);
    }
    this.lastStats = stats;
    const lost = SensorStat.filter((n) => n.startsWith("ringbuf_drop")).reduce((a, n) => a + Math.max(0, (stats[n] ?? 0) - (prevStats[n] ?? 0)), 0);
    if (lost > 0) this.metrics.ringbufLost.inc(lost);
    const c = this.cache.stats();
    if (c.misses > this.lastCacheStats.misses) {
      this.metrics.errorsTotal.inc({ type: "process_cache_miss_on_get" }, c.misses - this.lastCacheStats.misses);
      this.log.info({ total: c.misses, since: c.misses - this.lastCacheStats.misses }, "process cache misses");
    }
    if (c.evictions > this.lastCacheStats.evictions) this.metrics.errorsTotal.inc({ type: "process_cache_evicted" }, c.evictions - this.lastCacheStats.evictions);
    this.lastCacheStats = { misses: c.misses, evictions: c.evictions };
    this.metrics.cacheSize.set(c.size);
    this.metrics.cacheCapacity.set(c.capacity);
    this.metrics.cacheEvictions.set(c.evictions);
    this.metrics.cacheMisses.set(c.misses);
    this.tracing?.pollStats(this.metrics);
    for (const [op, n] of this.dispatcher.unknownOps) this.metrics.unknownOpTotal.inc({ opcode: String(op), error_type: "unknown_opcode" }, n);
    this.dispatcher.unknownOps.clear();
  }

  kernelStats(): Record<string, number> {
    return this.sensor ? this.sensor.readStats() : {};
  }

  private startMetricsServer(addr: string): Promise<void> {
    const i = addr.lastIndexOf(":");
    const host = i > 0 ? addr.slice(0, i) : undefined;
    const port = Number(addr.slice(i + 1));
    this.metricsServer = http.createServer(async (req, res) => {
      if (req.url !== "/metrics") {
        res.writeHead(404).end();
        return;
      }
      this.pollKernelStats();
      res.writeHead(200, { "Content-Type": this.metrics.registry.contentType });
      res.end(await this.metrics.registry.metrics());
    });
    return new Promise((resolve, reject) => {
      this.metricsServer!.once("error", reject);
      this.metricsServer!.listen(port, host, () => resolve());
    });
  }

  async stop(): Promise<void> {
    await this.policyWatcher?.stop();
    this.policyWatcher = undefined;
    this.policyFilter?.stop();
    this.policyFilter = undefined;
    await this.podWatcher?.stop();
    this.podWatcher = undefined;
    await this.docker?.stop();
    this.docker = undefined;
    await this.api?.stop();
    this.api = undefined;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.profiler.stop();
    const keepPins = this.config["keep-sensors-on-exit"] || !this.config["release-pinned-bpf"];
    this.tracing?.stop(keepPins, this.config["keep-sensors-on-exit"]);
    this.tracing = undefined;
    if (this.sensor) {
      this.pollKernelStats();
      const keep = this.config["keep-sensors-on-exit"] || !this.config["release-pinned-bpf"];
      await this.sensor.stop(keep);
      this.sensor = undefined;
    }
    this.exporter?.close();
    this.exporter = undefined;
    if (this.metricsServer) await new Promise<void>((r) => this.metricsServer!.close(() => r()));
    this.log.info("agent stopped");
  }
}
