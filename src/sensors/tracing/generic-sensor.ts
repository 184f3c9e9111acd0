/**
 * The generic hook sensor: bpf/programs/generic.bpf.c loaded once, sharing execve_map and
 * the ring buffer with the process sensor through their pins. Installing a policy writes its
 * hooks into hook_config and its values into the value maps, then attaches the generic
 * programs with a cookie naming each hook; removing it undoes exactly that.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { AttachSpec, NativeAddon, NativeLink, NativeObject } from "../../loader/native";
import {
  ATTACH_F, ATTACH_HOOKS, DENY_ENTRY, GenericStat, HOOK_CONFIG, HOOK_COUNTERS, HOOK_F, LIMITS, MBSET_AGENT_CLI_BIT, REC_INDIRECT,
} from "../../decode/generic-layout";
import type { CompiledPolicy, HookPlan, PolicyFilterSpec } from "../../policy/compiler/plan";
import { POLICY_FILTER_KEY } from "../../decode/generic-layout";
import { PROCESS_ENTRY } from "../../decode/layout";
import { serializeHook, valueMapEntries, type MapEntries } from "../../policy/compiler/serialize";
import { CGROUP_HOOK_CALLS } from "../../policy/compiler/cgroup-hooks";
import type { Logger } from "../../log/logger";
import { KernelBtf, kernelBtf } from "./btf";
import { iovIterLayout } from "./iov-iter-layout";
import type { EnforcementHandle, PolicyEnforcement } from "../../enforce/policy-enforcement";

export interface GenericSensorConfig {
  objectPath: string;
  /** where the shared maps of the generic objects are pinned */
  pinDir: string;
  /** the process sensor's pins */
  execveMapPin: string;
  mbsetMapPin: string;
  eventsPin: string;
  execveMapEntries: number;
  ringBufferBytes: number;
  wakeupBytes: number;
  /** the kernel has bpf_strstr (SubString operators) */
  substring?: boolean;
  /** the kernel has bpf_rdonly_cast: records are copied with plain loads */
  rdonlyCast?: boolean;
  /** attach new kprobe targets of a policy with one kprobe.multi link */
  kprobeMulti?: boolean;
  agentTgid: number;
  /** bpf_override_return works: generic_kprobe_override may call it */
  overrideReturn?: boolean;
  /** executables of the agent's CLI: they carry MBSET_AGENT_CLI_BIT, which enforcement spares */
  cliBinaries?: string[];
  /** --fanotify-fail=closed: fanotify-enforced hooks record every decision */
  fanotifyFailClosed?: boolean;
  btfPath?: string;
  verbose: number;
  /** where cgroup v2 is mounted: the cgroup programs that evaluate connect/bind hooks attach there */
  cgroupRoot?: string;
  /** the tracked cgroup hierarchy (policy filters compare its cgroup ids) */
  cgroupMode?: "v2" | "v1-memory" | string;
}

export interface InstalledHook {
  id: number;
  plan: HookPlan;
  /** keys of the attachments it runs from */
  attachKeys: string[];
}

export interface InstalledPolicy {
  compiled: CompiledPolicy;
  /** followChildren set index → bit of process_entry.mbset */
  followBits: number[];
  hooks: InstalledHook[];
  entries: MapEntries;
  setIds: Map<number, number>;
  attached: boolean;
  monitor: boolean;
  /** what carries out its Override and NotifyEnforcer decisions outside the hooks */
  enforcement?: EnforcementHandle;
  /** its policy filter id (hook_config.policy_filter), 0 = none */
  filterId: number;
}

export interface HookCounters {
  posted: number; signal: number; monitorSignal: number; nopost: number; override: number; monitorOverride: number;
  notifyEnforcer: number; monitorNotifyEnforcer: number; spared: number;
}

const COUNTER_FIELDS: Array<[keyof HookCounters, number]> = [
  ["posted", HOOK_COUNTERS.posted], ["signal", HOOK_COUNTERS.signal], ["monitorSignal", HOOK_COUNTERS.monitor_signal],
  ["nopost", HOOK_COUNTERS.nopost], ["override", HOOK_COUNTERS.override], ["monitorOverride", HOOK_COUNTERS.monitor_override],
  ["notifyEnforcer", HOOK_COUNTERS.notify_enforcer], ["monitorNotifyEnforcer", HOOK_COUNTERS.monitor_notify_enforcer],
  ["spared", HOOK_COUNTERS.spared],
];

