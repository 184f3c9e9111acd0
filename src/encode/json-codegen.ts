/**
 * Message-to-JSON-text encoders generated from the schema, one function per message type:
 * the same output as protobuf-es `toJsonString(schema, msg, { useProtoFieldName: true })`
 * (fields in number order, implicit zero values omitted, oneof members always written,
 * singular wrapper fields unboxed, map keys in object order), written straight into a
 * string instead of through an intermediate object and JSON.stringify.
 * Messages holding Any, Struct, Value, ListValue or FieldMask are left to protobuf-es.
 *
 * A type can be memoized: the JSON of its stable fields is kept per key (Process by exec_id:
 * every event of a process repeats it) and reused while the message is the one it was made
 * from, or every stable field is still the same value (===). Memoized messages, and the
 * messages nested in them, must therefore be replaced, not edited in place, which is how the
 * process cache and the filters treat them.
 */
import { ScalarType, toJson, type DescEnum, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { isWrapperDesc } from "@bufbuild/protobuf/wkt";
import { bytesJson, durationJson, floatJson, int64Json, intJson, invalid, timestampJson } from "./json-values";

export type JsonEncoder = (message: object) => string;

const IMPLICIT = 2; // FeatureSet.FieldPresence
const LEGACY_REQUIRED = 3;
const EDITION_PROTO3 = 999;
const DELEGATED = new Set([
  "google.protobuf.Any", "google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue", "google.protobuf.FieldMask",
]);

export interface Memo {
  desc: DescMessage;
  /** local name of the string field that names an instance (Process: execId) */
  key: string;
  /** local names of the fields that differ between uses of one instance (refcnt, tid) */
  volatile: string[];
  /** entries kept before the memo is cleared */
  max?: number;
}

interface MemoEntry {
  /** the message last encoded from this entry */
  src: object;
  values: unknown[];
  /** per run of stable fields: its JSON members with a leading comma, and without */
  withComma: string[];
  bare: string[];
}

/** What generated code reaches: encoders by index, value helpers, enum name tables, memos. */
interface Runtime {
  E: JsonEncoder[];
  enums: Array<Map<number, string>>;
  memos: Array<Map<string, MemoEntry>>;
  fail(what: string, value: unknown): never;
  str(value: string): string;
  int: typeof intJson;
  float: typeof floatJson;
  int64: typeof int64Json;
  bytes: typeof bytesJson;
  enumJson(names: Map<number, string>, value: unknown, what: string): string;
  /** the string, flattened: a kept piece is then copied whole into each line that holds it */
  flat(s: string): string;
}

const INT64_TYPES = new Set([ScalarType.INT64, ScalarType.UINT64, ScalarType.FIXED64, ScalarType.SFIXED64, ScalarType.SINT64]);
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
const lit = (s: string) => JSON.stringify(s);

function newRuntime(): Runtime {
  return {
    E: [],
    enums: [],
    memos: [],
    fail(what, value) {
      throw invalid(what, value);
    },
    // JSON.stringify's text, without its per-call set-up for the common case
    str: (v) => (NEEDS_ESCAPE.test(v) ? JSON.stringify(v) : '"' + v + '"'),
    int: intJson,
    float: floatJson,
    int64: int64Json,
    bytes: bytesJson,
    flat(s) {
      // converting a string to a number makes V8 flatten it in place
      Number(s);
      return s;
    },
    enumJson(names, value, what) {
      if (typeof value !== "number") throw invalid(what, value);
      return names.get(value) ?? "" + value;
    },
  };
}

function delegates(desc: DescMessage): boolean {
  return DELEGATED.has(desc.typeName) || desc.fields.some((f) => f.message !== undefined && DELEGATED.has(f.message.typeName));
}

/** JS expression for the JSON text of scalar `v` of type `t`. */
function scalarExpr(t: ScalarType, v: string, what: string): string {
  const w = lit(what);
  switch (t) {
    case ScalarType.STRING:
      return `(typeof ${v} === "string" ? R.str(${v}) : R.fail(${w}, ${v}))`;
    case ScalarType.BOOL:
      return `(${v} === true ? "true" : ${v} === false ? "false" : R.fail(${w}, ${v}))`;
    case ScalarType.INT32: case ScalarType.SINT32: case ScalarType.SFIXED32: case ScalarType.UINT32: case ScalarType.FIXED32:
      return `(typeof ${v} === "number" && ${v} === (${v} | 0) ? "" + ${v} : R.int(${v}, ${w}))`;
    case ScalarType.FLOAT: case ScalarType.DOUBLE:
      return `R.float(${v}, ${w})`;
    case ScalarType.BYTES:
      return `R.bytes(${v}, ${w})`;
    default: // 64-bit
      return `(typeof ${v} === "bigint" ? '"' + ${v} + '"' : R.int64(${v}, ${w}))`;
  }
}

function zeroCheck(t: ScalarType, v: string): string {
  switch (t) {
    case ScalarType.STRING: return `${v} !== ""`;
    case ScalarType.BOOL: return `${v} !== false`;
    case ScalarType.BYTES: return `(!(${v} instanceof Uint8Array) || ${v}.byteLength > 0)`;
    case ScalarType.FLOAT: case ScalarType.DOUBLE: return `!Object.is(${v}, 0)`;
    default: return `${v} != 0`; // 0, 0n and "0"
  }
}

export class JsonCodegen {
  private readonly R = newRuntime();
  private readonly indexOf = new Map<DescMessage, number>();
  private readonly enumIndexOf = new Map<DescEnum, number>();
  private readonly memoOf = new Map<string, Memo>();
  /** string fields of the encoder being built: each keeps its last value and that value's
   *  JSON, so that a string an event repeats (function, policy, node names) is not escaped again */
  private stringSites = 0;
  /** declarations of the cached runs of the encoder being built */
  private runDecls: string[] = [];
  private runs = 0;

  constructor(memos: readonly Memo[] = []) {
    for (const m of memos) this.memoOf.set(m.desc.typeName, m);
  }

  /** The generated encoder of a message type (compiled once, on first use). */
  encoder(desc: DescMessage): JsonEncoder {
    return this.R.E[this.encoderIndex(desc)];
  }

  private encoderIndex(desc: DescMessage): number {
    let i = this.indexOf.get(desc);
    if (i === undefined) {
      // registered before building, so that recursive types find their own index
      i = this.R.E.push(undefined as unknown as JsonEncoder) - 1;
      this.indexOf.set(desc, i);
      this.R.E[i] = this.build(desc);
    }
    return i;
  }

  private enumTable(desc: DescEnum): number {
    let i = this.enumIndexOf.get(desc);
    if (i === undefined) {
      const names = new Map<number, string>();
      for (const v of desc.values) if (!names.has(v.number)) names.set(v.number, JSON.stringify(v.name));
      i = this.R.enums.push(names) - 1;
      this.enumIndexOf.set(desc, i);
    }
    return i;
  }

  /** JS expression for the JSON text of a value of `field` (an item, for lists and maps). */
  private valueExpr(field: DescField, v: string, unboxWrapper: boolean): string {
    const what = field.toString();
    const scalar = field.fieldKind === "scalar" ? field.scalar
      : field.fieldKind === "list" && field.listKind === "scalar" ? field.scalar
      : field.fieldKind === "map" && field.mapKind === "scalar" ? field.scalar : undefined;
    if (scalar === ScalarType.STRING) {
      const k = `k${this.stringSites}`, j = `j${this.stringSites}`;
      this.stringSites++;
      return `(typeof ${v} === "string" ? (${v} === ${k} ? ${j} : (${k} = ${v}, ${j} = R.str(${v}))) : R.fail(${lit(what)}, ${v}))`;
    }
    if (scalar !== undefined) return scalarExpr(scalar, v, what);
    const en = field.fieldKind === "enum" ? field.enum
      : field.fieldKind === "list" && field.listKind === "enum" ? field.enum
      : field.fieldKind === "map" && field.mapKind === "enum" ? field.enum : undefined;
    if (en !== undefined) {
      if (en.typeName === "google.protobuf.NullValue") return `(typeof ${v} === "number" ? "null" : R.fail(${lit(what)}, ${v}))`;
      return `R.enumJson(R.enums[${this.enumTable(en)}], ${v}, ${lit(what)})`;
    }
    const msg = field.message!;
    if (unboxWrapper && isWrapperDesc(msg)) return scalarExpr(msg.fields[0].scalar!, v, what);
    return `R.E[${this.encoderIndex(msg)}](${v})`;
  }

  /** Code that appends the field's member to `s` when it is present (`c`: a member was written). */
  private fieldCode(field: DescField, proto3: boolean): string {
    // the member's opening text with and without its leading comma, as constants: one string
    // concatenation less per member
    const name = JSON.stringify(field.name) + ":";
    const open = (after: string) => `(c ? ${lit("," + name + after)} : ${lit(name + after)})`;
    const get = `m[${lit(field.localName)}]`;
    const write = (expr: string) => `s += ${open("")} + ${expr}; c = true;`;
    if (field.fieldKind === "list") {
      return `v = ${get}; if (v.length !== 0) { s += ${open("[")}; for (let i = 0; i < v.length; i++) { const x = v[i]; s += (i === 0 ? "" : ",") + ${this.valueExpr(field, "x", false)}; } s += "]"; c = true; }`;
    }
    if (field.fieldKind === "map") {
      return `v = ${get}; { const ks = Object.keys(v); if (ks.length !== 0) { s += ${open("{")}; for (let i = 0; i < ks.length; i++) { const x = v[ks[i]]; s += (i === 0 ? "" : ",") + R.str(ks[i]) + ":" + ${this.valueExpr(field, "x", false)}; } s += "}"; c = true; } }`;
    }
    if (field.oneof) {
      const o = `m[${lit(field.oneof.localName)}]`;
      return `if (${o}.case === ${lit(field.localName)}) { v = ${o}.value; ${write(this.valueExpr(field, "v", false))} }`;
    }
    const value = this.valueExpr(field, "v", true);
    if (field.presence !== IMPLICIT) {
      const own = proto3 ? "" : ` && Object.prototype.hasOwnProperty.call(m, ${lit(field.localName)})`;
      const required = field.presence === LEGACY_REQUIRED
        ? ` else throw new Error(${lit(`cannot encode ${field.toString()} to JSON: required field not set`)});` : "";
      return `v = ${get}; if (v !== undefined${own}) { ${write(value)} }${required}`;
    }
    if (field.fieldKind === "enum") return `v = ${get}; if (v !== ${field.enum.values[0].number}) { ${write(value)} }`;
    return `v = ${get}; if (${zeroCheck(field.scalar!, "v")}) { ${write(value)} }`;
  }

  private build(desc: DescMessage): JsonEncoder {
    switch (desc.typeName) {
      case "google.protobuf.Timestamp":
        return timestampJson as JsonEncoder;
      case "google.protobuf.Duration":
        return durationJson as JsonEncoder;
    }
    if (delegates(desc)) return (m) => JSON.stringify(toJson(desc, m as never, { useProtoFieldName: true }));
    if (isWrapperDesc(desc)) {
      const f = desc.fields[0];
      const zero = f.scalar === ScalarType.STRING ? '""' : f.scalar === ScalarType.BOOL ? "false"
        : f.scalar === ScalarType.BYTES ? "new Uint8Array(0)" : INT64_TYPES.has(f.scalar) ? "0n" : "0";
      return this.compile(`return function (m) { let v = m[${lit(f.localName)}]; if (v === undefined) v = ${zero}; return ${scalarExpr(f.scalar, "v", f.toString())}; };`);
    }
    const proto3 = desc.file.edition === EDITION_PROTO3;
    const fields = [...desc.fields].sort((a, b) => a.number - b.number);
    const memo = this.memoOf.get(desc.typeName);
    // nested types are built while this one's code is generated: each has its own sites
    const outerSites = this.stringSites;
    this.stringSites = 0;
    const outerRuns = this.runDecls;
    this.runDecls = [];
    const body = memo
      ? this.memoCode(memo, fields, proto3, `let s = "{", c = false, v; ${fields.map((f) => this.fieldCode(f, proto3)).join("\n")} return s + "}";`)
      : `return function (m) { let s = "{", c = false, v; ${this.cachedRunsCode(fields, proto3)} return s + "}"; };`;
    const sites = Array.from({ length: this.stringSites }, (_, i) => `k${i} = null, j${i} = ""`).concat(this.runDecls);
    this.stringSites = outerSites;
    this.runDecls = outerRuns;
    return this.compile((sites.length ? `let ${sites.join(", ")};\n` : "") + body);
  }

  /**
   * Whether a field's JSON depends only on its value compared with ===: scalars other than
   * bytes (a Uint8Array can change in place), enums, and memoized messages (replaced, never
   * edited in place, by contract).
   */
  private cacheable(field: DescField, proto3: boolean): boolean {
    // proto2 presence is own-property presence, which === on the value does not see
    if (field.oneof || !proto3) return false;
    if (field.fieldKind === "scalar") return field.scalar !== ScalarType.BYTES;
    if (field.fieldKind === "enum") return true;
    return field.fieldKind === "message" && this.memoOf.has(field.message.typeName);
  }

  /**
   * The fields' code, with each run of cacheable fields (two or more, or one memoized
   * message) written from the JSON of the last message whose run had the same values: events
   * repeat their process, parent, hook and policy names, so most of an event's members become
   * one flat string instead of a dozen concatenations that every line's flattening walks.
   */
  private cachedRunsCode(fields: DescField[], proto3: boolean): string {
    const out: string[] = [];
    let run: DescField[] = [];
    const endRun = () => {
      if (run.length >= 2 || (run.length === 1 && run[0].fieldKind === "message")) out.push(this.cachedRunCode(run, proto3));
      else out.push(...run.map((f) => this.fieldCode(f, proto3)));
      run = [];
    };
    for (const f of fields) {
      if (this.cacheable(f, proto3)) run.push(f);
      else {
        endRun();
        out.push(this.fieldCode(f, proto3));
      }
    }
    endRun();
    return out.join("\n");
  }

  private cachedRunCode(run: DescField[], proto3: boolean): string {
    const r = `r${this.runs++}_`;
    const keys = run.map((_, i) => `${r}k${i}`);
    // the run's members with a leading comma (w) and without (b); set: a message was seen
    this.runDecls.push(`${r}set = false, ${r}w = "", ${r}b = ""`, ...keys.map((k) => `${k} = undefined`));
    const get = (f: DescField) => `m[${lit(f.localName)}]`;
    const same = run.map((f, i) => `${get(f)} === ${keys[i]}`).join(" && ");
    // the values are kept only once their JSON is made: a value that throws is not cached
    return `if (!(${r}set && ${same})) {
  { let s = "", c = true, v; ${run.map((f) => this.fieldCode(f, proto3)).join("\n")} ${r}w = R.flat(s); }
  ${run.map((f, i) => `${keys[i]} = ${get(f)};`).join(" ")} ${r}b = ${r}w.substring(1); ${r}set = true; }
if (${r}w !== "") { s += c ? ${r}w : ${r}b; c = true; }`;
  }

  /**
   * A memoized encoder: runs of stable fields come from the entry of m[key] when all their
   * values are unchanged, else the entry is rebuilt; volatile fields are written each time.
   */
  private memoCode(memo: Memo, fields: DescField[], proto3: boolean, plain: string): string {
    for (const name of [memo.key, ...memo.volatile]) {
      if (!fields.some((f) => f.localName === name && !f.oneof)) throw new Error(`memo of ${memo.desc.typeName}: no field ${name}`);
    }
    const stable = fields.filter((f) => !memo.volatile.includes(f.localName));
    const runs: DescField[][] = [[]];
    const order: Array<number | DescField> = [0];
    for (const f of fields) {
      if (memo.volatile.includes(f.localName)) {
        order.push(f);
        runs.push([]);
        order.push(runs.length - 1);
      } else runs[runs.length - 1].push(f);
    }
    const memoIndex = this.R.memos.push(new Map()) - 1;
    const get = (f: DescField) => `m[${lit(f.localName)}]`;
    const runFns = runs.map((run) => `function (m) { let s = "", c = true, v; ${run.map((f) => this.fieldCode(f, proto3)).join("\n")} return s; }`);
    const assemble = order.map((o) => typeof o === "number"
      ? `v = e.withComma[${o}]; if (v !== "") { s += c ? v : e.bare[${o}]; c = true; }`
      : this.fieldCode(o, proto3)).join("\n");
    return `const runs = [${runFns.join(",\n")}];
const memo = R.memos[${memoIndex}];
function fill(m, key) {
  if (memo.size >= ${memo.max ?? 16384}) memo.clear();
  const withComma = runs.map((r) => r(m));
  const e = { src: m, values: [${stable.map(get).join(", ")}], withComma, bare: withComma.map((x) => x.substring(1)) };
  memo.set(key, e);
  return e;
}
return function (m) {
  const key = m[${lit(memo.key)}];
  if (typeof key !== "string" || key === "") { ${plain} }
  let e = memo.get(key);
  if (e === undefined) e = fill(m, key);
  else if (e.src !== m) {
    if (${stable.map((f, i) => `e.values[${i}] !== ${get(f)}`).join(" || ")}) e = fill(m, key);
    else e.src = m;
  }
  let s = "{", c = false, v;
  ${assemble}
  return s + "}";
};`;
  }

  private compile(body: string): JsonEncoder {
    return new Function("R", body)(this.R) as JsonEncoder;
  }
}

const plainCodegen = new JsonCodegen();

/** The generated encoder of a message type, without memos. */
export function jsonEncoder(desc: DescMessage): JsonEncoder {
  return plainCodegen.encoder(desc);
}
