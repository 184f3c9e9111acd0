/**
 * Selectors on the caller and the Post action's options, evaluated in BPF on lseek(): each
 * policy matches one offset, and processes that differ only in what the selector looks at
 * (binary path, namespaces or capabilities changed since exec, thread and process) make the
 * call. The events of every policy are compared with exactly the expected set.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { FineGuidanceSensors } from "../../src/api/gen/tetragon/sensors_pb";
import type { TetraClient } from "../../src/cli/tetra/common/client";
import { startAgent, tempDir, type JsonEvent, type RunningAgent } from "../helpers/agent";
import { connect as grpcConnect } from "./grpc-helpers";

const kp = (e: JsonEvent) => e.process_kprobe;

function lseekPolicy(name: string, offset: number, selector: string, hookExtra = ""): string {
  return `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "${name}"
spec:
  kprobes:
  - call: "sys_lseek"
${hookExtra}    args:
    - index: 0
      type: "int"
    - index: 1
      type: "long"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Equal"
        values:
        - "${offset}"
${selector}`;
}

const binaries = (op: string, value: string) =>
  `      matchBinaries:\n      - operator: "${op}"\n        values:\n        - "${value}"\n`;

/** perl seeking the given offsets in /etc/hostname, after `prelude` (perl code) ran */
function perlSeeks(offsets: number[], opts: { perl?: string; prelude?: string; wrap?: string[] } = {}): number {
  const script = `${opts.prelude ?? ""}; open(F, "<", "/etc/hostname") or die; for my $o (@ARGV) { sysseek(F, $o, 0); }`;
  const argv = [opts.perl ?? "/usr/bin/perl", "-e", script, ...offsets.map(String)];
  const [cmd, ...args] = [...(opts.wrap ?? []), ...argv];
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.pid!;
}

