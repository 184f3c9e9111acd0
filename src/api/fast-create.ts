/**
 * `create(schema, init)` of protobuf-es, compiled per message type into a function that names
 * every field in its code. protobuf-es walks a list of fields and stores each by a computed
 * key, which V8 cannot specialise; here every store has a fixed property name, so building an
 * event's messages costs a few object literals. The result is the same message: the fields in
 * the same order, the same zero values, nested inits converted the same way (test/unit/
 * fast-create.test.ts compares the two on random inits of every Tetragon message).
 * Types that need protobuf-es' prototype chain (explicit presence of scalars: proto2 and some
 * editions) keep protobuf-es' create.
 */
import { create, ScalarType, type DescField, type DescMessage, type DescOneof, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { isWrapperDesc } from "@bufbuild/protobuf/wkt";

type Convert = (value: unknown) => unknown;
type Factory = (init?: unknown) => object;

const IMPLICIT = 2; // FeatureSet.FieldPresence
const EDITION_PROTO3 = 999;
const EDITION_PROTO2 = 998;
const factories = new WeakMap<DescMessage, Factory>();

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object";
const toU8Arr = (v: unknown) => (Array.isArray(v) ? new Uint8Array(v) : v);
const asIs: Convert = (v) => v;
/** protobuf-es `isMessage(v, schema)` with a plain property read: its `in` test is a
 *  megamorphic keyed lookup on the hot path */
const isMessageOf = (v: unknown, schema: DescMessage): boolean =>
  v !== null && typeof v === "object" && (v as { $typeName?: unknown }).$typeName === schema.typeName;

/** Builds a message of `schema` from `init`, as protobuf-es `create` does. */
export function fastCreate<Desc extends DescMessage>(schema: Desc, init?: MessageInitShape<Desc>): MessageShape<Desc> {
  if (isMessageOf(init, schema)) return init as MessageShape<Desc>;
  return factoryOf(schema)(init) as MessageShape<Desc>;
}

/** The compiled create function of a message type. */
export function factoryOf(desc: DescMessage): Factory {
  let f = factories.get(desc);
  if (!f) {
    f = compile(desc);
    factories.set(desc, f);
  }
  return f;
}

function needsPrototype(desc: DescMessage): boolean {
  if (desc.file.edition === EDITION_PROTO3) return false;
  if (desc.file.edition === EDITION_PROTO2) return true;
  return desc.fields.some((f) => f.presence !== IMPLICIT && f.fieldKind !== "message" && !f.oneof);
}

/** How an init value of a message field (or list item, map value) becomes a message. */
function messageConvert(field: DescField & { message: DescMessage }): Convert | undefined {
  if (field.fieldKind === "message" && !field.oneof && isWrapperDesc(field.message)) {
    // wrappers are unboxed in singular fields
    return field.message.fields[0].scalar === ScalarType.BYTES ? toU8Arr : undefined;
  }
  if (field.message.typeName === "google.protobuf.Struct" && field.parent.typeName !== "google.protobuf.Value") return undefined;
  const sub = field.message;
  return (value) => (!isObject(value) || isMessageOf(value, sub) ? value : factoryOf(sub)(value));
}

function compile(desc: DescMessage): Factory {
  if (needsPrototype(desc)) return (init) => create(desc, init as never) as object;
  // the zero message of protobuf-es supplies the implicit fields' constants (one shared
  // instance for bytes, as there)
  const zero = create(desc) as unknown as Record<string, unknown>;
  const consts: unknown[] = [];
  const converts: Array<Convert | undefined | Map<string, Convert>> = [];
  const lines: string[] = [`const m = { $typeName: ${JSON.stringify(desc.typeName)} };`, "let v;"];
  const ref = (x: Convert | undefined | Map<string, Convert>) => {
    converts.push(x);
    return `c[${converts.length - 1}]`;
  };
  for (const member of desc.members) {
    const key = JSON.stringify(member.localName);
    lines.push(`v = init === undefined || init === null ? undefined : init[${key}];`);
    if (member.kind === "oneof") {
      const byCase = new Map<string, Convert>();
      for (const f of (member as DescOneof).fields) {
        const conv = f.fieldKind === "message" ? messageConvert(f) : f.fieldKind === "scalar" && f.scalar === ScalarType.BYTES ? toU8Arr : undefined;
        byCase.set(f.localName, conv ?? asIs);
      }
      const cases = ref(byCase);
      lines.push(`{ const cv = v != null && v.case != null ? ${cases}.get(v.case) : undefined;`
        + ` m[${key}] = cv !== undefined ? { case: v.case, value: cv(v.value) } : { case: undefined }; }`);
      continue;
    }
    const field = member;
    switch (field.fieldKind) {
      case "message": {
        const conv = messageConvert(field);
        lines.push(conv ? `if (v != null) m[${key}] = ${ref(conv)}(v);` : `if (v != null) m[${key}] = v;`);
        break;
      }
      case "list": {
        const conv = field.listKind === "message" ? (messageConvert(field) ?? asIs) : field.scalar === ScalarType.BYTES ? toU8Arr : undefined;
        lines.push(conv ? `m[${key}] = Array.isArray(v) ? v.map(${ref(conv)}) : (v ?? []);` : `m[${key}] = v ?? [];`);
        break;
      }
      case "map": {
        const conv = field.mapKind === "message" ? (messageConvert(field) ?? asIs) : field.scalar === ScalarType.BYTES ? toU8Arr : undefined;
        if (!conv) {
          lines.push(`m[${key}] = v ?? {};`);
        } else {
          const c = ref(conv);
          lines.push(`if (v === null || typeof v !== "object") { m[${key}] = v ?? {}; } else { const o = {};`
            + ` for (const k of Object.keys(v)) Object.defineProperty(o, k, { value: ${c}(v[k]), writable: true, enumerable: true, configurable: true });`
            + ` m[${key}] = o; }`);
        }
        break;
      }
      default: {
        const bytes = field.fieldKind === "scalar" && field.scalar === ScalarType.BYTES;
        const value = bytes ? `${ref(toU8Arr)}(v)` : "v";
        if (field.presence === IMPLICIT) {
          consts.push(zero[field.localName]);
          lines.push(`m[${key}] = v != null ? ${value} : z[${consts.length - 1}];`);
        } else {
          lines.push(`if (v != null) m[${key}] = ${value};`);
        }
      }
    }
  }
  lines.push("return m;");
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function("z", "c", `return (init) => {\n${lines.join("\n")}\n};`)(consts, converts) as Factory;
}
