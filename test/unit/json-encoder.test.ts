/**
 * The generated JSON encoder (src/encode/json-codegen.ts) against protobuf-es
 * `toJsonString(..., { useProtoFieldName: true })`: the same text, byte for byte, for random
 * messages of every type an event can hold, for hand-written edge cases, and the same
 * errors for values protobuf-es refuses.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { create, toJsonString, type DescMessage } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { GetEventsResponseSchema, GetEventsRequestSchema } from "../../src/api/gen/tetragon/events_pb";
import { ListTracingPoliciesResponseSchema, GetDebugResponseSchema } from "../../src/api/gen/tetragon/sensors_pb";
import { KprobeArgumentSchema, ProcessKprobeSchema, ProcessSchema } from "../../src/api/gen/tetragon/tetragon_pb";
import { jsonEncoder } from "../../src/encode/json-codegen";
import { encodeEventJson } from "../../src/encode/json";
import { Rng, randomMessage } from "../helpers/random-message";

const OPTS = { useProtoFieldName: true } as const;

/** Both encoders on one message: equal text, or both throw. Returns whether it encoded. */
function same(desc: DescMessage, msg: object, where: string): boolean {
  let want: string | undefined, wantErr: unknown;
  try {
    want = toJsonString(desc, msg as never, OPTS);
  } catch (e) {
    wantErr = e;
  }
  if (wantErr !== undefined) {
    assert.throws(() => jsonEncoder(desc)(msg), `${where}: protobuf-es threw (${(wantErr as Error).message}), the encoder did not`);
    return false;
  }
  const got = jsonEncoder(desc)(msg);
  assert.equal(got, want, where);
  assert.deepEqual(JSON.parse(got), JSON.parse(want!), where);
  return true;
}

test("random events of every type encode exactly as protobuf-es writes them", () => {
  const rng = new Rng(4);
  const seen = new Set<string>();
  let encoded = 0;
  for (let i = 0; i < 3000; i++) {
    const ev = randomMessage(rng, GetEventsResponseSchema) as { event: { case?: string } };
    if (same(GetEventsResponseSchema, ev, `event #${i} (${ev.event.case})`)) {
      encoded++;
      if (ev.event.case) seen.add(ev.event.case);
    }
  }
  // every event type of the oneof came out at least once, and most messages were valid
  const cases = GetEventsResponseSchema.oneofs.find((o) => o.name === "event")!.fields.map((f) => f.localName);
  assert.deepEqual([...seen].sort(), [...cases].sort());
  assert.ok(encoded > 1500, `only ${encoded} of 3000 random events were encodable`);
});

test("random messages of other types (requests, policies, debug) encode as protobuf-es writes them", () => {
  const rng = new Rng(7);
  for (const desc of [GetEventsRequestSchema, ListTracingPoliciesResponseSchema, GetDebugResponseSchema, ProcessSchema, KprobeArgumentSchema]) {
    for (let i = 0; i < 300; i++) same(desc, randomMessage(rng, desc), `${desc.typeName} #${i}`);
  }
});

test("timestamps: every precision protojson prints, the range ends, and out-of-range values throw", () => {
  const cases: Array<[bigint, number]> = [
    [0n, 0], [1769796920n, 1], [1769796920n, 10], [1769796920n, 1000], [1769796920n, 1000000], [1769796920n, 100000000],
    [1769796920n, 273546829], [1769796920n, 999999999], [-62135596800n, 0], [253402300799n, 999999999], [951782400n, 5000],
  ];
  for (const [seconds, nanos] of cases) {
    const ts = create(TimestampSchema, { seconds, nanos });
    assert.equal(jsonEncoder(TimestampSchema)(ts), toJsonString(TimestampSchema, ts), `${seconds}s ${nanos}ns`);
  }
  // every digit group zero or not, at each precision, and a spread of values
  const nanosValues = [1001, 1000001, 1001000, 999000, 999, 1000999, 100000, 10000000, 1010];
  for (let i = 0; i < 20000; i++) nanosValues.push((i * 7919 * 6151) % 1000000000, (i * 104729) % 1000 * 1000, (i * 15485863) % 1000 * 1000000);
  for (const nanos of nanosValues) {
    const ts = create(TimestampSchema, { seconds: 1769796920n, nanos });
    assert.equal(jsonEncoder(TimestampSchema)(ts), toJsonString(TimestampSchema, ts), `${nanos}ns`);
  }
  for (const [seconds, nanos] of [[-62135596801n, 0], [253402300800n, 0], [1n, -1], [1n, 1000000000]] as Array<[bigint, number]>) {
    const ts = create(TimestampSchema, { seconds, nanos });
    assert.throws(() => toJsonString(TimestampSchema, ts));
    assert.throws(() => jsonEncoder(TimestampSchema)(ts), `${seconds}s ${nanos}ns`);
  }
});

test("zero values are left out, oneof members and explicit wrappers are written even when zero", () => {
  const ev = create(GetEventsResponseSchema, {
    event: {
      case: "processKprobe",
      value: create(ProcessKprobeSchema, {
        process: create(ProcessSchema, { pid: 0, uid: 0, execId: "", refcnt: 0 }),
        args: [
          create(KprobeArgumentSchema, { arg: { case: "intArg", value: 0 } }),
          create(KprobeArgumentSchema, { arg: { case: "stringArg", value: "" } }),
          create(KprobeArgumentSchema, { arg: { case: "bytesArg", value: new Uint8Array(0) } }),
          create(KprobeArgumentSchema, {}),
        ],
      }),
    },
  });
  assert.equal(encodeEventJson(ev), toJsonString(GetEventsResponseSchema, ev, OPTS));
  assert.equal(
    encodeEventJson(ev),
    '{"process_kprobe":{"process":{"pid":0,"uid":0},"args":[{"int_arg":0},{"string_arg":""},{"bytes_arg":""},{}]}}',
  );
  const empty = create(GetEventsResponseSchema);
  assert.equal(encodeEventJson(empty), "{}");
});

test("values protobuf-es refuses are refused too", () => {
  const bad = [
    create(ProcessSchema, { cwd: 5 as unknown as string }),
    create(ProcessSchema, { refcnt: "x" as unknown as number }),
    create(ProcessKprobeSchema, { action: "POST" as unknown as number }),
  ];
  for (const m of bad) {
    const desc = m.$typeName === ProcessSchema.typeName ? ProcessSchema : ProcessKprobeSchema;
    assert.throws(() => toJsonString(desc as DescMessage, m as never, OPTS));
    assert.throws(() => jsonEncoder(desc as DescMessage)(m), `${m.$typeName}`);
  }
  // a refused value is refused again, not written from the last good message's cached members
  const good = create(ProcessKprobeSchema, { functionName: "f", policyName: "p", message: "m" });
  const bad2 = create(ProcessKprobeSchema, { functionName: "f", policyName: "p", message: 7 as unknown as string });
  const enc = jsonEncoder(ProcessKprobeSchema);
  for (let i = 0; i < 2; i++) {
    assert.equal(enc(good), toJsonString(ProcessKprobeSchema, good, OPTS));
    assert.throws(() => enc(bad2));
    assert.throws(() => enc(bad2));
  }
});
