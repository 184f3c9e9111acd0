/**
 * Parsers for the agent's JSON-lines filter options:
 *  --export-allowlist / --export-denylist  (Filter),
 *  --field-filters                         (FieldFilter),
 *  --redaction-filters                     (RedactionFilter).
 * Each option holds JSON objects in protojson form, normally one per line;
 * like Tetragon's streaming JSON decoder, an object may also span lines and
 * blank lines are ignored. Every parsed object is also compiled once so that
 * bad regexes or selectors are reported at startup with their line number:
 *   `--export-allowlist line 2: binary_regex[0]: invalid regex "(": ...`
 */
import { create, fromJson } from "@bufbuild/protobuf";
import type { JsonValue } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import type { FieldFilter, Filter, RedactionFilter } from "../api/gen/tetragon/events_pb";
import { FieldFilterSchema, FilterSchema, RedactionFilterSchema } from "../api/gen/tetragon/events_pb";
import { FilterError, errorMessage, isFilterError } from "./errors";
import { compileFilterParts } from "./compile";
import { compileFieldFilter } from "./field-filters";
import { checkRedactionFilter } from "./redaction";

interface JsonChunk {
  readonly text: string;
  readonly line: number;
}

function lineError(flagName: string, line: number, reason: string, field?: string): FilterError {
  return new FilterError(field ?? flagName, `${flagName} line ${line}: ${reason}`, line);
}

/** Splits a stream of JSON values into chunks, remembering each one's first line. */
function splitJsonValues(text: string, flagName: string): JsonChunk[] {
  const chunks: JsonChunk[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === "\n") {
      line++;
      i++;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r" || c === "\uFEFF") {
      i++;
      continue;
    }
    const start = i;
    const startLine = line;
    if (c === "{" || c === "[") {
      let depth = 0;
      let inString = false;
      for (; i < n; i++) {
        const d = text[i];
        if (d === "\n") line++;
        if (inString) {
          if (d === "\\") i++;
          else if (d === '"') inString = false;
          continue;
        }
        if (d === '"') inString = true;
        else if (d === "{" || d === "[") depth++;
        else if (d === "}" || d === "]") {
          depth--;
          if (depth === 0) {
            i++;
            break;
          }
        }
      }
      if (depth !== 0) {
        throw lineError(flagName, startLine, "unexpected end of input: unterminated JSON object");
      }
    } else {
      // A scalar or garbage: take the rest of the line so JSON.parse reports it.
      while (i < n && text[i] !== "\n") i++;
    }
    chunks.push({ text: text.slice(start, i), line: startLine });
  }
  return chunks;
}

function parseObjects(text: string, flagName: string): Array<{ obj: Record<string, JsonValue>; line: number }> {
  const out: Array<{ obj: Record<string, JsonValue>; line: number }> = [];
  for (const chunk of splitJsonValues(text, flagName)) {
    let v: unknown;
    try {
      v = JSON.parse(chunk.text);
    } catch (e) {
      throw lineError(flagName, chunk.line, `invalid JSON: ${errorMessage(e)}`);
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      throw lineError(flagName, chunk.line, `expected a JSON object, got ${chunk.text.trim()}`);
    }
    out.push({ obj: v as Record<string, JsonValue>, line: chunk.line });
  }
  return out;
}

function rethrowCompile(e: unknown, flagName: string, line: number): never {
  if (isFilterError(e)) throw lineError(flagName, line, e.message, e.field);
  throw lineError(flagName, line, errorMessage(e));
}

export interface ParseFilterOptions {
  /**
   * Accept `pid_set` filters (Tetragon's `--enable-pid-set-filter`). Default
   * true; the agent passes its flag value to reject them as Tetragon does.
   */
  readonly enablePidSetFilter?: boolean;
}

/** Parses `--export-allowlist` / `--export-denylist` text into Filters. */
export function parseFilterLines(text: string, flagName: string, opts: ParseFilterOptions = {}): Filter[] {
  const result: Filter[] = [];
  for (const { obj, line } of parseObjects(text, flagName)) {
    let f: Filter;
    try {
      f = fromJson(FilterSchema, obj);
    } catch (e) {
      throw lineError(flagName, line, errorMessage(e));
    }
    if (f.pidSet.length > 0 && opts.enablePidSetFilter === false) {
      throw lineError(
        flagName,
        line,
        "pidSet filters use a best-effort approach for tracking PIDs and are intended for testing/development, not for production (pass the --enable-pid-set-filter to ignore)",
        "pid_set",
      );
    }
    try {
      compileFilterParts(f);
    } catch (e) {
      rethrowCompile(e, flagName, line);
    }
    result.push(f);
  }
  return result;
}

function snakeCase(seg: string): string {
  return seg.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * Parses `--field-filters` text. `fields` is the FieldMask JSON form, a
 * comma-separated string; unlike strict protojson, snake_case paths are
 * accepted (Tetragon's documented form, e.g. `process.start_time`).
 */
export function parseFieldFilterLines(text: string, flagName: string): FieldFilter[] {
  const result: FieldFilter[] = [];
  for (const { obj, line } of parseObjects(text, flagName)) {
    let ff: FieldFilter;
    try {
      const { fields, ...rest } = obj;
      if (fields !== undefined && fields !== null && typeof fields !== "string") {
        throw new Error(`"fields" must be a comma-separated string of paths`);
      }
      ff = fromJson(FieldFilterSchema, rest);
      if (typeof fields === "string") {
        const paths = fields
          .split(",")
          .map((p) => p.trim())
          .filter((p) => p !== "")
          .map((p) => p.split(".").map(snakeCase).join("."));
        ff.fields = create(FieldMaskSchema, { paths });
      }
    } catch (e) {
      throw lineError(flagName, line, errorMessage(e));
    }
    try {
      compileFieldFilter(ff);
    } catch (e) {
      rethrowCompile(e, flagName, line);
    }
    result.push(ff);
  }
  return result;
}

/** Parses `--redaction-filters` text. */
export function parseRedactionFilterLines(text: string, flagName: string): RedactionFilter[] {
  const result: RedactionFilter[] = [];
  for (const { obj, line } of parseObjects(text, flagName)) {
    let rf: RedactionFilter;
    try {
      rf = fromJson(RedactionFilterSchema, obj);
    } catch (e) {
      throw lineError(flagName, line, errorMessage(e));
    }
    try {
      checkRedactionFilter(rf);
    } catch (e) {
      rethrowCompile(e, flagName, line);
    }
    result.push(rf);
  }
  return result;
}
