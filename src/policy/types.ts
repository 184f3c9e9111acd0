/**
 * TypeScript shapes of a TracingPolicy / TracingPolicyNamespaced document, mirroring the JSON
 * schema in ./schema.ts field for field (camelCase names exactly as written in YAML).
 *
 * A value of these types is what `parsePolicy` returns: already validated, with the schema
 * defaults applied (so fields that have a default are not optional here) and with operator,
 * action, namespace and capability names normalized to their canonical spelling.
 */

export const API_VERSION = "cilium.io/v1alpha1";
export type PolicyKind = "TracingPolicy" | "TracingPolicyNamespaced";

/** Argument types (`KProbeArg.type`), including Tetragon's aliases. */
export const ARG_TYPES = [
  "auto",
  "int", "sint8", "int8", "uint8", "sint16", "int16", "uint16", "uint32", "sint32", "int32",
  "ulong", "uint64", "unsigned long", "size_t", "long", "sint64", "int64",
  "char_buf", "char_iovec", "string", "const_buf", "data_loc",
  "fd", "file", "filename", "path", "dentry", "linux_binprm",
  "skb", "sock", "sockaddr", "sockaddr_un", "socket", "net_device",
  "nop", "bpf_attr", "perf_event", "bpf_map", "bpf_prog", "bpf_cmd",
  "user_namespace", "capability", "kiocb", "iov_iter", "cred", "load_info", "module",
  "syscall64", "kernel_cap_t", "cap_inheritable", "cap_permitted", "cap_effective",
] as const;
export type ArgType = (typeof ARG_TYPES)[number];

/** Canonical matchArgs / matchData / matchReturnArgs operators (after normalization). */
export const ARG_OPERATORS = [
  "Equal", "NotEqual", "Prefix", "NotPrefix", "Postfix", "NotPostfix",
  "GreaterThan", "LessThan", "Mask", "InMap", "NotInMap", "InRange", "NotInRange",
  "SubString", "SubStringIgnCase", "FileType", "NotFileType",
  "SAddr", "NotSAddr", "DAddr", "NotDAddr",
  "SPort", "NotSPort", "DPort", "NotDPort",
  "SPortPriv", "NotSPortPriv", "DPortPriv", "NotDPortPriv",
  "Protocol", "Family", "State", "CapabilitiesGained", "CelExpr",
] as const;
export type ArgOperator = (typeof ARG_OPERATORS)[number];

export const BINARY_OPERATORS = ["In", "NotIn", "Prefix", "NotPrefix", "Postfix", "NotPostfix"] as const;
export type BinaryOperator = (typeof BINARY_OPERATORS)[number];

export const SET_OPERATORS = ["In", "NotIn"] as const;
export type SetOperator = (typeof SET_OPERATORS)[number];

/** Canonical action names. FollowFD, UnfollowFD and CopyFD were removed from Tetragon's CRD. */
export const ACTIONS = [
  "Post", "NoPost", "Sigkill", "Signal", "Override", "GetUrl", "DnsLookup",
  "TrackSock", "UntrackSock", "NotifyEnforcer", "CleanupEnforcerNotification", "Set",
] as const;
export type ActionType = (typeof ACTIONS)[number];
export const REMOVED_ACTIONS = ["FollowFD", "UnfollowFD", "CopyFD"] as const;

export const NAMESPACE_TYPES = [
  "Uts", "Ipc", "Mnt", "Pid", "PidForChildren", "Net", "Time", "TimeForChildren", "Cgroup", "User",
] as const;
export type NamespaceType = (typeof NAMESPACE_TYPES)[number];

export const CAPABILITY_SET_TYPES = ["Effective", "Inheritable", "Permitted"] as const;
export type CapabilitySetType = (typeof CAPABILITY_SET_TYPES)[number];

export const RATE_LIMIT_SCOPES = ["thread", "process", "global"] as const;
export type RateLimitScope = (typeof RATE_LIMIT_SCOPES)[number];

export const LIST_TYPES = ["syscalls", "generated_syscalls", "generated_ftrace"] as const;
export type ListType = (typeof LIST_TYPES)[number];

export const RETURN_ARG_ACTIONS = ["Post", "TrackSock", "UntrackSock"] as const;
export type ReturnArgAction = (typeof RETURN_ARG_ACTIONS)[number];

export const LABEL_SELECTOR_OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"] as const;

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  generateName?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string | null;
  finalizers?: string[];
  ownerReferences?: Record<string, unknown>[];
  managedFields?: Record<string, unknown>[];
}

