/**
 * The tracing policies of a running agent: add (parse, compile, install: all or nothing),
 * delete, enable/disable, set-mode and list, for every domain (grpc, static, k8s).
 */
import { parse as parseYaml } from "yaml";
import { parsePolicy } from "./parse";
import { compilePolicy, type CompileEnv } from "./compiler/hooks";
import { zeroCounters, type GenericSensor, type InstalledPolicy, type HookCounters } from "../sensors/tracing/generic-sensor";
import type { TracingPolicy } from "./types";
import type { CompiledPolicy } from "./compiler/plan";
import type { Logger } from "../log/logger";

export type PolicyState = "enabled" | "disabled" | "load_error" | "error";
export type PolicyMode = "enforce" | "monitor";

export interface ManagedPolicy {
  id: number;
  name: string;
  namespace: string;
  domain: string;
  /** absent for a policy that failed to load (state load_error) */
  policy?: TracingPolicy;
  state: PolicyState;
  error: string;
  mode: PolicyMode;
  /** what add compiled: enable installs it again after a disable */
  compiled?: CompiledPolicy;
  /** in the kernel while enabled; a disabled policy has nothing there (no hooks, no map entries) */
  installed?: InstalledPolicy;
  /** the kernel counters of the installs before the current one */
  carried: HookCounters;
}

export class PolicyManagerError extends Error {
  constructor(readonly kind: "not_found" | "already_exists" | "invalid", message: string) {
    super(message);
    this.name = "PolicyManagerError";
  }
}

export interface PolicyStatusView {
  id: number;
  name: string;
  namespace: string;
  domain: string;
  state: PolicyState;
  error: string;
  mode: PolicyMode;
  sensors: string[];
  hooks: Array<{ section: string; description: string; index: number }>;
  kernelMemoryBytes: number;
  counters: HookCounters;
  /** where its Override and NotifyEnforcer decisions are carried out outside the hooks */
  enforcement: string[];
}

export class PolicyManager {
  private readonly policies = new Map<string, ManagedPolicy>();
  private nextId = 1;

  constructor(private readonly sensor: GenericSensor, private readonly env: CompileEnv, private readonly log: Logger) {}

  private key(namespace: string, name: string): string {
    return `${namespace}/${name}`;
  }

  /**
   * Parses, compiles and installs a policy; throws (and keeps nothing) when any step fails.
   * With `recordFailure` (policies the agent loads itself: files, Kubernetes objects), a policy
   * that fails but has a name is listed in state load_error with the error, as Tetragon lists
   * it, until it is deleted or replaced; nothing of it is in the kernel.
   */
  add(yaml: string, domain: string, source?: string, recordFailure = false): ManagedPolicy {
    try {
      return this.install(yaml, domain, source);
    } catch (err) {
      if (recordFailure && !(err instanceof PolicyManagerError)) this.recordLoadError(yaml, domain, err as Error);
      throw err;
    }
  }

  private recordLoadError(yaml: string, domain: string, err: Error): void {
    let meta: { name?: unknown; namespace?: unknown } | undefined;
    try {
      meta = (parseYaml(yaml) as { metadata?: typeof meta } | null)?.metadata;
    } catch {
      return; /* not YAML: no name to list it under */
    }
    if (typeof meta?.name !== "string" || !meta.name) return;
    const namespace = typeof meta.namespace === "string" ? meta.namespace : "";
    const key = this.key(namespace, meta.name);
    if (this.policies.has(key)) return;
    this.policies.set(key, {
      id: this.nextId++, name: meta.name, namespace, domain, state: "load_error", error: err.message, mode: "enforce", carried: zeroCounters(),
    });
  }

