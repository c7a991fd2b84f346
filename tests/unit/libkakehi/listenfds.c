/* ISC license. */
/* Tests kk_listenfds_get (src/libkakehi/listenfds.c) with real sockets
 * put at fds 3 and 4 of this process: adoption, canonical names, IPv6
 * names with colons, LISTEN_PID, and every refusal. */

#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kakehi/addr.h>
#include <kakehi/listenfds.h>
#include "tap.h"

/* A socket of the given family and type bound to loopback port 0, moved to
 * fd `at`; listening when asked. Its canonical name goes into name. */
static int
sock_at(int at, int family, int type, int do_listen, char *name)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(family, type, 0);

	if (fd < 0)
		return 0;
	memset(&ss, 0, sizeof ss);
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof *sin;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof *sin6;
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || (do_listen && listen(fd, 8) < 0)) {
		close(fd);
		return 0;
	}
	if (fd != at) {
		if (dup2(fd, at) < 0)
			return 0;
		close(fd);
	}
	return kk_addr_of_socket(at, name);
}

static void
env(const char *fds, const char *names, const char *pid)
{
	if (fds) setenv("LISTEN_FDS", fds, 1); else unsetenv("LISTEN_FDS");
	if (names) setenv("LISTEN_FDNAMES", names, 1); else unsetenv("LISTEN_FDNAMES");
	if (pid) setenv("LISTEN_PID", pid, 1); else unsetenv("LISTEN_PID");
}

/* The inode of fd, to follow a file across moves. */
static ino_t
ino_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) < 0 ? 0 : st.st_ino;
}

/* kk_listenfds_place: sources that sit on each other's targets (21 must
 * go to 20 while 20 goes to 22), one far above, targets left inheritable
 * and the far source closed. */
static void
place_test(void)
{
	int p[2], q[2], fds[3];
	ino_t want[3];
	unsigned i;

	if (pipe(p) < 0 || pipe(q) < 0 || dup2(p[0], 21) < 0 || dup2(p[1], 20) < 0
	    || dup2(q[0], 40) < 0) {
		ok(0, "set up fds 20, 21, 40");
		return;
	}
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	fcntl(20, F_SETFD, FD_CLOEXEC);
	fds[0] = 21;
	fds[1] = 40;
	fds[2] = 20;
	for (i = 0; i < 3; i++)
		want[i] = ino_of(fds[i]);
	ok(kk_listenfds_place(fds, 3, 20), "placed on 20..22");
	for (i = 0; i < 3; i++) {
		is_int(fds[i], 20 + (int)i, "fds[%u] rewritten", i);
		ok(ino_of(20 + (int)i) == want[i], "fd %u holds source %u", 20 + i, i);
		ok(!(fcntl(20 + (int)i, F_GETFD) & FD_CLOEXEC), "fd %u inheritable", 20 + i);
	}
	ok(fcntl(40, F_GETFD) < 0, "the source above the range is closed");
	for (i = 0; i < 3; i++)
		close(20 + (int)i);
}

