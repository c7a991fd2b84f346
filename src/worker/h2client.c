/* ISC license. */
/* The h2 client: an nghttp2 client session per back connection (h2bc, a
 * kk_back with the session and its streams), each request a stream of it
 * (h2bs) that is the back endpoint of one kk_stream. h2c with prior
 * knowledge to plain backends. nghttp2 is called from the connection's
 * run (bc_run) and from the endpoint's calls, never from within one of
 * its own callbacks: a callback records what came (flags, buffers) and
 * queues the stream, which the run then pumps, so no callback ever ends
 * a kk_stream. Flow control: a stream's window opens only as its client
 * takes the bytes (nghttp2_session_consume), so a slow client holds back
 * its own stream, not the connection. The pool's rules are back.c's: a
 * connection with a free stream slot is in its bend's avail. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <nghttp2/nghttp2.h>
#include "back.h"
#include "h2client.h"
#include "h2head.h"
#include "h2io.h"
#include "log.h"
#include "stream.h"
#include "tls.h"
#include "worker.h"

/* Streams a connection carries until the backend's SETTINGS say how
 * many it takes: RFC 9113 §6.5.2 advises servers to allow at least 100.
 * Past KK_H2B_MAX_SLOTS another connection is opened whatever the
 * backend allows: the connection window covers that many streams'
 * windows, and one lost connection fails no more streams than that. */
#define KK_H2B_SLOTS 100
#define KK_H2B_MAX_SLOTS 128
#define KK_H2B_RUN_ROUNDS 16	/* read, pump, send rounds per run: fairness */
/* What a --tls backend is offered by ALPN (RFC 9113 §3.2), wire form. */
static const unsigned char alpn_h2[] = "\x02h2";

/* Stream flags. */
#define B_HEAD 0x1		/* hbuf holds a whole response head not yet passed on */
#define B_FINAL 0x2		/* the final head came: a later block is trailers */
#define B_TRAILERS 0x4		/* tbuf holds the response's trailer block, whole */
#define B_RESP_END 0x8		/* the backend ended its side (END_STREAM) */
#define B_CLOSED 0x10		/* nghttp2 closed the stream (code says how) */
#define B_REFUSED 0x20		/* the backend never processed it: safe to send again */
#define B_BAD 0x40		/* a header block past its buffer or refused */
#define B_BODY 0x80		/* the request has a body (a data provider) */
#define B_BODY_SENT 0x100	/* body bytes went: the request cannot be sent again */
#define B_REQ_END 0x200		/* the request body is wholly in obuf */
#define B_REQ_TRAILERS 0x400	/* obuf holds the request's trailer block */
#define B_DEFERRED 0x800	/* nghttp2 waits for obuf: resume it */
#define B_IN_TRAILERS 0x1000	/* the block being received is trailers */
#define B_FINAL_IN 0x2000	/* the block being received has a final :status */
#define B_OWED 0x4000		/* its stream waits on the backend (ep_timer) */
#define B_SUBMITTED 0x8000	/* its HEADERS are queued or sent */
#define B_HEAD_END 0x10000	/* the head in hbuf ended the stream */
#define B_REUSED 0x20000	/* it went on a connection that was idle in the pool */

typedef struct h2bc h2bc;
typedef struct h2bs h2bs;

/* One per HTTP/2 back connection. back comes first: the pool, the drain
 * and kk_back_close see the connection as the kk_back it is. */
struct h2bc {
	kk_back back;
	nghttp2_session *session;
	kk_link streams;	/* h2bs.link: attached, or let go and waiting to close */
	kk_link ready;		/* h2bs.rlink: streams to pump in this run */
	unsigned nowed;		/* streams that wait on the backend */
	unsigned long back_ms;	/* the backend timeout of the listener its streams came by */
	unsigned char connected;	/* the connect and the transport's start are done */
	unsigned char goaway;	/* the backend sent GOAWAY: no new stream goes here */
	unsigned char failing;	/* its streams are being failed: it closes after */
};

/* One per request: the back endpoint of its kk_stream (stream), or, once
 * the stream let go while nghttp2 still knows its id, an orphan that
 * waits for nghttp2 to close it (stream NULL): nghttp2 holds a pointer to
 * it until then. */
struct h2bs {
	kk_link link;		/* h2bc.streams, or the free list */
	kk_link rlink;		/* h2bc.ready */
	h2bc *conn;
	kk_stream *stream;
	int32_t id;
	unsigned flags;		/* B_* */
	kk_buf req;		/* the request head as a block: kept for a retry */
	kk_buf obuf;		/* request body (or its trailer block) for nghttp2 */
	kk_buf hbuf;		/* the response head block */
	kk_buf tbuf;		/* the response trailer block */
	kk_h2ring in;		/* response body */
	uint64_t moved;		/* bytes moved by the pump: its progress */
};

