// Kernel test of the libbpf addon (native/): needs root, BTF, bpffs and tracefs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, execSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadNative, type NativeAddon, type NativeObject } from "../../src/loader/native";

const repoRoot = path.resolve(__dirname, "../../..");
const bpfSource = path.join(repoRoot, "native/test/ringbuf_probe.bpf.c");
const pinPrefix = `/sys/fs/bpf/tetragon-ts-test-${process.pid}`;

const BPF_PROG_TYPE_TRACEPOINT = 5;
const BPF_FUNC_ringbuf_output = 130;
const BPF_NOEXIST = 1;
const EVENT_SIZE = 32; // struct event in ringbuf_probe.bpf.c

let native: NativeAddon;
let tmpDir: string;
let objPath: string;

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

function open(): NativeObject {
  const obj = new native.BpfObject(objPath);
  const tgid = Buffer.alloc(4);
  tgid.writeInt32LE(process.pid);
  obj.setGlobal("target_tgid", tgid);
  return obj;
}

// Node caches process.cwd(); chdir() drops the cache so the next cwd() calls getcwd(2).
function triggerGetcwd(times: number): void {
  const dir = process.cwd();
  for (let i = 0; i < times; i++) {
    process.chdir(dir);
    process.cwd();
  }
}

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

function assertErrno(fn: () => unknown, code: string, messagePart?: string | RegExp): Error & { errno: number; code: string } {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof Error, "expected an Error to be thrown");
  const err = caught as Error & { errno: number; code: string };
  assert.equal(typeof err.errno, "number");
  assert.ok(err.errno > 0);
  assert.equal(err.code, code);
  if (typeof messagePart === "string") assert.ok(err.message.includes(messagePart), err.message);
  else if (messagePart) assert.match(err.message, messagePart);
  return err;
}

before(() => {
  execSync("mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf");
  execSync("mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing");
  native = loadNative();
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "tetragon-ts-native-"));
  const vmlinux = execFileSync("bpftool", ["btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "c"], {
    maxBuffer: 1 << 30,
  });
  fs.writeFileSync(path.join(tmpDir, "vmlinux.h"), vmlinux);
  objPath = path.join(tmpDir, "ringbuf_probe.bpf.o");
  execFileSync("clang", ["-g", "-O2", "-target", "bpf", "-D__TARGET_ARCH_x86", `-I${tmpDir}`, "-c", bpfSource, "-o", objPath]);
});

after(() => {
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
  for (const f of fs.readdirSync("/sys/fs/bpf")) {
    if (f.startsWith(path.basename(pinPrefix))) fs.rmSync(path.join("/sys/fs/bpf", f), { force: true });
  }
});

test("module basics and probes", () => {
  assert.match(native.libbpfVersion(), /^\d+\.\d+$/);
  assert.ok(native.numPossibleCpus() >= 1);
  assert.equal(native.probeProgType(BPF_PROG_TYPE_TRACEPOINT), true);
  assert.equal(native.probeHelper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_ringbuf_output), true);
});

test("open, inspect and configure before load", () => {
  assertErrno(() => new native.BpfObject(path.join(tmpDir, "missing.o")), "ENOENT", "missing.o");

  const obj = new native.BpfObject(objPath);
  try {
    const progs = obj.programs();
    const getcwd = progs.find((p) => p.name === "on_getcwd");
    assert.deepEqual(getcwd, { name: "on_getcwd", section: "tp/syscalls/sys_enter_getcwd", type: BPF_PROG_TYPE_TRACEPOINT, autoload: true });
    assert.equal(progs.find((p) => p.name === "bad_prog")?.autoload, false);

    const counts = obj.maps().find((m) => m.name === "counts");
    assert.deepEqual(counts, { name: "counts", type: 1, keySize: 4, valueSize: 8, maxEntries: 64, fd: -1 });

    assertErrno(() => obj.setGlobal("target_tgid", Buffer.alloc(8)), "EINVAL", "setGlobal target_tgid");
    assertErrno(() => obj.setGlobal("no_such_global", Buffer.alloc(4)), "ENOENT");
    assertErrno(() => obj.setMapMaxEntries("no_such_map", 1), "ENOENT");
    assertErrno(() => obj.setProgramAutoload("no_such_prog", true), "ENOENT");
    assertErrno(() => obj.mapFd("counts"), "EBADF");

    obj.setMapMaxEntries("counts", 128);
    obj.setGlobal("seen", u64(100)); // .bss
    obj.load();
    const loaded = obj.maps().find((m) => m.name === "counts");
    assert.equal(loaded?.maxEntries, 128);
    assert.equal(loaded?.fd, obj.mapFd("counts"));
    assert.equal(native.mapLookup(obj.mapFd(".bss"), u32(0), 8)?.readBigUInt64LE(0), 100n);
    assert.ok(obj.progFd("on_getcwd") > 0);
    assertErrno(() => obj.progFd("bad_prog"), "EBADF");
  } finally {
    obj.close();
    obj.close();
  }
  assertErrno(() => obj.maps(), "EBADF");
});

