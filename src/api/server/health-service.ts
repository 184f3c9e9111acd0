/**
 * The standard gRPC health service (grpc.health.v1.Health: Check, Watch) that Tetragon
 * serves on --health-server-address for the "liveness" service. Its descriptor is built
 * here with protobuf-es (a FileDescriptorProto of the public health.proto), so messages
 * are encoded by the same library as the rest of the API.
 */
import { create, createFileRegistry, type DescMessage, type DescService } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label, FieldDescriptorProto_Type, FileDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";
import { status, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream } from "@grpc/grpc-js";
import { grpcServiceDefinition } from "./service-def";
import { grpcError } from "./status";

const PKG = "grpc.health.v1";

const file = create(FileDescriptorProtoSchema, {
  name: "grpc/health/v1/health.proto",
  package: PKG,
  syntax: "proto3",
  messageType: [
    {
      name: "HealthCheckRequest",
      field: [{ name: "service", jsonName: "service", number: 1, type: FieldDescriptorProto_Type.STRING, label: FieldDescriptorProto_Label.OPTIONAL }],
    },
    {
      name: "HealthCheckResponse",
      field: [{
        name: "status", jsonName: "status", number: 1, type: FieldDescriptorProto_Type.ENUM,
        typeName: `.${PKG}.HealthCheckResponse.ServingStatus`, label: FieldDescriptorProto_Label.OPTIONAL,
      }],
      enumType: [{
        name: "ServingStatus",
        value: [
          { name: "UNKNOWN", number: 0 },
          { name: "SERVING", number: 1 },
          { name: "NOT_SERVING", number: 2 },
          { name: "SERVICE_UNKNOWN", number: 3 },
        ],
      }],
    },
  ],
  service: [{
    name: "Health",
    method: [
      { name: "Check", inputType: `.${PKG}.HealthCheckRequest`, outputType: `.${PKG}.HealthCheckResponse` },
      { name: "Watch", inputType: `.${PKG}.HealthCheckRequest`, outputType: `.${PKG}.HealthCheckResponse`, serverStreaming: true },
    ],
  }],
});

const registry = createFileRegistry(file, () => undefined);

export const HealthCheckRequestDesc = registry.getMessage(`${PKG}.HealthCheckRequest`) as DescMessage;
export const HealthCheckResponseDesc = registry.getMessage(`${PKG}.HealthCheckResponse`) as DescMessage;
export const HealthService = registry.getService(`${PKG}.Health`) as DescService;
export const healthServiceDefinition = grpcServiceDefinition(HealthService);

export enum ServingStatus {
  UNKNOWN = 0,
  SERVING = 1,
  NOT_SERVING = 2,
  SERVICE_UNKNOWN = 3,
}

type Req = { service: string };
type Res = { status: ServingStatus };

function response(s: ServingStatus): Res {
  return create(HealthCheckResponseDesc, { status: s }) as unknown as Res;
}

/** Statuses by service name ("" = the server as a whole) and their Watch streams. */
export class HealthState {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Map<string, Set<ServerWritableStream<Req, Res>>>();

  set(service: string, s: ServingStatus): void {
    if (this.statuses.get(service) === s) return;
    this.statuses.set(service, s);
    for (const w of this.watchers.get(service) ?? []) w.write(response(s));
  }

  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  /** Ends every Watch stream (server shutdown). */
  endWatches(): void {
    for (const set of this.watchers.values()) for (const w of set) w.end();
    this.watchers.clear();
  }

  handlers() {
    return {
      check: (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>): void => {
        const s = this.statuses.get(call.request.service);
        if (s === undefined) cb(grpcError(status.NOT_FOUND, "unknown service"));
        else cb(null, response(s));
      },
      watch: (call: ServerWritableStream<Req, Res>): void => {
        const service = call.request.service;
        let set = this.watchers.get(service);
        if (!set) this.watchers.set(service, (set = new Set()));
        set.add(call);
        const forget = (): void => void set!.delete(call);
        call.on("cancelled", forget);
        call.on("close", forget);
        call.write(response(this.statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN));
      },
    };
  }
}
