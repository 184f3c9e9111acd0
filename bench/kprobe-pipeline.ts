/**
 * bench/kprobe-pipeline: the user-space path of a matching tracing-policy event without the
 * kernel, as bench/syscalls' openat policy produces it: generic records (one string
 * argument) in ring batches → dispatch → GenericEvents → event metrics → bus → export file.
 * Stages are run in turns in one process (noisy machine: compare the columns of one run):
 *   build        decode and build the messages only
 *   +pbjson      ... and encode with protobuf-es toJsonString (the encoder before)
 *   +json        ... and encode with the generated encoder (src/encode/json.ts)
 *   agent path   metrics, bus and JsonFileExporter writing a file, as the agent does
 * Usage: node dist/bench/kprobe-pipeline.js [events=100000] [turns=5] [stages=all, or a comma list]
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { toJsonString } from "@bufbuild/protobuf";
import { GetEventsResponseSchema, type GetEventsResponse } from "../src/api/gen/tetragon/events_pb";
import { ProcessCache } from "../src/process/cache";
import { KtimeClock } from "../src/process/ktime";
import { ProcessEvents } from "../src/sensors/base/process-events";
import { GenericEvents } from "../src/sensors/tracing/generic-events";
import { RecordDispatcher } from "../src/sensors/dispatch";
import { GenericOp, GT } from "../src/decode/generic-layout";
import { encodeEventJson } from "../src/encode/json";
import { EventBus } from "../src/agent/event-bus";
import { JsonFileExporter } from "../src/exporters/json-file-exporter";
import { AgentMetrics } from "../src/metrics/registry";
import { EventMetrics } from "../src/metrics/events";
import { countPolicyEvent } from "../src/agent/tracing";
import { genericRecord, hookWithMeta, ringBatch } from "../test/helpers/generic-record";

const N = Number(process.argv[2] ?? 100000);
const TURNS = Number(process.argv[3] ?? 5);
const ONLY = process.argv[4] && process.argv[4] !== "all" ? new Set(process.argv[4].split(",")) : undefined;
const BATCH = 256;
const PID = 4242, KTIME = 5_000_000_000n;

const work = fs.mkdtempSync(path.join(os.tmpdir(), "bench-kprobe-"));
const clock = new KtimeClock(0n, BigInt(Date.now()) * 1_000_000n);
const cache = new ProcessCache(65536);
const creds = { uid: 0, gid: 0, suid: 0, sgid: 0, euid: 0, egid: 0, fsuid: 0, fsgid: 0, securebits: 0, userNsLevel: 0, capPermitted: 0n, capEffective: 0n, capInheritable: 0n };
const ns = { uts: 0, ipc: 0, mnt: 0, pid: 0, pid_for_children: 0, net: 0, time: 0, time_for_children: 0, cgroup: 0, user: 0 };
const procEvents = new ProcessEvents(cache, { nodeName: "bench-node", clusterName: "", ancestors: false, clock, enableProcessCred: false, enableProcessNs: false, hostNs: {} }, () => undefined);
procEvents.handleProcEntry({ pid: 1, ppid: 0, nspid: 1, ktime: 1n, kernelThread: false, comm: "systemd", exe: "/usr/lib/systemd/systemd", argv: ["/sbin/init"], cwd: "/", creds, ns, auid: 4294967295, cgroupPath: "/" }, false, clock.timestamp(1n));
procEvents.handleExec({
  ktime: KTIME, pid: PID, tid: PID, ppid: 1, nspid: PID, auid: 0, flags: 1, parentKtime: 1n, cgroupId: 0n, creds, ns,
  filename: "/tmp/bench-syscalls-Ab12Cd/syscall-loop", cwd: "/work/wt-json-speed", cgroupName: "session-3.scope",
  args: ["/tmp/bench-syscalls-Ab12Cd/target", "20000", "0", "0"], argsTotal: 4,
});

const hooks = [hookWithMeta({
  kind: "kprobe", policyName: "bench-openat-match", functionName: "__x64_sys_openat",
  args: [{ slot: 0, type: "string", gt: GT.STRING, hidden: false, signed: false, bits: 0 }],
})];
const target = Buffer.from("/tmp/bench-syscalls-Ab12Cd/target");
const batches: Array<[Buffer, number]> = [];
for (let i = 0; i < N; i += BATCH) {
  const recs: Buffer[] = [];
  for (let j = i; j < Math.min(N, i + BATCH); j++) {
    recs.push(genericRecord({ hookId: 0, ktime: KTIME + BigInt(j) * 3157n, pid: PID, tid: PID, procKtime: KTIME, slots: new Map([[0, { data: target }]]) }));
  }
  batches.push([ringBatch(recs), recs.length]);
}

function pass(sink: (ev: GetEventsResponse) => void, after?: () => void): number {
  const dispatcher = new RecordDispatcher();
  const events = new GenericEvents(cache, hooks, { nodeName: "bench-node", clusterName: "", clock, ancestors: { kprobe: false, tracepoint: false, uprobe: false } }, sink, () => undefined);
  dispatcher.register(GenericOp.KPROBE, (buf, view, off) => events.handle(buf, view, off));
  const t0 = process.hrtime.bigint();
  for (const [b, c] of batches) dispatcher.dispatch(b, c);
  after?.();
  return Number(process.hrtime.bigint() - t0);
}

const metrics = new AgentMetrics();
const eventMetrics = new EventMetrics(metrics.eventsTotal, [], (f) => metrics.onRead(f));
let bytes = 0;
const stages: Record<string, () => number> = {
  "build": () => pass(() => undefined),
  "+pbjson": () => pass((ev) => { bytes += toJsonString(GetEventsResponseSchema, ev, { useProtoFieldName: true }).length; }),
  "+json": () => pass((ev) => { bytes += encodeEventJson(ev).length; }),
  "agent path": () => {
    const file = path.join(work, "tetragon.log");
    fs.rmSync(file, { force: true });
    const exporter = new JsonFileExporter({
      filename: file, maxSizeBytes: 2 ** 40, maxBackups: 0, compress: false, mode: 0o600, rotationIntervalSec: 0,
      rateLimit: -1, filter: () => true, transform: (ev) => ev, nodeName: "bench-node",
    }, metrics);
    const bus = new EventBus();
    bus.subscribe(exporter.onEvent);
    const ns = pass((ev) => {
      eventMetrics.count(ev);
      countPolicyEvent(metrics, ev);
      bus.publish(ev);
    }, () => exporter.flush());
    exporter.close();
    return ns;
  },
};

const results = new Map<string, number[]>();
for (let t = 0; t < TURNS; t++) {
  for (const [name, run] of Object.entries(stages)) {
    if (ONLY && !ONLY.has(name)) continue;
    if (!results.has(name)) results.set(name, []);
    results.get(name)!.push(run());
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(`bench/kprobe-pipeline: ${N} openat events per pass, ${TURNS} turns, median of turns (first turn included)`);
for (const [name, xs] of results) {
  const ns = median(xs);
  console.log(`${name.padEnd(12)} ${(ns / 1000 / N).toFixed(2).padStart(7)} us/ev ${(N / (ns / 1e9)).toFixed(0).padStart(9)} ev/s   per turn: ${xs.map((x) => (x / 1000 / N).toFixed(2)).join(" ")}`);
}
const line = encodeEventJson((() => { let last: GetEventsResponse | undefined; pass((ev) => (last = ev)); return last!; })());
console.log(`line: ${line.length} bytes`);
fs.rmSync(work, { recursive: true, force: true });
