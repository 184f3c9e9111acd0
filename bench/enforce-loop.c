// bench/enforce-loop: the syscall side of bench/enforce. Compiled by the bench with gcc.
// Usage: enforce-loop connect N REPS | enforce-loop open PATH N REPS
// connect: each call is socket + connect to a listener of its own on 127.0.0.1 + accept +
// close; open: openat(PATH) + close. Prints "rep <i> ns <ns per call> cpu <CPU ns per call>"
// per rep: wall time, and the thread's own CPU time (what the kernel did for it, BPF
// programs included), which waits and idle-state wake-ups on a shared machine do not reach.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	int is_connect = argc > 1 && !strcmp(argv[1], "connect");
	const char *path = is_connect ? NULL : argv[2];
	long n = atol(argv[is_connect ? 2 : 3]);
	int reps = atoi(argv[is_connect ? 3 : 4]);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int l = -1;

	if (is_connect) {
		l = socket(AF_INET, SOCK_STREAM, 0);
		if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 128) || getsockname(l, (struct sockaddr *)&a, &alen)) {
			perror("listen");
			return 1;
		}
	}
	for (int r = 0; r < reps; r++) {
		long long t0 = clock_ns(CLOCK_MONOTONIC), c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);

		for (long i = 0; i < n; i++) {
			if (is_connect) {
				int s = socket(AF_INET, SOCK_STREAM, 0);
				int c;

				if (connect(s, (struct sockaddr *)&a, sizeof(a))) {
					perror("connect");
					return 1;
				}
				c = accept(l, NULL, NULL);
				close(c);
				close(s);
			} else {
				long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);

				if (fd < 0) {
					perror("openat");
					return 1;
				}
				close(fd);
			}
		}
		printf("rep %d ns %.1f cpu %.1f\n", r, (double)(clock_ns(CLOCK_MONOTONIC) - t0) / n,
		       (double)(clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0) / n);
	}
	return 0;
}
