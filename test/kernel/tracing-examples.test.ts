/**
 * Tracing policies in the style of Tetragon's documentation examples (setuid, mount, ptrace,
 * linkat/symlinkat, clock_settime, file monitoring with openat/write, syscall lists, matchPIDs
 * with followForks, matchParentBinaries), loaded by one agent from a policy directory. Each
 * test makes a call that must match and one that must not, and compares the exported
 * process_kprobe events with the exact argument values; the last one renders them with
 * `tetra getevents -o compact` as Tetragon does.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT, startAgent, tempDir, type JsonEvent, type RunningAgent } from "../helpers/agent";

const TETRA_MAIN = path.join(ROOT, "dist/src/cli/tetra/main.js");
const PYTHON = "/usr/bin/python3";
// matchBinaries and matchParentBinaries compare the executable's real path, as Tetragon's
// do (cilium/tetragon#3583): /usr/bin/python3 and /usr/bin/sh are symlinks here
const PYTHON_REAL = fs.realpathSync(PYTHON);
const SH_REAL = fs.realpathSync("/usr/bin/sh");

const kp = (e: JsonEvent) => e.process_kprobe;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function run(file: string, args: string[], opts: { cwd?: string } = {}): SpawnSyncReturns<string> {
  const r = spawnSync(file, args, { encoding: "utf8", timeout: 20000, ...opts });
  assert.equal(r.error, undefined, `${file} ${args.join(" ")}: ${r.error}`);
  return r;
}

function py(code: string): SpawnSyncReturns<string> {
  const r = run(PYTHON, ["-c", code]);
  assert.equal(r.status, 0, `python: ${r.stderr}`);
  return r;
}

function policy(name: string, body: string): string {
  return `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "${name}"
spec:
${body}`;
}

describe("policies in the style of Tetragon's examples", () => {
  let agent: RunningAgent;
  const dir = tempDir("tp-examples-");
  const work = path.join(dir, "work");
  const d = (sub: string) => path.join(work, sub);
  for (const sub of ["mnt", "ln", "fm", "fm-other", "pids", "pb"]) fs.mkdirSync(d(sub), { recursive: true });
  const mounted: string[] = [];

  // a shell that waits on its stdin before it runs cat: its pid goes into the matchPIDs policies
  const pidsA = path.join(d("pids"), "child-opens");
  const pidsB = path.join(d("pids"), "shell-opens");
  fs.writeFileSync(pidsA, "a\n");
  fs.writeFileSync(pidsB, "b\n");
  let waiting: ChildProcess;
  let waitingExit: Promise<number | null>;

  // the policies, each as a Tetragon documentation example would write it
  const policies = (shellPid: number): Record<string, string> => ({
    setuid: policy("example-setuid", `  kprobes:
  - call: "sys_setuid"
    syscall: true
    args:
    - index: 0
      type: "int"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Equal"
        values:
        - "65534"
`),
    mount: policy("example-mount", `  kprobes:
  - call: "sys_mount"
    syscall: true
    args:
    - index: 0
      type: "string"
    - index: 1
      type: "string"
    - index: 2
      type: "string"
    - index: 3
      type: "uint64"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Prefix"
        values:
        - "${d("mnt")}/watched-"
`),
    ptrace: policy("example-ptrace", `  kprobes:
  - call: "sys_ptrace"
    syscall: true
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "int"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Equal"
        values:
        - "0x4206" # PTRACE_SEIZE
      matchBinaries:
      - operator: "In"
        values:
        - "/usr/bin/strace"
`),
    links: policy("example-links", `  kprobes:
  - call: "sys_linkat"
    syscall: true
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "string"
    - index: 2
      type: "int"
    - index: 3
      type: "string"
    - index: 4
      type: "int"
    selectors:
    - matchArgs:
      - index: 3
        operator: "Postfix"
        values:
        - ".hardlink"
  - call: "sys_symlinkat"
    syscall: true
    args:
    - index: 0
      type: "string"
    - index: 1
      type: "int"
    - index: 2
      type: "string"
    selectors:
    - matchArgs:
      - index: 2
        operator: "Prefix"
        values:
        - "${d("ln")}/sym-"
`),
    clock: policy("example-clock-settime", `  kprobes:
  - call: "sys_clock_settime"
    syscall: true
    return: true
    args:
    - index: 0
      type: "int"
    returnArg:
      index: 0
      type: "int"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Equal"
        values:
        - "1" # CLOCK_MONOTONIC: never settable, the call fails with EINVAL
`),
    files: policy("example-file-monitoring", `  kprobes:
  - call: "sys_openat"
    syscall: true
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "string"
    - index: 2
      type: "int"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Prefix"
        values:
        - "${d("fm")}/"
  - call: "sys_write"
    syscall: true
    args:
    - index: 0
      type: "fd"
    - index: 1
      type: "char_buf"
      sizeArgIndex: 3
    - index: 2
      type: "size_t"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Prefix"
        values:
        - "${d("fm")}/"
`),
    lists: policy("example-lists", `  lists:
  - name: "dups"
    type: "syscalls"
    values:
    - "sys_dup"
    - "sys_dup2"
  kprobes:
  - call: "list:dups"
    args:
    - index: 0
      type: "int"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Equal"
        values:
        - "2"
      matchBinaries:
      - operator: "In"
        values:
        - "${PYTHON_REAL}"
`),
    pidsIn: policy("example-pids-follow", `  kprobes:
  - call: "sys_openat"
    args:
    - index: 1
      type: "string"
    selectors:
    - matchPIDs:
      - operator: "In"
        followForks: true
        values:
        - ${shellPid}
      matchArgs:
      - index: 1
        operator: "Prefix"
        values:
        - "${d("pids")}/"
`),
    pidsInNoFollow: policy("example-pids-nofollow", `  kprobes:
  - call: "sys_openat"
    args:
    - index: 1
      type: "string"
    selectors:
    - matchPIDs:
      - operator: "In"
        followForks: false
        values:
        - ${shellPid}
      matchArgs:
      - index: 1
        operator: "Prefix"
        values:
        - "${d("pids")}/"
`),
    pidsNotIn: policy("example-pids-notin", `  kprobes:
  - call: "sys_openat"
    args:
    - index: 1
      type: "string"
    selectors:
    - matchPIDs:
      - operator: "NotIn"
        followForks: true
        values:
        - ${shellPid}
      matchArgs:
      - index: 1
        operator: "Prefix"
        values:
        - "${d("pids")}/"
`),
    parent: policy("example-parent-binaries", `  kprobes:
  - call: "sys_openat"
    args:
    - index: 1
      type: "string"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Prefix"
        values:
        - "${d("pb")}/"
      matchParentBinaries:
      - operator: "In"
        values:
        - "${SH_REAL}"
`),
  });

  before(async () => {
    waiting = spawn("/usr/bin/sh", ["-c", `read x; : < ${pidsB}; /usr/bin/cat ${pidsA} > /dev/null; exit 0`], { stdio: ["pipe", "ignore", "ignore"] });
    waitingExit = new Promise((r) => waiting.on("exit", (code) => r(code)));
    assert.ok(waiting.pid);
    const tpdir = path.join(dir, "tp.d");
    fs.mkdirSync(tpdir);
    const docs = policies(waiting.pid!);
    for (const [n, text] of Object.entries(docs)) fs.writeFileSync(path.join(tpdir, `${n}.yaml`), text);
    agent = await startAgent(["--tracing-policy-dir", tpdir]);
    assert.doesNotMatch(agent.logs(), /rejected/, agent.logs());
    for (const text of Object.values(docs)) {
      const name = /name: "([^"]+)"/.exec(text)![1];
      assert.ok(agent.logs().includes(`msg="tracing policy added" policy="${name}"`), `${name} loaded:\n${agent.logs()}`);
    }
  });

  after(async () => {
    for (const m of mounted) spawnSync("/usr/bin/umount", [m]);
    if (waiting.exitCode === null) waiting.kill();
    assert.equal(await agent.stop(), 0, agent.logs());
  });

  const byPolicy = (name: string) => agent.events().filter((e) => kp(e)?.policy_name === name);

  /** Wait until `policy` has at least `count` events, then a little longer for strays. */
  async function settle(policyName: string, count: number): Promise<JsonEvent[]> {
    const end = Date.now() + 10000;
    while (Date.now() < end && byPolicy(policyName).length < count) await sleep(50);
    await sleep(300);
    return byPolicy(policyName);
  }

  test("setuid: Equal on the uid reports setuid(65534) and not setuid(65533)", async () => {
    const yes = py("import os; os.setuid(65534)");
    const no = py("import os; os.setuid(65533)");
    const evs = await settle("example-setuid", 1);
    const mine = evs.filter((e) => [yes.pid, no.pid].includes(kp(e).process.pid));
    assert.equal(mine.length, 1, JSON.stringify(mine));
    const k = kp(mine[0]);
    assert.equal(k.process.pid, yes.pid);
    assert.equal(k.function_name, "__x64_sys_setuid");
    assert.deepEqual(k.args, [{ int_arg: 65534 }]);
    assert.equal(k.action, "KPROBE_ACTION_POST");
    for (const e of evs) assert.deepEqual(kp(e).args, [{ int_arg: 65534 }]);
  });

  test("mount: Prefix on the target reports a tmpfs mounted there and not one mounted elsewhere", async () => {
    const watched = path.join(d("mnt"), "watched-1");
    const elsewhere = path.join(d("mnt"), "other-1");
    fs.mkdirSync(watched);
    fs.mkdirSync(elsewhere);
    for (const target of [watched, elsewhere]) {
      const r = run("/usr/bin/mount", ["-t", "tmpfs", "tmpfs", target]);
      assert.equal(r.status, 0, r.stderr);
      mounted.push(target);
    }
    try {
      const evs = await settle("example-mount", 1);
      assert.equal(evs.length, 1, JSON.stringify(evs));
      const k = kp(evs[0]);
      assert.equal(k.function_name, "__x64_sys_mount");
      assert.equal(k.process.binary, "/usr/bin/mount");
      assert.deepEqual(k.args, [{ string_arg: "tmpfs" }, { string_arg: watched }, { string_arg: "tmpfs" }, { size_arg: "0" }]);
    } finally {
      for (const m of mounted.splice(0)) assert.equal(run("/usr/bin/umount", [m]).status, 0, `umount ${m}`);
    }
  });

  test("ptrace: PTRACE_SEIZE by strace is reported with the tracee's pid; other requests and binaries are not", async () => {
    const r = run("/usr/bin/strace", ["-e", "trace=none", "-o", "/dev/null", "/usr/bin/true"]);
    assert.equal(r.status, 0, r.stderr);
    // the same request from another binary (pid 0 fails with ESRCH)
    py("import ctypes; ctypes.CDLL(None, use_errno=True).ptrace(0x4206, 0, 0, 0)");
    const tracee = await agent.waitFor((e) => e.process_exec?.process.binary === "/usr/bin/true" && e.process_exec.parent?.pid === r.pid, "exec of the tracee");
    const evs = await settle("example-ptrace", 2);
    const mine = evs.filter((e) => kp(e).process.pid === r.pid);
    assert.ok(mine.length >= 1, JSON.stringify(evs));
    for (const e of evs) {
      assert.equal(kp(e).function_name, "__x64_sys_ptrace");
      assert.equal(kp(e).process.binary, "/usr/bin/strace");
      assert.equal(kp(e).args[0].int_arg, 0x4206, "only PTRACE_SEIZE (strace's own PTRACE_TRACEME etc. do not match)");
    }
    assert.ok(mine.some((e) => kp(e).args[1].int_arg === tracee.process_exec.process.pid), `a SEIZE of ${tracee.process_exec.process.pid}: ${JSON.stringify(mine.map((e) => kp(e).args))}`);
  });

  test("linkat and symlinkat: the new name's Postfix / Prefix selects the links", async () => {
    const src = path.join(d("ln"), "source.txt");
    fs.writeFileSync(src, "x");
    const hard = path.join(d("ln"), "a.hardlink");
    const hardNo = path.join(d("ln"), "a.other");
    const sym = path.join(d("ln"), "sym-1");
    const symNo = path.join(d("ln"), "nosym-1");
    const lns: number[] = [];
    for (const args of [[src, hard], [src, hardNo], ["-s", "/etc/hostname", sym], ["-s", "/etc/hostname", symNo]]) {
      const r = run("/usr/bin/ln", args);
      assert.equal(r.status, 0, r.stderr);
      lns.push(r.pid);
    }
    const evs = await settle("example-links", 2);
    assert.equal(evs.length, 2, JSON.stringify(evs.map((e) => kp(e).args)));
    const link = evs.find((e) => kp(e).function_name === "__x64_sys_linkat");
    const symlink = evs.find((e) => kp(e).function_name === "__x64_sys_symlinkat");
    assert.ok(link && symlink, JSON.stringify(evs.map((e) => kp(e).function_name)));
    assert.equal(kp(link).process.pid, lns[0]);
    assert.deepEqual(kp(link).args, [{ int_arg: -100 }, { string_arg: src }, { int_arg: -100 }, { string_arg: hard }, { int_arg: 0 }]);
    assert.equal(kp(symlink).process.pid, lns[2]);
    assert.deepEqual(kp(symlink).args, [{ string_arg: "/etc/hostname" }, { int_arg: -100 }, { string_arg: sym }]);
  });

  test("clock_settime: CLOCK_MONOTONIC is reported with its EINVAL return, CLOCK_REALTIME is not", async () => {
    // raw syscalls: glibc would refuse the bad timespec of the second call before the kernel
    const code = [
      "import ctypes",
      "class TS(ctypes.Structure): _fields_ = [('s', ctypes.c_long), ('ns', ctypes.c_long)]",
      "libc = ctypes.CDLL(None, use_errno=True)",
      "SYS_clock_settime = 227",
      "assert libc.syscall(SYS_clock_settime, 1, ctypes.byref(TS(5, 0))) == -1 and ctypes.get_errno() == 22",
      // CLOCK_REALTIME with tv_nsec out of range: EINVAL, the clock is left alone
      "assert libc.syscall(SYS_clock_settime, 0, ctypes.byref(TS(5, 2000000000))) == -1 and ctypes.get_errno() == 22",
    ].join("\n");
    const r = py(code);
    const evs = await settle("example-clock-settime", 1);
    const mine = evs.filter((e) => kp(e).process.pid === r.pid);
    assert.equal(mine.length, 1, JSON.stringify(evs.map((e) => kp(e).args)));
    const k = kp(mine[0]);
    assert.equal(k.function_name, "__x64_sys_clock_settime");
    assert.deepEqual(k.args, [{ int_arg: 1 }]);
    assert.deepEqual(k.return, { int_arg: -22 });
    assert.equal(k.return_action, "KPROBE_ACTION_POST");
    for (const e of evs) assert.equal(kp(e).args[0].int_arg, 1);
  });

  test("file monitoring: openat with the path, write with the fd's path and the bytes", async () => {
    const target = path.join(d("fm"), "watched.log");
    const outside = path.join(d("fm-other"), "ignored.log");
    const r = run("/usr/bin/sh", ["-c", `printf 'monitored-bytes' > ${target}; printf 'not-these' > ${outside}; /usr/bin/cat ${target} ${outside} > /dev/null`]);
    assert.equal(r.status, 0, r.stderr);
    const evs = await settle("example-file-monitoring", 3);
    const opens = evs.filter((e) => kp(e).function_name === "__x64_sys_openat");
    const writes = evs.filter((e) => kp(e).function_name === "__x64_sys_write");
    assert.deepEqual(opens.map((e) => [kp(e).process.binary, kp(e).args[1].string_arg]).sort(), [["/usr/bin/cat", target], ["/usr/bin/sh", target]]);
    for (const e of opens) assert.equal(kp(e).args[0].int_arg, -100);
    const bySh = opens.find((e) => kp(e).process.binary === "/usr/bin/sh")!;
    assert.equal(kp(bySh).args[2].int_arg, 0o1101, "O_WRONLY|O_CREAT|O_TRUNC");
    const byCat = opens.find((e) => kp(e).process.binary === "/usr/bin/cat")!;
    assert.equal(kp(byCat).args[2].int_arg & 0o3, 0, "O_RDONLY");
    assert.equal(writes.length, 1, JSON.stringify(writes.map((e) => kp(e).args)));
    const w = kp(writes[0]);
    assert.equal(w.process.binary, "/usr/bin/sh");
    assert.equal(w.process.pid, r.pid);
    assert.equal(w.args[0].file_arg.path, target);
    assert.equal(Buffer.from(w.args[1].bytes_arg, "base64").toString(), "monitored-bytes");
    assert.equal(w.args[2].size_arg, String("monitored-bytes".length));
  });

  test("lists: one hook on list:dups reports dup and dup2, not dup3", async () => {
    const r = py([
      "import ctypes",
      "libc = ctypes.CDLL(None)",
      "assert libc.dup(2) >= 3",
      "assert libc.dup2(2, 77) == 77",
      "assert libc.dup3(2, 78, 0) == 78",
      "assert libc.dup(1) >= 3",
    ].join("\n"));
    const evs = await settle("example-lists", 2);
    const mine = evs.filter((e) => kp(e).process.pid === r.pid);
    assert.deepEqual(mine.map((e) => [kp(e).function_name, kp(e).args]), [
      ["__x64_sys_dup", [{ int_arg: 2 }]],
      ["__x64_sys_dup2", [{ int_arg: 2 }]],
    ]);
  });

  test("matchPIDs: followForks follows the listed shell's child, NotIn excludes it, a plain In only the shell", async () => {
    const child = agent.waitFor((e) => e.process_exec?.process.binary === "/usr/bin/cat" && e.process_exec.parent?.pid === waiting.pid, "exec of the shell's cat");
    waiting.stdin!.end("go\n");
    assert.equal(await waitingExit, 0);
    const catPid = (await child).process_exec.process.pid;
    // the same file opened by a process outside the shell's tree
    const outsider = run("/usr/bin/cat", [pidsA]);
    assert.equal(outsider.status, 0);
    await settle("example-pids-notin", 1);
    await settle("example-pids-follow", 2);
    // (the shell started before the agent: its binary comes from /proc, so it is not compared)
    const seen = (name: string) => byPolicy(name).map((e) => [kp(e).process.pid, kp(e).args[0].string_arg]).sort();
    assert.deepEqual(seen("example-pids-follow"), [[waiting.pid, pidsB], [catPid, pidsA]].sort());
    assert.deepEqual(seen("example-pids-nofollow"), [[waiting.pid, pidsB]]);
    assert.deepEqual(seen("example-pids-notin"), [[outsider.pid, pidsA]]);
    for (const e of byPolicy("example-pids-follow")) if (kp(e).process.pid === catPid) assert.equal(kp(e).parent.pid, waiting.pid);
  });

  test("matchParentBinaries: only the cat whose parent is /usr/bin/sh matches", async () => {
    const file = path.join(d("pb"), "parent.txt");
    const own = path.join(d("pb"), "shell-itself.txt");
    fs.writeFileSync(file, "x");
    fs.writeFileSync(own, "x");
    const sh = run("/usr/bin/sh", ["-c", `: < ${own}; /usr/bin/cat ${file}; exit 0`]);
    assert.equal(sh.status, 0, sh.stderr);
    assert.equal(run("/usr/bin/cat", [file]).status, 0);
    assert.equal(run("/usr/bin/bash", ["-c", `/usr/bin/cat ${file}; exit 0`]).status, 0);
    const evs = await settle("example-parent-binaries", 1);
    assert.deepEqual(evs.map((e) => [kp(e).process.binary, kp(e).parent.binary, kp(e).parent.pid, kp(e).args[0].string_arg]), [
      ["/usr/bin/cat", "/usr/bin/sh", sh.pid, file],
    ]);
  });

  test("tetra getevents -o compact renders the kprobe events as Tetragon does", async () => {
    const all = agent.events().filter((e) => kp(e)?.policy_name?.startsWith("example-"));
    const node = all[0].node_name;
    const r = spawnSync("/bin/sh", ["-c", `cat '${agent.exportFile}' | '${process.execPath}' '${TETRA_MAIN}' getevents -o compact`], { encoding: "utf8", timeout: 60000 });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split("\n");
    const has = (want: string) => assert.ok(lines.some((l) => l === want || l.startsWith(`${want} `)), `a line ${JSON.stringify(want)} in:\n${lines.filter((l) => !/^(🚀|💥)/.test(l)).join("\n")}`);
    const one = (policyName: string, fn?: string) => {
      const e = all.find((x) => kp(x).policy_name === policyName && (!fn || kp(x).function_name === fn));
      assert.ok(e, `an event of ${policyName} ${fn ?? ""}`);
      return kp(e);
    };
    const setuid = one("example-setuid");
    has(`🔑 setuid  ${node} ${setuid.process.binary} 65534`);
    const open = one("example-file-monitoring", "__x64_sys_openat");
    has(`📬️ openat  ${node} ${open.process.binary} ${open.args[1].string_arg}`);
    const write = one("example-file-monitoring", "__x64_sys_write");
    has(`📝 write   ${node} /usr/bin/sh ${write.args[0].file_arg.path} 15 bytes`);
    has(`⏰ clock_settime ${node} ${one("example-clock-settime").process.binary}`);
    has(`💾 mount   ${node} /usr/bin/mount tmpfs ${path.join(d("mnt"), "watched-1")}`);
    has(`❓ syscall ${node} /usr/bin/strace __x64_sys_ptrace`);
    has(`❓ syscall ${node} /usr/bin/ln __x64_sys_linkat`);
    has(`❓ syscall ${node} /usr/bin/ln __x64_sys_symlinkat`);
    has(`❓ syscall ${node} ${one("example-lists", "__x64_sys_dup").process.binary} __x64_sys_dup`);
    has(`❓ syscall ${node} ${one("example-lists", "__x64_sys_dup2").process.binary} __x64_sys_dup2`);
  });
});
