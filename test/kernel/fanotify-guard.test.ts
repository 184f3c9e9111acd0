// Kernel test of the fanotify permission guard (native/fanotify.cc): real fanotify groups,
// real child processes. Needs root (CAP_SYS_ADMIN), CONFIG_FANOTIFY_ACCESS_PERMISSIONS and bpffs.
// Every open that is checked comes from a child: the agent's own threads are always allowed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as v8 from "node:v8";
import * as vm from "node:vm";
import { loadNative, type NativeAddon, type NativeFanotifyGuard } from "../../src/loader/native";
import { FanotifyGuard, histogramQuantile } from "../../src/enforce/fanotify-guard";
import { DENY_ENTRY } from "../../src/decode/generic-layout";

const DENY_K_OPEN = 0x1;
const DENY_K_EXEC = 0x2;
const CONTENT = "secret-content-4711\n";

let native: NativeAddon;
let tmpDir: string;
let secret: string; // a file with CONTENT
let trueCopy: string; // a copy of /bin/true
let denyMapFd = -1;

function key(tid: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(tid);
  return b;
}

interface Entry {
  err?: number;
  kinds: number;
  ktime?: bigint;
  hookId?: number;
  verdict: 0 | 1;
}

function setEntry(tid: number, e: Entry): void {
  const b = Buffer.alloc(DENY_ENTRY.SIZE);
  b.writeInt32LE(e.err ?? -1, DENY_ENTRY.err);
  b.writeUInt32LE(e.kinds, DENY_ENTRY.kinds);
  b.writeBigUInt64LE(e.ktime ?? native.clockBoottimeNs(), DENY_ENTRY.ktime);
  b.writeUInt32LE(e.hookId ?? 7, DENY_ENTRY.hook_id);
  b.writeUInt32LE(e.verdict, DENY_ENTRY.verdict);
  native.mapUpdate(denyMapFd, key(tid), b);
}

/** Creates a map with bpftool, opens it and drops the pin at once (the fd keeps it alive). */
function createMap(name: string, args: string[]): number {
  const pin = `/sys/fs/bpf/tetragon-ts-fan-${process.pid}-${name}`;
  execFileSync("bpftool", ["map", "create", pin, ...args, "name", name]);
  try {
    return native.objGet(pin);
  } finally {
    fs.rmSync(pin, { force: true });
  }
}

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Starts `cmd` waiting on its stdin (the script begins with `read x`): `pid` is known before
 * it does anything checked; `go()` sends the line and waits for the exit.
 */
