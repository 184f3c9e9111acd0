/* The C <-> TypeScript contract of the process sensor. Every struct has explicit padding
 * and fixed-width fields; test/kernel/layout.test.ts checks these offsets against the
 * object's BTF and src/decode/layout.ts. Structs may only gain trailing fields. */
#ifndef TG_EVENTS_PROCESS_H
#define TG_EVENTS_PROCESS_H

#include "msg_types.h"

#define FILENAME_MAX_LEN 1024
#define CWD_MAX_LEN 1024
#define CGROUP_NAME_MAX_LEN 128
#define ARGS_MAX_LEN 4096
#define BINARY_MAX_LEN 256

/* Flags of an exec, decoded to Tetragon's flag words in user space. */
#define EXEC_FLAG_EXECVE      0x0001
#define EXEC_FLAG_CLONE       0x0002
#define EXEC_FLAG_TRUNC_ARGS  0x0004
#define EXEC_FLAG_ERROR_ARGS  0x0008
#define EXEC_FLAG_ROOT_CWD    0x0010
#define EXEC_FLAG_ERROR_CWD   0x0020
#define EXEC_FLAG_NO_CWD      0x0040
#define EXEC_FLAG_TRUNC_FILENAME 0x0080
#define EXEC_FLAG_ERROR_FILENAME 0x0100
#define EXEC_FLAG_ERROR_CGROUP 0x0200
#define EXEC_FLAG_MISS_PARENT 0x0400
#define EXEC_FLAG_TRUNC_CWD   0x0800

struct msg_creds {
	__u32 uid, gid, suid, sgid, euid, egid, fsuid, fsgid;
	__u32 securebits;
	__u32 user_ns_level;
	__u64 cap_permitted;
	__u64 cap_effective;
	__u64 cap_inheritable;
}; /* 64 bytes */

struct msg_ns {
	__u32 uts, ipc, mnt, pid, pid_for_children, net, time, time_for_children, cgroup, user;
}; /* 40 bytes */

/* MSG_OP_EXECVE; followed by `data`: filename, cwd, cgroup name, then the raw argument
 * area (argv[0] included, NUL separated), with the lengths given here. */
struct msg_exec {
	struct msg_header hdr;      /* 0 */
	__u32 pid;                  /* 16: tgid */
	__u32 tid;                  /* 20 */
	__u32 ppid;                 /* 24 */
	__u32 nspid;                /* 28 */
	__u32 auid;                 /* 32 */
	__u32 flags;                /* 36 */
	__u64 parent_ktime;         /* 40: ktime of the parent's process entry, 0 if unknown */
	__u64 cgroup_id;            /* 48 */
	struct msg_creds creds;     /* 56 */
	struct msg_ns ns;           /* 120 */
	__u16 filename_len;         /* 160 */
	__u16 cwd_len;              /* 162 */
	__u16 cgroup_name_len;      /* 164 */
	__u16 args_len;             /* 166 */
	__u32 args_total;           /* 168: size of the whole argument area in the task */
	__u32 pad;                  /* 172 */
	/* 176: data */
};

/* MSG_OP_CLONE: a new thread group; user space copies the parent's identity. */
struct msg_clone {
	struct msg_header hdr;      /* hdr.ktime = child's start time (its process ktime) */
	__u32 pid;                  /* 16 */
	__u32 tid;                  /* 20 */
	__u32 ppid;                 /* 24 */
	__u32 flags;                /* 28 */
	__u64 parent_ktime;         /* 32 */
}; /* 40 */

/* MSG_OP_EXIT: the last thread of a thread group exited. */
struct msg_exit {
	struct msg_header hdr;      /* hdr.ktime = exit time */
	__u32 pid;                  /* 16 */
	__u32 tid;                  /* 20 */
	__u64 proc_ktime;           /* 24: the process entry's ktime, 0 if unknown */
	__u32 exit_code;            /* 32: task->exit_code (status << 8 | signal) */
	__u32 pad;                  /* 36 */
}; /* 40 */

/* Value of execve_map, keyed by tgid: the identity of every live process, for later hooks. */
struct process_entry {
	__u64 ktime;
	__u64 parent_ktime;
	__u32 pid;
	__u32 ppid;
	__u32 flags;
	__u32 auid;
	__u64 cgroup_id;
	struct msg_creds creds;
	struct msg_ns ns;
	char binary[BINARY_MAX_LEN];
	/* matchBinaries followChildren: a bit per followed binary set, inherited by descendants */
	__u64 mbset;
}; /* 408 bytes */

/* Key of mbset_map: an executable's resolved path, zero-padded. */
struct mbset_key {
	char path[BINARY_MAX_LEN];
};

/* Index of the drop counters in stats_map (a per-CPU array). */
enum sensor_stat {
	STAT_RINGBUF_DROP_EXEC = 0,
	STAT_RINGBUF_DROP_EXIT = 1,
	STAT_RINGBUF_DROP_CLONE = 2,
	STAT_EXECVE_MAP_FULL = 3,
	STAT_PARENT_MISS = 4,
	STAT_EXIT_MISS = 5,
	STAT_MAX = 8,
};

#endif
