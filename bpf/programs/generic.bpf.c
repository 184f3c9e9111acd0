// SPDX-License-Identifier: GPL-2.0
/* The generic hook sensor: one object for every tracing policy. A hook is an attachment
 * of one of these programs with a BPF cookie naming its hook_config entry; the entry holds
 * the argument layout and the compiled selectors, which this program interprets. Policies
 * are map contents, never new programs. */
#include "../lib/common.h"
#include "../lib/creds.h"
#include "../lib/path.h"
#include "../lib/process_map.h"
#include "../lib/cgroup.h"
#include "../lib/generic_maps.h"
#include "../lib/kobjects.h"
#include "../events/generic.h"

char LICENSE[] SEC("license") = "GPL";

/* Keep the record type in the object's BTF for test/unit/layout.test.ts. */
const volatile struct msg_generic *btf_msg_generic __attribute__((unused));
const volatile struct cred_blob *btf_cred_blob __attribute__((unused));
const volatile struct skb_blob *btf_skb_blob __attribute__((unused));
const volatile struct bpf_prog_blob *btf_bpf_prog_blob __attribute__((unused));
const volatile struct bpf_map_blob *btf_bpf_map_blob __attribute__((unused));
const volatile struct perf_event_blob *btf_perf_event_blob __attribute__((unused));
const volatile struct module_blob *btf_module_blob __attribute__((unused));

/* Kernel string functions (6.17+); user space rejects SubString where they are missing. */
extern int bpf_strstr(const char *s1__ign, const char *s2__ign) __ksym __weak;
/* Set by the agent where bpf_strstr exists: the verifier then drops the call where it
 * does not (older verifiers reject an unresolved kfunc call they cannot prove dead). */
const volatile __u32 has_strstr = 0;

/* A typed, read-only view of any kernel pointer (6.2+): loads through it are plain loads the
 * JIT guards against faults, where bpf_probe_read_kernel is a helper call (~80 ns here). */
extern void *bpf_rdonly_cast(const void *obj__ign, __u32 btf_id__k) __ksym __weak;
const volatile __u32 has_rdonly_cast = 0;

/* The agent's own thread group: never traced, so its reads of /proc and files do not loop. */
const volatile __u32 agent_tgid = 0;
/* --fanotify-fail=closed: every call on a fanotify-enforced hook leaves a decision */
const volatile __u32 fanotify_fail_closed = 0;
/* the kernel has bpf_override_return (generic_kprobe_override loads) */
const volatile __u32 has_override_return = 0;
const volatile struct iov_iter_layout iov_layout = {};

/* The iterations of a bpf_loop over n configured items (at most max): exactly n, so that no
 * callback runs only to find the end (each call and return costs tens of ns where the kernel
 * mitigates return-stack attacks). The callbacks still bound their index by both. */
#define LOOPS(n, max) ((n) < (max) ? (__u32)(n) : (__u32)(max))

static __always_inline void gcount(__u32 stat)
{
	__u64 *v = bpf_map_lookup_elem(&generic_stats, &stat);

	if (v)
		__sync_fetch_and_add(v, 1);
}

/* ---------------------------------------------------------------- argument reading */

struct read_ctx {
	struct generic_scratch *s;
	struct hook_config *cfg;
	struct task_struct *task;
	__u64 ctx_addr;
	int at_exit;
};

static __always_inline __u64 value_of_size(__u64 v, __u32 size)
{
	switch (size) {
	case 1: return v & 0xff;
	case 2: return v & 0xffff;
	case 4: return v & 0xffffffff;
	default: return v;
	}
}

static __always_inline __u64 rec_value(struct generic_scratch *s, __u32 off, __u32 size)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, 8, &s->rec[off & (REC_MAX - 1)]);
	return value_of_size(v, size);
}

/* The same with a plain load (a probe read costs ~100 ns here), for the pre-filter: the
 * record is in the map value, and the bytes behind rec[] are the scratch's own, so even the
 * last offset reads inside it. Not used on the full path: there the plain load's scalar
 * nearly doubles the states the verifier walks through the argument readers. */
static __always_inline __u64 rec_value_fast(struct generic_scratch *s, __u32 off, __u32 size)
{
	__u8 *p = &s->rec[off & (REC_MAX - 1)];
	__u64 v;

	/* one 8-byte load: written in C, clang (align 1 at a variable offset) makes it eight */
	asm volatile("%0 = *(u64 *)(%1 + 0)" : "=r"(v) : "r"(p));
	return value_of_size(v, size);
}

/* A value at its type's width: a narrower type than its source (uint8 over a long) keeps only
 * its own bytes, sign-extended for the signed ones, so that selectors compare what the event shows. */
static __always_inline __u64 narrow_to_type(__u64 v, __u8 type)
{
	switch (type) {
	case GT_S32: return (__u64)(__s64)(__s32)v;
	case GT_S16: return (__u64)(__s64)(__s16)v;
	case GT_S8: return (__u64)(__s64)(__s8)v;
	case GT_U32: return (__u32)v;
	case GT_U16: return (__u16)v;
	case GT_U8: return (__u8)v;
	default: return v;
	}
}

/* The path of a struct path, relative to the task's root, into data at off. */
static __always_inline long read_path(struct read_ctx *r, struct path *fpath, __u32 off)
{
	struct task_struct *task = r->task;
	struct fs_struct *fs = BPF_CORE_READ(task, fs);
	struct path_scratch *ps;
	struct path root;
	__u32 zero = 0, len = 0;

	ps = bpf_map_lookup_elem(&path_heap, &zero);
	if (!ps || !fs)
		return -1;
	BPF_CORE_READ_INTO(&root, fs, root);
	if (walk_path(ps, fpath, &root, &len) == PATH_ERROR)
		return -1;
	len &= (PATH_BUF_LEN - 1);
	bpf_probe_read_kernel(&r->s->data[off & GENERIC_DATA_MASK], len, ps->buf);
	return len;
}

/* The struct file of a descriptor of a task. */
static __always_inline struct file *task_fd_file(struct task_struct *task, __u32 fd)
{
	struct files_struct *files = BPF_CORE_READ(task, files);
	struct fdtable *fdt = BPF_CORE_READ(files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	struct file *file = NULL;

	if (fd >= max)
		return NULL;
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	return file;
}

static __always_inline struct file *fd_file(struct read_ctx *r, __u32 fd)
{
	return task_fd_file(r->task, fd);
}

static __always_inline long read_sockaddr(struct generic_scratch *s, __u64 uptr, __u32 off, int kernel)
{
	struct {
		__u16 family;
		__u16 port;
		__u8 addr[16];
	} out = {};
	__u8 raw[24] = {};

	if (kernel ? bpf_probe_read_kernel(raw, sizeof(raw), (void *)uptr) : bpf_probe_read_user(raw, sizeof(raw), (void *)uptr))
		return -1;
	out.family = raw[0] | (raw[1] << 8);
	out.port = (raw[2] << 8) | raw[3];
	if (out.family == 2 /* AF_INET */)
		__builtin_memcpy(out.addr, &raw[4], 4);
	else if (out.family == 10 /* AF_INET6 */)
		__builtin_memcpy(out.addr, &raw[8], 16);
	/* plain stores: the data is the map value's own (a probe read costs ~100 ns here) */
	__builtin_memcpy(&s->data[off & GENERIC_DATA_MASK], &out, sizeof(out));
	return sizeof(out);
}

/* `resolve`: from a kernel pointer, follow the compiled field walk to the value. */
struct resolve_ctx {
	struct arg_spec *spec;
	__u64 v;
};

static long resolve_step(__u32 i32, struct resolve_ctx *c)
{
	struct resolve_step *st;
	__u64 i = i32, out = 0, addr;
	__u32 size;

	clamp_var(i);
	if (i >= MAX_RESOLVE || i >= c->spec->nsteps || !c->v)
		return 1;
	bound_below(i, MAX_RESOLVE);
	st = &c->spec->steps[i];
	if (st->kind == RESOLVE_FD) {
		/* a negative descriptor (a failed call's return value) has no file */
		c->v = (__s64)c->v < 0 ? 0 : (__u64)task_fd_file(bpf_get_current_task_btf(), (__u32)c->v);
		return 0;
	}
	addr = c->v + st->off;
	if (st->kind == RESOLVE_ADDR) {
		c->v = addr;
		return 0;
	}
	size = st->kind == RESOLVE_DEREF ? 8 : st->size;
	if (size == 0 || size > 8)
		size = 8;
	bpf_probe_read_kernel(&out, size, (void *)addr);
	c->v = out;
	return 0;
}

static __always_inline long read_sock(struct read_ctx *r, struct sock *sk, __u32 off)
{
	struct sock_blob b = {};

	if (!sk)
		return -1;
	b.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	b.sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	b.dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	b.protocol = BPF_CORE_READ(sk, sk_protocol);
	b.type = BPF_CORE_READ(sk, sk_type);
	b.state = BPF_CORE_READ(sk, __sk_common.skc_state);
	b.mark = BPF_CORE_READ(sk, sk_mark);
	b.priority = BPF_CORE_READ(sk, sk_priority);
	if (b.family == 10 /* AF_INET6 */) {
		BPF_CORE_READ_INTO(&b.saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&b.daddr, sk, __sk_common.skc_v6_daddr);
	} else {
		BPF_CORE_READ_INTO((__u32 *)b.saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)b.daddr, sk, __sk_common.skc_daddr);
	}
	if (bpf_core_field_exists(sk->__sk_common.skc_cookie))
		b.cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	bpf_probe_read_kernel(&r->s->data[off & GENERIC_DATA_MASK], sizeof(b), &b);
	return sizeof(b);
}

static __always_inline int is_object_type(__u8 t)
{
	return (t >= GT_FILE && t <= GT_SOCK) || (t >= GT_CRED && t <= GT_KIOCB);
}

#define BLOB(type) ((struct type *)&r->s->data[off & GENERIC_DATA_MASK])

/* A kernel object argument (or return value) into data at off: its length, or -1.
 * One call site each for the path walk and the sock read keeps verification short. */