static kk_link h2bc_free = { &h2bc_free, &h2bc_free };
static kk_link h2bs_free = { &h2bs_free, &h2bs_free };
static nghttp2_session_callbacks *callbacks;
static nghttp2_option *options;
/* Scratch: one head or trailer block is converted at a time. */
static kk_resphead resp_head;
static kk_fields resp_trailers;
#define OUT_FIELDS (KK_HEAD_MAXFIELDS + KK_HEAD_MAXADD + 5)
static kk_h2field out_fields[OUT_FIELDS];
static nghttp2_nv out_nv[OUT_FIELDS];
static char out_text[KK_HEAD_ADDMAX + 64];

static void bc_run(kk_conn *);
static void bc_timeout(kk_conn *);
static void bc_free(kk_task *);
static ssize_t body_read(nghttp2_session *, int32_t, uint8_t *, size_t, uint32_t *,
    nghttp2_data_source *, void *);
static const kk_protocol h2_client = { "h2-client", bc_run, bc_timeout };

static void
conn_wake(h2bc *c)
{
	kk_conn_wake(&c->back.conn);
}

static void
ready(h2bs *s)
{
	if (!kk_link_linked(&s->rlink))
		kk_list_push(&s->conn->ready, &s->rlink);
	conn_wake(s->conn);
}

/* Whether c may take another stream: not retired, a slot free. */
static int
has_room(const h2bc *c)
{
	return !c->goaway && !c->failing && c->back.streams < c->back.slots;
}

/* c's place in its bend's pool, after its streams or slots changed. */
static void
place(h2bc *c)
{
	kk_back *b = &c->back;
	if (!has_room(c))
		kk_list_unlink(&b->link);
	else if (!kk_link_linked(&b->link))
		kk_list_push(&b->bend->avail, &b->link);
}

/* The connection's timer: the idle timeout with no stream, else the
 * backend timeout while a stream waits on it, moved on as bytes move;
 * none while every stream waits on its client. A connect has its own,
 * armed when it starts. */
static void
set_timer(h2bc *c, int moved)
{
	kk_conn *conn = &c->back.conn;
	if (!c->connected)
		return;
	if (!c->back.streams) {
		if (!kk_timer_armed(&conn->timer))
			kk_timer_arm(&conn->timer, kk_now_ms + KK_BACK_IDLE_MS);
	} else if (!c->nowed)
		kk_timer_disarm(&conn->timer);
	else if (moved || !kk_timer_armed(&conn->timer))
		kk_timer_arm(&conn->timer, kk_now_ms + c->back_ms);
}

/* The response bytes s holds, given back. The connection's window
 * opens for them (and for those its client took and whose window was
 * not open yet): the backend sent them, and a window that dried up with
 * each stream dropped would stall the connection's other streams. */
static void
drop_body(h2bs *s)
{
	size_t n = kk_h2ring_drop(&s->in);
	if (n && !s->conn->failing) {
		nghttp2_session_consume_connection(s->conn->session, n);
		conn_wake(s->conn);
	}
}

static void
bs_put(h2bs *s)
{
	h2bc *c = s->conn;
	kk_back *b = &c->back;
	kk_list_unlink(&s->link);
	if (kk_link_linked(&s->rlink))
		kk_list_unlink(&s->rlink);
	if (s->flags & B_OWED)
		c->nowed--;
	kk_buf_give(&s->req);
	kk_buf_give(&s->obuf);
	kk_buf_give(&s->hbuf);
	kk_buf_give(&s->tbuf);
	drop_body(s);
	kk_list_push(&h2bs_free, &s->link);
	if (c->failing)
		return;
	b->streams--;
	if (!b->streams) {
		/* No stream left: idle, or (in its run, which no callback
		 * of nghttp2 is) closed when retired. */
		b->bend->nactive--;
		kk_stats.back_active--;
		b->state = KK_BACK_IDLE;
		b->bend->nidle++;
		kk_stats.back_idle++;
		kk_timer_disarm(&b->conn.timer);
		set_timer(c, 1);
		conn_wake(c);
	}
	place(c);
}

/* The stream lets s go: freed when nghttp2 knows nothing of it, else an
 * orphan until nghttp2 closes it, reset unless both sides ended. */
static void
let_go(h2bs *s)
{
	h2bc *c = s->conn;
	s->stream = NULL;
	if (s->flags & B_OWED) {
		s->flags &= ~B_OWED;
		c->nowed--;
	}
	if (!(s->flags & B_SUBMITTED) || (s->flags & B_CLOSED) || c->failing) {
		bs_put(s);
		return;
	}
	drop_body(s);
	if (!(s->flags & B_RESP_END) || !(s->flags & B_REQ_END) || s->obuf.len ||
	    (s->flags & B_REQ_TRAILERS)) {
		nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
		conn_wake(c);
	}
}

/* The stream with id on c, for the callbacks that come before nghttp2
 * opened it (a HEADERS frame that could not go). */
static h2bs *
find(h2bc *c, int32_t id)
{
	kk_link *l;
	for (l = c->streams.next; l != &c->streams; l = l->next) {
		h2bs *s = KK_CONTAINER(l, h2bs, link);
		if (s->id == id)
			return s;
	}
	return NULL;
}

