/** `pid`: process.pid is one of the listed pids. */
import type { Predicate, PredicateBuilder } from "./types";

export const buildPid: PredicateBuilder = (f) => {
  if (f.pid.length === 0) return undefined;
  const set = new Set(f.pid);
  const p: Predicate = (_ev, proc) => proc !== undefined && set.has(proc.pid ?? 0);
  return p;
};
