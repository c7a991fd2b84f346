/* ISC license. */
/* The pump between a front and a back endpoint: request body events one
 * way, response heads and body events the other, whole buffers handed
 * over where both protocols allow, trailer fields when the message
 * announced them, retries before the first response byte, and the end of
 * a stream (back endpoint released, front endpoint to its next request).
 * Framing is the endpoints' own: this file reaches them only through
 * their operations tables (stream.h), and names no protocol. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "answer.h"
#include "edit.h"
#include "health.h"
#include "lb.h"
#include "stream.h"
#include "worker.h"

static kk_link freelist = { &freelist, &freelist };

static kk_stream *
stream_alloc(void)
{
	kk_link *l = kk_list_first(&freelist);
	if (l) {
		kk_list_unlink(l);
		return KK_CONTAINER(l, kk_stream, link);
	}
	return malloc(sizeof(kk_stream));
}

/* Back to the free list; kk_stream_start clears what it takes from it. */
static void
stream_free(kk_stream *s)
{
	kk_router_unref(s->router);
	kk_list_push(&freelist, &s->link);
}

/* The end of s on its cluster's or backend's counters m. */
static void
count_end(kk_mcount *m, const kk_stream *s, unsigned status, enum kk_close reason)
{
	m->ended++;
	m->closes[reason]++;
	m->bytes_in += s->bytes_in;
	m->bytes_out += s->bytes_out;
	if (status)
		kk_wmetrics_response(m, status);
}

/* Every stream ends here: its access-log line (status the client got
 * through the stream, 0 none; reason it ended), then the free list. */
static void
stream_end(kk_stream *s, unsigned status, enum kk_close reason)
{
	count_end(s->cluster->m, s, status, reason);
	if (s->mb)
		count_end(s->mb, s, status, reason);
	if (s->logged) {
		kk_alog_req *r = &s->log;
		r->bytes_in = s->bytes_in;
		r->bytes_out = s->bytes_out;
		r->first_ms = s->first_ms;
		kk_accesslog_emit(r, s->rl, s->cluster, s->bend ? s->backend_id : NULL, s->bend,
		    status, reason);
	}
	stream_free(s);
}

/* What the answer the front is about to make for s tells (answer.h),
 * taken before the stream goes. */
static void
answer_about(const kk_stream *s)
{
	kk_answer_about(s->cluster ? s->cluster->answers : NULL,
	    s->cluster ? s->cluster->id : NULL, s->backend_id,
	    s->request_id, s->request_id_len);
	kk_answer_route_text(s->route, s->routelen);
}

/* The back endpoint lets go of the stream, and the stream of it. */
static void
drop_back(kk_stream *s)
{
	s->bops->detach(s->back);
	s->back = NULL;
}

/* Attaches a back endpoint to s->bend or, after a failure, to another
 * backend (avoid). 1 ok; 0 none could be had. */
static int
attach(kk_stream *s, kk_bend *avoid, int fresh)
{
	for (;;) {
		uint64_t connects;
		void *b;
		if (!s->bend) {
			kk_rbackend *rb = kk_lb_pick(s->cluster, &s->lbq, avoid, kk_now_ms);
			if (!rb)
				return 0;
			s->bend = rb->bend;
			s->cookie = kk_lb_cookie(s->cluster, &s->lbq, rb);
			s->backend_id = rb->id;
			/* A request for this backend now; the one before
			 * (a failed connect) has ended for its own. */
			if (s->mb)
				s->mb->ended++;
			s->mb = rb->m;
			s->mb->requests++;
		}
		s->tries++;
		s->bops = s->bend->proto;
		/* Whether the get connected anew, without asking each protocol. */
		connects = kk_stats.back_connects;
		b = s->bops->get(s->bend, s, fresh);
		if (kk_stats.back_connects != connects) {
			s->mb->conns_opened++;
			s->cluster->m->conns_opened++;
		}
		if (b) {
			s->back = b;
			return 1;
		}
		/* The connect failed at once: count it like a refused
		 * connection and try once elsewhere. */
		kk_stats.closes[KK_CLOSE_BACK_CONNECT]++;
		kk_health_failed(s->cluster, s->backend_id, s->bend, s->mb, 1, kk_now_ms);
		if (s->tries >= 2)
			return 0;
		avoid = s->bend;
		s->bend = NULL;
		fresh = 0;
	}
}

