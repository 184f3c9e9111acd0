/* Path of a struct path relative to the task's root, by walking dentries and mounts,
 * because bpf_d_path is not allowed in tracepoint programs. The loops run under
 * bpf_loop so the verifier checks each step once. */
#ifndef TG_PATH_H
#define TG_PATH_H

#include "common.h"

#define PATH_MAX_DEPTH 64
#define PATH_NAME_MAX 256
#define PATH_BUF_LEN 1024
#define PATH_BUF_MASK (PATH_BUF_LEN - 1)

struct path_scratch {
	struct dentry *dentries[PATH_MAX_DEPTH];
	char buf[PATH_BUF_LEN + PATH_NAME_MAX + 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_scratch);
} path_heap SEC(".maps");

enum path_result {
	PATH_OK = 0,
	PATH_TRUNCATED = 1,
	PATH_ERROR = 2,
};

struct path_walk {
	struct path_scratch *s;
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	struct dentry *root_dentry;
	struct vfsmount *root_mnt;
	__u32 depth;
	__u32 off;
	int result;
};

static long path_walk_step(__u32 i, struct path_walk *w)
{
	struct dentry *dentry = w->dentry, *parent;
	struct vfsmount *vfsmnt = w->vfsmnt;
	struct mount *mnt = w->mnt;

	if (dentry == w->root_dentry && vfsmnt == w->root_mnt)
		return 1;
	parent = BPF_CORE_READ(dentry, d_parent);
	if (dentry == BPF_CORE_READ(vfsmnt, mnt_root) || dentry == parent) {
		struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);

		if (mnt_parent == mnt)
			return 1;
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = mnt_parent;
		w->vfsmnt = &mnt_parent->mnt;
		return 0;
	}
	if (w->depth >= PATH_MAX_DEPTH) {
		w->result = PATH_TRUNCATED;
		return 1;
	}
	w->s->dentries[w->depth & (PATH_MAX_DEPTH - 1)] = dentry;
	w->depth++;
	w->dentry = parent;
	return 0;
}

static long path_write_step(__u32 i, struct path_walk *w)
{
	int j = (int)w->depth - 1 - (int)i;
	const unsigned char *name;
	struct dentry *d;
	__u32 off = w->off;
	long n;

	if (j < 0)
		return 1;
	if (off >= PATH_BUF_LEN - 2) {
		w->result = PATH_TRUNCATED;
		return 1;
	}
	off &= PATH_BUF_MASK;
	w->s->buf[off] = '/';
	off = (off + 1) & PATH_BUF_MASK;
	d = w->s->dentries[j & (PATH_MAX_DEPTH - 1)];
	name = BPF_CORE_READ(d, d_name.name);
	n = bpf_probe_read_kernel_str(&w->s->buf[off], PATH_NAME_MAX, name);
	if (n < 1) {
		w->result = PATH_ERROR;
		return 1;
	}
	w->off = off + n - 1;
	return 0;
}

/* Writes the path into s->buf and its length (without NUL) into *len. */
static __always_inline int walk_path(struct path_scratch *s, const struct path *p,
				     const struct path *root, __u32 *len)
{
	struct path_walk w = {};

	w.s = s;
	w.dentry = BPF_CORE_READ(p, dentry);
	w.vfsmnt = BPF_CORE_READ(p, mnt);
	w.mnt = container_of(w.vfsmnt, struct mount, mnt);
	w.root_dentry = BPF_CORE_READ(root, dentry);
	w.root_mnt = BPF_CORE_READ(root, mnt);

	bpf_loop(PATH_MAX_DEPTH * 2, path_walk_step, &w, 0);
	if (w.result != PATH_ERROR)
		bpf_loop(PATH_MAX_DEPTH, path_write_step, &w, 0);
	if (w.result == PATH_ERROR)
		return PATH_ERROR;
	if (w.off == 0) {
		s->buf[0] = '/';
		w.off = 1;
	}
	if (w.off > PATH_BUF_LEN) {
		w.off = PATH_BUF_LEN;
		w.result = PATH_TRUNCATED;
	}
	*len = w.off;
	return w.result;
}

#endif
