/**
 * Tetragon's JSON encoding of events (protojson with proto field names, 64-bit integers
 * as strings, enums by name, zero values omitted): one encoder for the export file,
 * `tetra getevents -o json` and anything else that writes JSON lines.
 */
import { toJsonString } from "@bufbuild/protobuf";
import { GetEventsResponseSchema, type GetEventsResponse } from "../api/gen/tetragon/events_pb";

const OPTIONS = { useProtoFieldName: true } as const;

export function encodeEventJson(ev: GetEventsResponse): string {
  return toJsonString(GetEventsResponseSchema, ev, OPTIONS);
}
