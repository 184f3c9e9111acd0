/** gRPC status errors for handlers: `{ code, details }` as grpc-js expects them. */
import { status, type ServiceError } from "@grpc/grpc-js";

export type GrpcStatusError = Partial<ServiceError> & { code: status; details: string };

export function grpcError(code: status, details: string): GrpcStatusError {
  return { code, details, message: details };
}

export const invalidArgument = (details: string): GrpcStatusError => grpcError(status.INVALID_ARGUMENT, details);
export const unimplemented = (details: string): GrpcStatusError => grpcError(status.UNIMPLEMENTED, details);
export const unknownError = (details: string): GrpcStatusError => grpcError(status.UNKNOWN, details);
export const unavailable = (details: string): GrpcStatusError => grpcError(status.UNAVAILABLE, details);
