/**
 * tetra's connection to the agent. connect() first opens a plain socket to the address
 * (so that "nothing listens" fails fast with a clear reason instead of waiting for the
 * timeout), retrying --retries times with exponential backoff, then waits for the gRPC
 * channel to be ready within --timeout. Unary RPCs get a --timeout deadline; streams
 * have none.
 */
import * as net from "node:net";
import * as grpc from "@grpc/grpc-js";
import type { DescMethod, DescMethodServerStreaming, DescMethodUnary, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import { methodDefinition } from "../../../api/server/service-def";
import { CliError } from "./errors";
import type { GlobalOptions } from "./options";
import { debugLog } from "./options";

const BACKOFF_BASE_MS = 500;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOENT: "no such socket",
  EACCES: "permission denied",
  ETIMEDOUT: "timed out",
  EHOSTUNREACH: "host unreachable",
  ENOTFOUND: "unknown host",
  ECONNRESET: "connection reset",
};

/** Opens and closes a plain connection; resolves to undefined or the failure's reason. */
export function probeTransport(address: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let sock: net.Socket;
    if (address.startsWith("unix:")) {
      sock = net.connect(address.replace(/^unix:(\/\/)?/, ""));
    } else {
      const i = address.lastIndexOf(":");
      const host = address.slice(0, i).replace(/^\[(.*)\]$/, "$1") || "localhost";
      const port = Number(address.slice(i + 1));
      if (i < 0 || !Number.isInteger(port)) {
        resolve(`invalid address ${JSON.stringify(address)} (want host:port or unix:///path)`);
        return;
      }
      sock = net.connect({ host, port });
    }
    const timer = setTimeout(() => {
      sock.destroy();
      resolve("timed out");
    }, timeoutMs);
    sock.once("connect", () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(undefined);
    });
    sock.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve((err.code && REASONS[err.code]) || err.message);
    });
  });
}

export class TetraClient {
  private constructor(readonly address: string, private readonly client: grpc.Client, private readonly opts: GlobalOptions) {}

  static async connect(opts: GlobalOptions): Promise<TetraClient> {
    const address = opts.serverAddress;
    for (let attempt = 0; ; attempt++) {
      debugLog(opts, `connecting to ${address} (attempt ${attempt + 1})`);
      let reason = await probeTransport(address, opts.timeoutMs);
      if (reason === undefined) {
        const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
          "grpc.max_receive_message_length": opts.maxRecvSize,
          // one connection per client: a paused stream must not hold up another client's
          "grpc.use_local_subchannel_pool": 1,
        });
        try {
          await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + opts.timeoutMs, (e) => (e ? reject(e) : resolve())));
          return new TetraClient(address, client, opts);
        } catch (err) {
          client.close();
          reason = (err as Error).message;
        }
      }
      if (attempt >= opts.retries) {
        throw new CliError(`cannot connect to the tetragon agent at ${address}: ${reason} (is the agent running? see --server-address)`);
      }
      await sleep(BACKOFF_BASE_MS * 2 ** attempt);
    }
  }

  unary<M extends DescMethodUnary>(method: M, req: MessageInitShape<M["input"]>): Promise<MessageShape<M["output"]>> {
    const def = methodDefinition(method as DescMethod);
    const msg = create(method.input, req);
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        def.path, def.requestSerialize, def.responseDeserialize, msg, new grpc.Metadata(),
        { deadline: Date.now() + this.opts.timeoutMs },
        (err, res) => (err ? reject(err) : resolve(res as MessageShape<M["output"]>)),
      );
    });
  }

  serverStream<M extends DescMethodServerStreaming>(method: M, req: MessageInitShape<M["input"]>): grpc.ClientReadableStream<MessageShape<M["output"]>> {
    const def = methodDefinition(method as DescMethod);
    return this.client.makeServerStreamRequest(
      def.path, def.requestSerialize, def.responseDeserialize, create(method.input, req), new grpc.Metadata(), {},
    ) as grpc.ClientReadableStream<MessageShape<M["output"]>>;
  }

  close(): void {
    this.client.close();
  }
}

/** Connects, runs `fn`, closes. */
export async function withClient<T>(opts: GlobalOptions, fn: (c: TetraClient) => Promise<T>): Promise<T> {
  const c = await TetraClient.connect(opts);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}
