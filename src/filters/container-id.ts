/**
 * `container_id`: RE2 on process.docker (the short container id Tetragon
 * reports) or on process.pod.container.id (`containerd://<full id>`).
 */
import type { Predicate, PredicateBuilder } from "./types";
import { anyRegexMatches, compileRegexList } from "./regex";
import { joinPath } from "./errors";

export const buildContainerId: PredicateBuilder = (f, path) => {
  if (f.containerId.length === 0) return undefined;
  const res = compileRegexList(f.containerId, joinPath(path, "container_id"));
  const p: Predicate = (_ev, proc) => {
    if (proc === undefined) return false;
    if (anyRegexMatches(res, proc.docker)) return true;
    const container = proc.pod?.container;
    return container !== undefined && container.id !== "" && anyRegexMatches(res, container.id);
  };
  return p;
};
