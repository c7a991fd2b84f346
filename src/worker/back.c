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
#include "proxyhdr.h"
#include "stream.h"

static kk_link freelist = { &freelist, &freelist };
static kk_h1head resp_head;	/* scratch: one response head is parsed at a time */

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

/* A --send-proxy stream's connection: the one its client holds when it
 * goes to bend and may be reused (not fresh), else NULL. One is held per
 * client at most, which bounds these connections at one per client: a
 * client whose next request goes to another backend gets a new one and
 * the one it held closes. */
static kk_back *
held_take(kk_front *f, kk_bend *bend, int fresh)
{
	kk_back *b = f->held;
	if (!b)
		return NULL;
	f->held = NULL;
	if (fresh || b->bend != bend) {
		kk_back_close(b, KK_CLOSE_BACK_DONE);
		return NULL;
	}
	return b;
}

kk_back *
kk_back_get(kk_bend *bend, kk_stream *s, int fresh)
{
	kk_back *b = NULL;
	kk_link *l;
	int priv = s->cluster->send_proxy != KK_SEND_PROXY_NONE;
	if (priv)
		b = held_take(s->front, bend, fresh);
	else if (!fresh && (l = kk_list_last(&bend->avail)))
		b = KK_CONTAINER(l, kk_back, link);
	if (b) {
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
		if (priv) {
			b->owner = s->front;
			b->proxy = (unsigned char)s->cluster->send_proxy;
		}
		bend->nactive++;
		kk_stats.back_active++;
		kk_timer_arm(&b->conn.timer, kk_now_ms + s->rl->connect_ms);
	}
	if (++b->streams == b->slots || b->owner)
		kk_list_unlink(&b->link);	/* no free slot left, or none for others */
	else if (!kk_link_linked(&b->link))
		kk_list_push(&bend->avail, &b->link);
	b->stream = s;
	b->uses++;
	b->flags &= ~(KK_BACK_F_REPLAY | KK_BACK_F_UPGRADE);
	b->resp_flags = 0;
	b->resp_body = KK_H1_BODY_NONE;
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
	if (b->owner && b->owner->held == b)
		b->owner->held = NULL;
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
kk_back_release(kk_back *b, int req_done)
{
	int reusable = req_done && (b->resp_flags & KK_BACK_R_KEEP) && !b->conn.out.len &&
	    !b->conn.in.len && !(b->conn.flags & (KK_CONN_F_EOF | KK_CONN_F_ERROR));
	if (!reusable || kk_front_draining || b->bend->refs == 0) {
		kk_back_close(b, KK_CLOSE_BACK_DONE);
		return;
	}
	if (!b->owner && !kk_link_linked(&b->link))	/* it had no free slot */
		kk_list_push(&b->bend->avail, &b->link);
	if (--b->streams)
		return;
	if (b->owner)	/* empty: it was taken from there (held_take) */
		b->owner->held = b;
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
kk_back_stream_timer(kk_back *b, int owed)
{
	uint64_t seen = b->conn.bytes_in + b->conn.bytes_out;
	int progress = seen != b->seen;
	b->seen = seen;
	if (b->state != KK_BACK_ACTIVE)
		return;
	/* Request bytes it leaves unread are owed too. */
	if (!owed && !b->conn.out.len)
		kk_timer_disarm(&b->conn.timer);
	else if (progress || !kk_timer_armed(&b->conn.timer))
		kk_timer_arm(&b->conn.timer, kk_now_ms + b->stream->rl->back_ms);
}

int
kk_back_resp_began(kk_back *b)
{
	if (!b->conn.in.len)
		return 0;
	b->flags &= ~KK_BACK_F_REPLAY;
	if (!b->conn.out.len)
		kk_buf_give(&b->conn.out);
	return 1;
}

int
kk_back_send_head(kk_back *b, const kk_h1head *h, const kk_h1fwd *fwd)
{
	kk_buf *out = &b->conn.out;
	size_t n;
	if (!kk_buf_take(out, NULL))
		return 0;
	n = kk_h1_write_request(h, fwd, kk_buf_tail(out), kk_buf_room(out));
	if (!n)
		return -1;
	out->len += (uint32_t)n;
	b->req_body = (unsigned char)h->body;
	b->flags |= KK_BACK_F_REPLAY;
	if (h->flags & KK_H1_F_UPGRADE)
		b->flags |= KK_BACK_F_UPGRADE;
	return 1;
}

/* Room at the tail of the output, wanting need bytes. Bytes already sent
 * are kept for a retry (KK_BACK_F_REPLAY) only while the request fits the
 * buffer whole: once they stand in the way of need, the request cannot
 * be sent again anyway, so they go and the unsent bytes move to the
 * front. Less than need while unsent bytes fill the buffer. */
static size_t
request_room(kk_back *b, size_t need)
{
	kk_buf *out = &b->conn.out;
	size_t room = out->cap - out->off - out->len;
	if (room >= need || !out->off)
		return room;
	b->flags &= ~KK_BACK_F_REPLAY;
	memmove(out->data, out->data + out->off, out->len);
	out->off = 0;
	return out->cap - out->len;
}

size_t
kk_back_body_room(kk_back *b, size_t n)
{
	size_t room;
	if (!kk_buf_take(&b->conn.out, &b->conn.bufwait))
		return 0;
	if (b->req_body != KK_H1_BODY_CHUNKED) {
		room = request_room(b, n);
		return room < n ? room : n;
	}
	room = request_room(b, n + KK_H1_CHUNK_OVERHEAD);
	if (room <= KK_H1_CHUNK_OVERHEAD)
		return 0;
	room -= KK_H1_CHUNK_OVERHEAD;
	return room < n ? room : n;
}

void
kk_back_body_put(kk_back *b, const char *p, size_t n)
{
	kk_buf *out = &b->conn.out;
	if (b->req_body == KK_H1_BODY_CHUNKED)
		out->len += (uint32_t)kk_h1_put_chunk(kk_buf_tail(out), p, n);
	else {
		memcpy(kk_buf_tail(out), p, n);
		out->len += (uint32_t)n;
	}
}

int
kk_back_body_takes_buf(const kk_back *b)
{
	return b->req_body != KK_H1_BODY_CHUNKED && !b->conn.out.len &&
	    !(b->flags & KK_BACK_F_REPLAY);
}

void
kk_back_body_put_buf(kk_back *b, kk_buf *buf)
{
	kk_buf_give(&b->conn.out);
	b->conn.out = *buf;
	memset(buf, 0, sizeof *buf);
}

int
kk_back_body_end(kk_back *b)
{
	if (b->req_body != KK_H1_BODY_CHUNKED)
		return 1;
	if (!kk_buf_take(&b->conn.out, &b->conn.bufwait) || request_room(b, 5) < 5)
		return 0;
	memcpy(kk_buf_tail(&b->conn.out), "0\r\n\r\n", 5);
	b->conn.out.len += 5;
	return 1;
}

int
kk_back_flush(kk_back *b, int more)
{
	if (b->state != KK_BACK_ACTIVE || !b->conn.out.len)
		return 1;
	return kk_conn_flush(&b->conn, (b->flags & KK_BACK_F_REPLAY) != 0, more);
}

int
kk_back_can_resend(const kk_back *b, enum kk_close reason)
{
	if (reason == KK_CLOSE_BACK_CONNECT || reason == KK_CLOSE_BACK_CONNECT_TIMEOUT)
		return b->conn.out.off == 0 || (b->flags & KK_BACK_F_REPLAY);
	return (b->flags & KK_BACK_F_REUSED) && (b->flags & KK_BACK_F_REPLAY) &&
	    reason == KK_CLOSE_BACK_RESET;
}

void
kk_back_req_save(kk_back *b, kk_back_req *r)
{
	kk_buf *out = &b->conn.out;
	r->buf = *out;
	memset(out, 0, sizeof *out);
	if (r->buf.data) {	/* from its first byte again */
		r->buf.len += r->buf.off;
		r->buf.off = 0;
	}
	r->body = b->req_body;
	r->replay = (b->flags & KK_BACK_F_REPLAY) != 0;
	r->upgrade = (b->flags & KK_BACK_F_UPGRADE) != 0;
}

void
kk_back_req_resend(kk_back *b, kk_back_req *r)
{
	kk_buf_give(&b->conn.out);
	b->conn.out = r->buf;
	memset(&r->buf, 0, sizeof r->buf);
	b->req_body = r->body;
	if (r->replay)
		b->flags |= KK_BACK_F_REPLAY;
	if (r->upgrade)
		b->flags |= KK_BACK_F_UPGRADE;
}

enum kk_msg
kk_back_resp_head(kk_back *b, int head_req, const kk_h1head **h)
{
	kk_buf *in = &b->conn.in;
	int cut = (b->conn.flags & (KK_CONN_F_EOF | KK_CONN_F_ERROR)) != 0;
	long n;
	if (!in->len)
		return cut ? KK_MSG_RESET : KK_MSG_WAIT;
	n = kk_h1_head_end(in->data + in->off, in->len, &b->scan);
	if (n < 0)
		return KK_MSG_INVALID;
	/* A head that fills the buffer, or that the backend's end of file
	 * cuts, will never be whole. */
	if (!n)
		return in->len == in->cap || cut ? KK_MSG_INVALID : KK_MSG_WAIT;
	if (kk_h1_parse_response(&resp_head, in->data + in->off, (size_t)n, head_req) != KK_H1_OK)
		return KK_MSG_INVALID;
	*h = &resp_head;
	/* A 101 is valid only in answer to a request that asked for an
	 * upgrade (RFC 9110 §15.2.2). */
	if (resp_head.status == 101)
		return (b->flags & KK_BACK_F_UPGRADE) ? KK_MSG_UPGRADE : KK_MSG_INVALID;
	return KK_MSG_HEAD;
}

void
kk_back_resp_head_done(kk_back *b, const kk_h1head *h)
{
	kk_buf_consume(&b->conn.in, h->len);
	kk_buf_trim(&b->conn.in);
	b->scan = 0;
	if (h->status < 200)
		return;
	b->resp_flags = 0;
	if (!(h->flags & KK_H1_F_CLOSE) && h->body != KK_H1_BODY_CLOSE)
		b->resp_flags |= KK_BACK_R_KEEP;
	b->resp_body = (unsigned char)h->body;
	b->resp_left = h->clen;
	kk_h1_chunk_init(&b->resp_chunk);
}

enum kk_msg
kk_back_body_next(kk_back *b, const char **p, size_t *n)
{
	kk_buf *in = &b->conn.in;
	switch (b->resp_body) {
	case KK_H1_BODY_NONE:
		return KK_MSG_END;
	case KK_H1_BODY_LENGTH:
		if (!b->resp_left)
			return KK_MSG_END;
		break;
	case KK_H1_BODY_CHUNKED:
		/* Asked with no byte too: at its end the decoder says so again,
		 * so an end that found no room yet is not taken for a cut. */
		{
			size_t used;
			int r = kk_h1_chunk_next(&b->resp_chunk, in->data ? in->data + in->off :
			    NULL, in->len, &used);
			kk_buf_consume(in, used);
			if (r == KK_H1_CHUNK_ERR)
				return KK_MSG_INVALID;
			if (r == KK_H1_CHUNK_END) {
				if (in->len)	/* bytes after the response */
					b->resp_flags &= ~KK_BACK_R_KEEP;
				return KK_MSG_END;
			}
			break;
		}
	}
	if (!in->len) {
		kk_buf_trim(in);
		/* End of file ends a close-delimited body; anywhere else it is
		 * a failure. */
		if (b->conn.flags & KK_CONN_F_ERROR)
			return KK_MSG_RESET;
		if (b->conn.flags & KK_CONN_F_EOF)
			return b->resp_body == KK_H1_BODY_CLOSE ? KK_MSG_END : KK_MSG_RESET;
		return KK_MSG_WAIT;
	}
	*p = in->data + in->off;
	*n = in->len;
	if (b->resp_body == KK_H1_BODY_LENGTH && *n > b->resp_left)
		*n = (size_t)b->resp_left;
	else if (b->resp_body == KK_H1_BODY_CHUNKED && *n > b->resp_chunk.left)
		*n = (size_t)b->resp_chunk.left;
	return *n ? KK_MSG_DATA : KK_MSG_WAIT;
}

void
kk_back_body_used(kk_back *b, size_t n)
{
	kk_buf_consume(&b->conn.in, n);
	if (b->resp_body == KK_H1_BODY_LENGTH) {
		b->resp_left -= n;
		if (!b->resp_left && b->conn.in.len)	/* bytes after the response */
			b->resp_flags &= ~KK_BACK_R_KEEP;
	} else if (b->resp_body == KK_H1_BODY_CHUNKED)
		b->resp_chunk.left -= n;
	kk_buf_trim(&b->conn.in);
}

size_t
kk_back_body_take(kk_back *b, kk_buf *dst)
{
	kk_buf *in = &b->conn.in;
	size_t n = in->len;
	if (!n || b->resp_body == KK_H1_BODY_CHUNKED ||
	    (b->resp_body == KK_H1_BODY_LENGTH && n > b->resp_left))
		return 0;
	*dst = *in;
	memset(in, 0, sizeof *in);
	if (b->resp_body == KK_H1_BODY_LENGTH)
		b->resp_left -= n;
	return n;
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

/* The PROXY header of a --send-proxy cluster, written on the socket once
 * it connects and before the transport's start: it precedes every byte,
 * a TLS handshake's too (spec §2). The addresses are the owner's
 * (kk_front_addrs). A new connection's send buffer is empty, so the few
 * bytes go whole or the connection has failed. 1 sent, 0 failed. */
static int
send_proxy(kk_back *b)
{
	char hdr[KK_PROXYHDR_BUILD_MAX];
	kk_addr src, dst;
	size_t n;
	ssize_t w;
	if (!kk_front_addrs(b->owner, &src, &dst))
		return 0;
	n = kk_proxyhdr_build(hdr, sizeof hdr, b->proxy == KK_SEND_PROXY_V2 ? 2 : 1,
	    (const struct sockaddr *)&src.ss, (const struct sockaddr *)&dst.ss);
	if (!n) {
		errno = EAFNOSUPPORT;
		return 0;
	}
	w = send(b->conn.io.fd, hdr, n, MSG_NOSIGNAL);
	if (w != (ssize_t)n) {
		if (w >= 0)	/* cut short: no room even for this */
			errno = ENOBUFS;
		return 0;
	}
	b->proxy = KK_SEND_PROXY_NONE;
	return 1;
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
		if (err || (b->proxy && !send_proxy(b))) {
			b->conn.err = err ? err : errno;
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
		unsigned n = 0;
		/* Counted first: after the last close the bend is not touched.
		 * Not all of nidle: the held ones (kk_back.owner) are not here,
		 * and close with their client. */
		for (l = bend->avail.next; l != &bend->avail; l = l->next)
			n += !KK_CONTAINER(l, kk_back, link)->streams;
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
