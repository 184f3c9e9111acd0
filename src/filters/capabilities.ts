/**
 * `capabilities`: CapFilter on process.cap. Each configured set (permitted,
 * effective, inheritable) must match; a set uses exactly one of
 * any / all / exactly / none. A process without `cap` never matches.
 * Capabilities are compared as 64-bit masks (CAP_CHOWN=0 … CAP_CHECKPOINT_RESTORE=40).
 */
import type { CapFilterSet } from "../api/gen/tetragon/events_pb";
import type { CapabilitiesType } from "../api/gen/tetragon/capabilities_pb";
import type { Predicate, PredicateBuilder } from "./types";
import { fieldError, joinPath } from "./errors";

const enum Mode {
  Any,
  All,
  Exactly,
  None,
}

interface SetCheck {
  readonly mode: Mode;
  readonly lo: number;
  readonly hi: number;
}

function maskLo(caps: readonly CapabilitiesType[]): number {
  let m = 0;
  for (let i = 0; i < caps.length; i++) {
    const c = caps[i];
    if (c >= 0 && c < 32) m |= 1 << c;
  }
  return m;
}

function maskHi(caps: readonly CapabilitiesType[]): number {
  let m = 0;
  for (let i = 0; i < caps.length; i++) {
    const c = caps[i];
    if (c >= 32 && c < 64) m |= 1 << (c - 32);
  }
  return m;
}

function compileSet(s: CapFilterSet | undefined, field: string): SetCheck | undefined {
  if (s === undefined) return undefined;
  const defined: string[] = [];
  if (s.any.length > 0) defined.push("any");
  if (s.all.length > 0) defined.push("all");
  if (s.exactly.length > 0) defined.push("exactly");
  if (s.none.length > 0) defined.push("none");
  if (defined.length === 0) {
    throw fieldError(field, "capability filter must define exactly one match set");
  }
  if (defined.length > 1) {
    throw fieldError(field, `capability filter may only define one match set, got: ${defined.join(", ")}`);
  }
  for (const name of defined) {
    const list = s[name as "any" | "all" | "exactly" | "none"];
    for (let i = 0; i < list.length; i++) {
      if (!Number.isInteger(list[i]) || list[i] < 0 || list[i] > 63) {
        throw fieldError(`${field}.${name}[${i}]`, `unknown capability ${list[i]}`);
      }
    }
  }
  const [mode, caps] =
    s.any.length > 0 ? [Mode.Any, s.any]
    : s.all.length > 0 ? [Mode.All, s.all]
    : s.exactly.length > 0 ? [Mode.Exactly, s.exactly]
    : [Mode.None, s.none];
  return { mode, lo: maskLo(caps), hi: maskHi(caps) };
}

function check(c: SetCheck | undefined, caps: readonly CapabilitiesType[]): boolean {
  if (c === undefined) return true;
  const lo = maskLo(caps);
  const hi = maskHi(caps);
  switch (c.mode) {
    case Mode.Any:
      return (lo & c.lo) !== 0 || (hi & c.hi) !== 0;
    case Mode.All:
      return (lo & c.lo) === c.lo && (hi & c.hi) === c.hi;
    case Mode.Exactly:
      return lo === c.lo && hi === c.hi;
    case Mode.None:
      return (lo & c.lo) === 0 && (hi & c.hi) === 0;
  }
}

export const buildCapabilities: PredicateBuilder = (f, path) => {
  const cf = f.capabilities;
  if (cf === undefined) return undefined;
  const base = joinPath(path, "capabilities");
  const permitted = compileSet(cf.permitted, `${base}.permitted`);
  const effective = compileSet(cf.effective, `${base}.effective`);
  const inheritable = compileSet(cf.inheritable, `${base}.inheritable`);
  const p: Predicate = (_ev, proc) => {
    const cap = proc?.cap;
    if (cap === undefined) return false;
    return (
      check(effective, cap.effective) &&
      check(inheritable, cap.inheritable) &&
      check(permitted, cap.permitted)
    );
  };
  return p;
};
