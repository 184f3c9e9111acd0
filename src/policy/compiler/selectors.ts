/**
 * Selectors to the kernel's selector table (struct selector in bpf/events/generic.h).
 * Values that do not fit inline go to value sets that the kernel looks up in maps:
 * strings (equal, prefix, reversed postfix), InMap numbers and address prefixes.
 */
import { GT, LIMITS, MOP, ACT, SEL_F } from "../../decode/generic-layout";
import type { ArgSelector, KProbeSelector, ActionSelector } from "../types";
import { parseAddrOrCidr, parseInteger, parseRange, parseRateLimit, CAPABILITIES, ADDRESS_FAMILIES, IP_PROTOCOLS, TCP_STATES } from "../values";
import type { ArgOutput, MatchArgPlan, SelectorPlan, ValueSets } from "./plan";
import { fail } from "./errors";
import { isIPv4 } from "node:net";

export interface SelectorContext {
  path: string;
  outputs: ArgOutput[];
  /** function argument index → slot */
  slotOfIndex: Map<number, number>;
  /** spec args list position → slot (the `args:` form of matchArgs) */
  slotOfPosition: (pos: number) => number | undefined;
  returnOutput?: { gt: number; signed: boolean };
  values: ValueSets;
  hostNs: (ns: string) => number;
  /** the kernel has bpf_strstr (SubString operators) */
  substring: boolean;
  /** followChildren binary sets of the policy, shared across its hooks */
  followSets: string[][];
  /** slots of the hook's `data` arguments, by position */
  dataSlots?: number[];
  /** executables the safety rule spares (PID 1's, the agent's CLI) unless a selector names them */
  protectedBinaries?: string[];
  /** the policy option that allows enforcement without any filter */
  allowUnfiltered?: boolean;
  /** DENY_K kinds of the policy's enforcers (NotifyEnforcer); undefined when it has none */
  enforcerKinds?: number;
}

/** Policy option that lets a selector with no filter at all kill or deny (every process). */
export const UNFILTERED_OPTION = "allow-unfiltered-enforcement";

const ENFORCING = new Set<number>([ACT.SIGKILL, ACT.SIGNAL, ACT.OVERRIDE, ACT.NOTIFY_ENFORCER]);

const NS_INDEX: Record<string, number> = {
  Uts: 0, Ipc: 1, Mnt: 2, Pid: 3, PidForChildren: 4, Net: 5, Time: 6, TimeForChildren: 7, Cgroup: 8, User: 9,
};

const STRING_GTS: number[] = [GT.STRING, GT.KSTRING, GT.DATA_LOC, GT.FD, GT.CHAR_BUF, GT.CONST_BUF, GT.CHAR_IOVEC, GT.FILE, GT.PATH, GT.BINPRM];

function newSet<T>(sets: Map<number, T[]>, values: ValueSets, items: T[]): number {
  const id = values.next++;
  sets.set(id, items);
  return id;
}

/** Equal/NotEqual: bit n of the 256-bit map (4 words) set when a value is n bytes long. */
function lengthBitmap(vals: string[]): bigint[] {
  const words = [0n, 0n, 0n, 0n];
  for (const v of vals) {
    const n = Buffer.byteLength(v);
    words[n >> 6] |= 1n << BigInt(n & 63);
  }
  return words;
}

/** Prefix/Postfix: no string shorter than the shortest value can match. */
function shortest(vals: string[]): bigint {
  return BigInt(Math.min(...vals.map((v) => Buffer.byteLength(v))));
}

function intKind(out: { gt: number; signed: boolean }): "int32" | "int64" | "uint32" | "uint64" {
  const wide = out.gt === GT.S64 || out.gt === GT.U64 || out.gt === GT.SIZE || out.gt === GT.SYSCALL64 || out.gt === GT.KERNEL_CAP;
  if (wide) return out.signed ? "int64" : "uint64";
  return out.signed ? "int32" : "uint32";
}

function toU64(v: bigint): bigint {
  return BigInt.asUintN(64, v);
}

