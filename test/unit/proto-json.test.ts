// Guards the gRPC/protobuf wire contract in src/api/proto (generated into
// src/api/gen): JSON encoding must follow Tetragon's export format
// (Go protojson with UseProtoNames, no EmitUnpopulated) and field numbers
// must match upstream Tetragon.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  create,
  fromBinary,
  fromJsonString,
  toBinary,
  toJson,
  toJsonString,
  type DescMessage,
  type MessageShape,
} from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";

import {
  GetEventsRequestSchema,
  GetEventsResponseSchema,
  EventType,
} from "../../src/api/gen/tetragon/events_pb";
import {
  KprobeAction,
  KprobeArgumentSchema,
  ProcessSchema,
  ProcessKprobeSchema,
} from "../../src/api/gen/tetragon/tetragon_pb";
import { CapabilitiesType } from "../../src/api/gen/tetragon/capabilities_pb";
import {
  FineGuidanceSensors,
  TracingPolicyStatusSchema,
  TracingPolicyState,
  TracingPolicyMode,
  ConfigureTracingPolicyRequestSchema,
} from "../../src/api/gen/tetragon/sensors_pb";
import { EventLogService } from "../../src/api/gen/tetragon/eventlogservice_pb";

const JSON_OPTS = { useProtoFieldName: true } as const;

// First line of Tetragon's testdata/events.json (process_exec).
const EXEC_EVENT =
  '{"process_exec":{"process":{"exec_id":"Z2tlLW1pY2hpLTIyMDM4LWRlZmF1bHQtcG9vbC00MzczMGZhYi1sOHpyOjEzNjY1ODIyNjI0ODU2OjY4Nzkw","pid":68790,"uid":0,"cwd":"/","binary":"/usr/bin/netserver","arguments":"-D","flags":"execve rootcwd clone","start_time":"2022-10-18T03:16:18.273546829Z","auid":4294967295,"pod":{"namespace":"default","name":"tiefighter","container":{"id":"containerd://19a02291e106ce6227b684197be232ea57c4e1a5ab2604a12608c325d701c7f4","name":"spaceship","image":{"id":"docker.io/tgraf/netperf@sha256:8e86f744bfea165fd4ce68caa05abc96500f40130b857773186401926af7e9e6","name":"docker.io/tgraf/netperf:latest"},"start_time":"2022-10-18T03:16:18Z","pid":1},"pod_labels":{"app.kubernetes.io/name":"tiefighter","class":"tiefighter","org":"empire"}},"docker":"19a02291e106ce6227b684197be232e","parent_exec_id":"Z2tlLW1pY2hpLTIyMDM4LWRlZmF1bHQtcG9vbC00MzczMGZhYi1sOHpyOjEzNjYwNDgwNjUxNTk1OjY4NTk4","refcnt":1},"parent":{"exec_id":"Z2tlLW1pY2hpLTIyMDM4LWRlZmF1bHQtcG9vbC00MzczMGZhYi1sOHpyOjEzNjYwNDgwNjUxNTk1OjY4NTk4","pid":68598,"uid":0,"cwd":"/run/containerd/io.containerd.runtime.v2.task/k8s.io/c97e298d5d4485f4710d3837b7d689aba6078e0c008af713053ac361cd8b0018","binary":"/usr/bin/containerd-shim-runc-v2","arguments":"-namespace k8s.io -id c97e298d5d4485f4710d3837b7d689aba6078e0c008af713053ac361cd8b0018 -address /run/containerd/containerd.sock","flags":"execve clone","start_time":"2022-10-18T03:16:12.931574263Z","auid":4294967295,"parent_exec_id":"Z2tlLW1pY2hpLTIyMDM4LWRlZmF1bHQtcG9vbC00MzczMGZhYi1sOHpyOjEzNjYwNDY4NzIyNTI4OjY4NTg3","refcnt":3}},"node_name":"my-node"}';

