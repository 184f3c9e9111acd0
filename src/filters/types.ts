/**
 * Shared types of the filter predicates.
 */
import type { Filter, GetEventsResponse } from "../api/gen/tetragon/events_pb";
import type { Process } from "../api/gen/tetragon/tetragon_pb";

/** Called for every event a filter sees, before any predicate runs (stateful filters). */
export type Observer = (ev: GetEventsResponse, proc: Process | undefined) => void;

/**
 * One compiled Filter field. `proc` is `eventProcess(ev)`, looked up once per
 * event by the caller. Predicates must be pure: they may be skipped when an
 * earlier predicate already failed. State changes go into `observe`, which the
 * caller runs for every event.
 */
export interface Predicate {
  (ev: GetEventsResponse, proc: Process | undefined): boolean;
  observe?: Observer;
}

/**
 * Builds the predicate for one Filter field, or returns undefined when the
 * field is unset. `path` is the Filter's location (e.g. `allow_list[0]`), used
 * to name fields in errors.
 */
export type PredicateBuilder = (f: Filter, path: string) => Predicate | undefined;
