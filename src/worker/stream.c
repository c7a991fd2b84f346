/* ISC license. */
/* The request/response pump between a front and a back connection:
 * request bodies re-framed upstream, response heads re-serialised,
 * response bodies re-framed for the client, retries before the first
 * response byte, and the end of a stream (back connection to the pool,
 * front connection to its next request). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lb.h"
#include "stream.h"

static kk_link freelist = { &freelist, &freelist };
static kk_h1head resp_head;	/* scratch: response heads parse here */

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
	kk_buf *out;
	size_t n;
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
	s->client_minor = h->minor;
	s->req_body = (unsigned char)h->body;
	s->req_left = h->clen;
	if (h->body == KK_H1_BODY_NONE || (h->body == KK_H1_BODY_LENGTH && !h->clen))
		s->flags |= KK_STREAM_F_REQ_DONE;
	if (h->flags & KK_H1_F_HEAD)
		s->flags |= KK_STREAM_F_HEAD;
	if (keepalive)
		s->flags |= KK_STREAM_F_KEEPALIVE;
	kk_h1_chunk_init(&s->req_chunk);
	if (!attach(s, NULL, 0)) {
		*status = s->tries ? 502 : 503;
		stream_free(s);
		return NULL;
	}
	/* The head goes in the back connection's out buffer, kept after it
	 * is written until the response starts: that is what a retry sends
	 * again. */
	out = &s->back->conn.out;
	if (!kk_buf_take(out, NULL)) {
		*status = 503;
		goto fail;
	}
	fwd.client = kk_front_client(f, client);
	fwd.proto = "http";
	fwd.port = rl->port[0] ? rl->port : NULL;
	n = kk_h1_write_request(h, &fwd, kk_buf_tail(out), kk_buf_room(out));
	if (!n) {
		*status = 431;
		goto fail;
	}
	out->len += (uint32_t)n;
	s->flags |= KK_STREAM_F_REPLAY;
	f->stream = s;
	return s;
fail:
	kk_back_close(s->back, KK_CLOSE_BACK_ABORT);
	stream_free(s);
	return NULL;
}

/* A re-chunked piece adds a size line (hex digits and CRLF) before its
 * data and a CRLF after it: 20 bytes cover a 64-bit size. */
#define KK_CHUNK_OVERHEAD 20

/* Appends p[0, n) to out as one chunk, size line without extensions
 * (RFC 9112 §7.1); the caller made room for n + KK_CHUNK_OVERHEAD. */
static void
put_chunk(kk_buf *out, const char *p, size_t n)
{
	char *t = kk_buf_tail(out);
	int hl = sprintf(t, "%zx\r\n", n);
	memcpy(t + hl, p, n);
	memcpy(t + hl + n, "\r\n", 2);
	out->len += (uint32_t)(hl + n + 2);
}

/* Room at the tail of the back out buffer, wanting need bytes. Bytes
 * already sent are kept for a retry (KK_STREAM_F_REPLAY) only while the
 * request fits the buffer whole: once they stand in the way of need, the
 * request cannot be sent again anyway, so they go and the unsent bytes
 * move to the front. Less than need while unsent bytes fill the buffer. */
static size_t
request_room(kk_stream *s, kk_buf *out, size_t need)
{
	size_t room = out->cap - out->off - out->len;
	if (room >= need || !out->off)
		return room;
	s->flags &= ~KK_STREAM_F_REPLAY;
	memmove(out->data, out->data + out->off, out->len);
	out->off = 0;
	return out->cap - out->len;
}

/* Moves request body bytes from the client to the back out buffer, as
 * much as the out buffer takes: the rest waits in the client's input, so
 * memory stays at two buffers whatever the body's size and framing.
 * 1 ok, 0 malformed body (the stream is answered and ended). */
