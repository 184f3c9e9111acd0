/**
 * In the VM: Override in the kernel, each mechanism denying a real open before it takes
 * effect: on sys_openat, bpf_override_return on a kprobe of the syscall (the override kernel;
 * the policy's error) or, on the Debian kernels (no bpf_override_return, and no error injection
 * for fmod_ret on syscalls), fanotify (EPERM); fmod_ret on an fentry of security_file_open
 * (the policy's error) and a BPF-LSM verdict on file_open, on every kernel of the matrix.
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
  const viaFmodRet = path.join(work, "fmod-ret-denied.txt");
  const allowed = path.join(work, "allowed.txt");

  before(async () => {
    for (const f of [viaSyscall, viaLsm, viaFmodRet, allowed]) fs.writeFileSync(f, "x\n");
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
      fentry: `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "vm-override-fmod-ret"
spec:
  fentries:
  - call: "security_file_open"
    args:
    - index: 0
      type: "file"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Equal"
        values: ["${viaFmodRet}"]
      matchActions:
      - action: Override
        argError: -2
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

  test("Override on sys_openat: bpf_override_return where the kernel has it, else fanotify", () => withAgentLog(agent, async () => {
    const kernelOverride = guestKernel().features.override_return;
    assert.match(agent.logs(), new RegExp(`vm-override-openat[\\s\\S]*Override: ${kernelOverride ? "bpf_override_return" : "fanotify"}`));
    assert.equal(tryOpen(viaSyscall), kernelOverride ? "EACCES" : "EPERM");
    assert.equal(tryOpen(allowed), "ok");
    const ev = await agent.waitFor((e) => kp(e)?.policy_name === "vm-override-openat", "the override event");
    assert.equal(kp(ev).action, "KPROBE_ACTION_OVERRIDE");
    assert.equal(kp(ev).function_name, "__x64_sys_openat");
    assert.equal(kp(ev).args[0].string_arg, viaSyscall);
  }));

  test("Override on an fentry of security_file_open: fmod_ret fails the open with the policy's error", () => withAgentLog(agent, async () => {
    assert.match(agent.logs(), /vm-override-fmod-ret[\s\S]*fmod_ret security_file_open \(Override: fmod_ret\)/);
    assert.equal(tryOpen(viaFmodRet), "ENOENT");
    assert.equal(tryOpen(allowed), "ok");
    const ev = await agent.waitFor((e) => kp(e)?.policy_name === "vm-override-fmod-ret", "the fmod_ret event");
    assert.equal(kp(ev).action, "KPROBE_ACTION_OVERRIDE");
  }));

  test("Override on the file_open LSM hook: the open fails with EPERM", () => withAgentLog(agent, async () => {
    assert.equal(tryOpen(viaLsm), "EPERM");
    assert.equal(tryOpen(allowed), "ok");
    const ev = await agent.waitFor((e) => e.process_lsm?.policy_name === "vm-override-lsm", "the LSM event");
    assert.equal(ev.process_lsm.action, "KPROBE_ACTION_OVERRIDE");
  }));
});