export function zeroCounters(): HookCounters {
  return { posted: 0, signal: 0, monitorSignal: 0, nopost: 0, override: 0, monitorOverride: 0, notifyEnforcer: 0, monitorNotifyEnforcer: 0, spared: 0 };
}

const VALUE_MAPS: Array<[Exclude<keyof MapEntries, "substr">, string]> = [
  ["strEq", "str_eq_map"], ["strPrefix", "str_prefix_map"], ["strPostfix", "str_postfix_map"],
  ["num", "num_set_map"], ["addr", "addr_map"],
];

/** Maps every generic object shares through pins (scratch maps stay per object). */
const SHARED_MAPS = [
  "deny_map", "socktrack_map", "hook_config", "attach_hooks", "substr_map", "hook_stats", "generic_stats", "inflight", "ratelimit_map", "policy_filter_map", ...VALUE_MAPS.map(([, n]) => n),
];

const PROGRAM_OF: Record<Exclude<HookPlan["attach"]["kind"], "cgroup"> | "kprobe_multi" | "kprobe_override" | "fmod_ret", { entry: string; exit: string }> = {
  tracepoint: { entry: "generic_tracepoint", exit: "generic_tracepoint_exit" },
  raw_tracepoint: { entry: "generic_raw_tp", exit: "generic_raw_tp" },
  uprobe: { entry: "generic_uprobe", exit: "generic_uretprobe" },
  kprobe: { entry: "generic_kprobe", exit: "generic_kretprobe" },
  kprobe_override: { entry: "generic_kprobe_override", exit: "generic_kretprobe" },
  fmod_ret: { entry: "generic_fmod_ret", exit: "generic_fexit" },
  kprobe_multi: { entry: "generic_kprobe_multi", exit: "generic_kretprobe_multi" },
  fentry: { entry: "generic_fentry", exit: "generic_fexit" },
  lsm: { entry: "generic_lsm", exit: "generic_lsm" },
};

/** Programs that name their target at load: one object per target, its slot a constant of it. */
const PER_TARGET = new Set(["generic_fentry", "generic_fexit", "generic_lsm", "generic_fmod_ret"]);
/** a program with no work: loaded to create the shared maps when no other shared object is needed */
const MAPS_ONLY = "generic_maps";
/** cgroup programs that evaluate connect/bind hooks, and their fixed attach_hooks slots
 * (ATTACH_SLOT_* of bpf/events/generic.h) */
const CGROUP_SLOT: Record<string, number> = {
  generic_cgroup_connect4: LIMITS.MAX_ATTACH - 1, generic_cgroup_connect6: LIMITS.MAX_ATTACH - 2,
  generic_cgroup_bind4: LIMITS.MAX_ATTACH - 3, generic_cgroup_bind6: LIMITS.MAX_ATTACH - 4,
};
const ALL_PROGRAMS = [...Object.values(PROGRAM_OF).flatMap((p) => [p.entry, p.exit]), ...Object.keys(CGROUP_SLOT), MAPS_ONLY];

/** One attachment of a generic program; every hook on the same target shares it. */
interface Attachment {
  key: string;
  slot: number;
  link: NativeLink;
  /** the object loaded for this target alone (fentry, fexit, LSM) */
  obj?: NativeObject;
  /** a kprobe.multi link this attachment shares with the other functions it was made with */
  shared?: SharedLink;
  hookIds: number[];
  recSize: number;
  /** a cgroup program's slot: fixed, never freed */
  fixedSlot?: boolean;
}

/** One kprobe.multi link for several functions: destroyed, and its slots freed, when the last goes. */
interface SharedLink {
  link: NativeLink;
  refs: number;
  slots: number[];
}

const MULTI_PROGRAM: Record<string, string> = { generic_kprobe: "generic_kprobe_multi", generic_kretprobe: "generic_kretprobe_multi" };

export class GenericSensor {
  /** one object per program kind, loaded when a policy first needs it: each costs seconds of verification */
  private objs = new Map<string, NativeObject>();
  /** the object whose map fds the sensor uses: kept open until close() */
  private fdOwner?: NativeObject;
  private fds = new Map<string, number>();
  /** a queue, oldest freed first: a deleted policy's id comes back only after every other free
   *  one, so that its records still in the ring buffer are not taken for a new policy's */
  private freeIds: number[] = [];
  private freeSlots: number[] = [];
  private freeFollowBits: number[] = [];
  private mbsetFd = -1;
  private attachments = new Map<string, Attachment>();
  private nextSetId = 1;
  private nextFilterId = 1;
  /** policy filter id → the filter and the cgroup ids in policy_filter_map under it */
  private readonly filterState = new Map<number, { filter: PolicyFilterSpec; policy: string; cgroups: Set<bigint> }>();
  /** hook id → its plan, for decoding records */
  readonly hooks: Array<HookPlan | undefined> = new Array(LIMITS.MAX_HOOKS);

