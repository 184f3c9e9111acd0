/**
 * Field filters (GetEventsRequest.field_filters, `--field-filters`): prune
 * fields of the event payload with FieldMask paths relative to the payload
 * message, e.g. `process.binary`, `parent`, `process.pod.name`.
 *
 * Semantics follow Tetragon (pkg/fieldfilters): filters run in order, each
 * on the previous one's output. A filter applies to every event when its
 * event_set is empty, else to the listed types (or, with invert_event_set,
 * to all other types). INCLUDE keeps only the masked paths of the payload
 * (an empty mask keeps everything); EXCLUDE clears them. Top-level fields
 * (node_name, time, ...) are never touched. Paths use proto names
 * (snake_case); camelCase is accepted too. Paths through repeated messages
 * apply to every element (`ancestors.binary`). Unknown names match nothing.
 *
 * The input event is never mutated (it is shared between subscribers):
 * INCLUDE builds new messages along the kept paths and shares leaf values;
 * EXCLUDE shallow-copies only the messages on the path to a cleared field
 * and returns the input unchanged when nothing had to be cleared.
 */
import { create, clearField, isFieldSet } from "@bufbuild/protobuf";
import type { DescField, DescMessage, Message } from "@bufbuild/protobuf";
import type { FieldFilter, GetEventsResponse } from "../api/gen/tetragon/events_pb";
import { EventType, FieldFilterAction } from "../api/gen/tetragon/events_pb";
import { fieldError } from "./errors";
import { shallowCopy } from "./copy";
import { caseOfEventType, payloadSchema } from "./event-fields";

/** A mask node: `children === null` means the whole field (leaf). */
class MaskNode {
  children: Map<string, MaskNode> | null = null;
  private readonly resolved = new Map<DescMessage, ReadonlyArray<readonly [DescField, MaskNode]>>();

  /** This node's children resolved against a message type (cached per type). */
  resolve(desc: DescMessage): ReadonlyArray<readonly [DescField, MaskNode]> {
    let r = this.resolved.get(desc);
    if (r === undefined) {
      const byField = new Map<DescField, MaskNode>();
      if (this.children !== null) {
        for (const [name, child] of this.children) {
          const field = findField(desc, name);
          if (field === undefined) continue;
          const prev = byField.get(field);
          // `start_time` and `startTime` name the same field: a leaf wins.
          if (prev === undefined || child.children === null) byField.set(field, child);
          else if (prev.children !== null) byField.set(field, mergeNodes(prev, child));
        }
      }
      r = [...byField];
      this.resolved.set(desc, r);
    }
    return r;
  }
}

function mergeNodes(a: MaskNode, b: MaskNode): MaskNode {
  const m = new MaskNode();
  m.children = new Map(a.children ?? []);
  for (const [k, v] of b.children ?? []) {
    const prev = m.children.get(k);
    if (prev === undefined || v.children === null) m.children.set(k, v);
    else if (prev.children !== null) m.children.set(k, mergeNodes(prev, v));
  }
  return m;
}

function normName(s: string): string {
  return s.replace(/_/g, "").toLowerCase();
}

function findField(desc: DescMessage, name: string): DescField | undefined {
  const exact = desc.fields.find((f) => f.name === name || f.localName === name || f.jsonName === name);
  if (exact !== undefined) return exact;
  const n = normName(name);
  return desc.fields.find((f) => normName(f.name) === n);
}

const SEGMENT_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Builds the mask tree; a path that is a prefix of another wins (keeps the subtree). */
function buildMask(paths: readonly string[], field: string): MaskNode {
  const root = new MaskNode();
  root.children = new Map();
  paths.forEach((path, i) => {
    const segs = path.split(".");
    if (segs.some((s) => !SEGMENT_RE.test(s))) {
      throw fieldError(`${field}[${i}]`, `invalid field path ${JSON.stringify(path)}`);
    }
    let node = root;
    for (let j = 0; j < segs.length; j++) {
      if (node.children === null) return; // an ancestor path already selects everything
      let child = node.children.get(segs[j]);
      const last = j === segs.length - 1;
      if (child === undefined) {
        child = new MaskNode();
        if (!last) child.children = new Map();
        node.children.set(segs[j], child);
      } else if (last) {
        child.children = null;
      }
      node = child;
    }
  });
  return root;
}

type AnyMessage = Message & Record<string, unknown>;


function isObject(v: unknown): v is AnyMessage {
  return typeof v === "object" && v !== null && !(v instanceof Uint8Array);
}

// ---- INCLUDE ---------------------------------------------------------------

const enum Zero {
  Scalar,
  List,
  Map,
  Oneof,
}

