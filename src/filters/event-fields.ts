/**
 * Accessors for the parts of a GetEventsResponse that filters look at.
 * They switch on `ev.event.case` and never allocate.
 */
import type { GetEventsResponse } from "../api/gen/tetragon/events_pb";
import { EventType, GetEventsResponseSchema } from "../api/gen/tetragon/events_pb";
import type { Process } from "../api/gen/tetragon/tetragon_pb";
import type { DescField, DescMessage } from "@bufbuild/protobuf";

export type EventCase = NonNullable<GetEventsResponse["event"]["case"]>;

const EMPTY: readonly Process[] = Object.freeze([]) as readonly Process[];

/** The event's `process` (exec, exit, kprobe, tracepoint, uprobe, lsm, usdt, loader). */
export function eventProcess(ev: GetEventsResponse): Process | undefined {
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
      return e.value.process;
    default:
      return undefined;
  }
}

/** The event's `parent` process, if the event type carries one. */
export function eventParent(ev: GetEventsResponse): Process | undefined {
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
      return e.value.parent;
    default:
      return undefined;
  }
}

/** The event's `ancestors` (empty unless `--enable-ancestors` populated them). */
export function eventAncestors(ev: GetEventsResponse): readonly Process[] {
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
      return e.value.ancestors;
    default:
      return EMPTY;
  }
}

/** The `policy_name` of policy-generated events, "" otherwise. */
export function eventPolicyName(ev: GetEventsResponse): string {
  const e = ev.event;
  switch (e.case) {
    case "processKprobe":
    case "processTracepoint":
    case "processUprobe":
    case "processLsm":
    case "processUsdt":
      return e.value.policyName;
    default:
      return "";
  }
}

const eventOneof = GetEventsResponseSchema.oneofs.find((o) => o.name === "event");
if (eventOneof === undefined) {
  throw new Error("GetEventsResponse has no 'event' oneof");
}

/** oneof member (localName, e.g. "processExec") → its field descriptor. */
export const EVENT_FIELDS: ReadonlyMap<string, DescField> = new Map(
  eventOneof.fields.map((f) => [f.localName, f] as const),
);

/** EventType number → oneof case; EventType values equal the oneof field numbers. */
const TYPE_TO_CASE = new Map<number, EventCase>(
  eventOneof.fields.map((f) => [f.number, f.localName as EventCase] as const),
);

/** The EventType of an event (UNDEF when the oneof is unset). */
export function eventTypeOf(ev: GetEventsResponse): EventType {
  const c = ev.event.case;
  if (c === undefined) return EventType.UNDEF;
  const f = EVENT_FIELDS.get(c);
  return f === undefined ? EventType.UNDEF : (f.number as EventType);
}

/** The oneof case for an EventType, or undefined (UNDEF, unknown numbers). */
export function caseOfEventType(t: EventType): EventCase | undefined {
  return TYPE_TO_CASE.get(t);
}

/** The payload message descriptor of an event case (e.g. ProcessExec for "processExec"). */
export function payloadSchema(c: string): DescMessage | undefined {
  const f = EVENT_FIELDS.get(c);
  return f !== undefined && f.fieldKind === "message" ? f.message : undefined;
}
