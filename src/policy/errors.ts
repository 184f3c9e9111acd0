/** The error thrown when a policy document is rejected. */
import type { PolicyIssue } from "./types";

export class PolicyError extends Error {
  override readonly name = "PolicyError";
  /** Every problem found, each with a field path (`spec.kprobes[0].call`) and a reason. */
  readonly issues: PolicyIssue[];
  /** metadata.name when it could be read. */
  readonly policyName?: string;
  /** Where the document came from (file path, "grpc", ...), when given. */
  readonly source?: string;

  constructor(issues: PolicyIssue[], policyName?: string, source?: string) {
    const list = issues.map((i) => `${i.path}: ${i.reason}`).join("; ");
    const who = policyName ? `policy '${policyName}'` : "policy";
    super(`${who} rejected: ${list}${source ? ` (source: ${source})` : ""}`);
    this.issues = issues;
    this.policyName = policyName;
    this.source = source;
  }
}

export function isPolicyError(e: unknown): e is PolicyError {
  return (
    e instanceof PolicyError ||
    (typeof e === "object" && e !== null && (e as { name?: unknown }).name === "PolicyError" &&
      Array.isArray((e as { issues?: unknown }).issues))
  );
}
