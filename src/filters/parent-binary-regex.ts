/** `parent_binary_regex`: RE2 on parent.binary. */
import type { Predicate, PredicateBuilder } from "./types";
import { anyRegexMatches, compileRegexList } from "./regex";
import { joinPath } from "./errors";
import { eventParent } from "./event-fields";

export const buildParentBinaryRegex: PredicateBuilder = (f, path) => {
  if (f.parentBinaryRegex.length === 0) return undefined;
  const res = compileRegexList(f.parentBinaryRegex, joinPath(path, "parent_binary_regex"));
  const p: Predicate = (ev) => {
    const parent = eventParent(ev);
    return parent !== undefined && anyRegexMatches(res, parent.binary);
  };
  return p;
};