/* nghttp2 is done with s: recorded for its stream, or an orphan freed. */
static void
closed(h2bs *s, uint32_t code)
{
	s->flags |= B_CLOSED;
	/* Not processed, so safe to send again (RFC 9113 §8.7): refused,
	 * or above the last id a GOAWAY names (nghttp2 closes those with
	 * REFUSED_STREAM). */
	if (code == NGHTTP2_REFUSED_STREAM)
		s->flags |= B_REFUSED;
	if (!s->stream) {
		bs_put(s);
		return;
	}
	ready(s);
}

/* nghttp2 callbacks: they run inside nghttp2_session_mem_recv and
 * nghttp2_session_send, called from bc_run only. */

static int
on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *ud)
{
	h2bs *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
	(void)ud;
	if (!s || frame->hd.type != NGHTTP2_HEADERS)
		return 0;
	s->flags &= ~(B_IN_TRAILERS | B_FINAL_IN);
	if (s->flags & B_FINAL) {
		s->flags |= B_IN_TRAILERS;
		kk_buf_give(&s->tbuf);
		return 0;
	}
	/* A 1xx the stream has not passed on yet is overtaken by what
	 * follows it: only the latest head waits. */
	s->flags &= ~(B_HEAD | B_HEAD_END);
	kk_buf_give(&s->hbuf);
	return 0;
}

static int
on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
    size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
	h2bs *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
	kk_buf *blk;
	(void)flags;
	(void)ud;
	if (!s || !s->stream || (s->flags & B_BAD))
		return 0;
	blk = s->flags & B_IN_TRAILERS ? &s->tbuf : &s->hbuf;
	if (namelen == 7 && !memcmp(name, ":status", 7) && valuelen && value[0] != '1')
		s->flags |= B_FINAL_IN;
	if (!kk_buf_take(blk, NULL) ||
	    !kk_h2head_add(blk, (const char *)name, namelen, (const char *)value, valuelen)) {
		/* A block no buffer holds: the response cannot be passed on. */
		s->flags |= B_BAD;
		kk_buf_give(blk);
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	return 0;
}

static void
goaway(h2bc *c, int32_t last_id)
{
	(void)last_id;
	c->goaway = 1;
	kk_list_unlink(&c->back.link);
}

static int
on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *ud)
{
	h2bc *c = ud;
	h2bs *s = frame->hd.stream_id ?
	    nghttp2_session_get_stream_user_data(session, frame->hd.stream_id) : NULL;
	int end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
	switch (frame->hd.type) {
	case NGHTTP2_HEADERS:
		if (!s || !s->stream)
			break;
		if (s->flags & B_IN_TRAILERS)
			s->flags |= B_TRAILERS;
		else {
			s->flags |= B_HEAD | (end ? B_HEAD_END : 0);
			if (s->flags & B_FINAL_IN)
				s->flags |= B_FINAL;
		}
		if (end)
			s->flags |= B_RESP_END;
		ready(s);
		break;
	case NGHTTP2_DATA:
		if (s && end) {
			s->flags |= B_RESP_END;
			if (s->stream)
				ready(s);
		}
		break;
	case NGHTTP2_SETTINGS: {
		/* The backend's stream limit is the connection's slots. */
		uint32_t n;
		if (frame->hd.flags & NGHTTP2_FLAG_ACK)
			break;
		n = nghttp2_session_get_remote_settings(session,
		    NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
		c->back.slots = (unsigned short)(n > KK_H2B_MAX_SLOTS ? KK_H2B_MAX_SLOTS : n);
		place(c);	/* none (0) for now leaves the pool: it may raise it */
		break;
	}
	case NGHTTP2_GOAWAY:
		goaway(c, frame->goaway.last_stream_id);
		break;
	}
	return 0;
}

/* Response body bytes, copied into the stream's ring: the window it was
 * given fits the ring. */
static int
on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *data,
    size_t len, void *ud)
{
	h2bs *s = nghttp2_session_get_stream_user_data(session, id);
	(void)flags;
	(void)ud;
	if (!s || !s->stream) {
		nghttp2_session_consume(session, id, len);
		return 0;
	}
	if (!(len = kk_h2ring_put(&s->in, data, len))) {
		ready(s);
		return 0;
	}
	/* More than the window, or no buffer in the pool: this stream
	 * fails, not the connection. */
	nghttp2_session_consume(session, id, len);
	s->flags |= B_BAD;
	nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_FLOW_CONTROL_ERROR);
	ready(s);
	return 0;
}

static int
on_stream_close(nghttp2_session *session, int32_t id, uint32_t code, void *ud)
{
	h2bs *s = nghttp2_session_get_stream_user_data(session, id);
	(void)ud;
	if (!s)
		return 0;
	nghttp2_session_set_stream_user_data(session, id, NULL);
	closed(s, code);
	return 0;
}

/* A request's HEADERS that could not go (the backend's GOAWAY came
 * first): the stream was never opened, so never processed. */
static int
on_frame_not_send(nghttp2_session *session, const nghttp2_frame *frame, int err, void *ud)
{
	h2bc *c = ud;
	h2bs *s;
	(void)session;
	(void)err;
	if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST ||
	    !(s = find(c, frame->hd.stream_id)) || (s->flags & B_CLOSED))
		return 0;
	closed(s, NGHTTP2_REFUSED_STREAM);
	return 0;
}