static __always_inline long read_object(struct read_ctx *r, __u8 type, __u64 v, __u32 off)
{
	struct file *file = NULL;
	struct sock *sk = NULL;
	struct path p = {};
	int want_path = 0;

	if (!v)
		return -1;
	switch (type) {
	case GT_FILE:
	case GT_KIOCB:
	case GT_BINPRM:
		/* every kind of file reference comes down to one struct path */
		if (type == GT_FILE)
			file = (struct file *)v;
		else if (type == GT_KIOCB)
			file = BPF_CORE_READ((struct kiocb *)v, ki_filp);
		else
			file = BPF_CORE_READ((struct linux_binprm *)v, file);
		want_path = file && !bpf_probe_read_kernel(&p, sizeof(p), &file->f_path);
		break;
	case GT_PATH:
		want_path = !bpf_probe_read_kernel(&p, sizeof(p), (void *)v);
		break;
	case GT_DENTRY: {
		/* inside its own filesystem: the walk stops at the filesystem's root */
		struct task_struct *task = r->task;

		p.dentry = (struct dentry *)v;
		p.mnt = BPF_CORE_READ(task, fs, root.mnt);
		want_path = 1;
		break;
	}
	case GT_SOCK:
		sk = (struct sock *)v;
		break;
	case GT_SOCKET:
		sk = BPF_CORE_READ((struct socket *)v, sk);
		break;
	case GT_NET_DEV:
		__builtin_memset(BLOB(bpf_prog_blob), 0, 16);
		bpf_probe_read_kernel_str(BLOB(bpf_prog_blob), 16, (void *)v + bpf_core_field_offset(struct net_device, name));
		return 16;
	case GT_CRED:
		__builtin_memset(BLOB(cred_blob), 0, sizeof(struct cred_blob));
		read_cred_blob((const struct cred *)v, BLOB(cred_blob));
		return sizeof(struct cred_blob);
	case GT_USER_NS:
		__builtin_memset(BLOB(user_ns_blob), 0, sizeof(struct user_ns_blob));
		read_user_ns((struct user_namespace *)v, BLOB(user_ns_blob));
		return sizeof(struct user_ns_blob);
	case GT_SKB:
		__builtin_memset(BLOB(skb_blob), 0, sizeof(struct skb_blob));
		read_skb_blob((struct sk_buff *)v, BLOB(skb_blob));
		return sizeof(struct skb_blob);
	case GT_BPF_ATTR:
		__builtin_memset(BLOB(bpf_prog_blob), 0, sizeof(struct bpf_prog_blob));
		read_bpf_attr_blob((union bpf_attr *)v, BLOB(bpf_prog_blob));
		return sizeof(struct bpf_prog_blob);
	case GT_BPF_PROG:
		__builtin_memset(BLOB(bpf_prog_blob), 0, sizeof(struct bpf_prog_blob));
		read_bpf_prog_blob((struct bpf_prog *)v, BLOB(bpf_prog_blob));
		return sizeof(struct bpf_prog_blob);
	case GT_BPF_MAP:
		__builtin_memset(BLOB(bpf_map_blob), 0, sizeof(struct bpf_map_blob));
		read_bpf_map_blob((struct bpf_map *)v, BLOB(bpf_map_blob));
		return sizeof(struct bpf_map_blob);
	case GT_PERF_EVENT:
		__builtin_memset(BLOB(perf_event_blob), 0, sizeof(struct perf_event_blob));
		read_perf_event_blob((struct perf_event *)v, BLOB(perf_event_blob));
		return sizeof(struct perf_event_blob);
	case GT_MODULE:
		__builtin_memset(BLOB(module_blob), 0, sizeof(struct module_blob));
		read_module_blob((struct module *)v, BLOB(module_blob), r->s->obj_a);
		return sizeof(struct module_blob);
	case GT_LOAD_INFO:
		__builtin_memset(BLOB(module_blob), 0, sizeof(struct module_blob));
		read_load_info_blob((void *)v, BLOB(module_blob), r->s->obj_a, r->s->obj_b);
		return sizeof(struct module_blob);
	}
	if (want_path)
		return read_path(r, &p, off);
	if (sk)
		return read_sock(r, sk, off);
	return -1;
}

/* A string argument into the event's data, without its NUL. */
static __always_inline long read_str(struct generic_scratch *s, __u8 type, __u64 v, __u32 off)
{
	long n;

	if (type == GT_STRING)
		n = bpf_probe_read_user_str(&s->data[off & GENERIC_DATA_MASK], ARG_DATA_MAX, (void *)v);
	else
		n = bpf_probe_read_kernel_str(&s->data[off & GENERIC_DATA_MASK], ARG_DATA_MAX, (void *)v);
	return n > 0 ? n - 1 : n;
}

/* The start of an argument's read: its value, and its data (none yet) at off. */
static __always_inline void slot_begin(struct arg_slot *slot, __u64 v, __u32 off)
{
	slot->value = v;
	slot->off = off;
	slot->len = 0;
	slot->orig_len = 0;
}

/* The end of an argument's read: its length, and the next free byte of data. */
static __always_inline void arg_read_done(struct generic_scratch *s, struct arg_slot *slot, __u32 off, long n)
{
	if (n < 0) {
		s->msg.flags |= GENERIC_F_ERROR_ARG;
		gcount(GSTAT_ARG_ERROR);
		n = 0;
	}
	n &= (ARG_DATA_MAX * 2 - 1);
	slot->len = n;
	s->msg.data_len = off + n;
}

/* The pre-filter's reader of argument i. It reads only what the compiler lets a pre-filter look
 * at (values of the record, strings, a sockaddr), so that the heavy readers (paths, kernel
 * objects) stay verified once, in read_one_arg. */
static __always_inline void prefilter_read(struct generic_scratch *s, struct hook_config *cfg, __u32 i)
{
	struct arg_spec *spec;
	struct arg_slot *slot;
	__u32 off = s->msg.data_len;
	__u64 v;
	long n;

	if (i >= MAX_ARGS)
		return;
	spec = &cfg->args[i];
	slot = &s->msg.args[i];
	v = narrow_to_type(rec_value_fast(s, spec->off, spec->size), spec->type);
	slot_begin(slot, v, off);
	if (off > GENERIC_DATA_MASK - 64)
		return; /* no room for its data: the value alone */
	if (spec->type == GT_STRING || spec->type == GT_KSTRING)
		n = read_str(s, spec->type, v, off);
	else if (spec->type == GT_SOCKADDR)
		n = read_sockaddr(s, v, off, spec->flags & ARG_F_KERNEL_PTR);
	else
		return; /* a number: the value is all */
	arg_read_done(s, slot, off, n);
}

/* An iov_iter: sets the segment mode and seg_len (its byte count), points v at its buffer or
 * segment array and skip at what it consumed; returns how many segments to read. Iterators
 * over pages (bvec, xarray, pipes) give no bytes, only their size. */
static __always_inline __u64 iter_segments(struct generic_scratch *s, __u64 *v, __u64 *skip)
{
	char *it = (char *)*v;
	__u64 count = 0, ptr = 0, consumed = 0, nr = 0;
	__u8 type = 0xff;

	s->seg_len = 0;
	if (!iov_layout.ok || !it)
		return 0;
	bpf_probe_read_kernel(&type, 1, it + iov_layout.type_off);
	bpf_probe_read_kernel(&count, 8, it + iov_layout.count_off);
	bpf_probe_read_kernel(&ptr, 8, it + iov_layout.ptr_off);
	bpf_probe_read_kernel(&consumed, 8, it + iov_layout.offset_off);
	bpf_probe_read_kernel(&nr, 8, it + iov_layout.nr_segs_off);
	s->seg_len = count;
	if (type == iov_layout.ubuf) {
		s->seg_mode = SEG_ONE;
		*v = ptr + consumed;
		return 1;
	}
	*v = ptr;
	*skip = consumed;
	if (type == iov_layout.iovec)
		s->seg_mode = SEG_KERNEL_ARRAY;
	else if (type == iov_layout.kvec)
		s->seg_mode = SEG_KERNEL_ARRAY | SEG_KERNEL_DATA;
	else
		return 0;
	return nr;
}

static long read_one_arg(__u32 i32, struct read_ctx *r)
{
	struct generic_scratch *s = r->s;
	struct hook_config *cfg = r->cfg;
	struct arg_spec *spec;
	struct arg_slot *slot;
	/* the next free byte of data lives in the map value, not on the stack: the verifier
	 * does not track it, so the loop's states converge */
	__u32 off = s->msg.data_len;
	__u64 v, size, i = i32;
	long n = 0;

	clamp_var(i);
	if (i >= MAX_ARGS || i >= cfg->nargs)
		return 1;
	bound_below(i, MAX_ARGS);
	/* already read by the pre-filter */
	if (!r->at_exit && s->prefilter_done && (s->args_read & (1u << i)))
		return 0;
	if (off > GENERIC_DATA_MASK - 64)
		return 1;
	spec = &cfg->args[i];
	slot = &s->msg.args[i];
	if (!r->at_exit && (spec->flags & ARG_F_EXIT_VALUE)) {
		/* an object the call returns: read at the exit */
		slot_begin(slot, 0, off);
		return 0;
	}
	if (r->at_exit && !(spec->flags & ARG_F_EXIT_VALUE)) {
		/* the record is the exit's now: the entry saved the value */
		v = slot->value;
	} else {
		if (spec->source == SRC_CURRENT_TASK)
			v = bpf_get_current_task();
		else
			v = rec_value(s, spec->off, spec->size);
		if (spec->nsteps) {
			struct resolve_ctx rc = { .spec = spec, .v = v };

			bpf_loop(MAX_RESOLVE, resolve_step, &rc, 0);
			v = rc.v;
		}
		v = narrow_to_type(v, spec->type);
		/* a kernel_cap_t argument points at the set, as in Tetragon: the value is the set */
		if (spec->type == GT_KERNEL_CAP && bpf_probe_read_kernel(&v, sizeof(v), (void *)v)) {
			s->msg.flags |= GENERIC_F_ERROR_ARG;
			gcount(GSTAT_ARG_ERROR);
			v = 0;
		}
	}
	slot_begin(slot, v, off);
	switch (spec->type) {
	case GT_STRING:
	case GT_KSTRING:
		n = read_str(s, spec->type, v, off);
		break;
	case GT_DATA_LOC: {
		__u32 loc = (__u32)v;
		__u32 doff = loc & 0xffff, dlen = loc >> 16;

		dlen &= (ARG_DATA_MAX - 1);
		n = bpf_probe_read_kernel_str(&s->data[off & GENERIC_DATA_MASK], dlen ? dlen : 1,
					      (void *)(r->ctx_addr + doff));
		if (n > 0)
			n--;
		break;
	}
	case GT_SOCKADDR:
		n = read_sockaddr(r->s, v, off, spec->flags & ARG_F_KERNEL_PTR);
		break;
	case GT_CHAR_BUF:
	case GT_CONST_BUF:
		if (spec->flags & ARG_F_RETURN_COPY && !r->at_exit)
			return 0; /* read at the exit, with the size the call returned */
		if (spec->type == GT_CONST_BUF)
			size = spec->max_data;
		else if (spec->flags & ARG_F_SIZE_FROM_RET)
			size = s->msg.ret > 0 ? s->msg.ret : 0;
		else if (spec->size_arg >= 0 && spec->size_arg < MAX_ARGS) {
			/* at the entry from the record (the size argument's slot may not be filled
			 * yet), at the exit from the slot the entry filled */
			struct arg_spec *sz = &cfg->args[spec->size_arg & 3];

			size = r->at_exit ? s->msg.args[spec->size_arg & 3].value : rec_value(s, sz->off, sz->size);
		}
		else
			size = 0;
		slot->orig_len = size;
		if (size > spec->max_data) {
			if (spec->flags & ARG_F_MAX_DATA) /* the whole buffer goes out with the event */
				s->msg.flags |= 1u << (GENERIC_F_DATA_SHIFT + i);
			size = spec->max_data;
		}
		if (size > ARG_DATA_MAX)
			size = ARG_DATA_MAX;
		clamp_var(size);
		size &= (ARG_DATA_MAX * 2 - 1);
		if (size && bpf_probe_read_user(&s->data[off & GENERIC_DATA_MASK], size, (void *)v))
			n = -1;
		else
			n = size;
		break;
	case GT_CHAR_IOVEC:
	case GT_IOV_ITER: {
		/* the first segments, concatenated up to max_data: a user iovec array (char_iovec),
		 * or what a kernel iov_iter walks over (its user buffer, iovecs or kvecs). The
		 * segment mode lives in the scratch map, untracked, so that one verified path
		 * serves every mode. */
		__u64 count = 0, total = 0, orig = 0, skip = 0;
		int done = 0;

		s->seg_mode = 0;
		if (spec->type == GT_IOV_ITER)
			count = iter_segments(s, &v, &skip);
		else if (spec->size_arg >= 0 && spec->size_arg < MAX_ARGS) {
			struct arg_spec *sz = &cfg->args[spec->size_arg & 3];

			count = r->at_exit ? s->msg.args[spec->size_arg & 3].value : rec_value(s, sz->off, sz->size);
		}
		/* unrolled: Linux 6.1's verifier rejects a loop whose back edge is a call's fall-through */
#pragma unroll
		for (int j = 0; j < 4; j++) {
			struct { __u64 base; __u64 len; } iov = {};
			__u64 room, take;
			long err;

			if (done || j >= count)
				continue;
			if (s->seg_mode & SEG_ONE) {
				iov.base = v;
				iov.len = s->seg_len;
			} else {
				if (s->seg_mode & SEG_KERNEL_ARRAY)
					err = bpf_probe_read_kernel(&iov, sizeof(iov), (void *)(v + j * 16));
				else
					err = bpf_probe_read_user(&iov, sizeof(iov), (void *)(v + j * 16));
				if (err) {
					done = 1;
					continue;
				}
			}
			if (j == 0 && skip) {
				/* what the iterator has consumed of its first segment */
				iov.base += skip;
				iov.len = iov.len > skip ? iov.len - skip : 0;
			}
			orig += iov.len;
			room = spec->max_data > total ? spec->max_data - total : 0;
			take = iov.len < room ? iov.len : room;
			clamp_var(take);
			take &= (ARG_DATA_MAX - 1);
			if (take) {
				if (s->seg_mode & SEG_KERNEL_DATA)
					err = bpf_probe_read_kernel(&s->data[(off + total) & GENERIC_DATA_MASK], take, (void *)iov.base);
				else
					err = bpf_probe_read_user(&s->data[(off + total) & GENERIC_DATA_MASK], take, (void *)iov.base);
				if (err) {
					done = 1;
					continue;
				}
			}
			total += take;
		}
		/* an iterator's size is its byte count, whatever its segments */
		slot->orig_len = spec->type == GT_IOV_ITER ? s->seg_len : orig;
		n = total;
		break;
	}
	default:
		if (spec->type == GT_FD)
			n = read_object(r, GT_FILE, (__u64)fd_file(r, (__u32)v), off);
		else if (is_object_type(spec->type)) {
			s->obj_a = spec->max_data;
			s->obj_b = spec->aux;
			n = read_object(r, spec->type, v, off);
		}
		else
			return 0; /* numbers: the value is all */
	}
	arg_read_done(s, slot, off, n);
	return 0;
}

