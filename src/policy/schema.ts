/**
 * The one schema of TracingPolicy / TracingPolicyNamespaced documents (group cilium.io, version
 * v1alpha1), written as a structural OpenAPI v3 schema so that the same object can be used:
 *
 *  - by `parsePolicy` (files, gRPC requests), through ajv with defaults applied and with every
 *    object closed (`strictSchema()` adds `additionalProperties: false`, which is what Tetragon's
 *    strict YAML decoding does);
 *  - as the `openAPIV3Schema` of the CRDs (`crdOpenAPIV3Schema()`), where unknown fields are
 *    handled by the API server's pruning / strict field validation (no
 *    `x-kubernetes-preserve-unknown-fields` on policy objects) and where `metadata` may only be
 *    `{type: object}`.
 *
 * Only keywords valid in a Kubernetes structural schema are used: type, properties, items,
 * required, enum, default, minimum, maximum, minLength, maxLength, maxItems, pattern, format,
 * nullable, additionalProperties (as a schema, for maps), description and
 * x-kubernetes-preserve-unknown-fields. No $ref: everything is inlined (only the validation
 * variant built by `strictSchema()` factors shared nodes into $defs, for compile speed).
 *
 * Limits that depend on the kernel (selectors, matchArgs, values, actions, ...) and rules across
 * fields are checked in ./validate.ts, not here, so that error messages can name the limit.
 */
import {
  ACTIONS,
  API_VERSION,
  ARG_TYPES,
  BINARY_OPERATORS,
  CAPABILITY_SET_TYPES,
  LABEL_SELECTOR_OPERATORS,
  LIST_TYPES,
  NAMESPACE_TYPES,
  RATE_LIMIT_SCOPES,
  RETURN_ARG_ACTIONS,
  SET_OPERATORS,
  ARG_OPERATORS,
} from "./types";

/** A JSON schema node (kept loose on purpose: it is data, emitted as YAML for the CRD later). */
export type SchemaNode = { [k: string]: unknown };

/** Spellings accepted by Tetragon's CRD enum besides the canonical names (kept for k8s objects). */
export const CRD_OPERATOR_SPELLINGS = ["GT", "LT", "NotSportPriv"] as const;

/** DNS-1123 subdomain: lowercase alphanumerics, '-' and '.', alphanumeric at both ends. */
export const DNS_SUBDOMAIN_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

const str = (description: string, extra: SchemaNode = {}): SchemaNode => ({ type: "string", description, ...extra });
const bool = (description: string, dflt?: boolean): SchemaNode =>
  dflt === undefined ? { type: "boolean", description } : { type: "boolean", description, default: dflt };
const int32 = (description: string, extra: SchemaNode = {}): SchemaNode => ({
  type: "integer",
  format: "int32",
  description,
  ...extra,
});
const uint32 = (description: string): SchemaNode => ({
  type: "integer",
  format: "int64",
  minimum: 0,
  maximum: 4294967295,
  description,
});
const uint64 = (description: string): SchemaNode => ({ type: "integer", format: "int64", minimum: 0, description });
const strList = (description: string, extra: SchemaNode = {}): SchemaNode => ({
  type: "array",
  description,
  items: { type: "string" },
  ...extra,
});
const list = (description: string, items: SchemaNode, extra: SchemaNode = {}): SchemaNode => ({
  type: "array",
  description,
  items,
  ...extra,
});
const obj = (description: string, properties: Record<string, SchemaNode>, required: string[] = []): SchemaNode =>
  required.length
    ? { type: "object", description, properties, required }
    : { type: "object", description, properties };
const stringMap = (description: string): SchemaNode => ({
  type: "object",
  description,
  additionalProperties: { type: "string" },
});

/** While building the validation variant, shared nodes go to $defs (ajv compiles them once). */
let defs: Record<string, SchemaNode> | null = null;

function shared(name: string, build: () => SchemaNode): SchemaNode {
  if (!defs) return build();
  if (!defs[name]) defs[name] = build();
  return { $ref: `#/$defs/${name}` };
}