/* Frames other than DATA bodies: into the connection's output, as much
 * as fits; nghttp2 keeps the rest. */
static ssize_t
send_bytes(nghttp2_session *session, const uint8_t *data, size_t len, int flags, void *ud)
{
	h2bc *c = ud;
	(void)session;
	(void)flags;
	return kk_h2_out(&c->back.conn, data, len);
}

/* A block stored in blk as the nv array nghttp2 takes (it copies it):
 * the count. */
static size_t
block_nv(const kk_buf *blk)
{
	return kk_h2_block_nv(blk, out_nv, OUT_FIELDS);
}

/* The request body: as much of obuf as nghttp2 may send now (window,
 * frame size), written by send_data straight from obuf; deferred while
 * obuf is empty and the body goes on. The stream is looked up, not
 * taken from the source: an orphan may be gone by now. */
static ssize_t
body_read(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
    uint32_t *data_flags, nghttp2_data_source *source, void *ud)
{
	h2bs *s = nghttp2_session_get_stream_user_data(session, id);
	ssize_t n;
	(void)buf;
	(void)source;
	(void)ud;
	if (!s || !s->stream)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (s->flags & B_REQ_TRAILERS) {
		*data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
		nghttp2_submit_trailer(session, id, out_nv, block_nv(&s->obuf));
		kk_buf_give(&s->obuf);
		s->flags &= ~B_REQ_TRAILERS;
		return 0;
	}
	n = kk_h2_data_read(&s->obuf, length, (s->flags & B_REQ_END) != 0, data_flags);
	if (n == NGHTTP2_ERR_DEFERRED)
		s->flags |= B_DEFERRED;
	return n;
}

static int
send_data(nghttp2_session *session, nghttp2_frame *frame, const uint8_t *framehd,
    size_t length, nghttp2_data_source *source, void *ud)
{
	h2bc *c = ud;
	h2bs *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
	(void)source;
	if (!s)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (kk_h2_out_data(&c->back.conn, framehd, &s->obuf, length))
		return NGHTTP2_ERR_WOULDBLOCK;
	/* Room again: the stream may move more of the body. */
	if (length && !s->obuf.len && s->stream)
		ready(s);
	return 0;
}

static void
resume(h2bs *s)
{
	if (s->flags & B_DEFERRED) {
		s->flags &= ~B_DEFERRED;
		nghttp2_session_resume_data(s->conn->session, s->id);
	}
	conn_wake(s->conn);
}

/* Made once: the callbacks and the options every session shares. */
static int
setup(void)
{
	if (callbacks)
		return 1;
	if (nghttp2_session_callbacks_new(&callbacks) || nghttp2_option_new(&options))
		return 0;
	nghttp2_session_callbacks_set_send_callback(callbacks, send_bytes);
	nghttp2_session_callbacks_set_send_data_callback(callbacks, send_data);
	nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
	nghttp2_session_callbacks_set_on_frame_not_send_callback(callbacks, on_frame_not_send);
	/* Windows open as the client takes the bytes, not as they arrive. */
	nghttp2_option_set_no_auto_window_update(options, 1);
	/* Until its SETTINGS come, the backend takes KK_H2B_SLOTS. */
	nghttp2_option_set_peer_max_concurrent_streams(options, KK_H2B_SLOTS);
	return 1;
}

/* A new connection to bend for the listener rl's streams, its session
 * made and its SETTINGS queued: NULL with errno when it cannot be had. */
static h2bc *
bc_new(kk_bend *bend, const kk_rlistener *rl)
{
	kk_link *l = kk_list_first(&h2bc_free);
	size_t inuse, idle, bufsize, window;
	nghttp2_settings_entry iv[2];
	h2bc *c;
	if (!setup()) {
		errno = ENOMEM;
		return NULL;
	}
	if (l) {
		kk_list_unlink(l);
		c = KK_CONTAINER(l, h2bc, back.link);
	} else if (!(c = malloc(sizeof *c))) {
		errno = ENOMEM;
		return NULL;
	}
	memset(c, 0, sizeof *c);
	c->back.grave.run = bc_free;
	kk_list_init(&c->streams);
	kk_list_init(&c->ready);
	if (nghttp2_session_client_new2(&c->session, callbacks, c, options)) {
		kk_list_push(&h2bc_free, &c->back.link);
		errno = ENOMEM;
		return NULL;
	}
	if (!kk_back_connect(&c->back, bend, &h2_client, c)) {
		int e = errno;
		nghttp2_session_del(c->session);
		kk_list_push(&h2bc_free, &c->back.link);
		errno = e;
		return NULL;
	}
	/* Each stream's window is its ring; the connection's, every
	 * stream's, so a stream whose client is slow never stalls the
	 * others. No server push. */
	kk_buf_stats(&inuse, &idle, &bufsize);
	window = KK_H2_RING * bufsize;
	iv[0].settings_id = NGHTTP2_SETTINGS_ENABLE_PUSH;
	iv[0].value = 0;
	iv[1].settings_id = NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE;
	iv[1].value = (uint32_t)window;
	nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, 2);
	window *= KK_H2B_MAX_SLOTS;
	if (window > 0x7fffffff)
		window = 0x7fffffff;
	nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0,
	    (int32_t)window);
	c->back.slots = KK_H2B_SLOTS;
	c->back_ms = rl->back_ms;
	c->back.state = KK_BACK_ACTIVE;	/* its first stream is on its way */
	bend->nactive++;
	kk_stats.back_active++;
	if (bend->tls && !kk_tls_offer_alpn(&c->back.conn, alpn_h2, sizeof alpn_h2 - 1)) {
		/* Closed as any back connection is: its grave frees it. */
		kk_back_close(&c->back, KK_CLOSE_NOMEM);
		errno = ENOMEM;
		return NULL;
	}
	kk_timer_arm(&c->back.conn.timer, kk_now_ms + rl->connect_ms);
	return c;
}

