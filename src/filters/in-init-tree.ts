/** `in_init_tree`: process.in_init_tree (unset counts as false) equals the filter value. */
import type { Predicate, PredicateBuilder } from "./types";

export const buildInInitTree: PredicateBuilder = (f) => {
  if (f.inInitTree === undefined) return undefined;
  const want = f.inInitTree;
  const p: Predicate = (_ev, proc) => (proc?.inInitTree ?? false) === want;
  return p;
};
