/* ISC license. */
/* kk_listen_bind: the socket options every listener gets, and an error
 * text that says what to do. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <kakehi/addr.h>
#include <kakehi/listen.h>

#include "tap.h"

static int
opt(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof v;

	if (getsockopt(fd, level, name, &v, &len) < 0)
		return -1;
	return v;
}

int
main(void)
{
	char err[512], name[KK_ADDR_FMTLEN], text[KK_ADDR_FMTLEN + 16], want[600];
	kk_addr a;
	int fd, fd2, fd6;

	/* Port 0 is not an operator's address; reach it through the sockaddr. */
	ok(kk_addr_parse(&a, "127.0.0.1:1"), "parse 127.0.0.1:1");
	((struct sockaddr_in *)&a.ss)->sin_port = 0;
	fd = kk_listen_bind(&a, 16, err, sizeof err);
	ok(fd >= 0, "bind 127.0.0.1, any port");
	is_int(opt(fd, SOL_SOCKET, SO_ACCEPTCONN), 1, "listening");
	ok(opt(fd, SOL_SOCKET, SO_REUSEADDR) > 0, "SO_REUSEADDR");
	ok(fcntl(fd, F_GETFL) & O_NONBLOCK, "non-blocking");
	ok(fcntl(fd, F_GETFD) & FD_CLOEXEC, "close-on-exec");

	/* The same address again: in use, and the message says what to do. */
	ok(kk_addr_of_socket(fd, name), "address of the socket");
	ok(kk_addr_parse(&a, name), "parse %s", name);
	fd2 = kk_listen_bind(&a, 16, err, sizeof err);
	is_int(fd2, -1, "second bind of %s fails", name);
	is_int(errno, EADDRINUSE, "errno EADDRINUSE");
	snprintf(want, sizeof want, "unable to bind %s: %s; another process holds the port"
	    " (check: ss -ltnp)", name, strerror(EADDRINUSE));
	is_str(err, want, "message names the address and the next step");
	close(fd);

	/* IPv6: V6ONLY, so [::]:P never takes the IPv4 port too. */
	ok(kk_addr_parse(&a, "[::1]:1"), "parse [::1]:1");
	((struct sockaddr_in6 *)&a.ss)->sin6_port = 0;
	fd6 = kk_listen_bind(&a, 0, err, sizeof err);
	if (fd6 < 0 && (errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT)) {
		printf("# no IPv6 loopback here: %s\n", err);
	} else {
		ok(fd6 >= 0, "bind [::1], any port");
		is_int(opt(fd6, IPPROTO_IPV6, IPV6_V6ONLY), 1, "IPV6_V6ONLY");
		ok(kk_addr_of_socket(fd6, text), "address of the IPv6 socket");
		ok(text[0] == '[', "canonical IPv6 form is bracketed: %s", text);
		close(fd6);
	}
	return done();
}
