/* ISC license. */
/* Inherited listening sockets, systemd style: LISTEN_FDS=N means fds
 * 3..3+N-1, LISTEN_FDNAMES gives their names separated by ':' (kakehi uses
 * canonical addresses as names; an IPv6 name is bracketed, so its colons
 * are inside brackets and do not split). LISTEN_PID, when set, must be our
 * pid. */
#ifndef KAKEHI_LISTENFDS_H
#define KAKEHI_LISTENFDS_H

#include <kakehi/addr.h>

#define KK_LISTENFDS_MAX 256

typedef struct kk_listenfd kk_listenfd;
struct kk_listenfd {
	int fd;
	char name[KK_ADDR_FMTLEN];	/* canonical address of the bound socket */
};

/* Reads the environment. Names are checked against getsockname() and
 * replaced by the canonical form of the real address. Returns the count
 * (0 when none), -1 with err filled. Unsets the variables so children do
 * not inherit them by accident. */
int kk_listenfds_get(kk_listenfd *out, unsigned max, char *err, size_t errlen);

/* Puts the distinct fds[0..n-1] (none below base) on base..base+n-1 in
 * order, without close-on-exec, so an exec hands them on; the sources
 * above that range are closed and fds[] is rewritten with the new numbers. Any source may already sit on
 * a target number: all are lifted above the range first, so no move
 * closes a source still needed. Whatever else was open on a target number
 * is replaced. 1 ok, 0 with errno (some fds may have moved). */
int kk_listenfds_place(int *fds, unsigned n, int base);

#endif
