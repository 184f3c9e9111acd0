/**
 * What carries out a policy's deny decisions outside its hooks, attached with the policy and
 * released with it: cgroup programs for network calls, a fanotify guard per hook for opens and
 * executions, and the enforcer programs of spec.enforcers.
 */
import type { NativeAddon } from "../loader/native";
import type { CompiledPolicy } from "../policy/compiler/plan";
import type { Logger } from "../log/logger";
import type { DenyEnforcer } from "./deny-enforcer";
import { FanotifyGuard, planMarks } from "./fanotify-guard";

export interface EnforcementHandle {
  /** one line per mechanism attached, for the policy's status and the log */
  notes: string[];
  guards: FanotifyGuard[];
  release(): void;
}

export interface PolicyEnforcementConfig {
  failClosed: boolean;
  /** a Prefix tree larger than this is watched as a whole mount */
  maxDirs: number;
}

export class PolicyEnforcement {
  private readonly live = new Set<EnforcementHandle>();

  constructor(
    private readonly native: NativeAddon,
    private readonly deny: DenyEnforcer,
    private readonly cfg: PolicyEnforcementConfig,
    private readonly log: Logger,
  ) {}

  /** Attaches everything the policy needs; on failure nothing of it stays attached. */
  attach(policy: CompiledPolicy, denyMapFd: number): EnforcementHandle | undefined {
    const releases: Array<() => void> = [];
    const guards: FanotifyGuard[] = [];
    const notes: string[] = [];
    const undo = () => {
      for (const g of guards) g.close();
      for (const r of releases.reverse()) r();
    };
    try {
      for (const h of policy.hooks) {
        const e = h.enforcement;
        if (!e) continue;
        if (e.mechanism === "cgroup") {
          releases.push(this.deny.acquireCgroup(e.denyKinds));
          notes.push(`${h.path}: Override through cgroup programs on the cgroup v2 root`);
        } else if (e.mechanism === "fanotify" && e.fanotify) {
          const plan = planMarks(e.fanotify.values, { maxDirs: this.cfg.maxDirs });
          const events = { open: e.fanotify.open, exec: e.fanotify.exec };
          const guard = new FanotifyGuard(this.native, {
            denyMapFd, failClosed: this.cfg.failClosed, marks: plan.marks.map((m) => ({ ...m, events })),
          });
          const failures = guard.open();
          guards.push(guard);
          if (failures.length === plan.marks.length) {
            throw new Error(`${h.path}: fanotify could watch none of the paths: ${failures.map((f) => f.message).join("; ")}`);
          }
          notes.push(`${h.path}: Override through fanotify on ${plan.marks.map((m) => `${m.path} (${m.kind})`).join(", ")}`, ...plan.notes.map((n) => `${h.path}: ${n}`));
          for (const f of failures) notes.push(`${h.path}: not watched: ${f.message}`);
        }
      }
      for (const en of policy.enforcers) {
        releases.push(en.mechanism === "cgroup" ? this.deny.acquireCgroup(en.kinds) : this.deny.acquireEnforcer(en.calls, en.mechanism));
        notes.push(`${en.path}: enforcer on ${en.calls.join(", ")} through ${en.mechanism === "cgroup" ? "cgroup programs" : en.mechanism}`);
      }
    } catch (err) {
      undo();
      throw err;
    }
    if (!releases.length && !guards.length) return undefined;
    for (const n of notes) this.log.info({ policy: policy.name, enforcement: n }, "enforcement attached");
    let released = false;
    const handle: EnforcementHandle = {
      notes,
      guards,
      release: () => {
        if (released) return;
        released = true;
        this.live.delete(handle);
        undo();
      },
    };
    this.live.add(handle);
    return handle;
  }

  /** fanotify answers of every live guard, summed (metrics, tests) */
  fanotifyStats(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const h of this.live) {
      for (const g of h.guards) {
        const s = g.stats();
        if (!s) continue;
        for (const [k, v] of Object.entries(s)) if (typeof v === "number") out[k] = (out[k] ?? 0) + v;
      }
    }
    return out;
  }

  /** keepLinksIn: pin the cgroup and enforcer links there (fanotify groups end with the agent). */
  close(keepLinksIn?: string): void {
    if (keepLinksIn) {
      const guards = [...this.live].reduce((n, h) => n + h.guards.length, 0);
      if (guards) this.log.warn({ guards }, "fanotify enforcement ends with the agent: a fanotify group cannot outlive its process");
      this.deny.pinLinks(keepLinksIn);
    }
    for (const h of [...this.live]) h.release();
    this.deny.close();
  }
}
