/**
 * Tracing policies in the agent: the generic sensor (loaded with the first policy), the
 * policy manager, the decoder of its records, and the policies given at start
 * (--tracing-policy, --tracing-policy-dir; domain "static").
 */
import * as fs from "node:fs";
import * as os from "node:os";
import { kernelBtf } from "../sensors/tracing/btf";
import * as path from "node:path";
import type { AgentConfig } from "../config";
import type { Logger } from "../log/logger";
import type { NativeAddon } from "../loader/native";
import type { KernelFeature } from "../api/server/kernel-features";
import { bpfObjectPath } from "../loader/paths";
import { traceableFunctions } from "../policy/compiler/kernel-functions";
import { GenericSensor } from "../sensors/tracing/generic-sensor";
import { GenericEvents } from "../sensors/tracing/generic-events";
import { DataCache } from "../sensors/tracing/data-cache";
import { PolicyManager } from "../policy/manager";
import type { ProcessCache } from "../process/cache";
import type { KtimeClock } from "../process/ktime";
import type { GetEventsResponse } from "../api/gen/tetragon/events_pb";
import type { AgentMetrics } from "../metrics/registry";
import type { RecordDispatcher } from "../sensors/dispatch";
import { DATA_OP, GenericOp } from "../decode/generic-layout";
import { hostNamespaces } from "../process/procfs";
import { NS_FIELDS } from "../decode/layout";
import { trackedHierarchyRoot } from "../sensors/base/cgroup-mode";
import { DenyEnforcer } from "../enforce/deny-enforcer";
import { PolicyEnforcement } from "../enforce/policy-enforcement";

export interface TracingDeps {
  /** the tracked cgroup hierarchy (policy filters) */
  cgroupMode?: string;
  /** the kernel features probed at start (fentry, lsm, ...) */
  features: readonly KernelFeature[];
  config: AgentConfig;
  log: Logger;
  native: NativeAddon;
  cache: ProcessCache;
  clock: KtimeClock;
  nodeName: string;
  dispatcher: RecordDispatcher;
  emit: (ev: GetEventsResponse) => void;
  execveMapPin: string;
  eventsPin: string;
  mbsetMapPin: string;
  execveMapEntries: number;
  ringBufferBytes: number;
  wakeupBytes: number;
}

function kernelAtLeast(major: number, minor: number): boolean {
  const [a, b] = os.release().split(".").map((x) => parseInt(x, 10));
  return a > major || (a === major && b >= minor);
}

function hasKernelSymbol(name: string): boolean {
  try {
    return new RegExp(`^[0-9a-f]+ [Tt] ${name}$`, "m").test(fs.readFileSync("/proc/kallsyms", "utf8"));
  } catch {
    return false;
  }
}

/** tetragon_policy_events_total{policy, hook}: one series per hook of a loaded policy. */
export function countPolicyEvent(metrics: AgentMetrics, ev: GetEventsResponse): void {
  const e = ev.event;
  if (e.case === "processKprobe") metrics.countPolicyEvent(e.value.policyName, e.value.functionName);
  else if (e.case === "processTracepoint") metrics.countPolicyEvent(e.value.policyName, `${e.value.subsys}:${e.value.event}`);
  else if (e.case === "processUprobe") metrics.countPolicyEvent(e.value.policyName, `${e.value.path}:${e.value.symbol}`);
  else if (e.case === "processLsm") metrics.countPolicyEvent(e.value.policyName, `lsm:${e.value.functionName}`);
}

/** kprobes exist where the kernel has the kprobe PMU (CONFIG_KPROBES and KPROBE_EVENTS). */
export function hasKprobes(): boolean {
  return fs.existsSync("/sys/bus/event_source/devices/kprobe");
}

const NS_OF_SELECTOR: Record<string, (typeof NS_FIELDS)[number]> = {
  Uts: "uts", Ipc: "ipc", Mnt: "mnt", Pid: "pid", PidForChildren: "pid_for_children", Net: "net", Time: "time",
  TimeForChildren: "time_for_children", Cgroup: "cgroup", User: "user",
};

function readLinkOr(p: string): string | undefined {
  try {
    return fs.readlinkSync(p);
  } catch {
    return undefined;
  }
}

/**
 * The executable the tetra CLI runs as (bin/tetra execs node through this link, see
 * scripts/build.sh), so that enforcement can spare the agent's own CLI.
 */
export function agentCliBinaries(): string[] {
  const link = path.resolve(__dirname, "../../../build/tetra-node");
  return fs.existsSync(link) ? [link] : [];
}

export class Tracing {
  readonly sensor: GenericSensor;
  readonly policies: PolicyManager;
  unknownHooks = 0;
  /** maxData buffers between their data records and their event */
  readonly dataCache = new DataCache();
  private lastDataMisses = 0;

