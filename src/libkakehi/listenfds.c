/* ISC license. */
/* Adopting inherited listening sockets (LISTEN_FDS / LISTEN_FDNAMES /
 * LISTEN_PID, the systemd convention kakehi-listen also follows). It
 * checks what it adopts; it never binds anything itself. */

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <kakehi/addr.h>
#include <kakehi/listenfds.h>
#include <kakehi/verb.h>
#include <kakehi/proto.h>

static void
unset_all(void)
{
	unsetenv(KK_ENV_LISTEN_FDS);
	unsetenv(KK_ENV_LISTEN_FDNAMES);
	unsetenv(KK_ENV_LISTEN_PID);
}

/* Checks that fd is a listening TCP socket and writes its canonical
 * address into name. 1 ok, 0 with err filled. */
static int
check_fd(int fd, char *name, char *err, size_t errlen)
{
	int v;
	socklen_t len = sizeof v;

	if (fcntl(fd, F_GETFD) < 0) {
		snprintf(err, errlen, "inherited fd %d is not open (%s); check LISTEN_FDS "
		    "against the fds the parent passed", fd, strerror(errno));
		return 0;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) < 0) {
		snprintf(err, errlen, "inherited fd %d is not a socket (%s); check what "
		    "the parent put at fds %d and up", fd, strerror(errno), KK_LISTEN_FDS_START);
		return 0;
	}
	if (v != SOCK_STREAM || !kk_addr_of_socket(fd, name)) {
		snprintf(err, errlen, "inherited fd %d is not a TCP socket; kakehi adopts "
		    "only TCP listeners on IPv4 or IPv6", fd);
		return 0;
	}
	len = sizeof v;
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) < 0 || v != IPPROTO_TCP) {
		snprintf(err, errlen, "inherited fd %d (%s) is not a TCP socket", fd, name);
		return 0;
	}
	len = sizeof v;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) < 0 || !v) {
		snprintf(err, errlen, "inherited fd %d (%s) is not listening; the parent must "
		    "call listen() before passing it", fd, name);
		return 0;
	}
	return 1;
}

/* Length of the LISTEN_FDNAMES segment at s: up to the next ':' outside
 * brackets. */
static size_t
segment(const char *s)
{
	size_t n = 0;
	int depth = 0;

	for (; s[n] && (depth || s[n] != ':'); n++) {
		if (s[n] == '[')
			depth++;
		else if (s[n] == ']' && depth)
			depth--;
	}
	return n;
}

/* An address without its port: "[...]" or dotted digits. */
static int
is_host(const char *s, size_t n)
{
	size_t i;

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']')
		return 1;
	if (!n || !memchr(s, '.', n))
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] != '.' && (s[i] < '0' || s[i] > '9'))
			return 0;
	return 1;
}

/* Takes the next name from a LISTEN_FDNAMES cursor into buf. Names are
 * separated by ':', but an address name has a ':' of its own before the
 * port ("127.0.0.1:80:[::1]:80" is two names): a host followed by a
 * numeric segment is one name. 1 when a name was taken, 0 at the end of
 * the list or when the name is too long (*toolong set). */
static int
next_name(const char **cursor, char *buf, size_t buflen, int *toolong)
{
	const char *s = *cursor;
	size_t n, p;

	*toolong = 0;
	if (!s)
		return 0;
	n = segment(s);
	if (s[n] == ':' && is_host(s, n)) {
		p = segment(s + n + 1);
		if (p && strspn(s + n + 1, "0123456789") == p)
			n += 1 + p;
	}
	if (n >= buflen) {
		*toolong = 1;
		return 0;
	}
	memcpy(buf, s, n);
	buf[n] = 0;
	*cursor = s[n] ? s + n + 1 : 0;
	return 1;
}

