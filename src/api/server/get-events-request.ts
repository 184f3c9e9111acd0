/**
 * Compiles a GetEventsRequest into what an EventStream needs: the allow/deny predicate
 * (Tetragon's Apply: any allow filter matches, or the list is empty, and no deny filter
 * matches), the field-filter transform and a key naming that transform. Problems are
 * thrown as RequestError with a message naming the field (`allow_list[0].binary_regex[0]:
 * invalid regex ...`); the server turns them into INVALID_ARGUMENT.
 */
import { toJsonString } from "@bufbuild/protobuf";
import {
  EventType, FieldFilterSchema, type Filter, type GetEventsRequest, type GetEventsResponse,
} from "../../api/gen/tetragon/events_pb";
import { compileEventFilter, compileFieldFilters, isFilterError } from "../../filters";
import type { Transform } from "./encode-cache";

export class RequestError extends Error {}

export interface CompiledRequest {
  filter: (ev: GetEventsResponse) => boolean;
  transform: Transform;
  transformKey: string;
}

const KNOWN_EVENT_TYPES = new Set<number>(
  Object.values(EventType).filter((v): v is number => typeof v === "number"),
);

function checkEventTypes(types: readonly number[], path: string): void {
  types.forEach((t, i) => {
    if (!KNOWN_EVENT_TYPES.has(t)) throw new RequestError(`${path}.event_set[${i}]: unknown event type ${t}`);
  });
}

function checkFilters(list: readonly Filter[], name: string): void {
  list.forEach((f, i) => checkEventTypes(f.eventSet, `${name}[${i}]`));
}

export function compileRequest(req: GetEventsRequest): CompiledRequest {
  checkFilters(req.allowList, "allow_list");
  checkFilters(req.denyList, "deny_list");
  req.fieldFilters.forEach((ff, i) => checkEventTypes(ff.eventSet, `field_filters[${i}]`));
  try {
    const filter = compileEventFilter(req.allowList, req.denyList);
    const transform = compileFieldFilters(req.fieldFilters);
    const transformKey = req.fieldFilters.map((ff) => toJsonString(FieldFilterSchema, ff)).join("\n");
    return { filter, transform, transformKey };
  } catch (err) {
    if (isFilterError(err)) throw new RequestError(err.message);
    throw err;
  }
}
