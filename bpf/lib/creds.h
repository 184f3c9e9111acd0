/* Credentials, capabilities and namespaces of a task. */
#ifndef TG_CREDS_H
#define TG_CREDS_H

#include "common.h"
#include "../events/process.h"

/* The ids, securebits and capability sets of a struct cred into any struct with those field
 * names (msg_creds of process events, cred_blob of cred arguments). kernel_cap_t is a u64
 * since 6.3 and a u32[2] before: both are 8 little-endian bytes. */
#define READ_CRED_IDS_CAPS(out, c)							\
	do {										\
		(out)->uid = BPF_CORE_READ(c, uid.val);					\
		(out)->gid = BPF_CORE_READ(c, gid.val);					\
		(out)->suid = BPF_CORE_READ(c, suid.val);				\
		(out)->sgid = BPF_CORE_READ(c, sgid.val);				\
		(out)->euid = BPF_CORE_READ(c, euid.val);				\
		(out)->egid = BPF_CORE_READ(c, egid.val);				\
		(out)->fsuid = BPF_CORE_READ(c, fsuid.val);				\
		(out)->fsgid = BPF_CORE_READ(c, fsgid.val);				\
		(out)->securebits = BPF_CORE_READ(c, securebits);			\
		bpf_probe_read_kernel(&(out)->cap_permitted, 8, &(c)->cap_permitted);	\
		bpf_probe_read_kernel(&(out)->cap_effective, 8, &(c)->cap_effective);	\
		bpf_probe_read_kernel(&(out)->cap_inheritable, 8, &(c)->cap_inheritable); \
	} while (0)

static __always_inline void read_creds(struct task_struct *task, struct msg_creds *out)
{
	const struct cred *cred = BPF_CORE_READ(task, cred);

	READ_CRED_IDS_CAPS(out, cred);
	out->user_ns_level = BPF_CORE_READ(cred, user_ns, level);
}

static __always_inline struct upid *task_upid(struct task_struct *task, unsigned int *level)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);

	*level = BPF_CORE_READ(pid, level);
	return (struct upid *)((char *)pid + bpf_core_field_offset(struct pid, numbers) +
			       (*level & 31) * bpf_core_type_size(struct upid));
}

static __always_inline __u32 task_nspid(struct task_struct *task)
{
	unsigned int level;
	struct upid *up = task_upid(task, &level);
	int nr = 0;

	bpf_probe_read_kernel(&nr, sizeof(nr), &up->nr);
	return nr;
}

static __always_inline void read_namespaces(struct task_struct *task, struct msg_ns *out)
{
	struct nsproxy *nsp = BPF_CORE_READ(task, nsproxy);
	unsigned int level;
	struct upid *up = task_upid(task, &level);
	struct pid_namespace *pidns = NULL;

	bpf_probe_read_kernel(&pidns, sizeof(pidns), &up->ns);
	out->pid = BPF_CORE_READ(pidns, ns.inum);
	out->user = BPF_CORE_READ(task, cred, user_ns, ns.inum);
	if (!nsp)
		return;
	out->uts = BPF_CORE_READ(nsp, uts_ns, ns.inum);
	out->ipc = BPF_CORE_READ(nsp, ipc_ns, ns.inum);
	out->mnt = BPF_CORE_READ(nsp, mnt_ns, ns.inum);
	out->pid_for_children = BPF_CORE_READ(nsp, pid_ns_for_children, ns.inum);
	out->net = BPF_CORE_READ(nsp, net_ns, ns.inum);
	if (bpf_core_field_exists(nsp->time_ns)) {
		out->time = BPF_CORE_READ(nsp, time_ns, ns.inum);
		out->time_for_children = BPF_CORE_READ(nsp, time_ns_for_children, ns.inum);
	}
	out->cgroup = BPF_CORE_READ(nsp, cgroup_ns, ns.inum);
}

static __always_inline __u32 read_auid(struct task_struct *task)
{
	if (bpf_core_field_exists(task->loginuid))
		return BPF_CORE_READ(task, loginuid.val);
	return (__u32)-1;
}

#endif
