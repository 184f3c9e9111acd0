/** Pure pieces of the process pipeline: decoding, identity, formatting and the cache. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { ProcessSchema } from "../../src/api/gen/tetragon/tetragon_pb";
import { absoluteBinary, formatArguments } from "../../src/process/args";
import { containerIdFromCgroup, dockerField } from "../../src/process/container";
import { execId } from "../../src/process/exec-id";
import { execFlagWords } from "../../src/process/flags";
import { ProcessCache, type CachedProcess } from "../../src/process/cache";
import { capsFromMask } from "../../src/process/capabilities";
import { KtimeClock, nsToTimestamp } from "../../src/process/ktime";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { decodeExec, decodeExit, splitArgs } from "../../src/decode/process";
import { EXEC, EXIT, ExecFlag, MsgOp } from "../../src/decode/layout";
import { pickCgroupPath } from "../../src/process/procfs";
import { signalName } from "../../src/process/signals";
import { encodeEventJson } from "../../src/encode/json";
import { GetEventsResponseSchema } from "../../src/api/gen/tetragon/events_pb";
import { ProcessExitSchema } from "../../src/api/gen/tetragon/tetragon_pb";
import { detectCgroupMode } from "../../src/sensors/base/cgroup-mode";

test("arguments are quoted as Tetragon quotes them", () => {
  assert.equal(formatArguments(["-c", "exit 3", "x"]), '-c "exit 3" x');
  assert.equal(formatArguments([]), "");
  assert.equal(formatArguments([""]), "");
});

test("binaries are made absolute against the cwd", () => {
  assert.equal(absoluteBinary("/bin/ls", "/tmp"), "/bin/ls");
  assert.equal(absoluteBinary("./run.sh", "/opt/app"), "/opt/app/run.sh");
  assert.equal(absoluteBinary("../bin/x", "/opt/app/"), "/opt/bin/x");
  assert.equal(absoluteBinary("tool", "/"), "/tool");
});

test("exec_id is base64 of node:ktime:pid", () => {
  const id = execId("my-node", 13665822624856n, 68790);
  assert.equal(Buffer.from(id, "base64").toString(), "my-node:13665822624856:68790");
});

test("flags come out in Tetragon's order", () => {
  assert.equal(execFlagWords(ExecFlag.EXECVE | ExecFlag.CLONE | ExecFlag.ROOT_CWD), "execve rootcwd clone");
  assert.equal(execFlagWords(ExecFlag.EXECVE | ExecFlag.TRUNC_ARGS), "execve truncArgs");
  assert.equal(execFlagWords(0, true), "procFS");
});

test("container ids are found in every runtime's cgroup layout", () => {
  const id = "19a02291e106ce6227b684197be232ea57c4e1a5ab2604a12608c325d701c7f4";
  for (const p of [
    `/docker/${id}`,
    `/system.slice/docker-${id}.scope`,
    `/kubepods/burstable/pod1234/${id}`,
    `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice/cri-containerd-${id}.scope`,
    `/machine.slice/libpod-${id}.scope`,
    `crio-${id}.scope`,
    id,
  ]) assert.equal(containerIdFromCgroup(p), id, p);
  assert.equal(containerIdFromCgroup("/user.slice/session-1.scope"), "");
  assert.equal(dockerField(id), "19a02291e106ce6227b684197be232e");
});

test("capability masks map to CAP_* values", () => {
  assert.deepEqual(capsFromMask(0n), []);
  assert.deepEqual(capsFromMask((1n << 21n) | 1n), [0, 21]);
});

test("signal names", () => {
  assert.equal(signalName(9), "SIGKILL");
  assert.equal(signalName(15), "SIGTERM");
});

test("the cgroup path of the tracked hierarchy is picked from /proc/PID/cgroup", () => {
  const text = "12:pids:/docker/abc\n4:memory:/docker/abc\n1:name=systemd:/\n0::/\n";
  assert.equal(pickCgroupPath(text, "v1-memory"), "/docker/abc");
  assert.equal(pickCgroupPath("0::/system.slice/x.scope\n", "v2"), "/system.slice/x.scope");
  assert.equal(detectCgroupMode("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n"), "v2");
  assert.equal(detectCgroupMode("cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n"), "v1-memory");
});

test("exec records decode, argv[0] dropped", () => {
  const filename = "/bin/echo", cwd = "/tmp/x", cg = "docker-1.scope";
  const args = Buffer.from("echo\0hello\0with space\0");
  const buf = Buffer.alloc(EXEC.SIZE + filename.length + cwd.length + cg.length + args.length);
  buf.writeUInt8(MsgOp.EXECVE, 0);
  buf.writeBigUInt64LE(123456789n, 8);
  buf.writeUInt32LE(42, EXEC.pid);
  buf.writeUInt32LE(43, EXEC.tid);
  buf.writeUInt32LE(1, EXEC.ppid);
  buf.writeUInt32LE(ExecFlag.EXECVE, EXEC.flags);
  buf.writeBigUInt64LE(555n, EXEC.parent_ktime);
  buf.writeUInt32LE(1000, EXEC.creds + 16); // euid
  buf.writeUInt32LE(4026531840, EXEC.ns + 20); // net
  buf.writeUInt16LE(filename.length, EXEC.filename_len);
  buf.writeUInt16LE(cwd.length, EXEC.cwd_len);
  buf.writeUInt16LE(cg.length, EXEC.cgroup_name_len);
  buf.writeUInt16LE(args.length, EXEC.args_len);
  let p = EXEC.SIZE;
  p += buf.write(filename, p);
  p += buf.write(cwd, p);
  p += buf.write(cg, p);
  args.copy(buf, p);
  const e = decodeExec(buf, new DataView(buf.buffer, buf.byteOffset, buf.byteLength), 0);
  assert.equal(e.ktime, 123456789n);
  assert.equal(e.pid, 42);
  assert.equal(e.tid, 43);
  assert.equal(e.parentKtime, 555n);
  assert.equal(e.creds.euid, 1000);
  assert.equal(e.ns.net, 4026531840);
  assert.equal(e.filename, filename);
  assert.equal(e.cwd, cwd);
  assert.equal(e.cgroupName, cg);
  assert.deepEqual(e.args, ["hello", "with space"]);
  assert.deepEqual(splitArgs(Buffer.from("only-argv0"), 0, 10), []);
});

test("exit records decode", () => {
  const buf = Buffer.alloc(EXIT.SIZE);
  buf.writeUInt8(MsgOp.EXIT, 0);
  buf.writeUInt32LE(7, EXIT.pid);
  buf.writeBigUInt64LE(99n, EXIT.proc_ktime);
  buf.writeUInt32LE(3 << 8, EXIT.exit_code);
  const e = decodeExit(new DataView(buf.buffer), 0);
  assert.equal(e.pid, 7);
  assert.equal(e.procKtime, 99n);
  assert.equal(e.exitCode >> 8, 3);
});

test("kernel times become wall-clock timestamps", () => {
  const clock = new KtimeClock(1_000_000_000n, 1_700_000_000_000_000_000n);
  const ts = clock.timestamp(2_500_000_001n);
  assert.equal(ts.seconds, 1_700_000_001n);
  assert.equal(ts.nanos, 500_000_001);
});

function entry(id: string, pid: number): CachedProcess {
  return { process: create(ProcessSchema, { execId: id, pid }), ktime: 0n, capEffective: 0n, refcnt: 1, deletePending: false, exited: false };
}

test("the cache is bounded and collects unreferenced entries a pass later", () => {
  const c = new ProcessCache(2);
  const a = entry("a", 1), b = entry("b", 2), d = entry("d", 3);
  c.add(a);
  c.add(b);
  c.add(d);
  assert.equal(c.size, 2);
  assert.equal(c.stats().evictions, 1);
  assert.equal(c.peek("a"), undefined);
  c.unref(b);
  assert.equal(c.gc(), 0, "first pass only marks");
  assert.ok(c.peek("b"));
  assert.equal(c.gc(), 1);
  assert.equal(c.peek("b"), undefined);
  assert.equal(c.byPidCurrent(3), d);
  assert.equal(c.get("missing"), undefined);
  assert.equal(c.stats().misses, 1);
});

test("an event's Process is reused while the process, refcnt, tid and pod stay the same", () => {
  const c = new ProcessCache(10);
  const e = entry("x", 7);
  c.add(e);
  const first = c.eventProcess(e, 7);
  assert.equal(first.refcnt, 1);
  assert.equal(first.tid, 7);
  assert.notEqual(first, e.process, "a copy, never the cached message itself");
  assert.equal(c.eventProcess(e, 7), first);
  const otherTid = c.eventProcess(e, 8);
  assert.notEqual(otherTid, first);
  assert.equal(otherTid.tid, 8);
  assert.equal(c.eventProcess(e, 8), otherTid);
  e.refcnt = 2;
  const ref2 = c.eventProcess(e, 8);
  assert.notEqual(ref2, otherTid);
  assert.equal(ref2.refcnt, 2);
  assert.equal(otherTid.refcnt, 1, "a Process already handed out is not edited");
  e.process = create(ProcessSchema, { execId: "x", pid: 7, binary: "/bin/changed" });
  const changed = c.eventProcess(e, 8);
  assert.equal(changed.binary, "/bin/changed");
  assert.equal(ref2.binary, "");
  // without a tid: the cached message's own tid
  const noTid = c.eventProcess(e);
  assert.equal(noTid.tid, e.process.tid);
  assert.equal(c.eventProcess(e), noTid);
});

test("exit events encode status and signal as Tetragon does", () => {
  const ev = create(GetEventsResponseSchema, {
    nodeName: "n",
    time: { seconds: 1700000000n, nanos: 5 } as never,
    event: { case: "processExit", value: create(ProcessExitSchema, { process: create(ProcessSchema, { pid: 5, uid: 0, binary: "/bin/sh" }), signal: "SIGKILL" }) },
  });
  const json = JSON.parse(encodeEventJson(ev));
  assert.deepEqual(json.process_exit.process, { pid: 5, uid: 0, binary: "/bin/sh" });
  assert.equal(json.process_exit.signal, "SIGKILL");
  assert.equal(json.process_exit.status, undefined);
  assert.equal(json.time, "2023-11-14T22:13:20.000000005Z");
});

test("timestamps from kernel times are the messages create() makes, and exec ids repeat exactly", () => {
  for (const ns of [0n, 1n, 1_769_796_920_123_456_789n, 999_999_999n]) {
    assert.deepStrictEqual(nsToTimestamp(ns), create(TimestampSchema, { seconds: ns / 1_000_000_000n, nanos: Number(ns % 1_000_000_000n) }));
  }
  const a = execId("n", 5n, 1), b = execId("n", 5n, 2), c = execId("m", 5n, 1);
  assert.deepEqual([execId("n", 5n, 1), b, c].map((x) => Buffer.from(x, "base64").toString()), ["n:5:1", "n:5:2", "m:5:1"]);
  assert.equal(execId("n", 5n, 1), a);
});