/* Once closed (kk_back_close), at a safe point: the session goes. */
static void
bc_free(kk_task *t)
{
	h2bc *c = KK_CONTAINER(t, h2bc, back.grave);
	nghttp2_session_del(c->session);
	c->session = NULL;
	kk_list_push(&h2bc_free, &c->back.link);
}

/* The connection failed (or was given up, reason): each stream it
 * serves fails with it (a retry elsewhere, or an answer), the orphans
 * go, and it closes. */
static void
bc_fail(h2bc *c, enum kk_close reason)
{
	kk_back *b = &c->back;
	kk_link *l;
	if (b->conn.flags & KK_CONN_F_DEAD)
		return;
	c->failing = 1;
	kk_list_unlink(&b->link);
	while ((l = kk_list_first(&c->streams))) {
		h2bs *s = KK_CONTAINER(l, h2bs, link);
		if (s->stream)
			kk_stream_back_error(s->stream, reason);	/* lets s go */
		else
			bs_put(s);
	}
	/* Its state still counts it as kk_back_close will (bs_put left the
	 * counts alone while failing). */
	b->streams = 0;
	kk_back_close(b, reason);
}

/* The h2 client as a stream's back endpoint (kk_client_ops): ctx is the
 * h2bs. */

static void *
ep_get(kk_bend *bend, kk_stream *s, int fresh)
{
	kk_link *l;
	h2bc *c;
	h2bs *hs;
	kk_back *b;
	int reused = 0;
	if (!fresh && (l = kk_list_last(&bend->avail))) {
		c = KK_CONTAINER(l, h2bc, back.link);
		b = &c->back;
		kk_stats.back_reused++;
		if (!b->streams) {	/* unused until now */
			reused = 1;
			bend->nidle--;
			kk_stats.back_idle--;
			bend->nactive++;
			kk_stats.back_active++;
			b->state = KK_BACK_ACTIVE;
			kk_timer_disarm(&b->conn.timer);
		}
	} else if (!(c = bc_new(bend, s->rl)))
		return NULL;
	b = &c->back;
	l = kk_list_first(&h2bs_free);
	if (l) {
		kk_list_unlink(l);
		hs = KK_CONTAINER(l, h2bs, link);
	} else if (!(hs = malloc(sizeof *hs))) {
		if (!b->streams)	/* nothing else would close it */
			kk_back_close(b, KK_CLOSE_NOMEM);
		return NULL;
	}
	memset(hs, 0, sizeof *hs);
	hs->conn = c;
	hs->stream = s;
	hs->flags = reused ? B_REUSED : 0;
	kk_list_push(&c->streams, &hs->link);
	b->streams++;
	b->uses++;
	place(c);
	return hs;
}

static void
ep_release(void *ctx, int req_done)
{
	(void)req_done;
	let_go(ctx);
}

static void
ep_close(void *ctx, enum kk_close reason)
{
	(void)reason;
	let_go(ctx);
}

/* Submits the request kept in s->req, with a data provider when it has
 * a body. 1 queued, 0 not now. */
static int
submit(h2bs *s)
{
	nghttp2_data_provider prd;
	int32_t id;
	prd.source.ptr = s;
	prd.read_callback = body_read;
	id = nghttp2_submit_request(s->conn->session, NULL, out_nv, block_nv(&s->req),
	    (s->flags & B_BODY) ? &prd : NULL, s);
	if (id < 0)
		return 0;
	s->id = id;
	s->flags |= B_SUBMITTED;
	conn_wake(s->conn);
	return 1;
}

/* The head's fields for bend into req, and in *flags whether a body
 * follows (B_BODY) or HEADERS ends the stream (B_REQ_END). 1 ok, 0 no
 * buffer, -1 it does not fit. */
static int
put_head(kk_buf *req, const kk_reqhead *h, const kk_bend *bend, unsigned *flags)
{
	int n = kk_h2head_request_fields(h, bend->tls ? "https" : "http", bend->addr_text,
	    out_fields, OUT_FIELDS, out_text, sizeof out_text);
	if (n < 0)
		return -1;
	if (!kk_buf_take(req, NULL))
		return 0;
	if (!kk_h2head_add_all(req, out_fields, n))
		return -1;
	*flags = h->body == KK_BODY_UNKNOWN || (h->body == KK_BODY_LENGTH && h->clen)
	    ? B_BODY : B_REQ_END;	/* B_REQ_END: HEADERS with END_STREAM */
	return 1;
}

