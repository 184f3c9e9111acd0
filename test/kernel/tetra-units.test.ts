/**
 * Pieces of the API server and of tetra that need no kernel: listen-address rules,
 * tetra's address resolution order, durations, the GetEvents request built from flags,
 * tp add -m, and the per-client queue with a fake transport (drops, rate_limit_info at
 * the gap, drain).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { create, fromBinary } from "@bufbuild/protobuf";
import * as YAML from "yaml";
import { GetEventsRequestSchema, GetEventsResponseSchema, EventType, FieldFilterAction, type GetEventsResponse } from "../../src/api/gen/tetragon/events_pb";
import { parseListenAddress, grpcBindTarget, EncodeCache, EventStream, compileRequest, RequestError, kernelVersion } from "../../src/api/server";
import { resolveServerAddress } from "../../src/cli/tetra/common/address";
import { parseDuration } from "../../src/cli/tetra/common/duration";
import { buildRequest } from "../../src/cli/tetra/getevents/request";
import { withPolicyMode } from "../../src/cli/tetra/tracingpolicy";
import { humanizeBytes } from "../../src/cli/tetra/tracingpolicy/print";
import { rateLimitInfoBytes } from "../../src/api/server/handlers/get-events";
import { tempDir } from "../helpers/agent";

test("listen addresses follow Tetragon's rules", () => {
  assert.deepEqual(parseListenAddress("localhost:54321"), { kind: "tcp", host: "localhost", port: 54321, spec: "localhost:54321" });
  assert.equal(parseListenAddress("localhost")!.spec, "localhost:54321");
  assert.equal(grpcBindTarget(parseListenAddress(":6789")!), "[::]:6789");
  assert.equal(grpcBindTarget(parseListenAddress("[::1]:5")!), "[::1]:5");
  assert.deepEqual(parseListenAddress("unix:///var/run/tetragon/tetragon.sock"), { kind: "unix", path: "/var/run/tetragon/tetragon.sock", spec: "unix:///var/run/tetragon/tetragon.sock" });
  assert.equal(parseListenAddress(""), undefined);
  assert.throws(() => parseListenAddress("unix://relative.sock"), /absolute/);
  assert.throws(() => parseListenAddress("host:notaport"), /bad port/);
});

test("tetra's server address: flag, then tetragon-info.json, then localhost:54321", () => {
  const dir = tempDir("tetra-addr-");
  const env = { TETRAGON_RUN_DIR: dir };
  assert.equal(resolveServerAddress("", env), "localhost:54321");
  fs.writeFileSync(path.join(dir, "tetragon-info.json"), JSON.stringify({ server_address: "unix:///x/y.sock", pid: 1 }) + "\n");
  assert.equal(resolveServerAddress("", env), "unix:///x/y.sock");
  assert.equal(resolveServerAddress("10.0.0.1:5", env), "10.0.0.1:5");
  assert.equal(resolveServerAddress(":7000", env), "localhost:7000");
  assert.equal(resolveServerAddress("somehost", env), "somehost:54321");
});

test("durations as Go writes them", () => {
  assert.equal(parseDuration("30s"), 30000);
  assert.equal(parseDuration("1m30s"), 90000);
  assert.equal(parseDuration("200ms"), 200);
  assert.equal(parseDuration("2"), 2000);
  assert.throws(() => parseDuration("soon"));
  assert.deepEqual(kernelVersion("6.1.0-18-amd64"), [6, 1, 0]);
});

test("getevents flags become one allow-list filter and field filters", () => {
  const req = buildRequest({
    eventTypes: ["PROCESS_EXEC"], namespaces: ["default"], processes: ["curl"], pods: ["web-"], host: true,
    policyNames: [], namespaceRegex: [], celExpression: [], includeFields: ["process.binary"], excludeFields: ["parent"],
  });
  assert.equal(req.allowList.length, 1);
  const f = req.allowList[0];
  assert.deepEqual(f.namespace, ["default", ""]);
  assert.deepEqual(f.binaryRegex, ["curl"]);
  assert.deepEqual(f.podRegex, ["web-"]);
  assert.deepEqual(f.eventSet, [EventType.PROCESS_EXEC]);
  assert.deepEqual(req.fieldFilters.map((x) => [x.action, x.fields?.paths]), [[FieldFilterAction.INCLUDE, ["process.binary"]], [FieldFilterAction.EXCLUDE, ["parent"]]]);
  assert.throws(() => buildRequest({ ...{ namespaces: [], processes: [], pods: [], host: false, policyNames: [], namespaceRegex: [], celExpression: [], includeFields: [], excludeFields: [] }, eventTypes: ["NOPE"] }), /Supported are/);
});

test("compileRequest: INVALID_ARGUMENT material", () => {
  assert.throws(() => compileRequest(create(GetEventsRequestSchema, { allowList: [{ eventSet: [4 as EventType] }] })), RequestError);
  assert.throws(() => compileRequest(create(GetEventsRequestSchema, { allowList: [{ binaryRegex: ["("] }] })), /allow_list\[0\]\.binary_regex\[0\]/);
  const ok = compileRequest(create(GetEventsRequestSchema, { allowList: [{ pid: [3] }] }));
  assert.equal(ok.filter(ev(3)), true);
  assert.equal(ok.filter(ev(4)), false);
});

test("tp add -m injects the policy-mode option", () => {
  const out = withPolicyMode("apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: x\nspec:\n  kprobes: []\n", "monitor");
  assert.deepEqual(YAML.parse(out).spec.options, [{ name: "policy-mode", value: "monitor" }]);
  assert.throws(() => withPolicyMode("spec: {}\n", "paranoid"), /enforce or monitor/);
  assert.equal(humanizeBytes(4458824n), "4.46 MB");
  assert.equal(humanizeBytes(999n), "999 B");
});

function ev(i: number): GetEventsResponse {
  return create(GetEventsResponseSchema, { event: { case: "processExec", value: { process: { pid: i } } } });
}

test("the per-client queue drops when full, marks the gap with rate_limit_info, and drains", async () => {
  const written: Uint8Array[] = [];
  let open = false;
  let drain: (() => void) | undefined;
  const sink = {
    write: (b: Uint8Array) => {
      written.push(b);
      return open;
    },
    once: (_e: "drain", cb: () => void) => (drain = cb),
  };
  let drops = 0;
  const s = new EventStream(sink, {
    filter: (e) => e.event.case === "processExec", transformKey: "", transform: (e) => e, capacity: 4,
    rateLimitInfo: (n) => rateLimitInfoBytes("node", n), onDrop: () => drops++,
  });
  const cache = new EncodeCache();
  for (let i = 0; i < 10; i++) s.offer(ev(i), cache);
  // offers never wait: 4 queued, 6 dropped
  assert.equal(s.queued, 4);
  assert.equal(drops, 6);
  await new Promise((r) => setImmediate(r));
  // the first write says "wait"
  assert.equal(written.length, 1);
  assert.equal(s.queued, 3);
  open = true;
  drain!();
  assert.equal(written.length, 4);
  s.offer(ev(100), cache);
  await new Promise((r) => setImmediate(r));
  const decoded = written.map((b) => fromBinary(GetEventsResponseSchema, b));
  assert.deepEqual(decoded.slice(0, 4).map((e) => (e.event.value as { process?: { pid?: number } }).process?.pid), [0, 1, 2, 3]);
  assert.equal(decoded[4].event.case, "rateLimitInfo");
  assert.equal((decoded[4].event.value as { numberOfDroppedProcessEvents: bigint }).numberOfDroppedProcessEvents, 6n);
  assert.equal((decoded[5].event.value as { process?: { pid?: number } }).process?.pid, 100);
  // filtered-out events cost nothing
  s.offer(create(GetEventsResponseSchema, { event: { case: "processExit", value: {} } }), cache);
  await new Promise((r) => setImmediate(r));
  assert.equal(written.length, 6);
  assert.equal(s.dropped, 6);
});