int
kk_listenfds_get(kk_listenfd *out, unsigned max, char *err, size_t errlen)
{
	const char *fds_s = getenv(KK_ENV_LISTEN_FDS);
	const char *names = getenv(KK_ENV_LISTEN_FDNAMES);
	const char *pid_s = getenv(KK_ENV_LISTEN_PID);
	const char *cursor = names;
	unsigned long n, pid;
	unsigned i;

	if (!fds_s) {
		unset_all();
		return 0;
	}
	if (pid_s) {
		if (!kk_scan_uint(pid_s, 0, 0xffffffffUL, &pid)) {
			snprintf(err, errlen, "%s=%s is not a pid", KK_ENV_LISTEN_PID, pid_s);
			goto fail;
		}
		/* Same rule as systemd: fds announced for another process (we
		 * were forked after they were set up) are not ours to take. */
		if (pid != (unsigned long)getpid()) {
			unset_all();
			return 0;
		}
	}
	if (!kk_scan_uint(fds_s, 0, 0xffffffffUL, &n)) {
		snprintf(err, errlen, "%s=%s is not a number of fds", KK_ENV_LISTEN_FDS, fds_s);
		goto fail;
	}
	if (n > max || n > KK_LISTENFDS_MAX) {
		snprintf(err, errlen, "%s=%lu: too many inherited listeners (at most %u)",
		    KK_ENV_LISTEN_FDS, n, max < KK_LISTENFDS_MAX ? max : KK_LISTENFDS_MAX);
		goto fail;
	}
	for (i = 0; i < n; i++) {
		int fd = KK_LISTEN_FDS_START + (int)i;
		char name[KK_ADDR_FMTLEN + 64];
		int toolong;

		if (!check_fd(fd, out[i].name, err, errlen))
			goto fail;
		if (names) {
			kk_addr a;
			char canon[KK_ADDR_FMTLEN];

			if (!next_name(&cursor, name, sizeof name, &toolong)) {
				if (toolong)
					snprintf(err, errlen, "%s has a name too long for fd %d",
					    KK_ENV_LISTEN_FDNAMES, fd);
				else
					snprintf(err, errlen, "%s names fewer fds than %s=%lu "
					    "(fd %d has no name)", KK_ENV_LISTEN_FDNAMES,
					    KK_ENV_LISTEN_FDS, n, fd);
				goto fail;
			}
			/* A name that is an address must be the socket's real
			 * address; other names (systemd's FileDescriptorName=,
			 * "unknown") say nothing we can check. */
			if (kk_addr_parse(&a, name)) {
				kk_addr_fmt(canon, &a);
				if (strcmp(canon, out[i].name)) {
					snprintf(err, errlen, "inherited fd %d is named %s but is "
					    "bound to %s; fix %s in the parent", fd, name,
					    out[i].name, KK_ENV_LISTEN_FDNAMES);
					goto fail;
				}
			}
		}
		out[i].fd = fd;
	}
	if (names && cursor && (n || *names)) {
		snprintf(err, errlen, "%s names more fds than %s=%lu", KK_ENV_LISTEN_FDNAMES,
		    KK_ENV_LISTEN_FDS, n);
		goto fail;
	}
	/* Only now, when all are adopted: a failure above changes nothing. */
	for (i = 0; i < n; i++) {
		int fl = fcntl(out[i].fd, F_GETFD);

		if (fl < 0 || fcntl(out[i].fd, F_SETFD, fl | FD_CLOEXEC) < 0) {
			snprintf(err, errlen, "unable to set close-on-exec on inherited fd %d: %s",
			    out[i].fd, strerror(errno));
			goto fail;
		}
	}
	unset_all();
	return (int)n;
fail:
	unset_all();
	return -1;
}

int
kk_listenfds_place(int *fds, unsigned n, int base)
{
	int top = base + (int)n;
	unsigned i;

	/* Lift every source above the range first, so no dup2 below closes
	 * a source not moved yet. */
	for (i = 0; i < n; i++) {
		int high = fcntl(fds[i], F_DUPFD_CLOEXEC, top);

		if (high < 0)
			return 0;
		if (fds[i] >= top)
			close(fds[i]);
		fds[i] = high;
	}
	for (i = 0; i < n; i++) {
		/* dup2 clears close-on-exec on the target: an exec keeps it. */
		if (dup2(fds[i], base + (int)i) < 0)
			return 0;
		close(fds[i]);
		fds[i] = base + (int)i;
	}
	return 1;
}
