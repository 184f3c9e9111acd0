// SPDX-License-Identifier: GPL-2.0
/* Feature probes: programs the agent loads (never attaches) at start to learn whether the
 * kernel really runs them. A kernel can list the symbols of BPF trampolines and BPF-LSM and
 * still refuse these programs (Linux 6.18 here answers EPERM). */
#include "../lib/common.h"

char LICENSE[] SEC("license") = "GPL";

SEC("fentry/security_file_open")
int probe_fentry(unsigned long long *ctx)
{
	return 0;
}

SEC("lsm/file_open")
int probe_lsm(unsigned long long *ctx)
{
	return 0;
}
