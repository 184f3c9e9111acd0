/**
 * FineGuidanceSensors.GetEvents: validates and compiles the request (INVALID_ARGUMENT on
 * a bad regex, unknown event type, bad field mask ...), then registers an EventStream
 * with the hub until the client goes away or the server stops.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import type { ServerWritableStream } from "@grpc/grpc-js";
import {
  GetEventsResponseSchema, RateLimitInfoSchema, type GetEventsRequest,
} from "../../../api/gen/tetragon/events_pb";
import { nowTimestamp } from "../../../process/ktime";
import type { ServerDeps } from "../deps";
import type { EventHub } from "../event-hub";
import { EventStream } from "../event-stream";
import { callSink } from "../call-sink";
import { compileRequest, RequestError, type CompiledRequest } from "../get-events-request";
import { grpcError, invalidArgument, unavailable } from "../status";
import { status } from "@grpc/grpc-js";

export function rateLimitInfoBytes(nodeName: string, dropped: number): Uint8Array {
  return toBinary(
    GetEventsResponseSchema,
    create(GetEventsResponseSchema, {
      nodeName,
      time: nowTimestamp(),
      event: { case: "rateLimitInfo", value: create(RateLimitInfoSchema, { numberOfDroppedProcessEvents: BigInt(dropped) }) },
    }),
  );
}

export function getEventsHandler(deps: ServerDeps, hub: EventHub) {
  return (call: ServerWritableStream<GetEventsRequest, Uint8Array>): void => {
    const req = call.request;
    let compiled: CompiledRequest;
    try {
      compiled = compileRequest(req);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      deps.log.warn({ err: msg }, "GetEvents request rejected");
      call.emit("error", err instanceof RequestError ? invalidArgument(msg) : grpcError(status.INTERNAL, msg));
      return;
    }
    const peer = call.getPeer();
    deps.log.debug({ peer, allowList: req.allowList.length, denyList: req.denyList.length, fieldFilters: req.fieldFilters.length }, "Received a GetEvents request");
    const stream = new EventStream(callSink(call as ServerWritableStream<unknown, unknown>), {
      ...compiled,
      capacity: deps.config["event-queue-size"],
      rateLimitInfo: (n) => rateLimitInfoBytes(deps.nodeName, n),
      onDrop: () => deps.metrics?.notifyOverflowed.inc(),
    });
    hub.add(stream, () => call.emit("error", unavailable("the tetragon agent is shutting down")));
    let done = false;
    const close = (): void => {
      if (done) return;
      done = true;
      hub.remove(stream);
      if (stream.dropped > 0) deps.log.info({ peer, dropped: stream.dropped, sent: stream.sent }, "GetEvents client fell behind; events were dropped");
      deps.log.debug({ peer, sent: stream.sent }, "GetEvents stream closed");
    };
    call.on("cancelled", close);
    call.on("close", close);
    call.on("error", close);
    call.on("finish", close);
  };
}