function labelSelector(description: string): SchemaNode {
  return shared("labelSelector", () => ({
    ...obj(description, {
      matchLabels: stringMap("Label key/value pairs that must all be present (each is an In requirement with one value)."),
      matchExpressions: list(
        "Label requirements, all of which must hold.",
        obj(
          "One requirement on a label key.",
          {
            key: str("Label key the requirement is about."),
            operator: str("How the key relates to the values.", { enum: [...LABEL_SELECTOR_OPERATORS] }),
            values: strList("Values for In / NotIn; must be empty for Exists / DoesNotExist."),
          },
          ["key", "operator"],
        ),
      ),
    }),
    nullable: true,
  }));
}

function kprobeArg(description: string): SchemaNode {
  return shared("kprobeArg", () => obj(
    description,
    {
      index: int32("Position of the argument in the probed function (or tracepoint format field).", { minimum: 0 }),
      type: str("How the argument is read and reported; `auto` takes the type from BTF or the syscall prototype.", {
        enum: [...ARG_TYPES],
        default: "auto",
      }),
      resolve: str("Dotted path of struct members to follow from the argument (through BTF) before reading it.", {
        default: "",
      }),
      sizeArgIndex: int32("1-based position of the argument holding the size of this char_buf / char_iovec.", {
        minimum: 0,
      }),
      returnCopy: bool("char_buf / char_iovec: read the buffer when the function returns instead of on entry.", false),
      maxData: bool("char_buf: read up to 327360 bytes instead of 4096 (kernels >= 5.4).", false),
      label: str("Name given to the argument in the exported event."),
      source: str("Only in `data`: where the value comes from, `current_task` or `pt_regs`."),
      btfType: str("Type of the original argument, looked up in the BTF of btfPath (uprobes, USDTs)."),
      btfTypeModule: str("Kernel module whose BTF holds btfType."),
    },
    ["index", "type"],
  ));
}

const argOperatorEnum = [...ARG_OPERATORS, ...CRD_OPERATOR_SPELLINGS];

function argSelector(description: string): SchemaNode {
  return obj(
    description,
    {
      index: int32("Position of the filtered argument in the function prototype (matched against args[].index).", {
        minimum: 0,
      }),
      args: list(
        "Positions in the hook's argument list to filter on; takes precedence over index.",
        { type: "integer", format: "int32", minimum: 0 },
      ),
      operator: str("Comparison applied to the argument.", { enum: argOperatorEnum }),
      values: strList("Operands of the comparison, always written as strings."),
    },
    ["operator"],
  );
}

function actionSelector(description: string): SchemaNode {
  return obj(
    description,
    {
      action: str("What to do when the selector matches.", { enum: [...ACTIONS] }),
      argFd: int32("Argument position holding a file descriptor (legacy fd-tracking actions)."),
      argName: int32("Argument position holding a file name (legacy fd-tracking actions)."),
      argUrl: str("URL fetched by GetUrl."),
      argFqdn: str("Name resolved by DnsLookup."),
      argError: int32("Error returned by Override (a negative errno) or reported by NotifyEnforcer."),
      argSig: int32("Signal number sent by Signal or NotifyEnforcer."),
      argSock: int32("Argument position of the socket for TrackSock / UntrackSock."),
      rateLimit: str("Post: do not post the same event again within this period: seconds, or a number with s, m or h."),
      rateLimitScope: str("Post with rateLimit: per thread (default), per process or global.", {
        enum: [...RATE_LIMIT_SCOPES],
      }),
      kernelStackTrace: bool("Post: attach the kernel stack trace."),
      userStackTrace: bool("Post: attach the user-space stack trace."),
      imaHash: bool("Post: attach the file hash computed by the integrity subsystem."),
      argRegs: strList("Uprobe Override: registers to set, as `reg=value` assignments."),
      argNewSymbol: str("Uprobe Override: symbol to jump to instead of the probed one."),
      argNewAddr: uint64("Uprobe Override: address to jump to instead of the probed one."),
      argNewOffset: uint64("Uprobe Override: file offset to jump to instead of the probed one."),
      argIndex: int32("Set (USDT): argument position to write."),
      argValue: int32("Set (USDT): value to write."),
      enforcerNotifyActionArgIndex: int32("NotifyEnforcer: argument position passed along with the notification.", {
        minimum: 0,
      }),
    },
    ["action"],
  );
}

function binarySelector(description: string): SchemaNode {
  return obj(
    description,
    {
      operator: str("How the executable path is compared.", { enum: [...BINARY_OPERATORS] }),
      values: strList("Executable paths (or prefixes / suffixes of them)."),
      followChildren: bool("In / NotIn: also match the descendants of the matching processes.", false),
    },
    ["operator", "values"],
  );
}

