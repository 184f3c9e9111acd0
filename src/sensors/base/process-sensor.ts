/**
 * The base process sensor's lifecycle: open bpf/programs/process.bpf.c's object, set its
 * load-time configuration, load, attach the exec/fork/exit programs, consume the ring
 * buffer, and detach and unpin everything on stop.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { NativeAddon, NativeLink, NativeObject, NativeRingBuffer } from "../../loader/native";
import { PROCESS_ENTRY, SensorStat } from "../../decode/layout";
import type { CgroupMode } from "./cgroup-mode";
import type { ProcEntry } from "../../process/procfs";
import type { Logger } from "../../log/logger";

const PROGRAMS = ["tg_exec", "tg_fork", "tg_exit"] as const;

export interface ProcessSensorConfig {
  objectPath: string;
  cgroupMode: CgroupMode;
  execveMapEntries: number;
  /** ring buffer size in bytes (power of two, multiple of the page size) */
  ringBufferBytes: number;
  /** directory under bpffs where shared maps are pinned */
  pinDir: string;
  btfPath?: string;
  verbose: number;
  /** bytes waiting in the ring before the consumer is woken (0 = every record) */
  wakeupBytes: number;
  /** the consumer's poll timeout: the longest a record waits when no wakeup comes */
  pollTimeoutMs: number;
}

export class ProcessSensor {
  private obj?: NativeObject;
  private links: NativeLink[] = [];
  private ring?: NativeRingBuffer;
  private statsFd = -1;
  private execveFd = -1;
  attachMode: "tp_btf" | "raw_tp" = "tp_btf";

  get execveMapPin(): string {
    return path.join(this.cfg.pinDir, "execve_map");
  }

  get eventsPin(): string {
    return path.join(this.cfg.pinDir, "events");
  }

  get mbsetMapPin(): string {
    return path.join(this.cfg.pinDir, "mbset_map");
  }

  constructor(
    private readonly native: NativeAddon,
    private readonly cfg: ProcessSensorConfig,
    private readonly log: Logger,
  ) {}

  private open(mode: "tp_btf" | "raw_tp"): NativeObject {
    const obj = new this.native.BpfObject(this.cfg.objectPath, {
      btfCustomPath: this.cfg.btfPath || undefined,
      kernelLogLevel: this.cfg.verbose,
    });
    try {
      const g = Buffer.alloc(4);
      g.writeUInt32LE(this.cfg.cgroupMode === "v1-memory" ? 1 : 0);
      obj.setGlobal("cgroup_mode", g);
      const w = Buffer.alloc(4);
      w.writeUInt32LE(this.cfg.wakeupBytes);
      obj.setGlobal("wakeup_bytes", w);
      obj.setMapMaxEntries("execve_map", this.cfg.execveMapEntries);
      obj.setMapMaxEntries("events", this.cfg.ringBufferBytes);
      // pinned so that the other sensors' objects share them
      obj.setMapPinPath("execve_map", this.execveMapPin);
      obj.setMapPinPath("events", this.eventsPin);
      obj.setMapPinPath("mbset_map", this.mbsetMapPin);
      for (const p of PROGRAMS) {
        obj.setProgramAutoload(p, mode === "tp_btf");
        obj.setProgramAutoload(`${p}_raw`, mode === "raw_tp");
      }
      obj.load();
      return obj;
    } catch (err) {
      obj.close();
      throw err;
    }
  }

  /** Loads and attaches; on a kernel without BTF-typed tracepoints, falls back to raw ones. */
  load(): void {
    fs.mkdirSync(this.cfg.pinDir, { recursive: true });
    this.removeStalePins();
    try {
      this.obj = this.open("tp_btf");
      this.attachMode = "tp_btf";
    } catch (err) {
      this.log.warn({ err: String(err) }, "tp_btf programs failed to load, falling back to raw tracepoints");
      this.obj = this.open("raw_tp");
      this.attachMode = "raw_tp";
    }
    const suffix = this.attachMode === "raw_tp" ? "_raw" : "";
    try {
      for (const p of PROGRAMS) {
        this.links.push(this.obj.attach(p + suffix, { kind: "auto" }));
      }
    } catch (err) {
      this.stopSync();
      throw new Error("attach process sensor", { cause: err });
    }
    this.statsFd = this.obj.mapFd("stats_map");
    this.execveFd = this.obj.mapFd("execve_map");
  }