  /** carries out decisions outside the hooks (cgroup programs, fanotify, enforcers) */
  enforcement?: PolicyEnforcement;

  constructor(private readonly native: NativeAddon, private readonly cfg: GenericSensorConfig, private readonly log: Logger) {
    for (let i = 0; i < LIMITS.MAX_HOOKS; i++) this.freeIds.push(i);
    const fixed = new Set(Object.values(CGROUP_SLOT));
    for (let i = LIMITS.MAX_ATTACH - 1; i >= 0; i--) if (!fixed.has(i)) this.freeSlots.push(i);
    for (let i = MBSET_AGENT_CLI_BIT - 1; i >= 0; i--) this.freeFollowBits.push(i);
    // hooks and enforcement an earlier agent kept (--keep-sensors-on-exit) end when this one starts
    if (fs.existsSync(this.linkPinDir)) {
      fs.rmSync(this.linkPinDir, { recursive: true, force: true });
      this.log.info({ dir: this.linkPinDir }, "removed the links an earlier agent kept");
    }
  }

  get loaded(): boolean {
    return this.fdOwner !== undefined;
  }

  private pinOf(map: string): string {
    return path.join(this.cfg.pinDir, map);
  }

  /**
   * Loads the object holding `prog` (and, with the first one, the shared maps). Programs
   * that name their target at load get an object of their own, not kept in `objs`.
   */
  load(prog: string, target?: { name: string; slot: number }): NativeObject {
    const have = target ? undefined : this.objs.get(prog);
    if (have) return have;
    if (!this.fdOwner) this.removeStalePins();
    const obj = new this.native.BpfObject(this.cfg.objectPath, { btfCustomPath: this.cfg.btfPath, kernelLogLevel: this.cfg.verbose });
    try {
      const u32 = (v: number) => {
        const b = Buffer.alloc(4);
        b.writeUInt32LE(v >>> 0);
        return b;
      };
      obj.setGlobal("agent_tgid", u32(this.cfg.agentTgid));
      obj.setGlobal("wakeup_bytes", u32(this.cfg.wakeupBytes));
      obj.setGlobal("has_strstr", u32(this.cfg.substring ? 1 : 0));
      obj.setGlobal("has_rdonly_cast", u32(this.cfg.rdonlyCast ? 1 : 0));
      obj.setGlobal("has_override_return", u32(this.cfg.overrideReturn ? 1 : 0));
      obj.setGlobal("fanotify_fail_closed", u32(this.cfg.fanotifyFailClosed ? 1 : 0));
      obj.setGlobal("cgroup_mode", u32(this.cfg.cgroupMode === "v1-memory" ? 1 : 0));
      obj.setGlobal("iov_layout", this.iovLayout());
      obj.setMapMaxEntries("execve_map", this.cfg.execveMapEntries);
      obj.setMapMaxEntries("events", this.cfg.ringBufferBytes);
      obj.setMapPinPath("execve_map", this.cfg.execveMapPin);
      obj.setMapPinPath("mbset_map", this.cfg.mbsetMapPin);
      obj.setMapPinPath("events", this.cfg.eventsPin);
      for (const m of SHARED_MAPS) obj.setMapPinPath(m, this.pinOf(m));
      for (const p of ALL_PROGRAMS) obj.setProgramAutoload(p, p === prog);
      if (target) {
        obj.setAttachTarget(prog, target.name);
        obj.setGlobal("fixed_slot", u32(target.slot));
      }
      const t0 = Date.now();
      obj.load();
      this.log.info({ program: prog, target: target?.name, ms: Date.now() - t0 }, "generic sensor program loaded");
    } catch (err) {
      obj.close();
      throw new Error(`load sensor generic program ${prog}${target ? ` for ${target.name}` : ""}: ${(err as Error).message}`, { cause: err });
    }
    if (!target) this.objs.set(prog, obj);
    if (!this.fdOwner) {
      this.fdOwner = obj;
      for (const m of SHARED_MAPS) this.fds.set(m, obj.mapFd(m));
      this.mbsetFd = obj.mapFd("mbset_map");
      if (this.cfg.cliBinaries?.length) this.markFollowed(this.cfg.cliBinaries, MBSET_AGENT_CLI_BIT, true);
    }
    return obj;
  }

