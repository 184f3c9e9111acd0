/**
 * The JSON export file: every event that passes the allow/deny lists and the rate limit,
 * after field and redaction filters, one protojson line each. Each line is encoded into a
 * reused buffer as it comes; the lines of one event-loop turn (or 256 KiB of them) go out
 * in a single write, and the export metrics are updated once per write.
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

/** the output buffer is written out when this full, or at the end of the event-loop turn */
const FLUSH_BYTES = 256 * 1024;

export class JsonFileExporter {
  private readonly file: RotatingFile;
  private readonly limiter?: RateLimiter;
  /** lines not yet written out, as UTF-8: each line goes in as soon as it is encoded, so that
   *  its string dies young (kept strings would be copied by every scavenge they survive) */
  private buf = Buffer.allocUnsafe(FLUSH_BYTES * 2);
  private used = 0;
  private lines = 0;
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
    // UTF-8 takes at most 3 bytes for each UTF-16 unit, plus the newline
    const room = line.length * 3 + 1;
    if (this.used + room > this.buf.length) {
      this.flush();
      if (room > this.buf.length) this.buf = Buffer.allocUnsafe(room);
    }
    const buf = this.buf;
    let off = this.used;
    off += buf.write(line, off);
    buf[off++] = 0x0a;
    this.used = off;
    this.lines++;
    this.exported++;
    if (off >= FLUSH_BYTES) this.flush();
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
    const n = this.used, lines = this.lines;
    if (n === 0) return;
    this.used = 0;
    this.lines = 0;
    this.file.write(this.buf.subarray(0, n));
    if (this.metrics) {
      this.metrics.exportedTotal.inc(lines);
      this.metrics.exportedBytes.inc(n);
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
