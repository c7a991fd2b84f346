/* ISC license. */
/* Connection I/O for front and back alike: readiness remembered from
 * edge-triggered events, a short read or write meaning "drained for now"
 * unless the transport says it holds more (pending), buffers taken and
 * given back around each operation, and the one dispatch from events,
 * wakes and timers into the protocol plugged in. */
#include <errno.h>
#include "conn.h"
#include "status.h"

static void
conn_io(kk_io *io, uint32_t ev)
{
	kk_conn *c = KK_CONTAINER(io, kk_conn, io);
	if (c->flags & KK_CONN_F_DEAD)
		return;
	kk_conn_event(c, ev);
	c->proto->run(c);
}

static void
conn_run(kk_task *t)
{
	kk_conn *c = KK_CONTAINER(t, kk_conn, task);
	if (!(c->flags & KK_CONN_F_DEAD))
		c->proto->run(c);
}

static void
conn_bufwait(kk_task *t)
{
	kk_conn *c = KK_CONTAINER(t, kk_conn, bufwait);
	if (!(c->flags & KK_CONN_F_DEAD))
		c->proto->run(c);
}

static void
conn_timeout(kk_timer *t)
{
	kk_conn *c = KK_CONTAINER(t, kk_conn, timer);
	if (!(c->flags & KK_CONN_F_DEAD))
		c->proto->timeout(c);
}

void
kk_conn_init(kk_conn *c, int fd, unsigned char prio, const kk_transport *tp,
    const kk_protocol *proto, void *pc)
{
	c->io.fd = fd;
	c->io.prio = prio;
	c->io.on_event = conn_io;
	c->tp = tp;
	c->proto = proto;
	c->pc = pc;
	c->task.run = conn_run;
	c->bufwait.run = conn_bufwait;
	c->timer.cb = conn_timeout;
}

/* After a failed read or write in direction dir (KK_CONN_F_READABLE or
 * _WRITABLE): 0 when it may simply be retried later (on EAGAIN the
 * readiness the transport waits on is cleared, and its next edge runs the
 * connection again: for TLS a read may wait on writability), -1 on a real
 * error, recorded on the connection. */
static int
io_failed(kk_conn *c, unsigned dir)
{
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		c->flags &= ~c->tp->want(c, dir);
		return 0;
	}
	if (errno == EINTR)
		return 0;
	c->err = errno;
	c->flags |= KK_CONN_F_ERROR;
	return -1;
}

int
kk_conn_start(kk_conn *c)
{
	int r;
	if (c->flags & KK_CONN_F_STARTED)
		return 1;
	r = c->tp->start(c);
	if (r > 0) {
		c->flags |= KK_CONN_F_STARTED;
		return 1;
	}
	if (!r)
		return 0;
	if (!c->err)
		c->err = errno;
	c->flags |= KK_CONN_F_ERROR;
	return -1;
}

int
kk_conn_fill(kk_conn *c)
{
	size_t room;
	ssize_t r;
	if (c->flags & (KK_CONN_F_EOF | KK_CONN_F_ERROR))
		return -1;
	if (!(c->flags & KK_CONN_F_READABLE))
		return 0;
	if (!kk_buf_take(&c->in, &c->bufwait))
		return 0;
	room = kk_buf_room(&c->in);
	if (!room)
		return 0;
	r = c->tp->read(c, kk_buf_tail(&c->in), room);
	if (r > 0) {
		c->in.len += (uint32_t)r;
		c->bytes_in += (uint64_t)r;
		kk_stats.bytes_in += (uint64_t)r;
		/* A short read drained the socket: the next bytes come with
		 * a new edge, unless the transport holds decoded bytes that
		 * no edge will announce. If the peer's end of file came with
		 * this edge, there will be none: record it now. A reset comes
		 * with the same hang-up; it stays readable, so that the next
		 * read returns the error instead of an end of file. */
		if ((size_t)r < room && !c->tp->pending(c) && !(c->flags & KK_CONN_F_PEERERR)) {
			c->flags &= ~KK_CONN_F_READABLE;
			if (c->flags & KK_CONN_F_HUP)
				c->flags |= KK_CONN_F_EOF;
		}
		return (int)r;
	}
	kk_buf_trim(&c->in);
	if (r == 0) {
		c->flags |= KK_CONN_F_EOF;
		return -1;
	}
	return io_failed(c, KK_CONN_F_READABLE);
}

int
kk_conn_flush(kk_conn *c, int keep, int more)
{
	struct iovec v;
	ssize_t r;
	if (!c->out.len) {
		if (!keep)
			kk_buf_trim(&c->out);
		return 1;
	}
	if (c->flags & KK_CONN_F_ERROR)
		return -1;
	if (!(c->flags & KK_CONN_F_WRITABLE))
		return 0;
	v.iov_base = c->out.data + c->out.off;
	v.iov_len = c->out.len;
	r = c->tp->writev(c, &v, 1, more);
	if (more)
		c->flags |= KK_CONN_F_HELD;
	else
		c->flags &= ~KK_CONN_F_HELD;
	if (r < 0)
		return io_failed(c, KK_CONN_F_WRITABLE);
	c->bytes_out += (uint64_t)r;
	kk_stats.bytes_out += (uint64_t)r;
	if ((size_t)r < c->out.len) {
		c->out.off += (uint32_t)r;
		c->out.len -= (uint32_t)r;
		c->flags &= ~KK_CONN_F_WRITABLE;
		return 0;
	}
	if (keep) {
		c->out.off += (uint32_t)r;
		c->out.len = 0;
	} else
		kk_buf_give(&c->out);
	return 1;
}

void
kk_conn_close(kk_conn *c)
{
	c->flags |= KK_CONN_F_DEAD;
	kk_timer_disarm(&c->timer);
	kk_loop_cancel(&c->task);
	kk_buf_give(&c->in);
	kk_buf_give(&c->out);
	kk_buf_unwait(&c->bufwait);
	if (c->io.fd >= 0)
		c->tp->close(c);
}
