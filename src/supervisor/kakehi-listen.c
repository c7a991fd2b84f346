/* ISC license. */
/* kakehi-listen: binds TCP listeners while still privileged, puts them on
 * fds 3.. with LISTEN_FDS / LISTEN_FDNAMES, and execs the rest of its
 * command line. It binds and execs, nothing else: privileges are dropped
 * by the next link of the chain. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>

#include <kakehi/addr.h>
#include <kakehi/listen.h>
#include <kakehi/listenfds.h>
#include <kakehi/proto.h>

#define USAGE "kakehi-listen [ -b backlog ] addr... [ -- ] prog..."
#define dieusage() strerr_dieusage(100, USAGE)

const char *PROG = "kakehi-listen";

static void
dieusage_msg(const char *what, const char *word)
{
	strerr_dief(100, what, word, "; usage: ", USAGE);
}

/* Moves fds[0..n-1] onto 3..3+n-1 in order, warning first about what it
 * replaces. */
static void
move_into_place(int *fds, unsigned n, const kk_addr *addrs)
{
	unsigned i;

	/* An fd already open on a target number is lost: often a readiness
	 * fd given the number a listener takes. Say so, once per fd. */
	for (i = 0; i < n; i++) {
		int target = KK_LISTEN_FDS_START + (int)i, j, ours = 0;
		char name[KK_ADDR_FMTLEN], fdbuf[UINT_FMT], nextbuf[UINT_FMT];
		for (j = 0; j < (int)n; j++)
			if (fds[j] == target)
				ours = 1;
		if (ours || fcntl(target, F_GETFD) < 0)
			continue;
		kk_addr_fmt(name, &addrs[i]);
		fdbuf[uint_fmt(fdbuf, (unsigned)target)] = 0;
		nextbuf[uint_fmt(nextbuf, KK_LISTEN_FDS_START + n)] = 0;
		strerr_warnw("fd ", fdbuf, " was already open and is replaced by listener ", name,
		    "; if it is a notification fd, give it a number past the listeners (",
		    nextbuf, " or more)");
	}

	if (!kk_listenfds_place(fds, n, KK_LISTEN_FDS_START))
		strerr_diefusys(111, "move the listening sockets to fds 3 and up");
}

int
main(int argc, const char *const *argv)
{
	static kk_addr addrs[KK_LISTENFDS_MAX];
	static int fds[KK_LISTENFDS_MAX];
	static char names[KK_LISTENFDS_MAX * (KK_ADDR_FMTLEN + 1)];
	char nbuf[UINT_FMT];
	char pidbuf[PID_FMT];
	unsigned backlog = KK_LISTEN_BACKLOG;
	unsigned n = 0, i;
	size_t nameslen = 0;
	subgetopt l = SUBGETOPT_ZERO;

	for (;;) {
		int opt = subgetopt_r(argc, argv, "b:", &l);
		if (opt == -1)
			break;
		switch (opt) {
		case 'b':
			if (!uint0_scan(l.arg, &backlog) || !backlog)
				dieusage_msg("invalid backlog: ", l.arg);
			break;
		default:
			dieusage();
		}
	}
	argc -= l.ind;
	argv += l.ind;

	/* Addresses run until "--" or the first word that is not one. */
	while (argc && strcmp(argv[0], "--")) {
		if (!kk_addr_parse(&addrs[n], argv[0])) {
			if (!n)
				dieusage_msg("not an address (IPV4:PORT or [IPV6]:PORT): ", argv[0]);
			break;
		}
		if (n + 1 >= KK_LISTENFDS_MAX)
			strerr_dief(100, "too many addresses (at most 255)");
		for (i = 0; i < n; i++)
			if (addrs[i].len == addrs[n].len
			    && !memcmp(&addrs[i].ss, &addrs[n].ss, addrs[n].len))
				dieusage_msg("address given twice: ", argv[0]);
		n++;
		argc--;
		argv++;
	}
	if (argc && !strcmp(argv[0], "--")) {
		argc--;
		argv++;
	}
	if (!n || !argc)
		dieusage();

	for (i = 0; i < n; i++) {
		char err[512];
		fds[i] = kk_listen_bind(&addrs[i], backlog, err, sizeof err);
		if (fds[i] < 0)
			strerr_dief(111, err);
		if (nameslen)
			names[nameslen++] = ':';
		nameslen += kk_addr_fmt(names + nameslen, &addrs[i]);
	}
	names[nameslen] = 0;
	move_into_place(fds, n, addrs);

	nbuf[uint_fmt(nbuf, n)] = 0;
	/* exec keeps the pid, so the program we run is the one meant here. */
	pidbuf[pid_fmt(pidbuf, getpid())] = 0;
	if (setenv(KK_ENV_LISTEN_FDS, nbuf, 1) < 0
	    || setenv(KK_ENV_LISTEN_FDNAMES, names, 1) < 0
	    || setenv(KK_ENV_LISTEN_PID, pidbuf, 1) < 0)
		strerr_diefusys(111, "set the LISTEN_* environment");

	execvp(argv[0], (char *const *)argv);
	strerr_diefusys(errno == ENOENT ? 127 : 126, "exec ", argv[0]);
}