static int
pump_request(kk_stream *s)
{
	kk_buf *in = &s->front->conn.in, *out = &s->back->conn.out;
	while (!(s->flags & KK_STREAM_F_REQ_DONE) && in->len) {
		size_t room, n;
		if (!kk_buf_take(out, &s->back->conn.bufwait))
			break;
		if (s->req_body == KK_H1_BODY_LENGTH) {
			n = in->len;
			if (n > s->req_left)
				n = (size_t)s->req_left;
			if (!out->len && !(s->flags & KK_STREAM_F_REPLAY) && n == in->len) {
				/* Body bytes only, output empty: move the buffer. */
				kk_buf_give(out);
				*out = *in;
				memset(in, 0, sizeof *in);
			} else {
				room = request_room(s, out, n);
				if (n > room)
					n = room;
				if (!n)
					break;
				memcpy(kk_buf_tail(out), in->data + in->off, n);
				out->len += (uint32_t)n;
				kk_buf_consume(in, n);
			}
			s->req_left -= n;
			if (!s->req_left)
				s->flags |= KK_STREAM_F_REQ_DONE;
		} else {
			size_t used;
			int r = kk_h1_chunk_next(&s->req_chunk, in->data + in->off, in->len, &used);
			kk_buf_consume(in, used);
			if (r == KK_H1_CHUNK_ERR)
				return 0;
			if (r == KK_H1_CHUNK_MORE)
				break;
			if (r == KK_H1_CHUNK_END) {
				/* The decoder stays at its end: called again, it
				 * says so again without consuming. */
				if (request_room(s, out, 5) < 5)
					break;
				memcpy(kk_buf_tail(out), "0\r\n\r\n", 5);
				out->len += 5;
				s->flags |= KK_STREAM_F_REQ_DONE;
				break;
			}
			/* Data: re-chunk what fits, size line without extensions. */
			n = in->len;
			if (n > s->req_chunk.left)
				n = (size_t)s->req_chunk.left;
			if (!n)
				break;
			room = request_room(s, out, n + KK_CHUNK_OVERHEAD);
			if (room <= KK_CHUNK_OVERHEAD)
				break;
			if (n > room - KK_CHUNK_OVERHEAD)
				n = room - KK_CHUNK_OVERHEAD;
			put_chunk(out, in->data + in->off, n);
			kk_buf_consume(in, n);
			s->req_chunk.left -= n;
		}
	}
	kk_buf_trim(in);
	return 1;
}

/* Appends n body bytes to the client's out buffer in the stream's output
 * framing; the caller checked the room (n + KK_CHUNK_OVERHEAD for
 * chunked). */
static void
put_body(kk_stream *s, kk_buf *out, const char *p, size_t n)
{
	if (s->out == KK_OUT_CHUNKED)
		put_chunk(out, p, n);
	else {
		memcpy(kk_buf_tail(out), p, n);
		out->len += (uint32_t)n;
	}
}

static int
resp_done(kk_stream *s, kk_buf *out)
{
	if (s->out == KK_OUT_CHUNKED) {
		if (kk_buf_room(out) < 5)
			return 0;
		memcpy(kk_buf_tail(out), "0\r\n\r\n", 5);
		out->len += 5;
	}
	s->flags |= KK_STREAM_F_RESP_DONE;
	return 1;
}

/* Parses the response head in the back in buffer and queues its
 * re-serialised form. 1 progress, 0 wait, -1 invalid response. */
