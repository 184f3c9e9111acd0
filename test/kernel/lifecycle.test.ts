/** Start and stop: every program detached and every pin removed, and a crash blocks nothing. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { startAgent } from "../helpers/agent";

function pinDirOf(logs: string, args: string[]): string {
  void logs;
  return "/sys/fs/bpf/" + args[args.indexOf("--bpf-dir") + 1];
}

/** Programs that use a map: this agent's own, whatever other agents run on the machine. */
function programsUsingMap(mapId: number): number {
  const out = execFileSync("bpftool", ["prog", "show", "--json"], { encoding: "utf8" });
  return (JSON.parse(out) as Array<{ map_ids?: number[] }>).filter((p) => p.map_ids?.includes(mapId)).length;
}

test("SIGTERM detaches every program and removes every pin", async () => {
  const args = ["--bpf-dir", `tetragon-lifecycle-${process.pid}`];
  const agent = await startAgent(args);
  const pinDir = pinDirOf(agent.logs(), args);
  let mapId: number;
  try {
    assert.ok(fs.existsSync(`${pinDir}/execve_map`));
    mapId = (JSON.parse(execFileSync("bpftool", ["map", "show", "pinned", `${pinDir}/execve_map`, "--json"], { encoding: "utf8" })) as { id: number }).id;
    assert.ok(programsUsingMap(mapId) >= 1, "the process sensor's programs use its execve_map");
  } finally {
    assert.equal(await agent.stop(), 0);
  }
  const end = Date.now() + 5000; // programs are freed asynchronously after their last fd closes
  while (programsUsingMap(mapId) > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  assert.equal(programsUsingMap(mapId), 0);
  assert.equal(fs.existsSync(pinDir), false);
});

test("SIGINT stops the agent cleanly too", async () => {
  const agent = await startAgent([]);
  agent.proc.kill("SIGINT");
  const code = await agent.stop();
  assert.equal(code, 0);
  assert.match(agent.logs(), /agent stopped/);
});

test("after a crash the next start removes the stale pins and runs", async () => {
  const args = ["--bpf-dir", `tetragon-crash-${process.pid}`];
  const first = await startAgent(args);
  first.proc.kill("SIGKILL");
  await first.stop();
  const pinDir = pinDirOf("", args);
  assert.ok(fs.existsSync(`${pinDir}/execve_map`), "the crash left its pin");
  const second = await startAgent(args);
  assert.match(second.logs(), /removed a stale pin/);
  assert.equal(await second.stop(), 0);
  assert.equal(fs.existsSync(pinDir), false);
});
