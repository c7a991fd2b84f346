/* ISC license. */
/* Monotonic milliseconds and a bounded wait on one fd, for the blocking
 * paths of short-lived clients and the channel's rare fd sends. The
 * worker's loop keeps its own cached clock. */
#ifndef KAKEHI_WAIT_H
#define KAKEHI_WAIT_H

/* Milliseconds of CLOCK_MONOTONIC. */
long long kk_clock_ms(void);
/* Waits for events (POLLIN, POLLOUT) on fd until the absolute deadline
 * (kk_clock_ms() time; < 0 waits forever), retrying on EINTR. 1 when the
 * fd is ready, or in error or hung up (the next read or write reports
 * it); 0 with errno, ETIMEDOUT when the deadline passed. */
int kk_fd_wait(int fd, short events, long long deadline);

#endif
