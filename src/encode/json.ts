/**
 * Tetragon's JSON encoding of events (protojson with proto field names, 64-bit integers
 * as strings, enums by name, zero values omitted): one encoder for the export file,
 * `tetra getevents -o json` and anything else that writes JSON lines. Generated from the
 * schema (json-codegen.ts); its output equals protobuf-es `toJsonString` with
 * `useProtoFieldName` (test/unit/json-encoder*.test.ts). A process's JSON is kept by exec_id:
 * the same process is on every event it causes, with only refcnt and tid changing.
 */
import { GetEventsResponseSchema, type GetEventsResponse } from "../api/gen/tetragon/events_pb";
import { ProcessSchema } from "../api/gen/tetragon/tetragon_pb";
import { JsonCodegen } from "./json-codegen";

export const EVENT_JSON_MEMOS = [{ desc: ProcessSchema, key: "execId", volatile: ["refcnt", "tid"] }];

const encode = new JsonCodegen(EVENT_JSON_MEMOS).encoder(GetEventsResponseSchema);

export function encodeEventJson(ev: GetEventsResponse): string {
  return encode(ev);
}
