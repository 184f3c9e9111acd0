/**
 * Uprobes beyond symbols: attached by file offset, with a return probe (returnArg), and with a
 * reference-counter semaphore (refCtrOffsets) that the kernel raises while the probe is
 * attached. The probed program is built here, so its offsets are known exactly.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { startAgentWithPolicies, tempDir, type JsonEvent, type RunningAgent } from "../helpers/agent";

const PROGRAM = `
#include <stdio.h>
#include <stdlib.h>
unsigned short tg_semaphore __attribute__((section(".probes"))) = 0;
__attribute__((noinline)) int tg_probe_point(int v) { __asm__ volatile("" ::: "memory"); return v + 1; }
__attribute__((noinline)) int tg_offset_point(int v) { __asm__ volatile("" ::: "memory"); return v * 2; }
int main(int argc, char **argv) {
	int v = argc > 1 ? atoi(argv[1]) : 0;
	printf("%s %d\\n", tg_semaphore ? "enabled" : "disabled", tg_probe_point(v) + tg_offset_point(v) * 0);
	return 0;
}
`;

/** The file offset of a symbol: its address, moved from its section's address to the section's offset. */
function fileOffset(binary: string, symbol: string): number {
  const syms = execFileSync("readelf", ["-sW", binary], { encoding: "utf8" });
  const sym = syms.split("\n").map((l) => l.trim().split(/\s+/)).find((f) => f[7] === symbol);
  assert.ok(sym, `${symbol} in ${binary}`);
  const addr = parseInt(sym[1], 16);
  const sectionIndex = Number(sym[6]);
  const sections = execFileSync("readelf", ["-SW", binary], { encoding: "utf8" });
  const line = sections.split("\n").find((l) => new RegExp(`^\\s*\\[\\s*${sectionIndex}\\]`).test(l));
  assert.ok(line, `section ${sectionIndex} of ${binary}`);
  const f = line.replace(/^\s*\[\s*\d+\]\s*/, "").split(/\s+/); // name type address offset ...
  return addr - parseInt(f[2], 16) + parseInt(f[3], 16);
}

describe("uprobes by offset, with a return value, and with a semaphore", () => {
  let agent: RunningAgent;
  const dir = tempDir("tp-uprobes-");
  const prog = path.join(dir, "probed");
  fs.writeFileSync(`${prog}.c`, PROGRAM);
  execFileSync("clang", ["-O1", "-o", prog, `${prog}.c`]);
  // a uprobe with a semaphore and one without cannot share an offset (the kernel refuses)
  const fnOff = fileOffset(prog, "tg_offset_point");
  const semOff = fileOffset(prog, "tg_semaphore");
  const run = (v: number) => {
    const r = spawnSync(prog, [String(v)], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    return { pid: r.pid!, out: r.stdout.trim() };
  };
  let before0 = "";

  before(async () => {
    before0 = run(1).out;
    agent = await startAgentWithPolicies(dir, {
      symbol: `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "up-semaphore-return"
spec:
  uprobes:
  - path: "${prog}"
    symbols:
    - "tg_probe_point"
    refCtrOffsets:
    - ${semOff}
    return: true
    args:
    - index: 0
      type: "int"
    returnArg:
      index: 0
      type: "int"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Equal"
        values:
        - "41"
`,
      offset: `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "up-offset"
spec:
  uprobes:
  - path: "${prog}"
    offsets:
    - ${fnOff}
    args:
    - index: 0
      type: "int"
`,
    });
  });

  after(async () => {
    assert.equal(await agent.stop(), 0, agent.logs());
  });

  test("refCtrOffsets: the semaphore is raised while the probe is attached", () => {
    assert.equal(before0, "disabled 2");
    assert.equal(run(5).out, "enabled 6");
  });

  test("return: true gives the returnArg; offsets attach at the offset and report it", async () => {
    const hit = run(41);
    const miss = run(7);
    const of = (policy: string, pid: number) => agent.events()
      .filter((e: JsonEvent) => e.process_uprobe?.policy_name === policy && e.process_uprobe.process.pid === pid)
      .map((e: JsonEvent) => e.process_uprobe);
    await agent.waitFor((e) => e.process_uprobe?.policy_name === "up-semaphore-return" && e.process_uprobe.process.pid === hit.pid, "return uprobe");
    await agent.waitFor((e) => e.process_uprobe?.policy_name === "up-offset" && e.process_uprobe.process.pid === miss.pid, "offset uprobe");
    await new Promise((r) => setTimeout(r, 300));
    const [u] = of("up-semaphore-return", hit.pid);
    assert.equal(of("up-semaphore-return", hit.pid).length, 1);
    assert.equal(u.symbol, "tg_probe_point");
    assert.equal(u.ref_ctr_offset, String(semOff));
    assert.deepEqual(u.args, [{ int_arg: 41 }]);
    assert.deepEqual(u.return, { int_arg: 42 });
    assert.deepEqual(of("up-semaphore-return", miss.pid), [], "matchArgs keeps 41 only");
    for (const pid of [hit.pid, miss.pid]) {
      const [o] = of("up-offset", pid);
      assert.equal(of("up-offset", pid).length, 1);
      assert.equal(o.offset, String(fnOff));
      assert.equal(o.symbol, undefined);
      assert.deepEqual(o.args, [{ int_arg: pid === hit.pid ? 41 : 7 }]);
      assert.equal(o.return, undefined);
    }
  });
});