/* Arguments with `returnCopy` are read again once the return value is known. */
static long reread_one_arg(__u32 i32, struct read_ctx *r)
{
	struct arg_spec *spec;
	__u64 i = i32;

	clamp_var(i);
	if (i >= MAX_ARGS || i >= r->cfg->nargs)
		return 1;
	bound_below(i, MAX_ARGS);
	spec = &r->cfg->args[i];
	if (!(spec->flags & (ARG_F_RETURN_COPY | ARG_F_EXIT_VALUE)))
		return 0;
	return read_one_arg(i, r);
}

/* ---------------------------------------------------------------- selectors */

struct match_ctx {
	struct generic_scratch *s;
	struct hook_config *cfg;
	struct process_entry *proc;
	struct process_entry *parent;
	struct task_struct *task;
	struct selector *sel;
	int result;         /* index of the first matching selector, -1 none */
	int ok;             /* inner loops: 1 while everything matched */
	__u32 tgid;
	int at_exit;
};

/* Argument `arg` as a zero-padded string in s->skey.s: its first bytes, or its last ones
 * for postfix matching. Returns 1 when the string was longer than STR_KEY_LEN - 1. */
static __always_inline int str_of_arg(struct generic_scratch *s, __u8 arg, __u32 *len, int tail)
{
	struct arg_slot *slot = &s->msg.args[arg & 7];
	__u32 n = slot->len, start = slot->off, truncated = 0;

	if (n >= STR_KEY_LEN) {
		truncated = 1;
		if (tail)
			start += n - (STR_KEY_LEN - 1);
		n = STR_KEY_LEN - 1;
	}
	__builtin_memset(s->skey.s, 0, STR_KEY_LEN);
	n &= (STR_KEY_LEN - 1);
	if (n)
		bpf_probe_read_kernel(s->skey.s, n, &s->data[start & GENERIC_DATA_MASK]);
	*len = n;
	return truncated;
}

struct rev_ctx {
	struct generic_scratch *s;
	__u32 len;
};

static long reverse_step(__u32 i, struct rev_ctx *c)
{
	if (i >= c->len)
		return 1;
	c->s->rev[i & (STR_KEY_LEN - 1)] = c->s->skey.s[(c->len - 1 - i) & (STR_KEY_LEN - 1)];
	return 0;
}

static __always_inline int match_string(struct generic_scratch *s, __u8 op, __u32 set_id, __u32 len)
{
	int found = 0;

	switch (op) {
	case MOP_STR_EQ:
	case MOP_STR_NEQ:
		s->skey.set_id = set_id;
		s->skey.len = len;
		found = bpf_map_lookup_elem(&str_eq_map, &s->skey) != NULL;
		return op == MOP_STR_EQ ? found : !found;
	case MOP_PREFIX:
	case MOP_NOT_PREFIX:
		/* the zero-padded string is already the LPM key's (skey and lkey share memory, and
		 * their strings start at the same offset): only the header is written */
		if (len > STR_LPM_LEN)
			len = STR_LPM_LEN;
		s->lkey.prefixlen = 32 + len * 8;
		s->lkey.set_id = set_id;
		found = bpf_map_lookup_elem(&str_prefix_map, &s->lkey) != NULL;
		return op == MOP_PREFIX ? found : !found;
	case MOP_POSTFIX:
	case MOP_NOT_POSTFIX: {
		struct rev_ctx rc = { .s = s, .len = len };

		__builtin_memset(s->rev, 0, STR_KEY_LEN);
		bpf_loop(STR_KEY_LEN, reverse_step, &rc, 0);
		if (len > STR_LPM_LEN)
			len = STR_LPM_LEN;
		s->lkey.prefixlen = 32 + len * 8;
		s->lkey.set_id = set_id;
		bpf_probe_read_kernel(s->lkey.s, STR_LPM_LEN, s->rev);
		found = bpf_map_lookup_elem(&str_postfix_map, &s->lkey) != NULL;
		return op == MOP_POSTFIX ? found : !found;
	}
	}
	return 0;
}

struct substr_ctx {
	struct generic_scratch *s;
	__u32 set_id;
	__u32 n;
	int found;
};

static long substr_step(__u32 i, struct substr_ctx *c)
{
	struct substr_key k = { .set_id = c->set_id, .idx = i };
	struct substr_value *v;

	if (i >= c->n)
		return 1;
	v = bpf_map_lookup_elem(&substr_map, &k);
	if (has_strstr && v && bpf_strstr(c->s->skey.s, v->s) >= 0) {
		c->found = 1;
		return 1;
	}
	return 0;
}

static long lower_step(__u32 i, struct substr_ctx *c)
{
	struct generic_scratch *s = c->s;
	char ch;

	if (i >= STR_KEY_LEN)
		return 1;
	ch = s->skey.s[i & (STR_KEY_LEN - 1)];
	if (!ch)
		return 1;
	if (ch >= 'A' && ch <= 'Z')
		s->skey.s[i & (STR_KEY_LEN - 1)] = ch + ('a' - 'A');
	return 0;
}

/* SubString: any of the set's values occurs in the string in s->skey.s (values of
 * SubStringIgnCase are stored lower-cased, and the string is lowered here). */
static __always_inline int match_substring(struct generic_scratch *s, struct match_arg *m)
{
	struct substr_ctx c = { .s = s, .set_id = m->set_id, .n = (__u32)m->vals[0] };

	if (m->op == MOP_SUBSTR_ICASE)
		bpf_loop(STR_KEY_LEN, lower_step, &c, 0);
	if (c.n > MAX_SUBSTR)
		c.n = MAX_SUBSTR;
	bpf_loop(MAX_SUBSTR, substr_step, &c, 0);
	return c.found;
}

static __always_inline int match_number(struct match_arg *m, __u64 v)
{
	int signed_cmp = m->flags & MATCH_F_SIGNED;
	int hit = 0;

	switch (m->op) {
	case MOP_EQ:
	case MOP_NEQ:
		for (int i = 0; i < MAX_VALUES; i++)
			if (i < m->nvals && m->vals[i] == v)
				hit = 1;
		return m->op == MOP_EQ ? hit : !hit;
	case MOP_GT:
		return signed_cmp ? (__s64)v > (__s64)m->vals[0] : v > m->vals[0];
	case MOP_LT:
		return signed_cmp ? (__s64)v < (__s64)m->vals[0] : v < m->vals[0];
	case MOP_MASK:
		for (int i = 0; i < MAX_VALUES; i++)
			if (i < m->nvals && (v & m->vals[i]))
				hit = 1;
		return hit;
	case MOP_IN_RANGE:
	case MOP_NOT_IN_RANGE:
		for (int i = 0; i + 1 < MAX_VALUES; i += 2) {
			if (i + 1 >= m->nvals)
				break;
			if (signed_cmp ? ((__s64)v >= (__s64)m->vals[i] && (__s64)v <= (__s64)m->vals[i + 1])
				       : (v >= m->vals[i] && v <= m->vals[i + 1]))
				hit = 1;
		}
		return m->op == MOP_IN_RANGE ? hit : !hit;
	case MOP_IN_MAP:
	case MOP_NOT_IN_MAP: {
		struct num_key k = { .set_id = m->set_id, .value = v };

		hit = bpf_map_lookup_elem(&num_set_map, &k) != NULL;
		return m->op == MOP_IN_MAP ? hit : !hit;
	}
	}
	return 0;
}

