/**
 * `health_check`: Tetragon's heuristic for Kubernetes exec-probe processes.
 * The agent marks containers whose processes may be exec probes with
 * pod.container.maybe_exec_probe; as in Tetragon, an event counts as a
 * health check when its process or its parent carries that mark.
 * `true` keeps such events, `false` keeps all others.
 */
import type { Process } from "../api/gen/tetragon/tetragon_pb";
import type { Predicate, PredicateBuilder } from "./types";
import { eventParent } from "./event-fields";

function canBeHealthCheck(p: Process | undefined): boolean {
  return p?.pod?.container?.maybeExecProbe === true;
}

export const buildHealthCheck: PredicateBuilder = (f) => {
  if (f.healthCheck === undefined) return undefined;
  const want = f.healthCheck;
  const p: Predicate = (ev, proc) =>
    (canBeHealthCheck(proc) || canBeHealthCheck(eventParent(ev))) === want;
  return p;
};
