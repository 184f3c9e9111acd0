/**
 * Kernel times (CLOCK_BOOTTIME ns) to wall-clock Timestamps. The offset between the two
 * clocks is taken once at start; it drifts only with NTP slews.
 */
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";

export class KtimeClock {
  private readonly offsetNs: bigint;

  /** @param boottimeNow CLOCK_BOOTTIME now, in ns */
  constructor(boottimeNow: bigint, realtimeNow: bigint) {
    this.offsetNs = realtimeNow - boottimeNow;
  }

  wallNs(ktime: bigint): bigint {
    return ktime + this.offsetNs;
  }

  timestamp(ktime: bigint): Timestamp {
    return nsToTimestamp(this.wallNs(ktime));
  }
}

export function nsToTimestamp(ns: bigint): Timestamp {
  // what create(TimestampSchema, ...) makes, without its reflection (one per event)
  return { $typeName: TimestampSchema.typeName, seconds: ns / 1_000_000_000n, nanos: Number(ns % 1_000_000_000n) };
}

export function nowTimestamp(): Timestamp {
  return nsToTimestamp(BigInt(Date.now()) * 1_000_000n);
}
