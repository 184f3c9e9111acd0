/**
 * Turns the process sensor's records (and the /proc walk) into Tetragon events, keeping
 * the process cache: exec and clone add entries, exit releases them.
 */
import { fastCreate } from "../../api/fast-create";
import { GetEventsResponseSchema, type GetEventsResponse } from "../../api/gen/tetragon/events_pb";
import {
  ProcessExecSchema, ProcessExitSchema, ProcessSchema, type Process,
} from "../../api/gen/tetragon/tetragon_pb";
import type { RawClone, RawExec, RawExit } from "../../decode/process";
import { absoluteBinary, formatArguments } from "../../process/args";
import { buildProcess, type BuilderOptions } from "../../process/builder";
import type { CachedProcess, ProcessCache } from "../../process/cache";
import { execId } from "../../process/exec-id";
import { execFlagWords } from "../../process/flags";
import type { ProcEntry } from "../../process/procfs";
import { signalName } from "../../process/signals";
import type { KtimeClock } from "../../process/ktime";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { ExecFlag } from "../../decode/layout";

export interface ProcessEventOptions extends BuilderOptions {
  nodeName: string;
  clusterName: string;
  ancestors: boolean;
  clock: KtimeClock;
}

export class ProcessEvents {
  constructor(
    private readonly cache: ProcessCache,
    private readonly opts: ProcessEventOptions,
    private readonly emit: (ev: GetEventsResponse) => void,
  ) {}

  private parentOf(ppid: number, parentKtime: bigint): CachedProcess | undefined {
    if (parentKtime !== 0n) {
      const p = this.cache.peek(execId(this.opts.nodeName, parentKtime, ppid));
      if (p) return p;
    }
    const p = this.cache.byPidCurrent(ppid);
    if (!p) this.cache.countMiss();
    return p;
  }

  private withRefcnt(e: CachedProcess | undefined): Process | undefined {
    if (!e) return undefined;
    return this.cache.eventProcess(e);
  }

  private ancestorsOf(parent: CachedProcess | undefined): Process[] {
    const out: Process[] = [];
    let cur = parent ? this.cache.peek(parent.process.parentExecId) : undefined;
    for (let i = 0; cur && i < 4096; i++) {
      if ((cur.process.pid ?? 0) === 0) break;
      out.push(this.withRefcnt(cur)!);
      cur = this.cache.peek(cur.process.parentExecId);
    }
    return out;
  }

  private response(ktime: bigint | undefined): GetEventsResponse {
    return fastCreate(GetEventsResponseSchema, {
      nodeName: this.opts.nodeName,
      clusterName: this.opts.clusterName,
      time: ktime === undefined ? undefined : this.opts.clock.timestamp(ktime),
    });
  }

  handleExec(raw: RawExec): void {
    const parent = this.parentOf(raw.ppid, raw.parentKtime);
    let flags = raw.flags;
    if (parent) flags &= ~ExecFlag.MISS_PARENT;
    const cwd = raw.cwd;
    const process = buildProcess(
      {
        execId: execId(this.opts.nodeName, raw.ktime, raw.pid),
        parentExecId: parent ? parent.process.execId : "",
        pid: raw.pid,
        tid: raw.tid,
        ktime: raw.ktime,
        cwd,
        binary: absoluteBinary(raw.filename, cwd),
        arguments: formatArguments(raw.args),
        flags: execFlagWords(flags),
        auid: raw.auid,
        creds: raw.creds,
        ns: raw.ns,
        cgroupName: raw.cgroupName,
      },
      this.opts,
    );
    const prev = this.cache.byPidCurrent(raw.pid);
    const entry: CachedProcess = {
      process, ktime: raw.ktime, capEffective: raw.creds.capEffective, refcnt: 1, deletePending: false, exited: false,
      nspid: raw.nspid,
    };
    this.cache.add(entry);
    this.cache.ref(parent);
    // the clone (or previous exec) of this pid is replaced: it no longer holds its own ref
    if (prev && prev !== entry && !prev.exited) {
      prev.exited = true;
      this.cache.unref(prev);
      this.cache.unref(this.cache.peek(prev.process.parentExecId));
    }
    const ev = this.response(raw.ktime);
    ev.event = {
      case: "processExec",
      value: fastCreate(ProcessExecSchema, {
        process: this.withRefcnt(entry),
        parent: this.withRefcnt(parent),
        ancestors: this.opts.ancestors ? this.ancestorsOf(parent) : [],
      }),
    };
    this.emit(ev);
  }

