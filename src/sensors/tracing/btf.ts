/**
 * The kernel's BTF, read through `bpftool btf dump ... format raw`, for what user space needs
 * to know of types: the arguments of raw tracepoints (btf_trace_<event> prototypes).
 * Parsed once, on first use.
 */
import { execFileSync } from "node:child_process";

interface BtfType {
  kind: string;
  name: string;
  typeId: number;
  size: number;
  signed: boolean;
  /** FUNC_PROTO parameter type ids and names */
  params: number[];
  paramNames: string[];
  /** STRUCT/UNION members */
  members: Array<{ name: string; typeId: number; bitsOffset: number; bitfield: boolean }>;
}

export interface ResolvedField {
  steps: Array<{ off: number; kind: "deref" | "load" | "addr"; size: number }>;
  /** the last field's type */
  type: BtfArg;
  isArray: boolean;
  elemChar: boolean;
}

export class ResolveError extends Error {}

export interface BtfArg {
  /** a C-like spelling: "int", "unsigned int", "char *", "struct file *" */
  ctype: string;
  size: number;
  signed: boolean;
}

const HEADER_RE = /^\[(\d+)\] (\w+) '([^']*)'(.*)$/;

export class KernelBtf {
  private types = new Map<number, BtfType>();
  private structs = new Map<string, number>();
  private byName = new Map<string, number>();
  private funcs = new Map<string, number>();
  private enumValues = new Map<string, number>();

