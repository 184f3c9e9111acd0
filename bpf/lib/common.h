#ifndef TG_COMMON_H
#define TG_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

/* Keeps the compiler from dropping a bound the verifier needs to see. */
#define clamp_var(var) asm volatile("" : "+r"(var))

/* Bounds `var` below `max` in the very register that indexes next: older verifiers (6.1)
 * lose a C-level check when clang compares a reloaded copy of the variable. */
#define bound_below(var, max) \
	asm volatile("if %[v] < %[m] goto +1; %[v] = 0" : [v] "+r"(var) : [m] "i"(max))

#endif
