/* ISC license. */
/* kk_clock_ms and kk_fd_wait: one clock and one bounded poll for every
 * blocking client path in libkakehi and the small programs. */

#include <errno.h>
#include <poll.h>
#include <time.h>

#include <kakehi/wait.h>

long long
kk_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
kk_fd_wait(int fd, short events, long long deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events, .revents = 0 };
		int t = -1;
		int r;

		if (deadline >= 0) {
			long long left = deadline - kk_clock_ms();

			if (left <= 0) {
				errno = ETIMEDOUT;
				return 0;
			}
			t = left > 0x7fffffff ? 0x7fffffff : (int)left;
		}
		r = poll(&p, 1, t);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		if (r > 0)
			return 1;
		/* r == 0: the loop rechecks the deadline. */
	}
}
