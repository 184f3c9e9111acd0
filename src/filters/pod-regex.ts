/** `pod_regex`: RE2 on process.pod.name (no pod ⇒ no match). */
import type { Predicate, PredicateBuilder } from "./types";
import { anyRegexMatches, compileRegexList } from "./regex";
import { joinPath } from "./errors";

export const buildPodRegex: PredicateBuilder = (f, path) => {
  if (f.podRegex.length === 0) return undefined;
  const res = compileRegexList(f.podRegex, joinPath(path, "pod_regex"));
  const p: Predicate = (_ev, proc) => {
    const pod = proc?.pod;
    return pod !== undefined && anyRegexMatches(res, pod.name);
  };
  return p;
};
