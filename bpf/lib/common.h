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

#endif
