/**
 * The in-kernel pre-filter's compiled form: which arguments a hook reads and matches before
 * the process lookup (hook_config.prefilter_args), and the length facts string operators
 * check before any map lookup (MATCH_F_LENS). The kernel side is exercised by the tracing
 * tests; here, the bytes the compiler writes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parsePolicy } from "../../src/policy";
import { compilePolicy, type CompileEnv } from "../../src/policy/compiler/hooks";
import { prefilterArgs, serializeHook } from "../../src/policy/compiler/serialize";
import { HOOK_CONFIG, MATCH_ARG, MATCH_F_LENS, MOP, SELECTOR } from "../../src/decode/generic-layout";

function env(): CompileEnv {
  return {
    kprobes: false, fentry: false, lsm: false, substring: false, rawTracepointCookies: true, hostNs: () => 0,
    rawTracepointArgs: () => undefined, cgroupV2: true, fanotify: true,
    functionProto: () => undefined, kprobeTargets: () => new Set(), protectedBinaries: [],
  };
}

function hookOf(body: string) {
  const yaml = `apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: p\nspec:\n  kprobes:\n${body}`;
  const compiled = compilePolicy(parsePolicy(yaml), env());
  return compiled.hooks[0];
}

const OPENAT = (selectors: string, args = `    - index: 0\n      type: "int"\n    - index: 1\n      type: "string"\n`) =>
  `  - call: "sys_openat"\n    args:\n${args}    selectors:\n${selectors}`;

test("a hook whose every selector has matchArgs pre-filters on exactly those arguments", () => {
  const h = hookOf(OPENAT(`    - matchArgs:
      - index: 1
        operator: "Equal"
        values: ["/etc/shadow"]
    - matchArgs:
      - index: 0
        operator: "Equal"
        values: ["-100"]
`));
  assert.equal(prefilterArgs(h), 0b11);
  assert.equal(serializeHook(h, (x) => x).readUInt32LE(HOOK_CONFIG.prefilter_args), 0b11);
});

test("a selector without matchArgs, or no selector at all, turns the pre-filter off", () => {
  const withBinaryOnly = hookOf(OPENAT(`    - matchArgs:
      - index: 1
        operator: "Prefix"
        values: ["/etc/"]
    - matchBinaries:
      - operator: "In"
        values: ["/usr/bin/cat"]
`));
  assert.equal(prefilterArgs(withBinaryOnly), 0);
  const none = hookOf(`  - call: "sys_openat"\n    args:\n    - index: 1\n      type: "string"\n`);
  assert.equal(prefilterArgs(none), 0);
});

test("arguments the pre-filter's reader cannot read (an fd's path) turn it off", () => {
  const h = hookOf(OPENAT(`    - matchArgs:
      - index: 0
        operator: "Prefix"
        values: ["/etc/"]
`, `    - index: 0\n      type: "fd"\n`).replace("sys_openat", "sys_read"));
  assert.equal(prefilterArgs(h), 0);
});

test("Equal carries the bitmap of its values' byte lengths; Prefix and Postfix the shortest length", () => {
  const h = hookOf(OPENAT(`    - matchArgs:
      - index: 1
        operator: "Equal"
        values: ["/etc/shadow", "/a", "/${"x".repeat(99)}"]
      - index: 1
        operator: "NotPrefix"
        values: ["/etc/", "/usr/lib/"]
      - index: 1
        operator: "Postfix"
        values: ["shadow", ".so"]
`));
  const b = serializeHook(h, (x) => x);
  const m = (i: number) => HOOK_CONFIG.sel + SELECTOR.args + i * MATCH_ARG.SIZE;
  const word = (i: number, w: number) => b.readBigUInt64LE(m(i) + MATCH_ARG.vals + w * 8);
  assert.equal(b.readUInt8(m(0) + MATCH_ARG.op), MOP.STR_EQ);
  assert.ok(b.readUInt8(m(0) + MATCH_ARG.flags) & MATCH_F_LENS);
  // lengths 11, 2 and 100: bits 11 and 2 of word 0, bit 36 of word 1
  assert.equal(word(0, 0), (1n << 11n) | (1n << 2n));
  assert.equal(word(0, 1), 1n << 36n);
  assert.equal(word(0, 2), 0n);
  assert.equal(word(0, 3), 0n);
  assert.ok(b.readUInt8(m(1) + MATCH_ARG.flags) & MATCH_F_LENS);
  assert.equal(word(1, 0), 5n);
  assert.equal(word(2, 0), 3n);
});

test("a number's matchArgs keep their values and no length flag", () => {
  const h = hookOf(OPENAT(`    - matchArgs:
      - index: 0
        operator: "Equal"
        values: ["-100", "3"]
`));
  const b = serializeHook(h, (x) => x);
  const m = HOOK_CONFIG.sel + SELECTOR.args;
  assert.equal(b.readUInt8(m + MATCH_ARG.flags) & MATCH_F_LENS, 0);
  assert.equal(b.readUInt8(m + MATCH_ARG.nvals), 2);
  assert.equal(prefilterArgs(h), 0b01);
});
