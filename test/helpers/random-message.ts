/**
 * Seeded random protobuf-es messages of any type, every field kind filled with awkward
 * values (escapes, unicode, lone surrogates, 64-bit extremes, negative numbers, NaN, empty and
 * default values, unknown enum numbers, map keys that look like integers), for comparing JSON
 * encoders against protobuf-es.
 */
import { create, ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { isWrapperDesc } from "@bufbuild/protobuf/wkt";

export class Rng {
  constructor(private s: number) {}
  next(): number {
    // mulberry32
    this.s = (this.s + 0x6d2b79f5) | 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const STRINGS = [
  "", "a", "/usr/bin/cat", 'quote " backslash \\ slash /', "tab\tnl\ncr\r\u0000\u001f\u007f", "ünïcødé ✓ 日本語 🎉",
  "\ud800 lone surrogate", "</script>", "\u2028\u2029", "0", "x".repeat(300),
];
const I32 = [0, 1, -1, 2147483647, -2147483648, 42, -7];
const U32 = [0, 1, 4294967295, 2147483648, 65534];
const I64 = [0n, 1n, -1n, 9223372036854775807n, -9223372036854775808n, 1234567890123n];
const U64 = [0n, 1n, 18446744073709551615n, 9007199254740993n];
const DOUBLES = [0, -0, 1.5, -2.25e-300, 1e21, 123456789.125, NaN, Infinity, -Infinity];
const FLOATS = [0, 0.5, -3.25, NaN, Infinity];

function scalar(rng: Rng, t: ScalarType): unknown {
  switch (t) {
    case ScalarType.STRING: return rng.pick(STRINGS);
    case ScalarType.BOOL: return rng.chance(0.5);
    case ScalarType.BYTES: {
      const b = new Uint8Array(rng.pick([0, 1, 2, 3, 4, 5, 17]));
      for (let i = 0; i < b.length; i++) b[i] = rng.int(256);
      // sometimes a view into a larger buffer, as Buffer.subarray gives
      return rng.chance(0.3) ? new Uint8Array(Buffer.concat([Buffer.from([9, 9]), b, Buffer.from([7])]).subarray(2, 2 + b.length)) : b;
    }
    case ScalarType.INT32: case ScalarType.SINT32: case ScalarType.SFIXED32: return rng.pick(I32);
    case ScalarType.UINT32: case ScalarType.FIXED32: return rng.pick(U32);
    case ScalarType.INT64: case ScalarType.SINT64: case ScalarType.SFIXED64: return rng.pick(I64);
    case ScalarType.UINT64: case ScalarType.FIXED64: return rng.pick(U64);
    case ScalarType.DOUBLE: return rng.pick(DOUBLES);
    case ScalarType.FLOAT: return rng.pick(FLOATS);
  }
}

function enumValue(rng: Rng, values: readonly { number: number }[]): number {
  return rng.chance(0.1) ? 99 : rng.pick(values).number;
}

function special(rng: Rng, desc: DescMessage): object | undefined {
  if (desc.typeName === "google.protobuf.Timestamp") {
    const seconds = rng.pick([0n, 1n, 1700000000n, 1769796920n, -62135596800n, 253402300799n]);
    const nanos = rng.pick([0, 1, 1000, 1000000, 273546829, 999999999, 500000000, 120000]);
    return create(desc, { seconds, nanos } as never);
  }
  if (desc.typeName === "google.protobuf.Duration") {
    const sign = rng.chance(0.5) ? 1 : -1;
    return create(desc, { seconds: BigInt(sign * rng.int(100000)), nanos: sign * rng.pick([0, 1000, 5000000, 123456789]) } as never);
  }
  return undefined;
}

function value(rng: Rng, field: DescField, kind: "scalar" | "enum" | "message", depth: number, item: boolean): unknown {
  if (kind === "scalar") return scalar(rng, field.scalar!);
  if (kind === "enum") return enumValue(rng, field.enum!.values);
  const m = field.message!;
  // singular wrapper fields outside a oneof hold the bare value
  if (!item && !field.oneof && isWrapperDesc(m)) return scalar(rng, m.fields[0].scalar!);
  return randomMessage(rng, m, depth + 1);
}

export function randomMessage(rng: Rng, desc: DescMessage, depth = 0): object {
  const sp = special(rng, desc);
  if (sp) return sp;
  const init: Record<string, unknown> = {};
  const fill = depth > 5 ? 0.15 : 0.6;
  for (const oneof of desc.oneofs) {
    if (!rng.chance(fill)) continue;
    const f = rng.pick(oneof.fields);
    init[oneof.localName] = { case: f.localName, value: value(rng, f, f.fieldKind as "scalar" | "enum" | "message", depth, true) };
  }
  for (const f of desc.fields) {
    if (f.oneof || !rng.chance(fill)) continue;
    if (f.fieldKind === "list") {
      init[f.localName] = Array.from({ length: rng.int(4) }, () => value(rng, f, f.listKind, depth, true));
    } else if (f.fieldKind === "map") {
      const m: Record<string, unknown> = {};
      const keys = ["b", "a", "10", "2", "", "k\"ey", "ü"];
      for (let i = rng.int(4); i > 0; i--) m[rng.pick(keys)] = value(rng, f, f.mapKind, depth, true);
      init[f.localName] = m;
    } else {
      init[f.localName] = value(rng, f, f.fieldKind, depth, false);
    }
  }
  return create(desc, init as never);
}