/* The line of a request refused before it had a stream. */
static void
log_refused(const kk_server_ops *ops, void *ctx, const kk_reqhead *h, const kk_rlistener *rl,
    const kk_rcluster *c, int status)
{
	kk_addr src;
	if (kk_accesslog_on && kk_accesslog_sampled())
		kk_accesslog_answered(h, ops->addrs(ctx, &src, NULL) ? &src : NULL, rl, c,
		    (unsigned)status);
}

/* A back connection of s's cluster has been let go of: a slot may be
 * free for the first request waiting. A stream of an older snapshot's
 * copy of the cluster also wakes the current copy's queue, which new
 * requests join, so that a reload does not strand them. */
static void
slot_freed(const kk_stream *s)
{
	kk_rcluster *now;
	kk_queue_kick(&s->cluster->queue);
	if (s->router != kk_worker_router() &&
	    (now = kk_router_cluster(kk_worker_router(), s->cluster->id)) && now != s->cluster)
		kk_queue_kick(&now->queue);
}

/* Out of the queue, the held request given back. */
static void
leave_queue(kk_stream *s)
{
	if (s->wait.q)
		s->cluster->m->dequeued++;
	kk_queue_leave(&s->wait);
}

static void
unqueue(kk_stream *s)
{
	leave_queue(s);
	kk_buf_give(&s->held.buf);
}

/* A slot may have freed for s, first in its queue: it takes a backend
 * and sends what it held, as a retry would; still none free, it waits on.
 * A connect failing at once answers 502, as it would unqueued. */
static void
queue_ready(kk_task *t)
{
	kk_stream *s = KK_CONTAINER(t, kk_stream, wait.ready);
	const kk_server_ops *fo = s->fops;
	void *f = s->front;
	if (!attach(s, NULL, 0)) {
		if (!s->tries)
			return;
		unqueue(s);
		kk_queue_kick(&s->cluster->queue);	/* the slot it did not take */
		answer_about(s);
		stream_end(s, 502, KK_CLOSE_BACK_CONNECT);
		fo->error(f, 502, KK_CLOSE_DONE);
		kk_answer_forget();
		return;
	}
	leave_queue(s);
	kk_queue_kick(&s->cluster->queue);	/* the next may find a slot too */
	s->bops->resend(s->back, &s->held);
	s->bops->wake(s->back);
	fo->wake(f);
}

/* Waited its --queue-timeout: 503, with Retry-After. */
static void
queue_expired(kk_timer *t)
{
	kk_stream *s = KK_CONTAINER(t, kk_stream, wait.timer);
	const kk_server_ops *fo = s->fops;
	void *f = s->front;
	unqueue(s);
	kk_stats.queue_timeouts++;
	answer_about(s);
	s->cluster->m->queue_timeouts++;
	stream_end(s, 503, KK_CLOSE_DONE);
	fo->error(f, 503, KK_CLOSE_DONE);
	kk_answer_forget();
}

/* No backend could be had for s, or others wait before it: when some
 * are at their limit (or others wait) and c's queue has room, s waits
 * there with its head h (0); else the status to answer at once. */
static int
enqueue(kk_stream *s, const kk_reqhead *h)
{
	kk_rcluster *c = s->cluster;
	unsigned long ms = c->queue_ms ? c->queue_ms : s->rl->connect_ms;
	if (!c->queue_max || (!kk_queue_busy(&c->queue) && !kk_lb_any_full(c)))
		return 503;
	if (c->queue.n >= c->queue_max) {
		kk_stats.queue_full++;
		c->m->queue_full++;
		return 503;
	}
	/* A cluster's backends all speak its protocol. */
	switch (c->b[0].bend->proto->hold(h, c->b[0].bend, &s->held)) {
	case 0:
		return 503;
	case -1:
		return 431;
	}
	s->wait.ready.run = queue_ready;
	s->wait.timer.cb = queue_expired;
	kk_queue_join(&c->queue, c->queue_max, &s->wait, kk_now_ms + ms);
	kk_stats.queued++;
	c->m->queued++;
	/* A slot freed before this turn's wake ran is not missed. */
	kk_queue_kick(&c->queue);
	return 0;
}

