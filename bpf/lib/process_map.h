/* execve_map and the shared ring buffer, declared identically by every sensor object:
 * user space pins them from the process sensor and the others reuse the pins. */
#ifndef TG_PROCESS_MAP_H
#define TG_PROCESS_MAP_H

#include "common.h"
#include "../events/process.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct process_entry);
} execve_map SEC(".maps");

/* executable path -> the followChildren sets it starts (written by the policy compiler) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct mbset_key);
	__type(value, __u64);
} mbset_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

/* Records are submitted without waking the consumer until this much is waiting; the
 * consumer polls with a short timeout, so an event waits at most that long. Fewer wakeups
 * mean larger batches across the addon boundary. 0 = wake up on every record. */
const volatile __u32 wakeup_bytes = 0;

static __always_inline __u64 rb_flags(void)
{
	if (wakeup_bytes == 0 || bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		return 0;
	return BPF_RB_NO_WAKEUP;
}

#endif
