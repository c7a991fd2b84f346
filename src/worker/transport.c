/* ISC license. */
/* The plain transport: the socket's own system calls. */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>
#include "sock.h"
#include "transport.h"

static ssize_t
plain_read(kk_sock *s, char *p, size_t n)
{
	return read(s->io.fd, p, n);
}

static ssize_t
plain_writev(kk_sock *s, const struct iovec *v, int n, int more)
{
	struct msghdr m;
	if (!more)
		return writev(s->io.fd, v, n);
	memset(&m, 0, sizeof m);
	m.msg_iov = (struct iovec *)v;
	m.msg_iovlen = (size_t)n;
	return sendmsg(s->io.fd, &m, MSG_MORE | MSG_NOSIGNAL);
}

static void
plain_push(kk_sock *s)
{
	int one = 1;
	/* Setting TCP_NODELAY again sends the held partial packet. */
	setsockopt(s->io.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void
plain_shutdown(kk_sock *s)
{
	shutdown(s->io.fd, SHUT_WR);
}

static void
plain_close(kk_sock *s)
{
	close(s->io.fd);
	s->io.fd = -1;
}

const kk_transport kk_transport_plain = {
	"plain", plain_read, plain_writev, plain_push, plain_shutdown, plain_close,
};
