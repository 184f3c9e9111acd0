/**
 * The API server in process, over a real unix socket, with synthetic events published on
 * the event bus (no BPF): every RPC's answer, INVALID_ARGUMENT for bad requests, the
 * health service, the info file, and the per-client queues (a client that stops reading
 * loses events, is told how many by a rate_limit_info event, and never slows the others).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { EventBus } from "../../src/agent/event-bus";
import { parseConfig, type AgentConfig } from "../../src/config";
import { createLogger } from "../../src/log/logger";
import { ProcessCache } from "../../src/process/cache";
import { AgentMetrics } from "../../src/metrics/registry";
import { MAX_IN_FLIGHT } from "../../src/api/server/call-sink";
import { ApiServer, HealthCheckRequestDesc, HealthCheckResponseDesc, HealthService, ServingStatus, methodDefinition, POLICY_UNSUPPORTED } from "../../src/api/server";
import { FineGuidanceSensors, ConfigFlag, LogLevel } from "../../src/api/gen/tetragon/sensors_pb";
import { EventType, FieldFilterAction, GetEventsResponseSchema, type GetEventsResponse } from "../../src/api/gen/tetragon/events_pb";
import { TetraClient } from "../../src/cli/tetra/common/client";
import { tempDir } from "../helpers/agent";

const QUEUE = 1000;

function exec(i: number, binary = "/bin/x"): GetEventsResponse {
  return create(GetEventsResponseSchema, {
    nodeName: "n",
    event: { case: "processExec", value: { process: { binary, arguments: `i=${i}`, pid: i, execId: `id${i}` } } },
  });
}

function exit(i: number): GetEventsResponse {
  return create(GetEventsResponseSchema, {
    nodeName: "n",
    event: { case: "processExit", value: { process: { binary: "/bin/x", arguments: `i=${i}`, pid: i }, status: 0 } },
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(cond: () => boolean, what: string, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Publishes events in small batches with event-loop turns in between, as the ring buffer does. */
async function publish(bus: EventBus, evs: GetEventsResponse[], batch = 20): Promise<void> {
  for (let i = 0; i < evs.length; i += batch) {
    for (const e of evs.slice(i, i + batch)) bus.publish(e);
    await sleep(1);
  }
}

interface Collector {
  call: grpc.ClientReadableStream<GetEventsResponse>;
  events: GetEventsResponse[];
  error?: grpc.ServiceError;
  ended: boolean;
}

function collect(c: TetraClient, req: MessageInitShape<typeof FineGuidanceSensors.method.getEvents.input>): Collector {
  const call = c.serverStream(FineGuidanceSensors.method.getEvents, req);
  const col: Collector = { call, events: [], ended: false };
  call.on("data", (e: GetEventsResponse) => col.events.push(e));
  call.on("error", (e: grpc.ServiceError) => (col.error = e));
  call.on("end", () => (col.ended = true));
  return col;
}

