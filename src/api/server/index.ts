/**
 * The agent's gRPC API, wire-compatible with Cilium Tetragon.
 *
 * Contract of this folder:
 *  - `ApiServer(deps)`: start() serves `tetragon.FineGuidanceSensors` on
 *    --server-address (`host:port`, `:port`, `unix:///path` with mode 0660; an address
 *    without ':' gets :54321; "" disables it) and, when that address is TCP, also on
 *    `<--run-dir>/tetragon.sock`; the standard `grpc.health.v1.Health` service on
 *    --health-server-address ("liveness" and "" SERVING); writes
 *    `<--run-dir>/tetragon-info.json`. stop() ends every stream with UNAVAILABLE, shuts
 *    the servers down, removes the sockets and the info file.
 *  - Messages are the protobuf-es schemas of src/api/gen, (de)serialized with
 *    toBinary/fromBinary (service-def.ts): no hand-written encoders.
 *  - GetEvents: allow/deny lists and field filters with Tetragon's semantics (src/filters),
 *    the agent's --redaction-filters applied once per event; a bad request (regex, event
 *    type, field mask, CEL) is INVALID_ARGUMENT naming the field. Each stream has a
 *    bounded queue of --event-queue-size encoded events: a slow client loses events
 *    (counted in tetragon_notify_overflowed_events_total, then announced to it by a
 *    rate_limit_info event at the gap) but never blocks the agent, the export or other
 *    clients. Events are encoded once per distinct field-filter set.
 *  - GetHealth ("running"), GetVersion, GetInfo (version, kernel features, config),
 *    GetDebug/SetDebug (log level, process cache dump); tracing-policy RPCs and
 *    RuntimeHook are UNIMPLEMENTED with a clear message; deprecated sensor RPCs fail as
 *    in Tetragon.
 *  - Nothing here reads flags or files other than what `deps.config` says.
 */
export { ApiServer, DEFAULT_HEALTH_PORT } from "./server";
export type { ServerDeps } from "./deps";
export { parseListenAddress, grpcBindTarget, DEFAULT_GRPC_PORT, AddressError } from "./address";
export type { ListenAddress } from "./address";
export { grpcServiceDefinition, methodDefinition } from "./service-def";
export { probeKernelFeatures, formatFeatures, kernelVersion } from "./kernel-features";
export type { KernelFeature } from "./kernel-features";
export {
  DEFAULT_RUN_DIR, DEFAULT_SOCKET_NAME, INFO_FILE_NAME, infoFilePath, readInitInfo,
} from "./info-file";
export type { InitInfo } from "./info-file";
export { HealthService, healthServiceDefinition, HealthCheckRequestDesc, HealthCheckResponseDesc, ServingStatus } from "./health-service";
export { POLICY_UNSUPPORTED } from "./handlers/stubs";
export { compileRequest, RequestError } from "./get-events-request";
export { EventStream } from "./event-stream";
export type { StreamSink } from "./event-stream";
export { EncodeCache } from "./encode-cache";
export { EventHub } from "./event-hub";
