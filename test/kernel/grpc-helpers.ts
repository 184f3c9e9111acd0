/**
 * Helpers of the gRPC kernel tests: GetEvents streams collected as Tetragon JSON
 * (the export encoding, so predicates read like the export file), free ports, waits.
 */
import * as net from "node:net";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type * as grpc from "@grpc/grpc-js";
import { FineGuidanceSensors } from "../../src/api/gen/tetragon/sensors_pb";
import type { GetEventsResponse } from "../../src/api/gen/tetragon/events_pb";
import { encodeEventJson } from "../../src/encode/json";
import { TetraClient } from "../../src/cli/tetra/common/client";
import type { JsonEvent } from "../helpers/agent";

export type EventsRequest = MessageInitShape<typeof FineGuidanceSensors.method.getEvents.input>;

export interface Stream {
  call: grpc.ClientReadableStream<GetEventsResponse>;
  /** the events received so far, as Tetragon JSON (converted on first access) */
  readonly events: JsonEvent[];
  raw: GetEventsResponse[];
  error?: grpc.ServiceError;
  ended: boolean;
}

export function connect(address: string): Promise<TetraClient> {
  // the deadline tetra itself uses (--timeout 30s): a first policy loads and verifies the generic programs
  return TetraClient.connect({ serverAddress: address, timeoutMs: 30000, retries: 2, maxRecvSize: 10 << 20, debug: false });
}

export function openStream(c: TetraClient, req: EventsRequest): Stream {
  const call = c.serverStream(FineGuidanceSensors.method.getEvents, req);
  const json: JsonEvent[] = [];
  const s: Stream = {
    call,
    raw: [],
    ended: false,
    get events() {
      for (let i = json.length; i < s.raw.length; i++) json.push(JSON.parse(encodeEventJson(s.raw[i])));
      return json;
    },
  };
  call.on("data", (e: GetEventsResponse) => s.raw.push(e));
  call.on("error", (e: grpc.ServiceError) => (s.error = e));
  call.on("end", () => (s.ended = true));
  return s;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitUntil(cond: () => boolean, what: string, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** The payload of a JSON event (process_exec, process_exit, ...). */
export function payload(e: JsonEvent): Record<string, any> | undefined {
  const k = Object.keys(e).find((x) => x.startsWith("process_") || x === "rate_limit_info");
  return k ? e[k] : undefined;
}

export function typeOf(e: JsonEvent): string {
  return Object.keys(e).find((x) => x.startsWith("process_") || x === "rate_limit_info") ?? "";
}

/** `type:exec_id` of an event. */
export function keyOf(e: JsonEvent): string {
  return `${typeOf(e)}:${payload(e)?.process?.exec_id ?? ""}`;
}

export async function scrapeMetrics(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return res.text();
}

/** The value of one sample of a Prometheus text exposition, or undefined. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map<string, string>();
    for (const [, k, v] of (m[3] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) have.set(k, v.replace(/\\(.)/g, "$1"));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(m[4]);
  }
  return undefined;
}
