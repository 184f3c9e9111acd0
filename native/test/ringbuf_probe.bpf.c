// Test object for test/kernel/native.test.ts: a tracepoint that reports getcwd() calls of
// one process through a ring buffer and counts them in a hash map.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

const volatile int target_tgid = 0;
__u64 seen = 0;

struct event {
	__u32 tgid;
	__u32 pid;
	__u64 counter;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

SEC("tp/syscalls/sys_enter_getcwd")
int on_getcwd(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	__u64 one = 1, *v;
	struct event *e;

	if (tgid != target_tgid)
		return 0;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		e->tgid = tgid;
		e->pid = (__u32)id;
		e->counter = __sync_fetch_and_add(&seen, 1) + 1;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		bpf_ringbuf_submit(e, 0);
	}

	v = bpf_map_lookup_elem(&counts, &tgid);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&counts, &tgid, &one, BPF_ANY);
	return 0;
}

SEC("raw_tp/sys_enter")
int on_raw_sys_enter(void *ctx)
{
	return 0;
}

SEC("tp_btf/sched_process_fork")
int on_fork(void *ctx)
{
	return 0;
}

SEC("uprobe")
int on_uprobe(void *ctx)
{
	return 0;
}

SEC("cgroup_skb/egress")
int allow_egress(struct __sk_buff *skb)
{
	return 1;
}

/* Rejected by the verifier (map value used without a NULL check); off unless enabled. */
SEC("?tp/syscalls/sys_enter_getppid")
int bad_prog(void *ctx)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&counts, &key);

	return *v;
}
