/* The contract of the generic hook sensor (syscalls through their tracepoints, other
 * tracepoints, uprobes, kprobes): hook configuration and compiled selectors written by
 * src/policy/compiler into hook_config, and the records it sends. Layouts are mirrored in
 * src/decode/generic-layout.ts and checked against BTF by test/unit/layout.test.ts. */
#ifndef TG_EVENTS_GENERIC_H
#define TG_EVENTS_GENERIC_H

#include "msg_types.h"

#define MAX_HOOKS 1024
#define MAX_ARGS 5
#define RET_ARG 5          /* the index of the return value in matchers */
#define MAX_SELECTORS 5
#define MAX_MATCH_ARGS 5
#define MAX_MATCH_RET 2
#define MAX_VALUES 4
#define MAX_NS_FILTERS 10
#define MAX_CAP_FILTERS 3
#define MAX_ACTIONS 3
#define STR_KEY_LEN 256
#define STR_LPM_LEN 248    /* an LPM trie key holds at most 256 bytes of data */
#define REC_MAX 512        /* bytes of the tracepoint record or pt_regs copied per hit */
#define GENERIC_DATA_LEN 16384
#define GENERIC_DATA_MASK 8191
#define ARG_DATA_MAX 4096

#define COOKIE_RETURN 0x80000000u
#define ATTACH_ID_MASK 0x3ffu
#define MAX_ATTACH 1024
#define HOOKS_PER_ATTACH 16
#define REC_INDIRECT 0x80000000u

/* The hooks sharing one attachment: a program can be attached to a tracepoint only once,
 * so every hook on it runs from that one attachment, whose cookie names this list. */
struct attach_hooks {
	__u32 n;
	__u32 rec_size;     /* bytes of the record (or pt_regs) to copy; REC_INDIRECT and the
	                     * pointer's offset in the context in bits 16..27 */
	__u32 ids[HOOKS_PER_ATTACH];
	__u32 flags;        /* ATTACH_F_* */
}; /* 76 */

/* a hook of the attachment leaves deny decisions bound to the call (HOOK_F_DENY_BOUND): the
 * entry clears one a previous call of the thread left */
#define ATTACH_F_CLEAR_BOUND_DENY 0x1

/* attach_hooks slots of the cgroup programs that evaluate connect() and bind() hooks
 * themselves (HookPlan attach kind "cgroup"): fixed, as cgroup links take no cookie */
#define ATTACH_SLOT_CONNECT4 (MAX_ATTACH - 1)
#define ATTACH_SLOT_CONNECT6 (MAX_ATTACH - 2)
#define ATTACH_SLOT_BIND4 (MAX_ATTACH - 3)
#define ATTACH_SLOT_BIND6 (MAX_ATTACH - 4)

enum generic_arg_type {
	GT_NONE = 0,
	GT_S64 = 1,
	GT_U64 = 2,
	GT_S32 = 3,
	GT_U32 = 4,
	GT_S16 = 5,
	GT_U16 = 6,
	GT_S8 = 7,
	GT_U8 = 8,
	GT_SIZE = 9,
	GT_STRING = 10,     /* user pointer to a NUL-terminated string */
	GT_CHAR_BUF = 11,   /* user buffer, size from another argument or the return value */
	GT_FD = 12,         /* resolved to the file's path through the task's fd table */
	GT_SOCKADDR = 13,   /* user pointer to struct sockaddr */
	GT_SYSCALL64 = 14,
	GT_CAPABILITY = 15,
	GT_KERNEL_CAP = 16, /* kernel_cap_t value */
	GT_BPF_CMD = 17,
	GT_NOP = 18,
	GT_CONST_BUF = 19,  /* user buffer of a fixed size */
	GT_CHAR_IOVEC = 20, /* user iovec array, count from another argument */
	GT_KSTRING = 21,    /* kernel pointer to a string (tracepoint __data_loc or char *) */
	GT_DATA_LOC = 22,   /* tracepoint __data_loc string: offset/len word into the record */
	GT_FILE = 23,       /* struct file *: its path */
	GT_PATH = 24,       /* struct path *: the path */
	GT_BINPRM = 25,     /* struct linux_binprm *: the executable's path */
	GT_SOCK = 26,       /* struct sock *: addresses, ports, protocol, state */
	/* kernel objects of kernel-function hooks (kprobes, fentry, LSM); blobs below */
	GT_CRED = 27,       /* struct cred *: cred_blob */
	GT_DENTRY = 28,     /* struct dentry *: its path inside its filesystem */
	GT_SOCKET = 29,     /* struct socket *: its sock, as GT_SOCK */
	GT_SKB = 30,        /* struct sk_buff *: skb_blob */
	GT_NET_DEV = 31,    /* struct net_device *: its name */
	GT_BPF_ATTR = 32,   /* union bpf_attr * of BPF_PROG_LOAD: bpf_prog_blob */
	GT_BPF_MAP = 33,    /* struct bpf_map *: bpf_map_blob */
	GT_BPF_PROG = 34,   /* struct bpf_prog *: bpf_prog_blob */
	GT_PERF_EVENT = 35, /* struct perf_event *: perf_event_blob */
	GT_MODULE = 36,     /* struct module *: module_blob */
	GT_LOAD_INFO = 37,  /* struct load_info *: module_blob */
	GT_USER_NS = 38,    /* struct user_namespace *: user_ns_blob */
	GT_KIOCB = 39,      /* struct kiocb *: its file's path */
	GT_IOV_ITER = 40,   /* struct iov_iter *: the bytes it walks over, as char_iovec */
};