static __always_inline int match_sockaddr(struct generic_scratch *s, struct match_arg *m, struct arg_slot *slot)
{
	struct {
		__u16 family;
		__u16 port;
		__u8 addr[16];
	} sa = {};
	int hit = 0;

	if (slot->len < sizeof(sa))
		return 0;
	__builtin_memcpy(&sa, &s->data[slot->off & GENERIC_DATA_MASK], sizeof(sa));
	switch (m->op) {
	case MOP_FAMILY:
	case MOP_NOT_FAMILY:
		for (int i = 0; i < MAX_VALUES; i++)
			if (i < m->nvals && m->vals[i] == sa.family)
				hit = 1;
		return m->op == MOP_FAMILY ? hit : !hit;
	case MOP_SPORT:
	case MOP_NOT_SPORT:
		for (int i = 0; i < MAX_VALUES; i++)
			if (i < m->nvals && m->vals[i] == sa.port)
				hit = 1;
		return m->op == MOP_SPORT ? hit : !hit;
	case MOP_SPORT_PRIV:
		return sa.port < 1024;
	case MOP_NOT_SPORT_PRIV:
		return sa.port >= 1024;
	case MOP_SADDR:
	case MOP_NOT_SADDR:
		__builtin_memset(&s->akey, 0, sizeof(s->akey));
		s->akey.set_id = m->set_id;
		s->akey.family = sa.family;
		__builtin_memcpy(s->akey.addr, sa.addr, 16);
		s->akey.prefixlen = 64 + (sa.family == 10 ? 128 : 32);
		hit = bpf_map_lookup_elem(&addr_map, &s->akey) != NULL;
		return m->op == MOP_SADDR ? hit : !hit;
	}
	return 0;
}

static __always_inline int match_sock(struct generic_scratch *s, struct match_arg *m, struct arg_slot *slot)
{
	struct sock_blob b = {};
	__u64 v = 0;
	int hit = 0, addr = 0, dst = 0;

	if (slot->len < sizeof(b))
		return 0;
	bpf_probe_read_kernel(&b, sizeof(b), &s->data[slot->off & GENERIC_DATA_MASK]);
	switch (m->op) {
	case MOP_SADDR: case MOP_NOT_SADDR: addr = 1; break;
	case MOP_DADDR: case MOP_NOT_DADDR: addr = 1; dst = 1; break;
	case MOP_SPORT: case MOP_NOT_SPORT: v = b.sport; break;
	case MOP_DPORT: case MOP_NOT_DPORT: v = b.dport; break;
	case MOP_SPORT_PRIV: return b.sport < 1024;
	case MOP_NOT_SPORT_PRIV: return b.sport >= 1024;
	case MOP_DPORT_PRIV: return b.dport < 1024;
	case MOP_NOT_DPORT_PRIV: return b.dport >= 1024;
	case MOP_FAMILY: case MOP_NOT_FAMILY: v = b.family; break;
	case MOP_PROTOCOL: v = b.protocol; break;
	case MOP_STATE: v = b.state; break;
	default: return 0;
	}
	if (addr) {
		__builtin_memset(&s->akey, 0, sizeof(s->akey));
		s->akey.set_id = m->set_id;
		s->akey.family = b.family;
		if (dst)
			__builtin_memcpy(s->akey.addr, b.daddr, 16);
		else
			__builtin_memcpy(s->akey.addr, b.saddr, 16);
		s->akey.prefixlen = 64 + (b.family == 10 ? 128 : 32);
		hit = bpf_map_lookup_elem(&addr_map, &s->akey) != NULL;
		return (m->op == MOP_SADDR || m->op == MOP_DADDR) ? hit : !hit;
	}
	for (int i = 0; i < MAX_VALUES; i++)
		if (i < m->nvals && m->vals[i] == v)
			hit = 1;
	return (m->op == MOP_NOT_SPORT || m->op == MOP_NOT_DPORT || m->op == MOP_NOT_FAMILY) ? !hit : hit;
}

_Static_assert(STR_KEY_LEN / 64 <= MAX_VALUES, "a length bitmap of STR_KEY_LEN bits fits vals");

/* A string operator decided by the string's length alone (MATCH_F_LENS: no value of the set
 * has this length, or all are longer): 1 or 0, no key to build, no lookup; -1 undecided. */
static __always_inline int match_str_len(struct match_arg *m, struct arg_slot *slot)
{
	__u64 n = slot->len;

	if (!(m->flags & MATCH_F_LENS) || n >= STR_KEY_LEN)
		return -1;
	/* the masked length itself indexes vals: older verifiers lose a bound that clang
	 * checked on one copy and used on another */
	n &= STR_KEY_LEN - 1;
	clamp_var(n);
	n &= STR_KEY_LEN - 1;
	if ((m->op == MOP_STR_EQ || m->op == MOP_STR_NEQ) && !((m->vals[(n >> 6) & 3] >> (n & 63)) & 1))
		return m->op == MOP_STR_NEQ;
	if (m->op >= MOP_PREFIX && m->op <= MOP_NOT_POSTFIX && n < m->vals[0])
		return m->op == MOP_NOT_PREFIX || m->op == MOP_NOT_POSTFIX;
	return -1;
}

/* A string operator (Equal ... SubStringIgnCase) on the string read into slot. */
static __always_inline int match_str_arg(struct generic_scratch *s, struct match_arg *m, struct arg_slot *slot)
{
	int tail = m->op == MOP_POSTFIX || m->op == MOP_NOT_POSTFIX;
	int by_len = match_str_len(m, slot);
	__u32 len;

	if (by_len >= 0)
		return by_len;
	if (str_of_arg(s, m->arg, &len, tail) && (m->op == MOP_STR_EQ || m->op == MOP_STR_NEQ))
		/* longer than any stored value */
		return m->op == MOP_STR_NEQ;
	if (m->op == MOP_SUBSTR || m->op == MOP_SUBSTR_ICASE)
		return match_substring(s, m);
	return match_string(s, m->op, m->set_id, len);
}

static __always_inline int match_one_arg(struct generic_scratch *s, struct match_arg *m)
{
	struct arg_slot *slot;

	if (m->arg > RET_ARG)
		return 0;
	if (m->arg == RET_ARG) {
		if (m->flags & MATCH_F_SOCK) /* a returned sock, read into the return slot */
			return match_sock(s, m, &s->msg.args[RET_ARG]);
		if (m->op >= MOP_STR_EQ)
			return 0;
		return match_number(m, (__u64)s->msg.ret);
	}
	slot = &s->msg.args[m->arg & 7];
	if (m->flags & MATCH_F_SOCK)
		return match_sock(s, m, slot);
	if (m->op >= MOP_SADDR)
		return match_sockaddr(s, m, slot);
	if (m->op >= MOP_STR_EQ)
		return match_str_arg(s, m, slot);
	return match_number(m, slot->value);
}

/* One bpf_loop step over a selector's argument (or return value) filters: stops at the
 * first that fails. Two instances, because each list has its own bound for the verifier. */
#define DEFINE_MATCH_STEP(name, list, count, max)				\
static long name(__u32 i32, struct match_ctx *c)				\
{										\
	__u64 i = i32;								\
										\
	clamp_var(i);								\
	if (i >= (max) || i >= c->sel->count)					\
		return 1;							\
	bound_below(i, (max));					\
	if (!match_one_arg(c->s, &c->sel->list[i])) {				\
		c->ok = 0;							\
		return 1;							\
	}									\
	return 0;								\
}

DEFINE_MATCH_STEP(match_arg_step, args, n_args, MAX_MATCH_ARGS)
DEFINE_MATCH_STEP(match_ret_step, ret, n_ret, MAX_MATCH_RET)

static __always_inline int match_pids(struct match_ctx *c, struct match_pids *mp)
{
	__u32 pid = c->tgid;
	int hit = 0;

	if (!mp->op)
		return 1;
	if (mp->ns_pid)
		pid = task_nspid(c->task);
	for (int i = 0; i < MAX_VALUES; i++)
		if (i < mp->n && mp->pids[i] == pid)
			hit = 1;
	if (!hit && mp->follow_forks) {
		__u32 p = c->proc ? c->proc->ppid : 0;

#pragma unroll
		for (int depth = 0; depth < 8; depth++) {
			struct process_entry *e;

			if (p <= 1 || hit)
				continue;
			for (int i = 0; i < MAX_VALUES; i++)
				if (i < mp->n && mp->pids[i] == p)
					hit = 1;
			e = bpf_map_lookup_elem(&execve_map, &p);
			p = e ? e->ppid : 0;
		}
	}
	return mp->op == MOP_EQ ? hit : !hit;
}

static __always_inline int match_binary(struct match_ctx *c, struct match_bin *mb)
{
	struct process_entry *e;
	struct generic_scratch *s = c->s;
	long n;

	if (!mb->op)
		return 1;
	e = mb->parent ? c->parent : c->proc;
	if (!e)
		return mb->op == MOP_STR_NEQ || mb->op == MOP_NOT_PREFIX || mb->op == MOP_NOT_POSTFIX;
	/* a descendant of a matching binary (or the binary itself, once exec'd) */
	if (mb->follow && (e->mbset & (1ULL << ((mb->follow - 1) & 63))))
		return mb->op == MOP_STR_EQ;
	__builtin_memset(s->skey.s, 0, STR_KEY_LEN);
	n = bpf_probe_read_kernel_str(s->skey.s, STR_KEY_LEN, e->binary);
	if (n < 1)
		return 0;
	return match_string(s, mb->op, mb->set_id, (n - 1) & (STR_KEY_LEN - 1));
}

static __always_inline __u32 ns_field(struct msg_ns *ns, __u8 i)
{
	switch (i) {
	case 0: return ns->uts;
	case 1: return ns->ipc;
	case 2: return ns->mnt;
	case 3: return ns->pid;
	case 4: return ns->pid_for_children;
	case 5: return ns->net;
	case 6: return ns->time;
	case 7: return ns->time_for_children;
	case 8: return ns->cgroup;
	case 9: return ns->user;
	}
	return 0;
}

static __always_inline int match_namespaces(struct match_ctx *c, struct selector *sel)
{
	struct msg_ns *ns = &c->s->ns;

	if (!sel->n_ns && !sel->ns_changes)
		return 1;
	__builtin_memset(ns, 0, sizeof(*ns));
	read_namespaces(c->task, ns);
	for (int i = 0; i < MAX_NS_FILTERS; i++) {
		struct match_ns *f = &sel->ns[i];
		__u32 cur;
		int hit = 0;

		if (i >= sel->n_ns)
			break;
		cur = ns_field(ns, f->ns);
		for (int j = 0; j < MAX_VALUES; j++)
			if (j < f->n && f->vals[j] == cur)
				hit = 1;
		if ((f->op == MOP_EQ) != hit)
			return 0;
	}
	if (sel->ns_changes) {
		int changed = 0;

		if (!c->proc)
			return 0;
		for (int i = 0; i < 10; i++)
			if ((sel->ns_changes & (1u << i)) && ns_field(ns, i) != ns_field(&c->proc->ns, i))
				changed = 1;
		if ((sel->ns_changes_op == MOP_EQ) != changed)
			return 0;
	}
	return 1;
}