  /** Where --keep-sensors-on-exit pins the links, so that hooks and enforcement outlive the agent. */
  get linkPinDir(): string {
    return path.join(this.cfg.pinDir, "links");
  }

  /** What an agent that kept its sensors left: unpinned here, which detaches it. */
  private iovLayoutBytes?: Buffer;

  /** struct iov_iter of the kernel the objects load into (its BTF, or the --btf file). */
  private iovLayout(): Buffer {
    if (!this.iovLayoutBytes) {
      try {
        this.iovLayoutBytes = iovIterLayout(this.cfg.btfPath ? KernelBtf.load(this.cfg.btfPath) : kernelBtf());
      } catch (e) {
        this.log.warn({ error: String(e) }, "no struct iov_iter layout from BTF: iov_iter arguments carry no bytes");
        this.iovLayoutBytes = iovIterLayout(new KernelBtf(""));
      }
    }
    return this.iovLayoutBytes;
  }

  private removeStalePins(): void {
    fs.mkdirSync(this.cfg.pinDir, { recursive: true });
    for (const m of SHARED_MAPS) fs.rmSync(this.pinOf(m), { force: true });
    fs.rmSync(this.linkPinDir, { recursive: true, force: true });
  }

  private fd(name: string): number {
    const fd = this.fds.get(name);
    if (fd === undefined) throw new Error(`generic sensor map ${name} is not loaded`);
    return fd;
  }

  private writeHook(id: number, plan: HookPlan, inst: InstalledPolicy, flags: number): void {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(id);
    const hook = serializeHook(plan, (l) => inst.setIds.get(l)!, flags, (l) => inst.followBits[l], inst.filterId);
    this.native.mapUpdate(this.fd("hook_config"), key, hook, 0);
  }

  private mbsetKey(path: string): Buffer {
    const k = Buffer.alloc(PROCESS_ENTRY.BINARY_LEN);
    Buffer.from(path).copy(k, 0, 0, PROCESS_ENTRY.BINARY_LEN - 1);
    return k;
  }

  /** Sets or clears a followChildren bit on the executables of a set (shared by policies). */
  private markFollowed(paths: string[], bit: number, on: boolean): void {
    for (const p of paths) {
      const k = this.mbsetKey(p);
      const cur = this.native.mapLookup(this.mbsetFd, k, 8);
      let bits = cur ? cur.readBigUInt64LE(0) : 0n;
      bits = on ? bits | (1n << BigInt(bit)) : bits & ~(1n << BigInt(bit));
      if (bits === 0n) this.native.mapDelete(this.mbsetFd, k);
      else {
        const v = Buffer.alloc(8);
        v.writeBigUInt64LE(bits);
        this.native.mapUpdate(this.mbsetFd, k, v, 0);
      }
    }
  }

  private clearHook(id: number): void {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(id);
    this.native.mapUpdate(this.fd("hook_config"), key, Buffer.alloc(HOOK_CONFIG.SIZE), 0);
    const ncpu = this.native.numPossibleCpus();
    this.native.mapUpdate(this.fd("hook_stats"), key, Buffer.alloc(HOOK_COUNTERS.SIZE * ncpu), 0);
  }

