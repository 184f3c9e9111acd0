/**
 * Carries out the deny decisions hooks leave in deny_map (bpf/lib/deny.h) with the programs of
 * bpf/programs/enforce.bpf.c: cgroup programs on the cgroup v2 root for network calls, and the
 * enforcer programs of spec.enforcers (NotifyEnforcer). Each attachment is shared and counted:
 * it goes when the last hook that needs it goes. Links are not pinned, so the kernel detaches
 * them when the agent exits, however it exits.
 */
import * as fs from "node:fs";
import type { NativeAddon, NativeLink, NativeObject } from "../loader/native";
import { DENY_K } from "../decode/generic-layout";
import type { Logger } from "../log/logger";

export interface DenyEnforcerConfig {
  objectPath: string;
  /** deny_map's pin, shared with the generic programs */
  denyMapPin: string;
  /** where cgroup v2 is mounted; undefined when it is not */
  cgroupRoot?: string;
  overrideReturn: boolean;
  btfPath?: string;
  verbose: number;
}

/** cgroup programs per deny kind */
const CGROUP_PROGRAMS: Array<{ kind: number; progs: string[] }> = [
  { kind: DENY_K.CONNECT, progs: ["deny_connect4", "deny_connect6"] },
  { kind: DENY_K.BIND, progs: ["deny_bind4", "deny_bind6"] },
  { kind: DENY_K.SENDMSG, progs: ["deny_sendmsg4", "deny_sendmsg6"] },
  { kind: DENY_K.SOCKET, progs: ["deny_sock_create"] },
];
const ALL_PROGRAMS = [...CGROUP_PROGRAMS.flatMap((c) => c.progs), "enforcer_kprobe", "enforcer_fmod_ret"];

export const ENFORCE_STATS = ["connect", "bind", "sendmsg", "socket", "enforcer", "stale"] as const;

interface Shared { link: NativeLink; obj?: NativeObject; refs: number }

export class DenyEnforcer {
  private obj?: NativeObject;
  private shared = new Map<string, Shared>();

  constructor(private readonly native: NativeAddon, private readonly cfg: DenyEnforcerConfig, private readonly log: Logger) {}

  private open(prog?: string, target?: string): NativeObject {
    if (!target && this.obj) return this.obj;
    const obj = new this.native.BpfObject(this.cfg.objectPath, { btfCustomPath: this.cfg.btfPath, kernelLogLevel: this.cfg.verbose });
    try {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(this.cfg.overrideReturn ? 1 : 0);
      obj.setGlobal("has_override_return", b);
      obj.setMapPinPath("deny_map", this.cfg.denyMapPin);
      // one object holds every cgroup program and the kprobe; fmod_ret names its target when it loads
      for (const p of ALL_PROGRAMS) {
        obj.setProgramAutoload(p, target ? p === prog : p !== "enforcer_fmod_ret" && (p !== "enforcer_kprobe" || this.cfg.overrideReturn));
      }
      if (target && prog) obj.setAttachTarget(prog, target);
      obj.load();
    } catch (err) {
      obj.close();
      throw new Error(`load the enforcement programs${target ? ` for ${target}` : ""}: ${(err as Error).message}`, { cause: err });
    }
    if (!target) this.obj = obj;
    return obj;
  }

  private acquireOne(key: string, make: () => Shared): () => void {
    let s = this.shared.get(key);
    if (!s) {
      s = make();
      this.shared.set(key, s);
    }
    s.refs++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const cur = this.shared.get(key);
      if (!cur || --cur.refs > 0) return;
      this.shared.delete(key);
      cur.link.destroy();
      cur.obj?.close();
    };
  }

  /** Attaches the cgroup programs for these deny kinds; returns the release function. */
  acquireCgroup(kinds: number): () => void {
    const root = this.cfg.cgroupRoot;
    if (!root || !fs.existsSync(root)) throw new Error("cgroup v2 is not mounted: the cgroup programs that deny network calls cannot attach");
    const releases: Array<() => void> = [];
    try {
      for (const c of CGROUP_PROGRAMS) {
        if (!(kinds & c.kind)) continue;
        for (const prog of c.progs) {
          releases.push(this.acquireOne(`cgroup:${prog}`, () => ({ link: this.open().attach(prog, { kind: "cgroup", cgroupPath: root }), refs: 0 })));
        }
      }
    } catch (err) {
      releases.forEach((r) => r());
      throw err;
    }
    return () => releases.forEach((r) => r());
  }

  /** Attaches enforcer programs to these syscall entry functions; returns the release function. */
  acquireEnforcer(calls: string[], mechanism: "override_return" | "fmod_ret"): () => void {
    const releases: Array<() => void> = [];
    try {
      for (const fn of calls) {
        if (mechanism === "override_return") {
          releases.push(this.acquireOne(`kprobe:${fn}`, () => ({ link: this.open().attach("enforcer_kprobe", { kind: "kprobe", func: fn }), refs: 0 })));
        } else {
          releases.push(this.acquireOne(`fmod_ret:${fn}`, () => {
            const obj = this.open("enforcer_fmod_ret", fn);
            try {
              return { link: obj.attach("enforcer_fmod_ret", { kind: "trace" }), obj, refs: 0 };
            } catch (err) {
              obj.close();
              throw err;
            }
          }));
        }
      }
    } catch (err) {
      releases.forEach((r) => r());
      throw err;
    }
    return () => releases.forEach((r) => r());
  }

  /** Pins every link (--keep-sensors-on-exit): they stay attached after close(). */
  pinLinks(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    for (const [key, s] of this.shared) s.link.pin(`${dir}/enforce-${key.replace(/[^A-Za-z0-9_]/g, "_")}`);
  }

  /** What is attached now, for logs and tests. */
  attached(): string[] {
    return [...this.shared.keys()];
  }

  stats(): Record<string, number> {
    const out: Record<string, number> = {};
    if (!this.obj) return out;
    const fd = this.obj.mapFd("enforce_stats");
    const ncpu = this.native.numPossibleCpus();
    ENFORCE_STATS.forEach((name, i) => {
      const k = Buffer.alloc(4);
      k.writeUInt32LE(i);
      const v = this.native.mapLookup(fd, k, 8 * ncpu);
      let sum = 0n;
      if (v) for (let c = 0; c < ncpu; c++) sum += v.readBigUInt64LE(c * 8);
      out[name] = Number(sum);
    });
    return out;
  }

  close(): void {
    for (const s of this.shared.values()) {
      s.link.destroy();
      s.obj?.close();
    }
    this.shared.clear();
    this.obj?.close();
    this.obj = undefined;
  }
}
