/** A policy that cannot be compiled for this kernel: each issue names the field and why. */
export interface CompileIssue {
  path: string;
  reason: string;
}

export class CompileError extends Error {
  constructor(readonly issues: CompileIssue[], policyName = "") {
    super(`policy${policyName ? ` '${policyName}'` : ""} rejected: ${issues.map((i) => `${i.path}: ${i.reason}`).join("; ")}`);
    this.name = "CompileError";
  }
}

export function isCompileError(e: unknown): e is CompileError {
  return e instanceof CompileError;
}

export function fail(path: string, reason: string): never {
  throw new CompileError([{ path, reason }]);
}
