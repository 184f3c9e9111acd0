/* Maps of the generic hook sensor: hook configuration and the value sets of selectors. */
#ifndef TG_GENERIC_MAPS_H
#define TG_GENERIC_MAPS_H

#include "common.h"
#include "../events/generic.h"
#include "deny.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_HOOKS);
	__type(key, __u32);
	__type(value, struct hook_config);
} hook_config SEC(".maps");

/* policy filters: {filter id, cgroup id} of the containers a filtered policy applies to */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, struct policy_filter_key);
	__type(value, __u8);
} policy_filter_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_ATTACH);
	__type(key, __u32);
	__type(value, struct attach_hooks);
} attach_hooks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct str_key);
	__type(value, __u8);
} str_eq_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__type(key, struct str_lpm_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} str_prefix_map SEC(".maps");

/* postfix values are stored reversed, so a postfix is a prefix of the reversed string */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__type(key, struct str_lpm_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} str_postfix_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct substr_key);
	__type(value, struct substr_value);
} substr_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct num_key);
	__type(value, __u8);
} num_set_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__type(key, struct addr_lpm_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} addr_map SEC(".maps");

/* the event being built, and scratch space for keys */
struct generic_scratch {
	struct msg_generic msg;
	char data[GENERIC_DATA_LEN];
	union {
		__u8 rec[REC_MAX];
		__u64 rec_words[REC_MAX / 8]; /* for word stores: clang types a cast byte pointer align 1 */
	};
	union {
		struct str_key skey;
		struct str_lpm_key lkey;
		struct addr_lpm_key akey;
	};
	char rev[STR_KEY_LEN];
	/* selectors read the task's namespaces and credentials here, not on the stack: the
	 * 512-byte stack is shared by the whole bpf_loop call chain */
	struct msg_ns ns;
	struct msg_creds creds;
	/* Override decided by a hook of this attachment: the program carries it out on return */
	__s32 override_ret;
	__u32 override_set;
	/* the pre-filter ran for this call (args_ok then holds which selectors' matchArgs passed):
	 * kept here, not on the stack, so that the verifier sees one state after it either way */
	__u32 prefilter_done;
	__u32 args_ok;
	/* the pre-filter's walk: the arguments it read (bit per index), the selectors whose
	 * matchArgs failed, and its cursor (selector, matchArg), in the map value so that the
	 * verifier sees one state per step whatever the values */
	__u32 args_read;
	__u32 sel_failed;
	__u32 pf_sel;
	__u32 pf_arg;
	/* set by the attachment's fast reject when the call passed it: the argument it read
	 * (bit per index), whose slot and data the hook's pre-filter keeps, and the entry it
	 * passed (the first selector's first matchArgs), which the pre-filter skips */
	__u32 pre_read;
	/* the object being read's arg_spec max_data and aux (kernel-configuration offsets):
	 * here rather than in the read context, whose stack slots the verifier tracks */
	__u16 obj_a, obj_b;
	/* the segments being read (char_iovec, iov_iter): SEG_* and the iterator's byte count */
	__u32 seg_mode;
	__u64 seg_len;
};

#define SEG_KERNEL_ARRAY 0x1 /* the iovec/kvec array is in kernel memory */
#define SEG_KERNEL_DATA 0x2  /* so are the bytes (kvec) */
#define SEG_ONE 0x4          /* one buffer: at the value, seg_len bytes (ITER_UBUF) */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct generic_scratch);
} generic_heap SEC(".maps");

/* one chunk of a maxData buffer on its way to the ring buffer; seq makes the buffers' ids */
struct data_heap_value {
	struct msg_data d;
	__u64 seq;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct data_heap_value);
} data_heap SEC(".maps");

/* events of hooks with a return value, between entry and exit, per thread */
struct inflight_key {
	__u64 pid_tgid;
	__u32 hook_id;
	__u32 pad;
};

struct inflight_value {
	struct msg_generic msg;
	char data[GENERIC_DATA_LEN / 2];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct inflight_key);
	__type(value, struct inflight_value);
} inflight SEC(".maps");

struct ratelimit_key {
	__u32 hook_id;
	__u32 scope_id;
	__u64 hash;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct ratelimit_key);
	__type(value, __u64);
} ratelimit_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GSTAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} generic_stats SEC(".maps");

/* TrackSock: a sock (kernel address) → the process that owns it */
struct sock_owner {
	__u32 tgid;
	__u32 pad;
	__u64 ktime;        /* the process's exec ktime, as in execve_map */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768);
	__type(key, __u64);
	__type(value, struct sock_owner);
} socktrack_map SEC(".maps");

/* per hook: events posted, and actions taken (for tetra tp list and metrics) */
struct hook_counters {
	__u64 posted;
	__u64 signal;
	__u64 monitor_signal;
	__u64 nopost;
	__u64 override;
	__u64 monitor_override;
	__u64 notify_enforcer;
	__u64 monitor_notify_enforcer;
	__u64 spared;       /* enforcement skipped by the safety rule */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_HOOKS);
	__type(key, __u32);
	__type(value, struct hook_counters);
} hook_stats SEC(".maps");

#endif