static int
ep_send_head(void *ctx, const kk_reqhead *h)
{
	h2bs *s = ctx;
	unsigned flags;
	int r = put_head(&s->req, h, s->conn->back.bend, &flags);
	if (r != 1)
		return r;
	s->flags |= flags;
	return submit(s);
}

/* A request that waits for a backend: its fields into r, for ep_resend
 * on the stream it gets. */
static int
ep_hold(const kk_reqhead *h, const kk_bend *bend, kk_resend *r)
{
	int n;
	memset(r, 0, sizeof *r);
	if ((n = put_head(&r->buf, h, bend, &r->flags)) < 0)
		kk_buf_give(&r->buf);
	return n;
}

/* Room only in an empty obuf: a server endpoint's buffer is then taken
 * whole (n fits a buffer), never a part of it, which would leave it
 * holding a buffer whose window the part already opened again. */
static size_t
ep_room(void *ctx, size_t n)
{
	h2bs *s = ctx;
	size_t room;
	if ((s->flags & (B_REQ_TRAILERS | B_CLOSED)) || s->obuf.len)
		return 0;
	if (!kk_buf_take(&s->obuf, &s->conn->back.conn.bufwait))
		return 0;
	room = kk_buf_room(&s->obuf);
	return room < n ? room : n;
}

static void
ep_put(void *ctx, const char *p, size_t n)
{
	h2bs *s = ctx;
	memcpy(kk_buf_tail(&s->obuf), p, n);
	s->obuf.len += (uint32_t)n;
	s->moved += n;
	s->flags |= B_BODY_SENT;
	resume(s);
}

static int
ep_takes_buf(void *ctx)
{
	h2bs *s = ctx;
	return !s->obuf.len && !(s->flags & (B_REQ_TRAILERS | B_CLOSED));
}

static void
ep_put_buf(void *ctx, kk_buf *buf)
{
	h2bs *s = ctx;
	s->moved += buf->len;
	s->flags |= B_BODY_SENT;
	kk_buf_move(&s->obuf, buf);
	resume(s);
}

/* Trailers wait for the body before them; then they take obuf's place
 * until body_read submits them. */
static int
ep_send_trailers(void *ctx, const kk_fields *tr)
{
	h2bs *s = ctx;
	int n;
	if (s->obuf.len)
		return 0;
	n = kk_h2head_fields(tr, out_fields, KK_HEAD_MAXFIELDS, out_text, sizeof out_text);
	if (n <= 0)
		return 1;
	if (!kk_buf_take(&s->obuf, &s->conn->back.conn.bufwait))
		return 0;
	if (!kk_h2head_add_all(&s->obuf, out_fields, n)) {
		kk_buf_give(&s->obuf);	/* a block no buffer holds: dropped */
		return 1;
	}
	s->flags |= B_REQ_TRAILERS;
	s->moved++;
	resume(s);
	return 1;
}

static int
ep_end(void *ctx)
{
	h2bs *s = ctx;
	s->flags |= B_REQ_END;
	resume(s);
	return 1;
}

/* The connection sends, after the pumps of this turn. */
static int
ep_flush(void *ctx, int more)
{
	h2bs *s = ctx;
	(void)more;
	conn_wake(s->conn);
	return 1;
}

/* Sent again elsewhere only what the backend never processed and whose
 * body never left: a failed connect, a stream it refused, or, as the h1
 * client does, a request on a connection taken idle from the pool that
 * the backend had closed (it failed with no response byte). */
static int
ep_can_resend(void *ctx, enum kk_close reason)
{
	const h2bs *s = ctx;
	if (s->flags & B_BODY_SENT)
		return 0;
	if (reason == KK_CLOSE_BACK_CONNECT || reason == KK_CLOSE_BACK_CONNECT_TIMEOUT)
		return 1;
	return reason == KK_CLOSE_BACK_RESET && ((s->flags & B_REFUSED) ||
	    ((s->flags & B_REUSED) && !(s->flags & (B_HEAD | B_FINAL))));
}

static void
ep_save(void *ctx, kk_resend *r)
{
	h2bs *s = ctx;
	r->buf = s->req;
	memset(&s->req, 0, sizeof s->req);
	r->flags = s->flags & (B_BODY | B_REQ_END);
}

static void
ep_resend(void *ctx, kk_resend *r)
{
	h2bs *s = ctx;
	kk_buf_give(&s->req);
	s->req = r->buf;
	memset(&r->buf, 0, sizeof r->buf);
	s->flags |= r->flags & (B_BODY | B_REQ_END);
	if (!submit(s)) {
		s->flags |= B_CLOSED;	/* the stream fails when it next pumps */
		ready(s);
	}
}

static int
ep_began(void *ctx)
{
	h2bs *s = ctx;
	if (!(s->flags & (B_HEAD | B_FINAL)))
		return 0;
	kk_buf_give(&s->req);
	return 1;
}

