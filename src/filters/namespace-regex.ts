/** `namespace_regex`: RE2 on process.pod.namespace (no pod ⇒ no match). */
import type { Predicate, PredicateBuilder } from "./types";
import { anyRegexMatches, compileRegexList } from "./regex";
import { joinPath } from "./errors";

export const buildNamespaceRegex: PredicateBuilder = (f, path) => {
  if (f.namespaceRegex.length === 0) return undefined;
  const res = compileRegexList(f.namespaceRegex, joinPath(path, "namespace_regex"));
  const p: Predicate = (_ev, proc) => {
    const pod = proc?.pod;
    return pod !== undefined && anyRegexMatches(res, pod.namespace);
  };
  return p;
};
