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
  /** FUNC_PROTO parameter type ids */
  params: number[];
}

export interface BtfArg {
  /** a C-like spelling: "int", "unsigned int", "char *", "struct file *" */
  ctype: string;
  size: number;
  signed: boolean;
}

const HEADER_RE = /^\[(\d+)\] (\w+) '([^']*)'(.*)$/;

export class KernelBtf {
  private types = new Map<number, BtfType>();
  private byName = new Map<string, number>();

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
        };
        this.types.set(Number(m[1]), t);
        if (t.kind === "TYPEDEF") this.byName.set(t.name, Number(m[1]));
        last = t;
      } else if (last?.kind === "FUNC_PROTO") {
        const p = /type_id=(\d+)/.exec(line);
        if (p) last.params.push(Number(p[1]));
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
        return { ctype: `${t.signed ? "" : "unsigned "}${t.name}`, size: t.size, signed: t.signed };
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
      default:
        return { ctype: t.name || t.kind.toLowerCase(), size: t.size, signed: false };
    }
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
