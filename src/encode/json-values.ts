/**
 * JSON text of single protobuf values, as protobuf-es `toJsonString` writes them (proto3
 * JSON): 64-bit integers as strings, non-finite floats as "NaN"/"Infinity", bytes as
 * standard base64 with padding, Timestamps in RFC 3339 with 0, 3, 6 or 9 fractional digits.
 * Each returns the value's JSON text, quotes included; invalid values throw as protobuf-es does.
 */

const TS_MS_MIN = Date.parse("0001-01-01T00:00:00Z");
const TS_MS_MAX = Date.parse("9999-12-31T23:59:59Z");
const DURATION_S_MAX = 315576000000;

export function invalid(what: string, value: unknown): Error {
  const shown = typeof value === "bigint" ? `${value}n` : typeof value === "string" ? JSON.stringify(value) : String(value);
  return new Error(`cannot encode ${what} to JSON: unexpected value ${shown}`);
}

export function intJson(value: unknown, what: string): string {
  if (typeof value !== "number") throw invalid(what, value);
  return Number.isFinite(value) ? "" + value : "null";
}

export function floatJson(value: unknown, what: string): string {
  if (typeof value !== "number") throw invalid(what, value);
  if (Number.isFinite(value)) return "" + value;
  return Number.isNaN(value) ? '"NaN"' : value > 0 ? '"Infinity"' : '"-Infinity"';
}

export function int64Json(value: unknown, what: string): string {
  if (typeof value === "bigint") return '"' + value + '"';
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" && Number.isInteger(value)) return '"' + value + '"';
  throw invalid(what, value);
}

export function bytesJson(value: unknown, what: string): string {
  if (!(value instanceof Uint8Array)) throw invalid(what, value);
  return '"' + Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") + '"';
}

/** "YYYY-MM-DDTHH:MM:SS" by whole second: events of one second, and processes started in
 *  the same second, share it. Bounded: cleared when full. */
const secondPrefix = new Map<number, string>();

export function timestampJson(t: { seconds: bigint; nanos: number }): string {
  const seconds = Number(t.seconds);
  const ms = seconds * 1000;
  if (ms < TS_MS_MIN || ms > TS_MS_MAX) {
    throw new Error("cannot encode message google.protobuf.Timestamp to JSON: must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z inclusive");
  }
  const nanos = t.nanos;
  if (nanos < 0) throw new Error("cannot encode message google.protobuf.Timestamp to JSON: nanos must not be negative");
  if (nanos > 999999999) throw new Error("cannot encode message google.protobuf.Timestamp to JSON: nanos must not be greater than 999999999");
  let prefix = secondPrefix.get(seconds);
  if (prefix === undefined) {
    if (secondPrefix.size >= 4096) secondPrefix.clear();
    prefix = new Date(ms).toISOString().slice(0, 19);
    secondPrefix.set(seconds, prefix);
  }
  return '"' + prefix + fraction(nanos) + 'Z"';
}

/** "000" to "999": a fraction is written from these, not from a number converted per event */
const THREE_DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, "0"));

/** The fraction of a second as protojson prints it: 0, 3, 6 or 9 digits. */
function fraction(nanos: number): string {
  if (nanos === 0) return "";
  const ms = (nanos / 1000000) | 0, us = ((nanos / 1000) | 0) % 1000, ns = nanos % 1000;
  if (ns !== 0) return "." + THREE_DIGITS[ms] + THREE_DIGITS[us] + THREE_DIGITS[ns];
  if (us !== 0) return "." + THREE_DIGITS[ms] + THREE_DIGITS[us];
  return "." + THREE_DIGITS[ms];
}

export function durationJson(d: { seconds: bigint; nanos: number }): string {
  const seconds = Number(d.seconds);
  const nanos = d.nanos;
  if (seconds > DURATION_S_MAX || seconds < -DURATION_S_MAX) {
    throw new Error("cannot encode message google.protobuf.Duration to JSON: value out of range");
  }
  if ((seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) {
    throw new Error("cannot encode message google.protobuf.Duration to JSON: nanos sign must match seconds sign");
  }
  let text = d.seconds.toString();
  if (nanos !== 0) {
    let n = Math.abs(nanos).toString();
    n = "0".repeat(9 - n.length) + n;
    if (n.substring(3) === "000000") n = n.substring(0, 3);
    else if (n.substring(6) === "000") n = n.substring(0, 6);
    text += "." + n;
    if (nanos < 0 && seconds === 0) text = "-" + text;
  }
  return '"' + text + 's"';
}
