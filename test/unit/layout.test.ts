/**
 * The C structs of bpf/events/ and their TypeScript twins in src/decode/layout.ts agree:
 * offsets and sizes are read from the BTF of the built object.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { CLONE, CREDS, EXEC, EXIT, HEADER, NS_FIELDS, NS_SIZE, PROCESS_ENTRY } from "../../src/decode/layout";
import {
  ADDR_LPM_KEY, ARG_SLOT, ARG_SPEC, ATTACH_HOOKS, DENY_ENTRY, HOOK_CONFIG, HOOK_COUNTERS, POLICY_FILTER_KEY, MATCH_ARG, MATCH_BIN, MATCH_CAPS, MATCH_NS,
  MATCH_PIDS, MSG_DATA, MSG_GENERIC, NUM_KEY, RESOLVE_STEP, SELECTOR, SELECTOR_ACTION, STR_KEY, STR_LPM_KEY, SUBSTR_KEY,
  USER_NS_BLOB, CRED_BLOB, SKB_BLOB, BPF_PROG_BLOB, BPF_MAP_BLOB, PERF_EVENT_BLOB, MODULE_BLOB,
} from "../../src/decode/generic-layout";

const OBJECT = path.resolve(__dirname, "../../../bpf/.output/process.bpf.o");
const GENERIC_OBJECT = path.resolve(__dirname, "../../../bpf/.output/generic.bpf.o");

interface StructInfo { size: number; members: Map<string, number> }

function readStructs(object = OBJECT): Map<string, StructInfo> {
  const text = execFileSync("bpftool", ["btf", "dump", "file", object, "format", "raw"], { encoding: "utf8" });
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
const generic = readStructs(GENERIC_OBJECT);

function check(name: string, layout: Record<string, number>, skip: string[] = [], from = structs): void {
  const s = from.get(name);
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

test("generic sensor: hook_config and its parts", () => {
  const g = (name: string, layout: Record<string, number>) => check(name, layout, [], generic);
  g("hook_config", HOOK_CONFIG);
  g("policy_filter_key", POLICY_FILTER_KEY);
  g("arg_spec", ARG_SPEC);
  g("resolve_step", RESOLVE_STEP);
  g("selector", SELECTOR);
  g("match_arg", MATCH_ARG);
  g("match_pids", MATCH_PIDS);
  g("match_bin", MATCH_BIN);
  g("match_ns", MATCH_NS);
  g("match_caps", MATCH_CAPS);
  g("selector_action", SELECTOR_ACTION);
  g("attach_hooks", ATTACH_HOOKS);
});

test("generic sensor: records and map keys", () => {
  const g = (name: string, layout: Record<string, number>) => check(name, layout, [], generic);
  g("msg_generic", MSG_GENERIC);
  g("msg_data", MSG_DATA);
  g("arg_slot", ARG_SLOT);
  g("str_key", STR_KEY);
  g("str_lpm_key", STR_LPM_KEY);
  g("num_key", NUM_KEY);
  g("addr_lpm_key", ADDR_LPM_KEY);
  g("substr_key", SUBSTR_KEY);
  g("hook_counters", HOOK_COUNTERS);
  g("deny_entry", DENY_ENTRY);
  check("process_entry", PROCESS_ENTRY, [], generic);
});

test("generic sensor: kernel-object blobs", () => {
  const g = (name: string, layout: Record<string, number>) => check(name, layout, [], generic);
  g("user_ns_blob", USER_NS_BLOB);
  g("cred_blob", CRED_BLOB);
  g("skb_blob", SKB_BLOB);
  g("bpf_prog_blob", BPF_PROG_BLOB);
  g("bpf_map_blob", BPF_MAP_BLOB);
  g("perf_event_blob", PERF_EVENT_BLOB);
  g("module_blob", MODULE_BLOB);
});
