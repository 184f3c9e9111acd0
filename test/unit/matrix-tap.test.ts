/**
 * The kernel matrix's reading of the in-VM suite's TAP (test/matrix/tap.ts), on the real output
 * of node's TAP reporter for a fixture with a pass, a failure, a skip and a failing hook; and
 * the kernel selection of TETRAGON_TS_VM_KERNELS.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { ROOT } from "../helpers/agent";
import { parseTap } from "../matrix/tap";
import { selectKernels } from "../matrix/vm-config";
import { panickedBeforeSuite } from "../matrix/vm-run";

test("failed tests with their suite path and error text, skips and counts", () => {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT; // a runner of its own, not a child of this one
  const r = spawnSync(process.execPath, ["--test", "--test-reporter=tap", path.join(ROOT, "dist/test/fixtures/tap/sample.js")], {
    encoding: "utf8",
    env,
  });
  assert.equal(r.status, 1, r.stderr);
  const tap = parseTap(r.stdout);
  const names = tap.failures.map((f) => f.name);
  assert.ok(names.includes("outer > fails with a message"), names.join("\n"));
  assert.ok(names.includes("hooked"), names.join("\n"));
  assert.ok(!names.includes("outer"), "a suite that only has failed subtests is not listed");
  const failed = tap.failures.find((f) => f.name === "outer > fails with a message")!;
  assert.match(failed.error, /^one is not two\nsecond line\n/);
  assert.match(failed.error, /\(at .*sample\.js:\d+:\d+\)$/);
  assert.match(tap.failures.find((f) => f.name === "hooked")!.error, /the hook broke/);
  assert.deepEqual(tap.skipped, ["outer > skipped (not here)"]);
  assert.deepEqual(tap.top.map((x) => x.name), ["outer", "hooked"]);
  for (const x of tap.top) assert.ok(x.ms >= 0 && x.ms < 10000, `${x.name}: ${x.ms} ms`);
  assert.equal(tap.counts.pass, 1);
  assert.equal(tap.counts.skipped, 1);
});

test("TETRAGON_TS_VM_KERNELS selects kernels by name", () => {
  assert.equal(selectKernels("all").deselected.size, 0);
  assert.equal(selectKernels("").deselected.size, 0);
  const none = selectKernels("none");
  assert.equal(none.deselected.get("debian-6.1"), "not selected by TETRAGON_TS_VM_KERNELS=none");
  assert.equal(none.deselected.size, 3);
  const one = selectKernels("debian-6.12, bogus");
  assert.deepEqual([...one.deselected.keys()], ["debian-6.1", "override-6.1"]);
  assert.deepEqual(one.unknown, ["bogus"]);
});

test("a guest kernel that panicked while booting is booted once more; a panic during the suite is a failure", () => {
  const bootPanic = "[    2.583162] Oops: int3: 0000 [#2] PREEMPT SMP NOPTI\n[    2.583665] Kernel panic - not syncing: Fatal exception in interrupt\n";
  const vm = (output: string, status = 125) => ({ status, output, wallS: 9, rigLine: "" });
  assert.equal(panickedBeforeSuite(vm(bootPanic)), true);
  const during = "# Subtest: kernel functions in the VM\n    ok 1 - fd_install\n" + bootPanic;
  assert.equal(panickedBeforeSuite(vm(during)), false);
  assert.equal(panickedBeforeSuite(vm("# Subtest: the agent in the VM\n" + bootPanic)), false);
  assert.equal(panickedBeforeSuite(vm("run-in-vm: timeout\n", 124)), false);
  assert.equal(panickedBeforeSuite(vm("no console at all\n")), false);
});
