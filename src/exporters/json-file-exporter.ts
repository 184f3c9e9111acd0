/**
 * The JSON export file: every event that passes the allow/deny lists and the rate limit,
 * after field and redaction filters, one protojson line each. Lines of one event-loop
 * turn are written with a single write, from a reused buffer; the export metrics are
 * updated once per write.
 */
import { create } from "@bufbuild/protobuf";
import {
  GetEventsResponseSchema, RateLimitInfoSchema, type GetEventsResponse,
} from "../api/gen/tetragon/events_pb";
import { encodeEventJson } from "../encode/json";
import { RotatingFile, type RotatingFileOptions } from "./rotating-file";
import { RateLimiter } from "./rate-limiter";
import { nowTimestamp } from "../process/ktime";
import type { AgentMetrics } from "../metrics/registry";

export interface JsonFileExporterOptions extends RotatingFileOptions {
  /** events a minute; < 0 = unlimited, 0 = export nothing */
  rateLimit: number;
  filter: (ev: GetEventsResponse) => boolean;
  transform: (ev: GetEventsResponse) => GetEventsResponse;
  nodeName: string;
  /** how often dropped events are reported, ms */
  rateLimitReportMs?: number;
}

const FLUSH_BYTES = 256 * 1024;

export class JsonFileExporter {
  private readonly file: RotatingFile;
  private readonly limiter?: RateLimiter;
  private pending: string[] = [];
  /** UTF-16 units pending, newlines included (UTF-8 needs at most 3 bytes for each) */
  private pendingChars = 0;
  private buf = Buffer.allocUnsafe(0);
  private flushScheduled = false;
  private reportTimer?: NodeJS.Timeout;
  exported = 0;

  constructor(private readonly opts: JsonFileExporterOptions, private readonly metrics?: AgentMetrics) {
    this.file = new RotatingFile(opts);
    if (opts.rateLimit >= 0) {
      this.limiter = new RateLimiter(opts.rateLimit);
      this.reportTimer = setInterval(() => this.reportDrops(), opts.rateLimitReportMs ?? 5000);
      this.reportTimer.unref();
    }
  }

  readonly onEvent = (ev: GetEventsResponse): void => {
    if (!this.opts.filter(ev)) {
      this.metrics?.exportFilterDropped.inc();
      return;
    }
    if (this.limiter && !this.limiter.allow()) {
      this.metrics?.rateLimitDropped.inc();
      return;
    }
    this.append(encodeEventJson(this.opts.transform(ev)));
  };

  private append(line: string): void {
    this.pending.push(line);
    this.pendingChars += line.length + 1;
    this.exported++;
    if (this.pendingChars >= FLUSH_BYTES) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private reportDrops(): void {
    const dropped = this.limiter?.takeDropped() ?? 0;
    if (dropped === 0) return;
    const ev = create(GetEventsResponseSchema, {
      nodeName: this.opts.nodeName,
      time: nowTimestamp(),
      event: { case: "rateLimitInfo", value: create(RateLimitInfoSchema, { numberOfDroppedProcessEvents: BigInt(dropped) }) },
    });
    this.append(encodeEventJson(ev));
  }

  flush(): void {
    this.flushScheduled = false;
    const lines = this.pending;
    if (lines.length === 0) return;
    if (this.buf.length < this.pendingChars * 3) this.buf = Buffer.allocUnsafe(Math.max(this.pendingChars * 3, FLUSH_BYTES * 3));
    const buf = this.buf;
    let off = 0;
    for (let i = 0; i < lines.length; i++) {
      off += buf.write(lines[i], off, "utf8");
      buf[off++] = 0x0a;
    }
    this.pending = [];
    this.pendingChars = 0;
    this.file.write(buf.subarray(0, off));
    if (this.metrics) {
      this.metrics.exportedTotal.inc(lines.length);
      this.metrics.exportedBytes.inc(off);
      this.metrics.exportLastTs.set(Date.now() / 1000);
    }
  }

  get rotations(): number {
    return this.file.rotations;
  }

  close(): void {
    if (this.reportTimer) clearInterval(this.reportTimer);
    this.reportDrops();
    this.flush();
    this.file.close();
  }
}