  constructor(private readonly d: TracingDeps) {
    const cfg = d.config;
    this.sensor = new GenericSensor(d.native, {
      objectPath: bpfObjectPath("generic", cfg["bpf-lib"]),
      pinDir: path.join(path.dirname(d.execveMapPin), "generic"),
      execveMapPin: d.execveMapPin,
      mbsetMapPin: d.mbsetMapPin,
      eventsPin: d.eventsPin,
      execveMapEntries: d.execveMapEntries,
      ringBufferBytes: d.ringBufferBytes,
      wakeupBytes: d.wakeupBytes,
      substring: hasKernelSymbol("bpf_strstr"),
      rdonlyCast: hasKernelSymbol("bpf_rdonly_cast"),
      kprobeMulti: d.features.find((f) => f.name === "kprobe_multi")?.enabled ?? false,
      agentTgid: process.pid,
      overrideReturn: d.features.find((f) => f.name === "override_return")?.enabled ?? false,
      fanotifyFailClosed: cfg["fanotify-fail"] === "closed",
      cgroupMode: d.cgroupMode,
      cgroupRoot: trackedHierarchyRoot("v2"),
      cliBinaries: agentCliBinaries(),
      btfPath: cfg.btf || undefined,
      verbose: cfg.verbose,
    }, d.log);
    const host = hostNamespaces(cfg.procfs);
    const feature = (name: string) => d.features.find((f) => f.name === name)?.enabled ?? false;
    const cgroupRoot = trackedHierarchyRoot("v2");
    this.sensor.enforcement = new PolicyEnforcement(d.native, new DenyEnforcer(d.native, {
      objectPath: bpfObjectPath("enforce", cfg["bpf-lib"]),
      denyMapPin: path.join(path.dirname(d.execveMapPin), "generic", "deny_map"),
      cgroupRoot,
      overrideReturn: feature("override_return"),
      btfPath: cfg.btf || undefined,
      verbose: cfg.verbose,
    }, d.log), { failClosed: cfg["fanotify-fail"] === "closed", maxDirs: 2000 }, d.log);
    const pid1 = readLinkOr(path.join(cfg.procfs, "1/exe"));
    this.policies = new PolicyManager(this.sensor, {
      kprobes: hasKprobes(),
      fentry: feature("fentry"),
      lsm: feature("lsm"),
      functionProto: (fn) => kernelBtf().functionProto(fn),
      kprobeTargets: () => traceableFunctions(),
      substring: hasKernelSymbol("bpf_strstr"),
      rawTracepointCookies: kernelAtLeast(6, 10),
      rawTracepointArgs: (event) => kernelBtf().rawTracepointArgs(event),
      resolve: (struct, p) => kernelBtf().resolve(struct, p),
      hostNs: (ns) => host[NS_OF_SELECTOR[ns]] ?? 0,
      overrideReturn: feature("override_return"),
      fmodRet: feature("fmodret"),
      cgroupV2: cgroupRoot !== undefined,
      fanotify: true,
      protectedBinaries: [...agentCliBinaries(), ...(pid1 ? [pid1] : [])],
    }, d.log);
    const anc = cfg["enable-ancestors"];
    const events = new GenericEvents(d.cache, this.sensor.hooks, {
      nodeName: d.nodeName, clusterName: cfg["cluster-name"], clock: d.clock,
      ancestors: { kprobe: anc.includes("kprobe"), tracepoint: anc.includes("tracepoint"), uprobe: anc.includes("uprobe") },
    }, d.emit, () => this.unknownHooks++, this.dataCache);
    const handle = (buf: Buffer, view: DataView, off: number) => events.handle(buf, view, off);
    d.dispatcher.register(DATA_OP, (buf, view, off) => events.handleData(buf, view, off));
    d.dispatcher.register(GenericOp.KPROBE, handle);
    d.dispatcher.register(GenericOp.TRACEPOINT, handle);
    d.dispatcher.register(GenericOp.UPROBE, handle);
  }

  /** Loads --tracing-policy and every regular file of --tracing-policy-dir; a bad one is logged and skipped. */
  loadStatic(): void {
    const cfg = this.d.config;
    const files: string[] = [];
    if (cfg["tracing-policy"]) files.push(cfg["tracing-policy"]);
    const dir = cfg["tracing-policy-dir"];
    if (dir && fs.existsSync(dir)) {
      for (const name of fs.readdirSync(dir).sort()) {
        const f = path.join(dir, name);
        try {
          if (fs.statSync(f).isFile()) files.push(f);
        } catch {
          /* vanished */
        }
      }
    }
    for (const f of files) {
      try {
        this.policies.add(fs.readFileSync(f, "utf8"), "static", f, true);
      } catch (err) {
        this.d.log.error({ file: f, err: (err as Error).message }, "tracing policy rejected");
      }
    }
  }

  private lastStats: Record<string, number> = {};

  /** The generic sensor's kernel counters: drops are metrics and warnings, never silent. */
  pollStats(metrics: AgentMetrics): void {
    const stats = this.sensor.readStats();
    for (const [name, v] of Object.entries(stats)) {
      const prev = this.lastStats[name] ?? 0;
      if (v > prev && (name === "ringbuf_drop" || name === "inflight_full")) {
        this.d.log.warn({ counter: `generic_${name}`, total: v, since: v - prev }, "events lost in the kernel");
      }
      if (name === "ringbuf_drop" && v > prev) metrics.ringbufLost.inc(v - prev);
      metrics.bpfMissedEvents.set({ msg_op: "generic", error: name }, v);
    }
    const dc = this.dataCache;
    if (dc.misses > this.lastDataMisses) {
      this.d.log.warn({ total: dc.misses, since: dc.misses - this.lastDataMisses }, "maxData buffers missing: their events carry only the first bytes");
      this.lastDataMisses = dc.misses;
    }
    metrics.dataCacheSize.set(dc.size);
    metrics.dataCacheCapacity.set(dc.capacity);
    metrics.dataCacheEvictions.set(dc.evictions);
    metrics.dataCacheMisses.set({ op: "get" }, dc.misses);
    if (this.unknownHooks) metrics.unknownOpTotal.inc({ opcode: "generic", error_type: "unknown_hook" }, this.unknownHooks);
    this.unknownHooks = 0;
    this.lastStats = stats;
  }

  /** keepSensors (--keep-sensors-on-exit): the policies' hooks and enforcement stay in the kernel. */
  stop(keepPins = false, keepSensors = false): void {
    if (!keepSensors) this.policies.clear();
    this.sensor.close(keepPins, keepSensors);
  }
}