function capabilitiesSelector(description: string): SchemaNode {
  return obj(
    description,
    {
      type: str("Which capability set of the task is tested.", { enum: [...CAPABILITY_SET_TYPES], default: "Effective" }),
      operator: str("Whether the set must contain (In) or lack (NotIn) the capabilities.", { enum: [...SET_OPERATORS] }),
      isNamespaceCapability: bool("Only match when the task is outside the host user namespace.", false),
      values: strList("Capability names such as CAP_SYS_ADMIN."),
    },
    ["operator", "values"],
  );
}

function kprobeSelector(description: string): SchemaNode {
  return shared("kprobeSelector", () => obj(description, {
    label: str("Free-form name of the selector."),
    matchPIDs: list(
      "Process id filters; all must match.",
      obj(
        "One process id filter.",
        {
          operator: str("Membership test.", { enum: [...SET_OPERATORS] }),
          values: list("Process ids.", uint32("A process id.")),
          isNamespacePID: bool("The ids are pids as seen in the task's pid namespace.", false),
          followForks: bool("Also match the descendants of the listed processes.", false),
        },
        ["operator", "values"],
      ),
    ),
    matchArgs: list("Filters on the hook's arguments; all must match.", argSelector("One argument filter.")),
    matchData: list("Filters on the hook's data entries; all must match.", argSelector("One data filter.")),
    matchReturnArgs: list(
      "Filters on the return value; all must match.",
      argSelector("One return value filter."),
    ),
    matchActions: list("Actions run when the selector matches.", actionSelector("One action.")),
    matchReturnActions: list(
      "Actions run when the return filters match.",
      actionSelector("One action on return."),
    ),
    matchBinaries: list(
      "Filter on the executable of the current process.",
      binarySelector("One executable filter."),
    ),
    matchParentBinaries: list(
      "Filter on the executable of the parent process (needs the parents map).",
      binarySelector("One parent executable filter."),
    ),
    matchNamespaces: list(
      "Filters on the namespaces of the current task; all must match.",
      obj(
        "One namespace filter.",
        {
          namespace: str("Namespace kind.", { enum: [...NAMESPACE_TYPES] }),
          operator: str("Membership test.", { enum: [...SET_OPERATORS] }),
          values: strList("Namespace inode numbers, or host_ns for the host's namespace."),
        },
        ["namespace", "operator", "values"],
      ),
    ),
    matchNamespaceChanges: list(
      "Filter on namespace changes of the task.",
      obj(
        "One namespace change filter.",
        {
          operator: str("Membership test.", { enum: [...SET_OPERATORS] }),
          values: strList("Namespace kinds (Mnt, Pid, ...) whose change is matched."),
        },
        ["operator", "values"],
      ),
    ),
    matchCapabilities: list(
      "Filters on the capabilities of the task; all must match.",
      capabilitiesSelector("One capability filter."),
    ),
    matchCapabilityChanges: list(
      "Filters on capability changes of the task; all must match.",
      capabilitiesSelector("One capability change filter."),
    ),
    matchWorkloads: obj("Restricts the selector to some workloads.", {
      podSelector: labelSelector("Pods the selector applies to."),
      containerSelector: labelSelector("Containers the selector applies to (key: name)."),
      hostSelector: labelSelector("Host processes: null (none) or {} (all)."),
    }),
    macros: strList("Names of spec.selectorsMacros entries merged into this selector."),
  }));
}

const selectors = (): SchemaNode =>
  list("Filters deciding which calls produce an event; ORed, the first matching one wins.", kprobeSelector("One selector; its filters are ANDed."));
const tags = (): SchemaNode => strList("Labels copied into every event of the hook (at most 16).", { maxItems: 16 });
const message = (): SchemaNode => str("Short text copied into every event of the hook (longer than 256 characters is truncated).");
const args = (): SchemaNode => list("Arguments read and exported with the event.", kprobeArg("One argument."));
const data = (): SchemaNode => list("Extra values (from the task or registers) read and exported with the event.", kprobeArg("One data entry."));