kk_stream *
kk_stream_start(const kk_server_ops *ops, void *ctx, kk_reqhead *h, const kk_fwd *fwd,
    kk_router *r, kk_rlistener *rl, kk_rcluster *c, const char *actions, int keepalive,
    int *status)
{
	kk_stream *s;
	/* The listener's limits and the forwarding rules, once, whatever
	 * either protocol is. */
	if ((*status = kk_head_limits(h, &rl->limits))) {
		log_refused(ops, ctx, h, rl, c, *status);
		return NULL;
	}
	/* The path as routed, which a rewrite below may change (its bytes
	 * stay where the parser left them). */
	const char *rpath = (h->flags & KK_HEAD_F_PATH_TEXT ? h->text : h->fl.base) + h->path.off;
	size_t rplen = h->pathlen, n;
	if (!kk_head_forward(h, fwd) || !kk_edit_request(h, actions)) {
		*status = 431;
		log_refused(ops, ctx, h, rl, c, *status);
		return NULL;
	}
	if (!(s = stream_alloc())) {
		*status = 500;
		return NULL;
	}
	memset(s, 0, offsetof(kk_stream, log));
	if (kk_accesslog_on && kk_accesslog_sampled()) {
		kk_addr src;
		s->logged = 1;
		kk_accesslog_begin(&s->log, h, ops->addrs(ctx, &src, NULL) ? &src : NULL);
	}
	kk_router_ref(r);
	s->router = r;
	s->rl = rl;
	s->cluster = c;
	c->m->requests++;
	s->actions = actions;
	s->fops = ops;
	s->front = ctx;
	s->start_us = kk_now_us;
	s->body_left = rl->limits.body ? rl->limits.body : UINT64_MAX;
	s->request_id_len = (unsigned char)h->reqidlen;	/* at most KK_HEAD_REQID_MAX */
	memcpy(s->request_id, h->reqid ? h->reqid : "", h->reqidlen);
	s->request_id[h->reqidlen] = 0;
	s->routelen = 0;
	if (c->answers || rl->answers) {
		n = h->hostlen < sizeof s->route ? h->hostlen : sizeof s->route;
		memcpy(s->route, h->host, n);
		if (rplen > sizeof s->route - n)
			rplen = sizeof s->route - n;
		memcpy(s->route + n, rpath, rplen);
		s->routelen = (unsigned short)(n + rplen);
	}
	if (h->body == KK_BODY_NONE || (h->body == KK_BODY_LENGTH && !h->clen))
		s->flags |= KK_STREAM_F_REQ_DONE;
	if (h->flags & KK_HEAD_F_HEAD)
		s->flags |= KK_STREAM_F_HEAD;
	if (h->flags & KK_HEAD_F_TRAILERS)
		s->flags |= KK_STREAM_F_REQ_TRAILERS;
	if (keepalive)
		s->flags |= KK_STREAM_F_KEEPALIVE;
	kk_lb_request(c, h, fwd->client, &s->lbq);
	/* Newcomers queue behind those waiting: first come, first served. */
	if (kk_queue_busy(&c->queue) || !attach(s, NULL, 0)) {
		if (!s->tries && !(*status = enqueue(s, h)))
			return s;
		if (s->tries)
			*status = 502;
		stream_end(s, (unsigned)*status, s->tries ? KK_CLOSE_BACK_CONNECT :
		    KK_CLOSE_NO_ROUTE);
		return NULL;
	}
	switch (s->bops->send_head(s->back, h)) {
	case 0:
		*status = 503;
		goto fail;
	case -1:
		*status = 431;
		goto fail;
	}
	return s;
fail:
	s->bops->close(s->back, KK_CLOSE_BACK_ABORT);
	stream_end(s, (unsigned)*status, *status == 431 ? KK_CLOSE_BAD_REQUEST : KK_CLOSE_NOMEM);
	return NULL;
}

const char *
kk_stream_response_id(const kk_stream *s, const kk_resphead *h)
{
	const kk_rlistener *rl = s->rl;
	if (!s->request_id_len || h->status < 200)
		return NULL;
	for (unsigned i = 0; i < h->fl.n; i++) {
		const kk_field *f = &h->fl.f[i];
		if (f->fwd && f->name.len == rl->reqidlen &&
		    !strncasecmp(h->fl.base + f->name.off, rl->reqid_lower, rl->reqidlen))
			return NULL;
	}
	return s->request_id;
}

