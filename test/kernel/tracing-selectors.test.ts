/**
 * Selectors and actions evaluated in the kernel, operator by operator: a real process makes
 * calls that must match and calls that must not, and the exported events are compared with
 * exactly the expected set.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { startAgentWithPolicies, tempDir, type JsonEvent, type RunningAgent } from "../helpers/agent";

const kp = (e: JsonEvent) => e.process_kprobe;

/** perl's sysseek is lseek(fd, offset, SEEK_SET): a syscall whose arguments the test chooses. */
function seeks(offsets: number[]): void {
  const script = `open(F, "<", "/etc/hostname") or die; for my $o (@ARGV) { sysseek(F, $o, 0); }`;
  const r = spawnSync("/usr/bin/perl", ["-e", script, ...offsets.map(String)]);
  assert.equal(r.status, 0, String(r.stderr));
}

/** lseek(fd, offset, whence) for each [offset, whence] pair. */
function seeksWhence(calls: Array<[number, number]>): void {
  const script = `open(F, "<", "/etc/hostname") or die; while (@ARGV) { my $o = shift; my $w = shift; sysseek(F, $o, $w); }`;
  const r = spawnSync("/usr/bin/perl", ["-e", script, ...calls.flat().map(String)]);
  assert.equal(r.status, 0, String(r.stderr));
}

/** The distinct offsets a policy reported (perl also makes lseek calls of its own, at 0). */
function offsetsOf(agent: RunningAgent, policy: string): number[] {
  const all = agent.events().filter((e) => kp(e)?.policy_name === policy).map((e) => Number(kp(e).args[1].long_arg));
  return [...new Set(all)].sort((a, b) => a - b);
}

async function settle(agent: RunningAgent, policy: string, count: number): Promise<void> {
  const end = Date.now() + 10000;
  while (Date.now() < end && agent.events().filter((e) => kp(e)?.policy_name === policy).length < count) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 300)); // and nothing more comes
}

function lseekPolicy(name: string, selectors: string): string {
  return `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "${name}"
spec:
  kprobes:
  - call: "sys_lseek"
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "long"
    - index: 2
      type: "int"
    selectors:
${selectors}
`;
}

const perlOnly = `      matchBinaries:
      - operator: "In"
        values:
        - "/usr/bin/perl"`;

function sel(matchArgs: string, extra = perlOnly): string {
  return `    - matchArgs:\n${matchArgs}\n${extra}`;
}

function arg(op: string, values: string[]): string {
  return `      - index: 1\n        operator: "${op}"\n        values:\n${values.map((v) => `        - "${v}"`).join("\n")}`;
}

