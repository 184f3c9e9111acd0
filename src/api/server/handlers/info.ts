/**
 * FineGuidanceSensors.GetVersion and GetInfo: the agent's version, name, the kernel
 * features it probed and its configuration (each value packed in a google.protobuf.Any
 * of StringValue, Int64Value, DoubleValue or BoolValue).
 */
import { create } from "@bufbuild/protobuf";
import {
  anyPack, BoolValueSchema, DoubleValueSchema, Int64ValueSchema, StringValueSchema, type Any,
} from "@bufbuild/protobuf/wkt";
import type { sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
import {
  GetInfoResponse_BuildInfoSchema, GetInfoResponse_ConfValSchema, GetInfoResponse_ProbeSchema, GetInfoResponseSchema,
  GetVersionResponseSchema, type GetInfoRequest, type GetInfoResponse, type GetVersionRequest, type GetVersionResponse,
} from "../../../api/gen/tetragon/sensors_pb";
import type { ConfigValue } from "../../../config";
import type { ServerDeps } from "../deps";
import { overrideMechanisms } from "../kernel-features";

export const AGENT_NAME = "tetragon";

export function packConfValue(v: ConfigValue): Any {
  if (typeof v === "boolean") return anyPack(BoolValueSchema, create(BoolValueSchema, { value: v }));
  if (typeof v === "number") {
    return Number.isInteger(v)
      ? anyPack(Int64ValueSchema, create(Int64ValueSchema, { value: BigInt(v) }))
      : anyPack(DoubleValueSchema, create(DoubleValueSchema, { value: v }));
  }
  return anyPack(StringValueSchema, create(StringValueSchema, { value: Array.isArray(v) ? v.join(",") : v }));
}

export function infoResponse(deps: ServerDeps): GetInfoResponse {
  return create(GetInfoResponseSchema, {
    version: deps.version,
    name: AGENT_NAME,
    probes: deps.features().map((f) => create(GetInfoResponse_ProbeSchema, { Name: f.name, Enabled: f.enabled })),
    conf: [
      ...Object.keys(deps.config)
        .sort()
        .map((key) => create(GetInfoResponse_ConfValSchema, { key, value: packConfValue(deps.config[key]) })),
      // tetragon-ts: what carries out Override here, in the order policies use them
      create(GetInfoResponse_ConfValSchema, { key: "override-mechanisms", value: packConfValue(overrideMechanisms(deps.features()).join(",")) }),
    ],
    build: create(GetInfoResponse_BuildInfoSchema, { goVersion: `node ${process.version}`, commit: "", time: "", modified: "" }),
  });
}

export function versionHandlers(deps: ServerDeps) {
  return {
    getVersion(_call: ServerUnaryCall<GetVersionRequest, GetVersionResponse>, cb: sendUnaryData<GetVersionResponse>): void {
      cb(null, create(GetVersionResponseSchema, { version: deps.version }));
    },
    getInfo(_call: ServerUnaryCall<GetInfoRequest, GetInfoResponse>, cb: sendUnaryData<GetInfoResponse>): void {
      cb(null, infoResponse(deps));
    },
  };
}
