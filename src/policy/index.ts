/**
 * Policy documents: the TracingPolicy / TracingPolicyNamespaced format (cilium.io/v1alpha1).
 *
 * Contract of this folder:
 *  - `schema.ts` holds the one schema of the format (structural OpenAPI v3, usable as a CRD
 *    `openAPIV3Schema` through `crdOpenAPIV3Schema()`); it is the single source of truth for
 *    field names, types, enums and defaults, used for files, gRPC requests and Kubernetes.
 *  - `parsePolicy(text)` / `parsePolicyObject(obj)` accept a document only if it is entirely
 *    valid: YAML with one document and no duplicate keys, no unknown field, right types, values
 *    in range, Tetragon's limits respected, references (argument indexes, lists, macros,
 *    enforcers) resolved, operators valid for the argument types and operands that parse. The
 *    result is a `TracingPolicy` with Tetragon's defaults applied (`syscall: true`, arg
 *    `type: auto`, ...), operator / action / namespace / capability names in their canonical
 *    spelling, and `message` truncated to 256 bytes.
 *  - Otherwise they throw a `PolicyError` whose `issues` list every problem as a Kubernetes-style
 *    field path (`spec.kprobes[0].selectors[1].matchArgs[0].values`) and a reason; nothing of
 *    the document is to be used.
 *  - Nothing here depends on the running kernel except the optional `largePrograms` switch;
 *    whether a hook can be attached is decided by the sensors, not here.
 *  - `values.ts` parses selector operands (integers, ranges, addresses, ports, names) the same
 *    way for the validator and for the selector compiler.
 */
export { parsePolicy, parsePolicyObject, formatPath, DOCUMENT_PATH } from "./parse";
export { PolicyError, isPolicyError } from "./errors";
export { tracingPolicySchema, strictSchema, crdOpenAPIV3Schema, DNS_SUBDOMAIN_PATTERN, type SchemaNode } from "./schema";
export { validatePolicy, LIMITS, truncateUtf8 } from "./validate";
export { normalizeSpellings, canonicalArgOperator, canonicalAction } from "./normalize";
export * from "./values";
export * from "./types";
