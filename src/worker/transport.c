/* ISC license. */
/* The plain transport: the socket's own system calls, no state of its
 * own. recv and send rather than read and writev: the socket calls skip
 * the file layer (and, for one buffer, the copy of an iovec array), a
 * measurable share of the kernel time of a small request. */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>
#include "conn.h"
#include "transport.h"

static int
plain_start(kk_conn *c)
{
	(void)c;
	return 1;
}

static ssize_t
plain_read(kk_conn *c, char *p, size_t n)
{
	return recv(c->io.fd, p, n, 0);
}

static ssize_t
plain_writev(kk_conn *c, const struct iovec *v, int n, int more)
{
	struct msghdr m;
	int flags = MSG_NOSIGNAL | (more ? MSG_MORE : 0);
	if (n == 1)
		return send(c->io.fd, v[0].iov_base, v[0].iov_len, flags);
	memset(&m, 0, sizeof m);
	m.msg_iov = (struct iovec *)v;
	m.msg_iovlen = (size_t)n;
	return sendmsg(c->io.fd, &m, flags);
}

void
kk_transport_push_fd(int fd)
{
	int one = 1;
	/* Setting TCP_NODELAY again sends the held partial packet. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void
kk_transport_close_fd(int fd, int held)
{
	if (held)
		shutdown(fd, SHUT_WR);
	close(fd);
}

static void
plain_push(kk_conn *c)
{
	kk_transport_push_fd(c->io.fd);
}

static void
plain_shutdown(kk_conn *c)
{
	shutdown(c->io.fd, SHUT_WR);
	c->flags &= ~KK_CONN_F_HELD;	/* sent, with the FIN */
}

/* A last response written with more (the stream's, when the close
 * follows at once) leaves in one segment with the FIN. */
static void
plain_close(kk_conn *c)
{
	kk_transport_close_fd(c->io.fd, (c->flags & KK_CONN_F_HELD) != 0);
	c->io.fd = -1;
}

/* A socket waits on the direction that failed, nothing else. */
static unsigned
plain_want(const kk_conn *c, unsigned dir)
{
	(void)c;
	return dir;
}

/* The kernel holds the bytes: every one of them comes with an edge. */
static size_t
plain_pending(const kk_conn *c)
{
	(void)c;
	return 0;
}

static const char *
plain_alpn(const kk_conn *c, size_t *len)
{
	(void)c;
	*len = 0;
	return NULL;
}

const kk_transport kk_transport_plain = {
	"plain", plain_start, plain_read, plain_writev, plain_push, plain_shutdown,
	plain_close, plain_want, plain_pending, plain_alpn,
};
