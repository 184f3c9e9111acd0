/**
 * Reading a policy document: YAML (exactly one document, duplicate keys rejected) → spelling
 * normalization → schema validation with defaults (ajv) → semantic checks → typed policy.
 * Any problem rejects the whole document with a PolicyError listing every issue found.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from "ajv";
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document } from "yaml";
import { PolicyError } from "./errors";
import { normalizeSpellings } from "./normalize";
import { CRD_OPERATOR_SPELLINGS, strictSchema } from "./schema";
import type { ParseOptions, PolicyIssue, TracingPolicy } from "./types";
import { REMOVED_ACTIONS } from "./types";
import { validatePolicy } from "./validate";

/** Path used for problems of the YAML text itself (syntax, several documents, ...). */
export const DOCUMENT_PATH = "<document>";

/** Object fields whose keys are user data (printed as `labels[app.kubernetes.io/name]`). */
const MAP_FIELDS = new Set(["labels", "annotations", "matchLabels", "selectorsMacros"]);

type Seg = string | number;

/** Formats path segments in Kubernetes style: `spec.kprobes[0].selectors[1].matchArgs`. */
export function formatPath(segs: readonly Seg[]): string {
  let out = "";
  segs.forEach((s, i) => {
    const prev = segs[i - 1];
    if (typeof s === "number") out += `[${s}]`;
    else if (typeof prev === "string" && MAP_FIELDS.has(prev)) out += `[${s}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(s)) out += (out ? "." : "") + s;
    else out += `[${s}]`;
  });
  return out || DOCUMENT_PATH;
}

/** Inverse of formatPath (best effort), used to find the line of a path in the YAML. */
function splitPath(path: string): Seg[] {
  const segs: Seg[] = [];
  const re = /([A-Za-z_$][A-Za-z0-9_$-]*)|\[([^\]]*)\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(path)) !== null) {
    if (m[1] !== undefined) segs.push(m[1]);
    else {
      const prev = segs[segs.length - 1];
      segs.push(/^[0-9]+$/.test(m[2]) && !(typeof prev === "string" && MAP_FIELDS.has(prev)) ? Number(m[2]) : m[2]);
    }
  }
  return segs;
}

let validator: ValidateFunction | undefined;

function getValidator(): ValidateFunction {
  if (validator) return validator;
  const ajv = new Ajv({ strict: true, allErrors: true, useDefaults: true, code: { optimize: false } });
  ajv.addKeyword({ keyword: "x-kubernetes-preserve-unknown-fields", schemaType: "boolean" });
  ajv.addFormat("int32", {
    type: "number",
    validate: (n: number) => Number.isInteger(n) && n >= -2147483648 && n <= 2147483647,
  });
  ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isInteger(n) });
  validator = ajv.compile(strictSchema());
  return validator;
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function show(v: unknown): string {
  return typeof v === "string" ? `'${v}'` : JSON.stringify(v);
}

/** Converts an ajv instancePath (JSON pointer) to segments, using the data to tell indexes apart. */
function pointerSegs(pointer: string, root: unknown): Seg[] {
  if (pointer === "") return [];
  const segs: Seg[] = [];
  let cur: unknown = root;
  for (const raw of pointer.slice(1).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(cur)) {
      segs.push(Number(key));
      cur = cur[Number(key)];
    } else {
      segs.push(key);
      cur = cur && typeof cur === "object" ? (cur as Record<string, unknown>)[key] : undefined;
    }
  }
  return segs;
}

function dataAt(root: unknown, segs: readonly Seg[]): unknown {
  let cur: unknown = root;
  for (const s of segs) cur = cur && typeof cur === "object" ? (cur as Record<string | number, unknown>)[s] : undefined;
  return cur;
}

function schemaIssue(err: ErrorObject, root: unknown): PolicyIssue {
  const segs = pointerSegs(err.instancePath, root);
  const e = { ...err, data: dataAt(root, segs) };
  const last = segs[segs.length - 1];
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "required":
      return { path: formatPath([...segs, String(p.missingProperty)]), reason: "required field is missing" };
    case "additionalProperties":
      return { path: formatPath([...segs, String(p.additionalProperty)]), reason: `unknown field '${String(p.additionalProperty)}'` };
    case "type":
      if (segs.length === 0) return { path: DOCUMENT_PATH, reason: `must be a mapping (a TracingPolicy object), got ${typeName(e.data)}` };
      return { path: formatPath(segs), reason: `must be of type ${String(p.type)}, got ${typeName(e.data)}` };
    case "enum": {
      const allowed = (p.allowedValues as unknown[]).map(String)
        .filter((v) => !(CRD_OPERATOR_SPELLINGS as readonly string[]).includes(v));
      if (last === "operator" && segs.some((s) => typeof s === "string" && /^match(Args|Data|ReturnArgs)$/.test(s))) {
        return { path: formatPath(segs), reason: `unknown operator ${show(e.data)}: supported operators: ${allowed.join(", ")}` };
      }
      if (last === "action") {
        if ((REMOVED_ACTIONS as readonly string[]).includes(String(e.data))) {
          return { path: formatPath(segs), reason: `action '${String(e.data)}' was removed from Tetragon (deprecated in 1.5)` };
        }
        return { path: formatPath(segs), reason: `unknown action ${show(e.data)}: supported actions: ${allowed.join(", ")}` };
      }
      if (last === "operator") {
        return { path: formatPath(segs), reason: `unknown operator ${show(e.data)}: supported operators: ${allowed.join(", ")}` };
      }
      return { path: formatPath(segs), reason: `unsupported value ${show(e.data)}: supported values: ${allowed.join(", ")}` };
    }
    case "maxItems":
      return { path: formatPath(segs), reason: `must have at most ${String(p.limit)} items, got ${(e.data as unknown[]).length}` };
    case "minimum":
      return { path: formatPath(segs), reason: `must be greater than or equal to ${String(p.limit)}, got ${String(e.data)}` };
    case "maximum":
      return { path: formatPath(segs), reason: `must be less than or equal to ${String(p.limit)}, got ${String(e.data)}` };
    case "format":
      return { path: formatPath(segs), reason: `${String(e.data)} is out of range for ${p.format === "int32" ? "a 32-bit" : "a 64-bit"} integer` };
    case "minLength":
      return { path: formatPath(segs), reason: "must not be empty" };
    case "maxLength":
      return { path: formatPath(segs), reason: `must be at most ${String(p.limit)} characters, got ${String(e.data).length}` };
    case "pattern":
      if (last === "name" && segs[0] === "metadata") {
        return {
          path: formatPath(segs),
          reason: `${show(e.data)} is not a valid name: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (RFC 1123 subdomain)`,
        };
      }
      return { path: formatPath(segs), reason: `${show(e.data)} must match ${String(p.pattern)}` };
    default:
      return { path: formatPath(segs), reason: e.message ?? e.keyword };
  }
}

function dedupe(issues: PolicyIssue[]): PolicyIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.path}\u0000${i.reason}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function nameOf(obj: unknown): string | undefined {
  if (obj && typeof obj === "object" && !Array.isArray(obj)) {
    const md = (obj as Record<string, unknown>).metadata;
    if (md && typeof md === "object") {
      const n = (md as Record<string, unknown>).name;
      if (typeof n === "string" && n !== "") return n;
    }
  }
  return undefined;
}

function check(obj: unknown, source: string | undefined, options: ParseOptions, lineOf?: (path: string) => number | undefined): TracingPolicy {
  normalizeSpellings(obj);
  const validate = getValidator();
  const withLines = (issues: PolicyIssue[]): PolicyIssue[] =>
    lineOf ? issues.map((i) => {
      const line = lineOf(i.path);
      return line === undefined ? i : { ...i, line };
    }) : issues;
  if (!validate(obj)) {
    const issues = dedupe((validate.errors ?? []).map((e) => schemaIssue(e, obj)));
    throw new PolicyError(withLines(issues), nameOf(obj), source);
  }
  const tp = obj as TracingPolicy;
  const issues = validatePolicy(tp, options);
  if (issues.length) throw new PolicyError(withLines(issues), tp.metadata.name, source);
  return tp;
}

/** Reports every duplicate mapping key, with its path and line. */
function duplicateKeys(doc: Document, lc: LineCounter): PolicyIssue[] {
  const out: PolicyIssue[] = [];
  const walk = (node: unknown, segs: Seg[]): void => {
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        if (seen.has(key)) {
          const off = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
          out.push({
            path: formatPath([...segs, key]),
            reason: "duplicate key",
            ...(off !== undefined ? { line: lc.linePos(off).line } : {}),
          });
        }
        seen.add(key);
        walk(pair.value, [...segs, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...segs, i]));
    }
  };
  walk(doc.contents, []);
  return out;
}

/**
 * Parses and validates one TracingPolicy / TracingPolicyNamespaced YAML document. Throws a
 * PolicyError (with every issue found) when anything is wrong; otherwise returns the policy with
 * defaults applied and names normalized. `source` (a file name, "grpc", ...) only appears in
 * the error message.
 */
export function parsePolicy(text: string, source?: string, options: ParseOptions = {}): TracingPolicy {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { uniqueKeys: true, lineCounter: lc, prettyErrors: true });
  const all = Array.isArray(docs) ? docs : [];
  const nonEmpty = all.filter((d) => d.contents !== null || d.errors.length > 0);
  if (nonEmpty.length === 0) {
    throw new PolicyError([{ path: DOCUMENT_PATH, reason: "empty document: expected one TracingPolicy" }], undefined, source);
  }
  if (nonEmpty.length > 1) {
    const line = nonEmpty[1].range ? lc.linePos(nonEmpty[1].range[0]).line : undefined;
    throw new PolicyError(
      [{ path: DOCUMENT_PATH, reason: `${nonEmpty.length} YAML documents found: a policy must be exactly one document`, ...(line ? { line } : {}) }],
      undefined,
      source,
    );
  }
  const doc = nonEmpty[0];
  if (doc.errors.length > 0) {
    const issues: PolicyIssue[] = [];
    const dups = duplicateKeys(doc, lc);
    for (const e of doc.errors) {
      if (e.code === "DUPLICATE_KEY") continue;
      const pos = e.linePos?.[0];
      const msg = e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
      issues.push({
        path: DOCUMENT_PATH,
        reason: `invalid YAML${pos ? ` at line ${pos.line}, column ${pos.col}` : ""}: ${msg}`,
        ...(pos ? { line: pos.line } : {}),
      });
    }
    let obj: unknown;
    try {
      obj = doc.toJS();
    } catch {
      obj = undefined;
    }
    throw new PolicyError(dedupe([...dups, ...issues]), nameOf(obj), source);
  }
  let obj: unknown;
  try {
    obj = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new PolicyError([{ path: DOCUMENT_PATH, reason: `invalid YAML: ${(e as Error).message}` }], undefined, source);
  }
  const lineOf = (path: string): number | undefined => {
    if (path === DOCUMENT_PATH) return undefined;
    const segs = splitPath(path);
    while (segs.length) {
      const node = doc.getIn(segs, true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === "object" && node.range) return lc.linePos(node.range[0]).line;
      segs.pop();
    }
    return undefined;
  };
  return check(obj, source, options, lineOf);
}

/**
 * Validates an already-decoded policy object (gRPC JSON, Kubernetes object). The input is not
 * modified: a validated copy with defaults applied is returned.
 */
export function parsePolicyObject(obj: unknown, source?: string, options: ParseOptions = {}): TracingPolicy {
  let copy: unknown;
  try {
    copy = structuredClone(obj);
  } catch (e) {
    throw new PolicyError([{ path: DOCUMENT_PATH, reason: `not plain data: ${(e as Error).message}` }], undefined, source);
  }
  return check(copy, source, options);
}
