/** `policy_names`: the event's policy_name (kprobe/tracepoint/uprobe/lsm/usdt) is listed. */
import type { Predicate, PredicateBuilder } from "./types";
import { eventPolicyName } from "./event-fields";

export const buildPolicyNames: PredicateBuilder = (f) => {
  if (f.policyNames.length === 0) return undefined;
  const set = new Set(f.policyNames);
  const p: Predicate = (ev) => {
    const name = eventPolicyName(ev);
    return name !== "" && set.has(name);
  };
  return p;
};
