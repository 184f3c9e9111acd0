/**
 * Errors raised while compiling or parsing filters.
 *
 * `field` names the offending location in proto (snake_case) terms, e.g.
 * `allow_list[0].binary_regex[1]`, or the flag name for whole-line problems
 * of the `--export-allowlist` style JSON-lines options.
 */
export class FilterError extends Error {
  readonly field: string;
  /** 1-based line of the JSON-lines input the error belongs to, when known. */
  readonly line: number | undefined;

  constructor(field: string, message: string, line?: number) {
    super(message);
    this.name = "FilterError";
    this.field = field;
    this.line = line;
  }
}

export function isFilterError(e: unknown): e is FilterError {
  return e instanceof FilterError;
}

/** Builds a FilterError whose message is prefixed with the field path. */
export function fieldError(field: string, reason: string): FilterError {
  return new FilterError(field, field === "" ? reason : `${field}: ${reason}`);
}

/** Joins a path prefix and a field name (`allow_list[0]` + `pid` → `allow_list[0].pid`). */
export function joinPath(prefix: string, name: string): string {
  return prefix === "" ? name : `${prefix}.${name}`;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
