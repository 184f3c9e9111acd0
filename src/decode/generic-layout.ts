/**
 * Offsets of bpf/events/generic.h, the generic hook sensor's contract. test/unit/layout.test.ts
 * checks them against the BTF of bpf/.output/generic.bpf.o.
 */
export const GenericOp = { KPROBE: 13, TRACEPOINT: 14, UPROBE: 15 } as const;

export const LIMITS = {
  MAX_HOOKS: 1024, MAX_ARGS: 5, RET_ARG: 5, MAX_SELECTORS: 5, MAX_MATCH_ARGS: 5, MAX_MATCH_RET: 2,
  MAX_VALUES: 4, MAX_NS_FILTERS: 10, MAX_CAP_FILTERS: 3, MAX_ACTIONS: 3, STR_KEY_LEN: 256,
  STR_LPM_LEN: 248, REC_MAX: 512, ARG_DATA_MAX: 4096, MAX_ATTACH: 1024, HOOKS_PER_ATTACH: 16, SUBSTR_LEN: 128, MAX_SUBSTR: 100,
} as const;

export const ATTACH_HOOKS = { n: 0, rec_size: 4, ids: 8, flags: 72, SIZE: 76 } as const;
/** attach_hooks.flags: a hook of the attachment leaves call-bound deny decisions; the entry clears stale ones */
export const ATTACH_F = { CLEAR_BOUND_DENY: 0x1 } as const;

export const GT = {
  NONE: 0, S64: 1, U64: 2, S32: 3, U32: 4, S16: 5, U16: 6, S8: 7, U8: 8, SIZE: 9, STRING: 10,
  CHAR_BUF: 11, FD: 12, SOCKADDR: 13, SYSCALL64: 14, CAPABILITY: 15, KERNEL_CAP: 16, BPF_CMD: 17,
  NOP: 18, CONST_BUF: 19, CHAR_IOVEC: 20, KSTRING: 21, DATA_LOC: 22, FILE: 23, PATH: 24, BINPRM: 25, SOCK: 26,
  CRED: 27, DENTRY: 28, SOCKET: 29, SKB: 30, NET_DEV: 31, BPF_ATTR: 32, BPF_MAP: 33, BPF_PROG: 34,
  PERF_EVENT: 35, MODULE: 36, LOAD_INFO: 37, USER_NS: 38, KIOCB: 39, IOV_ITER: 40,
} as const;

/** struct iov_iter_layout: the running kernel's struct iov_iter, set as a global before load */
export const IOV_ITER_LAYOUT = {
  type_off: 0, count_off: 2, ptr_off: 4, offset_off: 6, nr_segs_off: 8, ubuf: 10, iovec: 11, kvec: 12, ok: 13, SIZE: 16,
} as const;

/** Blobs the kernel writes for kernel-object arguments (bpf/events/generic.h). */
export const USER_NS_BLOB = { level: 0, uid: 4, gid: 8, inum: 12, SIZE: 16 } as const;
export const CRED_BLOB = {
  uid: 0, gid: 4, suid: 8, sgid: 12, euid: 16, egid: 20, fsuid: 24, fsgid: 28, securebits: 32,
  cap_permitted: 40, cap_effective: 48, cap_inheritable: 56, user_ns: 64, SIZE: 80,
} as const;
/** an skb_blob starts with a sock_blob (SOCK_BLOB offsets), then: */
export const SKB_BLOB = { sock: 0, hash: 64, len: 68, SIZE: 72 } as const;
export const BPF_PROG_BLOB = { prog_type: 0, insn_cnt: 4, name: 8, SIZE: 24 } as const;
export const BPF_MAP_BLOB = { map_type: 0, key_size: 4, value_size: 8, max_entries: 12, name: 16, SIZE: 32 } as const;
export const PERF_EVENT_BLOB = { type: 0, config: 8, probe_offset: 16, kprobe_func: 24, SIZE: 88 } as const;
export const MODULE_BLOB = { name: 0, sig_ok: 56, taints: 64, SIZE: 72 } as const;

export const ARG_F = { RETURN_COPY: 0x1, SIZE_FROM_RET: 0x2, EXIT_VALUE: 0x4, KERNEL_PTR: 0x8, MAX_DATA: 0x10 } as const;

export const MOP = {
  NONE: 0, EQ: 1, NEQ: 2, GT: 3, LT: 4, MASK: 5, IN_RANGE: 6, NOT_IN_RANGE: 7, IN_MAP: 8, NOT_IN_MAP: 9,
  STR_EQ: 10, STR_NEQ: 11, PREFIX: 12, NOT_PREFIX: 13, POSTFIX: 14, NOT_POSTFIX: 15, SUBSTR: 16,
  SUBSTR_ICASE: 17, SADDR: 18, NOT_SADDR: 19, SPORT: 20, NOT_SPORT: 21, SPORT_PRIV: 22, NOT_SPORT_PRIV: 23,
  FAMILY: 24, NOT_FAMILY: 25, DADDR: 26, NOT_DADDR: 27, DPORT: 28, NOT_DPORT: 29, DPORT_PRIV: 30,
  NOT_DPORT_PRIV: 31, PROTOCOL: 32, STATE: 33,
} as const;

export const MATCH_F_SIGNED = 0x1;
export const MATCH_F_SOCK = 0x2;
export const MATCH_F_LENS = 0x4;
export const SOCK_BLOB = { family: 0, sport: 2, dport: 4, protocol: 6, type: 8, state: 10, mark: 12, priority: 16, saddr: 24, daddr: 40, cookie: 56, SIZE: 64 } as const;

