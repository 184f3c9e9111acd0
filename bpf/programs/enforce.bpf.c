// SPDX-License-Identifier: GPL-2.0
/* Carrying out deny decisions that the generic hooks left in deny_map, where the kernel has
 * no way to fail the hooked call from the hook itself:
 *  - cgroup programs on the cgroup v2 root fail connect, bind, sendmsg and socket creation
 *    with the policy's errno;
 *  - enforcer programs (NotifyEnforcer) fail the calls listed in spec.enforcers, through
 *    bpf_override_return or fmod_ret. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "deny.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 has_override_return = 0;

enum enforce_stat {
	ESTAT_CONNECT = 0,
	ESTAT_BIND = 1,
	ESTAT_SENDMSG = 2,
	ESTAT_SOCKET = 3,
	ESTAT_ENFORCER = 4,
	ESTAT_STALE = 5,
	ESTAT_MAX = 8,
};

/* denials carried out, per kind (metrics and tests) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ESTAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} enforce_stats SEC(".maps");

static __always_inline void ecount(__u32 stat)
{
	__u64 *v = bpf_map_lookup_elem(&enforce_stats, &stat);

	if (v)
		(*v)++;
}

/* The current thread's deny decision for this kind of operation, or NULL. */
static __always_inline struct deny_entry *decision(__u32 kind)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct deny_entry *e = bpf_map_lookup_elem(&deny_map, &tid);

	if (!e || !e->verdict || !(e->kinds & kind))
		return NULL;
	if (bpf_ktime_get_boot_ns() - e->ktime > DENY_MAX_AGE_NS) {
		ecount(ESTAT_STALE);
		return NULL;
	}
	/* a decision bound to its call applies only inside that syscall: not to an io_uring
	 * connect or a TCP Fast Open sendto the same thread makes later */
	if (e->regs && syscall_nr_at(e->regs) != e->nr)
		return NULL;
	return e;
}

/* cgroup programs: 1 lets the call go on, 0 fails it with the errno set by bpf_set_retval */
static __always_inline int cgroup_verdict(__u32 kind, __u32 stat)
{
	struct deny_entry *e = decision(kind);
	__u32 tid;

	if (!e)
		return 1;
	ecount(stat);
	bpf_set_retval(e->err);
	/* a NotifyEnforcer decision is used up by the call it fails, and so is a bound one where
	 * the call passes here once (sendmmsg passes once per message); an unbound Override's
	 * goes at its own syscall's exit */
	if ((e->kinds & DENY_K_ENFORCER) || (e->regs && !(e->kinds & DENY_K_SENDMSG))) {
		tid = (__u32)bpf_get_current_pid_tgid();
		bpf_map_delete_elem(&deny_map, &tid);
	}
	return 0;
}

SEC("cgroup/connect4")
int deny_connect4(struct bpf_sock_addr *ctx)
{
	return cgroup_verdict(DENY_K_CONNECT, ESTAT_CONNECT);
}

SEC("cgroup/connect6")
int deny_connect6(struct bpf_sock_addr *ctx)
{
	return cgroup_verdict(DENY_K_CONNECT, ESTAT_CONNECT);
}

SEC("cgroup/bind4")
int deny_bind4(struct bpf_sock_addr *ctx)
{
	return cgroup_verdict(DENY_K_BIND, ESTAT_BIND);
}

SEC("cgroup/bind6")
int deny_bind6(struct bpf_sock_addr *ctx)
{
	return cgroup_verdict(DENY_K_BIND, ESTAT_BIND);
}

SEC("cgroup/sendmsg4")
int deny_sendmsg4(struct bpf_sock_addr *ctx)
{
	return cgroup_verdict(DENY_K_SENDMSG, ESTAT_SENDMSG);
}

SEC("cgroup/sendmsg6")
int deny_sendmsg6(struct bpf_sock_addr *ctx)
{
	return cgroup_verdict(DENY_K_SENDMSG, ESTAT_SENDMSG);
}

SEC("cgroup/sock_create")
int deny_sock_create(struct bpf_sock *ctx)
{
	return cgroup_verdict(DENY_K_SOCKET, ESTAT_SOCKET);
}

/* NotifyEnforcer: the enforcer's calls fail with the errno the notifying hook chose. The
 * decision is used up here. */
static __always_inline int enforcer_verdict(void)
{
	struct deny_entry *e = decision(DENY_K_ENFORCER);
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	int err;

	if (!e)
		return 0;
	err = e->err;
	bpf_map_delete_elem(&deny_map, &tid);
	ecount(ESTAT_ENFORCER);
	return err;
}

SEC("kprobe")
int enforcer_kprobe(struct pt_regs *ctx)
{
	int err = enforcer_verdict();

	if (has_override_return && err)
		bpf_override_return(ctx, (long)err);
	return 0;
}

SEC("fmod_ret")
int enforcer_fmod_ret(__u64 *ctx)
{
	return enforcer_verdict();
}
