/**
 * The gRPC API of the real agent over its unix socket, with real processes: every
 * GetEvents filter field narrows a real event stream as Tetragon's semantics say, field
 * filters keep and remove what they say, two clients get the same events, a client that
 * stops reading stalls neither the other client nor the export file, bad requests are
 * INVALID_ARGUMENT, and /metrics counts match the events produced.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { CapabilitiesType } from "../../src/api/gen/tetragon/capabilities_pb";
import { EventType, FieldFilterAction } from "../../src/api/gen/tetragon/events_pb";
import type { TetraClient } from "../../src/cli/tetra/common/client";
import { isExec, isExit, startAgent, tempDir, type JsonEvent, type RunningAgent } from "../helpers/agent";
import {
  connect, freePort, keyOf, metricValue, openStream, payload, scrapeMetrics, sleep, typeOf, waitUntil,
  type EventsRequest, type Stream,
} from "./grpc-helpers";

const QUEUE = 1000;

function copyBinary(src: string, dst: string): string {
  fs.copyFileSync(src, dst);
  fs.chmodSync(dst, 0o755);
  return dst;
}

function useAgent(args: () => Promise<string[]>): { agent: () => RunningAgent; client: () => TetraClient } {
  let agent: RunningAgent;
  let client: TetraClient;
  before(async () => {
    agent = await startAgent(["--export-file-max-size-mb", "200", "--event-queue-size", String(QUEUE), ...(await args())], { grpc: true });
    client = await connect(agent.serverAddress);
  });
  after(async () => {
    client?.close();
    const code = await agent?.stop();
    assert.equal(code, 0, agent?.logs());
    assert.ok(!fs.existsSync(agent.serverAddress.slice("unix://".length)), "the socket is removed on stop");
    assert.ok(!fs.existsSync(path.join(agent.runDir, "tetragon-info.json")), "the info file is removed on stop");
  });
  return { agent: () => agent, client: () => client };
}

describe("gRPC API of the real agent: filters", () => {
  // ancestors and credentials, for ancestor_binary_regex and capabilities
  const ctx = useAgent(async () => ["--enable-ancestors", "base", "--enable-process-cred"]);
  let agent: RunningAgent;
  let client: TetraClient;
  before(() => {
    agent = ctx.agent();
    client = ctx.client();
  });

  test("the socket is 0660 and tetragon-info.json names it", () => {
    const sock = agent.serverAddress.slice("unix://".length);
    assert.equal(fs.statSync(sock).mode & 0o777, 0o660);
    const info = JSON.parse(fs.readFileSync(path.join(agent.runDir, "tetragon-info.json"), "utf8"));
    assert.equal(info.server_address, agent.serverAddress);
    assert.equal(info.export_fname, agent.exportFile);
    assert.equal(info.pid, agent.proc.pid);
  });

  test("every filter field narrows a real event stream", async () => {
    const tag = `g${crypto.randomBytes(4).toString("hex")}`;
    const dir = tempDir("grpc-filters-");
    const alpha = copyBinary("/bin/true", path.join(dir, `alpha-${tag}`));
    const beta = copyBinary("/bin/true", path.join(dir, `beta-${tag}`));
    const gamma = copyBinary("/bin/true", path.join(dir, `gamma-${tag}`));
    const sh2 = copyBinary("/bin/sh", path.join(dir, `sh2-${tag}`));
    const psh = copyBinary("/bin/sh", path.join(dir, `psh-${tag}`));
    // psh waits for "go", then runs the workload and finally becomes gamma (same pid)
    const script = [
      "read x",
      `${alpha} ${tag}-A`,
      `${beta} ${tag}-B`,
      `${sh2} -c "${alpha} ${tag}-C"`,
      `setpriv --bounding-set=-sys_admin --inh-caps=-sys_admin ${alpha} ${tag}-D`,
      `exec ${gamma} ${tag}-E`,
    ].join("; ");
    const work: ChildProcess = spawn(psh, ["-c", script], { stdio: ["pipe", "ignore", "inherit"] });
    const P = work.pid!;
    await sleep(200);

    const re = (s: string) => new RegExp(s);
    const cases: { name: string; req: EventsRequest; expect: (e: JsonEvent) => boolean }[] = [
      { name: "binary_regex", req: { allowList: [{ binaryRegex: [`alpha-${tag}$`] }] }, expect: (e) => payload(e)!.process.binary === alpha },
      { name: "namespace \"\" (host)", req: { allowList: [{ namespace: [""] }] }, expect: () => true },
      { name: "namespace default", req: { allowList: [{ namespace: ["default"] }] }, expect: () => false },
      { name: "pid", req: { allowList: [{ pid: [P] }] }, expect: (e) => payload(e)!.process.pid === P },
      { name: "pid_set", req: { allowList: [{ pidSet: [P] }] }, expect: (e) => !payload(e)!.process.arguments.includes(`${tag}-Z`) },
      { name: "event_set", req: { allowList: [{ eventSet: [EventType.PROCESS_EXIT] }] }, expect: isExit },
      { name: "pod_regex", req: { allowList: [{ podRegex: [".*"] }] }, expect: () => false },
      { name: "arguments_regex", req: { allowList: [{ argumentsRegex: [`${tag}-B$`] }] }, expect: (e) => payload(e)!.process.arguments === `${tag}-B` },
      { name: "labels", req: { allowList: [{ labels: ["app=x"] }] }, expect: () => false },
      { name: "policy_names", req: { allowList: [{ policyNames: ["p"] }] }, expect: () => false },
      { name: "parent_binary_regex", req: { allowList: [{ parentBinaryRegex: [`sh2-${tag}$`] }] }, expect: (e) => payload(e)!.parent?.binary === sh2 },
      { name: "parent_arguments_regex", req: { allowList: [{ parentArgumentsRegex: [`${tag}-C`] }] }, expect: (e) => re(`${tag}-C`).test(payload(e)!.parent?.arguments ?? "") },
      { name: "container_id", req: { allowList: [{ containerId: ["."] }] }, expect: () => false },
      { name: "in_init_tree true", req: { allowList: [{ inInitTree: true }] }, expect: () => false },
      { name: "in_init_tree false", req: { allowList: [{ inInitTree: false }] }, expect: () => true },
      {
        name: "ancestor_binary_regex", req: { allowList: [{ ancestorBinaryRegex: [`psh-${tag}$`] }] },
        expect: (e) => (payload(e)!.ancestors ?? []).some((a: { binary: string }) => a.binary === psh),
      },
      { name: "container_name_regex", req: { allowList: [{ containerNameRegex: ["."] }] }, expect: () => false },
      { name: "namespace_regex", req: { allowList: [{ namespaceRegex: ["."] }] }, expect: () => false },
      { name: "health_check", req: { allowList: [{ healthCheck: true }] }, expect: () => false },
      {
        name: "capabilities", req: { allowList: [{ capabilities: { effective: { none: [CapabilitiesType.CAP_SYS_ADMIN] } } }] },
        expect: (e) => !(payload(e)!.process.cap?.effective ?? []).includes("CAP_SYS_ADMIN"),
      },
      { name: "deny_list", req: { denyList: [{ binaryRegex: [`alpha-${tag}$`] }] }, expect: (e) => payload(e)!.process.binary !== alpha },
      {
        name: "allow_list filters are ORed", req: { allowList: [{ binaryRegex: [`alpha-${tag}$`] }, { binaryRegex: [`beta-${tag}$`] }] },
        expect: (e) => [alpha, beta].includes(payload(e)!.process.binary),
      },
      {
        name: "fields of one filter are ANDed", req: { allowList: [{ binaryRegex: [`alpha-${tag}$`], eventSet: [EventType.PROCESS_EXIT] }] },
        expect: (e) => isExit(e) && payload(e)!.process.binary === alpha,
      },
    ];
    const streams = cases.map((c) => openStream(client, c.req));
    const control = openStream(client, {}); // opened last on the same connection: registered last
    const sync = path.join(dir, `sync-${tag}`);
    copyBinary("/bin/true", sync);
    await waitUntil(() => {
      spawnSync(sync);
      return control.events.some((e) => payload(e)?.process?.binary === sync);
    }, "the streams to be live");

    spawnSync(beta, [`${tag}-Z`]); // not a descendant of psh
    work.stdin!.end("go\n");
    await waitUntil(() => control.events.some((e) => isExit(e) && payload(e)!.process.binary === gamma), "the end of the workload");
    await sleep(700);

    const inWork = (e: JsonEvent) => (isExec(e) || isExit(e)) && String(payload(e)!.process.arguments ?? "").includes(tag);
    const work0 = control.events.filter(inWork);
    const types = new Set(work0.map((e) => `${typeOf(e)} ${payload(e)!.process.binary}`));
    for (const want of [`process_exec ${alpha}`, `process_exit ${alpha}`, `process_exec ${beta}`, `process_exec ${sh2}`, `process_exec ${gamma}`, `process_exit ${gamma}`]) {
      assert.ok(types.has(want), `control saw ${want}: ${[...types].join(", ")}`);
    }
    const workKeys = new Set(work0.map(keyOf));
    for (const [i, c] of cases.entries()) {
      const s = streams[i];
      assert.equal(s.error, undefined, `${c.name}: ${s.error?.details}`);
      const want = work0.filter(c.expect).map(keyOf).sort();
      const got = s.events.map(keyOf).filter((k) => workKeys.has(k)).sort();
      assert.deepEqual(got, want, c.name);
    }
    // the cases really narrow: each non-trivial one keeps some and drops some
    for (const name of ["binary_regex", "pid", "pid_set", "event_set", "arguments_regex", "parent_binary_regex", "ancestor_binary_regex", "capabilities", "deny_list"]) {
      const i = cases.findIndex((c) => c.name === name);
      const n = work0.filter(cases[i].expect).length;
      assert.ok(n > 0 && n < work0.length, `${name} keeps ${n} of ${work0.length}`);
    }
    for (const s of [...streams, control]) s.call.cancel();
  });

  test("field filters keep and remove what they say", async () => {
    const tag = `f${crypto.randomBytes(4).toString("hex")}`;
    const include = openStream(client, {
      allowList: [{ argumentsRegex: [tag] }],
      fieldFilters: [{ eventSet: [EventType.PROCESS_EXEC], fields: { paths: ["process.binary", "process.arguments", "parent.pid"] }, action: FieldFilterAction.INCLUDE }],
    });
    const exclude = openStream(client, {
      allowList: [{ argumentsRegex: [tag] }],
      fieldFilters: [{ fields: { paths: ["parent", "process.cwd", "process.exec_id"] }, action: FieldFilterAction.EXCLUDE }],
    });
    const inverted = openStream(client, {
      allowList: [{ argumentsRegex: [tag] }],
      fieldFilters: [{ eventSet: [EventType.PROCESS_EXEC], invertEventSet: true, fields: { paths: ["parent"] }, action: FieldFilterAction.EXCLUDE }],
    });
    await waitUntil(() => {
      spawnSync("/bin/echo", [tag]);
      return [include, exclude, inverted].every((s) => s.events.some(isExit));
    }, "events on the three streams");
    const inc = include.events.find(isExec)!;
    assert.deepEqual(Object.keys(inc.process_exec).sort(), ["parent", "process"]);
    assert.deepEqual(Object.keys(inc.process_exec.process).sort(), ["arguments", "binary"]);
    assert.deepEqual(Object.keys(inc.process_exec.parent), ["pid"]);
    assert.ok(inc.node_name && inc.time, "top-level fields stay");
    const incExit = include.events.find(isExit)!;
    assert.ok(incExit.process_exit.process.exec_id && incExit.process_exit.parent, "exits are untouched (event_set)");
    for (const e of exclude.events.filter((x) => isExec(x) || isExit(x))) {
      const p = payload(e)!;
      assert.equal(p.parent, undefined);
      assert.equal(p.process.cwd, undefined);
      assert.equal(p.process.exec_id, undefined);
      assert.equal(p.process.binary, "/bin/echo");
    }
    assert.ok(inverted.events.find(isExec)!.process_exec.parent, "exec keeps parent (inverted event set)");
    assert.equal(inverted.events.find(isExit)!.process_exit.parent, undefined);
    for (const s of [include, exclude, inverted]) s.call.cancel();
  });

  test("bad requests are INVALID_ARGUMENT", async () => {
    for (const req of [
      { allowList: [{ binaryRegex: ["(unclosed"] }] },
      { allowList: [{ eventSet: [2 as EventType] }] },
      { denyList: [{ labels: ["a in (b"] }] },
    ] as EventsRequest[]) {
      const s = openStream(client, req);
      await waitUntil(() => s.error !== undefined || s.ended, "the answer");
      assert.equal(s.error?.code, grpc.status.INVALID_ARGUMENT, JSON.stringify(req));
    }
    const h = await client.unary((await import("../../src/api/gen/tetragon/sensors_pb")).FineGuidanceSensors.method.getHealth, {});
    assert.equal(h.healthStatus[0].details, "running", "the agent is still serving");
  });

});

describe("gRPC API of the real agent: streams and metrics", () => {
  let metricsPort: number;
  let agent: RunningAgent;
  let client: TetraClient;
  const ctx = useAgent(async () => {
    metricsPort = await freePort();
    return ["--metrics-server", `127.0.0.1:${metricsPort}`];
  });
  before(() => {
    agent = ctx.agent();
    client = ctx.client();
  });

  test("two clients get the same events; a client that stops reading stalls neither the other nor the export file", async () => {
    const tag = `s${crypto.randomBytes(4).toString("hex")}`;
    const other = await connect(agent.serverAddress);
    const stalled = await connect(agent.serverAddress);
    const a = openStream(client, { allowList: [{ argumentsRegex: [tag] }] });
    const b = openStream(other, { allowList: [{ argumentsRegex: [tag] }] });
    const slow = openStream(stalled, {});
    slow.call.pause();
    await waitUntil(() => {
      spawnSync("/bin/true", [`${tag}-warmup`]);
      return a.events.length > 0 && b.events.length > 0;
    }, "the streams to be live");
    // an exec storm several times the per-client queue
    const N = 1500;
    // (spawned, not spawnSync: this process is the reading client and must keep reading)
    const storm = spawn("/bin/sh", ["-c", `i=0; while [ $i -lt ${N} ]; do /bin/true ${tag}-$i; i=$((i+1)); done`], { stdio: "ignore" });
    assert.equal(await new Promise((r) => storm.on("exit", r)), 0);
    const stormRe = new RegExp(`^${tag}-\\d+$`);
    const stormOf = (evs: JsonEvent[]) => evs.filter((e) => isExec(e) && stormRe.test(payload(e)!.process.arguments ?? ""));
    const rawStorm = (s: Stream) => s.raw.filter((e) => e.event.case === "processExec" && stormRe.test(e.event.value.process?.arguments ?? "")).length;
    await waitUntil(() => rawStorm(a) === N && rawStorm(b) === N, `${N} execs on both clients (${rawStorm(a)}, ${rawStorm(b)})`, 30000);
    await agent.waitFor((e) => isExec(e) && e.process_exec.process.arguments === `${tag}-${N - 1}`, "the last exec in the export file", 30000);
    assert.equal(stormOf(agent.events()).length, N, "the export file has every exec");
    assert.deepEqual(a.events.map(keyOf), b.events.map(keyOf), "both clients got the same events in the same order");
    assert.equal(a.events.filter((e) => e.rate_limit_info !== undefined).length, 0, "the reading client lost nothing");

    slow.call.resume();
    await sleep(500);
    const marker = `${tag}-after`;
    await waitUntil(() => {
      spawnSync("/bin/true", [marker]);
      return slow.events.some((e) => payload(e)?.process?.arguments === marker);
    }, "the stalled client to catch up");
    const rli = slow.events.filter((e) => e.rate_limit_info !== undefined);
    assert.ok(rli.length >= 1, "the stalled client was told it lost events");
    const dropped = rli.reduce((n, e) => n + Number(e.rate_limit_info.number_of_dropped_process_events), 0);
    assert.ok(dropped > 0);
    const metrics = await scrapeMetrics(metricsPort);
    assert.ok((metricValue(metrics, "tetragon_notify_overflowed_events_total") ?? 0) >= dropped, "drops are counted");
    for (const s of [a, b, slow]) s.call.cancel();
    other.close();
    stalled.close();
  });

  test("/metrics counts match the events produced", async () => {
    const tag = `m${crypto.randomBytes(4).toString("hex")}`;
    const dir = tempDir("grpc-metrics-");
    const bin = copyBinary("/bin/true", path.join(dir, `count-${tag}`));
    const N = 7;
    for (let i = 0; i < N; i++) spawnSync(bin, [String(i)]);
    await waitUntil(() => agent.events().filter((e) => isExit(e) && e.process_exit.process.binary === bin).length === N, "the exits in the export file");
    await sleep(200);
    const text = await scrapeMetrics(metricsPort);
    const labels = { namespace: "", workload: "", pod: "", binary: bin };
    assert.equal(metricValue(text, "tetragon_events_total", { ...labels, type: "PROCESS_EXEC" }), N);
    assert.equal(metricValue(text, "tetragon_events_total", { ...labels, type: "PROCESS_EXIT" }), N);
    const exported = metricValue(text, "tetragon_events_exported_total")!;
    assert.ok(exported >= agent.events().length - 50, `exported ${exported}`);
    for (const name of [
      "tetragon_build_info", "tetragon_errors_total", "tetragon_bpf_missed_events_total", "tetragon_observer_ringbuf_events_received_total",
      "tetragon_observer_ringbuf_events_lost_total", "tetragon_process_cache_size", "tetragon_process_cache_capacity",
      "tetragon_process_cache_evictions_total", "tetragon_process_cache_misses_total", "tetragon_events_exported_total",
      "tetragon_export_ratelimit_events_dropped_total",
    ]) {
      assert.ok(text.includes(`# TYPE ${name} `), `${name} is exposed`);
    }
  });
});