describe("integer operators and actions", () => {
  let agent: RunningAgent;
  const dir = tempDir("tp-sel-");
  const files: Record<string, string> = {
    "eq": lseekPolicy("op-equal", sel(arg("Equal", ["1234", "1236"]))),
    "gt": lseekPolicy("op-gt", sel(arg("GreaterThan", ["900000"]))),
    "lt": lseekPolicy("op-lt", sel(arg("LessThan", ["3"]))),
    "range": lseekPolicy("op-range", sel(arg("InRange", ["7000:7100"]))),
    "notrange": lseekPolicy("op-notrange", sel(`${arg("NotInRange", ["0:800000"])}`)),
    "mask": lseekPolicy("op-mask", sel(arg("Mask", ["0x10000"]))),
    "inmap": lseekPolicy("op-inmap", sel(arg("InMap", ["8001", "8003:8005"]))),
    "notinmap": lseekPolicy("op-notinmap", sel(`${arg("NotInMap", ["0:4095"])}\n${arg("LessThan", ["8006"])}`)),
    "neq": lseekPolicy("op-neq", sel(`${arg("NotEqual", ["1234"])}\n${arg("InRange", ["1230:1240"])}`)),
    "or": lseekPolicy("op-or", `${sel(arg("Equal", ["5555"]))}\n${sel(arg("Equal", ["6666"]))}`),
    "nopost": lseekPolicy("act-nopost", sel(arg("Equal", ["4444"]), `${perlOnly}\n      matchActions:\n      - action: NoPost`)),
    "ratelimit": lseekPolicy("act-ratelimit", sel(arg("Equal", ["3333"]), `${perlOnly}\n      matchActions:\n      - action: Post\n        rateLimit: "1m"`)),
    "sigkill": lseekPolicy("act-sigkill", sel(arg("Equal", ["666666"]), `${perlOnly}\n      matchActions:\n      - action: Sigkill`)),
    // selector 0 fails on the offset before it looks at whence; selector 1 passes on the offset alone
    "cross": lseekPolicy("sel-cross", `${sel(`${arg("Equal", ["7777"])}\n      - index: 2\n        operator: "Equal"\n        values:\n        - "2"`)}\n${sel(arg("Equal", ["8888"]))}`),
    "notbin": lseekPolicy("bin-notin", sel(arg("Equal", ["2222"]), `      matchBinaries:\n      - operator: "NotIn"\n        values:\n        - "/usr/bin/perl"`)),
  };

  before(async () => {
    agent = await startAgentWithPolicies(dir, files);
  });

  after(async () => {
    assert.equal(await agent.stop(), 0, agent.logs());
  });

  test("Equal, GreaterThan, LessThan, InRange, NotInRange, Mask, InMap, NotInMap, NotEqual, ORed selectors", async () => {
    seeks([0, 1, 2, 3, 1234, 1235, 1236, 5555, 6666, 7000, 7050, 7100, 7101, 8001, 8002, 8003, 8004, 8005, 8006, 0x10005, 900001]);
    await settle(agent, "op-equal", 2);
    assert.deepEqual(offsetsOf(agent, "op-equal"), [1234, 1236]);
    assert.deepEqual(offsetsOf(agent, "op-gt"), [900001]);
    assert.deepEqual(offsetsOf(agent, "op-lt"), [0, 1, 2]);
    assert.deepEqual(offsetsOf(agent, "op-range"), [7000, 7050, 7100]);
    assert.deepEqual(offsetsOf(agent, "op-notrange"), [900001]);
    assert.deepEqual(offsetsOf(agent, "op-mask"), [0x10005, 900001]); // 900001 has bit 16 set too
    assert.deepEqual(offsetsOf(agent, "op-inmap"), [8001, 8003, 8004, 8005]);
    assert.deepEqual(offsetsOf(agent, "op-notinmap"), [5555, 6666, 7000, 7050, 7100, 7101, 8001, 8002, 8003, 8004, 8005]);
    assert.deepEqual(offsetsOf(agent, "op-neq"), [1235, 1236]);
    assert.deepEqual(offsetsOf(agent, "op-or"), [5555, 6666]);
  });

  test("ORed selectors on different arguments: the event has every argument, also one only a failed selector looks at", async () => {
    // 8888 right after a call whose whence (2) was read: a skipped read would show 2 again
    seeksWhence([[7777, 2], [8888, 1], [7777, 1], [9999, 2]]);
    await settle(agent, "sel-cross", 2);
    const got = agent.events().filter((e) => kp(e)?.policy_name === "sel-cross")
      .map((e) => [Number(kp(e).args[1].long_arg), kp(e).args[2].int_arg, kp(e).args[0].int_arg > 2]);
    assert.deepEqual(got.sort(), [[7777, 2, true], [8888, 1, true]]);
  });

  test("NotIn binaries: the listed binary's calls are not reported", async () => {
    seeks([2222]);
    const py = spawnSync("/usr/bin/python3", ["-c", "import os; f=os.open('/etc/hostname', os.O_RDONLY); os.lseek(f, 2222, 0)"]);
    assert.equal(py.status, 0);
    await settle(agent, "bin-notin", 1);
    const evs = agent.events().filter((e) => kp(e)?.policy_name === "bin-notin");
    assert.deepEqual(evs.map((e) => [kp(e).process.pid, Number(kp(e).args[1].long_arg)]), [[py.pid, 2222]]);
  });

  test("NoPost sends nothing; rateLimit drops repeats", async () => {
    seeks([4444, 3333, 3333, 3333]);
    await settle(agent, "act-ratelimit", 1);
    assert.deepEqual(offsetsOf(agent, "act-nopost"), []);
    // every event, not the distinct offsets: the two repeats within the minute are dropped
    assert.equal(agent.events().filter((e) => kp(e)?.policy_name === "act-ratelimit").length, 1);
  });

  test("Sigkill kills the caller in the kernel and the event says so", async () => {
    const script = `open(F, "<", "/etc/hostname") or die; sysseek(F, 666666, 0); print "survived\\n";`;
    const r = spawnSync("/usr/bin/perl", ["-e", script], { encoding: "utf8" });
    assert.equal(r.signal, "SIGKILL");
    assert.equal(r.stdout, "");
    const ev = await agent.waitFor((e) => kp(e)?.policy_name === "act-sigkill", "sigkill event");
    assert.equal(kp(ev).action, "KPROBE_ACTION_SIGKILL");
    const exit = await agent.waitFor((e) => e.process_exit?.process.pid === kp(ev).process.pid, "exit of the killed process");
    assert.equal(exit.process_exit.signal, "SIGKILL");
  });
});

