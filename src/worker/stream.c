/* ISC license. */
/* The pump between a front and a back endpoint: request body events one
 * way, response heads and body events the other, whole buffers handed
 * over where both protocols allow, retries before the first response
 * byte, and the end of a stream (back connection to the pool, front
 * connection to its next request). Framing is the endpoints' own. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lb.h"
#include "stream.h"

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

static void
stream_free(kk_stream *s)
{
	kk_router_unref(s->router);
	memset(s, 0, sizeof *s);
	kk_list_push(&freelist, &s->link);
}

/* Attaches a back connection to s->bend or, after a failure, to another
 * backend (avoid). 1 ok; 0 none could be had. */
static int
attach(kk_stream *s, kk_bend *avoid, int fresh)
{
	for (;;) {
		kk_back *b;
		if (!s->bend) {
			kk_rbackend *rb = kk_lb_pick(s->cluster, avoid, kk_now_ms);
			if (!rb)
				return 0;
			s->bend = rb->bend;
		}
		s->tries++;
		b = kk_back_get(s->bend, s, fresh);
		if (b) {
			s->back = b;
			return 1;
		}
		/* The connect failed at once: count it like a refused
		 * connection and try once elsewhere. */
		kk_stats.closes[KK_CLOSE_BACK_CONNECT]++;
		kk_bend_mark_down(s->bend, kk_now_ms);
		if (s->tries >= 2)
			return 0;
		avoid = s->bend;
		s->bend = NULL;
		fresh = 0;
	}
}

kk_stream *
kk_stream_start(kk_front *f, const kk_h1head *h, kk_router *r, kk_rlistener *rl,
    kk_rcluster *c, int keepalive, int *status)
{
	kk_stream *s = stream_alloc();
	kk_h1fwd fwd;
	char client[INET6_ADDRSTRLEN];
	if (!s) {
		*status = 500;
		return NULL;
	}
	memset(s, 0, sizeof *s);
	kk_router_ref(r);
	s->router = r;
	s->rl = rl;
	s->cluster = c;
	s->front = f;
	if (h->body == KK_H1_BODY_NONE || (h->body == KK_H1_BODY_LENGTH && !h->clen))
		s->flags |= KK_STREAM_F_REQ_DONE;
	if (h->flags & KK_H1_F_HEAD)
		s->flags |= KK_STREAM_F_HEAD;
	if (keepalive)
		s->flags |= KK_STREAM_F_KEEPALIVE;
	if (!attach(s, NULL, 0)) {
		*status = s->tries ? 502 : 503;
		stream_free(s);
		return NULL;
	}
	fwd.client = kk_front_client(f, client);
	fwd.proto = "http";
	fwd.port = rl->port[0] ? rl->port : NULL;
	switch (kk_back_send_head(s->back, h, &fwd)) {
	case 0:
		*status = 503;
		goto fail;
	case -1:
		*status = 431;
		goto fail;
	}
	f->stream = s;
	return s;
fail:
	kk_back_close(s->back, KK_CLOSE_BACK_ABORT);
	stream_free(s);
	return NULL;
}

/* Moves the request body from the front endpoint to the back one, as
 * much as the back takes: the rest waits in the client's input, so
 * memory stays at two buffers whatever the body's size and framing.
 * 1 ok, 0 malformed body (the stream is answered and ended). */
static int
pump_request(kk_stream *s)
{
	kk_front *f = s->front;
	kk_back *b = s->back;
	while (!(s->flags & KK_STREAM_F_REQ_DONE)) {
		const char *p;
		size_t n, room;
		kk_buf whole;
		enum kk_msg m = kk_front_body_next(f, &p, &n);
		if (m == KK_MSG_WAIT)
			break;
		if (m == KK_MSG_INVALID)
			return 0;
		if (m == KK_MSG_END) {
			if (kk_back_body_end(b))
				s->flags |= KK_STREAM_F_REQ_DONE;
			break;
		}
		/* Body bytes only, output empty: move the buffer. */
		if (kk_back_body_takes_buf(b) && kk_front_body_take(f, &whole)) {
			kk_back_body_put_buf(b, &whole);
			continue;
		}
		room = kk_back_body_room(b, n);
		if (!room)
			break;
		kk_back_body_put(b, p, room);
		kk_front_body_used(f, room);
	}
	return 1;
}

/* Response rounds per pump: fairness between streams, since a pass can
 * move a buffer's worth each time the client's socket takes it. */
#define KK_STREAM_RESP_ROUNDS 64

/* A 101 answering an upgrade (RFC 9110 §7.8): its head goes to the
 * client, the stream ends and both connections become a tunnel, the bytes
 * each side sent past its head going first. A request body goes whole
 * before the switch: until it is queued upstream the 101 waits in the
 * back connection's input, so the backend reads the request as framed,
 * then tunnel bytes. 0 wait, -1 the stream ended (switched, or failed). */
