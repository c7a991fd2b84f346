/* ISC license. */
/* The plain transport: the socket's own system calls. */
#include <sys/socket.h>
#include <unistd.h>
#include "conn.h"
#include "transport.h"

static ssize_t
plain_read(kk_sock *s, char *p, size_t n)
{
	return read(s->io.fd, p, n);
}

static ssize_t
plain_writev(kk_sock *s, const struct iovec *v, int n)
{
	return writev(s->io.fd, v, n);
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
	"plain", plain_read, plain_writev, plain_shutdown, plain_close,
};
