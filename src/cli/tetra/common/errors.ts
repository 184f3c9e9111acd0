/**
 * tetra's errors: a CliError is printed as one line `Error: <message>` with exit code 1,
 * never as a stack trace. gRPC failures read as in Go's tetra:
 * `rpc error: code = Unimplemented desc = <details>`.
 */
import { status } from "@grpc/grpc-js";

export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

const GO_CODE_NAMES: Record<number, string> = {
  [status.OK]: "OK",
  [status.CANCELLED]: "Canceled",
  [status.UNKNOWN]: "Unknown",
  [status.INVALID_ARGUMENT]: "InvalidArgument",
  [status.DEADLINE_EXCEEDED]: "DeadlineExceeded",
  [status.NOT_FOUND]: "NotFound",
  [status.ALREADY_EXISTS]: "AlreadyExists",
  [status.PERMISSION_DENIED]: "PermissionDenied",
  [status.RESOURCE_EXHAUSTED]: "ResourceExhausted",
  [status.FAILED_PRECONDITION]: "FailedPrecondition",
  [status.ABORTED]: "Aborted",
  [status.OUT_OF_RANGE]: "OutOfRange",
  [status.UNIMPLEMENTED]: "Unimplemented",
  [status.INTERNAL]: "Internal",
  [status.UNAVAILABLE]: "Unavailable",
  [status.DATA_LOSS]: "DataLoss",
  [status.UNAUTHENTICATED]: "Unauthenticated",
};

export interface GrpcLikeError {
  code: number;
  details: string;
}

export function isGrpcError(e: unknown): e is GrpcLikeError {
  return typeof e === "object" && e !== null && typeof (e as GrpcLikeError).code === "number" && typeof (e as GrpcLikeError).details === "string";
}

/** `rpc error: code = X desc = Y` for gRPC errors, the message otherwise. */
export function describeError(e: unknown): string {
  if (e instanceof CliError) return e.message;
  if (isGrpcError(e)) return `rpc error: code = ${GO_CODE_NAMES[e.code] ?? e.code} desc = ${e.details}`;
  return e instanceof Error ? e.message : String(e);
}

/** Wraps an RPC failure as `<what>: rpc error: ...`. */
export function rpcFailure(what: string, e: unknown): CliError {
  if (e instanceof CliError) return e;
  return new CliError(`${what}: ${describeError(e)}`);
}
