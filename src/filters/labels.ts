/**
 * `labels`: Kubernetes label selectors on process.pod.pod_labels. The listed
 * selectors are ORed; within one selector the comma-separated requirements
 * are ANDed. Grammar (k8s.io/apimachinery/pkg/labels.Parse):
 *   key            label present        !key              label absent
 *   key=v, key==v  label equals v       key!=v            absent or different
 *   key in (a,b)   label is a or b      key notin (a,b)   absent or neither
 *   key>n, key<n   label present and an integer greater / less than n
 * An empty selector selects every pod. Processes without a pod never match.
 */
import type { Predicate, PredicateBuilder } from "./types";
import { fieldError, joinPath } from "./errors";

export type LabelOperator = "exists" | "!" | "=" | "!=" | "in" | "notin" | ">" | "<";

export interface LabelRequirement {
  readonly key: string;
  readonly op: LabelOperator;
  readonly values: readonly string[];
}

export type LabelSet = { readonly [key: string]: string };

type TokKind = "id" | "!" | "=" | "==" | "!=" | "(" | ")" | "," | ">" | "<" | "eos";
interface Tok {
  readonly kind: TokKind;
  readonly text: string;
}

function isSpace(c: string): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v";
}
const SPECIAL = "!=(),<>";

function tokenize(s: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (SPECIAL.includes(c)) {
      const two = s.slice(i, i + 2);
      if (two === "==" || two === "!=") {
        toks.push({ kind: two, text: two });
        i += 2;
      } else {
        toks.push({ kind: c as TokKind, text: c });
        i += 1;
      }
      continue;
    }
    let j = i;
    while (j < s.length && !isSpace(s[j]) && !SPECIAL.includes(s[j])) j++;
    toks.push({ kind: "id", text: s.slice(i, j) });
    i = j;
  }
  toks.push({ kind: "eos", text: "" });
  return toks;
}

const NAME_RE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS1123_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function validateKey(key: string): void {
  const slash = key.indexOf("/");
  let name = key;
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    name = key.slice(slash + 1);
    if (prefix.length === 0 || prefix.length > 253 || !DNS1123_SUBDOMAIN_RE.test(prefix)) {
      throw new Error(`invalid label key "${key}": prefix must be a DNS-1123 subdomain`);
    }
  }
  if (name.length === 0 || name.length > 63 || !NAME_RE.test(name)) {
    throw new Error(
      `invalid label key "${key}": name must be 63 characters or less, begin and end with an alphanumeric character, and contain only alphanumerics, '-', '_' or '.'`,
    );
  }
}

function validateValue(v: string): void {
  if (v === "") return;
  if (v.length > 63 || !NAME_RE.test(v)) {
    throw new Error(
      `invalid label value "${v}": must be 63 characters or less, begin and end with an alphanumeric character, and contain only alphanumerics, '-', '_' or '.'`,
    );
  }
}

const INT_RE = /^[+-]?[0-9]+$/;