static int
response_head(kk_stream *s)
{
	kk_back *b = s->back;
	kk_buf *in = &b->conn.in, *out = &s->front->conn.out;
	kk_h1head *h = &resp_head;
	long n;
	int keep, chunked;
	size_t w;

	n = kk_h1_head_end(in->data + in->off, in->len, &b->scan);
	if (n < 0)
		return -1;
	/* A head that fills the buffer, or that the backend's end of file
	 * cuts, will never be whole. */
	if (!n)
		return in->len == in->cap || (b->conn.flags & (KK_CONN_F_EOF | KK_CONN_F_ERROR)) ?
		    -1 : 0;
	if (kk_h1_parse_response(h, in->data + in->off, (size_t)n,
	    (s->flags & KK_STREAM_F_HEAD) != 0) != KK_H1_OK)
		return -1;
	if (!kk_buf_take(out, &b->conn.bufwait))
		return 0;
	if (h->status < 200) {
		/* 1xx: passed on to HTTP/1.1 clients, swallowed for 1.0. */
		if (s->client_minor) {
			w = kk_h1_write_response(h, 0, 1, 1, kk_buf_tail(out), kk_buf_room(out));
			if (!w)
				return out->len ? 0 : -1;
			out->len += (uint32_t)w;
		}
		kk_buf_consume(in, (size_t)n);
		b->scan = 0;
		return 1;
	}
	s->status = h->status;
	/* Where the final response starts in the client's output: until the
	 * client has been sent a byte past it, a failed response can still
	 * be replaced by a 502. */
	s->resp_at = s->front->conn.bytes_out + out->len;
	s->resp_body = (unsigned char)h->body;
	s->resp_left = h->clen;
	switch (h->body) {
	case KK_H1_BODY_NONE: s->out = KK_OUT_NONE; break;
	case KK_H1_BODY_LENGTH: s->out = KK_OUT_LENGTH; break;
	default:
		/* Chunked, or until close: HTTP/1.1 clients get chunks and keep
		 * their connection; HTTP/1.0 clients get the bytes, then the
		 * close that ends them. */
		s->out = s->client_minor ? KK_OUT_CHUNKED : KK_OUT_RAW_CLOSE;
	}
	chunked = s->out == KK_OUT_CHUNKED;
	keep = (s->flags & KK_STREAM_F_KEEPALIVE) && s->out != KK_OUT_RAW_CLOSE &&
	    (s->flags & KK_STREAM_F_REQ_DONE) && !kk_front_draining;
	if (!keep)
		s->flags &= ~KK_STREAM_F_KEEPALIVE;
	if (!(h->flags & KK_H1_F_CLOSE) && h->body != KK_H1_BODY_CLOSE)
		s->flags |= KK_STREAM_F_BACK_REUSE;
	w = kk_h1_write_response(h, chunked, keep, s->client_minor, kk_buf_tail(out),
	    kk_buf_room(out));
	if (!w)
		return out->len ? 0 : -1;
	out->len += (uint32_t)w;
	kk_buf_consume(in, (size_t)n);
	b->scan = 0;
	s->flags |= KK_STREAM_F_RESP_HEAD;
	kk_stats.responses[h->status / 100]++;
	kk_h1_chunk_init(&s->resp_chunk);
	if (h->body == KK_H1_BODY_NONE || (h->body == KK_H1_BODY_LENGTH && !h->clen))
		resp_done(s, out);
	return 1;
}

/* Moves response bytes from the back in buffer to the client. 1 ok, 0
 * stream ended (answered or aborted). */
static int
pump_response(kk_stream *s)
{
	kk_back *b = s->back;
	kk_buf *in = &b->conn.in, *out = &s->front->conn.out;
	int guard = 0;

	if (in->len && !(s->flags & KK_STREAM_F_RESP_BYTES)) {
		s->flags |= KK_STREAM_F_RESP_BYTES;
		/* The response began: the request copy kept for a retry is
		 * no longer needed. */
		s->flags &= ~KK_STREAM_F_REPLAY;
		if (!b->conn.out.len)
			kk_buf_give(&b->conn.out);
	}
	while (!(s->flags & KK_STREAM_F_RESP_DONE) && guard++ < 64) {
		size_t room, n;
		if (!(s->flags & KK_STREAM_F_RESP_HEAD)) {
			int r;
			if (!in->len)
				break;
			r = response_head(s);
			if (r < 0) {
				kk_stream_back_error(s, KK_CLOSE_BACK_INVALID);
				return 0;
			}
			if (!r)
				break;
			continue;
		}
		if (!in->len)
			break;
		if (!kk_buf_take(out, &b->conn.bufwait))
			break;
		room = kk_buf_room(out);
		if (s->out == KK_OUT_CHUNKED) {
			if (room <= KK_CHUNK_OVERHEAD)
				break;
			room -= KK_CHUNK_OVERHEAD;
		}
		if (!room)
			break;
		if (s->resp_body == KK_H1_BODY_CHUNKED) {
			size_t used;
			int r = kk_h1_chunk_next(&s->resp_chunk, in->data + in->off, in->len, &used);
			kk_buf_consume(in, used);
			if (r == KK_H1_CHUNK_ERR) {
				kk_stream_back_error(s, KK_CLOSE_BACK_INVALID);
				return 0;
			}
			if (r == KK_H1_CHUNK_MORE)
				break;
			if (r == KK_H1_CHUNK_END) {
				if (in->len)	/* bytes after the response */
					s->flags &= ~KK_STREAM_F_BACK_REUSE;
				if (!resp_done(s, out))
					break;
				continue;
			}
			n = in->len;
			if (n > s->resp_chunk.left)
				n = (size_t)s->resp_chunk.left;
			if (n > room)
				n = room;
			if (!n)
				break;
			put_body(s, out, in->data + in->off, n);
			kk_buf_consume(in, n);
			s->resp_chunk.left -= n;
			continue;
		}
		n = in->len;
		if (s->out != KK_OUT_CHUNKED && !out->len &&
		    (s->resp_body != KK_H1_BODY_LENGTH || n <= s->resp_left)) {
			/* Body bytes only, output empty: hand the buffer over
			 * instead of copying it. */
			kk_buf_give(out);
			*out = *in;
			memset(in, 0, sizeof *in);
		} else {
			if (n > room)
				n = room;
			if (s->resp_body == KK_H1_BODY_LENGTH && n > s->resp_left)
				n = (size_t)s->resp_left;
			put_body(s, out, in->data + in->off, n);
			kk_buf_consume(in, n);
		}
		if (s->resp_body == KK_H1_BODY_LENGTH) {
			s->resp_left -= n;
			if (!s->resp_left) {
				if (in->len)
					s->flags &= ~KK_STREAM_F_BACK_REUSE;
				resp_done(s, out);
			}
		}
	}
	/* End of file from the backend ends a close-delimited body; anywhere
	 * else it is a failure. */
	if (!(s->flags & KK_STREAM_F_RESP_DONE) && !in->len &&
	    (b->conn.flags & (KK_CONN_F_EOF | KK_CONN_F_ERROR))) {
		if ((s->flags & KK_STREAM_F_RESP_HEAD) && s->resp_body == KK_H1_BODY_CLOSE &&
		    !(b->conn.flags & KK_CONN_F_ERROR)) {
			if (kk_buf_take(out, &b->conn.bufwait) && resp_done(s, out))
				return 1;
			return 1;	/* the final chunk waits for room */
		}
		kk_stream_back_error(s, KK_CLOSE_BACK_RESET);
		return 0;
	}
	kk_buf_trim(in);
	return 1;
}