/* struct iov_iter as the running kernel lays it out (6.4 reordered the struct and the
 * iter_type values): found in BTF by user space and set before load. ok = 0: unknown. */
struct iov_iter_layout {
	__u16 type_off;     /* u8 iter_type */
	__u16 count_off;    /* size_t count: the bytes left */
	__u16 ptr_off;      /* the union of ubuf, __iov (iov before 6.4) and kvec */
	__u16 offset_off;   /* size_t iov_offset: into the first segment */
	__u16 nr_segs_off;  /* unsigned long nr_segs */
	__u8 ubuf;          /* the iter_type values of ITER_UBUF (0xff: none), ITER_IOVEC, ITER_KVEC */
	__u8 iovec;
	__u8 kvec;
	__u8 ok;
	__u16 pad;
}; /* 16 */

struct user_ns_blob {
	__u32 level;
	__u32 uid;
	__u32 gid;
	__u32 inum;
}; /* 16 */

struct cred_blob {
	__u32 uid, gid, suid, sgid, euid, egid, fsuid, fsgid;
	__u32 securebits;
	__u32 pad;
	__u64 cap_permitted;
	__u64 cap_effective;
	__u64 cap_inheritable;
	struct user_ns_blob user_ns;
}; /* 80 */


struct bpf_prog_blob {
	__u32 prog_type;
	__u32 insn_cnt;
	char name[16];
}; /* 24 */

struct bpf_map_blob {
	__u32 map_type;
	__u32 key_size;
	__u32 value_size;
	__u32 max_entries;
	char name[16];
}; /* 32 */

struct perf_event_blob {
	__u32 type;
	__u32 pad;
	__u64 config;
	__u64 probe_offset;
	char kprobe_func[64];
}; /* 88 */

struct module_blob {
	char name[56];
	__u32 sig_ok;       /* 0, 1, or 2 when unknown */
	__u32 pad;
	__u64 taints;
}; /* 72 */

/* What a GT_SOCK argument carries in the record's data. */
struct sock_blob {
	__u16 family;
	__u16 sport;        /* host order */
	__u16 dport;        /* host order */
	__u16 protocol;
	__u16 type;
	__u16 state;
	__u32 mark;
	__u32 priority;
	__u32 pad;
	__u8 saddr[16];
	__u8 daddr[16];
	__u64 cookie;
}; /* 64 */

/* A sock_blob first, so that the socket operators read an skb as they read a sock. */
struct skb_blob {
	struct sock_blob sock; /* family, ports, protocol, mark, priority, addresses */
	__u32 hash;
	__u32 len;
}; /* 72 */

#define ARG_F_RETURN_COPY 0x1
#define ARG_F_SIZE_FROM_RET 0x2
#define ARG_F_EXIT_VALUE 0x4    /* read from the exit's record (a returned object), not at the entry */
#define ARG_F_KERNEL_PTR 0x8    /* a sockaddr in kernel memory (a kernel function's argument) */
#define ARG_F_MAX_DATA 0x10     /* char_buf with maxData: the bytes past the event's own follow in data records */

