/* ISC license. */
/* Back connections and their pool. A connection is CONNECTING until the
 * socket reports writable, ACTIVE while a stream uses it, IDLE in its
 * backend's pool between requests. The pool holds connections with a free
 * stream slot (kk_bend.avail); an h1 connection has one, so it is pooled
 * exactly while IDLE. Pooled connections stay registered
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

static void back_free(kk_task *);
static void back_run(kk_conn *);
static void back_timeout(kk_conn *);
static void back_process(kk_back *);

/* The h1 client protocol. */
static const kk_protocol h1_client = { "h1-client", back_run, back_timeout };

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
	kk_conn_init(&b->conn, fd, KK_IO_BACK, bend->tp, &h1_client, b);
	b->grave.run = back_free;
	b->bend = bend;
	b->state = KK_BACK_CONNECTING;
	if (!kk_loop_add(&b->conn.io, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)) {
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
	if (!fresh && (l = kk_list_last(&bend->avail))) {
		b = KK_CONTAINER(l, kk_back, link);
		if (!b->streams) {	/* unused until now */
			bend->nidle--;
			kk_stats.back_idle--;
			bend->nactive++;
			kk_stats.back_active++;
			b->state = KK_BACK_ACTIVE;
			kk_timer_disarm(&b->conn.timer);
		}
		b->flags |= KK_BACK_F_REUSED;
		kk_stats.back_reused++;
	} else {
		b = back_new(bend);
		if (!b)
			return NULL;
		b->flags &= ~KK_BACK_F_REUSED;
		b->slots = 1;	/* the h1 client: one request at a time */
		bend->nactive++;
		kk_stats.back_active++;
		kk_timer_arm(&b->conn.timer, kk_now_ms + s->rl->connect_ms);
	}
	if (++b->streams == b->slots)
		kk_list_unlink(&b->link);	/* no free slot left */
	else if (!kk_link_linked(&b->link))
		kk_list_push(&bend->avail, &b->link);
	b->stream = s;
	b->uses++;
	kk_back_wake(b);
	return b;
}

void
kk_back_close(kk_back *b, enum kk_close reason)
{
	if (b->conn.flags & KK_CONN_F_DEAD)
		return;
	b->conn.flags |= KK_CONN_F_DEAD;
	kk_stats.closes[reason]++;
	kk_list_unlink(&b->link);	/* from bend->avail, if there */
	if (b->state == KK_BACK_IDLE) {
		b->bend->nidle--;
		kk_stats.back_idle--;
	} else {
		b->bend->nactive--;
		kk_stats.back_active--;
	}
	kk_conn_close(&b->conn);
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
	if (!kk_link_linked(&b->link))	/* it had no free slot */
		kk_list_push(&b->bend->avail, &b->link);
	if (--b->streams)
		return;
	kk_buf_give(&b->conn.in);
	kk_buf_give(&b->conn.out);
	kk_buf_unwait(&b->conn.bufwait);
	kk_loop_cancel(&b->conn.task);
	b->bend->nactive--;
	kk_stats.back_active--;
	b->state = KK_BACK_IDLE;
	b->scan = 0;
	b->bend->nidle++;
	kk_stats.back_idle++;
	kk_timer_arm(&b->conn.timer, kk_now_ms + KK_BACK_IDLE_MS);
}

void
kk_back_stream_timer(kk_back *b, int owed, int progress)
{
	if (b->state != KK_BACK_ACTIVE)
		return;
	if (!owed)
		kk_timer_disarm(&b->conn.timer);
	else if (progress || !kk_timer_armed(&b->conn.timer))
		kk_timer_arm(&b->conn.timer, kk_now_ms + b->stream->rl->back_ms);
}

static void
back_timeout(kk_conn *c)
{
	kk_back *b = c->pc;
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
	if (b->conn.flags & KK_CONN_F_DEAD)
		return;
	if (b->state == KK_BACK_IDLE) {
		/* A pooled connection has nothing to say: any byte, end of file
		 * or error means it cannot be reused. */
		if (b->conn.flags & KK_CONN_F_READABLE) {
			r = kk_conn_fill(&b->conn);
			if (r != 0 || b->conn.in.len)
				kk_back_close(b, KK_CLOSE_BACK_IDLE);
		}
		return;
	}
	if (!s)
		return;
	if (b->state == KK_BACK_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof err;
		if (!(b->conn.flags & KK_CONN_F_WRITABLE))
			return;
		if (getsockopt(b->conn.io.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			b->conn.err = err;
			kk_stream_back_error(s, KK_CLOSE_BACK_CONNECT);
			return;
		}
		/* The transport's start (a handshake) is part of connecting,
		 * under the connect timer. */
		r = kk_conn_start(&b->conn);
		if (r < 0) {
			kk_stream_back_error(s, KK_CLOSE_BACK_CONNECT);
			return;
		}
		if (!r)
			return;
		b->state = KK_BACK_ACTIVE;
		/* From here the stream times the backend, by what it owes
		 * (kk_back_stream_timer). */
		kk_timer_disarm(&b->conn.timer);
	}
	kk_conn_fill(&b->conn);
	kk_stream_pump(s);
}

static void
back_run(kk_conn *c)
{
	back_process(c->pc);
}

void
kk_back_close_idle(void)
{
	kk_link *l, *bl, *all = kk_bend_all();
	for (bl = all->next; bl != all; ) {
		kk_bend *bend = KK_CONTAINER(bl, kk_bend, link);
		/* Closing the last connection may free the bend. */
		kk_link *next = bl->next;
		kk_link *nl;
		unsigned n = bend->nidle;
		/* Counted first: after the last close the bend is not touched. */
		for (l = bend->avail.next; n; l = nl) {
			kk_back *b = KK_CONTAINER(l, kk_back, link);
			nl = l->next;
			if (!b->streams) {
				n--;
				kk_back_close(b, KK_CLOSE_BACK_DONE);
			}
		}
		bl = next;
	}
}
