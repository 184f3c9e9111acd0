/**
 * Event filters of tetragon-ts: the GetEvents / export `Filter` semantics
 * of Cilium Tetragon (pkg/filters, pkg/fieldfilters).
 *
 * Contract of this folder:
 *  - `compileFilter(f)` turns one tetragon.Filter into `(ev) => boolean`.
 *    Within a Filter every set field must match (AND); the values of one
 *    repeated field are alternatives (OR); an empty Filter matches all.
 *    The predicates look at the event's `process`, `parent` and `ancestors`
 *    (see event-fields.ts), one small file per Filter field.
 *  - `compileEventFilter(allow, deny)` = (allow empty || any allow filter
 *    matches) && no deny filter matches — Tetragon's Apply(). Lists are
 *    compiled once; the per-event path looks the process up once and does
 *    not allocate. `pid_set` filters are stateful (they learn descendants);
 *    their learning sees every event even when other predicates short-circuit.
 *  - `cel_expression` is not supported: compiling it throws FilterError.
 *  - Regexes are RE2 patterns approximated with JS RegExp (regex.ts);
 *    invalid ones throw FilterError naming the field, e.g.
 *    `allow_list[0].binary_regex[1]: invalid regex "(": ...`.
 *  - `compileFieldFilters` (INCLUDE / EXCLUDE field masks) and
 *    `compileRedactionFilters` return event transforms that never mutate
 *    their input (events are shared between subscribers): they copy only
 *    along modified paths and return the input itself when nothing changes.
 *  - `parseFilterLines`, `parseFieldFilterLines`, `parseRedactionFilterLines`
 *    read the agent's JSON-lines options (`--export-allowlist`,
 *    `--export-denylist`, `--field-filters`, `--redaction-filters`) and
 *    report problems as FilterError `<flag> line N: <reason>`.
 *  - All errors raised here are FilterError (`isFilterError`).
 */
export { FilterError, isFilterError } from "./errors";
export { compileFilter, compileFilterList, compileEventFilter } from "./compile";
export { compileFieldFilters, compileFieldFilter } from "./field-filters";
export { compileRedactionFilters, redactString, REDACTION_STR } from "./redaction";
export { parseFilterLines, parseFieldFilterLines, parseRedactionFilterLines } from "./parse";
export type { ParseFilterOptions } from "./parse";
export { eventProcess, eventParent, eventAncestors, eventPolicyName, eventTypeOf } from "./event-fields";
export { parseLabelSelector, selectorMatches } from "./labels";
export type { LabelRequirement } from "./labels";
export { PidSetTracker, PID_SET_MAX_CHILDREN } from "./pid-set";
export { translateRe2, compileRegex } from "./regex";
