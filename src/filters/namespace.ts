/**
 * `namespace`: exact Kubernetes namespace of process.pod; `""` selects host
 * (non-pod) processes.
 */
import type { Predicate, PredicateBuilder } from "./types";

export const buildNamespace: PredicateBuilder = (f) => {
  if (f.namespace.length === 0) return undefined;
  const set = new Set(f.namespace);
  const host = set.has("");
  const p: Predicate = (_ev, proc) => {
    if (proc === undefined) return false;
    const pod = proc.pod;
    return pod === undefined ? host : set.has(pod.namespace);
  };
  return p;
};
