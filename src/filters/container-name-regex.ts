/** `container_name_regex`: RE2 on process.pod.container.name (no container ⇒ no match). */
import type { Predicate, PredicateBuilder } from "./types";
import { anyRegexMatches, compileRegexList } from "./regex";
import { joinPath } from "./errors";

export const buildContainerNameRegex: PredicateBuilder = (f, path) => {
  if (f.containerNameRegex.length === 0) return undefined;
  const res = compileRegexList(f.containerNameRegex, joinPath(path, "container_name_regex"));
  const p: Predicate = (_ev, proc) => {
    const container = proc?.pod?.container;
    return container !== undefined && anyRegexMatches(res, container.name);
  };
  return p;
};