/* Trailer fields pass when the head announced them (RFC 9110 §6.6.2),
 * the fields a trailer may not carry left out (RFC 9110 §6.5.1); else
 * they are dropped, as the writer drops them when its framing has no
 * room for them (Content-Length). 1 passed or dropped, 0 wait. */
static int
pass_trailers(kk_stream *s, unsigned announced, kk_fields *tr,
    int (*send)(void *, const kk_fields *), void *to)
{
	if (!(s->flags & announced))
		return 1;
	kk_head_forward_trailers(tr);
	return send(to, tr);
}

/* Moves the request body from the front endpoint to the back one, as
 * much as the back takes: the rest waits in the client's input, so
 * memory stays at two buffers whatever the body's size and framing.
 * A body past the listener's --max-body stops at it: the backend gets
 * none of the excess (a length announced past it was refused at the
 * head; this is for a body that only its end measures). 0 ok, else the
 * status it is refused with: 400 malformed, 413 too large. */
static int
pump_request(kk_stream *s)
{
	const kk_server_ops *fo = s->fops;
	const kk_client_ops *bo = s->bops;
	void *f = s->front, *b = s->back;
	while (!(s->flags & KK_STREAM_F_REQ_DONE)) {
		const char *p;
		size_t n, room;
		kk_fields *tr;
		kk_buf whole;
		enum kk_msg m = fo->body_next(f, &p, &n, &tr);
		if (m == KK_MSG_WAIT)
			break;
		if (m == KK_MSG_INVALID)
			return 400;
		if (m == KK_MSG_TRAILERS) {
			if (!pass_trailers(s, KK_STREAM_F_REQ_TRAILERS, tr, bo->send_trailers, b))
				break;
			fo->trailers_used(f);
			continue;
		}
		if (m == KK_MSG_END) {
			if (bo->end(b))
				s->flags |= KK_STREAM_F_REQ_DONE;
			break;
		}
		if (!s->body_left)
			return 413;
		/* Body bytes only, output empty: move the buffer (the n bytes
		 * body_next showed), when all of it is within the limit (else
		 * the bytes go piece by piece). */
		if (n <= s->body_left && bo->takes_buf(b) && (room = fo->body_take(f, &whole))) {
			s->body_left -= room;
			s->bytes_in += room;
			bo->put_buf(b, &whole);
			continue;
		}
		room = bo->room(b, n < s->body_left ? n : (size_t)s->body_left);
		if (!room)
			break;
		s->body_left -= room;
		s->bytes_in += room;
		bo->put(b, p, room);
		fo->body_used(f, room);
	}
	return 0;
}

/* Response rounds per pump: fairness between streams, since a pass can
 * move a buffer's worth each time the client's socket takes it. */
#define KK_STREAM_RESP_ROUNDS 64

/* A 101 answering an upgrade (RFC 9110 §7.8): its head goes to the
 * client, the stream ends and both connections become a tunnel, the bytes
 * each side sent past its head going first. A request body goes whole
 * before the switch: until it is queued upstream the 101 waits in the
 * back endpoint's input, so the backend reads the request as framed,
 * then tunnel bytes. 0 wait, -1 the stream ended (switched, or failed). */
static int
switch_protocols(kk_stream *s, const kk_resphead *h)
{
	const kk_server_ops *fo = s->fops;
	const kk_client_ops *bo = s->bops;
	void *f = s->front, *b = s->back;
	int keep = 0, r;
	if (!(s->flags & KK_STREAM_F_REQ_DONE))
		return 0;
	r = fo->send_head(f, h, &keep);
	if (r < 0) {
		kk_stream_back_error(s, KK_CLOSE_BACK_INVALID);
		return -1;
	}
	if (!r)
		return 0;
	kk_stats.responses[1]++;
	kk_wmetrics_response(s->rl->m, 101);
	bo->head_done(b, h);
	drop_back(s);
	stream_end(s, h->status, KK_CLOSE_DONE);
	fo->upgrade(f, bo, b);
	return -1;
}

/* Passes the next response head on. 1 progress, 0 wait, -1 the stream
 * ended (the back endpoint failed it, or a 101 switched it). */