static __always_inline int match_capabilities(struct match_ctx *c, struct selector *sel)
{
	struct msg_creds *cr = &c->s->creds;

	if (!sel->n_caps)
		return 1;
	__builtin_memset(cr, 0, sizeof(*cr));
	read_creds(c->task, cr);
	for (int i = 0; i < MAX_CAP_FILTERS; i++) {
		struct match_caps *f = &sel->caps[i];
		__u64 have, at_exec = 0;
		int hit;

		if (i >= sel->n_caps)
			break;
		have = f->type == 1 ? cr->cap_inheritable : f->type == 2 ? cr->cap_permitted : cr->cap_effective;
		if (f->changes) {
			if (!c->proc)
				return 0;
			at_exec = f->type == 1 ? c->proc->creds.cap_inheritable
			        : f->type == 2 ? c->proc->creds.cap_permitted : c->proc->creds.cap_effective;
			have = have & ~at_exec; /* gained since exec */
		}
		hit = (have & f->mask) != 0;
		if ((f->op == MOP_EQ) != hit)
			return 0;
	}
	return 1;
}

static long match_selector_step(__u32 i32, struct match_ctx *c)
{
	struct hook_config *cfg = c->cfg;
	struct selector *sel;
	__u64 i = i32;

	clamp_var(i);
	if (i >= MAX_SELECTORS || i >= cfg->nselectors)
		return 1;
	bound_below(i, MAX_SELECTORS);
	sel = &cfg->sel[i];
	c->sel = sel;
	if (c->s->prefilter_done && !(c->s->args_ok & (1u << i)))
		return 0;
	if (!match_pids(c, &sel->pids) || !match_binary(c, &sel->bin))
		return 0;
	if (!match_namespaces(c, sel) || !match_capabilities(c, sel))
		return 0;
	if (!c->s->prefilter_done) {
		c->ok = 1;
		bpf_loop(LOOPS(sel->n_args, MAX_MATCH_ARGS), match_arg_step, c, 0);
		if (!c->ok)
			return 0;
	}
	c->result = i;
	return 1;
}

/* The pre-filter: one step per matchArgs entry of the selectors, in order, at the cursor
 * (pf_sel, pf_arg). An argument is read the first time an entry looks at it; a selector is
 * left at its first entry that fails. One call per entry: each call and return costs. */
static long prefilter_step(__u32 k, struct match_ctx *c)
{
	struct generic_scratch *s = c->s;
	struct selector *sel;
	struct match_arg *m;
	__u64 i = s->pf_sel, j = s->pf_arg;
	__u32 arg;

	clamp_var(i);
	clamp_var(j);
	if (i >= MAX_SELECTORS || i >= c->cfg->nselectors || j >= MAX_MATCH_ARGS)
		return 1;
	bound_below(i, MAX_SELECTORS);
	bound_below(j, MAX_MATCH_ARGS);
	sel = &c->cfg->sel[i];
	if (j >= sel->n_args)
		return 1;
	m = &sel->args[j];
	arg = m->arg;
	if (arg < MAX_ARGS && (c->cfg->prefilter_args & (1u << arg)) && !(s->args_read & (1u << arg))) {
		prefilter_read(s, c->cfg, arg);
		s->args_read |= 1u << arg;
	}
	if (!match_one_arg(s, m)) {
		s->sel_failed |= 1u << i;
		j = sel->n_args; /* on to the next selector */
	}
	if (j + 1 >= sel->n_args) {
		s->pf_sel = i + 1;
		s->pf_arg = 0;
	} else {
		s->pf_arg = j + 1;
	}
	return 0;
}

/* The number of matchArgs entries of all selectors: the pre-filter's steps at most. */
static __always_inline __u32 prefilter_steps(struct hook_config *cfg)
{
	__u32 n = 0;

#pragma unroll
	for (int i = 0; i < MAX_SELECTORS; i++)
		if (i < cfg->nselectors)
			n += cfg->sel[i].n_args < MAX_MATCH_ARGS ? cfg->sel[i].n_args : MAX_MATCH_ARGS;
	return n;
}

/* ---------------------------------------------------------------- actions and emit */

struct hash_ctx {
	struct generic_scratch *s;
	__u64 h;
	__u32 len;
};

static long hash_step(__u32 i, struct hash_ctx *c)
{
	if (i >= c->len)
		return 1;
	c->h = (c->h ^ (__u8)c->s->data[i & GENERIC_DATA_MASK]) * 0x100000001b3ULL;
	return 0;
}

/* Post's rateLimit: an event equal to one posted less than `interval` ago is dropped. */
static __always_inline int rate_limited(struct generic_scratch *s, __u32 hook_id, struct selector_action *a)
{
	struct hash_ctx hc = { .s = s, .h = 0xcbf29ce484222325ULL, .len = s->msg.data_len };
	struct ratelimit_key k = { .hook_id = hook_id };
	__u64 now = bpf_ktime_get_ns(), *last;

	if (!a->arg)
		return 0;
	for (int i = 0; i < MAX_ARGS; i++)
		hc.h = (hc.h ^ s->msg.args[i].value) * 0x100000001b3ULL;
	if (hc.len > 1024)
		hc.len = 1024;
	bpf_loop(1024, hash_step, &hc, 0);
	k.hash = hc.h;
	k.scope_id = a->scope == 0 ? s->msg.tid : a->scope == 1 ? s->msg.pid : 0;
	last = bpf_map_lookup_elem(&ratelimit_map, &k);
	if (last && now - *last < (__u64)a->arg * 1000000ULL)
		return 1;
	bpf_map_update_elem(&ratelimit_map, &k, &now, BPF_ANY);
	return 0;
}

/* The agent's own CLI carries this followChildren bit (src/sensors/tracing/generic-sensor.ts). */
#define MBSET_AGENT_CLI (1ULL << 63)
#define PF_KTHREAD_FLAG 0x00200000

/* Safety rule: PID 1, kernel threads and the agent's CLI are never enforced upon, unless the
 * selector names them (SEL_F_EXPLICIT). The agent itself never reaches the hooks. */
static __always_inline int spared(struct generic_scratch *s, struct selector *sel)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct process_entry *proc;
	__u32 tgid = s->msg.pid;

	if (sel->flags & SEL_F_EXPLICIT)
		return 0;
	if (tgid == 1 || (task->flags & PF_KTHREAD_FLAG))
		return 1;
	proc = bpf_map_lookup_elem(&execve_map, &tgid);
	return proc && (proc->mbset & MBSET_AGENT_CLI);
}

/* A global function: verified once on its own, so its map update adds no states to the
 * hooks that call it. */
#define DENY_VERDICT 0x1 /* deny (else an allow) */
#define DENY_BOUND 0x2   /* bound to the call (HOOK_F_DENY_BOUND) */

__attribute__((noinline)) int deny_record(__u32 tid, __u32 hook_id, __s32 err, __u32 kinds, __u32 how)
{
	__u32 verdict = how & DENY_VERDICT;
	struct deny_entry e = {
		.err = err, .kinds = kinds, .ktime = bpf_ktime_get_boot_ns(), .hook_id = hook_id, .verdict = verdict,
	};

	if (how & DENY_BOUND) {
		e.regs = (__u64)bpf_task_pt_regs(bpf_get_current_task_btf());
		e.nr = syscall_nr_at(e.regs);
	}

	/* an allow never replaces a deny another hook of the same call wrote */
	if (bpf_map_update_elem(&deny_map, &tid, &e, verdict ? BPF_ANY : BPF_NOEXIST) && verdict)
		gcount(GSTAT_DENY_MAP_FULL);
	return 0;
}

static __always_inline void deny_write(struct generic_scratch *s, __u32 hook_id, __s32 err, __u32 kinds, __u32 how)
{
	deny_record(s->msg.tid, hook_id, err, kinds, how);
}

#define PHASE_ENFORCE 0x1 /* matchActions that act on the caller: at the call's entry */
#define PHASE_POST 0x2    /* matchActions that decide the event: where the event is sent */
#define PHASE_RETURN 0x4  /* matchReturnActions: after matchReturnArgs matched */

static __noinline void track_sock(struct generic_scratch *s, __u64 sk, int track)
{
	struct sock_owner o = { .tgid = s->msg.pid, .ktime = s->msg.proc_ktime };

	if (!sk)
		return;
	if (track)
		bpf_map_update_elem(&socktrack_map, &sk, &o, BPF_ANY);
	else
		bpf_map_delete_elem(&socktrack_map, &sk);
}

static __noinline void track_sock_slot(struct generic_scratch *s, __u32 slot, int track)
{
	if (slot < MAX_ARGS)
		track_sock(s, s->msg.args[slot].value, track);
}

/* The event of a tracked sock belongs to the process that tracked it. */
static __noinline void sock_owner_of(struct generic_scratch *s, __u32 slot)
{
	struct sock_owner *o;
	__u64 sk;

	if (slot >= MAX_ARGS)
		return;
	sk = s->msg.args[slot].value;
	o = bpf_map_lookup_elem(&socktrack_map, &sk);
	if (o) {
		s->msg.pid = o->tgid;
		s->msg.proc_ktime = o->ktime;
	}
}

/* One action. `now` says whether it runs in this phase; returns 0 when it drops the event. */
static __always_inline int do_action(struct generic_scratch *s, struct hook_config *cfg, __u32 hook_id,
				     struct selector *sel, struct selector_action *a, int post_now,
				     int enforce_now, struct hook_counters *hc)
{
	int monitor = cfg->flags & HOOK_F_MONITOR;

	switch (a->action) {
	case ACT_POST:
		if (post_now && rate_limited(s, hook_id, a)) {
			gcount(GSTAT_RATE_LIMITED);
			return 0;
		}
		return 1;
	case ACT_NOPOST:
		if (!post_now)
			return 1;
		hc->nopost++;
		return 0;
	case ACT_TRACK_SOCK:
	case ACT_UNTRACK_SOCK:
		if (post_now)
			track_sock_slot(s, a->arg, a->action == ACT_TRACK_SOCK);
		return 1;
	case ACT_SIGKILL:
	case ACT_SIGNAL:
	case ACT_OVERRIDE:
	case ACT_NOTIFY_ENFORCER:
		break;
	default:
		return 1;
	}
	if (!enforce_now)
		return 1;
	if (spared(s, sel)) {
		gcount(GSTAT_ENFORCE_SPARED);
		hc->spared++;
		return 1;
	}
	s->msg.action = a->action;
	if (a->action == ACT_OVERRIDE) {
		if (monitor) {
			hc->monitor_override++;
			return 1;
		}
		if (cfg->flags & HOOK_DENY_MASK)
			deny_write(s, hook_id, a->arg, (cfg->flags & HOOK_DENY_MASK) >> HOOK_DENY_SHIFT,
				   DENY_VERDICT | (cfg->flags & HOOK_F_DENY_BOUND ? DENY_BOUND : 0));
		if (!s->override_set) {
			s->override_set = 1;
			s->override_ret = a->arg;
		}
		hc->override++;
		return 1;
	}
	if (a->action == ACT_NOTIFY_ENFORCER) {
		if (monitor) {
			hc->monitor_notify_enforcer++;
			return 1;
		}
		deny_write(s, hook_id, a->arg, a->kinds, DENY_VERDICT);
		if (a->scope)
			bpf_send_signal(a->scope);
		hc->notify_enforcer++;
		return 1;
	}
	if (monitor) {
		hc->monitor_signal++;
	} else {
		bpf_send_signal(a->action == ACT_SIGKILL ? 9 : a->arg);
		hc->signal++;
	}
	return 1;
}

