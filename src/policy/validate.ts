/**
 * Checks that the schema cannot express, run on a document the schema accepted (so types are
 * right and defaults are applied): Tetragon's limits, references between fields (argument
 * indexes, lists, macros, enforcers), operators valid for the argument type and operands that
 * parse. Also applies Tetragon's silent adjustments (message truncated to 256 bytes).
 *
 * Every problem is reported with the path of the field where it is written.
 */
import type {
  ActionSelector,
  ArgSelector,
  ArgType,
  BinarySelector,
  CapabilitiesSelector,
  KProbeArg,
  KProbeSelector,
  KProbeSpec,
  LabelSelector,
  NamespaceChangesSelector,
  NamespaceSelector,
  ParseOptions,
  PIDSelector,
  PolicyIssue,
  TracingPolicy,
  TracingPolicySpec,
} from "./types";
import { NAMESPACE_TYPES } from "./types";
import {
  ADDRESS_FAMILIES,
  argClass,
  FILE_TYPES,
  IP_PROTOCOLS,
  isIntegerClass,
  parseAddrOrCidr,
  parseCapabilityMask,
  parseCapabilityName,
  parseGoBool,
  parseInteger,
  parsePortRange,
  parseRange,
  parseRateLimit,
  parseSockEnum,
  TCP_STATES,
  utf8Length,
  type ArgClass,
} from "./values";

/** Tetragon's limits (pkg/selectors, pkg/sensors/tracing, bpf/process/types/basic.h). */
export const LIMITS = {
  selectorsPerHook: 5,
  argFiltersPerSelector: 5,
  argFiltersPerSelectorSmallProgs: 1,
  valuesPerNumericFilter: 4,
  actionsPerSelector: 3,
  matchBinariesPerSelector: 1,
  matchNamespacesPerSelector: 10,
  matchNamespacesPerSelectorSmallProgs: 4,
  valuesPerNamespaceFilter: 4,
  matchNamespaceChangesPerSelector: 1,
  tagsPerHook: 16,
  messageBytes: 256,
  argsPerHook: 5,
  binaryPathBytes: 255,
  prefixBytes: 256,
  postfixBytes: 127,
  stringEqualBytes: 4096,
  substringValues: 100,
  substringBytes: 99,
  resolveDepth: 10,
  signalMax: 64,
} as const;

type HookKind = "kprobe" | "fentry" | "tracepoint" | "uprobe" | "lsmhook" | "usdt";

interface HookCtx {
  kind: HookKind;
  path: string;
  args: KProbeArg[];
  data: KProbeArg[];
  hasReturn: boolean;
  returnArg?: KProbeArg;
}

interface Src<T> {
  item: T;
  path: string;
}

const NO_VALUE_OPS = new Set(["SPortPriv", "NotSPortPriv", "DPortPriv", "NotDPortPriv", "CapabilitiesGained"]);
const SOCKADDR_OPS = new Set(["SAddr", "NotSAddr", "SPort", "NotSPort", "SPortPriv", "NotSPortPriv", "Family"]);
const ADDR_OPS = new Set(["SAddr", "NotSAddr", "DAddr", "NotDAddr"]);
const PORT_OPS = new Set(["SPort", "NotSPort", "DPort", "NotDPort"]);
const PRIV_OPS = new Set(["SPortPriv", "NotSPortPriv", "DPortPriv", "NotDPortPriv"]);
const SOCKET_OPS = new Set([...ADDR_OPS, ...PORT_OPS, ...PRIV_OPS, "Protocol", "Family", "State"]);

const OPTION_VALUES: Record<string, (v: string) => void> = {
  "disable-kprobe-multi": (v) => void parseGoBool(v),
  "disable-uprobe-multi": (v) => void parseGoBool(v),
  "override-method": (v) => {
    if (v !== "override-return" && v !== "fmod-ret") throw new Error(`'${v}' is not override-return or fmod-ret`);
  },
  "policy-mode": (v) => {
    if (v !== "enforce" && v !== "monitor") throw new Error(`'${v}' is not enforce or monitor`);
  },
  "sleepable-preload-size": (v) => {
    if (!/^[0-9]+$/.test(v) || Number(v) <= 0) throw new Error(`'${v}' is not a positive integer`);
  },
};

/** Cuts a string to at most `max` UTF-8 bytes without splitting a character. */
export function truncateUtf8(s: string, max: number): string {
  if (utf8Length(s) <= max) return s;
  let out = "";
  let n = 0;
  for (const ch of s) {
    const l = utf8Length(ch);
    if (n + l > max) break;
    out += ch;
    n += l;
  }
  return out;
}

class Checker {
  readonly issues: PolicyIssue[] = [];
  private readonly seen = new Set<string>();
  private readonly spec: TracingPolicySpec;
  private readonly large: boolean;
  private readonly lists: Set<string>;