  private install(yaml: string, domain: string, source?: string): ManagedPolicy {
    const policy = parsePolicy(yaml, source);
    const namespace = policy.metadata.namespace ?? "";
    const key = this.key(namespace, policy.metadata.name);
    const prev = this.policies.get(key);
    // a failed load of the same domain is replaced by its next version
    if (prev && prev.state === "load_error" && prev.domain === domain) this.policies.delete(key);
    else if (prev) {
      throw new PolicyManagerError("already_exists", `tracing policy ${policy.metadata.name}${namespace ? ` in namespace ${namespace}` : ""} already exists`);
    }
    const compiled = compilePolicy(policy, this.env);
    const installed = this.sensor.install(compiled);
    const managed: ManagedPolicy = {
      id: this.nextId++, name: policy.metadata.name, namespace, domain, policy, state: "enabled", error: "",
      mode: compiled.mode, compiled, installed, carried: zeroCounters(),
    };
    this.policies.set(key, managed);
    this.log.info({ policy: managed.name, domain, hooks: compiled.hooks.map((h) => h.description) }, "tracing policy added");
    return managed;
  }

  private find(name: string, namespace: string, domain?: string): ManagedPolicy {
    const p = this.policies.get(this.key(namespace, name));
    if (!p || (domain && p.domain !== domain)) {
      throw new PolicyManagerError("not_found", `tracing policy ${name}${namespace ? ` in namespace ${namespace}` : ""} not found`);
    }
    return p;
  }

  delete(name: string, namespace = "", domain?: string): void {
    const p = this.find(name, namespace, domain);
    if (p.installed) this.sensor.uninstall(p.installed);
    p.installed = undefined;
    this.policies.delete(this.key(namespace, name));
    this.log.info({ policy: name, domain: p.domain }, "tracing policy deleted");
  }

  /**
   * Mode and enable/disable. Disabling takes the policy out of the kernel (links, hook slots,
   * value-map entries), keeping its compiled form and counters; enabling installs it again.
   */
  configure(name: string, namespace: string, change: { enable?: boolean; mode?: PolicyMode }, domain?: string): void {
    const p = this.find(name, namespace, domain);
    if (!p.compiled) throw new PolicyManagerError("invalid", `tracing policy ${name} is not loaded`);
    if (change.mode && change.mode !== p.mode) {
      if (p.installed) this.sensor.setMonitor(p.installed, change.mode === "monitor");
      p.mode = change.mode;
    }
    if (change.enable === false && p.installed) {
      addCounters(p.carried, this.sensor.counters(p.installed));
      this.sensor.uninstall(p.installed);
      p.installed = undefined;
      p.state = "disabled";
      p.error = "";
    } else if (change.enable === true && !p.installed) {
      try {
        p.installed = this.sensor.install(p.compiled);
        if ((p.mode === "monitor") !== p.installed.monitor) this.sensor.setMonitor(p.installed, p.mode === "monitor");
        p.state = "enabled";
        p.error = "";
      } catch (err) {
        p.state = "error";
        p.error = String((err as Error).message);
        throw err;
      }
    }
  }

  list(domain?: string): PolicyStatusView[] {
    return [...this.policies.values()]
      .filter((p) => !domain || p.domain === domain)
      .map((p) => ({
        id: p.id, name: p.name, namespace: p.namespace, domain: p.domain, state: p.state, error: p.error, mode: p.mode,
        sensors: ["generic_sensor"],
        hooks: (p.compiled?.hooks ?? []).map((h, i) => ({ section: h.path, description: h.description, index: i })),
        kernelMemoryBytes: p.installed ? this.sensor.kernelMemory(p.installed) : 0,
        counters: addCounters({ ...p.carried }, p.installed ? this.sensor.counters(p.installed) : zeroCounters()),
        enforcement: p.installed?.enforcement?.notes ?? [],
      }));
  }

  domains(): string[] {
    return [...new Set([...this.policies.values()].map((p) => p.domain))].sort();
  }

  /** Removes every policy: on agent stop. */
  clear(): void {
    for (const p of this.policies.values()) if (p.installed) this.sensor.uninstall(p.installed);
    this.policies.clear();
  }
}

/** Adds `b` into `a`, field by field; returns `a`. */
function addCounters(a: HookCounters, b: HookCounters): HookCounters {
  for (const k of Object.keys(a) as Array<keyof HookCounters>) a[k] += b[k];
  return a;
}