export interface LabelSelectorRequirement {
  key: string;
  operator: (typeof LABEL_SELECTOR_OPERATORS)[number];
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface KProbeArg {
  index: number;
  type: ArgType;
  resolve: string;
  sizeArgIndex?: number;
  returnCopy: boolean;
  maxData: boolean;
  label?: string;
  /** Only in `data[]`: `current_task` or `pt_regs`. */
  source?: string;
  btfType?: string;
  btfTypeModule?: string;
}

export interface ArgSelector {
  /** Position of the argument in the function prototype; 0 when omitted. */
  index?: number;
  /** Positions in the hook's `args` (or `data`) list; when present it wins over `index`. */
  args?: number[];
  operator: ArgOperator;
  values?: string[];
}

export interface PIDSelector {
  operator: SetOperator;
  values: number[];
  isNamespacePID: boolean;
  followForks: boolean;
}

export interface BinarySelector {
  operator: BinaryOperator;
  values: string[];
  followChildren: boolean;
}

export interface NamespaceSelector {
  namespace: NamespaceType;
  operator: SetOperator;
  values: string[];
}

export interface NamespaceChangesSelector {
  operator: SetOperator;
  values: string[];
}

export interface CapabilitiesSelector {
  type: CapabilitySetType;
  operator: SetOperator;
  isNamespaceCapability: boolean;
  values: string[];
}

export interface ActionSelector {
  action: ActionType;
  argFd?: number;
  argName?: number;
  argUrl?: string;
  argFqdn?: string;
  argError?: number;
  argSig?: number;
  argSock?: number;
  rateLimit?: string;
  rateLimitScope?: RateLimitScope;
  kernelStackTrace?: boolean;
  userStackTrace?: boolean;
  imaHash?: boolean;
  argRegs?: string[];
  argNewSymbol?: string;
  argNewAddr?: number;
  argNewOffset?: number;
  argIndex?: number;
  argValue?: number;
  enforcerNotifyActionArgIndex?: number;
}

export interface WorkloadSelector {
  podSelector?: LabelSelector | null;
  containerSelector?: LabelSelector | null;
  hostSelector?: LabelSelector | null;
}

export interface KProbeSelector {
  label?: string;
  matchPIDs?: PIDSelector[];
  matchArgs?: ArgSelector[];
  matchData?: ArgSelector[];
  matchReturnArgs?: ArgSelector[];
  matchActions?: ActionSelector[];
  matchReturnActions?: ActionSelector[];
  matchBinaries?: BinarySelector[];
  matchParentBinaries?: BinarySelector[];
  matchNamespaces?: NamespaceSelector[];
  matchNamespaceChanges?: NamespaceChangesSelector[];
  matchCapabilities?: CapabilitiesSelector[];
  matchCapabilityChanges?: CapabilitiesSelector[];
  matchWorkloads?: WorkloadSelector;
  /** Names of `spec.selectorsMacros` entries merged into this selector. */
  macros?: string[];
}

export interface KProbeSpec {
  call: string;
  syscall: boolean;
  return: boolean;
  message?: string;
  args?: KProbeArg[];
  data?: KProbeArg[];
  returnArg?: KProbeArg;
  returnArgAction?: ReturnArgAction;
  selectors?: KProbeSelector[];
  tags?: string[];
  ignore?: { callNotFound?: boolean };
}

export interface TracepointSpec {
  subsystem: string;
  event: string;
  raw: boolean;
  message?: string;
  args?: KProbeArg[];
  selectors?: KProbeSelector[];
  tags?: string[];
}

export interface UProbeSpec {
  path: string;
  btfPath?: string;
  symbols?: string[];
  offsets?: number[];
  addrs?: number[];
  refCtrOffsets?: number[];
  message?: string;
  selectors?: KProbeSelector[];
  args?: KProbeArg[];
  data?: KProbeArg[];
  tags?: string[];
  return: boolean;
  returnArg?: KProbeArg;
  binaryDigests?: string[];
  resolvePathInContainer?: boolean;
  ignore?: { digestVerificationFailure?: boolean };
}

export interface UsdtSpec {
  path: string;
  btfPath?: string;
  provider: string;
  name: string;
  message?: string;
  args?: KProbeArg[];
  selectors?: KProbeSelector[];
  tags?: string[];
}

export interface LsmHookSpec {
  hook: string;
  message?: string;
  args?: KProbeArg[];
  selectors?: KProbeSelector[];
  tags?: string[];
}

export interface ListSpec {
  name: string;
  values?: string[];
  type?: ListType;
  pattern?: string;
  validated?: boolean;
}

export interface EnforcerSpec {
  calls: string[];
}

export interface OptionSpec {
  name: string;
  value?: string;
}

export interface TracingPolicySpec {
  kprobes?: KProbeSpec[];
  tracepoints?: TracepointSpec[];
  uprobes?: UProbeSpec[];
  lsmhooks?: LsmHookSpec[];
  usdts?: UsdtSpec[];
  fentries?: KProbeSpec[];
  loader?: boolean;
  podSelector?: LabelSelector | null;
  containerSelector?: LabelSelector | null;
  hostSelector?: LabelSelector | null;
  nodeSelector?: LabelSelector | null;
  lists?: ListSpec[];
  enforcers?: EnforcerSpec[];
  options?: OptionSpec[];
  selectorsMacros?: Record<string, KProbeSelector>;
}

export interface TracingPolicy {
  apiVersion: typeof API_VERSION;
  kind: PolicyKind;
  metadata: ObjectMeta;
  spec: TracingPolicySpec;
}

/** One reason a document was rejected: a Kubernetes-style field path and a reason. */
export interface PolicyIssue {
  /** e.g. `spec.kprobes[0].selectors[1].matchArgs[0].values`; `<document>` for YAML-level errors. */
  path: string;
  reason: string;
  /** 1-based line in the YAML source, when known. */
  line?: number;
}

export interface ParseOptions {
  /**
   * Kernel supports large BPF programs (>= 5.3). When false, Tetragon's small-program limits
   * apply (1 matchArgs+matchData filter, 4 matchNamespaces filters, no matchNamespaceChanges,
   * no Prefix/Postfix on binaries). Default: true.
   */
  largePrograms?: boolean;
}
