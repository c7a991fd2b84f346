/* ISC license. */
/* Socket I/O for front and back connections: readiness remembered from
 * edge-triggered events, a short read or write meaning "drained for now"
 * (the kernel signals the next edge), buffers taken and given back around
 * each operation. */
#include <errno.h>
#include "sock.h"
#include "status.h"

/* After a failed read or write: 0 when it may simply be retried later
 * (on EAGAIN the direction waits for its next edge), -1 on a real
 * error, recorded on the socket. */
static int
io_failed(kk_sock *s, unsigned ready_flag)
{
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		s->flags &= ~ready_flag;
		return 0;
	}
	if (errno == EINTR)
		return 0;
	s->err = errno;
	s->flags |= KK_SOCK_F_ERROR;
	return -1;
}

int
kk_sock_fill(kk_sock *s)
{
	size_t room;
	ssize_t r;
	if (s->flags & (KK_SOCK_F_EOF | KK_SOCK_F_ERROR))
		return -1;
	if (!(s->flags & KK_SOCK_F_READABLE))
		return 0;
	if (!kk_buf_take(&s->in, &s->bufwait))
		return 0;
	room = kk_buf_room(&s->in);
	if (!room)
		return 0;
	r = s->tp->read(s, kk_buf_tail(&s->in), room);
	if (r > 0) {
		s->in.len += (uint32_t)r;
		s->bytes_in += (uint64_t)r;
		kk_stats.bytes_in += (uint64_t)r;
		/* A short read drained the socket: the next bytes come with
		 * a new edge. If the peer's end of file came with this edge,
		 * there will be none: record it now. */
		if ((size_t)r < room) {
			s->flags &= ~KK_SOCK_F_READABLE;
			if (s->flags & KK_SOCK_F_HUP)
				s->flags |= KK_SOCK_F_EOF;
		}
		return (int)r;
	}
	kk_buf_trim(&s->in);
	if (r == 0) {
		s->flags |= KK_SOCK_F_EOF;
		return -1;
	}
	return io_failed(s, KK_SOCK_F_READABLE);
}

int
kk_sock_flush(kk_sock *s, int keep, int more)
{
	struct iovec v;
	ssize_t r;
	if (!s->out.len) {
		if (!keep)
			kk_buf_trim(&s->out);
		return 1;
	}
	if (s->flags & KK_SOCK_F_ERROR)
		return -1;
	if (!(s->flags & KK_SOCK_F_WRITABLE))
		return 0;
	v.iov_base = s->out.data + s->out.off;
	v.iov_len = s->out.len;
	r = s->tp->writev(s, &v, 1, more);
	if (more)
		s->flags |= KK_SOCK_F_HELD;
	else
		s->flags &= ~KK_SOCK_F_HELD;
	if (r < 0)
		return io_failed(s, KK_SOCK_F_WRITABLE);
	s->bytes_out += (uint64_t)r;
	kk_stats.bytes_out += (uint64_t)r;
	if ((size_t)r < s->out.len) {
		s->out.off += (uint32_t)r;
		s->out.len -= (uint32_t)r;
		s->flags &= ~KK_SOCK_F_WRITABLE;
		return 0;
	}
	if (keep) {
		s->out.off += (uint32_t)r;
		s->out.len = 0;
	} else
		kk_buf_give(&s->out);
	return 1;
}

void
kk_sock_close(kk_sock *s)
{
	kk_buf_give(&s->in);
	kk_buf_give(&s->out);
	kk_buf_unwait(&s->bufwait);
	if (s->io.fd >= 0)
		s->tp->close(s);
}