test("tracepoint events reach JS through the ring buffer", async () => {
  const obj = open();
  obj.load();
  const link = obj.attach("on_getcwd", { kind: "tracepoint", category: "syscalls", name: "sys_enter_getcwd" });
  assert.ok(link.fd > 0);

  const records: Buffer[] = [];
  let batchCalls = 0;
  // Small batches (two records do not fit) and a short queue exercise flushing and back-pressure.
  const rb = new native.RingBuffer(
    obj.mapFd("events"),
    (buf, count) => {
      batchCalls++;
      let off = 0;
      for (let i = 0; i < count; i++) {
        const len = buf.readUInt32LE(off);
        assert.equal(buf.readUInt32LE(off + 4), 0);
        records.push(Buffer.from(buf.subarray(off + 8, off + 8 + len)));
        off += 8 + Math.ceil(len / 8) * 8;
      }
      assert.equal(off, buf.length);
    },
    { batchBytes: 64, pollTimeoutMs: 20, maxPendingBatches: 2 },
  );
  rb.start();
  assert.throws(() => rb.start());

  const N = 25;
  triggerGetcwd(N);
  await waitFor(() => records.length >= N);
  await rb.stop();
  await rb.stop();

  const stats = rb.stats();
  assert.equal(stats.records, records.length);
  assert.equal(stats.batches, batchCalls);
  assert.equal(stats.batches, stats.records);
  assert.equal(stats.bytes, stats.records * (8 + EVENT_SIZE));

  const comm = fs.readFileSync("/proc/self/comm", "utf8").trim();
  records.forEach((r, i) => {
    assert.equal(r.length, EVENT_SIZE);
    assert.equal(r.readUInt32LE(0), process.pid); // tgid
    assert.equal(r.readUInt32LE(4), process.pid); // main thread
    assert.equal(r.readBigUInt64LE(8), BigInt(i + 1));
    assert.equal(r.subarray(16, 32).toString("latin1").replace(/\0+$/, ""), comm);
  });

  // The hash map counted the same calls.
  const countsFd = obj.mapFd("counts");
  const v = native.mapLookup(countsFd, u32(process.pid), 8);
  assert.ok(v);
  assert.equal(Number(v.readBigUInt64LE(0)), records.length);

  link.destroy();
  link.destroy();
  assert.equal(link.fd, -1);
  obj.close();
});

