/** `event_set`: the event's type (GetEventsResponse oneof case) is listed. */
import type { Predicate, PredicateBuilder } from "./types";
import { caseOfEventType } from "./event-fields";
import { EventType } from "../api/gen/tetragon/events_pb";

export const buildEventSet: PredicateBuilder = (f) => {
  if (f.eventSet.length === 0) return undefined;
  const cases = new Set<string | undefined>();
  for (const t of f.eventSet) {
    if (t === EventType.UNDEF) {
      cases.add(undefined); // an event without payload has type UNDEF
    } else {
      const c = caseOfEventType(t);
      if (c !== undefined) cases.add(c);
    }
  }
  const p: Predicate = (ev) => cases.has(ev.event.case);
  return p;
};