  /**
   * The attachments a hook needs: its entry, and its exit when it reports a return value or
   * must clear the deny decision it left. recSize is what the attachment copies as the record.
   */
  private targets(plan: HookPlan): Array<{ key: string; prog: string; spec: AttachSpec; target?: string; recSize: number; fixedSlot?: number }> {
    const a = plan.attach;
    const rec = plan.recSize;
    if (a.kind === "cgroup") {
      const root = this.cfg.cgroupRoot;
      if (!root) throw new Error("cgroup v2 is not mounted: the cgroup programs that evaluate the hook cannot attach");
      return CGROUP_HOOK_CALLS[a.call].programs.map((prog) => ({
        key: `cgroup:${prog}`, prog, spec: { kind: "cgroup", cgroupPath: root } as AttachSpec, recSize: 0, fixedSlot: CGROUP_SLOT[prog],
      }));
    }
    if (a.kind === "tracepoint") {
      const progs = PROGRAM_OF.tracepoint;
      const out = [{ key: `tp:${a.category}/${a.name}`, prog: progs.entry, spec: { kind: "tracepoint", category: a.category, name: a.name } as AttachSpec, recSize: rec }];
      if (a.exit) out.push({ key: `tp:${a.exit.category}/${a.exit.name}`, prog: progs.exit, spec: { kind: "tracepoint", category: a.exit.category, name: a.exit.name }, recSize: rec });
      return out;
    }
    if (a.kind === "raw_tracepoint") {
      return [{ key: `raw:${a.name}`, prog: PROGRAM_OF.raw_tracepoint.entry, spec: { kind: "raw_tracepoint", name: a.name } as AttachSpec, recSize: rec }];
    }
    if (a.kind === "uprobe") {
      const progs = PROGRAM_OF.uprobe;
      const base = `${a.binary}:${a.func ?? ""}:${a.offset ?? 0}:${a.refCtrOffset ?? 0}`;
      const where = { binary: a.binary, func: a.func, offset: a.offset, refCtrOffset: a.refCtrOffset };
      const out = [{ key: `up:${base}`, prog: progs.entry, spec: { kind: "uprobe", ...where } as AttachSpec, recSize: rec }];
      if (a.withReturn) out.push({ key: `uret:${base}`, prog: progs.exit, spec: { kind: "uprobe", ...where, retprobe: true }, recSize: rec });
      return out;
    }
    if (a.kind === "lsm") {
      return [{ key: `lsm:${a.hook}`, prog: PROGRAM_OF.lsm.entry, spec: { kind: "lsm" } as AttachSpec, target: a.hook, recSize: rec }];
    }
    // syscall entry functions: the record is the user registers behind the first argument
    const entryRec = a.indirect !== undefined ? (REC_INDIRECT | (a.indirect << 16) | rec) >>> 0 : rec;
    if (a.kind === "fentry") {
      const progs = a.modifyReturn ? PROGRAM_OF.fmod_ret : PROGRAM_OF.fentry;
      const out = [{ key: `${a.modifyReturn ? "fmod_ret" : "fentry"}:${a.func}`, prog: progs.entry, spec: { kind: "trace" } as AttachSpec, target: a.func, recSize: entryRec }];
      if (a.withReturn) out.push({ key: `fexit:${a.func}`, prog: progs.exit, spec: { kind: "trace" }, target: a.func, recSize: a.indirect !== undefined ? (a.nargs + 1) * 8 : rec });
      return out;
    }
    const progs = a.override ? PROGRAM_OF.kprobe_override : PROGRAM_OF.kprobe;
    const out = [{ key: `${a.override ? "kpo" : "kp"}:${a.func}`, prog: progs.entry, spec: { kind: "kprobe", func: a.func } as AttachSpec, recSize: entryRec }];
    if (a.withReturn) out.push({ key: `kret:${a.func}`, prog: progs.exit, spec: { kind: "kprobe", func: a.func, retprobe: true }, recSize: rec });
    return out;
  }

  private writeAttachment(at: Attachment): void {
    const v = Buffer.alloc(ATTACH_HOOKS.SIZE);
    v.writeUInt32LE(at.hookIds.length, ATTACH_HOOKS.n);
    v.writeUInt32LE(at.recSize, ATTACH_HOOKS.rec_size);
    at.hookIds.forEach((id, i) => v.writeUInt32LE(id, ATTACH_HOOKS.ids + i * 4));
    const bound = at.hookIds.some((id) => (this.hooks[id]?.flags ?? 0) & HOOK_F.DENY_BOUND);
    v.writeUInt32LE(bound ? ATTACH_F.CLEAR_BOUND_DENY : 0, ATTACH_HOOKS.flags);
    const k = Buffer.alloc(4);
    k.writeUInt32LE(at.slot);
    this.native.mapUpdate(this.fd("attach_hooks"), k, v, 0);
  }