static void
stream_finish(kk_stream *s)
{
	kk_front *f = s->front;
	kk_back *b = s->back;
	int keep = (s->flags & KK_STREAM_F_KEEPALIVE) != 0, whole;
	if (b) {
		int reuse = (s->flags & KK_STREAM_F_BACK_REUSE) && (s->flags & KK_STREAM_F_REQ_DONE) &&
		    !b->conn.out.len && !b->conn.in.len &&
		    !(b->conn.flags & (KK_CONN_F_EOF | KK_CONN_F_ERROR));
		b->stream = NULL;
		s->back = NULL;
		kk_back_release(b, reuse);
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
	kk_front *f = s->front;
	kk_back *b = s->back;
	uint64_t fseen = f->conn.bytes_in + f->conn.bytes_out;
	uint64_t bseen = b->conn.bytes_in + b->conn.bytes_out;
	unsigned fkind = KK_FRONT_T_NONE;
	int bowed;

	if (f->conn.out.len)
		fkind = KK_FRONT_T_SEND;
	else if (!(s->flags & KK_STREAM_F_REQ_DONE) && !f->conn.in.len)
		fkind = KK_FRONT_T_BODY;
	kk_front_stream_timer(f, fkind, fseen != s->front_seen);
	s->front_seen = fseen;
	bowed = b->conn.out.len || ((s->flags & KK_STREAM_F_REQ_DONE) && !f->conn.out.len);
	kk_back_stream_timer(b, bowed, bseen != s->back_seen);
	s->back_seen = bseen;
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
		uint32_t fin = f->conn.in.len, bin = b->conn.in.len;
		uint64_t fout = f->conn.bytes_out, bout = b->conn.bytes_out;
		if (!(s->flags & KK_STREAM_F_REQ_DONE) && !pump_request(s)) {
			bad_body(s);
			return 0;
		}
		if (b->state == KK_BACK_ACTIVE && b->conn.out.len) {
			/* More follows when the client's socket has more
			 * body waiting: let the kernel fill whole packets. */
			r = kk_conn_flush(&b->conn, (s->flags & KK_STREAM_F_REPLAY) != 0,
			    !(s->flags & KK_STREAM_F_REQ_DONE) &&
			    (f->conn.flags & KK_CONN_F_READABLE));
			if (r < 0) {
				kk_stream_back_error(s, KK_CLOSE_BACK_RESET);
				return 0;
			}
		}
		if (b->state == KK_BACK_ACTIVE && !pump_response(s))
			return 0;
		if (f->conn.out.len && kk_conn_flush(&f->conn, 0,
		    !(s->flags & KK_STREAM_F_RESP_DONE) && (b->conn.flags & KK_CONN_F_READABLE)) < 0) {
			kk_front_close(f, KK_CLOSE_WRITE_ERROR);
			return 0;
		}
		if (s->flags & KK_STREAM_F_RESP_DONE) {
			stream_finish(s);
			return 0;
		}
		if (fin == f->conn.in.len && bin == b->conn.in.len &&
		    fout == f->conn.bytes_out && bout == b->conn.bytes_out)
			break;
	}
	/* Nothing follows at once: send what was held for a fuller packet. */
	if (!f->conn.out.len && !(b->conn.flags & KK_CONN_F_READABLE))
		kk_conn_push(&f->conn);
	if (!b->conn.out.len && !(f->conn.flags & KK_CONN_F_READABLE))
		kk_conn_push(&b->conn);
	/* A side whose last read filled its buffer may have more waiting in
	 * the kernel, and no new edge will say so: run it again, once its
	 * buffer has room (else it would spin until the other side moves,
	 * and that side's progress wakes it). */
	if (!(s->flags & KK_STREAM_F_REQ_DONE) && kk_conn_may_read(&f->conn))
		kk_front_wake(f);
	if (b->state == KK_BACK_ACTIVE && kk_conn_may_read(&b->conn))
		kk_back_wake(b);
	stream_timers(s);
	return 1;
}

