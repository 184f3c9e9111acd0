/**
 * Compiles Filter messages into predicates over GetEventsResponse.
 * Within one Filter all set fields must match (AND); the values of one
 * repeated field are alternatives (OR). Allow lists pass an event when they
 * are empty or any filter matches; deny lists pass it when no filter matches.
 */
import type { Filter, GetEventsResponse } from "../api/gen/tetragon/events_pb";
import type { Process } from "../api/gen/tetragon/tetragon_pb";
import type { Observer, Predicate, PredicateBuilder } from "./types";
import { fieldError, joinPath } from "./errors";
import { eventProcess } from "./event-fields";
import { buildEventSet } from "./event-set";
import { buildPid } from "./pid";
import { buildPidSet } from "./pid-set";
import { buildNamespace } from "./namespace";
import { buildPolicyNames } from "./policy-names";
import { buildInInitTree } from "./in-init-tree";
import { buildHealthCheck } from "./health-check";
import { buildCapabilities } from "./capabilities";
import { buildBinaryRegex } from "./binary-regex";
import { buildArgumentsRegex } from "./arguments-regex";
import { buildParentBinaryRegex } from "./parent-binary-regex";
import { buildParentArgumentsRegex } from "./parent-arguments-regex";
import { buildAncestorBinaryRegex } from "./ancestor-binary-regex";
import { buildPodRegex } from "./pod-regex";
import { buildNamespaceRegex } from "./namespace-regex";
import { buildContainerNameRegex } from "./container-name-regex";
import { buildContainerId } from "./container-id";
import { buildLabels } from "./labels";

/** Builders in evaluation order: cheap, selective checks first. */
const BUILDERS: readonly PredicateBuilder[] = [
  buildPidSet, // stateful; its learning runs in observe() regardless of order
  buildEventSet,
  buildPid,
  buildNamespace,
  buildPolicyNames,
  buildInInitTree,
  buildHealthCheck,
  buildCapabilities,
  buildBinaryRegex,
  buildArgumentsRegex,
  buildParentBinaryRegex,
  buildParentArgumentsRegex,
  buildAncestorBinaryRegex,
  buildPodRegex,
  buildNamespaceRegex,
  buildContainerNameRegex,
  buildContainerId,
  buildLabels,
];

/** Internal form: a pure matcher plus the observers of its stateful parts. */
export interface CompiledFilter {
  readonly match: (ev: GetEventsResponse, proc: Process | undefined) => boolean;
  readonly observers: readonly Observer[];
}

const always = (): boolean => true;

function and(preds: readonly Predicate[]): (ev: GetEventsResponse, proc: Process | undefined) => boolean {
  switch (preds.length) {
    case 0:
      return always;
    case 1:
      return preds[0];
    case 2: {
      const [a, b] = preds;
      return (ev, proc) => a(ev, proc) && b(ev, proc);
    }
    default:
      return (ev, proc) => {
        for (let i = 0; i < preds.length; i++) {
          if (!preds[i](ev, proc)) return false;
        }
        return true;
      };
  }
}

/** Compiles one Filter; errors name fields relative to `path`. */
export function compileFilterParts(f: Filter, path = ""): CompiledFilter {
  if (f.celExpression.length > 0) {
    throw fieldError(
      joinPath(path, "cel_expression[0]"),
      "CEL expressions are not supported by tetragon-ts",
    );
  }
  const preds: Predicate[] = [];
  const observers: Observer[] = [];
  for (const build of BUILDERS) {
    const p = build(f, path);
    if (p === undefined) continue;
    preds.push(p);
    if (p.observe !== undefined) observers.push(p.observe);
  }
  return { match: and(preds), observers };
}

function runObservers(observers: readonly Observer[], ev: GetEventsResponse, proc: Process | undefined): void {
  for (let i = 0; i < observers.length; i++) observers[i](ev, proc);
}

/**
 * Compiles one Filter into `(ev) => boolean`: true when every set field of
 * the filter matches. An empty Filter matches every event.
 * Throws FilterError (e.g. `binary_regex[1]: invalid regex "(": ...`).
 */
export function compileFilter(f: Filter, path = ""): (ev: GetEventsResponse) => boolean {
  const c = compileFilterParts(f, path);
  const { match, observers } = c;
  if (observers.length === 0) return (ev) => match(ev, eventProcess(ev));
  return (ev) => {
    const proc = eventProcess(ev);
    runObservers(observers, ev, proc);
    return match(ev, proc);
  };
}

interface CompiledList {
  readonly any: (ev: GetEventsResponse, proc: Process | undefined) => boolean;
  readonly observers: readonly Observer[];
  readonly size: number;
}

function compileListParts(list: readonly Filter[], kind: "allow" | "deny"): CompiledList {
  const prefix = kind === "allow" ? "allow_list" : "deny_list";
  const parts = list.map((f, i) => compileFilterParts(f, `${prefix}[${i}]`));
  const matchers = parts.map((p) => p.match);
  const observers = parts.flatMap((p) => p.observers);
  let any: CompiledList["any"];
  if (matchers.length === 1) {
    any = matchers[0];
  } else {
    any = (ev, proc) => {
      for (let i = 0; i < matchers.length; i++) {
        if (matchers[i](ev, proc)) return true;
      }
      return false;
    };
  }
  return { any, observers, size: list.length };
}

/**
 * Compiles an allow or deny list into a "passes this list" predicate:
 *  - allow: true when the list is empty or any filter matches;
 *  - deny:  true when no filter matches (an empty list passes everything).
 * Errors name fields as `allow_list[i]...` / `deny_list[i]...`.
 */
export function compileFilterList(list: readonly Filter[], kind: "allow" | "deny"): (ev: GetEventsResponse) => boolean {
  const c = compileListParts(list, kind);
  if (c.size === 0) return always;
  const { any, observers } = c;
  const negate = kind === "deny";
  return (ev) => {
    const proc = eventProcess(ev);
    runObservers(observers, ev, proc);
    return any(ev, proc) !== negate;
  };
}

/**
 * GetEvents / export filtering: `(allow empty || any allow matches) && no deny matches`.
 * Stateful filters (pid_set) of both lists see every event.
 */
export function compileEventFilter(allow: readonly Filter[], deny: readonly Filter[]): (ev: GetEventsResponse) => boolean {
  const a = compileListParts(allow, "allow");
  const d = compileListParts(deny, "deny");
  if (a.size === 0 && d.size === 0) return always;
  const observers = [...a.observers, ...d.observers];
  const allowAny = a.size === 0 ? always : a.any;
  const denyAny = d.size === 0 ? (): boolean => false : d.any;
  if (observers.length === 0) {
    return (ev) => {
      const proc = eventProcess(ev);
      return allowAny(ev, proc) && !denyAny(ev, proc);
    };
  }
  return (ev) => {
    const proc = eventProcess(ev);
    runObservers(observers, ev, proc);
    return allowAny(ev, proc) && !denyAny(ev, proc);
  };
}
