/** `arguments_regex`: RE2 on process.arguments. */
import type { Predicate, PredicateBuilder } from "./types";
import { anyRegexMatches, compileRegexList } from "./regex";
import { joinPath } from "./errors";

export const buildArgumentsRegex: PredicateBuilder = (f, path) => {
  if (f.argumentsRegex.length === 0) return undefined;
  const res = compileRegexList(f.argumentsRegex, joinPath(path, "arguments_regex"));
  const p: Predicate = (_ev, proc) => proc !== undefined && anyRegexMatches(res, proc.arguments);
  return p;
};