function child(cmd: string, args: string[], cwd = tmpDir): { pid: number; firstLine: Promise<string>; go: () => Promise<ChildResult> } {
  const c = spawn(cmd, args, { cwd, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let lineSeen: (l: string) => void = () => {};
  const firstLine = new Promise<string>((r) => (lineSeen = r));
  c.stdout.on("data", (d) => {
    stdout += d;
    if (stdout.includes("\n")) lineSeen(stdout.slice(0, stdout.indexOf("\n")));
  });
  c.stderr.on("data", (d) => (stderr += d));
  const done = new Promise<ChildResult>((resolve, reject) => {
    c.on("error", reject);
    c.on("close", (code) => resolve({ code, stdout, stderr }));
  });
  const timer = setTimeout(() => c.kill("SIGKILL"), 20000);
  return {
    pid: c.pid as number,
    firstLine,
    go: async () => {
      c.stdin.end("go\n");
      try {
        return await done;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

const catChild = () => child("sh", ["-c", `read x; exec cat ${secret}`]);

function guard(failClosed: boolean, marks: Array<[string, "inode" | "dir" | "mount", { open?: boolean; exec?: boolean }]>): NativeFanotifyGuard {
  const g = new native.FanotifyGuard({ denyMapFd, failClosed });
  g.start();
  for (const [p, kind, ev] of marks) g.mark(p, kind, ev);
  return g;
}

function clearMap(): void {
  for (let k = native.mapNextKey(denyMapFd, null, 4); k; k = native.mapNextKey(denyMapFd, null, 4)) native.mapDelete(denyMapFd, k);
}

before(() => {
  execFileSync("sh", ["-c", "mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf"]);
  native = loadNative();
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "tetragon-ts-fanotify-"));
  secret = path.join(tmpDir, "secret.txt");
  fs.writeFileSync(secret, CONTENT);
  trueCopy = path.join(tmpDir, "true-copy");
  fs.copyFileSync("/bin/true", trueCopy);
  fs.chmodSync(trueCopy, 0o755);
  denyMapFd = createMap("deny_map", ["type", "hash", "key", "4", "value", String(DENY_ENTRY.SIZE), "entries", "1024"]);
});

after(() => {
  if (denyMapFd >= 0) native.closeFd(denyMapFd);
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
});

test("construction checks the map; mark errors name the path", () => {
  const g = new native.FanotifyGuard({ denyMapFd });
  try {
    assert.equal(g.reportTid, true, "FAN_REPORT_TID with FAN_CLASS_CONTENT");
    const missing = path.join(tmpDir, "x/y");
    assert.throws(() => g.mark(missing, "inode", { open: true }), (e: Error & { code: string; errno: number }) => {
      assert.equal(e.code, "ENOENT");
      assert.equal(e.errno, 2);
      assert.equal(e.message, `fanotify mark ${missing}: No such file or directory`);
      return true;
    });
    assert.throws(() => g.mark(secret, "dir", { open: true }), { code: "ENOTDIR", message: `fanotify mark ${secret}: Not a directory` });
    assert.throws(() => g.mark(secret, "inode", {}), { code: "EINVAL", message: /events must include open or exec/ });
    assert.throws(() => g.mark(secret, "bogus" as "inode", { open: true }), { code: "EINVAL", message: /kind must be/ });
    assert.deepEqual(g.stats().events, 0);
  } finally {
    g.close();
    g.close();
  }
  assert.throws(() => g.mark(secret, "inode", { open: true }), { code: "EBADF", message: /guard closed/ });
  assert.throws(() => g.start(), { code: "EBADF" });

  const wrong = createMap("wrong_map", ["type", "hash", "key", "4", "value", "8", "entries", "4"]);
  try {
    assert.throws(() => new native.FanotifyGuard({ denyMapFd: wrong }), { code: "EINVAL", message: /key 4 \/ value 40 bytes expected, got 4 \/ 8/ });
  } finally {
    native.closeFd(wrong);
  }
  // BPF_OBJ_GET_INFO_BY_FD answers EBADFD for a closed fd
  assert.throws(() => new native.FanotifyGuard({ denyMapFd: 9999 }), { code: /^EBADFD?$/, message: /deny_map fd 9999/ });
});

test("a deny entry for the child makes its open fail with EPERM", async () => {
  clearMap();
  const c = catChild();
  setEntry(c.pid, { err: -1, kinds: DENY_K_OPEN, verdict: 1 });
  const g = guard(false, [[secret, "inode", { open: true }]]);
  try {
    const r = await c.go();
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Operation not permitted/);
    assert.equal(r.stdout, "");
    const s = g.stats();
    assert.ok(s.denied >= 1, JSON.stringify(s));
    assert.equal(s.unknown, 0);
    assert.equal(s.errors, 0);
  } finally {
    g.close();
  }
});

test("without an entry a fail-open guard allows the open (counted unknown)", async () => {
  clearMap();
  const c = catChild();
  const g = guard(false, [[secret, "inode", { open: true }]]);
  try {
    const r = await c.go();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, CONTENT);
    const s = g.stats();
    assert.ok(s.unknown >= 1, JSON.stringify(s));
    assert.equal(s.unknownDenied, 0);
    assert.equal(s.denied, 0);
  } finally {
    g.close();
  }
});

test("fail-closed: no entry denies, an allow entry allows, an entry for exec only is unknown", async () => {
  clearMap();
  const g = guard(true, [[secret, "inode", { open: true }]]);
  try {
    const none = catChild();
    const r1 = await none.go();
    assert.notEqual(r1.code, 0);
    assert.match(r1.stderr, /Operation not permitted/);
    assert.equal(r1.stdout, "");
    assert.ok(g.stats().unknownDenied >= 1);

    const allow = catChild();
    setEntry(allow.pid, { kinds: DENY_K_OPEN, verdict: 0 });
    const r2 = await allow.go();
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(r2.stdout, CONTENT);
    assert.ok(g.stats().allowed >= 1);

    const other = catChild();
    setEntry(other.pid, { kinds: DENY_K_EXEC, verdict: 0 });
    const r3 = await other.go();
    assert.match(r3.stderr, /Operation not permitted/);
    assert.equal(r3.stdout, "");
  } finally {
    g.close();
  }
});

test("the agent's own opens are always allowed, even fail-closed", () => {
  clearMap();
  const g = guard(true, [[secret, "inode", { open: true }]]);
  try {
    assert.equal(fs.readFileSync(secret, "utf8"), CONTENT); // main thread
    const s = g.stats();
    assert.ok(s.own >= 1, JSON.stringify(s));
    assert.equal(s.unknownDenied, 0);
  } finally {
    g.close();
  }
});

test("FAN_REPORT_TID: an entry keyed by a non-main thread's id denies that thread's open", async () => {
  clearMap();
  const script = [
    "import sys, threading",
    "def worker():",
    "    print(threading.get_native_id(), flush=True)",
    "    sys.stdin.readline()",
    "    try:",
    "        print(open(sys.argv[1]).read(), end='')",
    "    except OSError as e:",
    "        print('error', e.errno, file=sys.stderr)",
    "t = threading.Thread(target=worker); t.start(); t.join()",
  ].join("\n");
  const c = child("/usr/bin/python3", ["-c", script, secret]);
  const tid = Number(await c.firstLine);
  assert.notEqual(tid, c.pid);
  setEntry(tid, { kinds: DENY_K_OPEN, verdict: 1 });
  setEntry(c.pid, { kinds: DENY_K_OPEN, verdict: 0 }); // the main thread's entry must not be used
  const g = guard(false, [[secret, "inode", { open: true }]]);
  try {
    const r = await c.go();
    assert.match(r.stderr, /error 1\b/); // EPERM
    assert.ok(!r.stdout.includes(CONTENT));
    assert.equal(g.stats().denied, 1);
  } finally {
    g.close();
  }
});

test("exec: an EXEC entry makes execve fail with EPERM; without one the program runs", async () => {
  clearMap();
  const g = guard(false, [[trueCopy, "inode", { exec: true }]]);
  try {
    const denied = child("sh", ["-c", "read x; exec ./true-copy"]);
    setEntry(denied.pid, { kinds: DENY_K_EXEC, verdict: 1 });
    const r1 = await denied.go();
    assert.match(r1.stderr, /Operation not permitted/);
    assert.notEqual(r1.code, 0);
    console.log(`# exec denied: sh exit code ${r1.code}, stderr ${JSON.stringify(r1.stderr.trim())}`);

    const runs = child("sh", ["-c", "read x; exec ./true-copy"]);
    const r2 = await runs.go();
    assert.equal(r2.code, 0, r2.stderr);

    // an OPEN entry does not apply to an execution
    const openOnly = child("sh", ["-c", "read x; exec ./true-copy"]);
    setEntry(openOnly.pid, { kinds: DENY_K_OPEN, verdict: 1 });
    const r3 = await openOnly.go();
    assert.equal(r3.code, 0, r3.stderr);
    const s = g.stats();
    assert.equal(s.denied, 1, JSON.stringify(s));
    assert.equal(s.execEvents, 3);
    assert.equal(s.openEvents, 0);
  } finally {
    g.close();
  }
});

test("exec of a file marked for open and exec: which events arrive", async () => {
  clearMap();
  const g = guard(false, [[trueCopy, "inode", { open: true, exec: true }]]);
  try {
    const c = child("sh", ["-c", "read x; exec ./true-copy"]);
    const r = await c.go();
    assert.equal(r.code, 0, r.stderr);
    const s = g.stats();
    console.log(`# one execve of a file marked open+exec: ${s.events} events, ${s.openEvents} with FAN_OPEN_PERM, ${s.execEvents} with FAN_OPEN_EXEC_PERM`);
    assert.ok(s.execEvents >= 1);

    // so an EXEC deny entry is enough to stop it even when the open is also checked
    const d = child("sh", ["-c", "read x; exec ./true-copy"]);
    setEntry(d.pid, { kinds: DENY_K_EXEC, verdict: 1 });
    const r2 = await d.go();
    assert.match(r2.stderr, /Operation not permitted/);
  } finally {
    g.close();
  }

  // Fail-closed, the execve's FAN_OPEN_PERM needs a decision too: an allow entry for an
  // execution must carry DENY_K_OPEN | DENY_K_EXEC when the file is also marked for open.
  const fc = guard(true, [[trueCopy, "inode", { open: true, exec: true }]]);
  try {
    const execOnly = child("sh", ["-c", "read x; exec ./true-copy"]);
    setEntry(execOnly.pid, { kinds: DENY_K_EXEC, verdict: 0 });
    const r1 = await execOnly.go();
    assert.match(r1.stderr, /Operation not permitted/);
    assert.deepEqual([fc.stats().allowed, fc.stats().unknownDenied], [1, 1]); // exec event first, then open

    const both = child("sh", ["-c", "read x; exec ./true-copy"]);
    setEntry(both.pid, { kinds: DENY_K_EXEC | DENY_K_OPEN, verdict: 0 });
    const r2 = await both.go();
    assert.equal(r2.code, 0, r2.stderr);
  } finally {
    fc.close();
  }
});

test("dir marks cover the directory's files; the wrapper reports missing paths", async () => {
  clearMap();
  const w = new FanotifyGuard(native, {
    denyMapFd,
    failClosed: false,
    marks: [
      { path: tmpDir, kind: "dir", events: { open: true } },
      { path: path.join(tmpDir, "missing"), kind: "inode", events: { open: true } },
    ],
  });
  const failures = w.open();
  try {
    assert.equal(failures.length, 1);
    assert.equal(failures[0].code, "ENOENT");
    assert.match(failures[0].message, /fanotify mark .*missing: No such file or directory/);
    const c = catChild();
    setEntry(c.pid, { kinds: DENY_K_OPEN, verdict: 1 });
    const r = await c.go();
    assert.match(r.stderr, /Operation not permitted/);
    assert.ok((w.stats()?.denied ?? 0) >= 1);
  } finally {
    w.close();
    w.close();
  }
  assert.ok((w.stats()?.denied ?? 0) >= 1, "final stats kept after close");
  assert.equal(w.isOpen, false);
});

test("close() leaves no mark behind; a collected guard stops its thread", async () => {
  clearMap();
  const g = guard(true, [[secret, "inode", { open: true }]]);
  try {
    const before = await catChild().go();
    assert.match(before.stderr, /Operation not permitted/);
  } finally {
    g.close();
  }
  const afterClose = await catChild().go();
  assert.equal(afterClose.code, 0, afterClose.stderr);
  assert.equal(afterClose.stdout, CONTENT);

  let gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) {
    v8.setFlagsFromString("--expose-gc");
    gc = vm.runInNewContext("gc") as (() => void) | undefined;
  }
  if (!gc) {
    console.log("# no gc available: destructor path skipped");
    return;
  }
  // A fail-closed guard denies while alive; once collected its group is closed.
  (() => {
    guard(true, [[secret, "inode", { open: true }]]);
  })();
  const end = Date.now() + 10000;
  let last: ChildResult | undefined;
  while (Date.now() < end) {
    gc();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 20));
    last = await catChild().go();
    if (last.code === 0) break;
  }
  assert.equal(last?.code, 0, `guard still denying after gc: ${last?.stderr}`);
  assert.equal(last?.stdout, CONTENT);
});

