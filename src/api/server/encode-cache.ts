/**
 * Binary encoding of the event being published, once per distinct field-filter set:
 * every stream with the same transform key reuses the same bytes. Only the current
 * event is cached (the bus publishes one event at a time to all streams).
 */
import { toBinary } from "@bufbuild/protobuf";
import { GetEventsResponseSchema, type GetEventsResponse } from "../../api/gen/tetragon/events_pb";

export type Transform = (ev: GetEventsResponse) => GetEventsResponse;

export class EncodeCache {
  private current: GetEventsResponse | undefined;
  private readonly byKey = new Map<string, Uint8Array>();
  /** encodings done, for tests and the benchmark */
  encodings = 0;

  encode(ev: GetEventsResponse, key: string, transform: Transform): Uint8Array {
    if (ev !== this.current) {
      this.current = ev;
      this.byKey.clear();
    }
    let bytes = this.byKey.get(key);
    if (bytes === undefined) {
      bytes = toBinary(GetEventsResponseSchema, transform(ev));
      this.encodings++;
      this.byKey.set(key, bytes);
    }
    return bytes;
  }

  /** Forgets the current event (so its bytes can be collected). */
  reset(): void {
    this.current = undefined;
    this.byKey.clear();
  }
}