/* Runs the selector's actions of the given phases; returns 1 when the event is to be posted. */
static __noinline int do_actions(struct generic_scratch *s, struct hook_config *cfg, __u32 hook_id,
				      int sel_idx, __u32 phases)
{
	struct hook_counters *hc = bpf_map_lookup_elem(&hook_stats, &hook_id);
	struct selector *sel;
	int post = 1;

	if (phases & PHASE_ENFORCE)
		s->msg.action = ACT_POST;
	/* an array slot of a valid hook id: never missing, but the verifier wants it checked */
	if (!hc || sel_idx < 0 || sel_idx >= MAX_SELECTORS)
		return 1;
	{
		__u32 idx = sel_idx;

		clamp_var(idx);
		if (idx >= MAX_SELECTORS)
			return 1;
		sel = &cfg->sel[idx];
	}
	for (int i = 0; i < MAX_ACTIONS; i++) {
		if (i >= sel->n_actions)
			break;
		if (!do_action(s, cfg, hook_id, sel, &sel->actions[i], phases & PHASE_POST, phases & PHASE_ENFORCE, hc))
			post = 0;
	}
	if (phases & PHASE_RETURN) {
		for (int i = 0; i < MAX_ACTIONS; i++) {
			if (i >= sel->n_ret_actions)
				break;
			if (!do_action(s, cfg, hook_id, sel, &sel->ret_actions[i], 1, 1, hc))
				post = 0;
		}
	}
	if (post && (phases & (PHASE_POST | PHASE_RETURN)))
		hc->posted++;
	return post;
}

struct data_ctx {
	struct data_heap_value *h;
	__u64 ptr;
	__u64 size;
	__u32 failed;
};

static long data_chunk_step(__u32 j, struct data_ctx *c)
{
	struct msg_data *d = &c->h->d;
	__u64 done = (__u64)j * DATA_CHUNK, take;

	if (done >= c->size)
		return 1;
	take = c->size - done;
	if (take > DATA_CHUNK)
		take = DATA_CHUNK;
	clamp_var(take);
	if (take > DATA_CHUNK)
		return 1;
	if (bpf_probe_read_user(d->bytes, take, (void *)(c->ptr + done))) {
		c->failed = 1;
		return 1;
	}
	d->len = take;
	d->hdr.size = offsetof(struct msg_data, bytes) + take;
	if (bpf_ringbuf_output(&events, d, offsetof(struct msg_data, bytes) + take, BPF_RB_NO_WAKEUP)) {
		gcount(GSTAT_RINGBUF_DROP);
		c->failed = 1;
		return 1;
	}
	return 0;
}

/* The maxData buffers of the event, each as data records ahead of it: sent only for an event
 * that is posted, so a filtered-out call leaves none behind. */
static __noinline void emit_data_args(struct generic_scratch *s)
{
	struct data_ctx c = {};
	__u32 zero = 0;

	c.h = bpf_map_lookup_elem(&data_heap, &zero);
	if (!c.h)
		return;
	c.h->d.hdr.op = MSG_OP_GENERIC_DATA;
	c.h->d.hdr.ktime = s->msg.hdr.ktime;
	c.h->d.tid = s->msg.tid;
	for (int i = 0; i < MAX_ARGS; i++) {
		struct arg_slot *slot = &s->msg.args[i];

		if (!(s->msg.flags & (1u << (GENERIC_F_DATA_SHIFT + i))))
			continue;
		c.ptr = slot->value;
		c.size = slot->orig_len < MAX_DATA_BYTES ? slot->orig_len : MAX_DATA_BYTES;
		c.h->d.id = ((__u64)bpf_get_smp_processor_id() << 48) | (++c.h->seq & 0xffffffffffffULL);
		bpf_loop(MAX_DATA_BYTES / DATA_CHUNK + 1, data_chunk_step, &c, 0);
		slot->value = c.h->d.id;
	}
	if (c.failed)
		s->msg.flags |= GENERIC_F_DATA_FAILED;
}

/* The event record alone: what the cgroup programs send (they cannot read user memory, and
 * their hooks have no buffers). */
static __always_inline void emit_record(struct generic_scratch *s)
{
	__u32 len = sizeof(struct msg_generic) + (s->msg.data_len & GENERIC_DATA_MASK);

	s->msg.hdr.size = len;
	if (bpf_ringbuf_output(&events, s, len & 16383, rb_flags()))
		gcount(GSTAT_RINGBUF_DROP);
}

static __always_inline void emit(struct generic_scratch *s)
{
	if (s->msg.flags & GENERIC_F_DATA_MASK)
		emit_data_args(s);
	emit_record(s);
}

/* Whether the current task's cgroup (the tracked hierarchy's) is let through by a policy
 * filter: out of line, so that its few locals do not add to generic_entry's stack. */
static __noinline int policy_filter_allows(__u32 filter_id)
{
	struct policy_filter_key k = { .filter_id = filter_id };
	struct cgroup *cgrp = task_tracked_cgroup(bpf_get_current_task_btf());

	k.cgroup_id = BPF_CORE_READ(cgrp, kn, id);
	return bpf_map_lookup_elem(&policy_filter_map, &k) != NULL;
}

static __always_inline int generic_entry(void *ctx, __u32 hook_id, struct hook_config *cfg,
					 struct generic_scratch *s, __u64 pid_tgid)
{
	struct task_struct *task;
	__u32 tgid = pid_tgid >> 32;
	/* the argument reads end before the selectors start: one stack slot for both keeps
	 * the bpf_loop call chain under the 512-byte stack of older kernels */
	union {
		struct read_ctx r;
		struct match_ctx mc;
	} u = {};
	struct process_entry *proc;

	if (cfg->policy_filter && !policy_filter_allows(cfg->policy_filter))
		return 0;
	s->msg.pid = tgid;
	s->msg.tid = (__u32)pid_tgid;
	s->msg.ret = 0;
	s->prefilter_done = 0;
	s->args_ok = 0;
	/* what the fast reject read stays: its slot, its data, its read error */
	s->args_read = s->pre_read;
	if (s->pre_read) {
		s->msg.flags &= GENERIC_F_ERROR_ARG;
	} else {
		s->msg.flags = 0;
		s->msg.data_len = 0;
	}
	/* fail-closed fanotify: the guard denies protected opens it has no decision for */
	/* (an exec is checked twice, as an exec and as an open: the allow covers both) */
	if (fanotify_fail_closed && (cfg->flags & (DENY_K_FANOTIFY << HOOK_DENY_SHIFT)))
		deny_write(s, hook_id, 0, DENY_K_FANOTIFY, 0);

	if (cfg->prefilter_args) {
		/* the pre-filter: the matchArgs alone, on the arguments they look at; a call no
		 * selector's matchArgs let through stops here */
		s->sel_failed = 0;
		s->pf_sel = 0;
		/* the fast reject passed the first selector's first entry: on from the next */
		s->pf_arg = s->pre_read ? 1 : 0;
		u.mc.s = s;
		u.mc.cfg = cfg;
		bpf_loop(LOOPS(prefilter_steps(cfg), MAX_SELECTORS * MAX_MATCH_ARGS), prefilter_step, &u.mc, 0);
		s->args_ok = ((1u << (cfg->nselectors & 7)) - 1) & ~s->sel_failed;
		if (!s->args_ok)
			return 0;
		s->prefilter_done = 1;
		__builtin_memset(&u, 0, sizeof(u));
	}
	task = bpf_get_current_task_btf(); /* after the pre-filter: a helper call less for a filtered-out call */
	u.r.s = s;
	u.r.cfg = cfg;
	u.r.task = task;
	u.r.ctx_addr = (__u64)ctx;
	s->msg.hdr.op = cfg->op;
	s->msg.hdr.ktime = bpf_ktime_get_boot_ns();
	s->msg.hook_id = hook_id;
	s->msg.action = 0;
	proc = bpf_map_lookup_elem(&execve_map, &tgid);
	s->msg.proc_ktime = proc ? proc->ktime : 0;
	if (!proc)
		gcount(GSTAT_PROC_MISS);
	bpf_loop(LOOPS(cfg->nargs, MAX_ARGS), read_one_arg, &u.r, 0);

	__builtin_memset(&u, 0, sizeof(u));
	u.mc.s = s;
	u.mc.cfg = cfg;
	u.mc.proc = proc;
	u.mc.task = task;
	u.mc.tgid = tgid;
	u.mc.result = -1;
	if (proc) {
		__u32 ppid = proc->ppid;

		u.mc.parent = bpf_map_lookup_elem(&execve_map, &ppid);
	}
	if (cfg->flags & HOOK_SOCK_SLOT_MASK)
		sock_owner_of(s, ((cfg->flags & HOOK_SOCK_SLOT_MASK) >> HOOK_SOCK_SLOT_SHIFT) - 1);
	if (cfg->nselectors) {
		bpf_loop(LOOPS(cfg->nselectors, MAX_SELECTORS), match_selector_step, &u.mc, 0);
		if (u.mc.result < 0)
			return 0;
	}
	s->msg.selector = u.mc.result < 0 ? 0xffff : u.mc.result;

	if (cfg->flags & HOOK_F_RETURN) {
		struct inflight_key k = { .pid_tgid = pid_tgid, .hook_id = hook_id };

		/* enforcement cannot wait for the return: it acts now, the event waits */
		do_actions(s, cfg, hook_id, u.mc.result, PHASE_ENFORCE);
		if (bpf_map_update_elem(&inflight, &k, s, BPF_ANY))
			gcount(GSTAT_INFLIGHT_FULL);
		return 0;
	}
	if (do_actions(s, cfg, hook_id, u.mc.result, PHASE_ENFORCE | PHASE_POST))
		emit(s);
	return 0;
}

/* A returned kernel object (e.g. a sock): read into the return slot as an argument is. */
static long read_ret_object(__u32 i, struct read_ctx *r)
{
	struct generic_scratch *s = r->s;
	struct arg_slot *rs = &s->msg.args[RET_ARG];
	__u32 off = s->msg.data_len;
	long n;

	if (off > GENERIC_DATA_MASK - 64)
		return 1;
	s->obj_a = 0;
	s->obj_b = 0;
	n = read_object(r, r->cfg->ret_type, s->msg.ret, off);
	if (n < 0) {
		s->msg.flags |= GENERIC_F_ERROR_ARG;
		n = 0;
	}
	n &= (ARG_DATA_MAX * 2 - 1);
	rs->value = s->msg.ret;
	rs->off = off;
	rs->len = n;
	rs->orig_len = 0;
	s->msg.data_len = off + n;
	return 1;
}

static __always_inline int generic_exit(void *ctx, __u32 hook_id, struct hook_config *cfg,
					struct generic_scratch *s, __u64 pid_tgid)
{
	struct inflight_key k = { .pid_tgid = pid_tgid, .hook_id = hook_id };
	struct inflight_value *saved = bpf_map_lookup_elem(&inflight, &k);
	struct read_ctx r = {};
	__u64 ret;
	int sel;