// process_kprobe example from Tetragon's namespace-access use-case docs.
const KPROBE_EVENT =
  '{"process_kprobe":{"process":{"exec_id":"dGV0cmFnb24tZGV2LWNvbnRyb2wtcGxhbmU6MTE2OTc3OTA1NDM0MjAxOjYzMDY2","pid":63066,"uid":0,"cwd":"/","binary":"/usr/bin/nsenter","arguments":"-t 1 -m -u -n -i -p","flags":"execve rootcwd clone","start_time":"2026-01-30T18:15:19.985627895Z","auid":4294967295,"pod":{"namespace":"default","name":"xwing","container":{"id":"containerd://057dc8d712abf96c628c82ea111d53a205a256b0dc39bb31284426aaf378acbc","name":"spaceship","image":{"id":"quay.io/cilium/json-mock@sha256:5aad04835eda9025fe4561ad31be77fd55309af8158ca8663a72f6abb78c2603","name":"quay.io/cilium/json-mock:latest"},"start_time":"2026-01-28T08:51:07Z","pid":37},"pod_labels":{"app.kubernetes.io/name":"xwing","class":"xwing","org":"alliance"},"workload":"xwing","workload_kind":"Pod"},"docker":"057dc8d712abf96c628c82ea111d53a","parent_exec_id":"dGV0cmFnb24tZGV2LWNvbnRyb2wtcGxhbmU6MTE2OTc3NzI5OTA3MzUxOjYzMDUy","refcnt":1,"tid":63066},"parent":{"exec_id":"dGV0cmFnb24tZGV2LWNvbnRyb2wtcGxhbmU6MTE2OTc3NzI5OTA3MzUxOjYzMDUy","pid":63052,"uid":0,"cwd":"/","binary":"/bin/bash","flags":"execve rootcwd clone","start_time":"2026-01-30T18:15:19.810100966Z","auid":4294967295,"pod":{"namespace":"default","name":"xwing","container":{"id":"containerd://057dc8d712abf96c628c82ea111d53a205a256b0dc39bb31284426aaf378acbc","name":"spaceship","image":{"id":"quay.io/cilium/json-mock@sha256:5aad04835eda9025fe4561ad31be77fd55309af8158ca8663a72f6abb78c2603","name":"quay.io/cilium/json-mock:latest"},"start_time":"2026-01-28T08:51:07Z","pid":31},"pod_labels":{"app.kubernetes.io/name":"xwing","class":"xwing","org":"alliance"},"workload":"xwing","workload_kind":"Pod"},"docker":"057dc8d712abf96c628c82ea111d53a","parent_exec_id":"dGV0cmFnb24tZGV2LWNvbnRyb2wtcGxhbmU6ODgzNjQ2NzQwMjg6NzIxMQ==","tid":63052},"function_name":"__x64_sys_setns","args":[{"int_arg":3},{"int_arg":134217728}],"action":"KPROBE_ACTION_POST","policy_name":"namespace-access","return_action":"KPROBE_ACTION_POST"},"node_name":"tetragon-dev-control-plane","time":"2026-01-30T18:15:20.001042828Z"}';

/** Parse with the schema, re-encode with Tetragon's options, return parsed JSON. */
function roundTrip<D extends DescMessage>(schema: D, json: string): unknown {
  const msg = fromJsonString(schema, json);
  return JSON.parse(toJsonString(schema, msg as MessageShape<D>, JSON_OPTS));
}

/** Top-level [fieldNo, wireType] pairs of an encoded message, in order. */
function topLevelTags(bytes: Uint8Array): Array<[number, WireType]> {
  const r = new BinaryReader(bytes);
  const out: Array<[number, WireType]> = [];
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    out.push([no, wt]);
    r.skip(wt);
  }
  return out;
}

test("real process_exec event round-trips unchanged", () => {
  assert.deepStrictEqual(roundTrip(GetEventsResponseSchema, EXEC_EVENT), JSON.parse(EXEC_EVENT));
});

test("real process_kprobe event round-trips unchanged", () => {
  assert.deepStrictEqual(roundTrip(GetEventsResponseSchema, KPROBE_EVENT), JSON.parse(KPROBE_EVENT));
});

test("parsed exec event has the expected typed values", () => {
  const ev = fromJsonString(GetEventsResponseSchema, EXEC_EVENT);
  assert.equal(ev.event.case, "processExec");
  const proc = ev.event.case === "processExec" ? ev.event.value.process : undefined;
  assert.ok(proc);
  assert.equal(proc.uid, 0); // UInt32Value set to 0, not absent
  assert.equal(proc.auid, 4294967295);
  assert.equal(proc.startTime?.nanos, 273546829);
  assert.equal(proc.tid, undefined);
  assert.equal(ev.nodeName, "my-node");
});

