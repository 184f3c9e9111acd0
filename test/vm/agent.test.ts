/**
 * In the VM: the agent starts, logs the kernel's features, and exports process_exec and
 * process_exit for a real exec.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import { isExec, isExit, startAgent, type RunningAgent } from "../helpers/agent";
import { assertFeatures, guestKernel, guestOnly, parseFeatures, withAgentLog } from "./guest";

describe("the agent in the VM", { skip: guestOnly() }, () => {
  let agent: RunningAgent;

  before(async () => {
    agent = await startAgent();
  });

  after(async () => {
    if (agent) assert.equal(await agent.stop(), 0, agent.logs());
  });

  test("logs the kernel's features at start", () =>
    withAgentLog(agent, () => {
      const k = guestKernel();
      const line = agent.logs().split("\n").find((l) => l.includes("BPF detected features:"));
      assert.ok(line, "no 'BPF detected features' line");
      assertFeatures(parseFeatures(line), k.features, `${k.name} agent log`);
    }));

  test("exports process_exec and process_exit for a real exec", () =>
    withAgentLog(agent, async () => {
      const marker = `vm-exec-${crypto.randomBytes(4).toString("hex")}`;
      const r = spawnSync("/bin/sh", ["-c", `/usr/bin/echo ${marker}; exit 3`], { encoding: "utf8" });
      assert.equal(r.status, 3);
      const ev = await agent.waitFor(
        (e) => isExec(e) && e.process_exec.process.binary === "/usr/bin/echo" && e.process_exec.process.arguments === marker,
        "process_exec of /usr/bin/echo",
      );
      const p = ev.process_exec.process;
      assert.equal(ev.process_exec.parent.binary, "/bin/sh");
      assert.equal(ev.process_exec.parent.pid, r.pid);
      assert.equal(p.uid, 0);
      const exit = await agent.waitFor(
        (e) => isExit(e) && e.process_exit.process.exec_id === ev.process_exec.parent.exec_id,
        "process_exit of /bin/sh",
      );
      assert.equal(exit.process_exit.status, 3);
    }));
});