#define MAX_RESOLVE 8

enum resolve_kind {
	RESOLVE_DEREF = 1,  /* v = *(u64 *)(v + off): follow a pointer field */
	RESOLVE_LOAD = 2,   /* v = the `size`-byte value at v + off: the last field */
	RESOLVE_ADDR = 3,   /* v = v + off: the last field is an array or a struct */
	RESOLVE_FD = 4,     /* v = the struct file * of descriptor v of the current task */
};

struct resolve_step {
	__u16 off;
	__u8 kind;
	__u8 size;
}; /* 4 */

#define SRC_RECORD 0
#define SRC_CURRENT_TASK 1

struct arg_spec {
	__u8 type;
	__u8 size;          /* bytes to read at off (1, 2, 4, 8) */
	__s8 size_arg;      /* index of the argument holding the buffer size, -1 for none */
	__u8 flags;
	__u16 off;          /* offset of the value in the record (tracepoint) or pt_regs */
	__u16 max_data;     /* char_buf / const_buf bytes to read at most */
	__u8 source;        /* SRC_RECORD, or SRC_CURRENT_TASK for data args */
	__u8 nsteps;        /* `resolve`: a walk through kernel struct fields from the value */
	/* GT_MODULE / GT_LOAD_INFO: fields that exist only in some kernel configurations, at
	 * offsets user space found in BTF (1 + offset, 0 when the kernel lacks them):
	 * max_data = sig_ok (CONFIG_MODULE_SIG), aux = load_info.mod (for the taints) */
	__u16 aux;
	struct resolve_step steps[MAX_RESOLVE];
}; /* 44 */

enum match_op {
	MOP_NONE = 0,
	MOP_EQ = 1, MOP_NEQ = 2, MOP_GT = 3, MOP_LT = 4, MOP_MASK = 5,
	MOP_IN_RANGE = 6, MOP_NOT_IN_RANGE = 7, MOP_IN_MAP = 8, MOP_NOT_IN_MAP = 9,
	MOP_STR_EQ = 10, MOP_STR_NEQ = 11, MOP_PREFIX = 12, MOP_NOT_PREFIX = 13,
	MOP_POSTFIX = 14, MOP_NOT_POSTFIX = 15, MOP_SUBSTR = 16, MOP_SUBSTR_ICASE = 17,
	MOP_SADDR = 18, MOP_NOT_SADDR = 19, MOP_SPORT = 20, MOP_NOT_SPORT = 21,
	MOP_SPORT_PRIV = 22, MOP_NOT_SPORT_PRIV = 23, MOP_FAMILY = 24, MOP_NOT_FAMILY = 25,
	MOP_DADDR = 26, MOP_NOT_DADDR = 27, MOP_DPORT = 28, MOP_NOT_DPORT = 29,
	MOP_DPORT_PRIV = 30, MOP_NOT_DPORT_PRIV = 31, MOP_PROTOCOL = 32, MOP_STATE = 33,
};

#define MATCH_F_SIGNED 0x1
#define MATCH_F_SOCK 0x2    /* the argument is a GT_SOCK blob */
/* string operators: vals[] holds what the value set's lengths allow, checked before any key
 * is built: for Equal/NotEqual a bitmap of the lengths (0..255) of its values, for the
 * prefix and postfix operators the shortest value's length in vals[0] */
#define MATCH_F_LENS 0x4

struct match_arg {
	__u8 arg;           /* 0..4, or RET_ARG */
	__u8 op;
	__u8 nvals;
	__u8 flags;
	__u32 set_id;       /* values in str_*_map / num_set_map / addr_map */
	__u64 vals[MAX_VALUES];
}; /* 40 */

struct match_pids {
	__u8 op;            /* MOP_EQ (In) / MOP_NEQ (NotIn), 0 = unused */
	__u8 n;
	__u8 ns_pid;
	__u8 follow_forks;
	__u32 pids[MAX_VALUES];
}; /* 20 */

struct match_bin {
	__u8 op;            /* MOP_STR_EQ, MOP_STR_NEQ, MOP_PREFIX, ... 0 = unused */
	__u8 parent;        /* 1: matchParentBinaries */
	__u8 follow;        /* followChildren: 1 + the bit of process_entry.mbset, 0 = off */
	__u8 pad;
	__u32 set_id;
}; /* 8 */