  /**
   * Attaches hooks: a target already attached gets the hook added to its list; new kprobe
   * targets share one kprobe.multi link per program where the kernel has them.
   */
  private attachHooks(hooks: InstalledHook[]): void {
    const multi = new Map<string, Attachment[]>();
    for (const h of hooks) {
      for (const t of this.targets(h.plan)) {
        let at = this.attachments.get(t.key);
        if (at) {
          if (at.hookIds.length >= LIMITS.HOOKS_PER_ATTACH) throw new Error(`${h.plan.path}: at most ${LIMITS.HOOKS_PER_ATTACH} hooks on ${t.key}`);
          at.hookIds.push(h.id);
          at.recSize = Math.max(at.recSize, t.recSize);
          if (!multi.has(t.prog) || !multi.get(t.prog)!.includes(at)) this.writeAttachment(at);
          h.attachKeys.push(t.key);
          continue;
        }
        const slot = t.fixedSlot ?? this.freeSlots.pop();
        if (slot === undefined) throw new Error("no free attachment slot");
        const pending: Attachment = {
          key: t.key, slot, link: undefined as unknown as NativeLink, hookIds: [h.id], recSize: t.recSize, fixedSlot: t.fixedSlot !== undefined,
        };
        if (this.cfg.kprobeMulti && t.spec.kind === "kprobe" && MULTI_PROGRAM[t.prog]) {
          this.attachments.set(t.key, pending);
          h.attachKeys.push(t.key);
          const group = multi.get(t.prog) ?? [];
          group.push(pending);
          multi.set(t.prog, group);
          continue;
        }
        try {
          const obj = t.target ? this.load(t.prog, { name: t.target, slot }) : this.load(t.prog);
          if (t.target) pending.obj = obj;
          this.writeAttachment(pending);
          pending.link = obj.attach(t.prog, (t.target || t.fixedSlot !== undefined ? t.spec : { ...t.spec, cookie: slot }) as AttachSpec);
        } catch (err) {
          if (pending.obj !== this.fdOwner) pending.obj?.close();
          if (t.fixedSlot === undefined) this.freeSlots.push(slot);
          else {
            pending.hookIds = [];
            this.writeAttachment(pending);
          }
          throw new Error(`${h.plan.path}: attach ${h.plan.description}: ${(err as Error).message}`, { cause: err });
        }
        at = pending;
        this.attachments.set(t.key, at);
        h.attachKeys.push(t.key);
      }
    }
    for (const [prog, group] of multi) this.attachMulti(prog, group);
  }

  private attachMulti(prog: string, group: Attachment[]): void {
    const multiProg = MULTI_PROGRAM[prog];
    try {
      for (const at of group) this.writeAttachment(at);
      const link = this.load(multiProg).attach(multiProg, {
        kind: "kprobe_multi", syms: group.map((a) => a.key.slice(a.key.indexOf(":") + 1)), cookies: group.map((a) => a.slot),
        retprobe: prog === "generic_kretprobe",
      });
      const shared: SharedLink = { link, refs: group.length, slots: group.map((a) => a.slot) };
      for (const at of group) {
        at.link = link;
        at.shared = shared;
      }
    } catch (err) {
      for (const at of group) {
        this.attachments.delete(at.key);
        at.hookIds = [];
        this.writeAttachment(at);
        this.freeSlots.push(at.slot);
      }
      throw new Error(`attach kprobe.multi ${group.map((a) => a.key).join(", ")}: ${(err as Error).message}`, { cause: err });
    }
  }

  private detachHook(h: InstalledHook): void {
    for (const key of h.attachKeys) {
      const at = this.attachments.get(key);
      if (!at) continue;
      at.hookIds = at.hookIds.filter((id) => id !== h.id);
      if (at.hookIds.length === 0) {
        this.writeAttachment(at);
        this.attachments.delete(key);
        if (at.shared) {
          // the link keeps calling this slot's (now empty) list until its last function goes
          if (--at.shared.refs === 0) {
            at.shared.link.destroy();
            this.freeSlots.push(...at.shared.slots);
          }
          continue;
        }
        at.link.destroy();
        if (at.obj !== this.fdOwner) at.obj?.close();
        if (!at.fixedSlot) this.freeSlots.push(at.slot);
      } else {
        this.writeAttachment(at);
      }
    }
    h.attachKeys = [];
    if (h.plan.flags & HOOK_F.DENY_BOUND) this.purgeDecisions(h.id);
  }

  /**
   * Removes the call-bound deny decisions a hook left. The next entry of its attachment would
   * clear them, but a detached hook has no next entry: a thread whose matched call failed before
   * its cgroup program must not find the decision on a later call once the policy is gone.
   */
  private purgeDecisions(hookId: number): void {
    const fd = this.fd("deny_map");
    const stale: Buffer[] = [];
    for (let k = this.native.mapNextKey(fd, null, 4); k; k = this.native.mapNextKey(fd, k, 4)) {
      const v = this.native.mapLookup(fd, k, DENY_ENTRY.SIZE);
      if (v && v.readUInt32LE(DENY_ENTRY.hook_id) === hookId && v.readBigUInt64LE(DENY_ENTRY.regs) !== 0n) stale.push(k);
    }
    for (const k of stale) this.native.mapDelete(fd, k);
  }

  private writeValues(entries: MapEntries): void {
    const one = Buffer.from([1]);
    for (const [k, map] of VALUE_MAPS) for (const key of entries[k]) this.native.mapUpdate(this.fd(map), key, one, 0);
    for (const [key, value] of entries.substr) this.native.mapUpdate(this.fd("substr_map"), key, value, 0);
  }

