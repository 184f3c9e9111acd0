/**
 * In the VM: Override in the kernel, each mechanism denying a real open with the policy's
 * error before it takes effect: bpf_override_return on a kprobe of the syscall (the override
 * kernel), fmod_ret on the syscall's entry function (the Debian kernels, which lack
 * bpf_override_return) and a BPF-LSM verdict (every kernel of the matrix).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { startAgentWithPolicies, tempDir, type JsonEvent, type RunningAgent } from "../helpers/agent";
import { guestKernel, guestOnly, withAgentLog } from "./guest";

const kp = (e: JsonEvent) => e.process_kprobe;

/** open(path) from a fresh process: "ok" or the errno name */
function tryOpen(file: string): string {
  const r = spawnSync("/usr/bin/python3", ["-c", `
import errno
try:
    open(${JSON.stringify(file)}).read(); print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
`], { encoding: "utf8" });
  return r.stdout.trim();
}

describe("enforcement in the VM", { skip: guestOnly() }, () => {
  let agent: RunningAgent;
  const work = tempDir("vm-enforce-");
  const viaSyscall = path.join(work, "syscall-denied.txt");
  const viaLsm = path.join(work, "lsm-denied.txt");
  const allowed = path.join(work, "allowed.txt");

  before(async () => {
    for (const f of [viaSyscall, viaLsm, allowed]) fs.writeFileSync(f, "x\n");
    agent = await startAgentWithPolicies(tempDir("vm-enforce-tp-"), {
      syscall: `apiVersion: cilium.io/v1alpha1
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
        values: ["${viaSyscall}"]
      matchActions:
      - action: Override
        argError: -13
`,
      lsm: `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "vm-override-lsm"
spec:
  lsmhooks:
  - hook: "file_open"
    args:
    - index: 0
      type: "file"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Equal"
        values: ["${viaLsm}"]
      matchActions:
      - action: Override
        argError: -1
`,
    });
  });

  after(async () => {
    if (agent) assert.equal(await agent.stop(), 0, agent.logs());
  });

  test("Override on sys_openat: the kernel's own mechanism fails the open with the policy's error", () => withAgentLog(agent, async () => {
    const mechanism = guestKernel().features.override_return ? "bpf_override_return" : "fmod_ret";
    assert.match(agent.logs(), new RegExp(`vm-override-openat[\\s\\S]*Override: ${mechanism}`));
    assert.equal(tryOpen(viaSyscall), "EACCES");
    assert.equal(tryOpen(allowed), "ok");
    const ev = await agent.waitFor((e) => kp(e)?.policy_name === "vm-override-openat", "the override event");
    assert.equal(kp(ev).action, "KPROBE_ACTION_OVERRIDE");
    assert.equal(kp(ev).function_name, "__x64_sys_openat");
    assert.equal(kp(ev).args[0].string_arg, viaSyscall);
  }));

  test("Override on the file_open LSM hook: the open fails with EPERM", () => withAgentLog(agent, async () => {
    assert.equal(tryOpen(viaLsm), "EPERM");
    assert.equal(tryOpen(allowed), "ok");
    const ev = await agent.waitFor((e) => e.process_lsm?.policy_name === "vm-override-lsm", "the LSM event");
    assert.equal(ev.process_lsm.action, "KPROBE_ACTION_OVERRIDE");
  }));
});