static int
switch_protocols(kk_stream *s, const kk_h1head *h)
{
	kk_front *f = s->front;
	kk_back *b = s->back;
	int keep = 0, r;
	if (!(s->flags & KK_STREAM_F_REQ_DONE))
		return 0;
	r = kk_front_send_head(f, h, &keep);
	if (r < 0) {
		kk_stream_back_error(s, KK_CLOSE_BACK_INVALID);
		return -1;
	}
	if (!r)
		return 0;
	kk_stats.responses[1]++;
	kk_back_resp_head_done(b, h);
	b->stream = NULL;
	s->back = NULL;
	f->stream = NULL;
	stream_free(s);
	kk_front_upgrade(f, b);
	return -1;
}

/* Passes the next response head on. 1 progress, 0 wait, -1 the stream
 * ended (the back connection failed it, or a 101 switched it). */
static int
response_head(kk_stream *s)
{
	const kk_h1head *h;
	int keep, r;
	enum kk_msg m = kk_back_resp_head(s->back, (s->flags & KK_STREAM_F_HEAD) != 0, &h);
	if (m == KK_MSG_WAIT)
		return 0;
	if (m == KK_MSG_UPGRADE)
		return switch_protocols(s, h);
	if (m != KK_MSG_HEAD) {
		kk_stream_back_error(s, m == KK_MSG_RESET ? KK_CLOSE_BACK_RESET :
		    KK_CLOSE_BACK_INVALID);
		return -1;
	}
	keep = (s->flags & KK_STREAM_F_KEEPALIVE) && (s->flags & KK_STREAM_F_REQ_DONE);
	r = kk_front_send_head(s->front, h, &keep);
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
		kk_stats.responses[h->status / 100]++;
	}
	kk_back_resp_head_done(s->back, h);
	return 1;
}

/* Moves the response from the back endpoint to the front one, as events:
 * heads, body data (whole buffers when both sides allow), the end. 1 ok,
 * 0 stream ended (answered or aborted). */
static int
pump_response(kk_stream *s)
{
	kk_back *b = s->back;
	kk_front *f = s->front;
	unsigned round;

	if (!(s->flags & KK_STREAM_F_RESP_BYTES) && kk_back_resp_began(b)) {
		/* The response began: the request copy kept for a retry is
		 * no longer needed (the back endpoint let it go). */
		s->flags |= KK_STREAM_F_RESP_BYTES;
	}
	for (round = 0; !(s->flags & KK_STREAM_F_RESP_DONE) && round < KK_STREAM_RESP_ROUNDS;
	    round++) {
		const char *p;
		size_t n, room;
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
		m = kk_back_body_next(b, &p, &n);
		if (m == KK_MSG_WAIT)
			break;
		if (m == KK_MSG_INVALID || m == KK_MSG_RESET) {
			kk_stream_back_error(s, m == KK_MSG_RESET ? KK_CLOSE_BACK_RESET :
			    KK_CLOSE_BACK_INVALID);
			return 0;
		}
		if (m == KK_MSG_END) {
			if (kk_front_body_end(f))
				s->flags |= KK_STREAM_F_RESP_DONE;
			break;
		}
		/* Body bytes only, output empty: hand the buffer over instead
		 * of copying it. */
		if (kk_front_body_takes_buf(f) && kk_back_body_take(b, &whole)) {
			kk_front_body_put_buf(f, &whole);
			continue;
		}
		room = kk_front_body_room(f);
		if (!room)
			break;
		if (n > room)
			n = room;
		kk_front_body_put(f, p, n);
		kk_back_body_used(b, n);
	}
	return 1;
}

static void
stream_finish(kk_stream *s)
{
	kk_front *f = s->front;
	kk_back *b = s->back;
	int keep = (s->flags & KK_STREAM_F_KEEPALIVE) != 0, whole;
	if (b) {
		b->stream = NULL;
		s->back = NULL;
		kk_back_release(b, (s->flags & KK_STREAM_F_REQ_DONE) != 0);
	}
	if (!(s->flags & KK_STREAM_F_REQ_DONE))
		keep = 0;	/* the rest of the request body is unread */
	f->stream = NULL;
	whole = (s->flags & KK_STREAM_F_REQ_DONE) != 0;
	stream_free(s);
	kk_front_stream_done(f, keep, whole);
}

/* A refused request body: 400 if no response began, else a cut. */
static void
bad_body(kk_stream *s)
{
	kk_front *f = s->front;
	int answered = (s->flags & KK_STREAM_F_RESP_HEAD) != 0;
	kk_stats.refused[KK_H1_E_SYNTAX]++;
	kk_back_close(s->back, KK_CLOSE_BACK_ABORT);
	s->back = NULL;
	f->stream = NULL;
	stream_free(s);
	if (answered)
		kk_front_close(f, KK_CLOSE_BAD_REQUEST);
	else
		kk_front_respond_error(f, 400, 0, KK_CLOSE_BAD_REQUEST);
}

/* Times whoever the stream waits on, and only while it waits: the
 * backend while it owes the response (the request is wholly queued and
 * the client takes what comes) or leaves request bytes unread; the client
 * while it owes body bytes (its input is all taken) or leaves response
 * bytes unread. A slow upload is then the client's to answer for, a
 * client that stops reading releases both connections, and a deadline
 * moves only when its side makes progress. */