function compileArgMatch(m: ArgSelector, slot: number, out: { gt: number; signed: boolean }, ctx: SelectorContext, path: string): MatchArgPlan {
  const vals = m.values ?? [];
  const op = m.operator;
  const isString = STRING_GTS.includes(out.gt);
  const plan: MatchArgPlan = { arg: slot, op: 0, vals: [], signed: out.signed, set: -1 };
  const inline = (parse: (s: string, i: number) => bigint[]) => {
    const parsed: bigint[] = [];
    vals.forEach((v, i) => parsed.push(...parse(v, i)));
    if (parsed.length > LIMITS.MAX_VALUES) fail(`${path}.values`, `at most ${LIMITS.MAX_VALUES} values for ${op}: use InMap/NotInMap for more`);
    plan.vals = parsed.map(toU64);
  };
  const parseNum = (s: string, i: number): bigint[] => {
    try {
      return [parseInteger(s, intKind(out))];
    } catch (e) {
      fail(`${path}.values[${i}]`, (e as Error).message);
    }
  };
  if (out.gt === GT.SOCK || out.gt === GT.SOCKET || out.gt === GT.SKB) {
    plan.sock = true;
    const addrSet = (mop: number) => {
      plan.op = mop;
      plan.set = newSet(ctx.values.addr, ctx.values, vals.map((v, i) => addrEntry(v, `${path}.values[${i}]`)));
      return plan;
    };
    const ports = (mop: number) => {
      plan.op = mop;
      inline((s, i) => {
        try { const [lo, hi] = parseRange(s, "uint64", true); if (hi > 65535n || lo !== hi) throw new Error(`'${s}' is not a port`); return [lo]; }
        catch (e) { fail(`${path}.values[${i}]`, (e as Error).message); }
      });
      return plan;
    };
    const named = (mop: number, table: Record<string, number>, what: string) => {
      plan.op = mop;
      inline((s, i) => {
        const n = table[s] ?? table[s.toUpperCase()];
        if (n !== undefined) return [BigInt(n)];
        try { return [parseInteger(s, "uint32")]; } catch { fail(`${path}.values[${i}]`, `unknown ${what} '${s}'`); }
      });
      return plan;
    };
    switch (op) {
      case "SAddr": return addrSet(MOP.SADDR);
      case "NotSAddr": return addrSet(MOP.NOT_SADDR);
      case "DAddr": return addrSet(MOP.DADDR);
      case "NotDAddr": return addrSet(MOP.NOT_DADDR);
      case "SPort": return ports(MOP.SPORT);
      case "NotSPort": return ports(MOP.NOT_SPORT);
      case "DPort": return ports(MOP.DPORT);
      case "NotDPort": return ports(MOP.NOT_DPORT);
      case "SPortPriv": plan.op = MOP.SPORT_PRIV; return plan;
      case "NotSPortPriv": plan.op = MOP.NOT_SPORT_PRIV; return plan;
      case "DPortPriv": plan.op = MOP.DPORT_PRIV; return plan;
      case "NotDPortPriv": plan.op = MOP.NOT_DPORT_PRIV; return plan;
      case "Family": return named(MOP.FAMILY, ADDRESS_FAMILIES, "address family");
      case "Protocol": return named(MOP.PROTOCOL, IP_PROTOCOLS, "protocol");
      case "State": return named(MOP.STATE, TCP_STATES, "TCP state");
      default:
        fail(`${path}.operator`, `operator ${op} is not supported on sock arguments (SAddr, DAddr, SPort, DPort and their Not and Priv forms, Family, Protocol, State)`);
    }
  }
  if (out.gt === GT.SOCKADDR) {
    switch (op) {
      case "SAddr": case "NotSAddr": {
        const entries = vals.map((v, i) => {
          let r;
          try { r = parseAddrOrCidr(v); } catch (e) { fail(`${path}.values[${i}]`, (e as Error).message); }
          const addr = Buffer.alloc(16);
          const ip = v.split("/")[0];
          if (r.family === 4) Buffer.from(ip.split(".").map(Number)).copy(addr);
          else ipv6Bytes(ip).copy(addr);
          return { family: r.family === 4 ? 2 : 10, addr, bits: r.prefixLen };
        });
        plan.op = op === "SAddr" ? MOP.SADDR : MOP.NOT_SADDR;
        plan.set = newSet(ctx.values.addr, ctx.values, entries);
        return plan;
      }
      case "SPort": case "NotSPort":
        plan.op = op === "SPort" ? MOP.SPORT : MOP.NOT_SPORT;
        inline((s, i) => {
          try { const [lo, hi] = parseRange(s, "uint64", true); if (hi > 65535n) throw new Error(`port '${s}' out of range`); if (lo !== hi) throw new Error("port ranges are not supported for sockaddr"); return [lo]; }
          catch (e) { fail(`${path}.values[${i}]`, (e as Error).message); }
        });
        return plan;
      case "SPortPriv": plan.op = MOP.SPORT_PRIV; return plan;
      case "NotSPortPriv": plan.op = MOP.NOT_SPORT_PRIV; return plan;
      case "Family":
        plan.op = MOP.FAMILY;
        inline((s, i) => {
          const f = ADDRESS_FAMILIES[s] ?? ADDRESS_FAMILIES[s.toUpperCase()];
          if (f !== undefined) return [BigInt(f)];
          try { return [parseInteger(s, "uint32")]; } catch { fail(`${path}.values[${i}]`, `unknown address family '${s}'`); }
        });
        return plan;
      default:
        fail(`${path}.operator`, `operator ${op} is not supported on sockaddr (SAddr, NotSAddr, SPort, NotSPort, SPortPriv, NotSPortPriv, Family)`);
    }
  }
  if (isString) {
    const checkLen = (max: number) => vals.forEach((v, i) => {
      if (Buffer.byteLength(v) >= max) fail(`${path}.values[${i}]`, `longer than ${max - 1} bytes`);
    });
    switch (op) {
      case "Equal": case "NotEqual":
        checkLen(LIMITS.STR_KEY_LEN);
        plan.op = op === "Equal" ? MOP.STR_EQ : MOP.STR_NEQ;
        plan.set = newSet(ctx.values.strEq, ctx.values, vals);
        plan.vals = lengthBitmap(vals);
        plan.lens = true;
        return plan;
      case "Prefix": case "NotPrefix":
        checkLen(LIMITS.STR_LPM_LEN + 1);
        plan.op = op === "Prefix" ? MOP.PREFIX : MOP.NOT_PREFIX;
        plan.set = newSet(ctx.values.strPrefix, ctx.values, vals);
        plan.vals = [shortest(vals)];
        plan.lens = true;
        return plan;
      case "Postfix": case "NotPostfix":
        checkLen(LIMITS.STR_LPM_LEN + 1);
        plan.op = op === "Postfix" ? MOP.POSTFIX : MOP.NOT_POSTFIX;
        plan.set = newSet(ctx.values.strPostfix, ctx.values, vals.map((v) => [...Buffer.from(v)].reverse().map((b) => String.fromCharCode(b)).join("")));
        plan.vals = [shortest(vals)];
        plan.lens = true;
        return plan;
      case "SubString": case "SubStringIgnCase": {
        if (!ctx.substring) fail(`${path}.operator`, `${op} needs the bpf_strstr kernel function (Linux 6.17 or later), which this kernel does not have`);
        checkLen(LIMITS.SUBSTR_LEN);
        if (vals.length > LIMITS.MAX_SUBSTR) fail(`${path}.values`, `at most ${LIMITS.MAX_SUBSTR} substrings`);
        vals.forEach((v, i) => { if (v === "") fail(`${path}.values[${i}]`, "an empty substring matches everything"); });
        plan.op = op === "SubString" ? MOP.SUBSTR : MOP.SUBSTR_ICASE;
        plan.vals = [BigInt(vals.length)];
        plan.set = newSet(ctx.values.substr, ctx.values, op === "SubString" ? vals : vals.map((v) => v.toLowerCase()));
        return plan;
      }
      default:
        fail(`${path}.operator`, `operator ${op} is not supported on string arguments here (Equal, NotEqual, Prefix, NotPrefix, Postfix, NotPostfix, SubString, SubStringIgnCase)`);
    }
  }
  switch (op) {
    case "Equal": plan.op = MOP.EQ; inline(parseNum); return plan;
    case "NotEqual": plan.op = MOP.NEQ; inline(parseNum); return plan;
    case "GreaterThan": case "LessThan":
      plan.op = op === "GreaterThan" ? MOP.GT : MOP.LT;
      if (vals.length !== 1) fail(`${path}.values`, `${op} takes exactly one value`);
      inline(parseNum);
      return plan;
    case "Mask": plan.op = MOP.MASK; inline(parseNum); return plan;
    case "InRange": case "NotInRange":
      plan.op = op === "InRange" ? MOP.IN_RANGE : MOP.NOT_IN_RANGE;
      inline((s, i) => {
        try { return parseRange(s, intKind(out)); } catch (e) { fail(`${path}.values[${i}]`, (e as Error).message); }
      });
      return plan;
    case "InMap": case "NotInMap":
      plan.op = op === "InMap" ? MOP.IN_MAP : MOP.NOT_IN_MAP;
      plan.set = newSet(ctx.values.num, ctx.values, vals.flatMap((v, i) => {
        if (v.includes(":")) {
          let r: [bigint, bigint];
          try { r = parseRange(v, intKind(out)); } catch (e) { fail(`${path}.values[${i}]`, (e as Error).message); }
          if (r[1] - r[0] > 4096n) fail(`${path}.values[${i}]`, "InMap ranges span at most 4096 values");
          const all: bigint[] = [];
          for (let x = r[0]; x <= r[1]; x++) all.push(toU64(x));
          return all;
        }
        return parseNum(v, i).map(toU64);
      }));
      return plan;
    default:
      fail(`${path}.operator`, `operator ${op} is not supported on ${isString ? "string" : "integer"} arguments`);
  }
}

