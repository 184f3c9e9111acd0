/**
 * Spelling normalization, run on the raw document before schema validation: Tetragon accepts
 * operator and action names in several spellings (`eq`, `gt`, `GT`, `saddr`, `post`, ...), so
 * names are matched case-insensitively against the canonical names and their aliases and
 * rewritten to the canonical spelling. Unknown names are left as written, so that the schema
 * rejects them with the value the user typed.
 */
import {
  ACTIONS,
  ARG_OPERATORS,
  BINARY_OPERATORS,
  CAPABILITY_SET_TYPES,
  NAMESPACE_TYPES,
  REMOVED_ACTIONS,
  RETURN_ARG_ACTIONS,
  SET_OPERATORS,
} from "./types";
import { CAPABILITIES } from "./values";

function table(names: readonly string[], aliases: Record<string, string> = {}): Map<string, string> {
  const m = new Map<string, string>();
  for (const n of names) m.set(n.toLowerCase(), n);
  for (const [a, n] of Object.entries(aliases)) m.set(a.toLowerCase(), n);
  return m;
}

const ARG_OPS = table(ARG_OPERATORS, { eq: "Equal", neq: "NotEqual", gt: "GreaterThan", lt: "LessThan" });
const BIN_OPS = table(BINARY_OPERATORS);
const SET_OPS = table(SET_OPERATORS);
const ACTION_NAMES = table([...ACTIONS, ...REMOVED_ACTIONS]);
const NS_TYPES = table(NAMESPACE_TYPES);
const CAP_TYPES = table(CAPABILITY_SET_TYPES);
const RET_ACTIONS = table(RETURN_ARG_ACTIONS);

/** Canonical name of a matchArgs operator (any case, with Tetragon's aliases), or undefined. */
export function canonicalArgOperator(op: string): string | undefined {
  return ARG_OPS.get(op.toLowerCase());
}

/** Canonical name of an action (any case), or undefined. */
export function canonicalAction(action: string): string | undefined {
  return ACTION_NAMES.get(action.toLowerCase());
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function fix(o: Obj, key: string, t: Map<string, string>): void {
  const v = o[key];
  if (typeof v === "string") {
    const c = t.get(v.toLowerCase());
    if (c !== undefined) o[key] = c;
  }
}

function each(v: unknown, f: (o: Obj) => void): void {
  if (Array.isArray(v)) for (const e of v) if (isObj(e)) f(e);
}

function normalizeSelector(sel: Obj): void {
  for (const k of ["matchArgs", "matchData", "matchReturnArgs"]) each(sel[k], (a) => fix(a, "operator", ARG_OPS));
  for (const k of ["matchBinaries", "matchParentBinaries"]) each(sel[k], (a) => fix(a, "operator", BIN_OPS));
  each(sel.matchPIDs, (a) => fix(a, "operator", SET_OPS));
  each(sel.matchNamespaces, (a) => {
    fix(a, "operator", SET_OPS);
    fix(a, "namespace", NS_TYPES);
  });
  each(sel.matchNamespaceChanges, (a) => {
    fix(a, "operator", SET_OPS);
    if (Array.isArray(a.values)) {
      a.values = a.values.map((v) => (typeof v === "string" ? (NS_TYPES.get(v.toLowerCase()) ?? v) : v));
    }
  });
  for (const k of ["matchCapabilities", "matchCapabilityChanges"]) {
    each(sel[k], (a) => {
      fix(a, "operator", SET_OPS);
      fix(a, "type", CAP_TYPES);
      if (Array.isArray(a.values)) {
        a.values = a.values.map((v) => {
          if (typeof v !== "string") return v;
          const up = v.trim().toUpperCase();
          return Object.prototype.hasOwnProperty.call(CAPABILITIES, up) ? up : v;
        });
      }
    });
  }
  for (const k of ["matchActions", "matchReturnActions"]) each(sel[k], (a) => fix(a, "action", ACTION_NAMES));
}

const HOOK_LISTS = ["kprobes", "tracepoints", "uprobes", "lsmhooks", "usdts", "fentries"];

/** Rewrites names to canonical spellings, in place, wherever the document has the right shape. */
export function normalizeSpellings(doc: unknown): void {
  if (!isObj(doc) || !isObj(doc.spec)) return;
  const spec = doc.spec;
  for (const list of HOOK_LISTS) {
    each(spec[list], (hook) => {
      fix(hook, "returnArgAction", RET_ACTIONS);
      each(hook.selectors, normalizeSelector);
    });
  }
  if (isObj(spec.selectorsMacros)) {
    for (const m of Object.values(spec.selectorsMacros)) if (isObj(m)) normalizeSelector(m);
  }
}
