/**
 * bench/pipeline: the per-event user-space path without the kernel — decode a batch of
 * exec and exit records, update the process cache, build the events and encode them to
 * JSON lines — and prints events per second and microseconds per event for each stage.
 * Usage: node dist/bench/pipeline.js [N]
 */
import { ProcessCache } from "../src/process/cache";
import { KtimeClock } from "../src/process/ktime";
import { ProcessEvents } from "../src/sensors/base/process-events";
import { RecordDispatcher } from "../src/sensors/dispatch";
import { decodeClone, decodeExec, decodeExit } from "../src/decode/process";
import { encodeEventJson } from "../src/encode/json";
import { EXEC, EXIT, ExecFlag, MsgOp } from "../src/decode/layout";
import type { GetEventsResponse } from "../src/api/gen/tetragon/events_pb";

const N = Number(process.argv[2] ?? 50000);

function execRecord(pid: number, ktime: bigint): Buffer {
  const filename = "/usr/bin/true", cwd = "/home/user/project", cg = "session-1.scope";
  const args = Buffer.from("true\0--some-flag\0value with space\0/tmp/some/file\0");
  const len = EXEC.SIZE + filename.length + cwd.length + cg.length + args.length;
  const b = Buffer.alloc(len);
  b.writeUInt8(MsgOp.EXECVE, 0);
  b.writeUInt32LE(len, 4);
  b.writeBigUInt64LE(ktime, 8);
  b.writeUInt32LE(pid, EXEC.pid);
  b.writeUInt32LE(pid, EXEC.tid);
  b.writeUInt32LE(1, EXEC.ppid);
  b.writeUInt32LE(ExecFlag.EXECVE | ExecFlag.CLONE, EXEC.flags);
  b.writeBigUInt64LE(1n, EXEC.parent_ktime);
  b.writeUInt16LE(filename.length, EXEC.filename_len);
  b.writeUInt16LE(cwd.length, EXEC.cwd_len);
  b.writeUInt16LE(cg.length, EXEC.cgroup_name_len);
  b.writeUInt16LE(args.length, EXEC.args_len);
  let p = EXEC.SIZE;
  p += b.write(filename, p);
  p += b.write(cwd, p);
  p += b.write(cg, p);
  args.copy(b, p);
  return b;
}

function exitRecord(pid: number, ktime: bigint): Buffer {
  const b = Buffer.alloc(EXIT.SIZE);
  b.writeUInt8(MsgOp.EXIT, 0);
  b.writeUInt32LE(EXIT.SIZE, 4);
  b.writeBigUInt64LE(ktime + 1000n, 8);
  b.writeUInt32LE(pid, EXIT.pid);
  b.writeUInt32LE(pid, EXIT.tid);
  b.writeBigUInt64LE(ktime, EXIT.proc_ktime);
  return b;
}

function batch(records: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const r of records) {
    const h = Buffer.alloc(8);
    h.writeUInt32LE(r.length, 0);
    const pad = Buffer.alloc((8 - (r.length % 8)) % 8);
    parts.push(h, r, pad);
  }
  return Buffer.concat(parts);
}

function run(label: string, encode: boolean): void {
  const cache = new ProcessCache(65536);
  const clock = new KtimeClock(0n, BigInt(Date.now()) * 1_000_000n);
  let bytes = 0;
  let events = 0;
  const emit = encode
    ? (ev: GetEventsResponse) => { bytes += encodeEventJson(ev).length; events++; }
    : () => { events++; };
  const handler = new ProcessEvents(cache, {
    nodeName: "bench-node", clusterName: "", ancestors: false, clock, enableProcessCred: false, enableProcessNs: false, hostNs: {},
  }, emit);
  // the parent every exec refers to
  handler.handleProcEntry({
    pid: 1, ppid: 0, nspid: 1, ktime: 1n, kernelThread: false, comm: "init", exe: "/sbin/init", argv: ["/sbin/init"], cwd: "/",
    creds: { uid: 0, gid: 0, suid: 0, sgid: 0, euid: 0, egid: 0, fsuid: 0, fsgid: 0, securebits: 0, userNsLevel: 0, capPermitted: 0n, capEffective: 0n, capInheritable: 0n },
    ns: { uts: 0, ipc: 0, mnt: 0, pid: 0, pid_for_children: 0, net: 0, time: 0, time_for_children: 0, cgroup: 0, user: 0 },
    auid: 0, cgroupPath: "/",
  }, false, clock.timestamp(1n));
  const BATCH = 256;
  const batches: Array<[Buffer, number]> = [];
  for (let i = 0; i < N; i += BATCH / 2) {
    const recs: Buffer[] = [];
    for (let j = 0; j < BATCH / 2 && i + j < N; j++) {
      const pid = 1000 + ((i + j) % 60000);
      const kt = BigInt(10_000_000 + (i + j) * 10);
      recs.push(execRecord(pid, kt), exitRecord(pid, kt));
    }
    batches.push([batch(recs), recs.length]);
  }
  const dispatcher = new RecordDispatcher();
  dispatcher.register(MsgOp.EXECVE, (buf, view, off) => handler.handleExec(decodeExec(buf, view, off)));
  dispatcher.register(MsgOp.CLONE, (_b, view, off) => handler.handleClone(decodeClone(view, off)));
  dispatcher.register(MsgOp.EXIT, (_b, view, off) => handler.handleExit(decodeExit(view, off)));
  const t0 = process.hrtime.bigint();
  for (const [b, c] of batches) dispatcher.dispatch(b, c);
  const ns = Number(process.hrtime.bigint() - t0);
  console.log(`${label.padEnd(34)} ${events} events  ${(events / (ns / 1e9)).toFixed(0).padStart(8)} ev/s  ${(ns / 1000 / events).toFixed(2).padStart(6)} us/ev${encode ? `  ${(bytes / events).toFixed(0)} B/line` : ""}`);
}

run("decode + cache + build (warm-up)", false);
run("decode + cache + build", false);
run("decode + cache + build + encode", true);