function addrEntry(v: string, path: string): { family: number; addr: Buffer; bits: number } {
  let r;
  try { r = parseAddrOrCidr(v); } catch (e) { fail(path, (e as Error).message); }
  const addr = Buffer.alloc(16);
  const ip = v.split("/")[0];
  if (r.family === 4) Buffer.from(ip.split(".").map(Number)).copy(addr);
  else ipv6Bytes(ip).copy(addr);
  return { family: r.family === 4 ? 2 : 10, addr, bits: r.prefixLen };
}

function ipv6Bytes(ip: string): Buffer {
  const [head, tail] = ip.split("::");
  const parse = (s: string) => (s ? s.split(":") : []).flatMap((g) => (isIPv4(g) ? [] : [g]));
  const h = parse(head);
  const t = tail !== undefined ? parse(tail) : [];
  const groups = tail !== undefined ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
  const b = Buffer.alloc(16);
  groups.slice(0, 8).forEach((g, i) => b.writeUInt16BE(parseInt(g, 16) || 0, i * 2));
  return b;
}

function compileActions(actions: ActionSelector[] | undefined, path: string, ctx: SelectorContext, key = "matchActions"): SelectorPlan["actions"] {
  const out: SelectorPlan["actions"] = [];
  (actions ?? []).forEach((a, i) => {
    const p = `${path}.${key}[${i}]`;
    switch (a.action) {
      case "Post": {
        let ms = 0;
        if (a.rateLimit) {
          try { ms = parseRateLimit(a.rateLimit); } catch (e) { fail(`${p}.rateLimit`, (e as Error).message); }
        }
        const scope = a.rateLimitScope === "process" ? 1 : a.rateLimitScope === "global" ? 2 : 0;
        if (a.kernelStackTrace || a.userStackTrace) fail(p, "stack traces are not supported by tetragon-ts");
        if (a.imaHash) fail(`${p}.imaHash`, "IMA hashes need BPF-LSM, which this kernel does not have");
        out.push({ action: ACT.POST, arg: ms, scope });
        break;
      }
      case "NoPost": out.push({ action: ACT.NOPOST, arg: 0, scope: 0 }); break;
      case "Sigkill": out.push({ action: ACT.SIGKILL, arg: 9, scope: 0 }); break;
      case "Signal":
        if (!a.argSig) fail(`${p}.argSig`, "Signal needs argSig");
        out.push({ action: ACT.SIGNAL, arg: a.argSig, scope: 0 });
        break;
      case "Override":
        if (a.argRegs?.length || a.argNewSymbol || a.argNewAddr !== undefined || a.argNewOffset !== undefined) {
          fail(p, "Override with new registers or a new target applies to uprobes, which tetragon-ts does not override");
        }
        if (a.argError === undefined || a.argError >= 0 || a.argError < -4095) fail(`${p}.argError`, "Override needs argError, a negative errno (-4095..-1)");
        out.push({ action: ACT.OVERRIDE, arg: a.argError, scope: 0 });
        break;
      case "TrackSock":
      case "UntrackSock": {
        const slot = a.argSock === undefined ? undefined : ctx.slotOfIndex.get(a.argSock);
        if (slot === undefined) fail(`${p}.argSock`, `${a.action} needs argSock, the index of an argument of the hook's args`);
        if (ctx.outputs[slot].gt !== GT.SOCK) fail(`${p}.argSock`, `${a.action} tracks a sock: argument ${a.argSock} has type ${ctx.outputs[slot].type}`);
        out.push({ action: a.action === "TrackSock" ? ACT.TRACK_SOCK : ACT.UNTRACK_SOCK, arg: slot, scope: 0 });
        break;
      }
      case "NotifyEnforcer":
        if (ctx.enforcerKinds === undefined) fail(p, "NotifyEnforcer needs spec.enforcers, the calls it makes fail");
        if (a.argError === undefined && !a.argSig) fail(p, "NotifyEnforcer needs argError (a negative errno) or argSig");
        if (a.argError !== undefined && (a.argError >= 0 || a.argError < -4095)) fail(`${p}.argError`, "a negative errno (-4095..-1)");
        out.push({ action: ACT.NOTIFY_ENFORCER, arg: a.argError ?? 0, scope: a.argSig ?? 0, kinds: a.argError !== undefined ? ctx.enforcerKinds : 0 });
        break;
      default:
        fail(`${p}.action`, `action ${a.action} is not available on this hook in tetragon-ts`);
    }
  });
  return out;
}

