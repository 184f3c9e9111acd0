/**
 * The GetEventsRequest of `tetra getevents`, from its flags as Tetragon builds it: one
 * allow-list Filter (binary_regex ← --processes/--process, namespace ← --namespaces/
 * --namespace plus "" with --host, pod_regex ← --pods/--pod, event_set ← --event-types,
 * policy_names, namespace_regex, cel_expression) and INCLUDE / EXCLUDE field filters
 * from --include-fields / --exclude-fields.
 */
import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import {
  EventType, FieldFilterAction, FieldFilterSchema, FilterSchema, GetEventsRequestSchema, type GetEventsRequest,
} from "../../../api/gen/tetragon/events_pb";
import { CliError } from "../common/errors";

export interface FilterFlags {
  eventTypes: string[];
  namespaces: string[];
  processes: string[];
  pods: string[];
  host: boolean;
  policyNames: string[];
  namespaceRegex: string[];
  celExpression: string[];
  includeFields: string[];
  excludeFields: string[];
}

const EVENT_TYPE_NAMES = Object.keys(EventType).filter((k) => Number.isNaN(Number(k)));

export function eventTypeOfName(name: string): EventType {
  const v = (EventType as unknown as Record<string, number | undefined>)[name];
  if (typeof v !== "number") {
    throw new CliError(`invalid value for "event-types" flag: ${name}. Supported are ${EVENT_TYPE_NAMES.join(", ")}`);
  }
  return v;
}

export function buildRequest(f: FilterFlags): GetEventsRequest {
  const namespaces = f.host ? [...f.namespaces, ""] : f.namespaces;
  const filter = create(FilterSchema, {
    binaryRegex: f.processes,
    namespace: namespaces,
    podRegex: f.pods,
    eventSet: f.eventTypes.map(eventTypeOfName),
    policyNames: f.policyNames,
    namespaceRegex: f.namespaceRegex,
    celExpression: f.celExpression,
  });
  const fieldFilters = [];
  if (f.includeFields.length > 0) {
    fieldFilters.push(create(FieldFilterSchema, { fields: create(FieldMaskSchema, { paths: f.includeFields }), action: FieldFilterAction.INCLUDE }));
  }
  if (f.excludeFields.length > 0) {
    fieldFilters.push(create(FieldFilterSchema, { fields: create(FieldMaskSchema, { paths: f.excludeFields }), action: FieldFilterAction.EXCLUDE }));
  }
  return create(GetEventsRequestSchema, { allowList: [filter], fieldFilters });
}