interface ZeroField {
  readonly name: string;
  readonly kind: Zero;
  readonly value: unknown;
}

const zeroPlans = new Map<DescMessage, readonly ZeroField[]>();

/** What create(desc) sets as own properties (message fields stay absent), in field order. */
function zeroPlan(desc: DescMessage): readonly ZeroField[] {
  let plan = zeroPlans.get(desc);
  if (plan === undefined) {
    const template = create(desc) as AnyMessage;
    const fields: ZeroField[] = [];
    const seenOneofs = new Set<string>();
    for (const f of desc.fields) {
      if (f.oneof !== undefined) {
        if (!seenOneofs.has(f.oneof.localName)) {
          seenOneofs.add(f.oneof.localName);
          fields.push({ name: f.oneof.localName, kind: Zero.Oneof, value: undefined });
        }
      } else if (f.fieldKind === "list") {
        fields.push({ name: f.localName, kind: Zero.List, value: undefined });
      } else if (f.fieldKind === "map") {
        fields.push({ name: f.localName, kind: Zero.Map, value: undefined });
      } else if (Object.hasOwn(template, f.localName)) {
        fields.push({ name: f.localName, kind: Zero.Scalar, value: template[f.localName] });
      }
    }
    plan = fields;
    zeroPlans.set(desc, plan);
  }
  return plan;
}

const emptyFactories = new Map<DescMessage, () => AnyMessage>();

/**
 * A fresh empty message of `desc`, equivalent to create(desc). The factory is
 * generated once per message type as a single object literal, so every
 * result has the same hidden class and no per-call reflection happens.
 */
function emptyMessage(desc: DescMessage): AnyMessage {
  let make = emptyFactories.get(desc);
  if (make === undefined) {
    const plan = zeroPlan(desc);
    const values: unknown[] = [desc.typeName];
    const entries = ['"$typeName": z[0]'];
    for (const zf of plan) {
      const key = JSON.stringify(zf.name);
      switch (zf.kind) {
        case Zero.Scalar:
          values.push(zf.value);
          entries.push(`${key}: z[${values.length - 1}]`);
          break;
        case Zero.List:
          entries.push(`${key}: []`);
          break;
        case Zero.Map:
          entries.push(`${key}: {}`);
          break;
        case Zero.Oneof:
          entries.push(`${key}: { case: undefined }`);
          break;
      }
    }
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const factory = new Function("z", `return () => ({ ${entries.join(", ")} });`) as (z: unknown[]) => () => AnyMessage;
    make = factory(values);
    emptyFactories.set(desc, make);
  }
  return make();
}

function includeValue(field: DescField, value: unknown, node: MaskNode): unknown {
  if (node.children === null) return value;
  switch (field.fieldKind) {
    case "message":
      return isObject(value) ? includeMessage(field.message, value, node) : value;
    case "list":
      if (field.listKind !== "message") return value;
      return (value as unknown[]).map((e) => (isObject(e) ? includeMessage(field.message, e, node) : e));
    case "map": {
      if (field.mapKind !== "message") return value;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        out[k] = isObject(v) ? includeMessage(field.message, v, node) : v;
      }
      return out;
    }
    default:
      return value; // sub-path of a scalar: keep the scalar
  }
}

function includeMessage(desc: DescMessage, msg: AnyMessage, node: MaskNode): AnyMessage {
  const out = emptyMessage(desc);
  const steps = node.resolve(desc);
  for (let i = 0; i < steps.length; i++) {
    const field = steps[i][0];
    const child = steps[i][1];
    if (field.oneof !== undefined) {
      const o = msg[field.oneof.localName] as { case: string | undefined; value?: unknown };
      if (o.case !== field.localName) continue;
      out[field.oneof.localName] =
        child.children === null ? o : { case: o.case, value: includeValue(field, o.value, child) };
      continue;
    }
    const v = msg[field.localName];
    if (v === undefined) continue;
    out[field.localName] = child.children === null ? v : includeValue(field, v, child);
  }
  return out;
}

// ---- EXCLUDE ---------------------------------------------------------------

