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
#include "worker.h"

static kk_link freelist = { &freelist, &freelist };
/* Scratch: one response head, one trailer section, is parsed at a time. */
static kk_resphead resp_head;
static uint32_t resp_len;	/* its bytes in the input */
static kk_fields resp_trailers;

static void back_free(kk_task *);
static void back_run(kk_conn *);
static void back_timeout(kk_conn *);
static void back_process(kk_back *);

/* The h1 client protocol. */
static const kk_protocol h1_client = { "h1-client", back_run, back_timeout };

int
kk_back_connect(kk_back *b, kk_bend *bend, const kk_protocol *proto, void *pc)
{
	int fd, one = 1;
	fd = socket(bend->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (const struct sockaddr *)&bend->addr.ss, bend->addr.len) < 0 &&
	    errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		errno = e;
		return 0;
	}
	kk_conn_init(&b->conn, fd, KK_IO_BACK, bend->tp, proto, pc);
	b->bend = bend;
	b->state = KK_BACK_CONNECTING;
	if (!kk_bend_attach(bend, &b->conn)) {
		close(fd);
		errno = ENOMEM;
		return 0;
	}
	if (!kk_loop_add(&b->conn.io, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)) {
		int e = errno;
		kk_conn_close(&b->conn);
		errno = e;
		return 0;
	}
	bend->nconns++;
	kk_stats.back_connects++;
	return 1;
}

static kk_back *
back_new(kk_bend *bend)
{
	kk_link *l = kk_list_first(&freelist);
	kk_back *b;
	if (l) {
		kk_list_unlink(l);
		b = KK_CONTAINER(l, kk_back, link);
	} else if (!(b = malloc(sizeof *b))) {
		errno = ENOMEM;
		return NULL;
	}
	memset(b, 0, sizeof *b);
	b->grave.run = back_free;
	if (!kk_back_connect(b, bend, &h1_client, b)) {
		kk_list_push(&freelist, &b->link);
		return NULL;
	}
	return b;
}

/* The h1 client as a stream's back endpoint (kk_client_ops): ctx is the
 * kk_back. */

/* A --send-proxy stream's connection: the one parked in its client's slot
 * when it goes to bend and may be reused (not fresh), else NULL. One is
 * parked per client at most, which bounds these connections at one per
 * client: a client whose next request goes to another backend gets a new
 * one and the one it parked closes. */
static kk_back *
park_take(kk_park *p, kk_bend *bend, int fresh)
{
	void *ctx = p->ctx;
	if (!ctx)
		return NULL;
	p->ctx = NULL;
	if (fresh || p->ops != &kk_h1_client_ops || ((kk_back *)ctx)->bend != bend) {
		p->ops->close(ctx, KK_CLOSE_BACK_DONE);
		return NULL;
	}
	return ctx;
}

