/**
 * The process sensor end to end, against the real kernel: real processes are started,
 * and the events the real agent exports are checked.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as crypto from "node:crypto";
import { isExec, isExit, startAgent, tempDir, type JsonEvent, type RunningAgent } from "../helpers/agent";
import { detectCgroupMode, trackedHierarchyRoot } from "../../src/sensors/base/cgroup-mode";

const b64 = (s: string) => Buffer.from(s, "base64").toString();

describe("process sensor", () => {
  let agent: RunningAgent;
  let early: ReturnType<typeof spawn>;
  const earlyMarker = `300.${crypto.randomInt(1e6, 9e6)}`;

  before(async () => {
    early = spawn("/bin/sleep", [earlyMarker], { stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 100));
    agent = await startAgent();
  });

  after(async () => {
    early.kill("SIGKILL");
    const code = await agent.stop();
    assert.equal(code, 0, agent.logs());
  });

  test("an exec gives the binary, arguments, cwd, uid and the parent's exec_id", async () => {
    const cwd = tempDir("cwd-");
    const marker = `m-${crypto.randomBytes(4).toString("hex")}`;
    const r = spawnSync("/bin/sh", ["-c", `cd ${cwd} && /bin/echo ${marker} "with space"; true`]);
    assert.equal(r.status, 0);
    const ev = await agent.waitFor(
      (e) => isExec(e) && e.process_exec.process.arguments?.startsWith(marker),
      "exec of /bin/echo",
    );
    const p = ev.process_exec.process;
    assert.equal(p.binary, "/bin/echo");
    assert.equal(p.arguments, `${marker} "with space"`);
    assert.equal(p.cwd, cwd);
    assert.equal(p.uid, process.geteuid!());
    assert.equal(typeof p.pid, "number");
    assert.match(p.flags, /^execve( .*)? clone$/);
    assert.match(p.start_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    const [node, ktime, pid] = b64(p.exec_id).split(":");
    assert.equal(Number(pid), p.pid);
    assert.ok(node.length > 0 && /^\d+$/.test(ktime));
    // its parent is the shell, whose own exec event carries the same exec_id
    const parent = ev.process_exec.parent;
    assert.equal(parent.binary, "/bin/sh");
    assert.equal(p.parent_exec_id, parent.exec_id);
    const shExec = await agent.waitFor(
      (e) => isExec(e) && e.process_exec.process.exec_id === p.parent_exec_id,
      "exec of the parent shell",
    );
    assert.equal(shExec.process_exec.process.binary, "/bin/sh");
    assert.equal(shExec.process_exec.process.pid, parent.pid);
    assert.ok(typeof ev.time === "string" && ev.node_name);
  });

  test("a relative binary path is made absolute against the cwd", async () => {
    const cwd = tempDir("rel-");
    fs.copyFileSync("/bin/true", path.join(cwd, "mytrue"));
    fs.chmodSync(path.join(cwd, "mytrue"), 0o755);
    const marker = `rel-${crypto.randomBytes(4).toString("hex")}`;
    spawnSync("./mytrue", [marker], { cwd });
    const ev = await agent.waitFor((e) => isExec(e) && e.process_exec.process.arguments === marker, "relative exec");
    assert.equal(ev.process_exec.process.binary, path.join(cwd, "mytrue"));
  });

  test("exit status 3 gives status 3", async () => {
    const marker = `exit3-${crypto.randomBytes(4).toString("hex")}`;
    const r = spawnSync("/bin/sh", ["-c", "exit 3", marker]);
    assert.equal(r.status, 3);
    const ev = await agent.waitFor(
      (e) => isExit(e) && e.process_exit.process.arguments === `-c "exit 3" ${marker}`,
      "exit of sh",
    );
    assert.equal(ev.process_exit.status, 3);
    assert.equal(ev.process_exit.signal, undefined);
    assert.equal(ev.process_exit.process.binary, "/bin/sh");
  });

  test("a SIGKILLed process gives signal SIGKILL", async () => {
    const marker = `100.${crypto.randomInt(1e6, 9e6)}`;
    const child = spawn("/bin/sleep", [marker]);
    await agent.waitFor((e) => isExec(e) && e.process_exec.process.pid === child.pid, "exec of sleep");
    child.kill("SIGKILL");
    const ev = await agent.waitFor((e) => isExit(e) && e.process_exit.process.pid === child.pid, "exit of sleep");
    assert.equal(ev.process_exit.signal, "SIGKILL");
    assert.equal(ev.process_exit.status, undefined);
    assert.equal(ev.process_exit.process.arguments, marker);
  });

  test("a process with many threads exits once", async () => {
    const marker = `threads-${crypto.randomBytes(4).toString("hex")}`;
    const script = "import threading,time,sys\n" +
      "ts=[threading.Thread(target=time.sleep,args=(0.3,)) for _ in range(16)]\n" +
      "[t.start() for t in ts]\n[t.join() for t in ts]\n";
    const r = spawnSync("python3", ["-c", script, marker]);
    assert.equal(r.status, 0, String(r.stderr));
    const ev = await agent.waitFor(
      (e) => isExit(e) && e.process_exit.process.arguments?.endsWith(marker),
      "exit of the threaded process",
    );
    await new Promise((res) => setTimeout(res, 500));
    const exits = agent.events().filter((e) => isExit(e) && e.process_exit.process.pid === ev.process_exit.process.pid);
    assert.equal(exits.length, 1);
    assert.equal(ev.process_exit.status, undefined);
  });

  test("a process started before the agent appears with procFS", async () => {
    const ev = await agent.waitFor(
      (e) => isExec(e) && e.process_exec.process.pid === early.pid,
      "procFS exec of the early process",
    );
    const p = ev.process_exec.process;
    assert.match(p.flags, /procFS/);
    assert.equal(p.binary, fs.readlinkSync(`/proc/${early.pid}/exe`));
    assert.equal(p.arguments, earlyMarker);
    assert.equal(ev.process_exec.parent.pid, process.pid);
    early.kill("SIGKILL");
    const exit = await agent.waitFor((e) => isExit(e) && e.process_exit.process.pid === early.pid, "exit of the early process");
    assert.equal(exit.process_exit.process.exec_id, p.exec_id);
    assert.equal(exit.process_exit.signal, "SIGKILL");
  });

  test("a process in a container-like cgroup carries docker", async (t) => {
    const root = trackedHierarchyRoot(detectCgroupMode());
    assert.ok(root, "no cgroup hierarchy found");
    const id = crypto.randomBytes(32).toString("hex");
    const dir = path.join(root, "docker", id);
    fs.mkdirSync(dir, { recursive: true });
    t.after(() => {
      try { fs.rmdirSync(dir); } catch { /* still busy */ }
    });
    const marker = `cg-${crypto.randomBytes(4).toString("hex")}`;
    const r = spawnSync("/bin/sh", ["-c", `echo $$ > ${dir}/cgroup.procs && /bin/echo ${marker}`]);
    assert.equal(r.status, 0, String(r.stderr));
    const ev = await agent.waitFor((e) => isExec(e) && e.process_exec.process.arguments === marker, "exec in the cgroup");
    assert.equal(ev.process_exec.process.docker, id.slice(0, 31));
  });

  test("very long arguments carry truncArgs", async () => {
    const long = "x".repeat(6000);
    const marker = `long-${crypto.randomBytes(4).toString("hex")}`;
    spawnSync("/bin/true", [marker, long]);
    const ev = await agent.waitFor(
      (e) => isExec(e) && e.process_exec.process.arguments?.startsWith(marker),
      "exec with long arguments",
    );
    assert.match(ev.process_exec.process.flags, /truncArgs/);
    assert.ok(ev.process_exec.process.arguments.length < 4200);
  });

  test("no exec was lost in the kernel", () => {
    const lost = /events lost in the kernel/.test(agent.logs());
    assert.equal(lost, false, agent.logs());
  });
});

