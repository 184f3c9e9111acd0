/** `parent_arguments_regex`: RE2 on parent.arguments. */
import type { Predicate, PredicateBuilder } from "./types";
import { anyRegexMatches, compileRegexList } from "./regex";
import { joinPath } from "./errors";
import { eventParent } from "./event-fields";

export const buildParentArgumentsRegex: PredicateBuilder = (f, path) => {
  if (f.parentArgumentsRegex.length === 0) return undefined;
  const res = compileRegexList(f.parentArgumentsRegex, joinPath(path, "parent_arguments_regex"));
  const p: Predicate = (ev) => {
    const parent = eventParent(ev);
    return parent !== undefined && anyRegexMatches(res, parent.arguments);
  };
  return p;
};
