/** FineGuidanceSensors.GetHealth: the agent is running while it serves (details "running"). */
import { create } from "@bufbuild/protobuf";
import type { sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
import {
  GetHealthStatusResponseSchema, HealthStatusResult, HealthStatusSchema, HealthStatusType,
  type GetHealthStatusRequest, type GetHealthStatusResponse,
} from "../../../api/gen/tetragon/tetragon_pb";

export function healthResponse(): GetHealthStatusResponse {
  return create(GetHealthStatusResponseSchema, {
    healthStatus: [
      create(HealthStatusSchema, {
        event: HealthStatusType.STATUS,
        status: HealthStatusResult.HEALTH_STATUS_RUNNING,
        details: "running",
      }),
    ],
  });
}

export function getHealth(_call: ServerUnaryCall<GetHealthStatusRequest, GetHealthStatusResponse>, cb: sendUnaryData<GetHealthStatusResponse>): void {
  cb(null, healthResponse());
}
