/**
 * grpc-js service definitions built from protobuf-es service descriptors: path
 * `/<package.Service>/<Method>`, (de)serialization with toBinary / fromBinary of the
 * generated schemas. The same definition serves the agent and the tetra client.
 *
 * Responses that are already encoded (a Uint8Array) are passed through unchanged, so
 * that a GetEvents stream can send bytes serialized once for many clients.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMessage, DescMethod, DescService, MessageShape } from "@bufbuild/protobuf";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

function serializer<D extends DescMessage>(desc: D): (m: MessageShape<D> | Uint8Array) => Buffer {
  return (m) => asBuffer(m instanceof Uint8Array ? m : toBinary(desc, m));
}

function deserializer<D extends DescMessage>(desc: D): (b: Buffer) => MessageShape<D> {
  return (b) => fromBinary(desc, b);
}

export function methodDefinition(m: DescMethod): MethodDefinition<unknown, unknown> {
  return {
    path: `/${m.parent.typeName}/${m.name}`,
    requestStream: m.methodKind === "client_streaming" || m.methodKind === "bidi_streaming",
    responseStream: m.methodKind === "server_streaming" || m.methodKind === "bidi_streaming",
    requestSerialize: serializer(m.input) as (v: unknown) => Buffer,
    requestDeserialize: deserializer(m.input),
    responseSerialize: serializer(m.output) as (v: unknown) => Buffer,
    responseDeserialize: deserializer(m.output),
    originalName: m.localName,
  };
}

/** The grpc-js definition of a service, keyed by the methods' local (camelCase) names. */
export function grpcServiceDefinition(svc: DescService): ServiceDefinition {
  const def: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const m of svc.methods) def[m.localName] = methodDefinition(m);
  return def;
}