export const ACT = { POST: 1, NOPOST: 2, SIGKILL: 3, SIGNAL: 4, OVERRIDE: 5, NOTIFY_ENFORCER: 6, TRACK_SOCK: 7, UNTRACK_SOCK: 8 } as const;

export const HOOK_F = { ENABLED: 0x1, RETURN: 0x2, MONITOR: 0x4, DENY_BOUND: 0x8, RET_TRACK_SOCK: 0x10, RET_UNTRACK_SOCK: 0x20 } as const;
/** hook_config.flags bits 16..19: 1 + the slot of the hook's first sock argument (TrackSock attribution) */
export const HOOK_SOCK_SLOT_SHIFT = 16;
/** hook_config.flags bits 8..15: DENY_K kinds of the Override a hook leaves to others (bpf/lib/deny.h) */
export const HOOK_DENY_SHIFT = 8;
export const DENY_K = { OPEN: 0x1, EXEC: 0x2, CONNECT: 0x4, BIND: 0x8, SENDMSG: 0x10, SOCKET: 0x20, ENFORCER: 0x40 } as const;
export const DENY_ENTRY = { err: 0, kinds: 4, ktime: 8, hook_id: 16, verdict: 20, regs: 24, nr: 32, SIZE: 40 } as const;
export const SEL_F = { EXPLICIT: 0x1 } as const;
/** attach_hooks.rec_size: the record is behind a pointer at this offset (bits 16..27) of the context */
export const REC_INDIRECT = 0x80000000;
/** process_entry.mbset bit of the agent's own CLI (spared by enforcement) */
export const MBSET_AGENT_CLI_BIT = 63;

export const ARG_SPEC = { type: 0, size: 1, size_arg: 2, flags: 3, off: 4, max_data: 6, source: 8, nsteps: 9, aux: 10, steps: 12, SIZE: 44 } as const;
export const RESOLVE_STEP = { off: 0, kind: 2, size: 3, SIZE: 4 } as const;
export const RESOLVE = { deref: 1, load: 2, addr: 3, fd: 4, MAX: 8 } as const;
export const SRC = { RECORD: 0, CURRENT_TASK: 1 } as const;
export const MATCH_ARG = { arg: 0, op: 1, nvals: 2, flags: 3, set_id: 4, vals: 8, SIZE: 40 } as const;
export const MATCH_PIDS = { op: 0, n: 1, ns_pid: 2, follow_forks: 3, pids: 4, SIZE: 20 } as const;
export const MATCH_BIN = { op: 0, parent: 1, follow: 2, set_id: 4, SIZE: 8 } as const;
export const MATCH_NS = { ns: 0, op: 1, n: 2, vals: 4, SIZE: 20 } as const;
export const MATCH_CAPS = { type: 0, op: 1, changes: 2, mask: 8, SIZE: 16 } as const;
export const SELECTOR_ACTION = { action: 0, arg: 4, scope: 8, kinds: 12, SIZE: 16 } as const;
export const SELECTOR = {
  n_args: 0, n_ret: 1, n_ns: 2, n_caps: 3, n_actions: 4, ns_changes_op: 5, ns_changes: 6,
  pids: 8, bin: 28, ns: 36, caps: 240, args: 288, ret: 488, actions: 568, ret_actions: 616, n_ret_actions: 664,
  flags: 665, SIZE: 672,
} as const;
export const HOOK_CONFIG = {
  flags: 0, op: 4, rec_size: 8, ret_off: 10, ret_size: 12, ret_type: 13, nargs: 14, nselectors: 15,
  args: 16, sel: 240, policy_filter: 3600, prefilter_args: 3604, SIZE: 3608,
} as const;
/** key of policy_filter_map */
export const POLICY_FILTER_KEY = { filter_id: 0, cgroup_id: 8, SIZE: 16 } as const;

export const MSG_GENERIC = {
  hook_id: 16, pid: 20, tid: 24, action: 28, proc_ktime: 32, ret: 40, flags: 48, selector: 52,
  data_len: 54, args: 56, SIZE: 152,
} as const;
export const ARG_SLOT = { value: 0, off: 8, len: 10, orig_len: 12, SIZE: 16 } as const;
export const GENERIC_F = { RETURN: 0x1, ERROR_ARG: 0x2, DATA_FAILED: 0x4, DATA_SHIFT: 8 } as const;
/** MSG_OP_GENERIC_DATA: a chunk of a maxData buffer, ahead of the event naming it by (tid, id) */
export const DATA_OP = 24;
export const MSG_DATA = { tid: 16, len: 20, id: 24, bytes: 32 } as const;
export const MAX_DATA_BYTES = 327360;

export const STR_KEY = { set_id: 0, len: 4, s: 8, SIZE: 264 } as const;
export const STR_LPM_KEY = { prefixlen: 0, set_id: 4, s: 8, SIZE: 256 } as const;
export const SUBSTR_KEY = { set_id: 0, idx: 4, SIZE: 8 } as const;
export const NUM_KEY = { set_id: 0, value: 8, SIZE: 16 } as const;
export const ADDR_LPM_KEY = { prefixlen: 0, set_id: 4, family: 8, addr: 12, SIZE: 28 } as const;
export const HOOK_COUNTERS = {
  posted: 0, signal: 8, monitor_signal: 16, nopost: 24, override: 32, monitor_override: 40, notify_enforcer: 48,
  monitor_notify_enforcer: 56, spared: 64, SIZE: 72,
} as const;

export const GenericStat = ["ringbuf_drop", "rate_limited", "inflight_full", "proc_miss", "arg_error", "enforce_spared", "deny_map_full"] as const;