struct match_ns {
	__u8 ns;            /* index into msg_ns fields */
	__u8 op;            /* MOP_EQ / MOP_NEQ */
	__u8 n;
	__u8 pad;
	__u32 vals[MAX_VALUES];
}; /* 20 */

struct match_caps {
	__u8 type;          /* 0 effective, 1 inheritable, 2 permitted */
	__u8 op;            /* MOP_EQ (In) / MOP_NEQ (NotIn) */
	__u8 changes;       /* matchCapabilityChanges: compare with the caps at exec */
	__u8 pad[5];
	__u64 mask;
}; /* 16 */

enum generic_action {
	ACT_POST = 1,
	ACT_NOPOST = 2,
	ACT_SIGKILL = 3,
	ACT_SIGNAL = 4,
	ACT_OVERRIDE = 5,
	ACT_NOTIFY_ENFORCER = 6,
	ACT_TRACK_SOCK = 7,     /* arg: the slot of the sock */
	ACT_UNTRACK_SOCK = 8,
};

struct selector_action {
	__u32 action;
	__u32 arg;          /* signal number; rate limit interval in ms for Post; errno (negative) */
	__u32 scope;        /* rate limit scope: 0 thread, 1 process, 2 global; NotifyEnforcer: signal */
	__u32 kinds;        /* NotifyEnforcer: DENY_K_* of the policy's enforcer calls */
}; /* 16 */

/* the selector names PID 1, kernel threads or the agent's CLI itself: the safety rule
 * that spares them from enforcement does not apply */
#define SEL_F_EXPLICIT 0x1

struct selector {
	__u8 n_args;
	__u8 n_ret;
	__u8 n_ns;
	__u8 n_caps;
	__u8 n_actions;
	__u8 ns_changes_op; /* MOP_EQ (In) / MOP_NEQ (NotIn) */
	__u16 ns_changes;   /* matchNamespaceChanges: bit per msg_ns field */
	struct match_pids pids;
	struct match_bin bin;
	struct match_ns ns[MAX_NS_FILTERS];
	struct match_caps caps[MAX_CAP_FILTERS];
	struct match_arg args[MAX_MATCH_ARGS];
	struct match_arg ret[MAX_MATCH_RET];
	struct selector_action actions[MAX_ACTIONS];
	struct selector_action ret_actions[MAX_ACTIONS]; /* matchReturnActions */
	__u8 n_ret_actions;
	__u8 flags;         /* SEL_F_* */
	__u8 pad[6];
}; /* 8 + 20 + 8 + 200 + 48 + 200 + 80 + 48 + 48 + 8 */

#define HOOK_F_ENABLED 0x1
#define HOOK_F_RETURN 0x2     /* report the return value: the event is sent from the exit hook */
#define HOOK_F_MONITOR 0x4    /* policy-mode monitor: enforcement actions are only counted */
#define HOOK_F_DENY_BOUND 0x8 /* no exit program: its deny decisions are bound to the call (deny.h) */
#define HOOK_F_RET_TRACK_SOCK 0x10   /* returnArgAction TrackSock: the returned sock */
#define HOOK_F_RET_UNTRACK_SOCK 0x20
/* bits 16..19: 1 + the slot of the hook's first sock argument; a tracked sock's events
 * belong to the process that tracked it */
#define HOOK_SOCK_SLOT_SHIFT 16
#define HOOK_SOCK_SLOT_MASK 0xf0000
/* Override carried out elsewhere: DENY_K_* kinds of deny_map entries, bits 8..15 */
#define HOOK_DENY_SHIFT 8
#define HOOK_DENY_MASK 0xff00

struct hook_config {
	__u32 flags;
	__u32 op;           /* MSG_OP_GENERIC_KPROBE / _TRACEPOINT / _UPROBE */
	__u16 rec_size;     /* bytes of the record to copy */
	__u16 ret_off;      /* offset of the return value in the exit record */
	__u8 ret_size;
	__u8 ret_type;
	__u8 nargs;
	__u8 nselectors;
	struct arg_spec args[MAX_ARGS];
	struct selector sel[MAX_SELECTORS];
	/* policy filter (TracingPolicyNamespaced, podSelector, containerSelector): when not 0,
	 * the hook runs only for tasks whose tracked cgroup is in policy_filter_map under it */
	__u32 policy_filter;
	/* arguments (bit per index) that every selector's matchArgs look at, when every selector
	 * has some: they are read and matched first, and a call none of them lets through costs
	 * no process lookup and no other argument read. 0: no such pre-filter. */
	__u32 prefilter_args;
};