static int
response_head(kk_stream *s)
{
	kk_resphead *h;
	int keep, r;
	enum kk_msg m = s->bops->head(s->back, (s->flags & KK_STREAM_F_HEAD) != 0, &h);
	if (m == KK_MSG_WAIT)
		return 0;
	if (m != KK_MSG_HEAD && m != KK_MSG_UPGRADE) {
		kk_stream_back_error(s, m == KK_MSG_RESET ? KK_CLOSE_BACK_RESET :
		    KK_CLOSE_BACK_INVALID);
		return -1;
	}
	if (m == KK_MSG_UPGRADE || h->status >= 200)
		kk_health_answered(s->cluster, s->backend_id, s->bend, s->mb, h->status, kk_now_ms);
	kk_head_forward_response(h);
	h->set_cookie = NULL;
	kk_edit_response(h, s->actions);
	if (m == KK_MSG_UPGRADE)
		return switch_protocols(s, h);
	if (h->status >= 200)
		h->set_cookie = s->cookie;
	keep = (s->flags & KK_STREAM_F_KEEPALIVE) && (s->flags & KK_STREAM_F_REQ_DONE);
	r = s->fops->send_head(s->front, h, &keep);
	if (r < 0) {
		kk_stream_back_error(s, KK_CLOSE_BACK_INVALID);
		return -1;
	}
	if (!r)
		return 0;
	if (h->status >= 200) {
		s->status = h->status;
		if (!keep)
			s->flags &= ~KK_STREAM_F_KEEPALIVE;
		s->flags |= KK_STREAM_F_RESP_HEAD;
		if (h->flags & KK_HEAD_F_TRAILERS)
			s->flags |= KK_STREAM_F_RESP_TRAILERS;
		kk_stats.responses[h->status / 100]++;
		kk_wmetrics_response(s->rl->m, h->status);
	}
	s->bops->head_done(s->back, h);
	return 1;
}

/* Moves the response from the back endpoint to the front one, as events:
 * heads, body data (whole buffers when both sides allow), trailers, the
 * end. 1 ok, 0 stream ended (answered or aborted). */
static int
pump_response(kk_stream *s)
{
	const kk_server_ops *fo = s->fops;
	const kk_client_ops *bo = s->bops;
	void *f = s->front, *b = s->back;
	unsigned round;

	if (!(s->flags & KK_STREAM_F_RESP_BYTES) && bo->began(b)) {
		/* The response began: the request copy kept for a retry is
		 * no longer needed (the back endpoint let it go). */
		s->flags |= KK_STREAM_F_RESP_BYTES;
		s->first_ms = kk_now_ms;
		s->first_us = kk_now_us;
	}
	for (round = 0; !(s->flags & KK_STREAM_F_RESP_DONE) && round < KK_STREAM_RESP_ROUNDS;
	    round++) {
		const char *p;
		size_t n, room;
		kk_fields *tr;
		kk_buf whole;
		enum kk_msg m;
		if (!(s->flags & KK_STREAM_F_RESP_HEAD)) {
			int r = response_head(s);
			if (r < 0)
				return 0;
			if (!r)
				break;
			continue;
		}
		m = bo->body_next(b, &p, &n, &tr);
		if (m == KK_MSG_WAIT)
			break;
		if (m == KK_MSG_INVALID || m == KK_MSG_RESET) {
			kk_stream_back_error(s, m == KK_MSG_RESET ? KK_CLOSE_BACK_RESET :
			    KK_CLOSE_BACK_INVALID);
			return 0;
		}
		if (m == KK_MSG_TRAILERS) {
			if (!pass_trailers(s, KK_STREAM_F_RESP_TRAILERS, tr, fo->send_trailers, f))
				break;
			bo->trailers_used(b);
			continue;
		}
		if (m == KK_MSG_END) {
			if (fo->end(f))
				s->flags |= KK_STREAM_F_RESP_DONE;
			break;
		}
		/* Body bytes only, output empty: hand the buffer over instead
		 * of copying it. */
		if (fo->takes_buf(f) && (room = bo->body_take(b, &whole))) {
			s->bytes_out += room;
			fo->put_buf(f, &whole);
			continue;
		}
		room = fo->room(f);
		if (!room)
			break;
		if (n > room)
			n = room;
		s->bytes_out += n;
		fo->put(f, p, n);
		bo->body_used(b, n);
	}
	return 1;
}

