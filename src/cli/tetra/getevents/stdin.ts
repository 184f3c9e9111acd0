/**
 * `cat tetragon.log | tetra getevents ...`: events read as JSON lines from stdin (unknown
 * fields ignored, unparsable lines skipped), filtered locally with the request's allow
 * list and field filters, and printed. Reading pauses while stdout is full.
 */
import * as readline from "node:readline";
import { once } from "node:events";
import { fromJsonString } from "@bufbuild/protobuf";
import { GetEventsResponseSchema, type GetEventsRequest } from "../../../api/gen/tetragon/events_pb";
import { compileEventFilter, compileFieldFilters, isFilterError } from "../../../filters";
import { CliError } from "../common/errors";
import type { EventWriter } from "./output";

/** Whether stdin carries events (a pipe or a redirected file) rather than a terminal. */
export function stdinHasEvents(fstat: () => { isFIFO(): boolean; isFile(): boolean } = () => require("node:fs").fstatSync(0)): boolean {
  try {
    const st = fstat();
    return st.isFIFO() || st.isFile();
  } catch {
    return false;
  }
}

export async function readEventsFromStdin(
  req: GetEventsRequest, writer: EventWriter, debug: (m: string) => void, input: NodeJS.ReadableStream = process.stdin,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  let filter, transform;
  try {
    filter = compileEventFilter(req.allowList, []);
    transform = compileFieldFilters(req.fieldFilters);
  } catch (err) {
    if (isFilterError(err)) throw new CliError(err.message);
    throw err;
  }
  const rl = readline.createInterface({ input, crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.trim() === "") continue;
    let ev;
    try {
      ev = fromJsonString(GetEventsResponseSchema, line, { ignoreUnknownFields: true });
    } catch (err) {
      debug(`failed unmarshal: ${line}: ${(err as Error).message}`);
      continue;
    }
    if (!filter(ev)) continue;
    if (!writer.write(transform(ev))) await once(out, "drain");
  }
}
