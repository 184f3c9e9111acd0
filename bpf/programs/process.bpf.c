// SPDX-License-Identifier: GPL-2.0
/* The base process sensor: exec, fork and exit from scheduler tracepoints, so it needs
 * no kprobes. Keeps execve_map (tgid -> identity) for later hooks and sends one record
 * per event to user space through the ring buffer. */
#include "../lib/common.h"
#include "../lib/creds.h"
#include "../lib/cgroup.h"
#include "../lib/path.h"
#include "../lib/process_map.h"
#include "../events/process.h"

char LICENSE[] SEC("license") = "GPL";

/* Keep the record types in the object's BTF: test/unit/layout.test.ts reads them. */
const volatile struct msg_clone *btf_msg_clone __attribute__((unused));
const volatile struct msg_exit *btf_msg_exit __attribute__((unused));

#define EXEC_DATA_LEN 16384
#define EXEC_DATA_MASK 8191

struct exec_scratch {
	struct msg_exec msg;
	char data[EXEC_DATA_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_scratch);
} exec_heap SEC(".maps");


struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats_map SEC(".maps");

static __always_inline void count(__u32 stat)
{
	__u64 *v = bpf_map_lookup_elem(&stats_map, &stat);

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline void store_entry(__u32 tgid, struct process_entry *entry)
{
	if (bpf_map_update_elem(&execve_map, &tgid, entry, BPF_ANY))
		count(STAT_EXECVE_MAP_FULL);
}

static __always_inline int handle_exec(struct task_struct *task, struct linux_binprm *bprm)
{
	__u32 zero = 0, tgid, ppid, off, len, path_len = 0;
	struct exec_scratch *s = bpf_map_lookup_elem(&exec_heap, &zero);
	struct path_scratch *ps = bpf_map_lookup_elem(&path_heap, &zero);
	struct process_entry *prev, *parent;
	struct msg_exec *m;
	struct mm_struct *mm;
	unsigned long arg_start, arg_end;
	long n;
	int r;

	if (!s || !ps)
		return 0;
	m = &s->msg;
	tgid = BPF_CORE_READ(task, tgid);
	ppid = BPF_CORE_READ(task, real_parent, tgid);

	m->hdr.op = MSG_OP_EXECVE;
	m->hdr.ktime = bpf_ktime_get_boot_ns();
	m->pid = tgid;
	m->tid = BPF_CORE_READ(task, pid);
	m->ppid = ppid;
	m->nspid = task_nspid(task);
	m->auid = read_auid(task);
	m->flags = EXEC_FLAG_EXECVE;
	read_creds(task, &m->creds);
	read_namespaces(task, &m->ns);

	prev = bpf_map_lookup_elem(&execve_map, &tgid);
	if (prev && (prev->flags & EXEC_FLAG_CLONE) && !(prev->flags & EXEC_FLAG_EXECVE))
		m->flags |= EXEC_FLAG_CLONE;
	parent = bpf_map_lookup_elem(&execve_map, &ppid);
	if (parent) {
		m->parent_ktime = parent->ktime;
	} else {
		m->parent_ktime = 0;
		m->flags |= EXEC_FLAG_MISS_PARENT;
		count(STAT_PARENT_MISS);
	}

	/* filename, as given to execve; user space makes it absolute against cwd */
	n = bpf_probe_read_kernel_str(s->data, FILENAME_MAX_LEN, BPF_CORE_READ(bprm, filename));
	if (n < 1) {
		m->flags |= EXEC_FLAG_ERROR_FILENAME;
		n = 1;
		s->data[0] = 0;
	} else if (n == FILENAME_MAX_LEN) {
		m->flags |= EXEC_FLAG_TRUNC_FILENAME;
	}
	off = n - 1;
	m->filename_len = off;

	/* cwd */
	{
		struct fs_struct *fs = BPF_CORE_READ(task, fs);
		struct path pwd, root;

		if (!fs) {
			m->flags |= EXEC_FLAG_NO_CWD;
			m->cwd_len = 0;
		} else {
			BPF_CORE_READ_INTO(&pwd, fs, pwd);
			BPF_CORE_READ_INTO(&root, fs, root);
			r = walk_path(ps, &pwd, &root, &path_len);
			if (r == PATH_ERROR) {
				m->flags |= EXEC_FLAG_ERROR_CWD;
				path_len = 0;
			} else if (r == PATH_TRUNCATED) {
				m->flags |= EXEC_FLAG_TRUNC_CWD;
			}
			path_len &= (CWD_MAX_LEN - 1);
			if (path_len == 1 && ps->buf[0] == '/')
				m->flags |= EXEC_FLAG_ROOT_CWD;
			if (path_len)
				bpf_probe_read_kernel(&s->data[off & EXEC_DATA_MASK], path_len, ps->buf);
			m->cwd_len = path_len;
			off += path_len;
		}
	}

	/* cgroup */
	{
		struct cgroup *cgrp = task_tracked_cgroup(task);
		const char *name = BPF_CORE_READ(cgrp, kn, name);

		m->cgroup_id = BPF_CORE_READ(cgrp, kn, id);
		n = bpf_probe_read_kernel_str(&s->data[off & EXEC_DATA_MASK], CGROUP_NAME_MAX_LEN, name);
		if (n < 1) {
			m->flags |= EXEC_FLAG_ERROR_CGROUP;
			n = 1;
		}
		m->cgroup_name_len = n - 1;
		off += n - 1;
	}

	/* arguments: the whole argv area of the new mm, NUL separated */
	mm = BPF_CORE_READ(task, mm);
	arg_start = BPF_CORE_READ(mm, arg_start);
	arg_end = BPF_CORE_READ(mm, arg_end);
	len = arg_end > arg_start ? arg_end - arg_start : 0;
	m->args_total = len;
	if (len > ARGS_MAX_LEN) {
		len = ARGS_MAX_LEN;
		m->flags |= EXEC_FLAG_TRUNC_ARGS;
	}
	if (len) {
		off &= EXEC_DATA_MASK;
		clamp_var(len);
		len &= (ARGS_MAX_LEN * 2 - 1);
		if (bpf_probe_read_user(&s->data[off], len, (void *)arg_start)) {
			m->flags |= EXEC_FLAG_ERROR_ARGS;
			len = 0;
		}
	}
	m->args_len = len;
	off += len;

	len = sizeof(struct msg_exec) + (off & EXEC_DATA_MASK);
	m->hdr.size = len;
	if (bpf_ringbuf_output(&events, s, len & 16383, rb_flags()))
		count(STAT_RINGBUF_DROP_EXEC);

	/* the live-process entry, built last so the message's data area can hold it */
	{
		struct process_entry *e = (struct process_entry *)s->data;
		struct fs_struct *fs = BPF_CORE_READ(task, fs);
		struct path exe, root;

		__builtin_memset(e, 0, sizeof(*e));
		e->ktime = m->hdr.ktime;
		e->parent_ktime = m->parent_ktime;
		e->pid = tgid;
		e->ppid = ppid;
		e->flags = m->flags;
		e->auid = m->auid;
		e->cgroup_id = m->cgroup_id;
		e->creds = m->creds;
		e->ns = m->ns;
		/* the resolved executable, as matchBinaries compares it */
		BPF_CORE_READ_INTO(&exe, bprm, file, f_path);
		if (fs)
			BPF_CORE_READ_INTO(&root, fs, root);
		else
			__builtin_memset(&root, 0, sizeof(root));
		if (walk_path(ps, &exe, &root, &path_len) != PATH_ERROR && path_len < BINARY_MAX_LEN)
			bpf_probe_read_kernel(e->binary, path_len & (BINARY_MAX_LEN - 1), ps->buf);
		/* followChildren sets: inherited (the fork copied the parent's), plus this binary's */
		prev = bpf_map_lookup_elem(&execve_map, &tgid);
		if (prev)
			e->mbset = prev->mbset;
		{
			__u64 *bits = bpf_map_lookup_elem(&mbset_map, (struct mbset_key *)e->binary);

			if (bits)
				e->mbset |= *bits;
		}
		store_entry(tgid, e);
	}
	return 0;
}

static __always_inline int handle_fork(struct task_struct *parent_task, struct task_struct *child)
{
	__u32 tgid = BPF_CORE_READ(child, tgid), ptgid, zero = 0;
	struct process_entry *parent;
	struct path_scratch *ps;
	struct process_entry *e;
	struct msg_clone *m;

	if (BPF_CORE_READ(child, pid) != tgid)
		return 0; /* a new thread of an existing process */
	ptgid = BPF_CORE_READ(parent_task, tgid);
	ps = bpf_map_lookup_elem(&path_heap, &zero);
	if (!ps)
		return 0;
	e = (struct process_entry *)ps->dentries;
	parent = bpf_map_lookup_elem(&execve_map, &ptgid);
	if (parent) {
		*e = *parent;
	} else {
		__builtin_memset(e, 0, sizeof(*e));
		count(STAT_PARENT_MISS);
	}
	e->parent_ktime = parent ? parent->ktime : 0;
	e->ktime = BPF_CORE_READ(child, start_boottime);
	e->pid = tgid;
	e->ppid = ptgid;
	e->flags = EXEC_FLAG_CLONE;
	store_entry(tgid, e);

	m = bpf_ringbuf_reserve(&events, sizeof(*m), 0);
	if (!m) {
		count(STAT_RINGBUF_DROP_CLONE);
		return 0;
	}
	m->hdr.op = MSG_OP_CLONE;
	m->hdr.size = sizeof(*m);
	m->hdr.ktime = e->ktime;
	m->pid = tgid;
	m->tid = BPF_CORE_READ(child, pid);
	m->ppid = ptgid;
	m->flags = EXEC_FLAG_CLONE;
	m->parent_ktime = e->parent_ktime;
	bpf_ringbuf_submit(m, rb_flags());
	return 0;
}

static __always_inline int handle_exit(struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct process_entry *e;
	struct msg_exit *m;
	__u64 proc_ktime = 0;

	/* signal->live drops to 0 when the last thread of the group is exiting */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	e = bpf_map_lookup_elem(&execve_map, &tgid);
	if (e) {
		proc_ktime = e->ktime;
		/* only the thread that removes the entry reports, so a group exits once */
		if (bpf_map_delete_elem(&execve_map, &tgid))
			return 0;
	} else {
		count(STAT_EXIT_MISS);
	}
	m = bpf_ringbuf_reserve(&events, sizeof(*m), 0);
	if (!m) {
		count(STAT_RINGBUF_DROP_EXIT);
		return 0;
	}
	m->hdr.op = MSG_OP_EXIT;
	m->hdr.size = sizeof(*m);
	m->hdr.ktime = bpf_ktime_get_boot_ns();
	m->pid = tgid;
	m->tid = BPF_CORE_READ(task, pid);
	m->proc_ktime = proc_ktime;
	m->exit_code = BPF_CORE_READ(task, exit_code);
	m->pad = 0;
	bpf_ringbuf_submit(m, rb_flags());
	return 0;
}

/* tp_btf programs where the kernel has BTF-typed tracepoints; raw_tp twins otherwise.
 * User space enables one set with setProgramAutoload. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(tg_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return handle_exec(p, bprm);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(tg_fork, struct task_struct *parent, struct task_struct *child)
{
	return handle_fork(parent, child);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(tg_exit, struct task_struct *p)
{
	return handle_exit(p);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(tg_exec_raw, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return handle_exec(p, bprm);
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(tg_fork_raw, struct task_struct *parent, struct task_struct *child)
{
	return handle_fork(parent, child);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(tg_exit_raw, struct task_struct *p)
{
	return handle_exit(p);
}