static void
stream_finish(kk_stream *s)
{
	const kk_server_ops *fo = s->fops;
	void *f = s->front;
	int whole = (s->flags & KK_STREAM_F_REQ_DONE) != 0;
	/* The rest of an unread request body would be read as a request. */
	int keep = (s->flags & KK_STREAM_F_KEEPALIVE) && whole;
	if (s->back) {
		const kk_client_ops *bo = s->bops;
		void *b = s->back;
		drop_back(s);
		bo->release(b, whole);
		slot_freed(s);
	}
	kk_status_latency(s->start_us, s->first_us);
	kk_wmetrics_latency(s->cluster->m, s->start_us, s->first_us);
	if (s->mb)
		kk_wmetrics_latency(s->mb, s->start_us, s->first_us);
	stream_end(s, s->status, KK_CLOSE_DONE);
	fo->done(f, keep, whole);
}

/* A refused request body (the front endpoint or pump_request counted
 * it): status (400, 413) if no response began, else the connection ends
 * (and the stream with it). The client connection closes after either:
 * the rest of the body is never read. */
static void
bad_body(kk_stream *s, int status)
{
	const kk_server_ops *fo = s->fops;
	void *f = s->front;
	s->bops->close(s->back, KK_CLOSE_BACK_ABORT);
	s->back = NULL;
	slot_freed(s);
	if (s->flags & KK_STREAM_F_RESP_HEAD) {
		fo->close(f, KK_CLOSE_BAD_REQUEST);
		return;
	}
	answer_about(s);
	stream_end(s, (unsigned)status, KK_CLOSE_BAD_REQUEST);
	fo->error(f, status, KK_CLOSE_BAD_REQUEST);
	kk_answer_forget();
}

int
kk_stream_pump(kk_stream *s)
{
	const kk_server_ops *fo = s->fops;
	const kk_client_ops *bo = s->bops;
	void *f = s->front, *b = s->back;
	unsigned round, fs, bs;
	int r;

	if (!b) {
		/* Queued: a client that went away leaves the queue, and
		 * never takes a slot. */
		if (fo->state(f) & KK_EP_GONE) {
			fo->close(f, KK_CLOSE_CLIENT_ABORT);
			return 0;
		}
		return 1;
	}
	/* Each pass moves what fits; writing frees room for the next pass.
	 * Stop when a pass changes nothing (or after a few: fairness). */
	for (round = 0; round < 8; round++) {
		uint64_t fp = fo->progress(f), bp = bo->progress(b);
		if (!(s->flags & KK_STREAM_F_REQ_DONE) && (r = pump_request(s))) {
			bad_body(s, r);
			return 0;
		}
		/* More follows when the client's socket has more body
		 * waiting: let the kernel fill whole packets. */
		r = bo->flush(b, !(s->flags & KK_STREAM_F_REQ_DONE) &&
		    (fo->state(f) & KK_EP_READABLE));
		if (r < 0) {
			kk_stream_back_error(s, KK_CLOSE_BACK_RESET);
			return 0;
		}
		/* Moving the response reads nothing: bs stays true for it. */
		bs = bo->state(b);
		if ((bs & KK_EP_ACTIVE) && !pump_response(s))
			return 0;
		/* More follows when the backend has more waiting, or, for a
		 * last response, the close: the end of the response leaves
		 * with the FIN (and a TLS close_notify) in one segment. */
		if (fo->flush(f, (s->flags & KK_STREAM_F_RESP_DONE) ?
		    !(s->flags & KK_STREAM_F_KEEPALIVE) : (bs & KK_EP_READABLE) != 0) < 0) {
			fo->close(f, KK_CLOSE_WRITE_ERROR);
			return 0;
		}
		if (s->flags & KK_STREAM_F_RESP_DONE) {
			stream_finish(s);
			return 0;
		}
		if (fp == fo->progress(f) && bp == bo->progress(b))
			break;
	}
	/* Nothing follows at once: send what was held for a fuller packet. */
	fs = fo->state(f);
	bs = bo->state(b);
	if (!(fs & KK_EP_BACKLOG) && !(bs & KK_EP_READABLE))
		fo->push(f);
	if (!(bs & KK_EP_BACKLOG) && !(fs & KK_EP_READABLE))
		bo->push(b);
	/* A side whose last read filled its buffer may have more waiting in
	 * the kernel, and no new edge will say so: run it again, once its
	 * buffer has room (else it would spin until the other side moves,
	 * and that side's progress wakes it). */
	if (!(s->flags & KK_STREAM_F_REQ_DONE))
		fo->wake_if_more(f);
	bo->wake_if_more(b);
	/* Times whoever the stream waits on, and only while it waits: the
	 * backend while it owes the response (the request is wholly queued
	 * and the client takes what comes) or leaves request bytes unread;
	 * the client while it owes body bytes (its input is all taken) or
	 * leaves response bytes unread. A slow upload is then the client's
	 * to answer for, a client that stops reading releases both
	 * connections, and a deadline moves only when its side makes
	 * progress. */
	fo->timer(f, (s->flags & KK_STREAM_F_REQ_DONE) != 0);
	bo->timer(b, (s->flags & KK_STREAM_F_REQ_DONE) && !(fs & KK_EP_BACKLOG));
	return 1;
}