describe("process sensor options", () => {
  test("--enable-process-cred and --enable-process-ns add credentials and namespaces", async () => {
    const agent = await startAgent(["--enable-process-cred", "--enable-process-ns", "--enable-ancestors", "base"]);
    try {
      const marker = `cred-${crypto.randomBytes(4).toString("hex")}`;
      spawnSync("/bin/sh", ["-c", `/bin/echo ${marker}; true`]);
      const ev = await agent.waitFor((e) => isExec(e) && e.process_exec.process.arguments === marker, "exec");
      const p = ev.process_exec.process;
      assert.equal(p.process_credentials.uid, 0);
      assert.equal(p.process_credentials.euid, 0);
      const netIno = Number(/\[(\d+)\]/.exec(fs.readlinkSync("/proc/self/ns/net"))![1]);
      assert.equal(p.ns.net.inum, netIno);
      assert.equal(p.ns.net.is_host, true);
      assert.ok(Array.isArray(ev.process_exec.ancestors) && ev.process_exec.ancestors.length >= 1);
      assert.equal(ev.process_exec.ancestors[0].exec_id, ev.process_exec.parent.parent_exec_id);
      assert.ok(p.cap.effective.includes("CAP_SYS_ADMIN"));
    } finally {
      await agent.stop();
    }
  });
});
