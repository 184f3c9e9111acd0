/* The task's cgroup in the hierarchy user space chose (see src/sensors/base/cgroup-mode.ts). */
#ifndef TG_CGROUP_H
#define TG_CGROUP_H

#include "common.h"

/* 0: the cgroup v2 default hierarchy; 1: the cgroup v1 hierarchy of the memory controller. */
const volatile __u32 cgroup_mode = 0;

static __always_inline struct cgroup *task_tracked_cgroup(struct task_struct *task)
{
	struct css_set *cgroups = BPF_CORE_READ(task, cgroups);

	if (cgroup_mode == 1) {
		int id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
		struct cgroup_subsys_state *css = NULL;

		bpf_probe_read_kernel(&css, sizeof(css), &cgroups->subsys[id & 15]);
		return BPF_CORE_READ(css, cgroup);
	}
	return BPF_CORE_READ(cgroups, dfl_cgrp);
}

#endif
