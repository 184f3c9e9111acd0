/**
 * Tracing policies against the real kernel: syscall hooks through the syscall tracepoints,
 * other tracepoints and uprobes, with selectors evaluated in BPF. Each test makes the call
 * that must match and one that must not, and checks the exported events.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import * as crypto from "node:crypto";
import { startAgent, tempDir, type JsonEvent, type RunningAgent } from "../helpers/agent";

const kp = (e: JsonEvent) => e.process_kprobe;

function writePolicies(dir: string, docs: Record<string, string>): string {
  const d = path.join(dir, "tp.d");
  fs.mkdirSync(d, { recursive: true });
  for (const [name, text] of Object.entries(docs)) fs.writeFileSync(path.join(d, `${name}.yaml`), text);
  return d;
}

describe("syscall hooks", () => {
  let agent: RunningAgent;
  const work = tempDir("tp-work-");
  const secret = path.join(work, "secret");
  const other = path.join(work, "other");
  fs.mkdirSync(secret);
  fs.mkdirSync(other);
  fs.writeFileSync(path.join(secret, "a.txt"), "top secret\n");
  fs.writeFileSync(path.join(other, "b.txt"), "nothing\n");

  before(async () => {
    const dir = tempDir("tp-");
    const tpdir = writePolicies(dir, {
      openat: `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "openat-secret"
spec:
  kprobes:
  - call: "sys_openat"
    return: true
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "string"
    - index: 2
      type: "int"
    returnArg:
      index: 0
      type: "int"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Prefix"
        values:
        - "${secret}/"
      matchBinaries:
      - operator: "In"
        values:
        - "/usr/bin/cat"
`,
      write: `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "write-fd"
spec:
  kprobes:
  - call: "sys_write"
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
        operator: "Postfix"
        values:
        - "/written.txt"
`,
      writev: `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "writev-iovec"
spec:
  kprobes:
  - call: "sys_writev"
    args:
    - index: 0
      type: "fd"
    - index: 1
      type: "char_iovec"
      sizeArgIndex: 3
    - index: 2
      type: "int"
    selectors:
    - matchArgs:
      - index: 0
        operator: "Postfix"
        values:
        - "/iovec.txt"
`,
      failed: `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "failed-opens"
spec:
  kprobes:
  - call: "sys_openat"
    return: true
    args:
    - index: 1
      type: "string"
    returnArg:
      index: 0
      type: "int"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Postfix"
        values:
        - "/does-not-exist-tp"
      matchReturnArgs:
      - index: 0
        operator: "LessThan"
        values:
        - "0"
`,
    });
    agent = await startAgent(["--tracing-policy-dir", tpdir]);
  });

  after(async () => {
    assert.equal(await agent.stop(), 0, agent.logs());
  });

  test("openat under a prefix by a listed binary gives a process_kprobe with its arguments and return value", async () => {
    const r = spawnSync("/usr/bin/cat", [path.join(secret, "a.txt")]);
    assert.equal(r.status, 0);
    spawnSync("/usr/bin/cat", [path.join(other, "b.txt")]);
    spawnSync("/usr/bin/head", ["-c1", path.join(secret, "a.txt")]);
    const ev = await agent.waitFor((e) => kp(e)?.policy_name === "openat-secret", "openat event");
    const k = kp(ev);
    assert.equal(k.function_name, "__x64_sys_openat");
    assert.equal(k.process.binary, "/usr/bin/cat");
    assert.equal(k.args[0].int_arg, -100);
    assert.equal(k.args[1].string_arg, path.join(secret, "a.txt"));
    assert.equal(k.args[2].int_arg ?? 0, 0, "cat opens O_RDONLY (0: protojson leaves it out)");
    assert.ok(k.return.int_arg >= 3, JSON.stringify(k.return));
    assert.equal(k.action, "KPROBE_ACTION_POST");
    assert.equal(k.return_action, "KPROBE_ACTION_POST");
    assert.equal(k.parent.pid, process.pid);
    await new Promise((r2) => setTimeout(r2, 300));
    const all = agent.events().filter((e) => kp(e)?.policy_name === "openat-secret");
    for (const e of all) {
      assert.ok(kp(e).args[1].string_arg.startsWith(secret + "/"), "only the prefix matches");
      assert.equal(kp(e).process.binary, "/usr/bin/cat", "only the listed binary matches");
    }
  });

  test("write with an fd resolved to its path and the bytes written", async () => {
    const target = path.join(work, "written.txt");
    const marker = `hello-${crypto.randomBytes(4).toString("hex")}`;
    spawnSync("/bin/sh", ["-c", `printf '%s' ${marker} > ${target}; printf x > ${path.join(work, "not-this.txt")}`]);
    const ev = await agent.waitFor((e) => kp(e)?.policy_name === "write-fd", "write event");
    const k = kp(ev);
    assert.equal(k.function_name, "__x64_sys_write");
    assert.equal(k.args[0].file_arg.path, target);
    assert.equal(Buffer.from(k.args[1].bytes_arg, "base64").toString(), marker);
    assert.equal(k.args[2].size_arg, String(marker.length));
    await new Promise((r) => setTimeout(r, 300)); // a late event of the other file would show now
    assert.equal(agent.events().filter((e) => kp(e)?.policy_name === "write-fd").length, 1);
  });

  test("writev with char_iovec concatenates the buffers", async () => {
    const target = path.join(work, "iovec.txt");
    const other = path.join(work, "iovec-other.txt");
    const py = `import os\nfd = os.open("${target}", os.O_WRONLY | os.O_CREAT, 0o644)\nos.writev(fd, [b"first-", b"second-", b"third"])\n`
      + `fd2 = os.open("${other}", os.O_WRONLY | os.O_CREAT, 0o644)\nos.writev(fd2, [b"not-", b"this"])\n`;
    const r = spawnSync("python3", ["-c", py]);
    assert.equal(r.status, 0, String(r.stderr));
    const ev = await agent.waitFor((e) => kp(e)?.policy_name === "writev-iovec", "writev event");
    const k = kp(ev);
    assert.equal(k.function_name, "__x64_sys_writev");
    assert.equal(k.args[0].file_arg.path, target);
    assert.equal(Buffer.from(k.args[1].bytes_arg, "base64").toString(), "first-second-third");
    assert.equal(k.args[2].int_arg, 3);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(agent.events().filter((e) => kp(e)?.policy_name === "writev-iovec").map((e) => kp(e).args[0].file_arg.path), [target]);
  });

  test("matchReturnArgs keeps only the failed calls", async () => {
    // the same name twice: the postfix matches both calls, the return value only the failed one
    const present = path.join(work, "present");
    fs.mkdirSync(present, { recursive: true });
    fs.writeFileSync(path.join(present, "does-not-exist-tp"), "x");
    assert.equal(spawnSync("/usr/bin/cat", [path.join(present, "does-not-exist-tp")]).status, 0);
    spawnSync("/usr/bin/cat", [path.join(work, "does-not-exist-tp")]);
    const ev = await agent.waitFor((e) => kp(e)?.policy_name === "failed-opens", "failed openat");
    assert.equal(kp(ev).return.int_arg, -2);
    assert.equal(kp(ev).args[0].string_arg, path.join(work, "does-not-exist-tp"));
    await new Promise((r) => setTimeout(r, 300));
    const all = agent.events().filter((e) => kp(e)?.policy_name === "failed-opens").map((e) => [kp(e).args[0].string_arg, kp(e).return.int_arg]);
    assert.deepEqual(all, [[path.join(work, "does-not-exist-tp"), -2]], "the successful open of the same name is not reported");
  });
});

describe("tracepoints and sockaddr", () => {
  test("raw_syscalls/sys_enter with syscall64 and matchBinaries", async () => {
    const dir = tempDir("tp-raw-");
    const tp = path.join(dir, "p.yaml");
    fs.writeFileSync(tp, `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "raw-getppid"
spec:
  tracepoints:
  - subsystem: "raw_syscalls"
    event: "sys_enter"
    args:
    - index: 4
      type: "syscall64"
    selectors:
    - matchArgs:
      - index: 4
        operator: "Equal"
        values:
        - "110"
      matchBinaries:
      - operator: "In"
        values:
        - "/usr/bin/perl"
`);
    const agent = await startAgent(["--tracing-policy", tp]);
    try {
      const perl = spawnSync("/usr/bin/perl", ["-e", "getppid(); getppid(); getpgrp();"]);
      const py = spawnSync("/usr/bin/python3", ["-c", "import os; os.getppid()"]);
      assert.equal(perl.status, 0);
      assert.equal(py.status, 0);
      const ev = await agent.waitFor((e) => e.process_tracepoint?.policy_name === "raw-getppid", "tracepoint event");
      const t = ev.process_tracepoint;
      assert.equal(t.subsys, "raw_syscalls");
      assert.equal(t.event, "sys_enter");
      assert.equal(t.args[0].syscall_id.id, 110);
      assert.equal(t.args[0].syscall_id.abi, "x64");
      await new Promise((r) => setTimeout(r, 300));
      // perl's two getppid calls, not its getpgrp, not python's getppid
      const all = agent.events().filter((e) => e.process_tracepoint?.policy_name === "raw-getppid")
        .map((e) => [e.process_tracepoint.process.pid, e.process_tracepoint.args[0].syscall_id.id]);
      assert.deepEqual(all, [[perl.pid, 110], [perl.pid, 110]]);
    } finally {
      await agent.stop();
    }
  });

  test("raw: true tracepoints take the TP_PROTO arguments typed by BTF", async () => {
    const dir = tempDir("tp-rawbtf-");
    const tp = path.join(dir, "p.yaml");
    fs.writeFileSync(tp, `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "raw-btf"
spec:
  tracepoints:
  - subsystem: "raw_syscalls"
    event: "sys_enter"
    raw: true
    args:
    - index: 1
      type: "syscall64"
    selectors:
    - matchArgs:
      - index: 1
        operator: "Equal"
        values:
        - "110"
      matchBinaries:
      - operator: "In"
        values:
        - "/usr/bin/perl"
  - subsystem: "sched"
    event: "sched_process_exec"
    raw: true
    args:
    - index: 1
    selectors:
    - matchBinaries:
      - operator: "In"
        values:
        - "/usr/bin/perl"
`);
    const agent = await startAgent(["--tracing-policy", tp]);
    try {
      assert.doesNotMatch(agent.logs(), /rejected/, agent.logs());
      const perl = spawnSync("/usr/bin/perl", ["-e", "getppid();"]);
      spawnSync("/usr/bin/python3", ["-c", "import os; os.getppid()"]);
      const ev = await agent.waitFor((e) => e.process_tracepoint?.policy_name === "raw-btf" && e.process_tracepoint.event === "sys_enter", "raw sys_enter");
      assert.equal(ev.process_tracepoint.args[0].syscall_id.id, 110);
      const ex = await agent.waitFor((e) => e.process_tracepoint?.policy_name === "raw-btf" && e.process_tracepoint.event === "sched_process_exec", "raw sched_process_exec");
      assert.equal(ex.process_tracepoint.args[0].int_arg, ex.process_tracepoint.process.pid, "pid_t old_pid, typed int by BTF");
      await new Promise((r) => setTimeout(r, 300));
      const pids = (event: string) => agent.events().filter((e) => e.process_tracepoint?.policy_name === "raw-btf" && e.process_tracepoint.event === event)
        .map((e) => e.process_tracepoint.process.pid);
      assert.deepEqual(pids("sys_enter"), [perl.pid], "python's getppid is not perl's");
      assert.deepEqual(pids("sched_process_exec"), [perl.pid], "python's exec is not perl's");
    } finally {
      await agent.stop();
    }
  });

  test("data arguments from the current task, resolve through kernel structs, matchData", async () => {
    const dir = tempDir("tp-data-");
    const tp = path.join(dir, "p.yaml");
    fs.writeFileSync(tp, `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "data-resolve"
spec:
  kprobes:
  - call: "sys_getppid"
    data:
    - index: 0
      type: "string"
      source: "current_task"
      resolve: "comm"
    - index: 0
      type: "int"
      source: "current_task"
      resolve: "real_parent.tgid"
    selectors:
    - matchData:
      - index: 0
        operator: "Equal"
        values:
        - "perl"
  tracepoints:
  - subsystem: "sched"
    event: "sched_process_exec"
    raw: true
    args:
    - index: 0
      type: "string"
      resolve: "comm"
    - index: 2
      resolve: "filename"
    - index: 2
      type: "linux_binprm"
    - index: 2
      type: "file"
      resolve: "file"
    - index: 2
      type: "path"
      resolve: "file.f_path"
    selectors:
    - matchArgs:
      - index: 2
        operator: "Postfix"
        values:
        - "/perl"
`);
    const agent = await startAgent(["--tracing-policy", tp]);
    try {
      assert.doesNotMatch(agent.logs(), /rejected/, agent.logs());
      spawnSync("/usr/bin/perl", ["-e", "getppid();"]);
      spawnSync("/usr/bin/python3", ["-c", "import os; os.getppid()"]);
      const ev = await agent.waitFor((e) => kp(e)?.policy_name === "data-resolve", "kprobe with data");
      const k = kp(ev);
      assert.equal(k.function_name, "__x64_sys_getppid");
      assert.equal(k.data[0].string_arg, "perl");
      assert.equal(k.data[1].int_arg, k.parent.pid, "real_parent.tgid is the parent's pid");
      const ex = await agent.waitFor((e) => e.process_tracepoint?.policy_name === "data-resolve", "raw tracepoint with resolve");
      assert.equal(ex.process_tracepoint.args[0].string_arg, "perl", "task->comm after exec");
      assert.equal(ex.process_tracepoint.args[1].string_arg, "/usr/bin/perl", "bprm->filename");
      assert.equal(ex.process_tracepoint.args[2].linux_binprm_arg.path, "/usr/bin/perl");
      assert.equal(ex.process_tracepoint.args[3].file_arg.path, "/usr/bin/perl");
      assert.equal(ex.process_tracepoint.args[4].path_arg.path, "/usr/bin/perl");
      await new Promise((r) => setTimeout(r, 300));
      for (const e of agent.events().filter((x) => kp(x)?.policy_name === "data-resolve")) assert.equal(kp(e).data[0].string_arg, "perl");
      const execs = agent.events().filter((x) => x.process_tracepoint?.policy_name === "data-resolve");
      assert.deepEqual(execs.map((x) => x.process_tracepoint.args[1].string_arg), ["/usr/bin/perl"], "python3's exec does not match the Postfix");
    } finally {
      await agent.stop();
    }
  });

  test("connect with sockaddr: SAddr CIDR and SPort select the connections", async () => {
    const srv = net.createServer((s) => s.end()).listen(0, "127.0.0.1");
    await new Promise((r) => srv.once("listening", r));
    const port = (srv.address() as net.AddressInfo).port;
    const dir = tempDir("tp-conn-");
    const tp = path.join(dir, "p.yaml");
    fs.writeFileSync(tp, `
apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: "connect-local"
spec:
  kprobes:
  - call: "sys_connect"
    args:
    - index: 0
      type: "int"
    - index: 1
      type: "sockaddr"
    selectors:
    - matchArgs:
      - index: 1
        operator: "SAddr"
        values:
        - "127.0.0.0/8"
      - index: 1
        operator: "SPort"
        values:
        - "${port}"
`);
    const agent = await startAgent(["--tracing-policy", tp]);
    try {
      const py = `import socket\ns=socket.create_connection(("127.0.0.1", ${port}))\ns.close()\ntry:\n  socket.create_connection(("127.0.0.1", 1), timeout=1)\nexcept Exception: pass\n`;
      spawnSync("python3", ["-c", py]);
      const ev = await agent.waitFor((e) => kp(e)?.policy_name === "connect-local", "connect event");
      const sa = kp(ev).args[1].sockaddr_arg;
      assert.deepEqual(sa, { family: "AF_INET", addr: "127.0.0.1", port });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(agent.events().filter((e) => kp(e)?.policy_name === "connect-local").length, 1, "port 1 does not match");
    } finally {
      await agent.stop();
      srv.close();
    }
  });
});
