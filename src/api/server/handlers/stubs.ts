/**
 * RPCs without an implementation here: the tracing-policy RPCs when the server has no policy
 * manager (handlers/policies.ts replaces them in the agent), runtime hooks, and the deprecated
 * sensor RPCs, which fail as they do in Tetragon.
 */
import type { sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
import { grpcError, unimplemented } from "../status";
import { status } from "@grpc/grpc-js";

export const POLICY_UNSUPPORTED = "tracing policies are not enabled on this server";

type Unary = (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => void;

const fail = (err: ReturnType<typeof grpcError>): Unary => (_call, cb) => cb(err);

export const stubHandlers: Record<string, Unary> = {
  addTracingPolicy: fail(unimplemented(POLICY_UNSUPPORTED)),
  deleteTracingPolicy: fail(unimplemented(POLICY_UNSUPPORTED)),
  listTracingPolicies: fail(unimplemented(POLICY_UNSUPPORTED)),
  configureTracingPolicy: fail(unimplemented(POLICY_UNSUPPORTED)),
  enableTracingPolicy: fail(unimplemented(POLICY_UNSUPPORTED)),
  disableTracingPolicy: fail(unimplemented(POLICY_UNSUPPORTED)),
  listDomains: fail(unimplemented(POLICY_UNSUPPORTED)),
  listSensors: fail(grpcError(status.UNKNOWN, "ListSensors is deprecated")),
  enableSensor: fail(grpcError(status.UNKNOWN, "EnableSensor is deprecated")),
  disableSensor: fail(grpcError(status.UNKNOWN, "DisableSensor is deprecated")),
  removeSensor: fail(grpcError(status.UNKNOWN, "RemoveSensor is deprecated")),
  runtimeHook: fail(unimplemented("runtime hooks are not supported yet by tetragon-ts")),
};