test("wrapper value 0 is emitted (uid:0), unset wrapper omitted", () => {
  const p = create(ProcessSchema, { execId: "x", uid: 0, pid: 5 });
  const j = toJson(ProcessSchema, p, JSON_OPTS) as Record<string, unknown>;
  assert.equal(j["uid"], 0);
  assert.equal(j["pid"], 5);
  assert.ok(!("tid" in j));
  assert.ok(!("auid" in j));
  const s = toJsonString(ProcessSchema, p, JSON_OPTS);
  assert.match(s, /"uid":0/);
});

test("zero scalars / empty strings are not emitted", () => {
  const p = create(ProcessSchema, { execId: "x", cwd: "", refcnt: 0 });
  assert.deepStrictEqual(toJson(ProcessSchema, p, JSON_OPTS), { exec_id: "x" });
});

test("64-bit integers encode as JSON strings", () => {
  const kp = create(ProcessKprobeSchema, {
    functionName: "__x64_sys_write",
    args: [
      { arg: { case: "sizeArg", value: 65536n } },
      { arg: { case: "longArg", value: -1n } },
      { arg: { case: "truncatedBytesArg", value: { bytesArg: new Uint8Array([1, 2, 3]), origSize: 65536n } } },
      { arg: { case: "sockArg", value: { family: "AF_INET", cookie: 18446744073709551615n, sport: 80 } } },
    ],
    action: KprobeAction.POST,
  });
  const j = toJson(ProcessKprobeSchema, kp, JSON_OPTS) as { args: Array<Record<string, unknown>> };
  assert.deepStrictEqual(j.args[0], { size_arg: "65536" });
  assert.deepStrictEqual(j.args[1], { long_arg: "-1" });
  assert.deepStrictEqual(j.args[2], { truncated_bytes_arg: { bytes_arg: "AQID", orig_size: "65536" } });
  assert.deepStrictEqual(j.args[3], {
    sock_arg: { family: "AF_INET", sport: 80, cookie: "18446744073709551615" },
  });
  // and back
  const back = fromJsonString(ProcessKprobeSchema, JSON.stringify(j));
  assert.equal(back.args[0]?.arg.case, "sizeArg");
  assert.equal(back.args[0]?.arg.value, 65536n);
});

test("older doc example with size_arg / truncated_bytes_arg / file_arg round-trips", () => {
  const json =
    '{"process_kprobe":{"function_name":"__x64_sys_write","args":[{"file_arg":{"path":"/etc/passwd"}},{"truncated_bytes_arg":{"orig_size":"65536"}},{"size_arg":"65536"}],"action":"KPROBE_ACTION_POST"},"node_name":"n","time":"2022-05-26T22:05:13.894Z"}';
  assert.deepStrictEqual(roundTrip(GetEventsResponseSchema, json), JSON.parse(json));
});