/** Parses a label selector; throws Error(reason) on syntax errors. */
export function parseLabelSelector(selector: string): LabelRequirement[] {
  const toks = tokenize(selector);
  let pos = 0;
  const peek = (): Tok => toks[pos];
  const next = (): Tok => toks[pos++];
  const reqs: LabelRequirement[] = [];
  if (peek().kind === "eos") return reqs;

  for (;;) {
    // requirement
    let negated = false;
    if (peek().kind === "!") {
      negated = true;
      next();
    }
    const keyTok = next();
    if (keyTok.kind !== "id") {
      throw new Error(`found '${keyTok.text || "end of string"}', expected: identifier`);
    }
    const key = keyTok.text;
    validateKey(key);
    const after = peek();
    if (after.kind === "," || after.kind === "eos") {
      reqs.push({ key, op: negated ? "!" : "exists", values: [] });
    } else {
      if (negated) {
        throw new Error(`found '${after.text}', expected: ',' or 'end of string'`);
      }
      const opTok = next();
      let op: LabelOperator;
      if (opTok.kind === "=" || opTok.kind === "==") op = "=";
      else if (opTok.kind === "!=") op = "!=";
      else if (opTok.kind === ">") op = ">";
      else if (opTok.kind === "<") op = "<";
      else if (opTok.kind === "id" && opTok.text === "in") op = "in";
      else if (opTok.kind === "id" && opTok.text === "notin") op = "notin";
      else {
        throw new Error(`found '${opTok.text}', expected: '=', '!=', '==', 'in', 'notin', '>' or '<'`);
      }
      const values: string[] = [];
      if (op === "in" || op === "notin") {
        const open = next();
        if (open.kind !== "(") throw new Error(`found '${open.text || "end of string"}', expected: '('`);
        // identifiers separated by commas; empty entries count as "".
        let expectValue = true;
        for (;;) {
          const t = next();
          if (t.kind === ")") {
            if (expectValue) values.push("");
            break;
          }
          if (t.kind === "id" && expectValue) {
            values.push(t.text);
            expectValue = false;
          } else if (t.kind === ",") {
            if (expectValue) values.push("");
            expectValue = true;
          } else {
            throw new Error(`found '${t.text || "end of string"}', expected: ',', ')' or identifier`);
          }
        }
      } else {
        const t = peek();
        if (t.kind === "id") {
          values.push(t.text);
          next();
        } else if (t.kind === "," || t.kind === "eos") {
          values.push("");
        } else {
          throw new Error(`found '${t.text}', expected: identifier`);
        }
      }
      if (op === ">" || op === "<") {
        if (!INT_RE.test(values[0])) {
          throw new Error(`for '${op}' operator, the value must be an integer, got "${values[0]}"`);
        }
      } else {
        for (const v of values) validateValue(v);
      }
      reqs.push({ key, op, values: [...new Set(values)] });
    }
    const sep = next();
    if (sep.kind === "eos") break;
    if (sep.kind !== ",") throw new Error(`found '${sep.text}', expected: ',' or 'end of string'`);
  }
  return reqs;
}

function has(labels: LabelSet, key: string): boolean {
  return Object.hasOwn(labels, key);
}

export function requirementMatches(r: LabelRequirement, labels: LabelSet): boolean {
  switch (r.op) {
    case "exists":
      return has(labels, r.key);
    case "!":
      return !has(labels, r.key);
    case "=":
    case "in":
      return has(labels, r.key) && r.values.includes(labels[r.key]);
    case "!=":
    case "notin":
      return !has(labels, r.key) || !r.values.includes(labels[r.key]);
    case ">":
    case "<": {
      if (!has(labels, r.key)) return false;
      const v = labels[r.key];
      if (!INT_RE.test(v)) return false;
      const a = BigInt(v);
      const b = BigInt(r.values[0]);
      return r.op === ">" ? a > b : a < b;
    }
  }
}

export function selectorMatches(reqs: readonly LabelRequirement[], labels: LabelSet): boolean {
  for (let i = 0; i < reqs.length; i++) {
    if (!requirementMatches(reqs[i], labels)) return false;
  }
  return true;
}

export const buildLabels: PredicateBuilder = (f, path) => {
  if (f.labels.length === 0) return undefined;
  const base = joinPath(path, "labels");
  const selectors = f.labels.map((s, i) => {
    try {
      return parseLabelSelector(s);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      throw fieldError(`${base}[${i}]`, `invalid label selector ${JSON.stringify(s)}: ${reason}`);
    }
  });
  const p: Predicate = (_ev, proc) => {
    const pod = proc?.pod;
    if (pod === undefined) return false;
    const labels = pod.podLabels;
    for (let i = 0; i < selectors.length; i++) {
      if (selectorMatches(selectors[i], labels)) return true;
    }
    return false;
  };
  return p;
};
