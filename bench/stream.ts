/**
 * bench/stream: events per second delivered to one gRPC client (this process, over the
 * agent's unix socket) and to the export file while an exec storm runs, whether either
 * lost events, and the agent's CPU time per 1,000 events — once with the export only and
 * once with the export plus the gRPC client. Prints figures; asserts nothing.
 * Usage (root): node dist/bench/stream.js [execs=20000] [parallel loops=CPUs]
 * BENCH_PROFILE=<prefix> writes a CPU profile of each agent run (<prefix>.<ms>).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as net from "node:net";
import { FineGuidanceSensors } from "../src/api/gen/tetragon/sensors_pb";
import type { GetEventsResponse } from "../src/api/gen/tetragon/events_pb";
import { TetraClient } from "../src/cli/tetra/common/client";

const ROOT = path.resolve(__dirname, "../..");
const EXECS = Number(process.argv[2] ?? 20000);
const LOOPS = Number(process.argv[3] ?? os.cpus().length);
const TICKS = 100; // USER_HZ

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpuMs(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / TICKS; // utime + stime
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text.split("\n").filter((l) => l.startsWith(name)).reduce((a, l) => a + Number(l.split(" ").pop()), 0);
}

interface Agent {
  pid: number;
  dir: string;
  exportFile: string;
  socket: string;
  metricsPort: number;
  stop(): Promise<void>;
}

async function startAgent(): Promise<Agent> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-stream-"));
  const exportFile = path.join(dir, "tetragon.log");
  const socket = `unix://${path.join(dir, "tetragon.sock")}`;
  const metricsPort = await freePort();
  const proc = spawn(process.execPath, [
    "--max-semi-space-size=16", path.join(ROOT, "dist/src/cli/tetragon/main.js"),
    "--export-filename", exportFile, "--export-file-max-size-mb", "1000", "--server-address", socket,
    "--health-server-address", "", "--run-dir", dir, "--bpf-dir", `bench-stream-${process.pid}`,
    "--metrics-server", `127.0.0.1:${metricsPort}`,
  ], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, TETRAGON_TS_CPU_PROFILE: process.env.BENCH_PROFILE ? `${process.env.BENCH_PROFILE}.${Date.now()}` : "" } });
  let log = "";
  proc.stderr!.on("data", (d) => (log += d));
  const exited = new Promise<void>((r) => proc.on("exit", () => r()));
  for (let i = 0; !log.includes("agent ready"); i++) {
    if (i > 300 || proc.exitCode !== null) throw new Error(`agent did not start:\n${log}`);
    await sleep(100);
  }
  return {
    pid: proc.pid!, dir, exportFile, socket, metricsPort,
    async stop() {
      proc.kill("SIGTERM");
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Counts the storm's exec and exit lines appended to the export file since `offset`. */
function countExport(file: string, offset: number, marker: string): number {
  const text = fs.readFileSync(file).subarray(offset).toString("utf8");
  let n = 0;
  for (let i = text.indexOf(marker); i >= 0; i = text.indexOf(marker, i + 1)) n++;
  return n;
}

async function storm(marker: string): Promise<number> {
  const per = Math.ceil(EXECS / LOOPS);
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: LOOPS }, (_, l) => new Promise<void>((resolve) => {
    const sh = spawn("/bin/sh", ["-c", `i=0; while [ $i -lt ${per} ]; do /bin/true ${marker}-${l}-$i; i=$((i+1)); done`], { stdio: "ignore" });
    sh.on("exit", () => resolve());
  })));
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

interface Result {
  label: string;
  execs: number;
  stormMs: number;
  exportEvents: number;
  exportMs: number;
  grpcEvents?: number;
  grpcMs?: number;
  grpcDropped?: number;
  cpuMs: number;
  kernelLost: number;
}

async function run(withClient: boolean): Promise<Result> {
  const agent = await startAgent();
  const marker = `bs${process.pid}${withClient ? "g" : "e"}`;
  const execs = Math.ceil(EXECS / LOOPS) * LOOPS;
  const expected = execs * 2; // exec + exit
  let client: TetraClient | undefined;
  let grpcEvents = 0;
  let grpcDropped = 0;
  let grpcLast = 0;
  if (withClient) {
    client = await TetraClient.connect({ serverAddress: agent.socket, timeoutMs: 10000, retries: 2, maxRecvSize: 64 << 20, debug: false });
    const call = client.serverStream(FineGuidanceSensors.method.getEvents, {});
    call.on("data", (e: GetEventsResponse) => {
      if (e.event.case === "rateLimitInfo") grpcDropped += Number(e.event.value.numberOfDroppedProcessEvents);
      else if ((e.event.value as { process?: { arguments: string } } | undefined)?.process?.arguments.startsWith(marker)) {
        grpcEvents++;
        grpcLast = Date.now();
      }
    });
    call.on("error", () => undefined);
    await sleep(500);
  }
  const offset = fs.statSync(agent.exportFile).size;
  const cpu0 = cpuMs(agent.pid);
  const lost0 = (await metric(agent.metricsPort, "tetragon_bpf_missed_events_total"));
  const start = Date.now();
  const stormMs = await storm(marker);
  let exportEvents = 0;
  let exportLast = start;
  for (let i = 0; i < 600; i++) {
    const n = countExport(agent.exportFile, offset, `"arguments":"${marker}-`);
    if (n !== exportEvents) exportLast = Date.now();
    exportEvents = n;
    if (exportEvents >= expected && (!withClient || grpcEvents + grpcDropped >= expected)) break;
    if (Date.now() - Math.max(exportLast, grpcLast) > 5000) break; // nothing new for 5 s
    await sleep(50);
  }
  const cpu = cpuMs(agent.pid) - cpu0;
  const kernelLost = (await metric(agent.metricsPort, "tetragon_bpf_missed_events_total")) - lost0;
  client?.close();
  await agent.stop();
  return {
    label: withClient ? "export + 1 gRPC client" : "export only",
    execs, stormMs, exportEvents, exportMs: exportLast - start, cpuMs: cpu, kernelLost,
    ...(withClient ? { grpcEvents, grpcMs: grpcLast - start, grpcDropped } : {}),
  };
}

function print(r: Result): void {
  const rate = (n: number, ms: number) => (ms > 0 ? Math.round((n * 1000) / ms) : 0);
  const total = r.execs * 2;
  console.log(`\n${r.label}: ${r.execs} execs in ${(r.stormMs / 1000).toFixed(2)} s (${rate(r.execs, r.stormMs)} execs/s, ${LOOPS} loops)`);
  console.log(`  export file : ${r.exportEvents}/${total} events, ${rate(r.exportEvents, r.exportMs)} events/s`);
  if (r.grpcEvents !== undefined) {
    console.log(`  gRPC client : ${r.grpcEvents}/${total} events, ${rate(r.grpcEvents, r.grpcMs!)} events/s, ${r.grpcDropped} dropped (rate_limit_info)`);
  }
  console.log(`  kernel      : ${r.kernelLost} events lost (tetragon_bpf_missed_events_total)`);
  console.log(`  agent CPU   : ${(r.cpuMs / 1000).toFixed(2)} s, ${(r.cpuMs / (r.exportEvents / 1000)).toFixed(1)} ms per 1000 events`);
}

async function main(): Promise<void> {
  if (process.geteuid?.() !== 0) throw new Error("bench/stream needs root (it loads BPF programs)");
  console.log(`bench/stream: ${EXECS} execs, ${LOOPS} parallel loops, ${os.cpus().length} CPUs, node ${process.version}`);
  print(await run(false));
  print(await run(true));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