function kprobeSpec(description: string): SchemaNode {
  return shared("kprobeSpec", () => obj(
    description,
    {
      call: str("Kernel function or syscall to hook, or `list:NAME` for every entry of a list."),
      syscall: bool("The call is a syscall: its architecture prefix is added (e.g. __x64_sys_).", true),
      return: bool("Also hook the return and report the return value (needs returnArg).", false),
      message: message(),
      args: args(),
      data: data(),
      returnArg: kprobeArg("How the return value is read."),
      returnArgAction: str("Action applied to the return value.", { enum: [...RETURN_ARG_ACTIONS] }),
      selectors: selectors(),
      tags: tags(),
      ignore: obj("Conditions under which a hook that cannot be attached is skipped instead of failing.", {
        callNotFound: bool("Skip the hook when the function does not exist on this kernel."),
      }),
    },
    ["call"],
  ));
}

function tracepointSpec(): SchemaNode {
  return obj(
    "A kernel tracepoint hook.",
    {
      subsystem: str("Tracepoint group, e.g. syscalls or raw_syscalls."),
      event: str("Tracepoint name within the group, e.g. sys_enter_openat."),
      raw: bool("Attach as a raw tracepoint; argument indexes then refer to the BTF arguments.", false),
      message: message(),
      args: list("Fields read and exported with the event (index into the tracepoint format fields).", kprobeArg("One field.")),
      selectors: selectors(),
      tags: tags(),
    },
    ["subsystem", "event"],
  );
}

function uprobeSpec(): SchemaNode {
  return obj(
    "A user-space function hook.",
    {
      path: str("Executable or library to probe."),
      btfPath: str("BTF file describing the binary's types (for resolve)."),
      symbols: strList("Symbols to probe."),
      offsets: list("File offsets to probe.", uint64("An offset.")),
      addrs: list("Virtual addresses to probe.", uint64("An address.")),
      refCtrOffsets: list("Semaphore (reference counter) offsets, one per symbol or offset.", uint64("An offset.")),
      message: message(),
      selectors: selectors(),
      args: args(),
      data: data(),
      tags: tags(),
      return: bool("Also probe the return and report the return value (needs returnArg).", false),
      returnArg: kprobeArg("How the return value is read."),
      binaryDigests: strList("Accepted digests of the binary (sha256:...)."),
      resolvePathInContainer: bool("Resolve path inside the selected containers (needs podSelector)."),
      ignore: obj("Conditions under which the hook is skipped instead of failing.", {
        digestVerificationFailure: bool("Skip the hook when the binary's digest does not match."),
      }),
    },
    ["path"],
  );
}

function usdtSpec(): SchemaNode {
  return obj(
    "A user-space statically defined tracepoint hook.",
    {
      path: str("Binary holding the probe."),
      btfPath: str("BTF file describing the binary's types."),
      provider: str("USDT provider name."),
      name: str("USDT probe name."),
      message: message(),
      args: args(),
      selectors: selectors(),
      tags: tags(),
    },
    ["path", "provider", "name"],
  );
}

function lsmHookSpec(): SchemaNode {
  return obj(
    "A BPF LSM hook.",
    {
      hook: str("LSM hook name, e.g. file_open or bprm_check_security."),
      message: message(),
      args: args(),
      selectors: selectors(),
      tags: tags(),
    },
    ["hook"],
  );
}

function specSchema(): SchemaNode {
  return obj("What the policy hooks, filters and does.", {
    kprobes: list("Kernel function and syscall hooks.", kprobeSpec("A kernel function or syscall hook.")),
    tracepoints: list("Tracepoint hooks.", tracepointSpec()),
    uprobes: list("User-space function hooks.", uprobeSpec()),
    lsmhooks: list("BPF LSM hooks.", lsmHookSpec()),
    usdts: list("USDT hooks.", usdtSpec()),
    fentries: list("Kernel function hooks attached with fentry/fexit.", kprobeSpec("An fentry hook.")),
    loader: bool("Report loader (mmap of executable code) events."),
    podSelector: labelSelector("Pods the policy applies to."),
    containerSelector: labelSelector("Containers the policy applies to; the only key is name."),
    hostSelector: labelSelector("Host processes: null (none) or {} (all)."),
    nodeSelector: labelSelector("Nodes the policy is loaded on."),
    lists: list(
      "Named lists of values, referenced as list:NAME.",
      obj(
        "One named list.",
        {
          name: str("Name used in list:NAME references."),
          values: strList("Entries of the list (syscall names for syscalls lists)."),
          type: str("Kind of entries.", { enum: [...LIST_TYPES] }),
          pattern: str("Regular expression selecting entries of a generated list."),
          validated: bool("The entries were already checked."),
        },
        ["name"],
      ),
    ),
    enforcers: list(
      "Syscalls where NotifyEnforcer decisions are enforced.",
      obj("One enforcer.", { calls: strList("Syscalls (or list:NAME) to enforce on.") }, ["calls"]),
    ),
    options: list(
      "Per-policy settings.",
      obj("One setting.", { name: str("Setting name."), value: str("Setting value.") }, ["name"]),
    ),
    selectorsMacros: {
      type: "object",
      description: "Named selectors that hook selectors include with macros: [NAME].",
      additionalProperties: kprobeSelector("A reusable selector."),
    },
  });
}