  /** Removes pins a crashed agent left (the generic sensor's below too), so maps start empty
   *  and sized as configured. */
  private removeStalePins(dir = this.cfg.pinDir): void {
    for (const name of fs.readdirSync(dir)) {
      const p = path.join(dir, name);
      try {
        if (fs.statSync(p).isDirectory()) {
          this.removeStalePins(p);
          fs.rmdirSync(p);
        } else {
          fs.unlinkSync(p);
          this.log.info({ pin: p }, "removed a stale pin");
        }
      } catch {
        /* raced with another remover */
      }
    }
  }

  startRing(onBatch: (buf: Buffer, count: number) => void): void {
    if (!this.obj) throw new Error("process sensor is not loaded");
    this.ring = new this.native.RingBuffer(this.obj.mapFd("events"), onBatch, { pollTimeoutMs: this.cfg.pollTimeoutMs });
    this.ring.start();
  }

  /** Writes a process found in /proc into execve_map, so kernel hooks know it. */
  writeProcEntry(p: ProcEntry, parentKtime: bigint): void {
    const v = Buffer.alloc(PROCESS_ENTRY.SIZE);
    v.writeBigUInt64LE(p.ktime, PROCESS_ENTRY.ktime);
    v.writeBigUInt64LE(parentKtime, PROCESS_ENTRY.parent_ktime);
    v.writeUInt32LE(p.pid, PROCESS_ENTRY.pid);
    v.writeUInt32LE(p.ppid, PROCESS_ENTRY.ppid);
    v.writeUInt32LE(0x1, PROCESS_ENTRY.flags);
    v.writeUInt32LE(p.auid >>> 0, PROCESS_ENTRY.auid);
    const c = PROCESS_ENTRY.creds;
    const cr = p.creds;
    [cr.uid, cr.gid, cr.suid, cr.sgid, cr.euid, cr.egid, cr.fsuid, cr.fsgid, cr.securebits, cr.userNsLevel]
      .forEach((x, i) => v.writeUInt32LE(x >>> 0, c + i * 4));
    v.writeBigUInt64LE(cr.capPermitted, c + 40);
    v.writeBigUInt64LE(cr.capEffective, c + 48);
    v.writeBigUInt64LE(cr.capInheritable, c + 56);
    Object.values(p.ns).forEach((x, i) => v.writeUInt32LE(x >>> 0, PROCESS_ENTRY.ns + i * 4));
    v.write(p.exe.slice(0, PROCESS_ENTRY.BINARY_LEN - 1), PROCESS_ENTRY.binary);
    const k = Buffer.alloc(4);
    k.writeUInt32LE(p.pid);
    // a process that exec'd since the walk read it already has a fresher entry
    this.native.mapUpdate(this.execveFd, k, v, 1 /* BPF_NOEXIST */);
  }

  execveMapHas(pid: number): boolean {
    const k = Buffer.alloc(4);
    k.writeUInt32LE(pid);
    return this.native.mapLookup(this.execveFd, k, PROCESS_ENTRY.SIZE) !== null;
  }

  /** Sums of the per-CPU drop and miss counters. */
  readStats(): Record<string, number> {
    const out: Record<string, number> = {};
    if (this.statsFd < 0) return out;
    const ncpu = this.native.numPossibleCpus();
    for (let i = 0; i < SensorStat.length; i++) {
      const k = Buffer.alloc(4);
      k.writeUInt32LE(i);
      const v = this.native.mapLookup(this.statsFd, k, 8 * ncpu);
      let sum = 0n;
      if (v) for (let c = 0; c < ncpu; c++) sum += v.readBigUInt64LE(c * 8);
      out[SensorStat[i]] = Number(sum);
    }
    return out;
  }

  ringStats(): { records: number; batches: number; bytes: number } {
    return this.ring ? this.ring.stats() : { records: 0, batches: 0, bytes: 0 };
  }

  async stop(keepPins = false): Promise<void> {
    if (this.ring) {
      await this.ring.stop();
      this.ring = undefined;
    }
    this.stopSync(keepPins);
  }

  private stopSync(keepPins = false): void {
    for (const l of this.links) l.destroy();
    this.links = [];
    if (this.obj) {
      this.obj.close();
      this.obj = undefined;
    }
    if (!keepPins) {
      try {
        fs.rmSync(this.execveMapPin, { force: true });
        fs.rmSync(this.eventsPin, { force: true });
        fs.rmSync(this.mbsetMapPin, { force: true });
        fs.rmdirSync(this.cfg.pinDir);
      } catch {
        /* not empty or already gone */
      }
    }
  }
}
