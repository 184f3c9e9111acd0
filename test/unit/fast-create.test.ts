/**
 * src/api/fast-create.ts against protobuf-es `create`: the same message (fields, values,
 * key order, nested conversions) for no init, an empty init and random inits of every
 * message type of the API, given as plain objects all the way down.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { create, isMessage, type DescFile, type DescMessage } from "@bufbuild/protobuf";
import { file_tetragon_events } from "../../src/api/gen/tetragon/events_pb";
import { file_tetragon_tetragon } from "../../src/api/gen/tetragon/tetragon_pb";
import { file_tetragon_sensors } from "../../src/api/gen/tetragon/sensors_pb";
import { GetEventsResponseSchema } from "../../src/api/gen/tetragon/events_pb";
import { ProcessKprobeSchema, ProcessSchema } from "../../src/api/gen/tetragon/tetragon_pb";
import { fastCreate } from "../../src/api/fast-create";
import { Rng, randomMessage } from "../helpers/random-message";

function messagesOf(files: DescFile[]): DescMessage[] {
  const out: DescMessage[] = [];
  const walk = (m: DescMessage) => {
    out.push(m);
    m.nestedMessages.forEach(walk);
  };
  for (const f of files) f.messages.forEach(walk);
  return out;
}

/** A message as a plain init: no $typeName anywhere, so every nested message is converted. */
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v === null || typeof v !== "object" || v instanceof Uint8Array) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (k !== "$typeName") out[k] = plain(x);
  return out;
}

/** Equal messages, with their keys in the same order at every level. */
function same(got: unknown, want: unknown, where: string): void {
  assert.deepStrictEqual(got, want, where);
  const keys = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(keys) : v !== null && typeof v === "object" && !(v instanceof Uint8Array)
      ? Object.entries(v).map(([k, x]) => [k, keys(x)]) : null;
  assert.deepStrictEqual(keys(got), keys(want), `${where}: key order`);
}

const ALL = messagesOf([file_tetragon_events, file_tetragon_tetragon, file_tetragon_sensors]);

test("every API message: no init and an empty init give protobuf-es' zero message", () => {
  assert.ok(ALL.length > 100, `${ALL.length} messages`);
  for (const desc of ALL) {
    same(fastCreate(desc), create(desc), `${desc.typeName} (no init)`);
    same(fastCreate(desc, {}), create(desc, {}), `${desc.typeName} ({})`);
  }
});

test("random plain inits of every API message build what protobuf-es builds", () => {
  const rng = new Rng(11);
  for (let round = 0; round < 20; round++) {
    for (const desc of ALL) {
      const init = plain(randomMessage(rng, desc)) as never;
      same(fastCreate(desc, init), create(desc, init), `${desc.typeName} round ${round}`);
    }
  }
});

test("a message passed as init is returned as it is; nested messages are kept, not copied", () => {
  const proc = create(ProcessSchema, { pid: 7, binary: "/bin/true" });
  assert.equal(fastCreate(ProcessSchema, proc), proc);
  const k = fastCreate(ProcessKprobeSchema, { process: proc, functionName: "__x64_sys_openat", args: [{ label: "x", arg: { case: "intArg", value: 3 } }] });
  assert.equal(k.process, proc);
  assert.ok(isMessage(k.args[0]));
  assert.equal(k.args[0].arg.case, "intArg");
  const ev = fastCreate(GetEventsResponseSchema, { nodeName: "n", event: { case: "processKprobe", value: k } });
  assert.equal(ev.event.value, k);
  // fresh lists and maps per message
  const a = fastCreate(ProcessKprobeSchema);
  const b = fastCreate(ProcessKprobeSchema);
  assert.notEqual(a.args, b.args);
});
