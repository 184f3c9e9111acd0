/**
 * The C structs of bpf/events/ and their TypeScript twins in src/decode/layout.ts agree:
 * offsets and sizes are read from the BTF of the built object.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { CLONE, CREDS, EXEC, EXIT, HEADER, NS_FIELDS, NS_SIZE, PROCESS_ENTRY } from "../../src/decode/layout";

const OBJECT = path.resolve(__dirname, "../../../bpf/.output/process.bpf.o");

interface StructInfo { size: number; members: Map<string, number> }

function readStructs(): Map<string, StructInfo> {
  const text = execFileSync("bpftool", ["btf", "dump", "file", OBJECT, "format", "raw"], { encoding: "utf8" });
  const out = new Map<string, StructInfo>();
  let cur: StructInfo | undefined;
  for (const line of text.split("\n")) {
    const s = /^\[\d+\] STRUCT '(\w+)' size=(\d+)/.exec(line);
    if (s) {
      cur = { size: Number(s[2]), members: new Map() };
      out.set(s[1], cur);
      continue;
    }
    const m = /^\s+'(\w+)' type_id=\d+ bits_offset=(\d+)/.exec(line);
    if (m && cur) cur.members.set(m[1], Number(m[2]) / 8);
    else if (!line.startsWith("\t")) cur = undefined;
  }
  return out;
}

const structs = readStructs();

function check(name: string, layout: Record<string, number>, skip: string[] = []): void {
  const s = structs.get(name);
  assert.ok(s, `struct ${name} not in the object's BTF`);
  for (const [field, off] of Object.entries(layout)) {
    if (field === "SIZE") {
      assert.equal(s.size, off, `sizeof(struct ${name})`);
      continue;
    }
    if (skip.includes(field) || field === field.toUpperCase()) continue;
    assert.equal(s.members.get(field), off, `offsetof(struct ${name}, ${field})`);
  }
}

test("msg_header", () => check("msg_header", HEADER));
test("msg_creds", () => check("msg_creds", CREDS));
test("msg_ns", () => {
  const s = structs.get("msg_ns")!;
  assert.equal(s.size, NS_SIZE);
  NS_FIELDS.forEach((f, i) => assert.equal(s.members.get(f), i * 4, f));
});
test("msg_exec", () => check("msg_exec", EXEC));
test("msg_clone", () => check("msg_clone", CLONE));
test("msg_exit", () => check("msg_exit", EXIT));
test("process_entry", () => check("process_entry", PROCESS_ENTRY));