test("enums encode by name, PascalCase proto names are kept", () => {
  const kp = create(ProcessKprobeSchema, {
    action: KprobeAction.SIGKILL,
    returnAction: KprobeAction.NOTIFYENFORCER,
    args: [
      { arg: { case: "bpfAttrArg", value: { ProgType: "BPF_PROG_TYPE_KPROBE", InsnCnt: 10, ProgName: "p" } } },
      { arg: { case: "capabilityArg", value: { value: 21, name: "CAP_SYS_ADMIN" } } },
      { arg: { case: "credArg", value: { effective: [CapabilitiesType.CAP_SYS_ADMIN, CapabilitiesType.DAC_OVERRIDE] } } },
    ],
    process: { environmentVariables: [{ Key: "HOME", Value: "/root" }] },
  });
  const j = toJson(ProcessKprobeSchema, kp, JSON_OPTS) as Record<string, any>;
  assert.equal(j["action"], "KPROBE_ACTION_SIGKILL");
  assert.equal(j["return_action"], "KPROBE_ACTION_NOTIFYENFORCER");
  assert.deepStrictEqual(j["args"][0], { bpf_attr_arg: { ProgType: "BPF_PROG_TYPE_KPROBE", InsnCnt: 10, ProgName: "p" } });
  assert.deepStrictEqual(j["args"][1], { capability_arg: { value: 21, name: "CAP_SYS_ADMIN" } });
  assert.deepStrictEqual(j["args"][2], { cred_arg: { effective: ["CAP_SYS_ADMIN", "DAC_OVERRIDE"] } });
  assert.deepStrictEqual(j["process"], { environment_variables: [{ Key: "HOME", Value: "/root" }] });

  const req = fromJsonString(
    GetEventsRequestSchema,
    '{"allow_list":[{"event_set":["PROCESS_EXEC","PROCESS_KPROBE"],"namespace":[""]}],"field_filters":[{"fields":"process.binary,process.pod","action":"INCLUDE"}]}',
  );
  assert.deepStrictEqual(req.allowList[0]?.eventSet, [EventType.PROCESS_EXEC, EventType.PROCESS_KPROBE]);
  assert.deepStrictEqual(req.fieldFilters[0]?.fields?.paths, ["process.binary", "process.pod"]);
});

test("timestamps keep 0/3/6/9 fractional digits", () => {
  for (const t of [
    "2022-10-18T03:16:18Z",
    "2022-10-18T03:16:18.100Z",
    "2022-10-18T03:16:18.123456Z",
    "2022-10-18T03:16:18.273546829Z",
  ]) {
    const json = `{"node_name":"n","time":"${t}"}`;
    assert.deepStrictEqual(roundTrip(GetEventsResponseSchema, json), JSON.parse(json));
  }
  const ev = create(GetEventsResponseSchema, { time: timestampFromDate(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6))) });
  assert.equal((toJson(GetEventsResponseSchema, ev, JSON_OPTS) as Record<string, unknown>)["time"], "2024-01-02T03:04:05.006Z");
});

test("Process field numbers match Tetragon", () => {
  const p = create(ProcessSchema, {
    execId: "e", // 1
    pid: 7, // 2
    uid: 0, // 3 (wrapper present, empty)
    docker: "d", // 11
    refcnt: 1, // 13
    tid: 7, // 16
    inInitTree: true, // 20
    environmentVariables: [{ Key: "A", Value: "b" }], // 21
  });
  const bytes = toBinary(ProcessSchema, p);
  // exec_id: field 1, LEN -> 0x0a, length 1, "e"
  assert.deepStrictEqual([...bytes.subarray(0, 3)], [0x0a, 0x01, 0x65]);
  // uid=0 as UInt32Value: field 3 LEN with empty body -> 0x1a 0x00
  assert.ok(Buffer.from(bytes).includes(Buffer.from([0x1a, 0x00])));
  // docker: field 11 LEN -> 0x5a
  assert.ok(Buffer.from(bytes).includes(Buffer.from([0x5a, 0x01, 0x64])));
  // tid: field 16 LEN -> varint 0x82 0x01
  assert.ok(Buffer.from(bytes).includes(Buffer.from([0x82, 0x01, 0x02, 0x08, 0x07])));
  assert.deepStrictEqual(topLevelTags(bytes), [
    [1, WireType.LengthDelimited],
    [2, WireType.LengthDelimited],
    [3, WireType.LengthDelimited],
    [11, WireType.LengthDelimited],
    [13, WireType.Varint],
    [16, WireType.LengthDelimited],
    [20, WireType.LengthDelimited],
    [21, WireType.LengthDelimited],
  ]);
  assert.deepStrictEqual(fromBinary(ProcessSchema, bytes), p);
});

