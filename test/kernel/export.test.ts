/** The JSON export file: encoding, rotation, compression, allow/deny lists and rate limit. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import * as crypto from "node:crypto";
import { isExec, startAgent } from "../helpers/agent";

const unique = (p: string) => `${p}-${crypto.randomBytes(4).toString("hex")}`;

function execMany(n: number, args: string[]): void {
  // one shell runs them all, so the test's own process is not the bottleneck
  const script = `for i in $(seq ${n}); do /bin/true ${args.join(" ")}; done`;
  const r = spawnSync("/bin/sh", ["-c", script]);
  assert.equal(r.status, 0);
}

test("export lines are Tetragon protojson and the file rotates at the size limit", async () => {
  const agent = await startAgent(["--export-file-max-size-mb", "1", "--export-file-max-backups", "2"]);
  try {
    const marker = unique("rot");
    execMany(400, [marker, "y".repeat(3000)]);
    await agent.waitFor((e) => isExec(e) && e.process_exec.process.arguments?.startsWith(marker), "an exec", 10000);
    const dir = path.dirname(agent.exportFile);
    const deadline = Date.now() + 10000;
    let backups: string[] = [];
    while (Date.now() < deadline) {
      backups = fs.readdirSync(dir).filter((f) => /^tetragon-.*\.log$/.test(f));
      if (backups.length === 2) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(backups.length, 2, `backups: ${backups}`);
    for (const f of [...backups, "tetragon.log"]) {
      const text = fs.readFileSync(path.join(dir, f), "utf8");
      assert.ok(Buffer.byteLength(text) <= 1024 * 1024, `${f} is over the limit`);
      for (const line of text.split("\n").filter(Boolean)) {
        const ev = JSON.parse(line);
        const kind = Object.keys(ev).find((k) => k.startsWith("process_"));
        assert.ok(kind, line.slice(0, 200));
        assert.ok(typeof ev.node_name === "string");
        const pid = ev[kind].process.pid;
        assert.equal(typeof pid, "number");
      }
    }
    assert.equal((fs.statSync(agent.exportFile).mode & 0o777).toString(8), "600");
  } finally {
    await agent.stop();
  }
});

test("rotated files are gzipped with --export-file-compress", async () => {
  const agent = await startAgent(["--export-file-max-size-mb", "1", "--export-file-compress"]);
  try {
    const marker = unique("gz");
    execMany(250, [marker, "z".repeat(3000)]);
    const dir = path.dirname(agent.exportFile);
    const deadline = Date.now() + 10000;
    let gz: string[] = [];
    while (Date.now() < deadline && gz.length === 0) {
      gz = fs.readdirSync(dir).filter((f) => f.endsWith(".log.gz"));
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(gz.length >= 1);
    assert.equal(fs.readdirSync(dir).filter((f) => /^tetragon-.*\.log$/.test(f)).length, 0, "uncompressed backups left");
    const lines = zlib.gunzipSync(fs.readFileSync(path.join(dir, gz[0]))).toString().split("\n").filter(Boolean);
    assert.ok(lines.length > 10);
    for (const l of lines) JSON.parse(l);
  } finally {
    await agent.stop();
  }
});

test("allow and deny lists select what is exported", async () => {
  const allowed = unique("allow");
  const denied = unique("deny");
  const agent = await startAgent([
    "--export-allowlist", '{"binary_regex":["^/bin/echo$"],"event_set":["PROCESS_EXEC"]}\n{"binary_regex":["never-matches-xyz"]}',
    "--export-denylist", JSON.stringify({ arguments_regex: [denied] }),
  ]);
  try {
    spawnSync("/bin/echo", [denied]);
    spawnSync("/bin/true", [allowed]);
    spawnSync("/bin/echo", [allowed]);
    await agent.waitFor((e) => isExec(e) && e.process_exec.process.arguments === allowed, "the allowed exec");
    await new Promise((r) => setTimeout(r, 300));
    const evs = agent.events();
    assert.ok(evs.length >= 1);
    for (const e of evs) {
      assert.ok(isExec(e), "only PROCESS_EXEC is allowed");
      assert.equal(e.process_exec.process.binary, "/bin/echo");
      assert.notEqual(e.process_exec.process.arguments, denied);
    }
  } finally {
    await agent.stop();
  }
});

test("the rate limit drops events and reports them in rate_limit_info", async () => {
  const agent = await startAgent(["--export-rate-limit", "5", "--export-allowlist", '{"event_set":["PROCESS_EXEC"]}']);
  try {
    const marker = unique("rl");
    execMany(50, [marker]);
    const info = await agent.waitFor((e) => e.rate_limit_info !== undefined, "rate_limit_info", 15000);
    assert.ok(Number(info.rate_limit_info.number_of_dropped_process_events) > 0);
    assert.equal(typeof info.rate_limit_info.number_of_dropped_process_events, "string");
    const execs = agent.events().filter(isExec);
    assert.ok(execs.length <= 6, `${execs.length} exec events exported`);
  } finally {
    await agent.stop();
  }
});

test("a bad export filter stops the agent with a clear error", async () => {
  await assert.rejects(
    startAgent(["--export-allowlist", '{"binary_regex":["("]}']),
    /export-allowlist/,
  );
});