  private deleteValues(entries: MapEntries): void {
    for (const [k, map] of VALUE_MAPS) for (const key of entries[k]) this.native.mapDelete(this.fd(map), key);
    for (const [key] of entries.substr) this.native.mapDelete(this.fd("substr_map"), key);
  }

  /** Installs and attaches a compiled policy; on any failure nothing of it stays. */
  install(compiled: CompiledPolicy): InstalledPolicy {
    for (const h of compiled.hooks) {
      for (const t of this.targets(h)) {
        if (t.target) continue;
        this.load(this.cfg.kprobeMulti && t.spec.kind === "kprobe" && MULTI_PROGRAM[t.prog] ? MULTI_PROGRAM[t.prog] : t.prog);
      }
    }
    if (!this.fdOwner) this.load(MAPS_ONLY);
    if (compiled.hooks.length > this.freeIds.length) {
      throw new Error(`not enough hook slots: the policy needs ${compiled.hooks.length}, ${this.freeIds.length} are free`);
    }
    const setIds = new Map<number, number>();
    for (let i = 0; i < compiled.values.next; i++) setIds.set(i, this.nextSetId++);
    const entries = valueMapEntries(compiled.values, (l) => setIds.get(l)!);
    if (compiled.followSets.length > this.freeFollowBits.length) {
      throw new Error(`followChildren: the policy needs ${compiled.followSets.length} binary sets, ${this.freeFollowBits.length} of 64 are free`);
    }
    const inst: InstalledPolicy = {
      compiled, followBits: [], hooks: [], entries, setIds, attached: false, monitor: compiled.mode === "monitor", filterId: 0,
    };
    try {
      if (compiled.filter) {
        // an empty filter lets nothing through: the hooks run for no process until the
        // policy filter sync (src/k8s/policy-filter.ts) adds the cgroups of matching containers
        inst.filterId = this.nextFilterId++;
        this.filterState.set(inst.filterId, { filter: compiled.filter, policy: `${compiled.namespace ? `${compiled.namespace}/` : ""}${compiled.name}`, cgroups: new Set() });
        this.onFiltersChanged?.();
      }
      this.writeValues(entries);
      for (const paths of compiled.followSets) {
        const bit = this.freeFollowBits.pop()!;
        inst.followBits.push(bit);
        this.markFollowed(paths, bit, true);
      }
      for (const plan of compiled.hooks) {
        const h: InstalledHook = { id: this.freeIds.shift()!, plan, attachKeys: [] };
        inst.hooks.push(h);
        this.hooks[h.id] = plan;
        this.writeHook(h.id, plan, inst, plan.flags);
      }
      this.attachHooks(inst.hooks);
      inst.enforcement = this.enforcement?.attach(compiled, this.fd("deny_map"));
      inst.attached = true;
      return inst;
    } catch (err) {
      this.uninstall(inst);
      throw err;
    }
  }

  /** called when a filtered policy is installed (the policy filter sync recomputes at once) */
  onFiltersChanged?: () => void;

  /** The installed policy filters. */
  policyFilters(): Array<{ id: number; policy: string; filter: PolicyFilterSpec; cgroups: ReadonlySet<bigint> }> {
    return [...this.filterState].map(([id, f]) => ({ id, policy: f.policy, filter: f.filter, cgroups: f.cgroups }));
  }

  /** Makes policy_filter_map hold exactly `ids` (cgroup ids of the tracked hierarchy) under a filter. */
  setFilterCgroups(filterId: number, ids: ReadonlySet<bigint>): void {
    const st = this.filterState.get(filterId);
    if (!st || !this.fdOwner) return;
    const fd = this.fd("policy_filter_map");
    const key = (cg: bigint) => {
      const k = Buffer.alloc(POLICY_FILTER_KEY.SIZE);
      k.writeUInt32LE(filterId, POLICY_FILTER_KEY.filter_id);
      k.writeBigUInt64LE(cg, POLICY_FILTER_KEY.cgroup_id);
      return k;
    };
    for (const cg of ids) {
      if (st.cgroups.has(cg)) continue;
      this.native.mapUpdate(fd, key(cg), Buffer.from([1]), 0);
      st.cgroups.add(cg);
    }
    for (const cg of [...st.cgroups]) {
      if (ids.has(cg)) continue;
      try {
        this.native.mapDelete(fd, key(cg));
      } catch { /* already gone */ }
      st.cgroups.delete(cg);
    }
  }