  constructor(dump: string) {
    let last: BtfType | undefined;
    for (const line of dump.split("\n")) {
      const m = HEADER_RE.exec(line);
      if (m) {
        const rest = m[4];
        const t: BtfType = {
          kind: m[2], name: m[3],
          typeId: Number(/ type_id=(\d+)/.exec(rest)?.[1] ?? /ret_type_id=(\d+)/.exec(rest)?.[1] ?? 0),
          size: Number(/ size=(\d+)/.exec(rest)?.[1] ?? 0),
          signed: /encoding=SIGNED/.test(rest),
          params: [],
          paramNames: [],
          members: [],
        };
        if (t.kind === "STRUCT" || t.kind === "UNION") {
          if (t.name !== "(anon)" && !this.structs.has(`${t.kind} ${t.name}`)) this.structs.set(`${t.kind} ${t.name}`, Number(m[1]));
        }
        this.types.set(Number(m[1]), t);
        if (t.kind === "TYPEDEF") this.byName.set(t.name, Number(m[1]));
        else if (t.kind === "FUNC" && !this.funcs.has(t.name)) this.funcs.set(t.name, Number(m[1]));
        last = t;
      } else if (last?.kind === "FUNC_PROTO") {
        const p = /^\s+'([^']*)' type_id=(\d+)/.exec(line);
        if (p) {
          last.params.push(Number(p[2]));
          last.paramNames.push(p[1]);
        }
      } else if (last && (last.kind === "ENUM" || last.kind === "ENUM64")) {
        const ev = /^\s+'([^']*)' val=(-?\d+)/.exec(line);
        if (ev && !this.enumValues.has(ev[1])) this.enumValues.set(ev[1], Number(ev[2]));
      } else if (last && (last.kind === "STRUCT" || last.kind === "UNION")) {
        const mm = /^\s+'([^']*)' type_id=(\d+) bits_offset=(\d+)( bitfield_size=(\d+))?/.exec(line);
        if (mm) last.members.push({ name: mm[1], typeId: Number(mm[2]), bitsOffset: Number(mm[3]), bitfield: mm[5] !== undefined && mm[5] !== "0" });
      }
    }
  }

  static load(file = "/sys/kernel/btf/vmlinux"): KernelBtf {
    return new KernelBtf(execFileSync("bpftool", ["btf", "dump", "file", file, "format", "raw"], { encoding: "utf8", maxBuffer: 256 << 20 }));
  }

  private spell(id: number, depth = 0): BtfArg {
    const t = this.types.get(id);
    if (!t || depth > 16) return { ctype: "void", size: 0, signed: false };
    switch (t.kind) {
      case "INT":
        return { ctype: t.name, size: t.size, signed: t.signed };
      case "ENUM":
        return { ctype: "int", size: t.size || 4, signed: true };
      case "TYPEDEF": case "CONST": case "VOLATILE": case "RESTRICT": case "TYPE_TAG":
        return this.spell(t.typeId, depth + 1);
      case "PTR": {
        const target = this.spell(t.typeId, depth + 1);
        return { ctype: `${target.ctype} *`, size: 8, signed: false };
      }
      case "STRUCT": case "UNION":
        return { ctype: `${t.kind.toLowerCase()} ${t.name}`, size: t.size, signed: false };
      case "ARRAY": {
        const elem = this.spell(t.typeId, depth + 1);
        return { ctype: `${elem.ctype}[]`, size: 0, signed: false };
      }
      default:
        return { ctype: t.name || t.kind.toLowerCase(), size: t.size, signed: false };
    }
  }

  private strip(id: number): { id: number; t: BtfType | undefined } {
    let t = this.types.get(id);
    for (let d = 0; t && d < 16 && ["TYPEDEF", "CONST", "VOLATILE", "RESTRICT", "TYPE_TAG"].includes(t.kind); d++) {
      id = t.typeId;
      t = this.types.get(id);
    }
    return { id, t };
  }

  private findMember(structId: number, name: string): { typeId: number; off: number; bitfield: boolean } | undefined {
    const st = this.types.get(structId);
    if (!st) return undefined;
    for (const m of st.members) {
      if (m.name === name) return { typeId: m.typeId, off: m.bitsOffset / 8, bitfield: m.bitfield };
      if (m.name === "(anon)" || m.name === "") {
        const inner = this.strip(m.typeId);
        if (inner.t && (inner.t.kind === "STRUCT" || inner.t.kind === "UNION")) {
          const f = this.findMember(inner.id, name);
          if (f) return { ...f, off: f.off + m.bitsOffset / 8 };
        }
      }
    }
    return undefined;
  }

  /**
   * A dotted path through struct fields (`mm.arg_start`, `real_parent.comm`), starting from a
   * pointer to `struct <start>`: pointer fields on the way are followed.
   */
  resolve(start: string, path: string): ResolvedField {
    const sid = this.structs.get(start.startsWith("struct ") || start.startsWith("union ") ? start.replace(/^struct /, "STRUCT ").replace(/^union /, "UNION ") : `STRUCT ${start}`);
    if (sid === undefined) throw new ResolveError(`no struct ${start} in the kernel's BTF`);
    const parts = path.split(".");
    if (parts.length > 8) throw new ResolveError("resolve paths have at most 8 fields");
    const steps: ResolvedField["steps"] = [];
    let cur = sid;
    let pending = 0; // offset inside the current struct, not yet applied
    for (let i = 0; i < parts.length; i++) {
      const f = this.findMember(cur, parts[i]);
      const where = `${start}.${parts.slice(0, i + 1).join(".")}`;
      if (!f) throw new ResolveError(`${where}: no such field`);
      if (f.bitfield) throw new ResolveError(`${where}: bit fields cannot be resolved`);
      const ft = this.strip(f.typeId);
      const off = pending + f.off;
      const last = i === parts.length - 1;
      if (last) {
        const isArray = ft.t?.kind === "ARRAY";
        const compound = isArray || ft.t?.kind === "STRUCT" || ft.t?.kind === "UNION";
        const type = this.spell(f.typeId);
        const elem = isArray ? this.spell((ft.t as BtfType & { typeId: number }).typeId) : undefined;
        steps.push({ off, kind: compound ? "addr" : "load", size: compound ? 0 : Math.min(type.size || 8, 8) });
        return { steps, type, isArray, elemChar: !!elem && /char$/.test(elem.ctype) };
      }
      if (ft.t?.kind === "PTR") {
        steps.push({ off, kind: "deref", size: 8 });
        pending = 0;
        const target = this.strip(ft.t.typeId);
        if (!target.t || (target.t.kind !== "STRUCT" && target.t.kind !== "UNION")) throw new ResolveError(`${where}: not a pointer to a struct`);
        cur = target.id;
      } else if (ft.t?.kind === "STRUCT" || ft.t?.kind === "UNION") {
        pending = off;
        cur = ft.id;
      } else {
        throw new ResolveError(`${where}: not a struct or a pointer to one`);
      }
    }
    throw new ResolveError("empty resolve path");
  }

  /** The value of an enumerator (`ITER_UBUF`), or undefined when the kernel has none. */
  enumValue(name: string): number | undefined {
    return this.enumValues.get(name);
  }

  /** A kernel function's parameters and return type, or undefined when BTF does not have it. */
  functionProto(name: string): { params: Array<BtfArg & { name: string }>; ret: BtfArg } | undefined {
    const fid = this.funcs.get(name);
    if (fid === undefined) return undefined;
    const proto = this.types.get(this.types.get(fid)!.typeId);
    if (!proto || proto.kind !== "FUNC_PROTO") return undefined;
    return {
      params: proto.params.map((p, i) => ({ ...this.spell(p), name: proto.paramNames[i] ?? "" })),
      ret: proto.typeId ? this.spell(proto.typeId) : { ctype: "void", size: 0, signed: false },
    };
  }

  /** The TP_PROTO arguments of raw tracepoint `event`, or undefined when it has none. */
  rawTracepointArgs(event: string): BtfArg[] | undefined {
    const td = this.byName.get(`btf_trace_${event}`);
    if (td === undefined) return undefined;
    const ptr = this.types.get(this.types.get(td)!.typeId);
    const proto = ptr ? this.types.get(ptr.typeId) : undefined;
    if (!proto || proto.kind !== "FUNC_PROTO") return undefined;
    return proto.params.slice(1).map((p) => this.spell(p)); // the first is the probe's void *data
  }
}

let cached: KernelBtf | undefined;

export function kernelBtf(): KernelBtf {
  if (!cached) cached = KernelBtf.load();
  return cached;
}
