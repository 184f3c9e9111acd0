/**
 * Redaction filters (`--redaction-filters`, RedactionFilter): in the
 * arguments (and environment variables, as `KEY=VALUE`) of the event's
 * process, parent and ancestors, every capture group of a matching `redact`
 * regex is replaced by `*****`. A filter with `binary_regex` only applies to
 * processes whose binary matches one of them (each process is checked against
 * its own binary, as Tetragon redacts per process). Filters apply in order.
 * The deprecated `match` field is ignored, as in Tetragon.
 *
 * The input event is never mutated; changed processes and the messages
 * leading to them are shallow copies, and the input is returned as-is when
 * nothing was redacted.
 */
import type { GetEventsResponse, RedactionFilter } from "../api/gen/tetragon/events_pb";
import type { EnvVar, Process } from "../api/gen/tetragon/tetragon_pb";
import { compileRegexList, anyRegexMatches } from "./regex";
import { shallowCopy } from "./copy";

export const REDACTION_STR = "*****";

interface CompiledRedaction {
  readonly binary: readonly RegExp[];
  /** Compiled with the `g` and `d` flags for the replacement loop. */
  readonly redact: readonly RegExp[];
}

/**
 * Replaces each participating capture group of every match of `re` in `s`
 * with `*****` (nested groups inside an already-redacted group are skipped).
 * Returns undefined when nothing was redacted.
 */
export function redactString(re: RegExp, s: string): string | undefined {
  re.lastIndex = 0;
  let out = "";
  let cursor = 0;
  let modified = false;
  for (;;) {
    const m = re.exec(s);
    if (m === null) break;
    const idx = m.indices;
    if (idx !== undefined) {
      for (let g = 1; g < idx.length; g++) {
        const r = idx[g];
        if (r === undefined || r[0] < cursor) continue;
        out += s.slice(cursor, r[0]) + REDACTION_STR;
        cursor = r[1];
        modified = true;
      }
    }
    if (m[0].length === 0) re.lastIndex++;
    if (re.lastIndex > s.length) break;
  }
  re.lastIndex = 0;
  return modified ? out + s.slice(cursor) : undefined;
}

function redactEnv(filters: readonly CompiledRedaction[], binary: string, envs: readonly EnvVar[]): EnvVar[] | undefined {
  let out: EnvVar[] | undefined;
  for (const f of filters) {
    if (f.binary.length > 0 && !anyRegexMatches(f.binary, binary)) continue;
    const cur = out ?? envs;
    for (let i = 0; i < cur.length; i++) {
      const s = `${cur[i].Key}=${cur[i].Value}`;
      for (const re of f.redact) {
        const r = redactString(re, s);
        if (r === undefined) continue;
        const eq = r.indexOf("=");
        const copy = shallowCopy(cur[i]);
        copy.Key = eq < 0 ? r : r.slice(0, eq);
        copy.Value = eq < 0 ? "" : r.slice(eq + 1);
        out ??= envs.slice();
        out[i] = copy;
        break;
      }
    }
  }
  return out;
}

function redactProcess(filters: readonly CompiledRedaction[], p: Process | undefined): Process | undefined {
  if (p === undefined) return p;
  let args = p.arguments;
  let argsChanged = false;
  for (const f of filters) {
    if (f.binary.length > 0 && !anyRegexMatches(f.binary, p.binary)) continue;
    for (const re of f.redact) {
      const r = redactString(re, args);
      if (r !== undefined) {
        args = r;
        argsChanged = true;
      }
    }
  }
  const envs = p.environmentVariables.length > 0 ? redactEnv(filters, p.binary, p.environmentVariables) : undefined;
  if (!argsChanged && envs === undefined) return p;
  const copy = shallowCopy(p);
  if (argsChanged) copy.arguments = args;
  if (envs !== undefined) copy.environmentVariables = envs;
  return copy;
}

interface ProcessPayload {
  process?: Process;
  parent?: Process;
  ancestors: Process[];
}

function compileRedaction(rf: RedactionFilter, base: string): CompiledRedaction {
  const at = (name: string): string => (base === "" ? name : `${base}.${name}`);
  return {
    binary: compileRegexList(rf.binaryRegex, at("binary_regex")),
    redact: compileRegexList(rf.redact, at("redact"), "gd"),
  };
}

/** Validates one redaction filter; errors name `redact[j]` / `binary_regex[j]` under `base`. */
export function checkRedactionFilter(rf: RedactionFilter, base = ""): void {
  compileRedaction(rf, base);
}

/**
 * Compiles redaction filters into an event transform. Throws FilterError
 * naming `redaction_filters[i].redact[j]` / `.binary_regex[j]` for bad regexes.
 */
export function compileRedactionFilters(rfs: readonly RedactionFilter[]): (ev: GetEventsResponse) => GetEventsResponse {
  const filters = rfs.map((rf, i) => compileRedaction(rf, `redaction_filters[${i}]`));
  const active = filters.filter((f) => f.redact.length > 0);
  if (active.length === 0) return (ev) => ev;

  return (ev) => {
    const e = ev.event;
    switch (e.case) {
      case "processExec":
      case "processExit":
      case "processKprobe":
      case "processTracepoint":
      case "processUprobe":
      case "processLsm":
      case "processUsdt":
      case "processLoader":
        break;
      default:
        return ev;
    }
    const payload = e.value as ProcessPayload;
    const process = redactProcess(active, payload.process);
    const parent = redactProcess(active, payload.parent);
    let ancestors: Process[] | undefined;
    for (let i = 0; i < payload.ancestors.length; i++) {
      const a = payload.ancestors[i];
      const na = redactProcess(active, a);
      if (na !== a && na !== undefined) {
        ancestors ??= payload.ancestors.slice();
        ancestors[i] = na;
      }
    }
    if (process === payload.process && parent === payload.parent && ancestors === undefined) return ev;
    const np = shallowCopy(payload);
    if (process !== payload.process) np.process = process;
    if (parent !== payload.parent) np.parent = parent;
    if (ancestors !== undefined) np.ancestors = ancestors;
    const out = shallowCopy(ev);
    out.event = { case: e.case, value: np } as unknown as GetEventsResponse["event"];
    return out;
  };
}