describe("string operators, namespaces, capabilities, uprobes, data_loc", () => {
  let agent: RunningAgent;
  const dir = tempDir("tp-str-");
  const base = path.join(dir, "files");
  fs.mkdirSync(base);
  const openPolicy = (name: string, selectors: string) => `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "${name}"
spec:
  kprobes:
  - call: "sys_openat"
    args:
    - index: 1
      type: "string"
    selectors:
${selectors}
`;
  const sarg = (op: string, values: string[]) => `      - index: 1\n        operator: "${op}"\n        values:\n${values.map((v) => `        - "${v}"`).join("\n")}`;
  // Equal values shorter and longer than STR_SHORT_LEN (56) bytes live in different maps
  const longName = `exact-${"l".repeat(60)}.txt`;
  const policies: Record<string, string> = {
    eq: openPolicy("s-equal", `    - matchArgs:\n${sarg("Equal", [`${base}/exact.txt`, `${base}/${longName}`])}`),
    post: openPolicy("s-postfix", `    - matchArgs:\n${sarg("Prefix", [`${base}/`])}\n${sarg("Postfix", [".post"])}`),
    notpost: openPolicy("s-notpostfix", `    - matchArgs:\n${sarg("Prefix", [`${base}/np-`])}\n${sarg("NotPostfix", [".skip"])}`),
    notprefix: openPolicy("s-notprefix", `    - matchArgs:\n${sarg("Postfix", [".npx"])}\n${sarg("NotPrefix", [`${base}/no/`])}`),
    substr: openPolicy("s-substring", `    - matchArgs:\n${sarg("Prefix", [`${base}/ss-`])}\n${sarg("SubString", ["middle", "other"])}`),
    substri: openPolicy("s-substring-icase", `    - matchArgs:\n${sarg("Prefix", [`${base}/si-`])}\n${sarg("SubStringIgnCase", ["MiXeD"])}`),
    neq: openPolicy("s-notequal", `    - matchArgs:\n${sarg("Prefix", [`${base}/ne-`])}\n${sarg("NotEqual", [`${base}/ne-b`])}`),
    follow: openPolicy("bin-follow", `    - matchArgs:\n${sarg("Postfix", [".followtest"])}\n      matchBinaries:\n      - operator: In\n        followChildren: true\n        values:\n        - "${fs.realpathSync("/usr/bin/bash")}"`),
    hostns: openPolicy("ns-host", `    - matchArgs:\n${sarg("Postfix", [".nstest"])}\n      matchNamespaces:\n      - namespace: Net\n        operator: In\n        values:\n        - "host_ns"`),
    caps: openPolicy("cap-admin", `    - matchArgs:\n${sarg("Postfix", [".captest"])}\n      matchCapabilities:\n      - type: Effective\n        operator: NotIn\n        values:\n        - "CAP_SYS_ADMIN"`),
    uprobe: `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "libc-mkdir"
spec:
  uprobes:
  - path: "/lib/x86_64-linux-gnu/libc.so.6"
    symbols:
    - "mkdir"
    args:
    - index: 0
      type: "string"
    - index: 1
      type: "uint32"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Prefix"
        values:
        - "${base}/"
`,
    readline: `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "bash-readline"
spec:
  uprobes:
  - path: "/usr/bin/bash"
    symbols:
    - "readline"
    args:
    - index: 0
      type: "string"
`,
    dataloc: `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "sched-exec"
spec:
  tracepoints:
  - subsystem: "sched"
    event: "sched_process_exec"
    args:
    - index: 4
    - index: 5
    selectors:
    - matchArgs:
      - index: 4
        operator: "Postfix"
        values:
        - "/dataloc-true"
`,
  };

  before(async () => {
    agent = await startAgentWithPolicies(dir, policies);
  });

  after(async () => {
    assert.equal(await agent.stop(), 0, agent.logs());
  });

  const touch = (names: string[]) => {
    for (const n of names) fs.writeFileSync(path.join(base, n), "x");
    spawnSync("/usr/bin/cat", names.map((n) => path.join(base, n)));
  };
  // only the calls of the programs the tests run: the test itself opens these files too
  const seen = (policy: string) => [...new Set(agent.events()
    .filter((e) => kp(e)?.policy_name === policy && kp(e).process.binary === "/usr/bin/cat")
    .map((e) => path.basename(kp(e).args[0].string_arg)))].sort();

  test("Equal, Prefix with Postfix, NotPostfix, NotPrefix, NotEqual on a path", async () => {
    fs.mkdirSync(path.join(base, "no"), { recursive: true });
    touch(["exact.txt", "exact.txt2", longName, `${longName}2`, "a.post", "b.post.not", "np-1.keep", "np-2.skip", "x.npx", "no/y.npx", "ne-a", "ne-b"]);
    await settle(agent, "s-notequal", 1);
    assert.deepEqual(seen("s-equal"), ["exact.txt", longName].sort());
    assert.deepEqual(seen("s-postfix"), ["a.post"]);
    assert.deepEqual(seen("s-notpostfix"), ["np-1.keep"]);
    assert.deepEqual(seen("s-notprefix"), ["x.npx"]);
    assert.deepEqual(seen("s-notequal"), ["ne-a"]);
  });

  test("matchBinaries followChildren: descendants of the binary match, others do not", async () => {
    fs.writeFileSync(path.join(base, "child.followtest"), "x");
    fs.writeFileSync(path.join(base, "direct.followtest"), "x");
    fs.writeFileSync(path.join(base, "grandchild.followtest"), "x");
    spawnSync("/usr/bin/bash", ["-c", `/usr/bin/cat ${path.join(base, "child.followtest")}; /usr/bin/sh -c '/usr/bin/cat ${path.join(base, "grandchild.followtest")}; true'; true`]);
    spawnSync("/usr/bin/cat", [path.join(base, "direct.followtest")]);
    await settle(agent, "bin-follow", 2);
    assert.deepEqual(seen("bin-follow"), ["child.followtest", "grandchild.followtest"]);
  });

  test("SubString and SubStringIgnCase", async () => {
    touch(["ss-a-middle-b", "ss-other", "ss-nothing", "si-mixed", "si-MIXED-2", "si-mix"]);
    await settle(agent, "s-substring-icase", 2);
    assert.deepEqual(seen("s-substring"), ["ss-a-middle-b", "ss-other"]);
    assert.deepEqual(seen("s-substring-icase"), ["si-MIXED-2", "si-mixed"]);
  });

  test("matchNamespaces host_ns: a call from another network namespace does not match", async () => {
    fs.writeFileSync(path.join(base, "host.nstest"), "x");
    fs.writeFileSync(path.join(base, "other.nstest"), "x");
    spawnSync("/usr/bin/cat", [path.join(base, "host.nstest")]);
    const r = spawnSync("/usr/bin/unshare", ["-n", "/usr/bin/cat", path.join(base, "other.nstest")]);
    assert.equal(r.status, 0, String(r.stderr));
    await settle(agent, "ns-host", 1);
    assert.deepEqual(seen("ns-host"), ["host.nstest"]);
  });

  test("matchCapabilities: only the caller without CAP_SYS_ADMIN matches NotIn", async () => {
    fs.writeFileSync(path.join(base, "root.captest"), "x");
    fs.writeFileSync(path.join(base, "dropped.captest"), "x");
    spawnSync("/usr/bin/cat", [path.join(base, "root.captest")]);
    const r = spawnSync("/usr/bin/setpriv", ["--bounding-set", "-sys_admin", "--inh-caps", "-sys_admin", "/usr/bin/cat", path.join(base, "dropped.captest")]);
    assert.equal(r.status, 0, String(r.stderr));
    await settle(agent, "cap-admin", 1);
    assert.deepEqual(seen("cap-admin"), ["dropped.captest"]);
  });

  test("a uprobe on a libc function gives process_uprobe with typed arguments", async () => {
    const r = spawnSync("/usr/bin/mkdir", ["-m", "750", path.join(base, "made-by-mkdir")]);
    assert.equal(r.status, 0);
    spawnSync("/usr/bin/mkdir", [path.join(dir, "outside")]);
    // node's own mkdir calls go through libc too: look at the mkdir program's
    const byMkdir = (e: JsonEvent) => e.process_uprobe?.policy_name === "libc-mkdir" && e.process_uprobe.process.binary === "/usr/bin/mkdir";
    const ev = await agent.waitFor(byMkdir, "uprobe event");
    const u = ev.process_uprobe;
    assert.equal(u.path, "/lib/x86_64-linux-gnu/libc.so.6");
    assert.equal(u.symbol, "mkdir");
    assert.equal(u.args[0].string_arg, path.join(base, "made-by-mkdir"));
    assert.equal(u.args[1].uint_arg, 0o750);
    assert.equal(u.process.binary, "/usr/bin/mkdir");
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(agent.events().filter(byMkdir).length, 1, "the mkdir outside the prefix does not match");
  });

  test("a uprobe on bash's readline sees the prompt of an interactive shell", async () => {
    const py = [
      "import os, pty, time",
      "pid, fd = pty.fork()",
      "if pid == 0:",
      "    os.execv('/usr/bin/bash', ['bash', '--norc', '--noprofile', '-i'])",
      "time.sleep(0.5)",
      "os.write(fd, b\"PS1='readline-test> '\\n\")",
      "time.sleep(0.3)",
      "os.write(fd, b'exit\\n')",
      "time.sleep(0.3)",
      "os.waitpid(pid, 0)",
    ].join("\n");
    spawnSync("python3", ["-c", py]);
    const ev = await agent.waitFor((e) => e.process_uprobe?.policy_name === "bash-readline" && e.process_uprobe.args[0]?.string_arg === "readline-test> ", "readline uprobe");
    assert.equal(ev.process_uprobe.symbol, "readline");
    assert.equal(ev.process_uprobe.process.binary, "/usr/bin/bash");
  });

  test("a tracepoint's __data_loc string and integer fields, auto-typed", async () => {
    fs.copyFileSync("/bin/true", path.join(dir, "dataloc-true"));
    fs.chmodSync(path.join(dir, "dataloc-true"), 0o755);
    const r = spawnSync(path.join(dir, "dataloc-true"));
    assert.equal(r.status, 0);
    spawnSync("/usr/bin/true");
    const ev = await agent.waitFor((e) => e.process_tracepoint?.policy_name === "sched-exec", "tracepoint event");
    const t = ev.process_tracepoint;
    assert.equal(t.subsys, "sched");
    assert.equal(t.event, "sched_process_exec");
    assert.equal(t.args[0].string_arg, path.join(dir, "dataloc-true"));
    assert.equal(t.args[1].int_arg, t.process.pid);
    await new Promise((res) => setTimeout(res, 300));
    const files = agent.events().filter((e) => e.process_tracepoint?.policy_name === "sched-exec").map((e) => e.process_tracepoint.args[0].string_arg);
    assert.deepEqual(files, [path.join(dir, "dataloc-true")], "/usr/bin/true does not match the Postfix");
  });
});