describe("selectors on the caller, and Post options", () => {
  let agent: RunningAgent;
  let client: TetraClient;
  const dir = tempDir("tp-selproc-");
  const myPerl = path.join(dir, "bin", "myperl");
  fs.mkdirSync(path.dirname(myPerl));
  fs.copyFileSync("/usr/bin/perl", myPerl);
  fs.chmodSync(myPerl, 0o755);
  // the mount namespace's inode, as matchNamespaces takes it
  const hostMnt = /\[(\d+)\]/.exec(fs.readlinkSync("/proc/self/ns/mnt"))![1];
  const rateLimited = (scope: string) => `      matchActions:\n      - action: Post\n        rateLimit: "1m"\n        rateLimitScope: "${scope}"\n`;
  const policies: Record<string, string> = {
    prefix: lseekPolicy("bin-prefix", 2231, binaries("Prefix", "/usr/bin/")),
    notprefix: lseekPolicy("bin-notprefix", 2231, binaries("NotPrefix", "/usr/bin/")),
    postfix: lseekPolicy("bin-postfix", 2231, binaries("Postfix", "/myperl")),
    notpostfix: lseekPolicy("bin-notpostfix", 2231, binaries("NotPostfix", "/myperl")),
    nschange: lseekPolicy("ns-change", 2232, `      matchNamespaceChanges:\n      - operator: "In"\n        values:\n        - "Uts"\n`),
    capchange: lseekPolicy("cap-change", 2233, `      matchCapabilityChanges:\n      - type: Effective\n        operator: "In"\n        values:\n        - "CAP_SYS_ADMIN"\n`),
    thread: lseekPolicy("rl-thread", 3341, rateLimited("thread")),
    proc: lseekPolicy("rl-process", 3342, rateLimited("process")),
    global: lseekPolicy("rl-global", 3343, rateLimited("global")),
    mntin: lseekPolicy("ns-mnt-in", 2236, `      matchNamespaces:\n      - namespace: Mnt\n        operator: "In"\n        values:\n        - "${hostMnt}"\n`),
    mntnotin: lseekPolicy("ns-mnt-notin", 2236, `      matchNamespaces:\n      - namespace: Mnt\n        operator: "NotIn"\n        values:\n        - "${hostMnt}"\n`),
    nopost: lseekPolicy("act-nopost-count", 4445, `      matchActions:\n      - action: NoPost\n`),
    message: lseekPolicy("hook-message", 2234, "", `    message: "seek to the marked offset"\n    tags: ["observability.filesystem", "test.tag"]\n`),
  };

  before(async () => {
    const tpdir = path.join(dir, "tp.d");
    fs.mkdirSync(tpdir);
    for (const [n, text] of Object.entries(policies)) fs.writeFileSync(path.join(tpdir, `${n}.yaml`), text);
    agent = await startAgent(["--tracing-policy-dir", tpdir], { grpc: true });
    assert.doesNotMatch(agent.logs(), /tracing policy rejected/);
    client = await grpcConnect(agent.serverAddress);
  });

  after(async () => {
    client?.close();
    assert.equal(await agent.stop(), 0, agent.logs());
  });

  const events = (policy: string) => agent.events().filter((e) => kp(e)?.policy_name === policy);
  async function settle(policy: string, count: number): Promise<void> {
    const end = Date.now() + 10000;
    while (Date.now() < end && events(policy).length < count) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300)); // and nothing more comes
  }

  test("matchBinaries Prefix, NotPrefix, Postfix, NotPostfix", async () => {
    const inBin = perlSeeks([2231]);
    const copied = perlSeeks([2231], { perl: myPerl });
    await settle("bin-notpostfix", 1);
    const who = (policy: string) => events(policy).map((e) => `${kp(e).process.pid} ${kp(e).process.binary}`);
    assert.deepEqual(who("bin-prefix"), [`${inBin} /usr/bin/perl`]);
    assert.deepEqual(who("bin-notprefix"), [`${copied} ${myPerl}`]);
    assert.deepEqual(who("bin-postfix"), [`${copied} ${myPerl}`]);
    assert.deepEqual(who("bin-notpostfix"), [`${inBin} /usr/bin/perl`]);
  });

  test("matchNamespaceChanges: only the process that left its exec-time UTS namespace matches", async () => {
    // unshare(CLONE_NEWUTS) is syscall 272 on x86-64
    const moved = perlSeeks([2232], { prelude: "syscall(272, 0x04000000) == 0 or die \"unshare: $!\"" });
    const stayed = perlSeeks([2232]);
    await settle("ns-change", 1);
    assert.deepEqual(events("ns-change").map((e) => kp(e).process.pid), [moved]);
    assert.notEqual(moved, stayed);
  });

  test("matchNamespaces Mnt by inode, In and NotIn", async () => {
    const host = perlSeeks([2236]);
    const other = perlSeeks([2236], { wrap: ["/usr/bin/unshare", "-m"] });
    await settle("ns-mnt-notin", 1);
    await settle("ns-mnt-in", 1);
    assert.deepEqual(events("ns-mnt-in").map((e) => kp(e).process.pid), [host]);
    assert.deepEqual(events("ns-mnt-notin").map((e) => kp(e).process.pid), [other]);
  });

  test("matchCapabilityChanges: only the process that gained CAP_SYS_ADMIN after exec matches", async () => {
    // exec'd with euid nobody and ruid root: no effective capabilities at exec; seteuid(0)
    // raises them all. The second process never raises them, the third is root from exec.
    const gained = perlSeeks([2233], { wrap: ["/usr/bin/setpriv", "--euid", "65534"], prelude: "$> = 0; $> == 0 or die \"seteuid: $!\"" });
    perlSeeks([2233], { wrap: ["/usr/bin/setpriv", "--euid", "65534"] });
    perlSeeks([2233]);
    await settle("cap-change", 1);
    assert.deepEqual(events("cap-change").map((e) => kp(e).process.pid), [gained]);
  });

  test("rateLimitScope thread, process and global: repeats are dropped per thread, per process, once", async () => {
    const py = [
      "import os, threading",
      "fd = os.open('/etc/hostname', os.O_RDONLY)",
      "def seek():",
      "    for _ in range(2):",
      "        for off in (3341, 3342, 3343): os.lseek(fd, off, 0)",
      "for _ in range(2):",
      "    t = threading.Thread(target=seek); t.start(); t.join()",
    ].join("\n");
    const pids: number[] = [];
    for (let i = 0; i < 2; i++) {
      const r = spawnSync("/usr/bin/python3", ["-c", py], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      pids.push(r.pid!);
    }
    await settle("rl-thread", 4);
    const seen = (policy: string) => events(policy).map((e) => `${kp(e).process.pid}/${kp(e).process.tid}`);
    const threads = seen("rl-thread");
    assert.equal(threads.length, 4, threads.join(" "));
    assert.equal(new Set(threads).size, 4, "one event for each of the 4 threads");
    assert.deepEqual(events("rl-process").map((e) => kp(e).process.pid).sort(), [...pids].sort());
    assert.equal(events("rl-global").length, 1);
    assert.equal(kp(events("rl-global")[0]).process.pid, pids[0]);
  });

  test("NoPost: the selector matched and was counted, and no event was sent", async () => {
    perlSeeks([4445, 4445, 4446]);
    await settle("act-nopost-count", 1);
    assert.equal(events("act-nopost-count").length, 0);
    const r: any = await client.unary(FineGuidanceSensors.method.listTracingPolicies, {});
    const [st] = r.policies.filter((p: any) => p.name === "act-nopost-count");
    assert.equal(st.stats.actionCounters.nopost, 2n);
    assert.equal(st.stats.actionCounters.post, 0n);
  });

  test("the hook's message and tags are in its events", async () => {
    const pid = perlSeeks([2234, 2235]);
    await settle("hook-message", 1);
    const evs = events("hook-message");
    assert.deepEqual(evs.map((e) => [kp(e).process.pid, Number(kp(e).args[1].long_arg)]), [[pid, 2234]]);
    assert.equal(kp(evs[0]).message, "seek to the marked offset");
    assert.deepEqual(kp(evs[0]).tags, ["observability.filesystem", "test.tag"]);
  });
});