  constructor(private readonly tp: TracingPolicy, opts: ParseOptions) {
    this.spec = tp.spec;
    this.large = opts.largePrograms ?? true;
    this.lists = new Set((tp.spec.lists ?? []).map((l) => l.name));
  }

  add(path: string, reason: string): void {
    const key = `${path}\u0000${reason}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.issues.push({ path, reason });
  }

  private guard(path: string, f: () => void): void {
    try {
      f();
    } catch (e) {
      this.add(path, (e as Error).message);
    }
  }

  run(): PolicyIssue[] {
    const spec = this.spec;
    this.checkSpecLevel();
    this.checkDuplicates();
    (spec.kprobes ?? []).forEach((k, i) => this.checkKprobe(k, `spec.kprobes[${i}]`, "kprobe"));
    (spec.fentries ?? []).forEach((k, i) => this.checkKprobe(k, `spec.fentries[${i}]`, "fentry"));
    (spec.tracepoints ?? []).forEach((t, i) => {
      const path = `spec.tracepoints[${i}]`;
      this.nonEmpty(t.subsystem, `${path}.subsystem`, /^[A-Za-z0-9_.-]+$/, "a tracepoint group name");
      this.nonEmpty(t.event, `${path}.event`, /^[A-Za-z0-9_.-]+$/, "a tracepoint name");
      this.checkHook(t, { kind: "tracepoint", path, args: t.args ?? [], data: [], hasReturn: false });
    });
    (spec.uprobes ?? []).forEach((u, i) => {
      const path = `spec.uprobes[${i}]`;
      this.nonEmpty(u.path, `${path}.path`);
      const set = (["symbols", "offsets", "addrs"] as const).filter((k) => (u[k]?.length ?? 0) > 0);
      if (set.length === 0) this.add(`${path}.symbols`, "one of symbols, offsets or addrs must be set");
      else if (set.length > 1) this.add(`${path}.${set[1]}`, `only one of symbols, offsets or addrs may be set (also ${set[0]})`);
      (u.symbols ?? []).forEach((s, j) => this.nonEmpty(s, `${path}.symbols[${j}]`));
      if (u.refCtrOffsets?.length && set.length === 1 && set[0] !== "addrs") {
        const n = u[set[0]]!.length;
        if (u.refCtrOffsets.length !== n) {
          this.add(`${path}.refCtrOffsets`, `has ${u.refCtrOffsets.length} entries but ${set[0]} has ${n}`);
        }
      }
      if (u.resolvePathInContainer && !spec.podSelector) {
        this.add(`${path}.resolvePathInContainer`, "requires spec.podSelector");
      }
      if (u.return && !u.returnArg) this.add(`${path}.returnArg`, "required when return is true");
      this.checkHook(u, {
        kind: "uprobe", path, args: u.args ?? [], data: u.data ?? [], hasReturn: u.return, returnArg: u.returnArg,
      });
    });
    (spec.lsmhooks ?? []).forEach((l, i) => {
      const path = `spec.lsmhooks[${i}]`;
      this.nonEmpty(l.hook, `${path}.hook`, /^[A-Za-z_][A-Za-z0-9_]*$/, "an LSM hook name");
      this.checkHook(l, { kind: "lsmhook", path, args: l.args ?? [], data: [], hasReturn: false });
    });
    (spec.usdts ?? []).forEach((u, i) => {
      const path = `spec.usdts[${i}]`;
      this.nonEmpty(u.path, `${path}.path`);
      this.nonEmpty(u.provider, `${path}.provider`);
      this.nonEmpty(u.name, `${path}.name`);
      this.checkHook(u, { kind: "usdt", path, args: u.args ?? [], data: [], hasReturn: false });
    });
    return this.issues;
  }

  private nonEmpty(v: string, path: string, re?: RegExp, what?: string): boolean {
    if (v.trim() === "") {
      this.add(path, "must not be empty");
      return false;
    }
    if (re && !re.test(v)) {
      this.add(path, `'${v}' is not ${what}`);
      return false;
    }
    return true;
  }

  // ---- spec level -------------------------------------------------------------------------

  private checkSpecLevel(): void {
    const spec = this.spec;
    const names = new Map<string, number>();
    (spec.lists ?? []).forEach((l, i) => {
      const path = `spec.lists[${i}]`;
      if (this.nonEmpty(l.name, `${path}.name`)) {
        if (names.has(l.name)) this.add(`${path}.name`, `duplicate list name '${l.name}' (also spec.lists[${names.get(l.name)}])`);
        else names.set(l.name, i);
      }
      if (l.type === "generated_ftrace" && !l.pattern) this.add(`${path}.pattern`, "required for generated_ftrace lists");
      if (l.pattern !== undefined) {
        this.guard(`${path}.pattern`, () => {
          try {
            new RegExp(l.pattern!);
          } catch {
            throw new Error(`'${l.pattern}' is not a valid regular expression`);
          }
        });
      }
      if ((l.type === "syscalls" || l.type === undefined) && !(l.values?.length)) {
        this.add(`${path}.values`, "a list needs at least one value");
      }
      (l.values ?? []).forEach((v, j) => {
        if (l.type === "syscalls" && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) {
          this.add(`${path}.values[${j}]`, `'${v}' is not a syscall name`);
        } else if (v.trim() === "") this.add(`${path}.values[${j}]`, "must not be empty");
      });
    });
    (spec.enforcers ?? []).forEach((e, i) => {
      if (e.calls.length === 0) this.add(`spec.enforcers[${i}].calls`, "at least one call is required");
      e.calls.forEach((c, j) => {
        const p = `spec.enforcers[${i}].calls[${j}]`;
        if (this.nonEmpty(c, p)) this.checkListRef(c, p);
      });
    });
    (spec.options ?? []).forEach((o, i) => {
      const p = `spec.options[${i}]`;
      this.nonEmpty(o.name, `${p}.name`);
      const check = OPTION_VALUES[o.name];
      if (check) this.guard(`${p}.value`, () => check(o.value ?? ""));
    });
    if (spec.hostSelector) {
      if (this.tp.kind === "TracingPolicyNamespaced") {
        this.add("spec.hostSelector", "must be null in a TracingPolicyNamespaced");
      } else if (spec.hostSelector.matchLabels || spec.hostSelector.matchExpressions) {
        this.add("spec.hostSelector", "only null (no host processes) or {} (all host processes) is supported");
      }
    }
    this.checkLabelSelector(spec.podSelector, "spec.podSelector");
    this.checkLabelSelector(spec.nodeSelector, "spec.nodeSelector");
    this.checkLabelSelector(spec.containerSelector, "spec.containerSelector", true);
    for (const [name, m] of Object.entries(spec.selectorsMacros ?? {})) {
      if (m.macros?.length) this.add(`spec.selectorsMacros[${name}].macros`, "selector macros cannot use other macros");
    }
  }

  private checkLabelSelector(sel: LabelSelector | null | undefined, path: string, containerKeys = false): void {
    if (!sel) return;
    for (const k of Object.keys(sel.matchLabels ?? {})) {
      if (containerKeys && k !== "name") this.add(`${path}.matchLabels[${k}]`, "only the 'name' key is supported");
    }
    (sel.matchExpressions ?? []).forEach((e, i) => {
      const p = `${path}.matchExpressions[${i}]`;
      if (containerKeys && e.key !== "name") this.add(`${p}.key`, "only the 'name' key is supported");
      const n = e.values?.length ?? 0;
      if ((e.operator === "In" || e.operator === "NotIn") && n === 0) this.add(`${p}.values`, `required for operator ${e.operator}`);
      if ((e.operator === "Exists" || e.operator === "DoesNotExist") && n > 0) {
        this.add(`${p}.values`, `must be empty for operator ${e.operator}`);
      }
    });
  }

  private checkListRef(value: string, path: string): void {
    if (!value.startsWith("list:")) return;
    const name = value.slice(5);
    if (!this.lists.has(name)) this.add(path, `unknown list '${name}': not defined in spec.lists`);
  }

  private checkDuplicates(): void {
    const dup = <T>(items: T[] | undefined, base: string, field: string, key: (t: T) => string | undefined): void => {
      const first = new Map<string, number>();
      (items ?? []).forEach((t, i) => {
        const k = key(t);
        if (k === undefined) return;
        if (first.has(k)) this.add(`${base}[${i}]${field}`, `duplicate hook: same as ${base}[${first.get(k)}]`);
        else first.set(k, i);
      });
    };
    const s = this.spec;
    dup(s.kprobes, "spec.kprobes", ".call", (k) => `${k.call}\u0000${k.syscall}`);
    dup(s.fentries, "spec.fentries", ".call", (k) => k.call);
    dup(s.tracepoints, "spec.tracepoints", ".event", (t) => `${t.subsystem}/${t.event}\u0000${t.raw}`);
    dup(s.lsmhooks, "spec.lsmhooks", ".hook", (l) => l.hook);
    dup(s.usdts, "spec.usdts", ".name", (u) => `${u.path}\u0000${u.provider}\u0000${u.name}`);
    const seen = new Map<string, string>();
    (s.uprobes ?? []).forEach((u, i) => {
      (u.symbols ?? []).forEach((sym, j) => {
        const k = `${u.path}\u0000${sym}`;
        const p = `spec.uprobes[${i}].symbols[${j}]`;
        if (seen.has(k)) this.add(p, `duplicate hook: ${u.path}:${sym} is also probed by ${seen.get(k)}`);
        else seen.set(k, p);
      });
    });
  }

  // ---- hooks ------------------------------------------------------------------------------

  private checkKprobe(k: KProbeSpec, path: string, kind: "kprobe" | "fentry"): void {
    if (this.nonEmpty(k.call, `${path}.call`)) {
      if (k.call.startsWith("list:")) {
        if (kind === "fentry") this.add(`${path}.call`, "lists are only supported in kprobes");
        else this.checkListRef(k.call, `${path}.call`);
      } else if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(k.call)) {
        this.add(`${path}.call`, `'${k.call}' is not a function name`);
      }
    }
    if (k.return && !k.returnArg) this.add(`${path}.returnArg`, "required when return is true");
    this.checkHook(k, {
      kind, path, args: k.args ?? [], data: k.data ?? [], hasReturn: k.return, returnArg: k.returnArg,
    });
  }

  private checkHook(
    hook: { message?: string; selectors?: KProbeSelector[]; tags?: string[] },
    ctx: HookCtx,
  ): void {
    if (hook.message !== undefined) hook.message = truncateUtf8(hook.message, LIMITS.messageBytes);
    const n = ctx.args.length + ctx.data.length;
    if (n > LIMITS.argsPerHook) {
      this.add(`${ctx.path}.${ctx.args.length > LIMITS.argsPerHook ? "args" : "data"}`,
        `at most ${LIMITS.argsPerHook} arguments (args and data together) per hook, got ${n}`);
    }
    ctx.args.forEach((a, i) => this.checkArg(a, `${ctx.path}.args[${i}]`, false));
    ctx.data.forEach((a, i) => this.checkArg(a, `${ctx.path}.data[${i}]`, true));
    if (ctx.returnArg) this.checkArg(ctx.returnArg, `${ctx.path}.returnArg`, false);
    const sels = hook.selectors ?? [];
    if (sels.length > LIMITS.selectorsPerHook) {
      this.add(`${ctx.path}.selectors`, `at most ${LIMITS.selectorsPerHook} selectors per hook, got ${sels.length}`);
    }
    sels.forEach((s, i) => this.checkSelector(s, `${ctx.path}.selectors[${i}]`, ctx));
  }

  private checkArg(a: KProbeArg, path: string, inData: boolean): void {
    if (a.source !== undefined) {
      if (!inData) this.add(`${path}.source`, "only valid in data entries");
      else if (a.source !== "current_task" && a.source !== "pt_regs") {
        this.add(`${path}.source`, `unsupported value '${a.source}': supported values: current_task, pt_regs`);
      }
    }
    if (a.resolve) {
      const parts = a.resolve.split(".");
      if (parts.some((p) => !/^[A-Za-z_][A-Za-z0-9_]*(\[[0-9]+\])?$/.test(p))) {
        this.add(`${path}.resolve`, `'${a.resolve}' is not a dotted path of struct members`);
      } else if (parts.length > LIMITS.resolveDepth) {
        this.add(`${path}.resolve`, `resolves at most ${LIMITS.resolveDepth} levels, got ${parts.length}`);
      }
    }
    // an `auto` type is known only once the hook's prototype is: the compiler checks that one
    if (a.maxData && a.type !== "char_buf" && a.type !== "auto") {
      this.add(`${path}.maxData`, `maxData applies to char_buf arguments, not ${a.type}`);
    }
  }

  // ---- selectors --------------------------------------------------------------------------

  private gather<T>(sel: KProbeSelector, selPath: string, key: keyof KProbeSelector): Src<T>[] {
    const out: Src<T>[] = [];
    ((sel[key] as T[] | undefined) ?? []).forEach((item, i) => out.push({ item, path: `${selPath}.${key}[${i}]` }));
    for (const m of sel.macros ?? []) {
      const macro = this.spec.selectorsMacros?.[m];
      ((macro?.[key] as T[] | undefined) ?? []).forEach((item, i) =>
        out.push({ item, path: `spec.selectorsMacros[${m}].${key}[${i}]` }));
    }
    return out;
  }

  private count(n: number, max: number, path: string, what: string, withMacros: boolean): void {
    if (n > max) this.add(path, `at most ${max} ${what} per selector${withMacros ? " (macros included)" : ""}, got ${n}`);
  }

  private checkSelector(sel: KProbeSelector, selPath: string, ctx: HookCtx): void {
    (sel.macros ?? []).forEach((m, i) => {
      if (!this.spec.selectorsMacros || !Object.prototype.hasOwnProperty.call(this.spec.selectorsMacros, m)) {
        this.add(`${selPath}.macros[${i}]`, `unknown selector macro '${m}': not defined in spec.selectorsMacros`);
      }
    });
    const wm = (sel.macros?.length ?? 0) > 0;
    const g = <T>(k: keyof KProbeSelector): Src<T>[] => this.gather<T>(sel, selPath, k);
    const matchArgs = g<ArgSelector>("matchArgs");
    const matchData = g<ArgSelector>("matchData");
    const matchReturnArgs = g<ArgSelector>("matchReturnArgs");
    const actions = g<ActionSelector>("matchActions");
    const returnActions = g<ActionSelector>("matchReturnActions");
    const binaries = g<BinarySelector>("matchBinaries");
    const parentBinaries = g<BinarySelector>("matchParentBinaries");
    const pids = g<PIDSelector>("matchPIDs");
    const namespaces = g<NamespaceSelector>("matchNamespaces");
    const nsChanges = g<NamespaceChangesSelector>("matchNamespaceChanges");
    const caps = g<CapabilitiesSelector>("matchCapabilities");
    const capChanges = g<CapabilitiesSelector>("matchCapabilityChanges");

    const maxArgs = this.large ? LIMITS.argFiltersPerSelector : LIMITS.argFiltersPerSelectorSmallProgs;
    if (matchArgs.length + matchData.length > maxArgs) {
      this.add(`${selPath}.${matchArgs.length ? "matchArgs" : "matchData"}`,
        `at most ${maxArgs} matchArgs and matchData filters per selector${wm ? " (macros included)" : ""}, got ${matchArgs.length + matchData.length}`);
    }
    this.count(matchReturnArgs.length, maxArgs, `${selPath}.matchReturnArgs`, "matchReturnArgs filters", wm);
    this.count(actions.length, LIMITS.actionsPerSelector, `${selPath}.matchActions`, "actions", wm);
    this.count(returnActions.length, LIMITS.actionsPerSelector, `${selPath}.matchReturnActions`, "return actions", wm);
    this.count(binaries.length, LIMITS.matchBinariesPerSelector, `${selPath}.matchBinaries`, "matchBinaries", wm);
    this.count(parentBinaries.length, LIMITS.matchBinariesPerSelector, `${selPath}.matchParentBinaries`, "matchParentBinaries", wm);
    const maxNs = this.large ? LIMITS.matchNamespacesPerSelector : LIMITS.matchNamespacesPerSelectorSmallProgs;
    this.count(namespaces.length, maxNs, `${selPath}.matchNamespaces`, "matchNamespaces filters", wm);
    if (!this.large && nsChanges.length > 0) {
      this.add(`${selPath}.matchNamespaceChanges`, "needs large BPF programs (kernel >= 5.3)");
    } else {
      this.count(nsChanges.length, LIMITS.matchNamespaceChangesPerSelector, `${selPath}.matchNamespaceChanges`, "matchNamespaceChanges filter", wm);
    }

    for (const s of matchArgs) this.checkArgFilter(s, ctx.args, "index");
    for (const s of matchData) this.checkArgFilter(s, ctx.data, "position");
    if (matchReturnArgs.length && !ctx.hasReturn) {
      this.add(`${selPath}.matchReturnArgs`, ctx.kind === "kprobe" || ctx.kind === "uprobe" || ctx.kind === "fentry"
        ? "requires return: true" : `not supported on ${ctx.kind}s (no return value)`);
    } else {
      for (const s of matchReturnArgs) this.checkArgFilter(s, ctx.returnArg ? [ctx.returnArg] : [], "index");
    }
    for (const s of actions) this.checkAction(s, ctx);
    if (returnActions.length && !ctx.hasReturn) {
      this.add(`${selPath}.matchReturnActions`, ctx.kind === "kprobe" || ctx.kind === "uprobe" || ctx.kind === "fentry"
        ? "requires return: true" : `not supported on ${ctx.kind}s (no return value)`);
    } else {
      for (const s of returnActions) this.checkAction(s, ctx);
    }
    for (const s of [...binaries, ...parentBinaries]) this.checkBinaries(s);
    for (const { item, path } of pids) {
      if (item.values.length === 0) this.add(`${path}.values`, "at least one value is required");
    }
    for (const { item, path } of namespaces) {
      if (item.values.length === 0) this.add(`${path}.values`, "at least one value is required");
      if (item.values.length > LIMITS.valuesPerNamespaceFilter) {
        this.add(`${path}.values`, `at most ${LIMITS.valuesPerNamespaceFilter} values per matchNamespaces filter, got ${item.values.length}`);
      }
      item.values.forEach((v, i) => {
        if (v === "host_ns") return;
        if (!/^[0-9]+$/.test(v) || BigInt(v) > 0xffffffffn) {
          this.add(`${path}.values[${i}]`, `'${v}' is not a namespace inode number or host_ns`);
        }
      });
    }
    for (const { item, path } of nsChanges) {
      if (item.values.length === 0) this.add(`${path}.values`, "at least one value is required");
      item.values.forEach((v, i) => {
        if (!(NAMESPACE_TYPES as readonly string[]).includes(v)) {
          this.add(`${path}.values[${i}]`, `unknown namespace '${v}': supported values: ${NAMESPACE_TYPES.join(", ")}`);
        }
      });
    }
    for (const { item, path } of [...caps, ...capChanges]) {
      if (item.values.length === 0) this.add(`${path}.values`, "at least one value is required");
      item.values.forEach((v, i) => this.guard(`${path}.values[${i}]`, () => void parseCapabilityName(v)));
    }
  }

  private checkBinaries({ item, path }: Src<BinarySelector>): void {
    if (item.values.length === 0) this.add(`${path}.values`, "at least one value is required");
    const op = item.operator;
    if (item.followChildren && op !== "In" && op !== "NotIn") {
      this.add(`${path}.followChildren`, `only supported with the In and NotIn operators, not ${op}`);
    }
    if (!this.large && op !== "In" && op !== "NotIn") {
      this.add(`${path}.operator`, `${op} needs large BPF programs (kernel >= 5.3)`);
    }
    item.values.forEach((v, i) => {
      const p = `${path}.values[${i}]`;
      const len = utf8Length(v);
      if (v === "") this.add(p, "must not be empty");
      else if ((op === "In" || op === "NotIn") && len > LIMITS.binaryPathBytes) {
        this.add(p, `binary paths longer than ${LIMITS.binaryPathBytes} characters are not supported (got ${len})`);
      } else if ((op === "Prefix" || op === "NotPrefix") && len > LIMITS.prefixBytes) {
        this.add(p, `prefix longer than ${LIMITS.prefixBytes} characters (got ${len})`);
      } else if ((op === "Postfix" || op === "NotPostfix") && len > LIMITS.postfixBytes) {
        this.add(p, `postfix longer than ${LIMITS.postfixBytes} characters (got ${len})`);
      }
    });
  }

  private checkAction({ item: a, path }: Src<ActionSelector>, ctx: HookCtx): void {
    const isPost = a.action === "Post";
    if (a.rateLimit !== undefined) {
      if (!isPost) this.add(`${path}.rateLimit`, `only valid with the Post action, not ${a.action}`);
      else this.guard(`${path}.rateLimit`, () => void parseRateLimit(a.rateLimit!));
    }
    if (a.rateLimitScope !== undefined) {
      if (!isPost) this.add(`${path}.rateLimitScope`, `only valid with the Post action, not ${a.action}`);
      else if (a.rateLimit === undefined) this.add(`${path}.rateLimitScope`, "requires rateLimit");
    }
    for (const f of ["kernelStackTrace", "userStackTrace", "imaHash"] as const) {
      if (a[f] && !isPost) this.add(`${path}.${f}`, `only valid with the Post action, not ${a.action}`);
    }
    const sig = (required: boolean): void => {
      if (a.argSig === undefined) {
        if (required) this.add(`${path}.argSig`, `required for the ${a.action} action`);
      } else if (a.argSig < 1 || a.argSig > LIMITS.signalMax) {
        this.add(`${path}.argSig`, `must be a signal number between 1 and ${LIMITS.signalMax}, got ${a.argSig}`);
      }
    };
    switch (a.action) {
      case "Signal":
        sig(true);
        break;
      case "NotifyEnforcer":
        sig(false);
        if (!this.spec.enforcers?.length) this.add(`${path}.action`, "NotifyEnforcer requires spec.enforcers");
        break;
      case "Override":
        if (ctx.kind === "uprobe") {
          const n = [a.argNewSymbol, a.argNewAddr, a.argNewOffset].filter((x) => x !== undefined).length;
          if (n > 1) this.add(path, "Override takes at most one of argNewSymbol, argNewAddr or argNewOffset");
          if (a.argError === undefined && !a.argRegs?.length && n === 0) {
            this.add(`${path}.argError`, "Override needs argError, argRegs or a new target (argNewSymbol, argNewAddr, argNewOffset)");
          }
        } else if (a.argError === undefined) {
          this.add(`${path}.argError`, "required for the Override action (a negative errno)");
        } else if (a.argError >= 0) {
          this.add(`${path}.argError`, `must be a negative errno, got ${a.argError}`);
        }
        break;
      case "GetUrl":
        if (!a.argUrl) this.add(`${path}.argUrl`, "required for the GetUrl action");
        break;
      case "DnsLookup":
        if (!a.argFqdn) this.add(`${path}.argFqdn`, "required for the DnsLookup action");
        break;
      case "Set":
        if (ctx.kind !== "usdt") this.add(`${path}.action`, "Set is only supported on usdts");
        break;
      default:
        break;
    }
  }

  /** Resolves the type of the filtered argument and checks operator and operands. */
  private checkArgFilter({ item: f, path }: Src<ArgSelector>, declared: KProbeArg[], mode: "index" | "position"): void {
    const op = f.operator;
    let type: ArgType | undefined;
    let type2: ArgType | undefined;
    if (f.args && f.args.length > 0) {
      f.args.forEach((pos, i) => {
        if (pos >= declared.length) {
          this.add(`${path}.args[${i}]`, `position ${pos} is out of range: the hook declares ${declared.length} ${mode === "position" ? "data entries" : "arguments"}`);
        }
      });
      type = declared[f.args[0]]?.type;
      type2 = declared[f.args[1]]?.type;
      if (type === undefined) return;
    } else {
      const index = f.index ?? 0;
      if (mode === "position") {
        type = declared[index]?.type;
        if (type === undefined) {
          this.add(`${path}.index`, `data position ${index} is out of range: the hook declares ${declared.length} data entries`);
          return;
        }
      } else {
        const a = declared.find((d) => d.index === index);
        if (!a) {
          const have = declared.map((d) => d.index).join(", ");
          this.add(`${path}.index`, `no argument with index ${index} is declared${have ? ` (declared indexes: ${have})` : ""}`);
          return;
        }
        type = a.type;
      }
    }
    if (op === "CapabilitiesGained") {
      if (f.args?.length !== 2) {
        this.add(`${path}.args`, "CapabilitiesGained needs args with two positions: the new and the old capabilities");
        return;
      }
      for (const [t, i] of [[type, 0], [type2, 1]] as const) {
        if (t !== undefined && t !== "auto" && argClass(t) !== "capset") {
          this.add(`${path}.args[${i}]`, `CapabilitiesGained needs kernel_cap_t or cap_* arguments, got ${t}`);
        }
      }
    }
    this.checkOperands(op, type, f.values ?? [], path);
  }

  private checkOperands(op: string, type: ArgType, values: string[], path: string): void {
    const cls = argClass(type);
    const vpath = `${path}.values`;
    const bad = (why: string): void => this.add(`${path}.operator`, why);
    if (NO_VALUE_OPS.has(op)) {
      if (values.length) this.add(vpath, `operator ${op} takes no values`);
    } else if (values.length === 0) {
      this.add(vpath, `at least one value is required for operator ${op}`);
      return;
    }
    if (cls === "opaque") return bad(`arguments of type ${type} cannot be filtered`);
    const isSock = cls === "sock" || cls === "sockaddr";
    const each = (f: (v: string) => void): void =>
      values.forEach((v, i) => this.guard(`${vpath}[${i}]`, () => f(v)));
    const maxValues = (n: number, hint = ""): void => {
      if (values.length > n) this.add(vpath, `operator ${op} supports at most ${n} values, got ${values.length}${hint}`);
    };
    const intKind = (): "int32" | "int64" | "uint32" | "uint64" => (isIntegerClass(cls) ? cls : "int64");
    const parseNum = (v: string): void => {
      if (cls === "auto") {
        try {
          parseInteger(v, "int64");
        } catch {
          parseInteger(v, "uint64");
        }
      } else parseInteger(v, intKind());
    };
    const stringLike = cls === "string" || cls === "file" || cls === "netdev" || cls === "sockaddr_un" || cls === "auto";

    if (SOCKET_OPS.has(op)) {
      const okSockaddr = SOCKADDR_OPS.has(op);
      if (cls === "sockaddr_un") {
        if (op !== "Family") return bad(`operator ${op} is not supported for sockaddr_un (only Family and string operators)`);
      } else if (cls === "sockaddr") {
        if (!okSockaddr) return bad(`sockaddr only supports SAddr, NotSAddr, SPort, NotSPort, SPortPriv, NotSPortPriv and Family, not ${op}`);
      } else if (cls !== "sock" && cls !== "auto") {
        return bad(`operator ${op} is only supported for sock, skb, socket and sockaddr arguments, not ${type}`);
      }
      if (ADDR_OPS.has(op)) each((v) => void parseAddrOrCidr(v));
      else if (PORT_OPS.has(op)) each((v) => void parsePortRange(v));
      else if (op === "Protocol") each((v) => void parseSockEnum(v, IP_PROTOCOLS, "protocol"));
      else if (op === "Family") each((v) => void parseSockEnum(v, ADDRESS_FAMILIES, "address family"));
      else if (op === "State") each((v) => void parseSockEnum(v, TCP_STATES, "TCP state"));
      return;
    }

    switch (op) {
      case "Equal":
      case "NotEqual":
        if (isSock) return bad(`operator ${op} is not supported for ${type} arguments (use SAddr, DAddr, SPort, ...)`);
        if (isIntegerClass(cls)) {
          maxValues(LIMITS.valuesPerNumericFilter, ": use InMap or NotInMap for more");
          if (type === "capability") each((v) => {
            try {
              parseInteger(v, "uint32");
            } catch {
              parseCapabilityName(v);
            }
          });
          else each(parseNum);
        } else if (cls === "capset") {
          maxValues(LIMITS.valuesPerNumericFilter, ": use InMap or NotInMap for more");
          each((v) => void parseCapabilityMask(v));
        } else {
          each((v) => {
            const n = utf8Length(v);
            if (n > LIMITS.stringEqualBytes) throw new Error(`string longer than ${LIMITS.stringEqualBytes} bytes (got ${n})`);
          });
        }
        return;
      case "Prefix":
      case "NotPrefix":
      case "Postfix":
      case "NotPostfix": {
        if (!stringLike) return bad(`operator ${op} is only supported for string, char_buf, file, path and fd arguments, not ${type}`);
        const max = op.endsWith("Prefix") ? LIMITS.prefixBytes : LIMITS.postfixBytes;
        const what = op.endsWith("Prefix") ? "prefix" : "postfix";
        each((v) => {
          const n = utf8Length(v);
          if (n > max) throw new Error(`${what} longer than ${max} characters (got ${n})`);
        });
        return;
      }
      case "GreaterThan":
      case "LessThan":
      case "Mask":
        if (!(isIntegerClass(cls) || cls === "auto" || (op === "Mask" && cls === "capset"))) {
          return bad(`operator ${op} is only supported for integer arguments, not ${type}`);
        }
        if ((op === "GreaterThan" || op === "LessThan") && !this.large) {
          return bad(`operator ${op} needs large BPF programs (kernel >= 5.3)`);
        }
        maxValues(LIMITS.valuesPerNumericFilter, ": use InMap or NotInMap for more");
        each(cls === "capset" ? (v) => void parseCapabilityMask(v) : parseNum);
        return;
      case "InRange":
      case "NotInRange":
        if (!(isIntegerClass(cls) || cls === "auto")) return bad(`operator ${op} is only supported for integer arguments, not ${type}`);
        maxValues(LIMITS.valuesPerNumericFilter);
        each((v) => {
          if (cls === "auto") {
            try {
              parseRange(v, "int64");
            } catch {
              parseRange(v, "uint64");
            }
          } else parseRange(v, intKind());
        });
        return;
      case "InMap":
      case "NotInMap":
        if (!(isIntegerClass(cls) || cls === "auto")) return bad(`operator ${op} is only supported for integer arguments, not ${type}`);
        each((v) => {
          if (v.startsWith("list:")) {
            const name = v.slice(5);
            if (!this.lists.has(name)) throw new Error(`unknown list '${name}': not defined in spec.lists`);
          } else if (v.includes(":")) {
            if (cls === "auto") {
              try {
                parseRange(v, "int64");
              } catch {
                parseRange(v, "uint64");
              }
            } else parseRange(v, intKind());
          } else parseNum(v);
        });
        return;
      case "SubString":
      case "SubStringIgnCase":
        if (!(type === "string" || type === "char_buf" || type === "auto")) {
          return bad(`operator ${op} is only supported for string and char_buf arguments, not ${type}`);
        }
        maxValues(LIMITS.substringValues);
        each((v) => {
          const n = utf8Length(v);
          if (n > LIMITS.substringBytes) throw new Error(`substring longer than ${LIMITS.substringBytes} characters (got ${n})`);
          if (n === 0) throw new Error("substring must not be empty");
        });
        return;
      case "FileType":
      case "NotFileType":
        if (!(type === "file" || type === "path" || type === "auto")) {
          return bad(`operator ${op} is only supported for file and path arguments, not ${type}`);
        }
        maxValues(LIMITS.valuesPerNumericFilter);
        each((v) => {
          if (!Object.prototype.hasOwnProperty.call(FILE_TYPES, v)) {
            throw new Error(`unknown file type '${v}': supported values: ${Object.keys(FILE_TYPES).join(", ")}`);
          }
        });
        return;
      case "CapabilitiesGained":
        return;
      case "CelExpr":
        if (values.length !== 1) this.add(vpath, "CelExpr takes exactly one expression");
        return;
      default:
        return;
    }
  }
}

/** Semantic validation of a schema-valid policy; returns the problems (empty when valid). */
export function validatePolicy(tp: TracingPolicy, opts: ParseOptions = {}): PolicyIssue[] {
  return new Checker(tp, opts).run();
}

/** The argument class of a type, re-exported for the selector compiler. */
export type { ArgClass };