int
main(void)
{
	kk_listenfd l[4];
	char err[256], a3[KK_ADDR_FMTLEN], a4[KK_ADDR_FMTLEN], v6[KK_ADDR_FMTLEN];
	char names[200], mypid[32], otherpid[32];
	int r, have_v6;

	snprintf(mypid, sizeof mypid, "%ld", (long)getpid());
	snprintf(otherpid, sizeof otherpid, "%ld", (long)getpid() + 1);

	env(0, 0, 0);
	is_int(kk_listenfds_get(l, 4, err, sizeof err), 0, "no LISTEN_FDS: none");

	ok(sock_at(3, AF_INET, SOCK_STREAM, 1, a3), "listener at fd 3");
	ok(sock_at(4, AF_INET, SOCK_STREAM, 1, a4), "listener at fd 4");
	fcntl(3, F_SETFD, 0);
	fcntl(4, F_SETFD, 0);

	snprintf(names, sizeof names, "%s:%s", a3, a4);
	env("2", names, mypid);
	r = kk_listenfds_get(l, 4, err, sizeof err);
	is_int(r, 2, "two adopted");
	ok(l[0].fd == 3 && l[1].fd == 4, "at fds 3 and 4");
	is_str(l[0].name, a3, "name of fd 3");
	is_str(l[1].name, a4, "name of fd 4");
	ok((fcntl(3, F_GETFD) & FD_CLOEXEC) && (fcntl(4, F_GETFD) & FD_CLOEXEC), "close-on-exec set");
	ok(!getenv("LISTEN_FDS") && !getenv("LISTEN_FDNAMES") && !getenv("LISTEN_PID"),
	    "variables unset");

	env("2", 0, 0);
	is_int(kk_listenfds_get(l, 4, err, sizeof err), 2, "no names, no pid: adopted");
	is_str(l[1].name, a4, "name from getsockname");

	env("2", "http:admin", mypid);
	is_int(kk_listenfds_get(l, 4, err, sizeof err), 2, "non-address names accepted");
	is_str(l[0].name, a3, "replaced by the real address");

	env("2", names, otherpid);
	is_int(kk_listenfds_get(l, 4, err, sizeof err), 0, "another LISTEN_PID: not ours");
	ok(!getenv("LISTEN_FDS"), "variables unset anyway");

	env("2", names, "12x");
	is_int(kk_listenfds_get(l, 4, err, sizeof err), -1, "bad LISTEN_PID refused");
	env("two", names, mypid);
	is_int(kk_listenfds_get(l, 4, err, sizeof err), -1, "bad LISTEN_FDS refused");
	ok(strstr(err, "LISTEN_FDS=two") != 0, "message names the value: %s", err);
	env("2", names, mypid);
	is_int(kk_listenfds_get(l, 1, err, sizeof err), -1, "more than max refused");
	env("2", a3, mypid);
	is_int(kk_listenfds_get(l, 4, err, sizeof err), -1, "fewer names refused");
	ok(strstr(err, "fewer") != 0, "message: %s", err);
	snprintf(names, sizeof names, "%s:%s:x", a3, a4);
	env("2", names, mypid);
	is_int(kk_listenfds_get(l, 4, err, sizeof err), -1, "more names refused");
	snprintf(names, sizeof names, "%s:%s", a4, a3);
	env("2", names, mypid);
	is_int(kk_listenfds_get(l, 4, err, sizeof err), -1, "swapped names refused");
	ok(strstr(err, "bound to") != 0, "message: %s", err);
	env("2", "http:8080", mypid);
	is_int(kk_listenfds_get(l, 4, err, sizeof err), 2, "a numeric name after a plain one splits");
	env("0", "", mypid);
	is_int(kk_listenfds_get(l, 4, err, sizeof err), 0, "LISTEN_FDS=0");

	/* fd 5 is not open. */
	close(5);
	env("3", 0, mypid);
	is_int(kk_listenfds_get(l, 4, err, sizeof err), -1, "closed fd refused");
	ok(strstr(err, "fd 5") && strstr(err, "not open"), "message: %s", err);
	/* A refusal changes nothing: fd 3 stays as it was. */
	fcntl(3, F_SETFD, 0);
	env("3", 0, mypid);
	kk_listenfds_get(l, 4, err, sizeof err);
	ok(!(fcntl(3, F_GETFD) & FD_CLOEXEC), "refusal leaves fds untouched");

	/* Bound but not listening. */
	ok(sock_at(5, AF_INET, SOCK_STREAM, 0, v6), "bound socket at fd 5");
	env("3", 0, mypid);
	is_int(kk_listenfds_get(l, 4, err, sizeof err), -1, "not listening refused");
	ok(strstr(err, "not listening") != 0, "message: %s", err);
	close(5);
	/* UDP. */
	ok(sock_at(5, AF_INET, SOCK_DGRAM, 0, v6), "udp socket at fd 5");
	env("3", 0, mypid);
	is_int(kk_listenfds_get(l, 4, err, sizeof err), -1, "udp refused");
	close(5);
	/* A pipe. */
	{
		int p[2];

		if (pipe(p) == 0) {
			if (p[0] != 5) {
				dup2(p[0], 5);
				close(p[0]);
			}
			close(p[1]);
		}
	}
	env("3", 0, mypid);
	is_int(kk_listenfds_get(l, 4, err, sizeof err), -1, "pipe refused");
	ok(strstr(err, "not a socket") != 0, "message: %s", err);
	close(5);

	/* IPv6: the colons inside brackets do not split names. */
	have_v6 = sock_at(4, AF_INET6, SOCK_STREAM, 1, v6);
	if (have_v6) {
		snprintf(names, sizeof names, "%s:%s", a3, v6);
		env("2", names, mypid);
		is_int(kk_listenfds_get(l, 4, err, sizeof err), 2, "v4 and v6 adopted: %s", names);
		is_str(l[1].name, v6, "v6 name");
		snprintf(names, sizeof names, "%s:%s", v6, a3);
		env("2", names, mypid);
		is_int(kk_listenfds_get(l, 4, err, sizeof err), -1, "v6 name on the v4 fd refused");
	} else {
		ok(1, "# SKIP no IPv6 loopback");
		ok(1, "# SKIP no IPv6 loopback");
		ok(1, "# SKIP no IPv6 loopback");
	}
	place_test();
	return done();
}