void
kk_stream_back_error(kk_stream *s, enum kk_close reason)
{
	const kk_server_ops *fo = s->fops;
	const kk_client_ops *bo = s->bops;
	void *b = s->back, *f = s->front;
	int connect_failed = reason == KK_CLOSE_BACK_CONNECT || reason == KK_CLOSE_BACK_CONNECT_TIMEOUT;
	int resend = bo->can_resend(b, reason);

	/* A backend that takes the request and never answers fails as
	 * surely as one that refuses it; a reset is not counted: a reused
	 * connection the backend closed is retried, and is no sign. */
	if (connect_failed || reason == KK_CLOSE_BACK_TIMEOUT)
		kk_health_failed(s->cluster, s->backend_id, s->bend, s->mb, connect_failed,
		    kk_now_ms);
	/* Retry: nothing of the response came, the request can be sent again
	 * whole, and this is the first retry. A failed connect goes to another
	 * backend; a reused connection that the backend had closed goes to a
	 * fresh connection to the same backend. */
	if (!(s->flags & KK_STREAM_F_RESP_BYTES) && resend && s->tries < 2) {
		kk_bend *failed = s->bend;
		kk_resend saved;
		bo->save(b, &saved);
		drop_back(s);
		bo->close(b, reason);
		if (connect_failed)
			s->bend = NULL;
		if (attach(s, connect_failed ? failed : NULL, !connect_failed)) {
			s->bops->resend(s->back, &saved);
			kk_stats.retries++;
			s->cluster->m->retries++;
			if (s->mb)
				s->mb->retries++;
			s->bops->wake(s->back);
			if (!(s->flags & KK_STREAM_F_REQ_DONE))
				fo->wake(f);
			return;
		}
		kk_buf_give(&saved.buf);
	} else {
		drop_back(s);
		bo->close(b, reason);
	}
	slot_freed(s);
	if ((s->flags & KK_STREAM_F_RESP_HEAD) && !fo->take_back(f)) {
		/* Part of the response went out: the client gets what was
		 * queued, then a close without the end of the message (no
		 * final chunk, or fewer bytes than announced): a cut it can
		 * see. */
		stream_end(s, s->status, KK_CLOSE_BACKEND_ERROR);
		fo->cut(f, KK_CLOSE_BACKEND_ERROR);
		return;
	}
	/* Nothing of the final response reached the client: it was taken
	 * back and the 502 goes in its place. */
	kk_status_latency(s->start_us, 0);
	answer_about(s);
	kk_wmetrics_latency(s->cluster->m, s->start_us, 0);
	if (s->mb)
		kk_wmetrics_latency(s->mb, s->start_us, 0);
	stream_end(s, reason == KK_CLOSE_BACK_TIMEOUT ? 504 : 502, reason);
	fo->error(f, reason == KK_CLOSE_BACK_TIMEOUT ? 504 : 502, KK_CLOSE_DONE);
	kk_answer_forget();
}

void
kk_stream_front_drained(kk_stream *s)
{
	if (s->back && (s->bops->state(s->back) & KK_EP_PENDING))
		s->bops->wake(s->back);
}

void
kk_stream_abort(kk_stream *s, enum kk_close reason)
{
	if (s->back) {
		const kk_client_ops *bo = s->bops;
		void *b = s->back;
		drop_back(s);
		bo->close(b, KK_CLOSE_BACK_ABORT);
		slot_freed(s);
	}
	unqueue(s);
	stream_end(s, (s->flags & KK_STREAM_F_RESP_HEAD) ? s->status : 0, reason);
}