export function compileSelectors(selectors: KProbeSelector[] | undefined, ctx: SelectorContext): SelectorPlan[] {
  const plans: SelectorPlan[] = [];
  (selectors ?? []).forEach((sel, si) => {
    const path = `${ctx.path}.selectors[${si}]`;
    const plan: SelectorPlan = { ns: [], nsChanges: 0, nsChangesOp: MOP.EQ, caps: [], args: [], ret: [], actions: [], retActions: [], flags: 0 };
    if (sel.matchWorkloads && (sel.matchWorkloads.podSelector || sel.matchWorkloads.containerSelector)) {
      fail(`${path}.matchWorkloads`, "matchWorkloads needs pod information (Kubernetes support is not there yet)");
    }
    const pids = sel.matchPIDs ?? [];
    if (pids.length > 1) fail(`${path}.matchPIDs`, "at most one matchPIDs filter per selector in tetragon-ts");
    if (pids[0]) {
      const p = pids[0];
      if (p.values.length > LIMITS.MAX_VALUES) fail(`${path}.matchPIDs[0].values`, `at most ${LIMITS.MAX_VALUES} pids`);
      plan.pids = { op: p.operator === "In" ? MOP.EQ : MOP.NEQ, pids: p.values, nsPid: p.isNamespacePID, followForks: p.followForks };
    }
    const bins = [...(sel.matchBinaries ?? []).map((b) => ({ b, parent: false, key: "matchBinaries" })), ...(sel.matchParentBinaries ?? []).map((b) => ({ b, parent: true, key: "matchParentBinaries" }))];
    if (bins.length > 1) fail(`${path}`, "one matchBinaries or matchParentBinaries filter per selector");
    if (bins[0]) {
      const { b, parent, key } = bins[0];
      const bp = `${path}.${key}[0]`;
      let follow = -1;
      if (b.followChildren) {
        if (parent) fail(`${bp}.followChildren`, "followChildren applies to matchBinaries only");
        if (b.operator !== "In" && b.operator !== "NotIn") fail(`${bp}.followChildren`, "followChildren works with the In and NotIn operators");
        follow = ctx.followSets.length;
        ctx.followSets.push(b.values);
      }
      b.values.forEach((v, i) => {
        if (Buffer.byteLength(v) >= LIMITS.STR_LPM_LEN) fail(`${bp}.values[${i}]`, `binary paths must be shorter than ${LIMITS.STR_LPM_LEN} bytes`);
      });
      const op = { In: MOP.STR_EQ, NotIn: MOP.STR_NEQ, Prefix: MOP.PREFIX, NotPrefix: MOP.NOT_PREFIX, Postfix: MOP.POSTFIX, NotPostfix: MOP.NOT_POSTFIX }[b.operator];
      const set = b.operator === "In" || b.operator === "NotIn" ? newSet(ctx.values.strEq, ctx.values, b.values)
        : b.operator.endsWith("Prefix") ? newSet(ctx.values.strPrefix, ctx.values, b.values)
        : newSet(ctx.values.strPostfix, ctx.values, b.values.map((v) => [...Buffer.from(v)].reverse().map((c) => String.fromCharCode(c)).join("")));
      plan.bin = { op, parent, set, follow };
    }
    (sel.matchNamespaces ?? []).forEach((n, i) => {
      const np = `${path}.matchNamespaces[${i}]`;
      if (n.values.length > LIMITS.MAX_VALUES) fail(`${np}.values`, `at most ${LIMITS.MAX_VALUES} values`);
      const vals = n.values.map((v, j) => {
        if (v === "host_ns") return ctx.hostNs(n.namespace);
        try { return Number(parseInteger(v, "uint32")); } catch (e) { fail(`${np}.values[${j}]`, (e as Error).message); }
      });
      plan.ns.push({ ns: NS_INDEX[n.namespace], op: n.operator === "In" ? MOP.EQ : MOP.NEQ, vals });
    });
    if (plan.ns.length > LIMITS.MAX_NS_FILTERS) fail(`${path}.matchNamespaces`, `at most ${LIMITS.MAX_NS_FILTERS} filters`);
    const nsc = sel.matchNamespaceChanges ?? [];
    if (nsc[0]) {
      plan.nsChangesOp = nsc[0].operator === "In" ? MOP.EQ : MOP.NEQ;
      nsc[0].values.forEach((v, i) => {
        const idx = NS_INDEX[v] ?? NS_INDEX[v.charAt(0).toUpperCase() + v.slice(1).toLowerCase()];
        if (idx === undefined) fail(`${path}.matchNamespaceChanges[0].values[${i}]`, `unknown namespace '${v}'`);
        plan.nsChanges |= 1 << idx;
      });
    }
    const capFilters = [
      ...(sel.matchCapabilities ?? []).map((c, i) => ({ c, changes: false, p: `${path}.matchCapabilities[${i}]` })),
      ...(sel.matchCapabilityChanges ?? []).map((c, i) => ({ c, changes: true, p: `${path}.matchCapabilityChanges[${i}]` })),
    ];
    if (capFilters.length > LIMITS.MAX_CAP_FILTERS) fail(`${path}.matchCapabilities`, `at most ${LIMITS.MAX_CAP_FILTERS} capability filters per selector`);
    for (const { c, changes, p } of capFilters) {
      if (c.isNamespaceCapability) fail(`${p}.isNamespaceCapability`, "namespace capabilities are not supported by tetragon-ts yet");
      let mask = 0n;
      c.values.forEach((v, i) => {
        const bit = CAPABILITIES[v.toUpperCase()];
        if (bit === undefined) fail(`${p}.values[${i}]`, `unknown capability '${v}'`);
        mask |= 1n << BigInt(bit);
      });
      plan.caps.push({ type: c.type === "Inheritable" ? 1 : c.type === "Permitted" ? 2 : 0, op: c.operator === "In" ? MOP.EQ : MOP.NEQ, changes, mask });
    }
    (sel.matchArgs ?? []).forEach((m, i) => {
      const mp = `${path}.matchArgs[${i}]`;
      const slots: number[] = [];
      if (m.args && m.args.length) {
        m.args.forEach((pos, j) => {
          const s = ctx.slotOfPosition(pos);
          if (s === undefined) fail(`${mp}.args[${j}]`, `no argument at position ${pos} of the hook's args`);
          slots.push(s);
        });
      } else {
        const s = ctx.slotOfIndex.get(m.index ?? 0);
        if (s === undefined) fail(`${mp}.index`, `no argument with index ${m.index ?? 0} in the hook's args`);
        slots.push(s);
      }
      for (const s of slots) {
        const out = ctx.outputs[s];
        plan.args.push(compileArgMatch(m, s, out, ctx, mp));
      }
    });
    (sel.matchData ?? []).forEach((m, i) => {
      const mp = `${path}.matchData[${i}]`;
      const positions = m.args && m.args.length ? m.args : [m.index ?? 0];
      positions.forEach((pos, j) => {
        const s = ctx.dataSlots?.[pos];
        if (s === undefined) fail(m.args?.length ? `${mp}.args[${j}]` : `${mp}.index`, `no data argument at position ${pos} of the hook's data`);
        plan.args.push(compileArgMatch(m, s, ctx.outputs[s], ctx, mp));
      });
    });
    if (plan.args.length > LIMITS.MAX_MATCH_ARGS) fail(`${path}.matchArgs`, `at most ${LIMITS.MAX_MATCH_ARGS} matchArgs and matchData filters per selector`);
    (sel.matchReturnArgs ?? []).forEach((m, i) => {
      const mp = `${path}.matchReturnArgs[${i}]`;
      if (!ctx.returnOutput) fail(mp, "matchReturnArgs needs return: true and a returnArg");
      const plan1 = compileArgMatch(m, LIMITS.RET_ARG, ctx.returnOutput, ctx, mp);
      const returnsSock = ctx.returnOutput.gt === GT.SOCK || ctx.returnOutput.gt === GT.SOCKET || ctx.returnOutput.gt === GT.SKB;
      if (plan1.op >= MOP.STR_EQ && !(returnsSock && plan1.op >= MOP.SADDR)) {
        fail(`${mp}.operator`, returnsSock ? "a returned sock takes the socket operators (SAddr, DPort, State, ...)" : "only integer operators apply to return values");
      }
      plan.ret.push(plan1);
    });
    if (plan.ret.length > LIMITS.MAX_MATCH_RET) fail(`${path}.matchReturnArgs`, `at most ${LIMITS.MAX_MATCH_RET} return filters per selector`);
    plan.actions = compileActions(sel.matchActions, path, ctx);
    if (plan.actions.length > LIMITS.MAX_ACTIONS) fail(`${path}.matchActions`, `at most ${LIMITS.MAX_ACTIONS} actions per selector`);
    if (sel.matchReturnActions?.length) {
      if (!ctx.returnOutput) fail(`${path}.matchReturnActions`, "matchReturnActions needs return: true and a returnArg");
      plan.retActions = compileActions(sel.matchReturnActions, path, ctx, "matchReturnActions");
      if (plan.retActions.length > LIMITS.MAX_ACTIONS) fail(`${path}.matchReturnActions`, `at most ${LIMITS.MAX_ACTIONS} actions per selector`);
      const bad = plan.retActions.findIndex((a) => a.action === ACT.OVERRIDE || a.action === ACT.NOTIFY_ENFORCER);
      if (bad >= 0) fail(`${path}.matchReturnActions[${bad}]`, "the call has returned: it can no longer be overridden");
    }
    checkEnforcementSafety(sel, plan, path, ctx);
    plans.push(plan);
  });
  if (plans.length > LIMITS.MAX_SELECTORS) fail(`${ctx.path}.selectors`, `at most ${LIMITS.MAX_SELECTORS} selectors per hook`);
  return plans;
}

