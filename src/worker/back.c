/* ISC license. */
/* Back connections and their pool. A connection is CONNECTING until the
 * socket reports writable, ACTIVE while a stream uses it, IDLE in its
 * backend's pool between requests. Pooled connections stay registered
 * with epoll (edge-triggered): the backend closing one shows up as an
 * event and the connection is dropped. Reuse takes the most recently used
 * connection, the one least likely to have been closed by the backend. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>
#include "back.h"
#include "stream.h"

static kk_link freelist = { &freelist, &freelist };

static void back_run(kk_task *);
static void back_bufwait(kk_task *);
static void back_free(kk_task *);
static void back_timeout(kk_timer *);
static void back_event(kk_io *, uint32_t);
static void back_process(kk_back *);

static kk_back *
back_new(kk_bend *bend)
{
	kk_link *l = kk_list_first(&freelist);
	kk_back *b;
	int fd, one = 1;
	fd = socket(bend->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (const struct sockaddr *)&bend->addr.ss, bend->addr.len) < 0 &&
	    errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	if (l) {
		kk_list_unlink(l);
		b = KK_CONTAINER(l, kk_back, link);
	} else if (!(b = malloc(sizeof *b))) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	memset(b, 0, sizeof *b);
	b->sock.io.fd = fd;
	b->sock.io.prio = KK_IO_BACK;
	b->sock.io.on_event = back_event;
	b->sock.tp = &kk_transport_plain;
	b->sock.bufwait.run = back_bufwait;
	b->task.run = back_run;
	b->grave.run = back_free;
	b->timer.cb = back_timeout;
	b->bend = bend;
	b->state = KK_BACK_CONNECTING;
	if (!kk_loop_add(&b->sock.io, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)) {
		int e = errno;
		close(fd);
		kk_list_push(&freelist, &b->link);
		errno = e;
		return NULL;
	}
	bend->nconns++;
	kk_stats.back_connects++;
	return b;
}

kk_back *
kk_back_get(kk_bend *bend, kk_stream *s, int fresh)
{
	kk_back *b = NULL;
	kk_link *l;
	if (!fresh && (l = kk_list_last(&bend->idle))) {
		b = KK_CONTAINER(l, kk_back, link);
		kk_list_unlink(l);
		bend->nidle--;
		kk_stats.back_idle--;
		b->state = KK_BACK_ACTIVE;
		b->flags |= KK_BACK_F_REUSED;
		kk_stats.back_reused++;
		kk_timer_disarm(&b->timer);
	} else {
		b = back_new(bend);
		if (!b)
			return NULL;
		b->flags &= ~KK_BACK_F_REUSED;
		kk_timer_arm(&b->timer, kk_now_ms + s->rl->connect_ms);
	}
	b->stream = s;
	b->uses++;
	bend->nactive++;
	kk_stats.back_active++;
	kk_back_wake(b);
	return b;
}

void
kk_back_close(kk_back *b, enum kk_close reason)
{
	if (b->flags & KK_BACK_F_DEAD)
		return;
	b->flags |= KK_BACK_F_DEAD;
	kk_stats.closes[reason]++;
	if (b->state == KK_BACK_IDLE) {
		kk_list_unlink(&b->link);
		b->bend->nidle--;
		kk_stats.back_idle--;
	} else {
		b->bend->nactive--;
		kk_stats.back_active--;
	}
	kk_timer_disarm(&b->timer);
	kk_loop_cancel(&b->task);
	kk_sock_close(&b->sock);
	kk_bend_conn_gone(b->bend);
	b->bend = NULL;
	kk_loop_bury(&b->grave);
}

static void
back_free(kk_task *t)
{
	kk_back *b = KK_CONTAINER(t, kk_back, grave);
	kk_list_push(&freelist, &b->link);
}

void
kk_back_release(kk_back *b, int reusable)
{
	if (!reusable || kk_front_draining || b->bend->refs == 0) {
		kk_back_close(b, KK_CLOSE_BACK_DONE);
		return;
	}
	kk_buf_give(&b->sock.in);
	kk_buf_give(&b->sock.out);
	kk_buf_unwait(&b->sock.bufwait);
	kk_loop_cancel(&b->task);
	b->bend->nactive--;
	kk_stats.back_active--;
	b->state = KK_BACK_IDLE;
	b->scan = 0;
	kk_list_push(&b->bend->idle, &b->link);
	b->bend->nidle++;
	kk_stats.back_idle++;
	kk_timer_arm(&b->timer, kk_now_ms + KK_BACK_IDLE_MS);
}

void
kk_back_stream_timer(kk_back *b, int owed, int progress)
{
	if (b->state != KK_BACK_ACTIVE)
		return;
	if (!owed)
		kk_timer_disarm(&b->timer);
	else if (progress || !kk_timer_armed(&b->timer))
		kk_timer_arm(&b->timer, kk_now_ms + b->stream->rl->back_ms);
}

static void
back_event(kk_io *io, uint32_t ev)
{
	kk_back *b = KK_CONTAINER(io, kk_back, sock.io);
	if (b->flags & KK_BACK_F_DEAD)
		return;
	kk_sock_event(&b->sock, ev);
	back_process(b);
}

static void
back_timeout(kk_timer *t)
{
	kk_back *b = KK_CONTAINER(t, kk_back, timer);
	if (b->state == KK_BACK_IDLE || !b->stream) {
		kk_back_close(b, KK_CLOSE_BACK_IDLE_TIMEOUT);
		return;
	}
	kk_stream_back_error(b->stream, b->state == KK_BACK_CONNECTING ?
	    KK_CLOSE_BACK_CONNECT_TIMEOUT : KK_CLOSE_BACK_TIMEOUT);
}

static void
back_process(kk_back *b)
{
	kk_stream *s = b->stream;
	int r;
	if (b->flags & KK_BACK_F_DEAD)
		return;
	if (b->state == KK_BACK_IDLE) {
		/* A pooled connection has nothing to say: any byte, end of file
		 * or error means it cannot be reused. */
		if (b->sock.flags & KK_SOCK_F_READABLE) {
			r = kk_sock_fill(&b->sock);
			if (r != 0 || b->sock.in.len)
				kk_back_close(b, KK_CLOSE_BACK_IDLE);
		}
		return;
	}
	if (!s)
		return;
	if (b->state == KK_BACK_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof err;
		if (!(b->sock.flags & KK_SOCK_F_WRITABLE))
			return;
		if (getsockopt(b->sock.io.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			b->sock.err = err;
			kk_stream_back_error(s, KK_CLOSE_BACK_CONNECT);
			return;
		}
		b->state = KK_BACK_ACTIVE;
		/* From here the stream times the backend, by what it owes
		 * (kk_back_stream_timer). */
		kk_timer_disarm(&b->timer);
	}
	kk_sock_fill(&b->sock);
	kk_stream_pump(s);
}

static void
back_run(kk_task *t)
{
	back_process(KK_CONTAINER(t, kk_back, task));
}

static void
back_bufwait(kk_task *t)
{
	back_process(KK_CONTAINER(t, kk_back, sock.bufwait));
}

void
kk_back_close_idle(void)
{
	kk_link *l, *bl, *all = kk_bend_all();
	for (bl = all->next; bl != all; ) {
		kk_bend *bend = KK_CONTAINER(bl, kk_bend, link);
		/* Closing the last connection may free the bend. */
		kk_link *next = bl->next;
		unsigned n = bend->nidle;
		while (n-- && (l = kk_list_first(&bend->idle)))
			kk_back_close(KK_CONTAINER(l, kk_back, link), KK_CLOSE_BACK_DONE);
		bl = next;
	}
}
