/**
 * In the VM: a syscall tracing policy (sys_openat with a Prefix filter on the path) loads,
 * attaches and fires with the right arguments, and only for the matching path; and Override
 * on sys_openat denies a real open through the mechanism the kernel offers.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { startAgentWithPolicies, tempDir, type JsonEvent, type RunningAgent } from "../helpers/agent";
import { guestKernel, guestOnly, withAgentLog, tryOpen } from "./guest";

const kp = (e: JsonEvent) => e.process_kprobe;

/** Syscall hooks attach to the syscall tracepoints, which need CONFIG_FTRACE_SYSCALLS. */
function syscallTracepoints(): string | false {
  return fs.existsSync("/sys/kernel/tracing/events/syscalls") ? false : "this kernel has no syscall tracepoints (CONFIG_FTRACE_SYSCALLS is not set)";
}

describe("a syscall policy in the VM", { skip: guestOnly() || syscallTracepoints() }, () => {
  let agent: RunningAgent;
  const work = tempDir("vm-openat-");
  const secret = path.join(work, "secret");
  const other = path.join(work, "other");
  const denied = path.join(work, "denied.txt");

  before(async () => {
    fs.writeFileSync(denied, "x\n");
    fs.mkdirSync(secret);
    fs.mkdirSync(other);
    fs.writeFileSync(path.join(secret, "a.txt"), "top secret\n");
    fs.writeFileSync(path.join(other, "b.txt"), "nothing\n");
    agent = await startAgentWithPolicies(tempDir("vm-tp-"), {
      openat: `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "vm-openat"
spec:
  kprobes:
  - call: "sys_openat"
    syscall: true
    return: true
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "string"
    returnArg:
      index: 0
      type: "int"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Prefix"
        values:
        - "${secret}/"
`,
      // Override in the same agent: the same programs, no second load (minutes under TCG)
      override: `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "vm-override-openat"
spec:
  kprobes:
  - call: "sys_openat"
    syscall: true
    args:
    - index: 1
      type: "string"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Equal"
        values: ["${denied}"]
      matchActions:
      - action: Override
        argError: -13
`,
    });
  });

  after(async () => {
    if (agent) assert.equal(await agent.stop(), 0, agent.logs());
  });

  test("openat under the prefix gives a process_kprobe with its path and return value; others none", () =>
    withAgentLog(agent, async () => {
      assert.equal(spawnSync("/usr/bin/cat", [path.join(other, "b.txt")]).status, 0);
      assert.equal(spawnSync("/usr/bin/cat", [path.join(secret, "a.txt")]).status, 0);
      const ev = await agent.waitFor((e) => kp(e)?.policy_name === "vm-openat", "openat event");
      const k = kp(ev);
      assert.equal(k.function_name, "__x64_sys_openat");
      assert.equal(k.process.binary, "/usr/bin/cat");
      assert.equal(k.args[0].int_arg, -100, "AT_FDCWD");
      assert.equal(k.args[1].string_arg, path.join(secret, "a.txt"));
      assert.ok(k.return.int_arg >= 3, `an fd: ${JSON.stringify(k.return)}`);
      await new Promise((r) => setTimeout(r, 1000)); // events of other CPUs' buffers
      const all = agent.events().filter((e) => kp(e)?.policy_name === "vm-openat");
      for (const e of all) assert.ok(kp(e).args[1].string_arg.startsWith(`${secret}/`), `only the prefix: ${kp(e).args[1].string_arg}`);
    }));

  test("Override on sys_openat: bpf_override_return where the kernel has it (the policy's error), else fanotify (EPERM)", () =>
    withAgentLog(agent, async () => {
      const kernelOverride = guestKernel().features.override_return;
      assert.match(agent.logs(), new RegExp(`vm-override-openat[^\\n]*Override: ${kernelOverride ? "bpf_override_return" : "fanotify"}`));
      assert.equal(tryOpen(denied), kernelOverride ? "EACCES" : "EPERM");
      assert.equal(tryOpen(path.join(other, "b.txt")), "ok");
      const ev = await agent.waitFor((e) => kp(e)?.policy_name === "vm-override-openat", "the override event");
      assert.equal(kp(ev).action, "KPROBE_ACTION_OVERRIDE");
      assert.equal(kp(ev).args[0].string_arg, denied);
    }));
});