/**
 * The safety rule: enforcement spares PID 1, kernel threads and the agent's CLI unless the
 * selector names them, and a selector without any filter may not kill or deny (that would be
 * every process) unless the policy says so with an option.
 */
function checkEnforcementSafety(sel: KProbeSelector, plan: SelectorPlan, path: string, ctx: SelectorContext): void {
  const enforcing = [...plan.actions, ...plan.retActions].some((a) => ENFORCING.has(a.action));
  if (!enforcing) return;
  const filtered = plan.args.length > 0 || plan.ret.length > 0 || plan.pids !== undefined || plan.bin !== undefined
    || plan.ns.length > 0 || plan.nsChanges !== 0 || plan.caps.length > 0;
  if (!filtered && !ctx.allowUnfiltered) {
    fail(path, `a selector that kills or denies needs a filter (matchArgs, matchBinaries, matchPIDs, ...): without one it applies to every process; set the policy option ${UNFILTERED_OPTION}: "true" to mean it`);
  }
  const pids = sel.matchPIDs?.[0];
  const namesPid1 = pids !== undefined && pids.operator === "In" && pids.values.includes(1);
  const bins = sel.matchBinaries?.[0];
  const namesProtected = bins !== undefined && (bins.operator === "In" || bins.operator === "Prefix")
    && bins.values.some((v) => (ctx.protectedBinaries ?? []).some((p) => (bins.operator === "In" ? p === v : p.startsWith(v))));
  if (namesPid1 || namesProtected) plan.flags |= SEL_F.EXPLICIT;
}