  handleClone(raw: RawClone): void {
    const parent = this.parentOf(raw.ppid, raw.parentKtime);
    if (!parent) return;
    const process = fastCreate(ProcessSchema, {
      ...parent.process,
      execId: execId(this.opts.nodeName, raw.ktime, raw.pid),
      parentExecId: parent.process.execId,
      pid: raw.pid,
      tid: raw.tid,
      flags: "clone",
      startTime: this.opts.clock.timestamp(raw.ktime),
      refcnt: 0,
    });
    const entry: CachedProcess = {
      process, ktime: raw.ktime, capEffective: parent.capEffective, refcnt: 1, deletePending: false, exited: false,
      // the clone's pid in its namespace is not in the record: its pod comes without container.pid
      podSrc: parent.podSrc, pod: parent.podSrc?.forProcess(undefined, process.binary, process.arguments) ?? parent.pod,
    };
    this.cache.add(entry);
    this.cache.ref(parent);
  }

  handleExit(raw: RawExit): void {
    let entry = raw.procKtime !== 0n ? this.cache.peek(execId(this.opts.nodeName, raw.procKtime, raw.pid)) : undefined;
    if (!entry) entry = this.cache.byPidCurrent(raw.pid);
    if (!entry) {
      this.cache.countMiss();
      return;
    }
    const parent = this.cache.peek(entry.process.parentExecId);
    const signal = raw.exitCode & 0x7f;
    const ev = this.response(raw.ktime);
    ev.event = {
      case: "processExit",
      value: fastCreate(ProcessExitSchema, {
        process: this.withRefcnt(entry),
        parent: this.withRefcnt(parent),
        signal: signal ? signalName(signal) : "",
        status: signal ? 0 : (raw.exitCode >> 8) & 0xff,
        time: this.opts.clock.timestamp(raw.ktime),
        ancestors: this.opts.ancestors ? this.ancestorsOf(parent) : [],
      }),
    };
    if (!entry.exited) {
      entry.exited = true;
      this.cache.unref(entry);
      this.cache.unref(parent);
    }
    this.emit(ev);
  }

  /** A process found in /proc at start: cached, and exported unless it is a kernel thread. */
  handleProcEntry(p: ProcEntry, exportEvent: boolean, time: Timestamp): void {
    const parent = p.pid === 0 ? undefined : this.cache.byPidCurrent(p.ppid);
    const binary = p.kernelThread ? `[${p.comm}]` : p.exe || p.argv[0] || p.comm;
    const flags = ["procFS"];
    if (p.cwd === "/") flags.push("rootcwd");
    const process = buildProcess(
      {
        execId: execId(this.opts.nodeName, p.ktime, p.pid),
        parentExecId: parent ? parent.process.execId : "",
        pid: p.pid,
        tid: p.pid,
        ktime: p.ktime,
        cwd: p.cwd,
        binary,
        arguments: formatArguments(p.argv.slice(1)),
        flags: flags.join(" "),
        auid: p.auid,
        creds: p.creds,
        ns: p.ns,
        cgroupName: p.cgroupPath,
      },
      this.opts,
    );
    const entry: CachedProcess = {
      process, ktime: p.ktime, capEffective: p.creds.capEffective, refcnt: 1, deletePending: false, exited: false,
      nspid: p.nspid,
    };
    this.cache.add(entry);
    this.cache.ref(parent);
    if (!exportEvent) return;
    const ev = this.response(undefined);
    ev.event = {
      case: "processExec",
      value: fastCreate(ProcessExecSchema, {
        process: this.withRefcnt(entry),
        parent: this.withRefcnt(parent),
        ancestors: this.opts.ancestors ? this.ancestorsOf(parent) : [],
      }),
    };
    ev.time = time;
    this.emit(ev);
  }
}
