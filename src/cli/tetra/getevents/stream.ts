/**
 * `tetra getevents` against the agent: one GetEvents stream printed as it arrives, the
 * stream paused while stdout is full (so the agent's per-client queue absorbs bursts).
 * Ends on the server's end of stream or Ctrl-C; an error ends tetra with a message, or
 * with --reconnect, waits --reconnect-wait and connects again.
 */
import * as grpc from "@grpc/grpc-js";
import { FineGuidanceSensors } from "../../../api/gen/tetragon/sensors_pb";
import type { GetEventsRequest } from "../../../api/gen/tetragon/events_pb";
import { TetraClient } from "../common/client";
import { describeError, rpcFailure } from "../common/errors";
import type { GlobalOptions } from "../common/options";
import type { EventWriter } from "./output";

type Outcome = { kind: "end" } | { kind: "interrupted" } | { kind: "error"; err: unknown };

function runStream(c: TetraClient, req: GetEventsRequest, writer: EventWriter, out: NodeJS.WritableStream): Promise<Outcome> {
  return new Promise((resolve) => {
    const call = c.serverStream(FineGuidanceSensors.method.getEvents, req);
    let interrupted = false;
    const onSignal = (): void => {
      interrupted = true;
      call.cancel();
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    const finish = (o: Outcome): void => {
      process.removeListener("SIGINT", onSignal);
      process.removeListener("SIGTERM", onSignal);
      resolve(o);
    };
    call.on("data", (ev) => {
      if (!writer.write(ev)) {
        call.pause();
        out.once("drain", () => call.resume());
      }
    });
    call.on("end", () => finish(interrupted ? { kind: "interrupted" } : { kind: "end" }));
    call.on("error", (err: grpc.ServiceError) => {
      if (interrupted || err.code === grpc.status.CANCELLED) finish({ kind: "interrupted" });
      else finish({ kind: "error", err });
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface StreamOptions {
  reconnect: boolean;
  reconnectWaitMs: number;
}

export async function streamEvents(
  g: GlobalOptions, so: StreamOptions, req: GetEventsRequest, writer: EventWriter, out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  for (;;) {
    let client: TetraClient;
    try {
      client = await TetraClient.connect(g);
    } catch (err) {
      if (!so.reconnect) throw err;
      process.stderr.write(`${describeError(err)}; reconnecting in ${so.reconnectWaitMs / 1000}s\n`);
      await sleep(so.reconnectWaitMs);
      continue;
    }
    const outcome = await runStream(client, req, writer, out);
    client.close();
    if (outcome.kind !== "error") return;
    const err = outcome.err as grpc.ServiceError;
    if (!so.reconnect || err.code === grpc.status.INVALID_ARGUMENT || err.code === grpc.status.UNIMPLEMENTED) {
      throw rpcFailure(err.code === grpc.status.INVALID_ARGUMENT ? "failed to call GetEvents" : "failed to receive events", err);
    }
    process.stderr.write(`${describeError(err)}; reconnecting in ${so.reconnectWaitMs / 1000}s\n`);
    await sleep(so.reconnectWaitMs);
  }
}