test("GetEventsResponse field numbers match Tetragon", () => {
  const ev = create(GetEventsResponseSchema, {
    event: { case: "processExec", value: { process: { execId: "e" } } },
    nodeName: "n",
    time: { seconds: 1n, nanos: 0 },
    clusterName: "c",
  });
  const bytes = toBinary(GetEventsResponseSchema, ev);
  assert.equal(bytes[0], 0x0a); // process_exec = 1, LEN
  const buf = Buffer.from(bytes);
  assert.ok(buf.includes(Buffer.from([0xc2, 0x3e, 0x01, 0x6e]))); // node_name = 1000
  assert.ok(buf.includes(Buffer.from([0xca, 0x3e]))); // time = 1001
  assert.deepStrictEqual(
    topLevelTags(bytes).map(([no]) => no),
    [1, 1000, 1001, 1003],
  );

  const variants: Array<[string, number]> = [
    ["processExec", 1],
    ["processExit", 5],
    ["processKprobe", 9],
    ["processTracepoint", 10],
    ["processLoader", 11],
    ["processUprobe", 12],
    ["processThrottle", 27],
    ["processLsm", 28],
    ["processUsdt", 29],
    ["test", 40000],
    ["rateLimitInfo", 40001],
  ];
  for (const [localName, no] of variants) {
    const field = GetEventsResponseSchema.fields.find((f) => f.localName === localName);
    assert.equal(field?.number, no, localName);
    assert.equal(field?.oneof?.name, "event");
  }
  // EventType values mirror the oneof numbers
  assert.equal(EventType.PROCESS_EXEC, 1);
  assert.equal(EventType.PROCESS_EXIT, 5);
  assert.equal(EventType.PROCESS_KPROBE, 9);
  assert.equal(EventType.PROCESS_LSM, 28);
  assert.equal(EventType.PROCESS_USDT, 29);
  assert.equal(EventType.RATE_LIMIT_INFO, 40001);
});

test("KprobeArgument oneof numbers and label", () => {
  const byName = new Map(KprobeArgumentSchema.fields.map((f) => [f.name, f.number]));
  assert.equal(byName.get("size_arg"), 4);
  assert.equal(byName.get("sock_arg"), 9);
  assert.equal(byName.get("capability_arg"), 17);
  assert.equal(byName.get("label"), 18);
  assert.equal(byName.get("process_credentials_arg"), 19);
  assert.equal(byName.get("bpf_cmd_arg"), 28);
  assert.equal(byName.get("sockaddrun_arg"), 33);
});

test("sensors / eventlog service shape", () => {
  assert.equal(FineGuidanceSensors.typeName, "tetragon.FineGuidanceSensors");
  const names = FineGuidanceSensors.methods.map((m) => m.name);
  for (const n of [
    "GetEvents", "GetHealth", "AddTracingPolicy", "DeleteTracingPolicy", "ListTracingPolicies",
    "ConfigureTracingPolicy", "EnableTracingPolicy", "DisableTracingPolicy", "ListSensors",
    "EnableSensor", "DisableSensor", "RemoveSensor", "ListDomains", "GetVersion", "GetInfo",
    "RuntimeHook", "GetDebug", "SetDebug",
  ]) {
    assert.ok(names.includes(n), `missing rpc ${n}`);
  }
  assert.equal(FineGuidanceSensors.method.getEvents.methodKind, "server_streaming");
  assert.deepStrictEqual(EventLogService.methods.map((m) => m.name), ["SetEventLogParams", "GetEventLogParams"]);

  const st = create(TracingPolicyStatusSchema, {
    id: 1n,
    name: "p",
    state: TracingPolicyState.TP_STATE_ENABLED,
    mode: TracingPolicyMode.TP_MODE_ENFORCE,
    kernelMemoryBytes: 4096n,
    stats: { actionCounters: { post: 3n } },
    domain: "grpc",
  });
  assert.deepStrictEqual(toJson(TracingPolicyStatusSchema, st, JSON_OPTS), {
    id: "1",
    name: "p",
    state: "TP_STATE_ENABLED",
    kernel_memory_bytes: "4096",
    mode: "TP_MODE_ENFORCE",
    stats: { action_counters: { post: "3" } },
    domain: "grpc",
  });

  // proto3 optional: explicit false is present on the wire
  const cfg = create(ConfigureTracingPolicyRequestSchema, { name: "p", enable: false });
  const cfgBytes = toBinary(ConfigureTracingPolicyRequestSchema, cfg);
  assert.deepStrictEqual(topLevelTags(cfgBytes), [
    [1, WireType.LengthDelimited],
    [3, WireType.Varint],
  ]);
  assert.equal(fromBinary(ConfigureTracingPolicyRequestSchema, cfgBytes).enable, false);
});