	if (cfg->flags & HOOK_DENY_MASK) {
		__u32 tid = (__u32)k.pid_tgid;

		/* most calls left no decision: a lookup is cheaper than the LRU's locked delete */
		if (bpf_map_lookup_elem(&deny_map, &tid))
			bpf_map_delete_elem(&deny_map, &tid);
	}
	if (!saved)
		return 0;
	ret = rec_value(s, cfg->ret_off, cfg->ret_size);
	ret = narrow_to_type(ret, cfg->ret_type == GT_S32 ? GT_S32 : GT_S64);
	bpf_probe_read_kernel(&s->msg, sizeof(s->msg), &saved->msg);
	bpf_probe_read_kernel(s->data, sizeof(saved->data), saved->data);
	bpf_map_delete_elem(&inflight, &k);
	s->msg.ret = ret;
	s->msg.flags |= GENERIC_F_RETURN;
	s->msg.hdr.ktime = bpf_ktime_get_boot_ns();

	r.s = s;
	r.cfg = cfg;
	r.task = bpf_get_current_task_btf();
	r.ctx_addr = (__u64)ctx;
	r.at_exit = 1;
	/* a returned kernel object is read before the return filters, which may match on it */
	if (is_object_type(cfg->ret_type))
		bpf_loop(1, read_ret_object, &r, 0); /* its own frame: the stack stays under 512 bytes */

	/* return value filters next: a call they drop needs none of its arguments read */
	sel = s->msg.selector == 0xffff ? -1 : s->msg.selector;
	if (s->msg.selector < MAX_SELECTORS) {
		__u32 idx = s->msg.selector;
		struct match_ctx mc = { .s = s, .cfg = cfg, .ok = 1 };

		clamp_var(idx);
		if (idx >= MAX_SELECTORS)
			return 0;
		mc.sel = &cfg->sel[idx];

		bpf_loop(LOOPS(mc.sel->n_ret, MAX_MATCH_RET), match_ret_step, &mc, 0);
		if (!mc.ok)
			return 0;
	}

	bpf_loop(LOOPS(cfg->nargs, MAX_ARGS), reread_one_arg, &r, 0);
	if (cfg->flags & (HOOK_F_RET_TRACK_SOCK | HOOK_F_RET_UNTRACK_SOCK))
		track_sock(s, s->msg.ret, cfg->flags & HOOK_F_RET_TRACK_SOCK);
	if (do_actions(s, cfg, hook_id, sel, PHASE_POST | (sel >= 0 ? PHASE_RETURN : 0)))
		emit(s);
	return 0;
}

/* A new call of the thread: a decision bound to an earlier call (one that failed before it
 * reached the cgroup program) must not reach this one. */
static __always_inline void clear_bound_deny(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct deny_entry *e = bpf_map_lookup_elem(&deny_map, &tid);

	if (e && e->regs)
		bpf_map_delete_elem(&deny_map, &tid);
}

struct run_ctx {
	void *ctx;
	__u64 pid_tgid;
	struct attach_hooks *list;
	struct generic_scratch *s;
};

/* One bpf_loop step over the hooks of an attachment; entry and exit are separate
 * instances so that each program is verified with only its own path. */
#define DEFINE_RUN_HOOK(name, fn)						\
static long name(__u32 i32, struct run_ctx *r)					\
{										\
	__u64 i = i32;								\
	struct hook_config *cfg;						\
	__u32 hook_id;								\
										\
	clamp_var(i);								\
	if (i >= HOOKS_PER_ATTACH || i >= r->list->n)				\
		return 1;							\
	bound_below(i, HOOKS_PER_ATTACH);					\
	hook_id = r->list->ids[i];						\
	cfg = bpf_map_lookup_elem(&hook_config, &hook_id);			\
	if (!cfg || !(cfg->flags & HOOK_F_ENABLED))				\
		return 0;							\
	fn(r->ctx, hook_id, cfg, r->s, r->pid_tgid);				\
	return 0;								\
}

DEFINE_RUN_HOOK(run_hook, generic_entry)
DEFINE_RUN_HOOK(run_exit_hook, generic_exit)

#define REC_WORDS_DIRECT 21 /* sizeof(struct pt_regs) / 8 on x86-64 */

/* The record (a tracepoint's, or the argument registers or array) into s->rec. Records up to
 * the size of pt_regs, which are all syscalls' and registers', are read through pt_regs' type
 * with plain loads: a tracepoint program cannot load them from its context directly, as the
 * kernel refuses to attach it to a record shorter than the furthest load in the program. */
static __always_inline void copy_record(struct generic_scratch *s, void *src, __u32 n)
{
	if (has_rdonly_cast && n <= REC_WORDS_DIRECT * 8) {
		__u64 *w = bpf_rdonly_cast(src, bpf_core_type_id_kernel(struct pt_regs));

		/* constant offsets: the verifier checks each load against pt_regs' fields */
#define COPY_WORD(k) if ((k) * 8 >= n) return; s->rec_words[k] = w[k];
		COPY_WORD(0) COPY_WORD(1) COPY_WORD(2) COPY_WORD(3) COPY_WORD(4) COPY_WORD(5)
		COPY_WORD(6) COPY_WORD(7) COPY_WORD(8) COPY_WORD(9) COPY_WORD(10) COPY_WORD(11)
		COPY_WORD(12) COPY_WORD(13) COPY_WORD(14) COPY_WORD(15) COPY_WORD(16)
		COPY_WORD(17) COPY_WORD(18) COPY_WORD(19) COPY_WORD(20)
#undef COPY_WORD
		return;
	}
	bpf_probe_read_kernel(s->rec, n, src);
}

/* The fast reject's key lookups, out of line: their locals would add to the stack of every
 * call chain of the program (512 bytes in all, on kernels without private stacks). */
static __noinline int fast_match_str(struct generic_scratch *s, struct match_arg *m)
{
	if (!s || !m)
		return 0;
	return match_str_arg(s, m, &s->msg.args[m->arg & 7]);
}

/* The fast reject of an attachment's one hook with one selector whose first matchArgs entry
 * is a string operator on a string argument (the usual file or path filter): that entry alone,
 * before anything else is set up. A call it fails matches no selector, so nothing else needs
 * to run; one it passes goes the whole way, with the string already read (pre_read). */
static __always_inline int fast_rejected(struct generic_scratch *s, __u32 hook_id)
{
	struct hook_config *cfg = bpf_map_lookup_elem(&hook_config, &hook_id);
	struct match_arg *m;
	struct arg_slot *slot;
	int by_len;
	__u32 arg;
	__u8 type;

	if (!cfg || !(cfg->flags & HOOK_F_ENABLED) || cfg->nselectors != 1 || !cfg->sel[0].n_args)
		return 0;
	if (cfg->flags & (DENY_K_FANOTIFY << HOOK_DENY_SHIFT))
		return 0; /* fail-closed fanotify acts on every call */
	m = &cfg->sel[0].args[0];
	arg = m->arg;
	if (arg >= MAX_ARGS || !(cfg->prefilter_args & (1u << arg)) || (m->flags & MATCH_F_SOCK))
		return 0;
	if (m->op < MOP_STR_EQ || m->op > MOP_SUBSTR_ICASE)
		return 0;
	type = cfg->args[arg].type;
	if (type != GT_STRING && type != GT_KSTRING)
		return 0;
	s->msg.flags = 0;
	s->msg.data_len = 0;
	/* prefilter_read's string case, at offset 0 */
	slot = &s->msg.args[arg];
	slot_begin(slot, narrow_to_type(rec_value_fast(s, cfg->args[arg].off, cfg->args[arg].size), type), 0);
	arg_read_done(s, slot, 0, read_str(s, type, slot->value, 0));
	s->pre_read = 1u << arg;
	by_len = match_str_len(m, slot);
	if (by_len >= 0)
		return !by_len;
	return !fast_match_str(s, m);
}

/* Runs every hook of the attachment; returns the errno an Override asked for, or 0. */
static __always_inline int generic_hook(void *ctx, __u32 slot, int is_exit)
{
	__u32 zero = 0, rs;
	struct run_ctx r = {};
	void *src = ctx;

	r.list = bpf_map_lookup_elem(&attach_hooks, &slot);
	if (!r.list || !r.list->n)
		return 0;
	r.s = bpf_map_lookup_elem(&generic_heap, &zero);
	if (!r.s)
		return 0;
	r.s->override_set = 0;
	r.s->override_ret = 0;
	if (r.list->flags & ATTACH_F_CLEAR_BOUND_DENY)
		clear_bound_deny();
	rs = r.list->rec_size;
	/* syscalls hooked at their x86 entry function: the arguments are the user registers,
	 * behind the function's one pointer argument */
	if (rs & REC_INDIRECT)
		bpf_probe_read_kernel(&src, sizeof(src), (char *)ctx + ((rs >> 16) & 0xff8));
	copy_record(r.s, src, rs & (REC_MAX - 1));
	r.s->pre_read = 0;
	if (!is_exit && r.list->n == 1 && fast_rejected(r.s, r.list->ids[0]))
		return 0;
	r.pid_tgid = bpf_get_current_pid_tgid();
	if (agent_tgid && (r.pid_tgid >> 32) == agent_tgid)
		return 0;
	r.ctx = ctx;
	if (is_exit)
		bpf_loop(LOOPS(r.list->n, HOOKS_PER_ATTACH), run_exit_hook, &r, 0);
	else
		bpf_loop(LOOPS(r.list->n, HOOKS_PER_ATTACH), run_hook, &r, 0);
	return r.s->override_set ? r.s->override_ret : 0;
}

/* ------------------------------------------------ hooks the cgroup programs evaluate */

/* connect() and bind() hooks whose selectors look at the address and the caller run here, in the
 * cgroup program on the cgroup v2 root, on the kernel's own copy of the address: the calls
 * pay no syscall tracepoint, the program fails a denied call itself (bpf_set_retval), and
 * the event is the one the syscall hook would send (the compiler only routes hooks here
 * whose one argument is that address, and whose selectors hold only matchArgs on it,
 * selectors on the caller and Post, NoPost or Override). io_uring connects and TCP Fast
 * Open sends pass here too. */

struct cgroup_hooks_ctx {
	struct generic_scratch *s;
	struct attach_hooks *list;
	__u64 ktime;    /* set with the process's exec ktime when a first hook matches */
	__s32 err;      /* the first Override's errno: the call fails */
	__u32 denied;
};

/* One selector: its matchArgs on the address, then what it asks of the caller (pids,
 * binaries, namespaces, capabilities), whose process entry is looked up only once a selector
 * that names the caller got that far. Stops at the first selector that holds (c->result). */
struct cgroup_sel_ctx {
	struct generic_scratch *s;
	struct hook_config *cfg;
	int result;
};