describe("gRPC API server (in process)", () => {
  let dir: string;
  let cfg: AgentConfig;
  let bus: EventBus;
  let metrics: AgentMetrics;
  let server: ApiServer;
  let client: TetraClient;
  let address: string;

  before(async () => {
    dir = tempDir("grpc-server-");
    address = `unix://${path.join(dir, "api.sock")}`;
    const parsed = parseConfig([
      "--server-address", address, "--health-server-address", `unix://${path.join(dir, "health.sock")}`,
      "--run-dir", dir, "--event-queue-size", String(QUEUE),
    ], { dropInDirs: [], yamlFiles: [], etcDropIn: "/nonexistent", env: {} });
    assert.equal(parsed.kind, "run");
    cfg = (parsed as { config: AgentConfig }).config;
    bus = new EventBus();
    metrics = new AgentMetrics();
    server = new ApiServer({
      config: cfg, log: createLogger({ level: "silent", format: "json" }), bus, cache: new ProcessCache(100), metrics,
      nodeName: "n", version: "9.9.9", features: () => [{ name: "signal", enabled: true }, { name: "lsm", enabled: false }],
    });
    await server.start();
    client = await TetraClient.connect({ serverAddress: address, timeoutMs: 5000, retries: 0, maxRecvSize: 10 << 20, debug: false });
  });

  after(async () => {
    client?.close();
    await server?.stop();
  });

  test("the unix socket has mode 0660 and tetragon-info.json names it", () => {
    const st = fs.statSync(path.join(dir, "api.sock"));
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o660);
    const info = JSON.parse(fs.readFileSync(path.join(dir, "tetragon-info.json"), "utf8"));
    assert.equal(info.server_address, address);
    assert.equal(info.pid, process.pid);
    for (const k of ["export_fname", "lib_dir", "btf_fname", "metrics_address", "gops_address", "map_dir", "bpftool_path", "gops_path"]) {
      assert.equal(typeof info[k], "string", k);
    }
  });

  test("GetHealth, GetVersion, GetInfo", async () => {
    const h = await client.unary(FineGuidanceSensors.method.getHealth, {});
    assert.equal(h.healthStatus.length, 1);
    assert.equal(h.healthStatus[0].details, "running");
    assert.equal(h.healthStatus[0].status, 1);
    assert.equal((await client.unary(FineGuidanceSensors.method.getVersion, {})).version, "9.9.9");
    const info = await client.unary(FineGuidanceSensors.method.getInfo, {});
    assert.equal(info.version, "9.9.9");
    assert.deepEqual(info.probes.map((p) => [p.Name, p.Enabled]), [["signal", true], ["lsm", false]]);
    const conf = new Map(info.conf.map((c) => [c.key, c.value]));
    assert.ok(conf.get("server-address")?.typeUrl.endsWith("google.protobuf.StringValue"));
    assert.ok(conf.get("event-queue-size")?.typeUrl.endsWith("google.protobuf.Int64Value"));
  });

  test("GetDebug / SetDebug change the log level", async () => {
    const set = await client.unary(FineGuidanceSensors.method.setDebug, { flag: ConfigFlag.LOG_LEVEL, arg: { case: "level", value: LogLevel.DEBUG } });
    assert.deepEqual([set.arg.case, set.arg.value], ["level", LogLevel.DEBUG]);
    const get = await client.unary(FineGuidanceSensors.method.getDebug, { flag: ConfigFlag.LOG_LEVEL });
    assert.deepEqual([get.arg.case, get.arg.value], ["level", LogLevel.DEBUG]);
    await client.unary(FineGuidanceSensors.method.setDebug, { flag: ConfigFlag.LOG_LEVEL, arg: { case: "level", value: LogLevel.INFO } });
  });

  test("tracing-policy RPCs are UNIMPLEMENTED with a clear message; deprecated sensor RPCs fail", async () => {
    for (const [m, req] of [
      [FineGuidanceSensors.method.addTracingPolicy, { yaml: "x" }],
      [FineGuidanceSensors.method.listTracingPolicies, {}],
      [FineGuidanceSensors.method.deleteTracingPolicy, { name: "x" }],
      [FineGuidanceSensors.method.configureTracingPolicy, { name: "x", enable: true }],
    ] as const) {
      await assert.rejects(client.unary(m as never, req as never), (e: grpc.ServiceError) => {
        assert.equal(e.code, grpc.status.UNIMPLEMENTED);
        assert.equal(e.details, POLICY_UNSUPPORTED);
        return true;
      });
    }
    await assert.rejects(client.unary(FineGuidanceSensors.method.listSensors, {}), (e: grpc.ServiceError) => e.details === "ListSensors is deprecated");
  });

  test("bad GetEvents requests are INVALID_ARGUMENT naming the field", async () => {
    const cases: [MessageInitShape<typeof FineGuidanceSensors.method.getEvents.input>, RegExp][] = [
      [{ allowList: [{ binaryRegex: ["("] }] }, /^allow_list\[0\]\.binary_regex\[0\]: invalid regex/],
      [{ denyList: [{}, { podRegex: ["a", "[z"] }] }, /^deny_list\[1\]\.pod_regex\[1\]: invalid regex/],
      [{ allowList: [{ eventSet: [3 as EventType] }] }, /^allow_list\[0\]\.event_set\[0\]: unknown event type 3/],
      [{ fieldFilters: [{ eventSet: [77 as EventType], fields: { paths: ["process"] } }] }, /^field_filters\[0\]\.event_set\[0\]: unknown event type 77/],
      [{ allowList: [{ celExpression: ["true"] }] }, /cel_expression/],
      [{ fieldFilters: [{ fields: { paths: ["process"] }, action: 7 as FieldFilterAction }] }, /action/],
    ];
    for (const [req, re] of cases) {
      const col = collect(client, req);
      await waitUntil(() => col.error !== undefined || col.ended, "the error");
      assert.equal(col.error?.code, grpc.status.INVALID_ARGUMENT, JSON.stringify(req));
      assert.match(col.error!.details, re);
    }
  });

  test("filters and field filters apply per client; equal field-filter sets share one encoding", async () => {
    const include = { fields: { paths: ["process.binary"] }, action: FieldFilterAction.INCLUDE };
    const a = collect(client, { allowList: [{ eventSet: [EventType.PROCESS_EXEC] }], fieldFilters: [include] });
    const b = collect(client, { fieldFilters: [include] });
    const all = collect(client, {});
    const deny = collect(client, { denyList: [{ binaryRegex: ["^/bin/y$"] }] });
    await waitUntil(() => server.hub.size === 4, "4 streams");
    const before = server.hub.cache.encodings;
    const evs = [exec(1), exit(1), exec(2, "/bin/y"), exit(2)];
    await publish(bus, evs);
    await waitUntil(() => a.events.length === 2 && b.events.length === 4 && all.events.length === 4 && deny.events.length === 3, "events");
    assert.deepEqual(a.events.map((e) => e.event.case), ["processExec", "processExec"]);
    const p = a.events[0].event.value as { process?: { binary: string; arguments: string } };
    assert.equal(p.process?.binary, "/bin/x");
    assert.equal(p.process?.arguments, "");
    assert.equal((all.events[0].event.value as { process?: { arguments: string } }).process?.arguments, "i=1");
    assert.deepEqual(deny.events.map((e) => (e.event.value as { process?: { binary: string } }).process?.binary), ["/bin/x", "/bin/x", "/bin/x"]);
    // two distinct field-filter sets ("process.binary" and none) → at most two encodings per event
    assert.ok(server.hub.cache.encodings - before <= evs.length * 2, `encodings ${server.hub.cache.encodings - before}`);
    for (const c of [a, b, all, deny]) c.call.cancel();
    await waitUntil(() => server.hub.size === 0, "streams closed");
  });

  test("a client that stops reading loses events (counted, announced by rate_limit_info) without slowing another", async () => {
    const fast = collect(client, {});
    const slowClient = await TetraClient.connect({ serverAddress: address, timeoutMs: 5000, retries: 0, maxRecvSize: 10 << 20, debug: false });
    const slow = collect(slowClient, {});
    slow.call.pause();
    await waitUntil(() => server.hub.size === 2, "2 streams");
    const overflowBefore = (await metrics.notifyOverflowed.get()).values[0]?.value ?? 0;
    const N = 8000;
    const t0 = Date.now();
    // at the pace of the reading client (both clients live in this process)
    for (let i = 0; i < N; i += 50) {
      await publish(bus, Array.from({ length: 50 }, (_, j) => exec(i + j)));
      await waitUntil(() => fast.events.length >= i + 50, `the fast client's ${i + 50} events (has ${fast.events.length})`);
    }
    const publishMs = Date.now() - t0;
    assert.deepEqual(fast.events.map((e) => (e.event.value as { process?: { pid?: number } }).process?.pid), Array.from({ length: N }, (_, i) => i));
    assert.ok(publishMs < 30000, `publishing took ${publishMs} ms`);

    slow.call.resume();
    await sleep(300);
    bus.publish(exec(N, "/bin/marker"));
    await waitUntil(() => slow.events.some((e) => (e.event.value as { process?: { binary: string } }).process?.binary === "/bin/marker"), "the marker");
    const rli = slow.events.filter((e) => e.event.case === "rateLimitInfo");
    const got = slow.events.filter((e) => e.event.case === "processExec").length - 1;
    const dropped = rli.reduce((a, e) => a + Number((e.event.value as { numberOfDroppedProcessEvents: bigint }).numberOfDroppedProcessEvents), 0);
    assert.ok(rli.length >= 1, "a rate_limit_info event");
    assert.ok(dropped > 0 && got < N, `got ${got}, dropped ${dropped}`);
    assert.equal(got + dropped, N);
    // what it got is bounded by its queue, grpc-js's in-flight bound and the HTTP/2 windows
    assert.ok(got < QUEUE + MAX_IN_FLIGHT + 3000, `the slow client's backlog stayed bounded (${got})`);
    const overflow = ((await metrics.notifyOverflowed.get()).values[0]?.value ?? 0) - overflowBefore;
    assert.equal(overflow, dropped);
    fast.call.cancel();
    slow.call.cancel();
    slowClient.close();
  });

  test("grpc.health.v1 Check: liveness SERVING, unknown service NOT_FOUND", async () => {
    const hc = new grpc.Client(`unix://${path.join(dir, "health.sock")}`, grpc.credentials.createInsecure());
    const check = methodDefinition(HealthService.methods.find((m) => m.name === "Check")!);
    const call = (service: string) =>
      new Promise<unknown>((resolve, reject) =>
        hc.makeUnaryRequest(check.path, check.requestSerialize, check.responseDeserialize, create(HealthCheckRequestDesc, { service }), (e, r) => (e ? reject(e) : resolve(r))),
      );
    const res = (await call("liveness")) as { status: number };
    assert.equal(res.status, ServingStatus.SERVING);
    // the wire bytes are those of the public health.proto
    assert.deepEqual([...toBinary(HealthCheckResponseDesc, create(HealthCheckResponseDesc, { status: 1 }))], [0x08, 0x01]);
    assert.equal((fromBinary(HealthCheckRequestDesc, new Uint8Array([0x0a, 0x01, 0x78])) as unknown as { service: string }).service, "x");
    await assert.rejects(call("nope"), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
    hc.close();
  });

  test("stop ends open streams with UNAVAILABLE and removes the socket and the info file", async () => {
    const col = collect(client, {});
    await waitUntil(() => server.hub.size >= 1, "stream");
    await server.stop();
    await waitUntil(() => col.error !== undefined || col.ended, "stream end");
    assert.equal(col.error?.code, grpc.status.UNAVAILABLE);
    assert.ok(!fs.existsSync(path.join(dir, "api.sock")));
    assert.ok(!fs.existsSync(path.join(dir, "tetragon-info.json")));
  });
});

