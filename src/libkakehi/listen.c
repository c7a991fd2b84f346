/* ISC license. */
/* kk_listen_bind: one listening TCP socket, configured the same way for
 * kakehi-listen and the supervisor. Name lookups are never done here:
 * the address is already numeric (addr.h). */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <kakehi/listen.h>

/* The next step for the operator, for the errors they can act on. */
static const char *
hint(int e)
{
	switch (e) {
	case EADDRINUSE:
		return "; another process holds the port (check: ss -ltnp)";
	case EACCES:
		return "; ports below 1024 need root or CAP_NET_BIND_SERVICE"
		    " (bind with kakehi-listen before dropping privileges)";
	case EADDRNOTAVAIL:
		return "; the address is not configured on this host (check: ip addr)";
	case EAFNOSUPPORT:
		return "; this host has no support for the address family";
	case EMFILE:
	case ENFILE:
		return "; raise the open file limit (ulimit -n)";
	default:
		return "";
	}
}

int
kk_listen_bind(const kk_addr *a, unsigned backlog, char *err, size_t errlen)
{
	char name[KK_ADDR_FMTLEN];
	const char *step = "bind";
	int one = 1;
	int fd, e;

	kk_addr_fmt(name, a);
	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		step = "create a socket for";
		goto fail;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
		step = "set SO_REUSEADDR on";
		goto fail;
	}
	if (a->ss.ss_family == AF_INET6
	    && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) {
		step = "set IPV6_V6ONLY on";
		goto fail;
	}
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0)
		goto fail;
	if (listen(fd, backlog ? (int)backlog : KK_LISTEN_BACKLOG) < 0) {
		step = "listen on";
		goto fail;
	}
	return fd;

fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	snprintf(err, errlen, "unable to %s %s: %s%s", step, name, strerror(e), hint(e));
	errno = e;
	return -1;
}