static void
stream_timers(kk_stream *s)
{
	int req_done = (s->flags & KK_STREAM_F_REQ_DONE) != 0;
	kk_front_stream_timer(s->front, req_done);
	kk_back_stream_timer(s->back, req_done && !kk_front_backlog(s->front));
}

int
kk_stream_pump(kk_stream *s)
{
	kk_front *f = s->front;
	kk_back *b = s->back;
	unsigned round;
	int r;

	if (!b)
		return 1;
	/* Each pass moves what fits; writing frees room for the next pass.
	 * Stop when a pass changes nothing (or after a few: fairness). */
	for (round = 0; round < 8; round++) {
		uint64_t fp = kk_front_progress(f), bp = kk_back_progress(b);
		if (!(s->flags & KK_STREAM_F_REQ_DONE) && !pump_request(s)) {
			bad_body(s);
			return 0;
		}
		/* More follows when the client's socket has more body
		 * waiting: let the kernel fill whole packets. */
		r = kk_back_flush(b, !(s->flags & KK_STREAM_F_REQ_DONE) && kk_front_readable(f));
		if (r < 0) {
			kk_stream_back_error(s, KK_CLOSE_BACK_RESET);
			return 0;
		}
		if (kk_back_active(b) && !pump_response(s))
			return 0;
		if (kk_front_flush(f, !(s->flags & KK_STREAM_F_RESP_DONE) &&
		    kk_back_readable(b)) < 0) {
			kk_front_close(f, KK_CLOSE_WRITE_ERROR);
			return 0;
		}
		if (s->flags & KK_STREAM_F_RESP_DONE) {
			stream_finish(s);
			return 0;
		}
		if (fp == kk_front_progress(f) && bp == kk_back_progress(b))
			break;
	}
	/* Nothing follows at once: send what was held for a fuller packet. */
	if (!kk_front_backlog(f) && !kk_back_readable(b))
		kk_front_push(f);
	if (!kk_back_backlog(b) && !kk_front_readable(f))
		kk_back_push(b);
	/* A side whose last read filled its buffer may have more waiting in
	 * the kernel, and no new edge will say so: run it again, once its
	 * buffer has room (else it would spin until the other side moves,
	 * and that side's progress wakes it). */
	if (!(s->flags & KK_STREAM_F_REQ_DONE))
		kk_front_wake_if_more(f);
	kk_back_wake_if_more(b);
	stream_timers(s);
	return 1;
}

void
kk_stream_back_error(kk_stream *s, enum kk_close reason)
{
	kk_back *b = s->back, *nb;
	kk_front *f = s->front;
	int connect_failed = reason == KK_CLOSE_BACK_CONNECT || reason == KK_CLOSE_BACK_CONNECT_TIMEOUT;
	int resend = kk_back_can_resend(b, reason);

	if (connect_failed)
		kk_bend_mark_down(s->bend, kk_now_ms);
	/* Retry: nothing of the response came, the request can be sent again
	 * whole, and this is the first retry. A failed connect goes to another
	 * backend; a reused connection that the backend had closed goes to a
	 * fresh connection to the same backend. */
	if (!(s->flags & KK_STREAM_F_RESP_BYTES) && resend && s->tries < 2) {
		kk_bend *failed = s->bend;
		kk_back_req saved;
		kk_back_req_save(b, &saved);
		b->stream = NULL;
		s->back = NULL;
		kk_back_close(b, reason);
		if (connect_failed)
			s->bend = NULL;
		if (attach(s, connect_failed ? failed : NULL, !connect_failed)) {
			nb = s->back;
			kk_back_req_resend(nb, &saved);
			kk_stats.retries++;
			kk_back_wake(nb);
			if (!(s->flags & KK_STREAM_F_REQ_DONE))
				kk_front_wake(f);
			return;
		}
		kk_buf_give(&saved.buf);
	} else {
		b->stream = NULL;
		s->back = NULL;
		kk_back_close(b, reason);
	}
	f->stream = NULL;
	if ((s->flags & KK_STREAM_F_RESP_HEAD) && !kk_front_take_back(f)) {
		/* Part of the response went out: the client gets what was
		 * queued, then a close without the end of the message (no
		 * final chunk, or fewer bytes than announced): a cut it can
		 * see. */
		stream_free(s);
		kk_front_abort(f, KK_CLOSE_BACKEND_ERROR);
		return;
	}
	/* Nothing of the final response reached the client: it was taken
	 * back and the 502 goes in its place. */
	stream_free(s);
	kk_front_respond_error(f, reason == KK_CLOSE_BACK_TIMEOUT ? 504 : 502, 0,
	    KK_CLOSE_DONE);
}

void
kk_stream_front_drained(kk_stream *s)
{
	if (s->back && kk_back_pending(s->back))
		kk_back_wake(s->back);
}

void
kk_stream_abort(kk_stream *s)
{
	if (s->back) {
		s->back->stream = NULL;
		kk_back_close(s->back, KK_CLOSE_BACK_ABORT);
		s->back = NULL;
	}
	s->front->stream = NULL;
	stream_free(s);
}