static void *
ep_get(kk_bend *bend, kk_stream *s, int fresh)
{
	kk_back *b = NULL;
	kk_link *l;
	kk_park *park = NULL;
	if (s->cluster->send_proxy != KK_SEND_PROXY_NONE) {
		if (!(park = s->fops->park(s->front)))
			return NULL;
		b = park_take(park, bend, fresh);
	} else if (!fresh && (l = kk_list_last(&bend->avail)))
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
		if (park) {
			b->owner = park;
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
	b->req_ended = 0;
	kk_h1_body_init(&b->resp, KK_H1_BODY_NONE, 0);
	kk_conn_wake(&b->conn);
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
	if (b->owner && b->owner->ctx == b)
		b->owner->ctx = NULL;
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

static void
ep_release(void *ctx, int req_done)
{
	kk_back *b = ctx;
	int reusable = req_done && (b->resp_flags & KK_BACK_R_KEEP) && !b->conn.out.len &&
	    !b->conn.in.len && !(b->conn.flags & (KK_CONN_F_EOF | KK_CONN_F_ERROR));
	if (!reusable || kk_worker_draining() || b->bend->refs == 0) {
		kk_back_close(b, KK_CLOSE_BACK_DONE);
		return;
	}
	if (!b->owner && !kk_link_linked(&b->link))	/* it had no free slot */
		kk_list_push(&b->bend->avail, &b->link);
	if (--b->streams)
		return;
	if (b->owner) {	/* empty: it was taken from there (park_take) */
		b->owner->ops = &kk_h1_client_ops;
		b->owner->ctx = b;
	}
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

static void
ep_timer(void *ctx, int owed)
{
	kk_back *b = ctx;
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

static int
ep_began(void *ctx)
{
	kk_back *b = ctx;
	if (!b->conn.in.len)
		return 0;
	b->flags &= ~KK_BACK_F_REPLAY;
	if (!b->conn.out.len)
		kk_buf_give(&b->conn.out);
	return 1;
}

/* What is kept of a request for a retry or while it waits in a queue:
 * its bytes, its framing and whether they are all of it or it asked for
 * an upgrade. */
#define RESEND_REPLAY 0x100
#define RESEND_UPGRADE 0x200
#define RESEND_BODY 0xff

/* Appends the head for origin (the Host of a request without one) to
 * out, and its notes (RESEND_*) to *notes. A body of unknown length goes
 * up chunked. 1 queued, 0 no buffer, -1 it does not fit. */
static int
put_head(kk_buf *out, const kk_reqhead *h, const char *origin, unsigned *notes)
{
	size_t n;
	if (!kk_buf_take(out, NULL))
		return 0;
	n = kk_h1_write_request(h, origin, kk_buf_tail(out), kk_buf_room(out));
	if (!n)
		return -1;
	out->len += (uint32_t)n;
	*notes = (h->body == KK_BODY_UNKNOWN ? KK_H1_BODY_CHUNKED :
	    h->body == KK_BODY_LENGTH ? KK_H1_BODY_LENGTH : KK_H1_BODY_NONE) | RESEND_REPLAY |
	    (h->flags & KK_HEAD_F_UPGRADE ? RESEND_UPGRADE : 0);
	return 1;
}

/* The request's framing and replay state from its notes. */
static void
take_notes(kk_back *b, unsigned notes)
{
	b->req_body = (unsigned char)(notes & RESEND_BODY);
	if (notes & RESEND_REPLAY)
		b->flags |= KK_BACK_F_REPLAY;
	if (notes & RESEND_UPGRADE)
		b->flags |= KK_BACK_F_UPGRADE;
}

/* Queues the head, kept after it is written until the response starts:
 * that is what a retry sends again. */
static int
ep_send_head(void *ctx, const kk_reqhead *h)
{
	kk_back *b = ctx;
	unsigned notes;
	int r = put_head(&b->conn.out, h, b->bend->addr_text, &notes);
	if (r == 1)
		take_notes(b, notes);
	return r;
}

/* A request that waits for a backend: its head into r, for ep_resend on
 * the connection it gets. */
static int
ep_hold(const kk_reqhead *h, const kk_bend *bend, kk_resend *r)
{
	int n;
	memset(r, 0, sizeof *r);
	if ((n = put_head(&r->buf, h, bend->addr_text, &r->flags)) < 0)
		kk_buf_give(&r->buf);
	return n;
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

static size_t
ep_room(void *ctx, size_t n)
{
	kk_back *b = ctx;
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

static void
ep_put(void *ctx, const char *p, size_t n)
{
	kk_back *b = ctx;
	kk_h1_put_body(&b->conn.out, b->req_body == KK_H1_BODY_CHUNKED, p, n);
}

/* Whether a whole buffer of body bytes can be queued as it is. */
static int
ep_takes_buf(void *ctx)
{
	kk_back *b = ctx;
	return b->req_body != KK_H1_BODY_CHUNKED && !b->conn.out.len &&
	    !(b->flags & KK_BACK_F_REPLAY);
}

static void
ep_put_buf(void *ctx, kk_buf *buf)
{
	kk_back *b = ctx;
	kk_buf_move(&b->conn.out, buf);
}

/* Trailer fields go up only after chunks, the last chunk with them;
 * under a length they are dropped, and so is a section that could not
 * fit even an empty buffer. */
static int
ep_send_trailers(void *ctx, const kk_fields *tr)
{
	kk_back *b = ctx;
	kk_buf *out = &b->conn.out;
	size_t w;
	if (b->req_body != KK_H1_BODY_CHUNKED)
		return 1;
	if (!kk_buf_take(out, &b->conn.bufwait))
		return 0;
	w = kk_h1_write_trailers(tr, kk_buf_tail(out), out->cap - out->off - out->len);
	if (!w && out->off) {
		/* Sent bytes in the way: the request outgrew a retry. */
		request_room(b, out->cap);
		w = kk_h1_write_trailers(tr, kk_buf_tail(out), out->cap - out->len);
	}
	if (!w)
		return !out->len;
	out->len += (uint32_t)w;
	b->req_ended = 1;
	return 1;
}

/* The end of the request body (the last chunk). */
static int
ep_end(void *ctx)
{
	kk_back *b = ctx;
	if (b->req_body != KK_H1_BODY_CHUNKED || b->req_ended)
		return 1;
	if (!kk_buf_take(&b->conn.out, &b->conn.bufwait) || request_room(b, 5) < 5)
		return 0;
	memcpy(kk_buf_tail(&b->conn.out), "0\r\n\r\n", 5);
	b->conn.out.len += 5;
	return 1;
}

static int
ep_flush(void *ctx, int more)
{
	kk_back *b = ctx;
	if (b->state != KK_BACK_ACTIVE || !b->conn.out.len)
		return 1;
	return kk_conn_flush(&b->conn, (b->flags & KK_BACK_F_REPLAY) != 0, more);
}

/* Whether the request can be sent again elsewhere after b failed for
 * reason: nothing of it, or all of it, is still in b's output. */
static int
ep_can_resend(void *ctx, enum kk_close reason)
{
	const kk_back *b = ctx;
	if (reason == KK_CLOSE_BACK_CONNECT || reason == KK_CLOSE_BACK_CONNECT_TIMEOUT)
		return b->conn.out.off == 0 || (b->flags & KK_BACK_F_REPLAY);
	return (b->flags & KK_BACK_F_REUSED) && (b->flags & KK_BACK_F_REPLAY) &&
	    reason == KK_CLOSE_BACK_RESET;
}

static void
ep_save(void *ctx, kk_resend *r)
{
	kk_back *b = ctx;
	kk_buf *out = &b->conn.out;
	r->buf = *out;
	memset(out, 0, sizeof *out);
	if (r->buf.data) {	/* from its first byte again */
		r->buf.len += r->buf.off;
		r->buf.off = 0;
	}
	r->flags = b->req_body | (b->flags & KK_BACK_F_REPLAY ? RESEND_REPLAY : 0) |
	    (b->flags & KK_BACK_F_UPGRADE ? RESEND_UPGRADE : 0);
}

static void
ep_resend(void *ctx, kk_resend *r)
{
	kk_back *b = ctx;
	kk_buf_give(&b->conn.out);
	b->conn.out = r->buf;
	memset(&r->buf, 0, sizeof r->buf);
	take_notes(b, r->flags);
}

static enum kk_msg
ep_head(void *ctx, int head_req, kk_resphead **h)
{
	kk_back *b = ctx;
	kk_buf *in = &b->conn.in;
	kk_h1info info;
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
	if (kk_h1_parse_response(&resp_head, &info, in->data + in->off, (size_t)n, head_req) !=
	    KK_H1_OK)
		return KK_MSG_INVALID;
	*h = &resp_head;
	resp_len = (uint32_t)n;
	/* A 101 is valid only in answer to a request that asked for an
	 * upgrade (RFC 9110 §15.2.2). */
	if (resp_head.status == 101)
		return (b->flags & KK_BACK_F_UPGRADE) ? KK_MSG_UPGRADE : KK_MSG_INVALID;
	/* What the final head says of the body and the connection, kept
	 * for when it is passed on (ep_head_done). */
	if (resp_head.status >= 200) {
		b->resp_flags = (info.flags & KK_H1_F_CLOSE) ? 0 : KK_BACK_R_KEEP;
		kk_h1_body_init(&b->resp, info.body, resp_head.clen);
	}
	return KK_MSG_HEAD;
}

/* The head h (the last ep_head gave) was passed on: its bytes go. */
static void
ep_head_done(void *ctx, const kk_resphead *h)
{
	kk_back *b = ctx;
	(void)h;
	kk_buf_consume(&b->conn.in, resp_len);
	kk_buf_trim(&b->conn.in);
	b->scan = 0;
}

static enum kk_msg
ep_body_next(void *ctx, const char **p, size_t *n, kk_fields **tr)
{
	kk_back *b = ctx;
	kk_buf *in = &b->conn.in;
	enum kk_msg m = kk_h1_body_next(&b->resp, in, p, n, &resp_trailers);
	*tr = &resp_trailers;
	if (m == KK_MSG_END && in->len)
		b->resp_flags &= ~KK_BACK_R_KEEP;	/* bytes after the response */
	if (m != KK_MSG_WAIT)
		return m;
	/* End of file ends a close-delimited body; anywhere else it is a
	 * failure. */
	if (b->conn.flags & KK_CONN_F_ERROR)
		return KK_MSG_RESET;
	if (b->conn.flags & KK_CONN_F_EOF)
		return b->resp.framing == KK_H1_BODY_CLOSE && !in->len ? KK_MSG_END : KK_MSG_RESET;
	return KK_MSG_WAIT;
}

static void
ep_body_used(void *ctx, size_t n)
{
	kk_back *b = ctx;
	kk_h1_body_used(&b->resp, &b->conn.in, n);
}

static void
ep_trailers_used(void *ctx)
{
	kk_back *b = ctx;
	kk_h1_body_trailers_done(&b->resp, &b->conn.in);
}

static size_t
ep_body_take(void *ctx, kk_buf *dst)
{
	kk_back *b = ctx;
	return kk_h1_body_take(&b->resp, &b->conn.in, dst);
}

static unsigned
ep_state(void *ctx)
{
	kk_back *b = ctx;
	return (unsigned)(kk_conn_readable(&b->conn) * KK_EP_READABLE) |
	    (unsigned)((b->conn.out.len != 0) * KK_EP_BACKLOG) |
	    (unsigned)((b->conn.in.len != 0) * KK_EP_PENDING) |
	    (unsigned)((b->state == KK_BACK_ACTIVE) * KK_EP_ACTIVE);
}

static uint64_t
ep_progress(void *ctx)
{
	kk_back *b = ctx;
	return kk_conn_progress(&b->conn);
}

static void
ep_push(void *ctx)
{
	kk_back *b = ctx;
	kk_conn_push(&b->conn);
}

static void
ep_wake(void *ctx)
{
	kk_back *b = ctx;
	kk_conn_wake(&b->conn);
}

static void
ep_wake_if_more(void *ctx)
{
	kk_back *b = ctx;
	if (b->state == KK_BACK_ACTIVE && kk_conn_may_read(&b->conn))
		kk_conn_wake(&b->conn);
}

static void
ep_detach(void *ctx)
{
	kk_back *b = ctx;
	b->stream = NULL;
}

static kk_conn *
ep_conn(void *ctx)
{
	kk_back *b = ctx;
	return &b->conn;
}

static void
ep_close(void *ctx, enum kk_close reason)
{
	kk_back_close(ctx, reason);
}

const kk_client_ops kk_h1_client_ops = {
	"h1-client",
	ep_get, ep_release, ep_close,
	ep_send_head, ep_room, ep_put, ep_takes_buf, ep_put_buf, ep_send_trailers, ep_end,
	ep_flush,
	ep_can_resend, ep_save, ep_resend, ep_hold,
	ep_began, ep_head, ep_head_done, ep_body_next, ep_body_used, ep_trailers_used,
	ep_body_take,
	ep_state, ep_progress, ep_push, ep_wake, ep_wake_if_more, ep_timer, ep_detach, ep_conn,
};

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
 * it connects and before the transport's start (kk_proxyhdr_send). The
 * addresses are the client's, as its stream's server endpoint gives them
 * (kk_server_ops.addrs). 1 sent, 0 failed. */
static int
send_proxy(kk_back *b)
{
	kk_addr src, dst;
	if (!b->stream->fops->addrs(b->stream->front, &src, &dst) ||
	    !kk_proxyhdr_send(b->conn.io.fd, b->proxy == KK_SEND_PROXY_V2 ? 2 : 1,
	    (const struct sockaddr *)&src.ss, (const struct sockaddr *)&dst.ss))
		return 0;
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
			kk_bend_start_failed(b->bend, &b->conn, kk_now_ms);
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
		 * Not all of nidle: the parked ones (kk_back.owner) are not
		 * here, and close with their client. */
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
