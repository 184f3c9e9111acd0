/** `ancestor_binary_regex`: RE2 on the binary of any of the event's ancestors. */
import type { Predicate, PredicateBuilder } from "./types";
import { anyRegexMatches, compileRegexList } from "./regex";
import { joinPath } from "./errors";
import { eventAncestors } from "./event-fields";

export const buildAncestorBinaryRegex: PredicateBuilder = (f, path) => {
  if (f.ancestorBinaryRegex.length === 0) return undefined;
  const res = compileRegexList(f.ancestorBinaryRegex, joinPath(path, "ancestor_binary_regex"));
  const p: Predicate = (ev) => {
    const ancestors = eventAncestors(ev);
    for (let i = 0; i < ancestors.length; i++) {
      if (anyRegexMatches(res, ancestors[i].binary)) return true;
    }
    return false;
  };
  return p;
};
