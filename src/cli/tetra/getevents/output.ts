/**
 * Writes events to stdout as `tetra getevents` prints them: protojson lines (`-o json`,
 * the export file's encoding), compact lines (`-o compact`; events it cannot render are
 * skipped), or with --tty-encode only the bytes written to that tty. write() returns
 * false when stdout is full, so callers can pause their source.
 */
import type { GetEventsResponse } from "../../../api/gen/tetragon/events_pb";
import { encodeEventJson } from "../../../encode/json";
import { CompactEncodeError, encodeCompact } from "../../../encode/compact";
import type { Colorer } from "../../../encode/color";

export interface OutputOptions {
  format: "json" | "compact";
  colorer: Colorer;
  timestamps: boolean;
  ttyEncode?: string;
  debug?: (msg: string) => void;
}

export class EventWriter {
  written = 0;

  constructor(private readonly opts: OutputOptions, private readonly out: NodeJS.WritableStream = process.stdout) {}

  encode(ev: GetEventsResponse): string | Uint8Array | undefined {
    const o = this.opts;
    if (o.ttyEncode !== undefined) {
      if (ev.event.case !== "processKprobe") return undefined;
      const args = ev.event.value.args;
      const file = args[0]?.arg.case === "fileArg" ? args[0].arg.value.path : "";
      if (file !== o.ttyEncode) return undefined;
      return args[1]?.arg.case === "bytesArg" ? args[1].arg.value : new Uint8Array();
    }
    if (o.format === "json") return encodeEventJson(ev) + "\n";
    try {
      return encodeCompact(ev, { colorer: o.colorer, timestamps: o.timestamps });
    } catch (err) {
      if (!(err instanceof CompactEncodeError)) throw err;
      o.debug?.(`failed to encode event: ${err.message}`);
      return undefined;
    }
  }

  /** false when the output is full (wait for its "drain"). */
  write(ev: GetEventsResponse): boolean {
    const data = this.encode(ev);
    if (data === undefined || data.length === 0) return true;
    this.written++;
    return this.out.write(data);
  }
}
