// bench/syscall-loop: the syscall side of bench/syscalls. Compiled by the bench with gcc.
// Usage: syscall-loop PATH OPENAT_N GETPPID_N REPS
// Each rep times OPENAT_N x (openat(PATH) + close) and then GETPPID_N x getppid with
// CLOCK_MONOTONIC, both through syscall(2) so that nothing is cached in libc, and prints
//   rep <i> openat_ns <ns per openat+close> getppid_ns <ns per getppid>
// Then: "calls <openat calls made, warm-up included> start_rt <CLOCK_REALTIME ns at the
// first openat> end_rt <CLOCK_REALTIME ns after the last one>".
// REPS 0 with OPENAT_N > 0 is the burst mode of the event-rate run: openat only, no warm-up.
// With BENCH_BPF_STATS=1 in the environment it holds BPF_ENABLE_STATS(BPF_STATS_RUN_TIME)
// while it runs, so that the kernel accounts run_time_ns/run_cnt of every BPF program
// (the file descriptor, and with it the accounting, goes away when the process exits).
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/bpf.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long openat_calls;

static void openat_loop(const char *path, long n)
{
	for (long i = 0; i < n; i++) {
		long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			perror("openat");
			exit(1);
		}
		syscall(SYS_close, fd);
	}
	openat_calls += n;
}

static void getppid_loop(long n)
{
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s PATH OPENAT_N GETPPID_N REPS\n", argv[0]);
		return 2;
	}
	const char *path = argv[1];
	long on = atol(argv[2]), gn = atol(argv[3]), reps = atol(argv[4]);
	long long start_rt, end_rt;

	if (getenv("BENCH_BPF_STATS") && strcmp(getenv("BENCH_BPF_STATS"), "1") == 0) {
		union bpf_attr attr;

		memset(&attr, 0, sizeof(attr));
		attr.enable_stats.type = BPF_STATS_RUN_TIME;
		if (syscall(SYS_bpf, BPF_ENABLE_STATS, &attr, sizeof(attr)) < 0)
			perror("BPF_ENABLE_STATS");
	}
	if (reps == 0) {
		start_rt = now_ns(CLOCK_REALTIME);
		openat_loop(path, on);
		end_rt = now_ns(CLOCK_REALTIME);
		printf("calls %lld start_rt %lld end_rt %lld\n", openat_calls, start_rt, end_rt);
		return 0;
	}
	start_rt = now_ns(CLOCK_REALTIME);
	/* warm-up: caches, dentries, branch predictors (none for a loop of 0 calls, so that a
	 * getppid-only run makes no openat at all) */
	if (on)
		openat_loop(path, on / 10 + 1);
	if (gn)
		getppid_loop(gn / 10 + 1);
	for (long r = 0; r < reps; r++) {
		long long t0 = now_ns(CLOCK_MONOTONIC);
		openat_loop(path, on);
		long long t1 = now_ns(CLOCK_MONOTONIC);
		getppid_loop(gn);
		long long t2 = now_ns(CLOCK_MONOTONIC);
		printf("rep %ld openat_ns %.2f getppid_ns %.2f\n", r, on ? (double)(t1 - t0) / on : 0.0,
		       gn ? (double)(t2 - t1) / gn : 0.0);
	}
	end_rt = now_ns(CLOCK_REALTIME);
	printf("calls %lld start_rt %lld end_rt %lld\n", openat_calls, start_rt, end_rt);
	return 0;
}