test("a stale entry (11 s old) is unknown", async () => {
  clearMap();
  const g = guard(false, [[secret, "inode", { open: true }]]);
  try {
    const c = catChild();
    setEntry(c.pid, { kinds: DENY_K_OPEN, verdict: 1, ktime: native.clockBoottimeNs() - 11_000_000_000n });
    const r = await c.go();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, CONTENT);
    const s = g.stats();
    assert.equal(s.denied, 0);
    assert.ok(s.unknown >= 1);

    // a fresh one from the same writer is honoured
    const c2 = catChild();
    setEntry(c2.pid, { kinds: DENY_K_OPEN, verdict: 1, ktime: native.clockBoottimeNs() - 9_000_000_000n });
    const r2 = await c2.go();
    assert.match(r2.stderr, /Operation not permitted/);
  } finally {
    g.close();
  }
});

test("concurrent children: every event answered once, no event fd kept", async () => {
  clearMap();
  const fdsBefore = fs.readdirSync("/proc/self/fd").length;
  const g = guard(false, [[secret, "inode", { open: true }]]);
  try {
    const loop = `read x; i=0; while [ $i -lt 200 ]; do : < ${secret}; i=$((i+1)); done`;
    const kids = [0, 1, 2, 3].map(() => child("sh", ["-c", loop]));
    kids.forEach((k, i) => setEntry(k.pid, { kinds: DENY_K_OPEN, verdict: i === 0 ? 1 : 0 }));
    const results = await Promise.all(kids.map((k) => k.go()));
    assert.notEqual(results[0].code, 0); // the first redirection fails: sh stops
    for (const r of results.slice(1)) assert.equal(r.code, 0, r.stderr);
    const s = g.stats();
    assert.equal(s.allowed, 600);
    assert.equal(s.denied, 1);
    assert.equal(s.events, 601);
    assert.equal(s.errors, 0);
    assert.equal(s.answerHistogram.reduce((n, b) => n + b.count, 0), 601);
  } finally {
    g.close();
  }
  assert.equal(fs.readdirSync("/proc/self/fd").length, fdsBefore);
});

test("latency: answer time for 1000 checked opens (printed, not asserted)", async () => {
  clearMap();
  const n = 1000;
  const g = guard(false, [[secret, "inode", { open: true }]]);
  try {
    const c = child("sh", ["-c", `read x; i=0; while [ $i -lt ${n} ]; do : < ${secret}; i=$((i+1)); done`]);
    setEntry(c.pid, { kinds: DENY_K_OPEN, verdict: 0 });
    const t0 = process.hrtime.bigint();
    const r = await c.go();
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.equal(r.code, 0, r.stderr);
    const s = g.stats();
    assert.equal(s.allowed, n);
    const median = histogramQuantile(s.answerHistogram, 0.5);
    const p99 = histogramQuantile(s.answerHistogram, 0.99);
    console.log(
      `# fanotify guard: ${s.events} checked opens, median < ${(median / 1000).toFixed(1)} µs (bucket bound), ` +
        `mean ${(s.answerNsSum / s.events / 1000).toFixed(1)} µs, p99 < ${(p99 / 1000).toFixed(1)} µs, ` +
        `max ${(s.answerNsMax / 1000).toFixed(1)} µs; child loop ${wallMs.toFixed(0)} ms wall`,
    );
  } finally {
    g.close();
  }
});