function metadataSchema(): SchemaNode {
  return obj(
    "Object metadata; name identifies the policy.",
    {
      name: str("Policy name: a DNS subdomain (lowercase, at most 253 characters).", {
        minLength: 1,
        maxLength: 253,
        pattern: DNS_SUBDOMAIN_PATTERN,
      }),
      namespace: str("Namespace of a TracingPolicyNamespaced.", { maxLength: 63 }),
      labels: stringMap("Labels of the policy object."),
      annotations: stringMap("Annotations of the policy object."),
      generateName: str("Kubernetes: prefix for a generated name."),
      uid: str("Kubernetes: object uid."),
      resourceVersion: str("Kubernetes: resource version."),
      generation: { type: "integer", format: "int64", description: "Kubernetes: generation." },
      creationTimestamp: { type: "string", nullable: true, description: "Kubernetes: creation time." },
      finalizers: strList("Kubernetes: finalizers."),
      ownerReferences: list("Kubernetes: owners.", {
        type: "object",
        "x-kubernetes-preserve-unknown-fields": true,
      }),
      managedFields: list("Kubernetes: field managers.", {
        type: "object",
        "x-kubernetes-preserve-unknown-fields": true,
      }),
    },
    ["name"],
  );
}

function buildSchema(withDefs = false): SchemaNode {
  defs = withDefs ? {} : null;
  const root = obj(
    "A Tetragon tracing policy: hooks, in-kernel filters and actions.",
    {
      apiVersion: str("Always cilium.io/v1alpha1.", { enum: [API_VERSION] }),
      kind: str("TracingPolicy (cluster-wide) or TracingPolicyNamespaced.", {
        enum: ["TracingPolicy", "TracingPolicyNamespaced"],
      }),
      metadata: metadataSchema(),
      spec: specSchema(),
    },
    ["apiVersion", "kind", "metadata", "spec"],
  );
  if (defs) root.$defs = defs;
  defs = null;
  return root;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object" && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}

/** The schema (read-only). Use `strictSchema()` for validation, `crdOpenAPIV3Schema()` for a CRD. */
export const tracingPolicySchema: SchemaNode = deepFreeze(buildSchema());

function clone<T>(o: T): T {
  return JSON.parse(JSON.stringify(o)) as T;
}

/**
 * The variant used for validation: the same schema, with shared nodes (selector, argument, label
 * selector) moved to `$defs` so that ajv compiles them once, and every object with `properties`
 * closed with `additionalProperties: false` (unless it preserves unknown fields): this is how
 * unknown fields are rejected outside Kubernetes.
 */
export function strictSchema(): SchemaNode {
  const close = (n: unknown): void => {
    if (Array.isArray(n)) return n.forEach(close);
    if (!n || typeof n !== "object") return;
    const node = n as SchemaNode;
    if (node.type === "object" && node.properties && node.additionalProperties === undefined &&
        node["x-kubernetes-preserve-unknown-fields"] !== true) {
      node.additionalProperties = false;
    }
    for (const v of Object.values(node)) close(v);
  };
  const s = buildSchema(true);
  close(s);
  return s;
}

/**
 * The schema as a CRD `openAPIV3Schema`: Kubernetes only allows `metadata` to be `{type: object}`
 * at the root (name rules are enforced by the API server itself); the top-level `required` is kept.
 */
export function crdOpenAPIV3Schema(): SchemaNode {
  const s = clone(tracingPolicySchema);
  (s.properties as Record<string, SchemaNode>).metadata = { type: "object" };
  return s;
}
