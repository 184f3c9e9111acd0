/* Kernel objects that kernel-function hooks receive, read with CO-RE into the blobs of
 * events/generic.h. Fields that some kernels lack are read only where they exist. */
#ifndef TG_KOBJECTS_H
#define TG_KOBJECTS_H

#include "common.h"
#include "creds.h"
#include "../events/generic.h"

static __always_inline void read_user_ns(struct user_namespace *ns, struct user_ns_blob *b)
{
	if (!ns)
		return;
	b->level = BPF_CORE_READ(ns, level);
	b->uid = BPF_CORE_READ(ns, owner.val);
	b->gid = BPF_CORE_READ(ns, group.val);
	b->inum = BPF_CORE_READ(ns, ns.inum);
}

static __always_inline void read_cred_blob(const struct cred *c, struct cred_blob *b)
{
	READ_CRED_IDS_CAPS(b, c);
	read_user_ns(BPF_CORE_READ(c, user_ns), &b->user_ns);
}

static __always_inline void read_skb_blob(struct sk_buff *skb, struct skb_blob *b)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u16 th = BPF_CORE_READ(skb, transport_header);
	__u8 ver = 0, proto = 0;

	b->hash = BPF_CORE_READ(skb, hash);
	b->len = BPF_CORE_READ(skb, len);
	b->sock.priority = BPF_CORE_READ(skb, priority);
	b->sock.mark = BPF_CORE_READ(skb, mark);
	if (!head || nh == 0xffff)
		return;
	bpf_probe_read_kernel(&ver, 1, head + nh);
	ver >>= 4;
	if (ver == 4) {
		b->sock.family = 2; /* AF_INET */
		bpf_probe_read_kernel(&proto, 1, head + nh + 9);
		bpf_probe_read_kernel(b->sock.saddr, 4, head + nh + 12);
		bpf_probe_read_kernel(b->sock.daddr, 4, head + nh + 16);
	} else if (ver == 6) {
		b->sock.family = 10; /* AF_INET6 */
		bpf_probe_read_kernel(&proto, 1, head + nh + 6);
		bpf_probe_read_kernel(b->sock.saddr, 16, head + nh + 8);
		bpf_probe_read_kernel(b->sock.daddr, 16, head + nh + 24);
	}
	b->sock.protocol = proto;
	if ((proto == 6 || proto == 17) && th != 0xffff && th != 0) {
		__u8 ports[4] = {};

		bpf_probe_read_kernel(ports, 4, head + th);
		b->sock.sport = (ports[0] << 8) | ports[1];
		b->sock.dport = (ports[2] << 8) | ports[3];
	}
}

static __always_inline void read_bpf_attr_blob(union bpf_attr *attr, struct bpf_prog_blob *b)
{
	b->prog_type = BPF_CORE_READ(attr, prog_type);
	b->insn_cnt = BPF_CORE_READ(attr, insn_cnt);
	BPF_CORE_READ_INTO(&b->name, attr, prog_name);
}

static __always_inline void read_bpf_prog_blob(struct bpf_prog *prog, struct bpf_prog_blob *b)
{
	b->prog_type = BPF_CORE_READ(prog, type);
	b->insn_cnt = BPF_CORE_READ(prog, len);
	BPF_CORE_READ_INTO(&b->name, prog, aux, name);
}

static __always_inline void read_bpf_map_blob(struct bpf_map *map, struct bpf_map_blob *b)
{
	b->map_type = BPF_CORE_READ(map, map_type);
	b->key_size = BPF_CORE_READ(map, key_size);
	b->value_size = BPF_CORE_READ(map, value_size);
	b->max_entries = BPF_CORE_READ(map, max_entries);
	BPF_CORE_READ_INTO(&b->name, map, name);
}

static __always_inline void read_perf_event_blob(struct perf_event *ev, struct perf_event_blob *b)
{
	b->type = BPF_CORE_READ(ev, attr.type);
	b->config = BPF_CORE_READ(ev, attr.config);
	b->probe_offset = BPF_CORE_READ(ev, attr.probe_offset);
	/* a kprobe event's function: the user string it was created from is gone by now, but
	 * the trace event's name keeps it */
	bpf_probe_read_kernel_str(b->kprobe_func, sizeof(b->kprobe_func), BPF_CORE_READ(ev, tp_event, name));
}

/* 1 + the offset of sig_ok, or 0 when the kernel has none: read as found in BTF by user
 * space (a guarded CO-RE read of it is merged by clang with other paths and then rejected) */
static __always_inline __u32 read_sig_ok(void *obj, __u32 sig_off)
{
	__u8 ok = 0;

	if (!sig_off)
		return 2;
	if (bpf_probe_read_kernel(&ok, 1, (char *)obj + ((sig_off - 1) & 0xffff)))
		return 2;
	return ok ? 1 : 0;
}

static __always_inline void read_module_blob(struct module *mod, struct module_blob *b, __u32 sig_off)
{
	BPF_CORE_READ_INTO(&b->name, mod, name);
	b->taints = BPF_CORE_READ(mod, taints);
	b->sig_ok = read_sig_ok(mod, sig_off);
}

/* struct load_info is private to the module loader (not in every kernel's BTF); its first
 * field has been the module's name since it exists. Its module (for the taints) is found
 * through mod_off, as sig_ok is. */
static __always_inline void read_load_info_blob(void *info, struct module_blob *b, __u32 sig_off, __u32 mod_off)
{
	const char *name = NULL;
	struct module *mod = NULL;

	bpf_probe_read_kernel(&name, sizeof(name), info);
	bpf_probe_read_kernel_str(b->name, sizeof(b->name), name);
	b->sig_ok = read_sig_ok(info, sig_off);
	if (mod_off && !bpf_probe_read_kernel(&mod, sizeof(mod), (char *)info + ((mod_off - 1) & 0xffff)) && mod)
		b->taints = BPF_CORE_READ(mod, taints);
}

#endif
