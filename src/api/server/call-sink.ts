/**
 * The StreamSink of a grpc-js server-streaming call.
 *
 * grpc-js's ServerWritableStream hands messages to HTTP/2 one at a time (each waits for
 * the previous write's callback) and asks for "drain" after 16, which costs tens of
 * microseconds per event under load. When the call exposes grpc-js's intercepting call
 * (`sendMessage`; grpc-js >= 1.10 without server interceptors, checked at run time),
 * messages are handed to it directly, and each flush is corked into one HTTP/2 write;
 * otherwise the public Writable API is used. Either way at most MAX_IN_FLIGHT messages
 * wait in grpc-js/HTTP/2 buffers before the stream waits for "drain".
 */
import type { ServerWritableStream } from "@grpc/grpc-js";
import type { StreamSink } from "./event-stream";

export const MAX_IN_FLIGHT = 512;

interface InterceptingCall {
  sendMessage(message: unknown, callback: () => void): void;
  stream?: { cork?: () => void; uncork?: () => void };
}

function interceptingCall(call: ServerWritableStream<unknown, unknown>): InterceptingCall | undefined {
  // BaseServerInterceptingCall (it owns the HTTP/2 stream); an interceptor's wrapper
  // handles one message at a time and is left to the Writable path
  const inner = (call as unknown as { call?: InterceptingCall }).call;
  return inner && typeof inner.sendMessage === "function" && inner.stream ? inner : undefined;
}

/** Direct hand-over to grpc-js's call, counting messages whose write has not completed. */
function directSink(inner: InterceptingCall): StreamSink {
  let inFlight = 0;
  let onDrain: (() => void) | undefined;
  const done = (): void => {
    inFlight--;
    if (onDrain && inFlight <= MAX_IN_FLIGHT / 2) {
      const cb = onDrain;
      onDrain = undefined;
      cb();
    }
  };
  const h2 = inner.stream;
  return {
    write(bytes) {
      inFlight++;
      inner.sendMessage(bytes, done);
      return inFlight < MAX_IN_FLIGHT;
    },
    once(_event, cb) {
      onDrain = cb;
    },
    cork: h2 && typeof h2.cork === "function" ? () => h2.cork!() : undefined,
    uncork: h2 && typeof h2.uncork === "function" ? () => h2.uncork!() : undefined,
  };
}

/** The public Writable API, tolerating grpc-js's small high-water mark up to MAX_IN_FLIGHT. */
function writableSink(call: ServerWritableStream<unknown, unknown>): StreamSink {
  return {
    write(bytes) {
      return call.write(bytes) || call.writableLength < MAX_IN_FLIGHT;
    },
    once(event, cb) {
      call.once(event, cb);
    },
  };
}

export function callSink(call: ServerWritableStream<unknown, unknown>, direct = true): StreamSink {
  const inner = direct ? interceptingCall(call) : undefined;
  return inner ? directSink(inner) : writableSink(call);
}
