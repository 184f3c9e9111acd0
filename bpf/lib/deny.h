/* Deny decisions taken by a hook's selectors and carried out elsewhere: by cgroup programs
 * (connect, bind, sendmsg, socket creation), by the agent's fanotify thread (open, exec) and
 * by enforcer programs (NotifyEnforcer). One entry per thread, written at the syscall's entry.
 * It goes at the syscall's exit, or, for hooks without an exit program (cgroup-routed
 * Override), it is bound to the call: it names the syscall it was taken in and the thread's
 * user registers, so the cgroup programs apply it only inside that syscall, and the next entry
 * of the hook's attachment clears what a call that failed early left. */
#ifndef TG_DENY_H
#define TG_DENY_H

#define DENY_K_OPEN 0x1
#define DENY_K_EXEC 0x2
#define DENY_K_CONNECT 0x4
#define DENY_K_BIND 0x8
#define DENY_K_SENDMSG 0x10
#define DENY_K_SOCKET 0x20
#define DENY_K_ENFORCER 0x40
#define DENY_K_FANOTIFY (DENY_K_OPEN | DENY_K_EXEC)

/* a decision older than this is from a thread that never reached the syscall's exit */
#define DENY_MAX_AGE_NS 10000000000ULL

struct deny_entry {
	__s32 err;          /* negative errno */
	__u32 kinds;        /* DENY_K_*: the operations it applies to */
	__u64 ktime;        /* bpf_ktime_get_boot_ns() when decided */
	__u32 hook_id;
	__u32 verdict;      /* 1 deny; 0 allow (written only when unknown opens fail closed) */
	__u64 regs;         /* bound to the call: the thread's struct pt_regs; 0 when cleared at exit */
	__s64 nr;           /* bound to the call: the syscall number (pt_regs orig_ax) */
}; /* 40 */

/* The syscall a thread is in, from its saved user registers (struct pt_regs orig_ax). */
static __always_inline __s64 syscall_nr_at(__u64 regs)
{
	__s64 nr = -1;

	bpf_probe_read_kernel(&nr, sizeof(nr), (void *)(regs + __builtin_offsetof(struct pt_regs, orig_ax)));
	return nr;
}

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct deny_entry);
} deny_map SEC(".maps");

#endif
