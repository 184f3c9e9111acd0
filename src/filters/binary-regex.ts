/** `binary_regex`: RE2 on process.binary. */
import type { Predicate, PredicateBuilder } from "./types";
import { anyRegexMatches, compileRegexList } from "./regex";
import { joinPath } from "./errors";

export const buildBinaryRegex: PredicateBuilder = (f, path) => {
  if (f.binaryRegex.length === 0) return undefined;
  const res = compileRegexList(f.binaryRegex, joinPath(path, "binary_regex"));
  const p: Predicate = (_ev, proc) => proc !== undefined && anyRegexMatches(res, proc.binary);
  return p;
};