static long cgroup_selector_step(__u32 i32, struct cgroup_sel_ctx *c)
{
	struct generic_scratch *s = c->s;
	struct hook_config *cfg = c->cfg;
	struct match_ctx mc = { .s = s, .cfg = cfg, .tgid = s->msg.pid };
	struct selector *sel;
	__u64 i = i32;

	clamp_var(i);
	if (i >= MAX_SELECTORS || i >= cfg->nselectors)
		return 1;
	bound_below(i, MAX_SELECTORS);
	sel = &cfg->sel[i];
	for (int j = 0; j < MAX_MATCH_ARGS; j++) {
		if (j >= sel->n_args)
			break;
		if (!match_sockaddr(s, &sel->args[j], &s->msg.args[0]))
			return 0;
	}
	if (sel->pids.op || sel->bin.op || sel->n_ns || sel->ns_changes || sel->n_caps) {
		__u32 tgid = mc.tgid, ppid;

		mc.task = bpf_get_current_task_btf();
		mc.proc = bpf_map_lookup_elem(&execve_map, &tgid);
		if (mc.proc) {
			ppid = mc.proc->ppid;
			mc.parent = bpf_map_lookup_elem(&execve_map, &ppid);
		}
		if (!match_pids(&mc, &sel->pids) || !match_binary(&mc, &sel->bin))
			return 0;
		if (!match_namespaces(&mc, sel) || !match_capabilities(&mc, sel))
			return 0;
	}
	c->result = i;
	return 1;
}

/* The first selector that holds, or -1. */
static __always_inline int cgroup_selector(struct generic_scratch *s, struct hook_config *cfg)
{
	struct cgroup_sel_ctx c = { .s = s, .cfg = cfg, .result = -1 };

	bpf_loop(LOOPS(cfg->nselectors, MAX_SELECTORS), cgroup_selector_step, &c, 0);
	return c.result;
}

static long cgroup_hook_step(__u32 i32, struct cgroup_hooks_ctx *c)
{
	struct generic_scratch *s = c->s;
	struct hook_counters *hc;
	struct hook_config *cfg;
	struct selector *sel;
	__u64 i = i32;
	__u32 hook_id;
	int idx, post = 1, monitor;

	clamp_var(i);
	if (i >= HOOKS_PER_ATTACH || i >= c->list->n)
		return 1;
	bound_below(i, HOOKS_PER_ATTACH);
	hook_id = c->list->ids[i];
	cfg = bpf_map_lookup_elem(&hook_config, &hook_id);
	if (!cfg || !(cfg->flags & HOOK_F_ENABLED))
		return 0;
	idx = cfg->nselectors ? cgroup_selector(s, cfg) : -1;
	if (cfg->nselectors && idx < 0)
		return 0;
	hc = bpf_map_lookup_elem(&hook_stats, &hook_id);
	if (!hc)
		return 0;
	/* what only an event needs, once per call */
	if (!c->ktime) {
		__u32 tgid = s->msg.pid;
		struct process_entry *proc = bpf_map_lookup_elem(&execve_map, &tgid);

		s->msg.proc_ktime = proc ? proc->ktime : 0;
		c->ktime = bpf_ktime_get_boot_ns();
	}
	s->msg.hdr.op = cfg->op;
	s->msg.hdr.ktime = c->ktime;
	s->msg.hook_id = hook_id;
	s->msg.selector = idx < 0 ? 0xffff : idx;
	s->msg.action = ACT_POST;
	monitor = cfg->flags & HOOK_F_MONITOR;
	if (idx >= 0 && idx < MAX_SELECTORS) {
		sel = &cfg->sel[idx];
		for (int a = 0; a < MAX_ACTIONS; a++) {
			struct selector_action *act;

			if (a >= sel->n_actions)
				break;
			act = &sel->actions[a];
			if (act->action == ACT_POST) {
				if (rate_limited(s, hook_id, act)) {
					gcount(GSTAT_RATE_LIMITED);
					post = 0;
				}
			} else if (act->action == ACT_NOPOST) {
				hc->nopost++;
				post = 0;
			} else if (act->action == ACT_OVERRIDE) {
				if (spared(s, sel)) {
					gcount(GSTAT_ENFORCE_SPARED);
					hc->spared++;
					continue;
				}
				s->msg.action = ACT_OVERRIDE;
				if (monitor) {
					hc->monitor_override++;
					continue;
				}
				hc->override++;
				if (!c->denied) {
					c->denied = 1;
					c->err = act->arg;
				}
			}
		}
	}
	if (post) {
		hc->posted++;
		emit_record(s);
	}
	return 0;
}

/* 1 lets the call go on; 0 fails it with the errno set by bpf_set_retval. */
static __always_inline int cgroup_hooks(struct bpf_sock_addr *ctx, __u32 slot, int v6)
{
	struct cgroup_hooks_ctx c = {};
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32, zero = 0;
	struct {
		__u16 family;
		__u16 port;
		__u8 addr[16];
	} sa = {};

	if (agent_tgid && tgid == agent_tgid)
		return 1;
	c.list = bpf_map_lookup_elem(&attach_hooks, &slot);
	if (!c.list || !c.list->n)
		return 1;
	c.s = bpf_map_lookup_elem(&generic_heap, &zero);
	if (!c.s)
		return 1;
	/* the address as the syscall hook's reader records it: family, port in host order */
	sa.family = ctx->user_family;
	sa.port = bpf_ntohs((__u16)ctx->user_port);
	if (v6) {
		__u32 w[4] = { ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3] };

		__builtin_memcpy(sa.addr, w, 16);
	} else {
		__u32 w = ctx->user_ip4;

		__builtin_memcpy(sa.addr, &w, 4);
	}
	__builtin_memcpy(c.s->data, &sa, sizeof(sa));
	c.s->msg.args[0].value = 0;
	c.s->msg.args[0].off = 0;
	c.s->msg.args[0].len = sizeof(sa);
	c.s->msg.args[0].orig_len = 0;
	c.s->msg.data_len = sizeof(sa);
	c.s->msg.pid = tgid;
	c.s->msg.tid = (__u32)pid_tgid;
	c.s->msg.flags = 0;
	c.s->msg.ret = 0;
	bpf_loop(LOOPS(c.list->n, HOOKS_PER_ATTACH), cgroup_hook_step, &c, 0);
	if (!c.denied)
		return 1;
	bpf_set_retval(c.err);
	return 0;
}

SEC("cgroup/connect4")
int generic_cgroup_connect4(struct bpf_sock_addr *ctx)
{
	return cgroup_hooks(ctx, ATTACH_SLOT_CONNECT4, 0);
}

SEC("cgroup/connect6")
int generic_cgroup_connect6(struct bpf_sock_addr *ctx)
{
	return cgroup_hooks(ctx, ATTACH_SLOT_CONNECT6, 1);
}

SEC("cgroup/bind4")
int generic_cgroup_bind4(struct bpf_sock_addr *ctx)
{
	return cgroup_hooks(ctx, ATTACH_SLOT_BIND4, 0);
}

SEC("cgroup/bind6")
int generic_cgroup_bind6(struct bpf_sock_addr *ctx)
{
	return cgroup_hooks(ctx, ATTACH_SLOT_BIND6, 1);
}

/* Loads nothing but the maps: the object that owns them when a policy's first hooks are all
 * programs that need an object of their own (fentry, LSM). */
SEC("tracepoint")
int generic_maps(void *ctx)
{
	return 0;
}

/* Entry and exit are separate programs: each one is verified with only its own path. */
SEC("tracepoint")
int generic_tracepoint(void *ctx)
{
	generic_hook(ctx, bpf_get_attach_cookie(ctx) & ATTACH_ID_MASK, 0);
	return 0;
}

SEC("tracepoint")
int generic_tracepoint_exit(void *ctx)
{
	generic_hook(ctx, bpf_get_attach_cookie(ctx) & ATTACH_ID_MASK, 1);
	return 0;
}

/* raw tracepoints: the record is the u64 argument array (attach cookies need Linux 6.10) */
SEC("raw_tp")
int generic_raw_tp(struct bpf_raw_tracepoint_args *ctx)
{
	generic_hook(ctx, bpf_get_attach_cookie(ctx) & ATTACH_ID_MASK, 0);
	return 0;
}

SEC("uprobe")
int generic_uprobe(struct pt_regs *ctx)
{
	generic_hook(ctx, bpf_get_attach_cookie(ctx) & ATTACH_ID_MASK, 0);
	return 0;
}

SEC("uretprobe")
int generic_uretprobe(struct pt_regs *ctx)
{
	generic_hook(ctx, bpf_get_attach_cookie(ctx) & ATTACH_ID_MASK, 1);
	return 0;
}

SEC("kprobe")
int generic_kprobe(struct pt_regs *ctx)
{
	generic_hook(ctx, bpf_get_attach_cookie(ctx) & ATTACH_ID_MASK, 0);
	return 0;
}

/* The same for hooks that Override a call: only functions open to error injection take it,
 * so hooks that do not override keep the program above. */
SEC("kprobe")
int generic_kprobe_override(struct pt_regs *ctx)
{
	int ret = generic_hook(ctx, bpf_get_attach_cookie(ctx) & ATTACH_ID_MASK, 0);

	if (has_override_return && ret)
		bpf_override_return(ctx, (long)ret);
	return 0;
}

SEC("kretprobe")
int generic_kretprobe(struct pt_regs *ctx)
{
	generic_hook(ctx, bpf_get_attach_cookie(ctx) & ATTACH_ID_MASK, 1);
	return 0;
}

/* kprobe.multi: one link for many functions, each function's cookie names its slot */
SEC("kprobe.multi")
int generic_kprobe_multi(struct pt_regs *ctx)
{
	generic_hook(ctx, bpf_get_attach_cookie(ctx) & ATTACH_ID_MASK, 0);
	return 0;
}

SEC("kretprobe.multi")
int generic_kretprobe_multi(struct pt_regs *ctx)
{
	generic_hook(ctx, bpf_get_attach_cookie(ctx) & ATTACH_ID_MASK, 1);
	return 0;
}

/* fentry, fexit and LSM programs name their target when they load: each target gets its own
 * copy of the object, and that copy's attachment slot is a constant of it (no cookie needed,
 * which these program types only have on newer kernels). The record is the argument array;
 * fexit's has the return value after the arguments. */
const volatile __u32 fixed_slot = 0;

SEC("fentry")
int generic_fentry(__u64 *ctx)
{
	generic_hook(ctx, fixed_slot, 0);
	return 0;
}

SEC("fexit")
int generic_fexit(__u64 *ctx)
{
	generic_hook(ctx, fixed_slot, 1);
	return 0;
}

/* fmod_ret: a non-zero return skips the function and becomes its return value (Override). */
SEC("fmod_ret")
int generic_fmod_ret(__u64 *ctx)
{
	return generic_hook(ctx, fixed_slot, 0);
}

/* The hook's verdict: 0 lets the kernel decide, an Override's errno denies. */
SEC("lsm")
long generic_lsm(__u64 *ctx)
{
	/* the verifier holds LSM programs to [-MAX_ERRNO, 0] in all 64 bits of the return
	 * register (Linux 6.12): widen with the sign before the bounds check */
	long ret = generic_hook(ctx, fixed_slot, 0);

	if (ret < -4095 || ret > 0)
		ret = -1;
	return ret;
}