/* Key of policy_filter_map: the cgroups (ids of the tracked hierarchy) a filter lets through. */
struct policy_filter_key {
	__u32 filter_id;
	__u32 pad;
	__u64 cgroup_id;
};

/* One argument in a record: the raw value, and where its data is. */
struct arg_slot {
	__u64 value;
	__u16 off;          /* into data */
	__u16 len;
	__u32 orig_len;     /* buffers: the size asked for, before truncation */
}; /* 16 */

#define GENERIC_F_RETURN 0x1
#define GENERIC_F_ERROR_ARG 0x2
/* bits 8..12: argument i's whole buffer went out before the event in MSG_OP_GENERIC_DATA
 * records, and its slot's value is their id (the event's data holds the first bytes only) */
#define GENERIC_F_DATA_SHIFT 8
#define GENERIC_F_DATA_MASK (0x1f << GENERIC_F_DATA_SHIFT)
#define GENERIC_F_DATA_FAILED 0x4 /* some of those bytes could not be read or sent */

#define DATA_CHUNK 16384
#define MAX_DATA_BYTES 327360   /* Tetragon's maxData limit */

/* MSG_OP_GENERIC_DATA: the next (at most DATA_CHUNK) bytes of a maxData buffer, sent before
 * the event that names them by (tid, id), in order. */
struct msg_data {
	struct msg_header hdr;  /* 0 */
	__u32 tid;              /* 16 */
	__u32 len;              /* 20 */
	__u64 id;               /* 24 */
	char bytes[DATA_CHUNK]; /* 32 */
};

/* MSG_OP_GENERIC_*: followed by `data_len` bytes of argument data. */
struct msg_generic {
	struct msg_header hdr;      /* 0 */
	__u32 hook_id;              /* 16 */
	__u32 pid;                  /* 20 */
	__u32 tid;                  /* 24 */
	__u32 action;               /* 28 */
	__u64 proc_ktime;           /* 32 */
	__s64 ret;                  /* 40 */
	__u32 flags;                /* 48 */
	__u16 selector;             /* 52 */
	__u16 data_len;             /* 54 */
	struct arg_slot args[MAX_ARGS + 1]; /* 56: [RET_ARG] holds a returned buffer */
	/* 152: data */
};

/* Keys of the value maps the compiler fills. */
struct str_key {
	__u32 set_id;
	__u32 len;
	char s[STR_KEY_LEN];
};

struct str_lpm_key {
	__u32 prefixlen;    /* bits, set_id included */
	__u32 set_id;
	char s[STR_LPM_LEN];
};

_Static_assert(__builtin_offsetof(struct str_key, s) == __builtin_offsetof(struct str_lpm_key, s),
	       "a string key is an LPM key once its header is rewritten");

/* SubString values: NUL-terminated, at most SUBSTR_LEN - 1 bytes, indexed 0..count-1 */
#define SUBSTR_LEN 128
#define MAX_SUBSTR 100

struct substr_key {
	__u32 set_id;
	__u32 idx;
};

struct substr_value {
	char s[SUBSTR_LEN];
};

struct num_key {
	__u32 set_id;
	__u32 pad;
	__u64 value;
};

struct addr_lpm_key {
	__u32 prefixlen;    /* bits, set_id and family included */
	__u32 set_id;
	__u32 family;
	__u8 addr[16];
};

enum generic_stat {
	GSTAT_RINGBUF_DROP = 0,
	GSTAT_RATE_LIMITED = 1,
	GSTAT_INFLIGHT_FULL = 2,
	GSTAT_PROC_MISS = 3,
	GSTAT_ARG_ERROR = 4,
	GSTAT_ENFORCE_SPARED = 5, /* enforcement skipped: PID 1, a kernel thread or the agent's CLI */
	GSTAT_DENY_MAP_FULL = 6,
	GSTAT_MAX = 8,
};

#endif