static enum kk_msg
ep_head(void *ctx, int head_req, kk_resphead **h)
{
	h2bs *s = ctx;
	if (s->flags & B_HEAD) {
		if (kk_h2head_response_in(&resp_head, &s->hbuf, (s->flags & B_HEAD_END) != 0,
		    head_req))
			return KK_MSG_INVALID;
		*h = &resp_head;
		return KK_MSG_HEAD;
	}
	if (s->flags & B_BAD)
		return KK_MSG_INVALID;
	if ((s->flags & B_CLOSED) || s->conn->failing)
		return KK_MSG_RESET;
	return KK_MSG_WAIT;
}

static void
ep_head_done(void *ctx, const kk_resphead *h)
{
	h2bs *s = ctx;
	(void)h;
	s->flags &= ~(B_HEAD | B_HEAD_END);
	kk_buf_give(&s->hbuf);
	s->moved++;
}

static enum kk_msg
ep_body_next(void *ctx, const char **p, size_t *n, kk_fields **tr)
{
	h2bs *s = ctx;
	kk_buf *b = kk_h2ring_first(&s->in);
	if (b) {
		*p = b->data + b->off;
		*n = b->len;
		return KK_MSG_DATA;
	}
	if (s->flags & B_TRAILERS) {
		if (kk_h2head_trailers(&resp_trailers, &s->tbuf))
			return KK_MSG_INVALID;
		*tr = &resp_trailers;
		return KK_MSG_TRAILERS;
	}
	if (s->flags & B_BAD)
		return KK_MSG_INVALID;
	if (s->flags & B_RESP_END)
		return KK_MSG_END;
	if ((s->flags & B_CLOSED) || s->conn->failing)
		return KK_MSG_RESET;
	return KK_MSG_WAIT;
}

/* n response bytes whose window opens again (kk_h2ring_used), the
 * stream's and the connection's. */
static void
window_open(h2bs *s, size_t n)
{
	if (!n)
		return;
	nghttp2_session_consume(s->conn->session, s->id, n);
	conn_wake(s->conn);
}

static void
ep_body_used(void *ctx, size_t n)
{
	h2bs *s = ctx;
	s->moved += n;
	window_open(s, kk_h2ring_used(&s->in, n));
}

static void
ep_trailers_used(void *ctx)
{
	h2bs *s = ctx;
	s->flags &= ~B_TRAILERS;
	s->flags |= B_RESP_END;
	kk_buf_give(&s->tbuf);
	s->moved++;
}

static size_t
ep_body_take(void *ctx, kk_buf *dst)
{
	h2bs *s = ctx;
	size_t open, n = kk_h2ring_take(&s->in, dst, &open);	/* dst is empty (kk_client_ops.body_take) */
	s->moved += n;
	window_open(s, open);
	return n;
}

static unsigned
ep_state(void *ctx)
{
	h2bs *s = ctx;
	int pending = kk_h2ring_first(&s->in) ||
	    (s->flags & (B_HEAD | B_TRAILERS | B_RESP_END | B_CLOSED));
	return (unsigned)((s->obuf.len != 0) * KK_EP_BACKLOG) |
	    (unsigned)(pending * KK_EP_PENDING) |
	    (unsigned)((s->conn->connected != 0) * KK_EP_ACTIVE);
}

static uint64_t
ep_progress(void *ctx)
{
	h2bs *s = ctx;
	return s->moved;
}

static void
ep_push(void *ctx)
{
	(void)ctx;
}

static void
ep_wake(void *ctx)
{
	ready(ctx);
}

static void
ep_wake_if_more(void *ctx)
{
	(void)ctx;
}

/* Whether its stream waits on the backend: the connection's timer runs
 * while any does (set_timer). */
static void
ep_timer(void *ctx, int owed)
{
	h2bs *s = ctx;
	h2bc *c = s->conn;
	if (owed && !(s->flags & B_OWED)) {
		s->flags |= B_OWED;
		c->nowed++;
	} else if (!owed && (s->flags & B_OWED)) {
		s->flags &= ~B_OWED;
		c->nowed--;
	}
	set_timer(c, 0);
}

static void
ep_detach(void *ctx)
{
	h2bs *s = ctx;
	s->stream = NULL;
}

static kk_conn *
ep_conn(void *ctx)
{
	h2bs *s = ctx;
	return &s->conn->back.conn;
}

/* Listed as kk_client_ops names them. */
const kk_client_ops kk_h2_client_ops = {
	"h2-client",
	ep_get, ep_release, ep_close,
	ep_send_head, ep_room, ep_put, ep_takes_buf, ep_put_buf, ep_send_trailers, ep_end,
	ep_flush,
	ep_can_resend, ep_save, ep_resend, ep_hold,
	ep_began, ep_head, ep_head_done, ep_body_next, ep_body_used, ep_trailers_used,
	ep_body_take,
	ep_state, ep_progress, ep_push, ep_wake, ep_wake_if_more, ep_timer, ep_detach, ep_conn,
};

/* The connect and the transport's start: 1 done, 0 not yet, -1 failed
 * (the connection is closed). */
