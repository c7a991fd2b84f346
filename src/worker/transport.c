/* ISC license. */
/* The plain transport: the socket's own system calls. recv and send rather
 * than read and writev: the socket calls skip the file layer (and, for one
 * buffer, the copy of an iovec array), a measurable share of the kernel
 * time of a small request. */
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
	return recv(s->io.fd, p, n, 0);
}

static ssize_t
plain_writev(kk_sock *s, const struct iovec *v, int n, int more)
{
	struct msghdr m;
	int flags = MSG_NOSIGNAL | (more ? MSG_MORE : 0);
	if (n == 1)
		return send(s->io.fd, v[0].iov_base, v[0].iov_len, flags);
	memset(&m, 0, sizeof m);
	m.msg_iov = (struct iovec *)v;
	m.msg_iovlen = (size_t)n;
	return sendmsg(s->io.fd, &m, flags);
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