test("map helpers, batch lookup and pinning", () => {
  const obj = open();
  obj.load();
  const fd = obj.mapFd("counts");
  try {
    assert.equal(native.mapLookup(fd, u32(1), 8), null);
    assert.equal(native.mapNextKey(fd, null, 4), null);
    assert.deepEqual(native.mapLookupBatch(fd, 4, 8, 16), { keys: Buffer.alloc(0), values: Buffer.alloc(0), count: 0 });

    for (let k = 1; k <= 10; k++) native.mapUpdate(fd, u32(k), u64(k * 100));
    assertErrno(() => native.mapUpdate(fd, u32(1), u64(0), BPF_NOEXIST), "EEXIST", "bpf_map_update_elem");
    assert.equal(native.mapLookup(fd, u32(7), 8)?.readBigUInt64LE(0), 700n);

    const seen = new Set<number>();
    for (let key = native.mapNextKey(fd, null, 4); key; key = native.mapNextKey(fd, key, 4)) seen.add(key.readUInt32LE(0));
    assert.deepEqual([...seen].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

    const all = native.mapLookupBatch(fd, 4, 8, 100);
    assert.equal(all.count, 10);
    assert.equal(all.keys.length, 40);
    assert.equal(all.values.length, 80);
    for (let i = 0; i < all.count; i++) {
      assert.equal(all.values.readBigUInt64LE(i * 8), BigInt(all.keys.readUInt32LE(i * 4) * 100));
    }
    const some = native.mapLookupBatch(fd, 4, 8, 3);
    assert.ok(some.count <= 3 && some.count > 0);

    assert.equal(native.mapDelete(fd, u32(3)), true);
    assert.equal(native.mapDelete(fd, u32(3)), false);
    assert.equal(native.mapLookup(fd, u32(3), 8), null);

    const pin = `${pinPrefix}-counts`;
    native.objPin(fd, pin);
    assertErrno(() => native.objPin(fd, pin), "EEXIST");
    const fd2 = native.objGet(pin);
    assert.notEqual(fd2, fd);
    assert.equal(native.mapLookup(fd2, u32(10), 8)?.readBigUInt64LE(0), 1000n);
    native.closeFd(fd2);
    fs.unlinkSync(pin);
    assertErrno(() => native.objGet(pin), "ENOENT");
    assertErrno(() => native.closeFd(fd2), "EBADF");
    assertErrno(() => native.mapLookup(fd2, u32(1), 8), "EBADF");
  } finally {
    obj.close();
  }
});

test("other attach kinds and link pinning", () => {
  const obj = open();
  obj.load();
  try {
    const raw = obj.attach("on_raw_sys_enter", { kind: "raw_tracepoint", name: "sys_enter" });
    const btf = obj.attach("on_fork", { kind: "tp_btf" });
    const auto = obj.attach("on_fork", { kind: "auto" });
    const libc = fs
      .readFileSync("/proc/self/maps", "utf8")
      .split("\n")
      .map((l) => l.split(/\s+/)[5])
      .find((f) => f && /\/libc\.so\.6$/.test(f));
    assert.ok(libc, "libc not mapped");
    const up = obj.attach("on_uprobe", { kind: "uprobe", binary: libc, func: "getpid", pid: process.pid });
    const uret = obj.attach("on_uprobe", { kind: "uprobe", binary: libc, func: "getpid", retprobe: true });
    for (const l of [raw, btf, auto, up, uret]) assert.ok(l.fd > 0);

    const pin = `${pinPrefix}-link`;
    raw.pin(pin);
    assert.ok(fs.existsSync(pin));
    raw.unpin();
    assert.ok(!fs.existsSync(pin));
    raw.destroy();
    btf.destroy();
    uret.destroy();

    assertErrno(() => obj.attach("on_uprobe", { kind: "uprobe", binary: "/bin/sh", func: "no_such_function_xyz" }), "ENOENT");
    assertErrno(() => obj.attach("allow_egress", { kind: "cgroup", cgroupPath: path.join(tmpDir, "nope") }), "ENOENT");

    const cg2 = fs
      .readFileSync("/proc/mounts", "utf8")
      .split("\n")
      .map((l) => l.split(" "))
      .find((f) => f[2] === "cgroup2")?.[1];
    if (cg2) {
      const dir = path.join(cg2, `tetragon-ts-test-${process.pid}`);
      fs.mkdirSync(dir);
      try {
        const cg = obj.attach("allow_egress", { kind: "cgroup", cgroupPath: dir });
        assert.ok(cg.fd > 0);
        cg.destroy();
      } finally {
        fs.rmdirSync(dir);
      }
    }
    // `auto` and `up` are left for close() to free; destroying them afterwards is a no-op.
    obj.close();
    assert.equal(up.fd, -1);
    up.destroy();
  } finally {
    obj.close();
  }
});

test("errors carry errno, code and libbpf's log", () => {
  const obj = open();
  obj.load();
  try {
    // No kprobes on this kernel; the kernel refuses either way with a real errno.
    const err = assertErrno(() => obj.attach("on_uprobe", { kind: "kprobe", func: "do_nanosleep" }), "ENOENT", /^attach kprobe on_uprobe/);
    assert.ok(err.message.includes("libbpf:"), err.message);
    assertErrno(() => obj.attach("on_getcwd", { kind: "bogus" } as never), "EINVAL");
  } finally {
    obj.close();
  }

  const bad = new native.BpfObject(objPath, { kernelLogLevel: 1 });
  try {
    bad.setProgramAutoload("bad_prog", true);
    const err = assertErrno(() => bad.load(), "EACCES", "bpf_object__load");
    assert.match(err.message, /invalid mem access 'map_value_or_null'/);
    assert.match(err.message, /END PROG LOAD LOG/);
  } finally {
    bad.close();
  }

  assertErrno(() => native.mapLookup(987654, u32(1), 8), "EBADF", /^bpf_map_lookup_elem fd 987654: Bad file descriptor$/);
  // libbpf 1.1 reports EBADFD here; newer versions EBADF.
  assert.throws(() => new native.RingBuffer(987654, () => {}), (e: Error & { code?: string }) => /^EBADFD?$/.test(e.code ?? ""));
});

test("a stopped ring buffer does not keep the process alive", () => {
  const obj = open();
  obj.load();
  const pin = `${pinPrefix}-events`;
  native.objPin(obj.mapFd("events"), pin);
  try {
    const addon = path.join(repoRoot, "build/Release/tetragon_native.node");
    const script = `
      const n = require(${JSON.stringify(addon)});
      try { new n.BpfObject("/nonexistent.bpf.o"); } catch (e) { if (e.code !== "ENOENT") throw e; }
      const rb = new n.RingBuffer(n.objGet(${JSON.stringify(pin)}), () => {}, { pollTimeoutMs: 50 });
      rb.start();
      setTimeout(() => rb.stop().then(() => console.log("stopped")), 50);`;
    const r = spawnSync(process.execPath, ["-e", script], { timeout: 5000, encoding: "utf8" });
    assert.equal(r.signal, null, "child was killed: it did not exit on its own");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "stopped");
    assert.equal(r.stderr, "", "libbpf must not print to stderr");
  } finally {
    fs.unlinkSync(pin);
    obj.close();
  }
});