static int
connecting(h2bc *c)
{
	kk_back *b = &c->back;
	int err = 0, r;
	socklen_t len = sizeof err;
	if (!(b->conn.flags & KK_CONN_F_WRITABLE))
		return 0;
	if (!(b->conn.flags & KK_CONN_F_STARTED)) {
		if (getsockopt(b->conn.io.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			b->conn.err = err;
			bc_fail(c, KK_CLOSE_BACK_CONNECT);
			return -1;
		}
	}
	r = kk_conn_start(&b->conn);
	if (r < 0) {
		kk_bend_start_failed(b->bend, &b->conn, kk_now_ms);
		bc_fail(c, KK_CLOSE_BACK_CONNECT);
		return -1;
	}
	if (!r)
		return 0;
	if (b->bend->tls) {
		size_t n = 0;
		const char *p = b->conn.tp->alpn(&b->conn, &n);
		if (n != 2 || memcmp(p, "h2", 2)) {
			/* A backend that would speak HTTP/1.1 to the preface:
			 * a failed connect, avoided as a refused one. */
			if (!kk_bend_is_down(b->bend, kk_now_ms))
				kk_log_warning("backend %s did not select "
				    "h2 by ALPN (%s): it is a --h2 cluster's; check that the "
				    "backend serves HTTP/2 over TLS", b->bend->addr_text,
				    n ? "it chose another protocol" : "it chose none");
			bc_fail(c, KK_CLOSE_BACK_CONNECT);
			return -1;
		}
	}
	c->connected = 1;
	kk_timer_disarm(&b->conn.timer);
	return 1;
}

/* Sends what nghttp2 has, as the socket takes it. -1 a write failed. */
static int
send_all(h2bc *c)
{
	int r = kk_h2_send(c->session, &c->back.conn);
	if (!r)
		conn_wake(c);
	return r < 0 ? -1 : 1;
}

/* Reads and feeds the session. 1 read something, 0 nothing, -1 the
 * connection failed (and is closed). */
static int
recv_some(h2bc *c)
{
	kk_conn *conn = &c->back.conn;
	ssize_t n;
	int r = 0;
	if (kk_conn_may_read(conn))
		r = kk_conn_fill(conn);
	if (!conn->in.len) {
		/* The end of file may have come with the last bytes. */
		if (r < 0 || (conn->flags & (KK_CONN_F_EOF | KK_CONN_F_ERROR))) {
			bc_fail(c, c->back.streams ? KK_CLOSE_BACK_RESET : KK_CLOSE_BACK_IDLE);
			return -1;
		}
		return 0;
	}
	n = nghttp2_session_mem_recv(c->session, (const uint8_t *)conn->in.data + conn->in.off,
	    conn->in.len);
	if (n < 0) {
		bc_fail(c, KK_CLOSE_BACK_INVALID);
		return -1;
	}
	kk_buf_consume(&conn->in, (size_t)n);
	kk_buf_trim(&conn->in);
	return 1;
}

static void
bc_run(kk_conn *conn)
{
	h2bc *c = conn->pc;
	uint64_t seen = conn->bytes_in + conn->bytes_out;
	int round;
	if (conn->flags & KK_CONN_F_DEAD)
		return;
	if (!c->connected && connecting(c) <= 0)
		return;
	for (round = 0; round < KK_H2B_RUN_ROUNDS; round++) {
		kk_link *l;
		int r = 0;
		if (nghttp2_session_want_read(c->session) && (r = recv_some(c)) < 0)
			return;
		while ((l = kk_list_first(&c->ready))) {
			h2bs *s = KK_CONTAINER(l, h2bs, rlink);
			kk_list_unlink(l);
			if (s->stream)
				kk_stream_pump(s->stream);
			if (conn->flags & KK_CONN_F_DEAD)
				return;
		}
		if (send_all(c) < 0) {
			bc_fail(c, KK_CLOSE_BACK_RESET);
			return;
		}
		if (!r && !kk_list_first(&c->ready))
			break;
	}
	if (round == KK_H2B_RUN_ROUNDS)
		conn_wake(c);
	/* Retired, or no longer needed, once its last stream is done. */
	if (!c->back.streams && (c->goaway || kk_worker_draining() || !c->back.bend->refs)) {
		kk_back_close(&c->back, KK_CLOSE_BACK_DONE);
		return;
	}
	/* The session is over (a GOAWAY, and its last stream done). */
	if (!nghttp2_session_want_read(c->session) && !nghttp2_session_want_write(c->session) &&
	    !conn->out.len) {
		bc_fail(c, c->back.streams ? KK_CLOSE_BACK_RESET : KK_CLOSE_BACK_DONE);
		return;
	}
	set_timer(c, seen != conn->bytes_in + conn->bytes_out);
}

static void
bc_timeout(kk_conn *conn)
{
	h2bc *c = conn->pc;
	if (!c->connected)
		bc_fail(c, KK_CLOSE_BACK_CONNECT_TIMEOUT);
	else if (!c->back.streams)
		kk_back_close(&c->back, KK_CLOSE_BACK_IDLE_TIMEOUT);
	else
		bc_fail(c, KK_CLOSE_BACK_TIMEOUT);
}
