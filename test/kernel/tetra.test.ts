/**
 * The `tetra` CLI as a user runs it (a child process), against the real agent over its
 * unix socket: compact lines for a real exec, the same lines from a saved export file on
 * stdin, status / version / probe / tracingpolicy, the address taken from
 * tetragon-info.json, and a clear error when no agent listens.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT, isExec, isExit, startAgent, tempDir, type RunningAgent } from "../helpers/agent";
import { freePort, scrapeMetrics, sleep, waitUntil } from "./grpc-helpers";

const TETRA_MAIN = path.join(ROOT, "dist/src/cli/tetra/main.js");
const TETRA_BIN = path.join(ROOT, "bin/tetra");

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs tetra to completion (stdin: /dev/null unless `input` is given through a pipe). */
function tetra(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Run {
  const r = spawnSync(process.execPath, [TETRA_MAIN, ...args], {
    env: { ...process.env, ...opts.env },
    stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    input: opts.input,
    encoding: "utf8",
    timeout: 60000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `cat file | tetra args` through a shell pipe (stdin is a FIFO, as users do it). */
function tetraFromPipe(file: string, args: string[]): Run {
  const quoted = [TETRA_MAIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const r = spawnSync("/bin/sh", ["-c", `cat '${file}' | '${process.execPath}' ${quoted}`], { encoding: "utf8", timeout: 60000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function copyBinary(src: string, dst: string): string {
  fs.copyFileSync(src, dst);
  fs.chmodSync(dst, 0o755);
  return dst;
}

describe("tetra without an agent", () => {
  test("a clear one-line error and a non-zero exit", async () => {
    const port = await freePort();
    for (const [args, reason] of [
      [["status", "--server-address", "unix:///nonexistent/tetragon.sock"], "no such socket"],
      [["version", "-s", "--server-address", `127.0.0.1:${port}`], "connection refused"],
      [["getevents", "-o", "compact", "--server-address", `localhost:${port}`, "--retries", "0"], "connection refused"],
      [["tracingpolicy", "list", "--server-address", "unix:///nonexistent/tetragon.sock"], "no such socket"],
    ] as const) {
      const r = tetra([...args], { env: { TETRAGON_RUN_DIR: tempDir("tetra-norun-") } });
      assert.equal(r.status, 1, `${args.join(" ")}: ${r.stderr}`);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], new RegExp(`^Error: cannot connect to the tetragon agent at .*: ${reason}`));
      assert.doesNotMatch(r.stderr, /\s+at .*\.js:\d+/, "no stack trace");
    }
  });

  test("probe prints the kernel features one per line", () => {
    const r = tetra(["probe"]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.ok(lines.length >= 20);
    for (const l of lines) assert.match(l, /^[a-z_]+: (true|false)$/);
    assert.ok(lines.includes("signal: true") || lines.includes("signal: false"));
    assert.equal(lines[0].split(":")[0], "override_return");
  });

  test("getevents rejects unknown event types and output formats locally", () => {
    const bad = tetra(["getevents", "-e", "PROCESS_FOO"], { input: "" });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^Error: invalid value for "event-types" flag: PROCESS_FOO\. Supported are UNDEF, PROCESS_EXEC/);
    const out = tetra(["getevents", "-o", "yaml"], { input: "" });
    assert.equal(out.status, 1);
    assert.match(out.stderr, /invalid value for "output" flag: yaml/);
  });
});

describe("tetra with the real agent", () => {
  let agent: RunningAgent;
  let env: NodeJS.ProcessEnv;
  let node: string;

  let metricsPort: number;

  before(async () => {
    metricsPort = await freePort();
    agent = await startAgent(["--metrics-server", `127.0.0.1:${metricsPort}`], { grpc: true });
    env = { TETRAGON_RUN_DIR: agent.runDir }; // tetra finds the socket in tetragon-info.json
    node = (await agent.waitFor((e) => typeof e.node_name === "string", "any event")).node_name;
  });

  after(async () => {
    assert.equal(await agent.stop(), 0, agent.logs());
  });

  test("status, version -s and the address from tetragon-info.json", () => {
    const s = tetra(["status"], { env });
    assert.equal(s.status, 0, s.stderr);
    assert.equal(s.stdout, "Health Status: running\n");
    const v = tetra(["version", "-s"], { env });
    assert.equal(v.status, 0, v.stderr);
    const version = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version;
    assert.equal(v.stdout, `CLI version: ${version}\nServer version: ${version}\n`);
    // the launcher script works too, with an explicit address
    const b = spawnSync(TETRA_BIN, ["status", "--server-address", agent.serverAddress], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    assert.equal(b.stdout, "Health Status: running\n", b.stderr);
  });

  test("tracingpolicy add, list (with its event counters), disable, enable, set-mode and delete a real policy", async () => {
    const dir = tempDir("tetra-tp-");
    const file = path.join(dir, "tp.yaml");
    fs.writeFileSync(file, [
      "apiVersion: cilium.io/v1alpha1", "kind: TracingPolicy", "metadata:", "  name: tetra-tp-test", "spec:",
      "  kprobes:", "  - call: sys_getcwd", "    args:", "    - index: 1", "      type: size_t",
      "    selectors:", "    - matchBinaries:", "      - operator: In", "        values:", `        - ${fs.realpathSync("/usr/bin/pwd")}`, "",
    ].join("\n"));
    const ok = (args: string[], out: RegExp) => {
      const r = tetra(args, { env });
      assert.equal(r.status, 0, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stdout, out, args.join(" "));
      return r.stdout;
    };
    ok(["tracingpolicy", "add", file], new RegExp(`tracing policy "${file}" added`));
    for (let i = 0; i < 3; i++) assert.equal(spawnSync("/usr/bin/pwd", ["-P"]).status, 0);
    const posted = () => agent.events().filter((e) => e.process_kprobe?.policy_name === "tetra-tp-test").length;
    await waitUntil(() => posted() >= 3, "the getcwd events of three pwd runs");
    await sleep(300);
    const n = posted();
    const list = ok(["tp", "list"], /^ID\s+NAME\s+DOMAIN\s+STATE\s+FILTERID\s+NAMESPACE\s+SENSORS\s+KERNELMEMORY\s+MODE\s+NPOST\s+NENFORCE\s+NMONITOR\n/);
    const row = /\d+\s+tetra-tp-test\s+grpc\s+enabled\s+0\s+\(global\)\s+generic_sensor\s+\S+ \S+\s+enforce\s+(\d+)\s+0\s+0/.exec(list);
    assert.ok(row, list);
    assert.equal(Number(row[1]), n, "NPOST counts the events sent");
    const metrics = await scrapeMetrics(metricsPort);
    const counted = [...metrics.matchAll(/^tetragon_policy_events_total\{([^}]*)\} (\d+)$/gm)]
      .filter((m) => m[1].includes('policy="tetra-tp-test"')).reduce((a, m) => a + Number(m[2]), 0);
    assert.equal(counted, n, "tetragon_policy_events_total counts them too");
    ok(["tp", "disable", "tetra-tp-test"], /disabled/);
    assert.match(ok(["tp", "list"], /tetra-tp-test/), /tetra-tp-test\s+grpc\s+disabled/);
    ok(["tp", "enable", "tetra-tp-test"], /enabled/);
    ok(["tp", "set-mode", "tetra-tp-test", "monitor"], /monitor/);
    const json = JSON.parse(ok(["tp", "list", "-o", "json"], /tetra-tp-test/));
    assert.equal(json.policies[0].mode, "TP_MODE_MONITOR");
    assert.equal(json.policies[0].state, "TP_STATE_ENABLED");
    const again = tetra(["tp", "add", file], { env });
    assert.equal(again.status, 1);
    assert.equal(again.stderr, "Error: failed to add tracing policy: rpc error: code = AlreadyExists desc = tracing policy tetra-tp-test already exists\n");
    ok(["tp", "delete", "tetra-tp-test"], /deleted/);
    const gone = tetra(["tp", "delete", "tetra-tp-test"], { env });
    assert.equal(gone.status, 1);
    assert.match(gone.stderr, /code = NotFound desc = tracing policy tetra-tp-test not found/);
    const bad = path.join(dir, "bad.yaml");
    fs.writeFileSync(bad, "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: x\nspec:\n  kprobes:\n  - call: sys_openat\n    selectors:\n    - matchArgs:\n      - index: 0\n        operator: Bogus\n");
    const r = tetra(["tp", "add", bad], { env });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^Error: failed to add tracing policy: rpc error: code = InvalidArgument desc = policy 'x' rejected: spec\.kprobes\[0\]\.selectors\[0\]\.matchArgs\[0\]\.operator: unknown operator 'Bogus'/);
  });

  test("getevents -o compact prints the lines of a real exec, and the export file on stdin prints the same", async () => {
    const tag = `t${crypto.randomBytes(4).toString("hex")}`;
    const dir = tempDir("tetra-compact-");
    const bin = copyBinary("/bin/true", path.join(dir, `curl-${tag}`));
    const live: ChildProcess = spawn(process.execPath, [TETRA_MAIN, "getevents", "-o", "compact", "--processes", `curl-${tag}$`], {
      env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    live.stdout!.on("data", (d) => (out += d));
    live.stderr!.on("data", (d) => (err += d));
    let i = 0;
    await waitUntil(() => {
      spawnSync(bin, ["cilium.io", `n${i++}`]);
      return out.includes(`💥 exit    ${node} ${bin} cilium.io n`);
    }, `tetra's output (${err})`);
    const last = i - 1;
    spawnSync(bin, ["cilium.io", "last"]);
    await waitUntil(() => out.includes(`${bin} cilium.io last 0\n`), "the last exit");
    const exited = new Promise((r) => live.on("exit", r));
    live.kill("SIGINT");
    assert.equal(await exited, 0, err);
    const liveLines = out.trim().split("\n");
    const n = /n(\d+)/.exec(liveLines[0])![1];
    assert.deepEqual(liveLines.slice(-2), [`🚀 process ${node} ${bin} cilium.io last`, `💥 exit    ${node} ${bin} cilium.io last 0`]);
    assert.ok(liveLines.includes(`🚀 process ${node} ${bin} cilium.io n${last}`) || Number(n) === last);

    await agent.waitFor((e) => isExit(e) && e.process_exit.process.arguments === "cilium.io last", "the export of the last exit");
    const fromFile = tetraFromPipe(agent.exportFile, ["getevents", "-o", "compact", "--processes", `curl-${tag}$`]);
    assert.equal(fromFile.status, 0, fromFile.stderr);
    const fileLines = fromFile.stdout.trim().split("\n");
    const start = fileLines.indexOf(liveLines[0]);
    assert.ok(start >= 0, `${liveLines[0]} in ${fromFile.stdout}`);
    assert.deepEqual(fileLines.slice(start), liveLines, "the same lines, in the same order");
  });

  test("getevents -o json prints the export encoding; filters and field filters apply on stdin too", async () => {
    const tag = `j${crypto.randomBytes(4).toString("hex")}`;
    const live: ChildProcess = spawn(process.execPath, [TETRA_MAIN, "getevents", "--processes", "echo$", "-e", "PROCESS_EXEC"], {
      env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    live.stdout!.on("data", (d) => (out += d));
    await waitUntil(() => {
      spawnSync("/bin/echo", [tag]);
      return out.includes(tag);
    }, "tetra's json output");
    const exited = new Promise((r) => live.on("exit", r));
    live.kill("SIGINT");
    await exited;
    const got = out.trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(got.every(isExec), "only execs");
    const mine = got.find((e) => e.process_exec.process.arguments === tag)!;
    const exported = await agent.waitFor((e) => isExec(e) && e.process_exec.process.exec_id === mine.process_exec.process.exec_id, "the same event exported");
    assert.deepEqual(mine, exported, "the gRPC stream and the export file carry the same JSON");

    const fromFile = tetraFromPipe(agent.exportFile, ["getevents", "--processes", "echo$", "-F", "parent", "-f", "process.binary,process.arguments"]);
    assert.equal(fromFile.status, 0, fromFile.stderr);
    const lines = fromFile.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const e = lines.find((x) => x.process_exec?.process?.arguments === tag);
    assert.deepEqual(e.process_exec, { process: { binary: "/bin/echo", arguments: tag } });
    assert.ok(lines.some((x) => x.process_exit), "exits pass without -e");
    const coloured = tetraFromPipe(agent.exportFile, ["getevents", "-o", "compact", "--color", "always", "--processes", "echo$"]);
    assert.match(coloured.stdout, /\x1b\[34m🚀 process\x1b\[0m \x1b\[32m/);
  });

  test("bad requests: INVALID_ARGUMENT from the agent, shown as one line", () => {
    const r = tetra(["getevents", "--processes", "(oops"], { env });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^Error: failed to call GetEvents: rpc error: code = InvalidArgument desc = allow_list\[0\]\.binary_regex\[0\]: invalid regex "\(oops"/);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  });

  test("a TCP --server-address also serves <run dir>/tetragon.sock (mode 0660)", async () => {
    const port = await freePort();
    const tcp = await startAgent([], { serverAddress: `127.0.0.1:${port}` });
    try {
      const sock = path.join(tcp.runDir, "tetragon.sock");
      assert.equal(fs.statSync(sock).mode & 0o777, 0o660);
      assert.equal(tetra(["status", "--server-address", `127.0.0.1:${port}`]).stdout, "Health Status: running\n");
      assert.equal(tetra(["status", "--server-address", `unix://${sock}`]).stdout, "Health Status: running\n");
      assert.equal(tetra(["status"], { env: { TETRAGON_RUN_DIR: tcp.runDir } }).stdout, "Health Status: running\n");
      const busy = await startAgent([], { serverAddress: `127.0.0.1:${port}` }).then(
        async (a) => {
          await a.stop();
          return "";
        },
        (err: Error) => err.message,
      );
      assert.match(busy, /could not listen on 127\.0\.0\.1:\d+/, "a second agent on the same port fails to start, saying why");
    } finally {
      assert.equal(await tcp.stop(), 0);
    }
  });

  test("getevents ends with a clear error when the agent goes away (and --reconnect keeps trying)", async () => {
    const other = await startAgent(["--log-level", "debug"], { grpc: true });
    const plain = spawn(process.execPath, [TETRA_MAIN, "getevents", "--server-address", other.serverAddress], { stdio: ["ignore", "ignore", "pipe"] });
    const again = spawn(process.execPath, [TETRA_MAIN, "getevents", "--server-address", other.serverAddress, "--reconnect", "--reconnect-wait", "200ms"], { stdio: ["ignore", "ignore", "pipe"] });
    const plainExit = new Promise((r) => plain.on("exit", r));
    const againExit = new Promise((r) => again.on("exit", r));
    let plainErr = "";
    let againErr = "";
    plain.stderr!.on("data", (d) => (plainErr += d));
    again.stderr!.on("data", (d) => (againErr += d));
    // both streams are open before the agent goes (a fixed sleep is not enough on a loaded machine)
    await waitUntil(() => (other.logs().match(/Received a GetEvents request/g) ?? []).length >= 2, "both GetEvents streams");
    assert.equal(await other.stop(), 0);
    assert.equal(await plainExit, 1);
    assert.match(plainErr, /^Error: failed to receive events: rpc error: code = Unavailable desc = /);
    await waitUntil(() => /reconnecting in 0.2s/.test(againErr), "the reconnect message");
    assert.equal(again.exitCode, null, "--reconnect keeps running");
    again.kill("SIGINT");
    await againExit;
  });
});
