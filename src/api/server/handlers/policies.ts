/**
 * The tracing-policy RPCs over the agent's PolicyManager: Add, Delete, List, Configure
 * (enable, disable, mode) and ListDomains. A rejected policy is an INVALID_ARGUMENT whose
 * message names the field and the reason; nothing of it stays loaded.
 */
import { create } from "@bufbuild/protobuf";
import { status, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import {
  AddTracingPolicyResponseSchema, ConfigureTracingPolicyResponseSchema, DeleteTracingPolicyResponseSchema,
  HookState, HookStatusSchema, ListDomainsResponseSchema, ListTracingPoliciesResponseSchema, TracingPolicyActionCountersSchema,
  TracingPolicyMode, TracingPolicyState, TracingPolicyStatsSchema, TracingPolicyStatusSchema,
  type AddTracingPolicyRequest, type ConfigureTracingPolicyRequest, type DeleteTracingPolicyRequest,
  type ListTracingPoliciesRequest,
} from "../../gen/tetragon/sensors_pb";
import { grpcError } from "../status";
import { PolicyManagerError, type PolicyManager, type PolicyStatusView } from "../../../policy/manager";
import { isPolicyError } from "../../../policy/errors";
import { isCompileError } from "../../../policy/compiler/errors";

export const GRPC_DOMAIN = "grpc";

type Unary<Req> = (call: ServerUnaryCall<Req, unknown>, cb: sendUnaryData<unknown>) => void;

function toGrpcError(err: unknown): ReturnType<typeof grpcError> {
  if (err instanceof PolicyManagerError) {
    const code = err.kind === "not_found" ? status.NOT_FOUND : err.kind === "already_exists" ? status.ALREADY_EXISTS : status.FAILED_PRECONDITION;
    return grpcError(code, err.message);
  }
  if (isPolicyError(err) || isCompileError(err)) return grpcError(status.INVALID_ARGUMENT, (err as Error).message);
  const parts: string[] = [];
  for (let e: unknown = err; e; e = e instanceof Error ? (e as { cause?: unknown }).cause : undefined) parts.push(e instanceof Error ? e.message : String(e));
  return grpcError(status.FAILED_PRECONDITION, `policy could not be loaded: ${parts.join(": ")}`);
}

const STATE: Record<PolicyStatusView["state"], TracingPolicyState> = {
  enabled: TracingPolicyState.TP_STATE_ENABLED,
  disabled: TracingPolicyState.TP_STATE_DISABLED,
  load_error: TracingPolicyState.TP_STATE_LOAD_ERROR,
  error: TracingPolicyState.TP_STATE_ERROR,
};

export function policyStatus(p: PolicyStatusView) {
  return create(TracingPolicyStatusSchema, {
    id: BigInt(p.id),
    name: p.name,
    namespace: p.namespace,
    sensors: p.sensors,
    enabled: p.state === "enabled",
    error: p.error,
    info: p.enforcement.join("\n"),
    state: STATE[p.state],
    kernelMemoryBytes: BigInt(p.kernelMemoryBytes),
    mode: p.mode === "monitor" ? TracingPolicyMode.TP_MODE_MONITOR : TracingPolicyMode.TP_MODE_ENFORCE,
    domain: p.domain,
    stats: create(TracingPolicyStatsSchema, {
      actionCounters: create(TracingPolicyActionCountersSchema, {
        post: BigInt(p.counters.posted),
        signal: BigInt(p.counters.signal),
        monitorSignal: BigInt(p.counters.monitorSignal),
        nopost: BigInt(p.counters.nopost),
        override: BigInt(p.counters.override),
        monitorOverride: BigInt(p.counters.monitorOverride),
        notifyEnforcer: BigInt(p.counters.notifyEnforcer),
        monitorNotifyEnforcer: BigInt(p.counters.monitorNotifyEnforcer),
      }),
    }),
    hookStatuses: p.hooks.map((h) => create(HookStatusSchema, {
      section: h.section, state: HookState.STATUS_LOADED, hookDescription: h.description, hookIdx: h.index,
    })),
  });
}

export function policyHandlers(policies: PolicyManager): Record<string, Unary<never>> {
  const addTracingPolicy: Unary<AddTracingPolicyRequest> = (call, cb) => {
    try {
      policies.add(call.request.yaml, call.request.domain || GRPC_DOMAIN);
      cb(null, create(AddTracingPolicyResponseSchema));
    } catch (err) {
      cb(toGrpcError(err));
    }
  };
  const deleteTracingPolicy: Unary<DeleteTracingPolicyRequest> = (call, cb) => {
    try {
      policies.delete(call.request.name, call.request.namespace, call.request.domain || undefined);
      cb(null, create(DeleteTracingPolicyResponseSchema));
    } catch (err) {
      cb(toGrpcError(err));
    }
  };
  const listTracingPolicies: Unary<ListTracingPoliciesRequest> = (call, cb) => {
    cb(null, create(ListTracingPoliciesResponseSchema, { policies: policies.list(call.request.domain || undefined).map(policyStatus) }));
  };
  const configureTracingPolicy: Unary<ConfigureTracingPolicyRequest> = (call, cb) => {
    const r = call.request;
    const mode = r.mode === TracingPolicyMode.TP_MODE_MONITOR ? "monitor" : r.mode === TracingPolicyMode.TP_MODE_ENFORCE ? "enforce" : undefined;
    if (r.mode !== undefined && !mode) {
      cb(grpcError(status.INVALID_ARGUMENT, `mode ${r.mode} is not one of enforce, monitor`));
      return;
    }
    try {
      policies.configure(r.name, r.namespace, { enable: r.enable, mode }, r.domain || undefined);
      cb(null, create(ConfigureTracingPolicyResponseSchema));
    } catch (err) {
      cb(toGrpcError(err));
    }
  };
  const deprecated = (name: string): Unary<never> => (_call, cb) =>
    cb(grpcError(status.UNIMPLEMENTED, `${name} is deprecated: use ConfigureTracingPolicy (tetra tracingpolicy enable|disable)`));
  return {
    addTracingPolicy, deleteTracingPolicy, listTracingPolicies, configureTracingPolicy,
    enableTracingPolicy: deprecated("EnableTracingPolicy"),
    disableTracingPolicy: deprecated("DisableTracingPolicy"),
    listDomains: (_call, cb) => cb(null, create(ListDomainsResponseSchema, { domains: policies.domains() })),
  } as Record<string, Unary<never>>;
}