void
kk_stream_back_error(kk_stream *s, enum kk_close reason)
{
	kk_back *b = s->back, *nb;
	kk_front *f = s->front;
	int connect_failed = reason == KK_CLOSE_BACK_CONNECT || reason == KK_CLOSE_BACK_CONNECT_TIMEOUT;
	int reused = (b->flags & KK_BACK_F_REUSED) != 0;
	kk_buf *out = &b->conn.out;
	int resend = connect_failed ? out->off == 0 || (s->flags & KK_STREAM_F_REPLAY)
	    : reused && (s->flags & KK_STREAM_F_REPLAY) && reason == KK_CLOSE_BACK_RESET;

	if (connect_failed)
		kk_bend_mark_down(s->bend, kk_now_ms);
	/* Retry: nothing of the response came, the request can be sent again
	 * whole, and this is the first retry. A failed connect goes to another
	 * backend; a reused connection that the backend had closed goes to a
	 * fresh connection to the same backend. */
	if (!(s->flags & KK_STREAM_F_RESP_BYTES) && resend && s->tries < 2) {
		kk_bend *failed = s->bend;
		kk_buf saved = *out;
		memset(out, 0, sizeof *out);
		if (saved.data) {
			saved.len += saved.off;
			saved.off = 0;
		}
		b->stream = NULL;
		s->back = NULL;
		kk_back_close(b, reason);
		if (connect_failed)
			s->bend = NULL;
		if (attach(s, connect_failed ? failed : NULL, !connect_failed)) {
			nb = s->back;
			kk_buf_give(&nb->conn.out);
			nb->conn.out = saved;
			kk_stats.retries++;
			kk_back_wake(nb);
			if (!(s->flags & KK_STREAM_F_REQ_DONE))
				kk_front_wake(f);
			return;
		}
		kk_buf_give(&saved);
	} else {
		b->stream = NULL;
		s->back = NULL;
		kk_back_close(b, reason);
	}
	f->stream = NULL;
	if ((s->flags & KK_STREAM_F_RESP_HEAD) && f->conn.bytes_out > s->resp_at) {
		/* Part of the response went out: the client gets what was
		 * queued, then a close without the end of the message (no
		 * final chunk, or fewer bytes than announced): a cut it can
		 * see. */
		stream_free(s);
		kk_front_abort(f, KK_CLOSE_BACKEND_ERROR);
		return;
	}
	if (s->flags & KK_STREAM_F_RESP_HEAD) {
		/* Nothing of the final response reached the client yet: it is
		 * taken back (interim 1xx responses before it stay) and the
		 * 502 goes in its place. */
		f->conn.out.len = (uint32_t)(s->resp_at - f->conn.bytes_out);
		kk_buf_trim(&f->conn.out);
	}
	stream_free(s);
	kk_front_respond_error(f, reason == KK_CLOSE_BACK_TIMEOUT ? 504 : 502, 0,
	    KK_CLOSE_DONE);
}

void
kk_stream_front_drained(kk_stream *s)
{
	if (s->back && s->back->conn.in.len)
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