/** Returns the pruned value, or the same reference when nothing changed. */
function excludeNested(field: DescField, value: unknown, node: MaskNode): unknown {
  switch (field.fieldKind) {
    case "message":
      return isObject(value) ? excludeMessage(field.message, value, node) : value;
    case "list": {
      if (field.listKind !== "message") return value;
      const arr = value as unknown[];
      let out: unknown[] | undefined;
      for (let i = 0; i < arr.length; i++) {
        const e = arr[i];
        const ne = isObject(e) ? excludeMessage(field.message, e, node) : e;
        if (ne !== e) {
          out ??= arr.slice();
          out[i] = ne;
        }
      }
      return out ?? arr;
    }
    case "map": {
      if (field.mapKind !== "message") return value;
      const obj = value as Record<string, unknown>;
      let out: Record<string, unknown> | undefined;
      for (const k of Object.keys(obj)) {
        const v = obj[k];
        const nv = isObject(v) ? excludeMessage(field.message, v, node) : v;
        if (nv !== v) {
          out ??= { ...obj };
          out[k] = nv;
        }
      }
      return out ?? obj;
    }
    default:
      return value;
  }
}

function excludeMessage(desc: DescMessage, msg: AnyMessage, node: MaskNode): AnyMessage {
  let out: AnyMessage | undefined;
  for (const [field, child] of node.resolve(desc)) {
    if (field.oneof !== undefined) {
      const name = field.oneof.localName;
      const o = msg[name] as { case: string | undefined; value?: unknown };
      if (o.case !== field.localName) continue;
      if (child.children === null) {
        out ??= shallowCopy(msg);
        out[name] = { case: undefined };
      } else {
        const nv = excludeNested(field, o.value, child);
        if (nv !== o.value) {
          out ??= shallowCopy(msg);
          out[name] = { case: o.case, value: nv };
        }
      }
      continue;
    }
    if (!isFieldSet(msg, field)) continue;
    if (child.children === null) {
      out ??= shallowCopy(msg);
      clearField(out, field);
    } else {
      const v = msg[field.localName];
      const nv = excludeNested(field, v, child);
      if (nv !== v) {
        out ??= shallowCopy(msg);
        out[field.localName] = nv;
      }
    }
  }
  return out ?? msg;
}

// ---- compile -----------------------------------------------------------------

export type Transform = (ev: GetEventsResponse) => GetEventsResponse;

/**
 * Compiles one field filter; `base` prefixes field names in errors
 * (`field_filters[i]` from compileFieldFilters, "" for a standalone filter).
 * Returns undefined for filters that never change anything.
 */
export function compileFieldFilter(ff: FieldFilter, base = ""): Transform | undefined {
  const at = (name: string): string => (base === "" ? name : `${base}.${name}`);
  if (ff.action !== FieldFilterAction.INCLUDE && ff.action !== FieldFilterAction.EXCLUDE) {
    throw fieldError(at("action"), `invalid fieldfilter action: ${ff.action}`);
  }
  const paths = ff.fields?.paths ?? [];
  const include = ff.action === FieldFilterAction.INCLUDE;
  if (paths.length === 0) return undefined; // empty mask: INCLUDE and EXCLUDE both keep everything
  const mask = buildMask(paths, at("fields.paths"));

  // Which event cases the filter applies to (undefined = all).
  let applies: ((c: string) => boolean) | undefined;
  if (ff.eventSet.length > 0) {
    const cases = new Set<string>();
    for (const t of ff.eventSet) {
      const c = t === EventType.UNDEF ? undefined : caseOfEventType(t);
      if (c !== undefined) cases.add(c);
    }
    const invert = ff.invertEventSet === true;
    applies = (c) => cases.has(c) !== invert;
  }

  return (ev) => {
    const e = ev.event;
    if (e.case === undefined) return ev;
    if (applies !== undefined && !applies(e.case)) return ev;
    const desc = payloadSchema(e.case);
    if (desc === undefined) return ev;
    const payload = e.value as unknown as AnyMessage;
    const pruned = include ? includeMessage(desc, payload, mask) : excludeMessage(desc, payload, mask);
    if (pruned === payload) return ev;
    const out = shallowCopy(ev);
    out.event = { case: e.case, value: pruned } as unknown as GetEventsResponse["event"];
    return out;
  };
}

/**
 * Compiles field filters into an event transform; the result is the input
 * event itself when no filter changed anything. Throws FilterError for
 * invalid actions or malformed paths (`field_filters[i].fields.paths[j]`).
 */
export function compileFieldFilters(ffs: readonly FieldFilter[]): (ev: GetEventsResponse) => GetEventsResponse {
  const transforms: Transform[] = [];
  ffs.forEach((ff, i) => {
    const t = compileFieldFilter(ff, `field_filters[${i}]`);
    if (t !== undefined) transforms.push(t);
  });
  if (transforms.length === 0) return (ev) => ev;
  if (transforms.length === 1) return transforms[0];
  return (ev) => {
    let out = ev;
    for (let i = 0; i < transforms.length; i++) out = transforms[i](out);
    return out;
  };
}