  uninstall(inst: InstalledPolicy): void {
    inst.enforcement?.release();
    inst.enforcement = undefined;
    for (const h of inst.hooks) this.detachHook(h);
    for (const h of inst.hooks) {
      try {
        this.clearHook(h.id);
      } catch (err) {
        this.log.warn({ hook: h.id, err: String(err) }, "could not clear a hook slot");
      }
      this.hooks[h.id] = undefined;
      this.freeIds.push(h.id);
    }
    try {
      this.deleteValues(inst.entries);
      inst.followBits.forEach((bit, i) => this.markFollowed(inst.compiled.followSets[i], bit, false));
    } catch (err) {
      this.log.warn({ err: String(err) }, "could not delete a policy's values");
    }
    this.freeFollowBits.push(...inst.followBits);
    inst.followBits = [];
    if (inst.filterId) {
      try {
        this.setFilterCgroups(inst.filterId, new Set());
      } catch (err) {
        this.log.warn({ err: String(err) }, "could not clear a policy filter");
      }
      this.filterState.delete(inst.filterId);
      inst.filterId = 0;
    }
    inst.hooks = [];
    inst.attached = false;
  }

  /** Disabling detaches the programs; the slots and values stay for a later enable. */
  setMonitor(inst: InstalledPolicy, monitor: boolean): void {
    inst.monitor = monitor;
    for (const h of inst.hooks) {
      const flags = monitor ? h.plan.flags | HOOK_F.MONITOR : h.plan.flags & ~HOOK_F.MONITOR;
      this.writeHook(h.id, h.plan, inst, flags);
    }
  }

  counters(inst: InstalledPolicy): HookCounters {
    const out = zeroCounters();
    if (!this.loaded) return out;
    const ncpu = this.native.numPossibleCpus();
    for (const h of inst.hooks) {
      const key = Buffer.alloc(4);
      key.writeUInt32LE(h.id);
      const v = this.native.mapLookup(this.fd("hook_stats"), key, HOOK_COUNTERS.SIZE * ncpu);
      if (!v) continue;
      for (let c = 0; c < ncpu; c++) {
        const o = c * HOOK_COUNTERS.SIZE;
        for (const [name, off] of COUNTER_FIELDS) out[name] += Number(v.readBigUInt64LE(o + off));
      }
    }
    return out;
  }

  readStats(): Record<string, number> {
    const out: Record<string, number> = {};
    if (!this.loaded) return out;
    const ncpu = this.native.numPossibleCpus();
    GenericStat.forEach((name, i) => {
      const k = Buffer.alloc(4);
      k.writeUInt32LE(i);
      const v = this.native.mapLookup(this.fd("generic_stats"), k, 8 * ncpu);
      let sum = 0n;
      if (v) for (let c = 0; c < ncpu; c++) sum += v.readBigUInt64LE(c * 8);
      out[name] = Number(sum);
    });
    return out;
  }

  /** Bytes of kernel memory a policy holds: its hook slots and value-map entries. */
  kernelMemory(inst: InstalledPolicy): number {
    const e = inst.entries;
    return inst.hooks.length * HOOK_CONFIG.SIZE + e.strEq.length * 272 + (e.strPrefix.length + e.strPostfix.length) * 320 + e.num.length * 24 + e.addr.length * 64;
  }

  /**
   * Detaches and frees everything. keepLinks (--keep-sensors-on-exit) pins every link first:
   * the hooks, their maps and the cgroup and enforcer programs stay in the kernel until the
   * next start removes the pins.
   */
  close(keepPins = false, keepLinks = false): void {
    if (keepLinks && this.attachments.size) fs.mkdirSync(this.linkPinDir, { recursive: true });
    this.enforcement?.close(keepLinks ? this.linkPinDir : undefined);
    const destroyed = new Set<NativeLink>();
    let n = 0;
    for (const at of this.attachments.values()) {
      if (!destroyed.has(at.link)) {
        if (keepLinks) at.link.pin(path.join(this.linkPinDir, `hook-${n++}`));
        at.link.destroy();
      }
      destroyed.add(at.link);
      if (at.obj !== this.fdOwner) at.obj?.close();
    }
    this.attachments.clear();
    for (const o of this.objs.values()) o.close();
    this.fdOwner?.close();
    const had = this.fdOwner !== undefined;
    this.fdOwner = undefined;
    this.objs.clear();
    this.fds.clear();
    if (had && !keepPins && !keepLinks) {
      for (const m of SHARED_MAPS) fs.rmSync(this.pinOf(m), { force: true });
      try {
        fs.rmdirSync(this.cfg.pinDir);
      } catch {
        /* not empty */
      }
    }
  }
}
