/* ISC license. */
/* The h2 server: an nghttp2 server session per front connection, its
 * streams (h2s) as front endpoints of kk_streams, flow control mapped
 * onto the endpoints' room, the flood budgets and the graceful drain.
 * nghttp2 is called only from the connection's run (h2_run): a stream's
 * pump moves bytes into and out of its own buffers and wakes the
 * connection, which then reads, pumps and sends, so no callback of
 * nghttp2 ever frees what a pump is using. Framing of the h1 side, the
 * heads' validation (h2head.c) and the stream itself live elsewhere. */
#include <stdlib.h>
#include <string.h>
#include <nghttp2/nghttp2.h>
#include "answer.h"
#include "h2head.h"
#include "h2io.h"
#include "h2server.h"
#include "router.h"
#include "stream.h"
#include "worker.h"

/* Budgets per connection and second (kk_h2_flood) of a connection with
 * no listener options (a listener's --h2-max-* set them): frames that
 * cost the server work and bring no request. A real client stays far
 * below each; past one the connection gets GOAWAY ENHANCE_YOUR_CALM. */
static const unsigned short flood_budget[KK_H2_FLOOD_COUNT] = {
	200,	/* resets: h2load and browsers reset a handful
		 * (--h2-max-resets, at most nghttp2's own limit below) */
	16,	/* CONTINUATION frames of one header block (not per second) */
	50, 50,	/* SETTINGS, PING */
	500,	/* PRIORITY */
	1000,	/* WINDOW_UPDATE below KK_H2_SMALL_WINDOW_UPDATE */
	100,	/* empty DATA */
	0,	/* header list past --h2-max-header-list: at once */
	0,	/* unread acks: nghttp2 counts them (max_outbound_ack) */
	200,	/* streams reset here for what the client sent in them
		 * (--h2-max-resets too) */
};
/* nghttp2's own CONTINUATION limit, past the largest of ours
 * (--h2-max-continuations), so that ours decides and counts. */
#define KK_H2_NGHTTP2_CONTINUATIONS 1001
#define KK_H2_SMALL_WINDOW_UPDATE 1024
#define KK_H2_RUN_ROUNDS 16	/* read, pump, send rounds per run: fairness */
/* The opaque data of the PING that times the drain's round trip. */
static const uint8_t drain_ping[8] = { 'k', 'k', '-', 'd', 'r', 'a', 'i', 'n' };

/* Stream flags. */
#define S_REQ_END 0x1		/* the client ended its side (END_STREAM) */
#define S_TRAILERS 0x2		/* hbuf holds the request's trailer block, whole */
#define S_RESP 0x4		/* the final response head is submitted */
#define S_RESP_END 0x8		/* the response body is wholly in obuf */
#define S_RESP_TRAILERS 0x10	/* obuf holds the response's trailer block */
#define S_DEFERRED 0x20		/* nghttp2 waits for obuf: resume it */
#define S_DISCARD 0x40		/* no stream reads the request: its bytes go */
#define S_TOO_LARGE 0x80	/* the header block outgrew hbuf: 431 */
#define S_STARVED 0x100		/* the stream waits for the client's body bytes */
/* An extended CONNECT (RFC 8441): a 101 from the backend is its 200,
 * then the stream carries a tunnel (S_TUNNEL) to the back connection. */
#define S_CONNECT 0x200
#define S_TUNNEL 0x400
/* A HEAD request: an answer made here says its length and sends no body
 * (RFC 9110 §9.3.2; nghttp2 clients reset a stream that gets DATA). */
#define S_HEAD 0x800

typedef struct h2c h2c;
typedef struct h2s h2s;

/* One per HTTP/2 front connection: the session and its streams. */
struct h2c {
	kk_link link;		/* free list */
	kk_front *front;
	nghttp2_session *session;
	kk_link streams;	/* h2s.link */
	kk_link ready;		/* h2s.rlink: streams to pump in this run */
	unsigned nstreams;
	unsigned char reason;	/* enum kk_close: why it will end */
	unsigned char drain;	/* 0, 1 notice sent, 2 last GOAWAY sent */
	unsigned short continuations;	/* of the header block being read */
	unsigned short counts[KK_H2_FLOOD_COUNT];
	uint64_t window_at;	/* when the flood counts' second began */
	int32_t last_id;	/* the highest stream the client opened */
	/* The last streams reset here: a client may still send on them (a
	 * trailer block in flight), which is not the reuse of an id. */
	int32_t resets[8];
	unsigned char reset_at;
	uint64_t seen;		/* bytes moved when the timer last looked */
	/* DATA bytes sent that no connection WINDOW_UPDATE gave back yet:
	 * an update within them is the client's window following what it
	 * read, not a flood, however small. */
	uint64_t unacked;
};

/* One per stream the client opened: the front endpoint of its kk_stream
 * (NULL before the head is whole and after the stream let go). Freed
 * when nghttp2 closes the stream. */
struct h2s {
	kk_link link;		/* h2c.streams, or the free list */
	kk_link rlink;		/* h2c.ready */
	h2c *conn;
	kk_stream *stream;
	int32_t id;
	unsigned flags;		/* S_* */
	uint32_t hlist;		/* decoded header list size (RFC 9113 §6.5.2) */
	kk_buf hbuf;		/* the header block being read, then trailers */
	kk_h2ring in;		/* request body */
	kk_buf obuf;		/* response body (or trailer block) for nghttp2 */
	uint64_t moved;		/* bytes moved by the pump: its progress */
	unsigned long hsts;	/* HSTS max-age of the response (TLS), 0: none */
	uint64_t unacked;	/* as h2c's, for this stream's window */
	/* The tunnel of an extended CONNECT, once its backend switched: the
	 * back connection (its protocol now h2_tunnel), the client endpoint
	 * that closes it, and the bytes moved when its timer last moved. */
	kk_conn *tun;
	const kk_client_ops *tbops;
	void *tbctx;
	uint64_t tseen;
	uint64_t tbase_up, tbase_down;	/* its byte counts at the switch */
};

static kk_link h2c_free = { &h2c_free, &h2c_free };
static kk_link h2s_free = { &h2s_free, &h2s_free };
static void tun_end(h2s *, enum kk_close);
static void tun_pump(h2s *);
static void window_open(h2s *, size_t);
static nghttp2_session_callbacks *callbacks;
static nghttp2_option *options;
/* Scratch: one head or trailer block is converted at a time. */
static kk_reqhead req_head;
static kk_fields req_trailers;
/* A response's fields: :status, those kept, content-length, and those the
 * proxy adds: Strict-Transport-Security (its value in added_text) and the
 * request id, or Location. */
#define OUT_FIELDS (KK_HEAD_MAXFIELDS + 4)
static kk_h2field out_fields[OUT_FIELDS];
static nghttp2_nv out_nv[OUT_FIELDS];
static char out_text[KK_HEAD_ADDMAX + 64];
static char added_text[96];

static const kk_server_ops h2_server_ops;
static void h2_run(kk_conn *);
static void h2_timeout(kk_conn *);
static ssize_t data_read(nghttp2_session *, int32_t, uint8_t *, size_t, uint32_t *,
    nghttp2_data_source *, void *);
static const kk_protocol h2_server = { "h2-server", h2_run, h2_timeout };

int
kk_h2server_is(const kk_front *f)
{
	return f->conn.proto == &h2_server;
}

static void
ready(h2s *s)
{
	if (!kk_link_linked(&s->rlink))
		kk_list_push(&s->conn->ready, &s->rlink);
	kk_conn_wake(&s->conn->front->conn);
}

/* Queued for the connection's next run without waking it: that run
 * comes when what the stream waits for (a buffer) is back. */
static void
ready_later(h2s *s)
{
	if (!kk_link_linked(&s->rlink))
		kk_list_push(&s->conn->ready, &s->rlink);
}

static void
conn_wake(h2c *c)
{
	kk_conn_wake(&c->front->conn);
}

/* A kind's budget on c's listener (its --h2-max-* options). */
static unsigned
budget(const h2c *c, enum kk_h2_flood kind)
{
	const kk_rlistener *rl = c->front->lsock->rl;
	if (!rl)
		return flood_budget[kind];
	switch (kind) {
	case KK_H2_FLOOD_RESET:
	case KK_H2_FLOOD_PROVOKED: return rl->h2.max_resets;
	case KK_H2_FLOOD_CONTINUATION: return rl->h2.max_continuations;
	case KK_H2_FLOOD_SETTINGS: return rl->h2.max_settings;
	case KK_H2_FLOOD_PING: return rl->h2.max_pings;
	case KK_H2_FLOOD_PRIORITY: return rl->h2.max_priority;
	case KK_H2_FLOOD_WINDOW_UPDATE: return rl->h2.max_window_updates;
	case KK_H2_FLOOD_EMPTY_DATA: return rl->h2.max_empty_data;
	default: return flood_budget[kind];
	}
}

/* The budget of kind is spent: GOAWAY ENHANCE_YOUR_CALM, counted. 1 when
 * the connection is ending. */
static int
flood(h2c *c, enum kk_h2_flood kind)
{
	if (kind != KK_H2_FLOOD_CONTINUATION && kk_now_ms - c->window_at >= 1000) {
		unsigned short cont = c->continuations;
		c->window_at = kk_now_ms;
		memset(c->counts, 0, sizeof c->counts);
		c->continuations = cont;
	}
	if (kind == KK_H2_FLOOD_CONTINUATION) {
		if (++c->continuations <= budget(c, kind))
			return 0;
	} else if (++c->counts[kind] <= budget(c, kind))
		return 0;
	if (c->reason == KK_CLOSE_H2_FLOOD)
		return 1;
	kk_stats.h2_floods[kind]++;
	c->reason = KK_CLOSE_H2_FLOOD;
	nghttp2_session_terminate_session(c->session, NGHTTP2_ENHANCE_YOUR_CALM);
	return 1;
}

static h2s *
h2s_new(h2c *c, int32_t id)
{
	kk_link *l = kk_list_first(&h2s_free);
	h2s *s;
	if (l) {
		kk_list_unlink(l);
		s = KK_CONTAINER(l, h2s, link);
	} else if (!(s = malloc(sizeof *s)))
		return NULL;
	memset(s, 0, sizeof *s);
	s->conn = c;
	s->id = id;
	kk_list_push(&c->streams, &s->link);
	c->nstreams++;
	return s;
}

/* The request body bytes held, given back (and, for an open stream,
 * their window opened again: the client may go on sending them, they
 * are dropped as they come). */
static void
drop_body(h2s *s)
{
	size_t n = kk_h2ring_drop(&s->in);
	if (n)
		nghttp2_session_consume_connection(s->conn->session, n);
}

/* The stream is over for nghttp2 (or the connection closes): its buffers
 * and itself go back. */
static void
h2s_put(h2s *s)
{
	h2c *c = s->conn;
	if (s->tun)
		tun_end(s, KK_CLOSE_TUNNEL_DONE);
	kk_list_unlink(&s->link);
	if (kk_link_linked(&s->rlink))
		kk_list_unlink(&s->rlink);
	kk_buf_give(&s->hbuf);
	drop_body(s);
	kk_buf_give(&s->obuf);
	c->nstreams--;
	kk_list_push(&h2s_free, &s->link);
}

/* The stream lets the endpoint go: nothing reads the request any more. */
static void
let_go(h2s *s)
{
	s->stream = NULL;
	kk_buf_give(&s->hbuf);
	if (!(s->flags & S_REQ_END)) {
		s->flags |= S_DISCARD;
		drop_body(s);
	}
}

static void
reset(h2s *s, uint32_t code)
{
	nghttp2_submit_rst_stream(s->conn->session, NGHTTP2_FLAG_NONE, s->id, code);
	conn_wake(s->conn);
}

static void
to_nv(int n)
{
	int i;
	for (i = 0; i < n; i++) {
		out_nv[i].name = (uint8_t *)(uintptr_t)out_fields[i].name;
		out_nv[i].value = (uint8_t *)(uintptr_t)out_fields[i].value;
		out_nv[i].namelen = out_fields[i].namelen;
		out_nv[i].valuelen = out_fields[i].valuelen;
		out_nv[i].flags = NGHTTP2_NV_FLAG_NONE;
	}
}

/* Appends a field the proxy adds to the n fields of a response head,
 * when it has one: the count. */
static int
add_field(int n, const char *name, size_t namelen, const char *value, size_t valuelen)
{
	if (!valuelen)
		return n;
	out_fields[n].name = name;
	out_fields[n].namelen = namelen;
	out_fields[n].value = value;
	out_fields[n].valuelen = valuelen;
	return n + 1;
}

/* A response made here: a redirect when location is not NULL (nghttp2
 * copies it), with no body but a custom answer's; else an error, its
 * body in obuf, the custom answer's or as kk_answer_body makes it for
 * HTTP/1.1 too (without a buffer, the head alone). The stream ends
 * with it. */
static void
respond_location(h2s *s, int status, const char *location, size_t loclen)
{
	kk_resphead h;
	nghttp2_data_provider prd;
	const char *body = NULL, *type = KK_ANSWER_TYPE;
	size_t blen = 0, tlen = sizeof KK_ANSWER_TYPE - 1;
	int n;
	memset(&h, 0, sizeof h);
	h.status = (unsigned short)status;
	h.body = KK_BODY_LENGTH;
	blen = kk_answer_make(s->conn->front->lsock->rl ? s->conn->front->lsock->rl->answers
	    : NULL, status, &body, &type, &tlen);
	if ((blen || !location) && kk_buf_take(&s->obuf, NULL)) {
		if (blen && blen <= kk_buf_room(&s->obuf)) {
			memcpy(kk_buf_tail(&s->obuf), body, blen);
			h.clen = blen;
		} else {
			if (blen) {	/* larger than the buffer: the built-in one */
				kk_stats.answers_custom--;
				kk_stats.answers_too_large++;
			}
			type = KK_ANSWER_TYPE;
			tlen = sizeof KK_ANSWER_TYPE - 1;
			if (!location)	/* a redirect's built-in answer has no body */
				h.clen = kk_answer_body(status, kk_buf_tail(&s->obuf),
				    kk_buf_room(&s->obuf));
		}
		s->obuf.len += (uint32_t)h.clen;
	}
	kk_stats.responses[status / 100]++;
	kk_wmetrics_response(s->conn->front->lsock->m, (unsigned)status);
	n = kk_h2head_response(&h, out_fields, OUT_FIELDS - 3, out_text, sizeof out_text);
	if (location)
		n = add_field(n, "location", 8, location, loclen);
	if (status == 503)	/* as kk_h1_write_error says why */
		n = add_field(n, "retry-after", 11, "1", 1);
	{
		size_t clen;
		const char *chal = kk_answer_made_challenge(&clen);
		if (chal)	/* nghttp2 copies it */
			n = add_field(n, "www-authenticate", 16, chal, clen);
	}
	if (h.clen) {
		n = add_field(n, "content-type", 12, type, tlen);
		n = add_field(n, "cache-control", 13, KK_ANSWER_CACHE, sizeof KK_ANSWER_CACHE - 1);
	}
	to_nv(n);
	prd.source.ptr = s;
	prd.read_callback = data_read;
	if (nghttp2_submit_response(s->conn->session, s->id, out_nv, (size_t)n,
	    h.clen && !(s->flags & S_HEAD) ? &prd : NULL))
		reset(s, NGHTTP2_INTERNAL_ERROR);
	s->flags |= S_RESP | S_RESP_END;
	conn_wake(s->conn);
}

static void
respond(h2s *s, int status)
{
	respond_location(s, status, NULL, 0);
}

/* --https-redirect on a plain listener: Location as for HTTP/1.1,
 * written in a pooled buffer while nghttp2 copies it. */
static void
respond_redirect(h2s *s, const kk_rcluster *cl, const kk_reqhead *h, const char *actions,
    int status)
{
	kk_buf loc = { 0 };
	size_t n;
	kk_answer_about(cl->answers, cl->id, NULL, NULL, 0);
	kk_answer_route(h);
	if (!kk_buf_take(&loc, NULL) || !(n = kk_front_location(cl, h, actions, loc.data, loc.cap))) {
		kk_buf_give(&loc);
		respond(s, 500);
		return;
	}
	respond_location(s, status, loc.data, n);
	kk_buf_give(&loc);
}

/* The request head is whole: validated, routed, and its stream started,
 * or answered here. */
static void
request_ready(h2c *c, h2s *s, int end_stream)
{
	kk_front *f = c->front;
	kk_rlistener *rl = f->lsock->rl;
	kk_reqhead *h = &req_head;
	kk_rcluster *cl;
	kk_fwd fwd;
	char client[INET6_ADDRSTRLEN];
	int e, status;
	unsigned long hsts;
	const char *actions;
	/* X-Forwarded-Proto tells the connection's scheme, not :scheme. */
	unsigned char scheme = f->conn.tp == &kk_transport_plain ? KK_SCHEME_HTTP :
	    KK_SCHEME_HTTPS;
	kk_stats.requests++;
	f->lsock->m->requests++;
	f->lsock->m->ended++;
	kk_stats.h2_streams++;
	if (end_stream)
		s->flags |= S_REQ_END;
	e = s->flags & S_TOO_LARGE ? KK_H2HEAD_E_TOO_LARGE :
	    kk_h2head_request(h, &s->hbuf, end_stream, scheme);
	if (e) {
		kk_stats.h2_refused[e]++;
		status = kk_h2head_err_status(e);
		let_go(s);
		/* Malformed: a stream error (RFC 9113 §8.1.1). */
		if (!status)
			reset(s, NGHTTP2_PROTOCOL_ERROR);
		else
			respond(s, status);
		return;
	}
	/* Whole and valid: the method is known (h is the last request's
	 * when the block was not parsed). */
	if (h->flags & KK_HEAD_F_HEAD)
		s->flags |= S_HEAD;
	/* Routed as HTTP/1.1 requests are (421 for a host the certificate
	 * does not cover, which also tells a client that coalesced
	 * connections to open another, RFC 9113 §9.1.1). */
	if ((status = kk_front_route(f, h, &cl, &hsts, &actions))) {
		/* The head's spans are in hbuf, which let_go gives back. */
		kk_front_log_answered(f, h, cl, status);
		if (cl)
			respond_redirect(s, cl, h, actions, status);
		else
			respond(s, status);
		let_go(s);
		return;
	}
	s->hsts = hsts;
	if (h->flags & KK_HEAD_F_CONNECT_PROTOCOL) {
		/* Tunnels go to HTTP/1.1 backends, as upgrades: an HTTP/2
		 * one would need extended CONNECT of its own. */
		if (cl->h2) {
			kk_front_log_answered(f, h, cl, 501);
			respond(s, 501);
			let_go(s);
			return;
		}
		s->flags |= S_CONNECT;
	}
	kk_front_fwd(f, &fwd, client);
	s->stream = kk_stream_start(&h2_server_ops, s, h, &fwd, kk_worker_router(), rl, cl,
	    actions, 1, &status);
	/* The back endpoint wrote the head out: its bytes are no longer
	 * needed. */
	if (!s->stream) {	/* before the head's bytes go */
		kk_answer_about(cl->answers, cl->id, NULL, NULL, 0);
		kk_answer_route(h);
	}
	kk_buf_give(&s->hbuf);
	if (!s->stream) {
		let_go(s);
		respond(s, status);
		return;
	}
	ready(s);
}

/* nghttp2 callbacks: they run inside nghttp2_session_mem_recv and
 * nghttp2_session_send, called from h2_run only. */

static int
on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *ud)
{
	h2c *c = ud;
	h2s *s;
	(void)session;
	if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	if (!(s = h2s_new(c, frame->hd.stream_id)))
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	nghttp2_session_set_stream_user_data(c->session, s->id, s);
	return 0;
}

static int
on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
    size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
	h2c *c = ud;
	h2s *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
	unsigned max = c->front->lsock->rl ? c->front->lsock->rl->h2.max_header_list : 65536;
	(void)flags;
	if (!s || (s->flags & S_DISCARD))
		return 0;
	/* The decoded size, as SETTINGS_MAX_HEADER_LIST_SIZE counts it: a
	 * small block of indexed fields can decode to megabytes (an HPACK
	 * bomb), so the decoded bytes are what is bounded. */
	s->hlist += (uint32_t)(namelen + valuelen + 32);
	if (s->hlist > max) {
		flood(c, KK_H2_FLOOD_HEADER_LIST);
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	if (s->flags & S_TOO_LARGE)
		return 0;
	if (!kk_buf_take(&s->hbuf, NULL) ||
	    !kk_h2head_add(&s->hbuf, (const char *)name, namelen, (const char *)value, valuelen))
		s->flags |= S_TOO_LARGE;
	return 0;
}

/* Trailers from the client: whole, checked, then passed on as the
 * stream reads them (body_next). */
static void
trailers_ready(h2s *s)
{
	int e;
	s->flags |= S_REQ_END;
	if (s->flags & S_DISCARD)
		return;
	e = s->flags & S_TOO_LARGE ? KK_H2HEAD_E_TOO_LARGE :
	    kk_h2head_trailers(&req_trailers, &s->hbuf);
	if (e) {
		kk_stats.h2_refused[e]++;
		kk_buf_give(&s->hbuf);
		reset(s, NGHTTP2_PROTOCOL_ERROR);
		return;
	}
	s->flags |= S_TRAILERS;
	ready(s);
}

/* A small WINDOW_UPDATE counts toward the flood only for what it gives
 * past the DATA sent on its stream (or connection): a client that reads
 * a large body in small steps sends many, each giving back bytes it
 * got, which costs no more than the DATA did. */
static void
window_update(h2c *c, h2s *s, const nghttp2_frame *frame)
{
	uint64_t inc = (uint32_t)frame->window_update.window_size_increment;
	uint64_t *unacked = frame->hd.stream_id ? (s ? &s->unacked : NULL) : &c->unacked;
	uint64_t acked = unacked ? (inc < *unacked ? inc : *unacked) : 0;
	if (unacked)
		*unacked -= acked;
	if (inc < KK_H2_SMALL_WINDOW_UPDATE && acked < inc)
		flood(c, KK_H2_FLOOD_WINDOW_UPDATE);
}

static int
on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *ud)
{
	h2c *c = ud;
	h2s *s = frame->hd.stream_id ?
	    nghttp2_session_get_stream_user_data(session, frame->hd.stream_id) : NULL;
	int end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
	switch (frame->hd.type) {
	case NGHTTP2_HEADERS:
		c->continuations = 0;
		if (!s)
			break;
		if (frame->headers.cat == NGHTTP2_HCAT_REQUEST)
			request_ready(c, s, end);
		else
			trailers_ready(s);
		break;
	case NGHTTP2_DATA:
		if (!frame->hd.length && !end && flood(c, KK_H2_FLOOD_EMPTY_DATA))
			break;
		if (s && end) {
			s->flags |= S_REQ_END;
			if (s->stream || s->tun)
				ready(s);
		}
		break;
	case NGHTTP2_SETTINGS:
		if (!(frame->hd.flags & NGHTTP2_FLAG_ACK))
			flood(c, KK_H2_FLOOD_SETTINGS);
		break;
	case NGHTTP2_PING:
		if (!(frame->hd.flags & NGHTTP2_FLAG_ACK))
			flood(c, KK_H2_FLOOD_PING);
		else if (c->drain == 1 && !memcmp(frame->ping.opaque_data, drain_ping, 8)) {
			/* A round trip after the notice: every stream the
			 * client opened before it has reached us. */
			nghttp2_submit_goaway(session, NGHTTP2_FLAG_NONE,
			    nghttp2_session_get_last_proc_stream_id(session), NGHTTP2_NO_ERROR,
			    NULL, 0);
			c->drain = 2;
		}
		break;
	case NGHTTP2_PRIORITY:
		flood(c, KK_H2_FLOOD_PRIORITY);
		break;
	case NGHTTP2_WINDOW_UPDATE:
		window_update(c, s, frame);
		break;
	case NGHTTP2_RST_STREAM:
		flood(c, KK_H2_FLOOD_RESET);
		break;
	}
	return 0;
}

static int
on_begin_frame(nghttp2_session *session, const nghttp2_frame_hd *hd, void *ud)
{
	h2c *c = ud;
	unsigned i;
	if (hd->type == NGHTTP2_CONTINUATION)
		flood(c, KK_H2_FLOOD_CONTINUATION);
	if (hd->type != NGHTTP2_HEADERS || !(hd->stream_id & 1))
		return 0;
	if (hd->stream_id > c->last_id) {
		c->last_id = hd->stream_id;
		/* 2^31-1, the last id: the client can open no other stream
		 * (RFC 9113 §5.1.1), so the connection ends gracefully once
		 * this one is served. No stream can be in flight past it,
		 * so the last GOAWAY goes now, without the drain's notice
		 * and round trip. */
		if (hd->stream_id == 0x7fffffff && !c->drain) {
			nghttp2_submit_goaway(session, NGHTTP2_FLAG_NONE, hd->stream_id,
			    NGHTTP2_NO_ERROR, NULL, 0);
			c->drain = 2;
		}
		return 0;
	}
	/* A HEADERS frame on a stream below the highest, neither open nor
	 * one reset here: a stream id used out of order, or again, which
	 * nghttp2 would ignore; RFC 9113 §5.1.1 makes it a connection error
	 * of type PROTOCOL_ERROR. */
	if (nghttp2_session_find_stream(session, hd->stream_id))
		return 0;
	for (i = 0; i < sizeof c->resets / sizeof *c->resets; i++)
		if (c->resets[i] == hd->stream_id)
			return 0;
	nghttp2_session_terminate_session(session, NGHTTP2_PROTOCOL_ERROR);
	return 0;
}

/* Request body bytes, copied out of the connection's input into the
 * stream's ring: the window the client was given fits it. */
static int
on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *data,
    size_t len, void *ud)
{
	h2s *s = nghttp2_session_get_stream_user_data(session, id);
	(void)flags;
	(void)ud;
	if (!s || (s->flags & S_DISCARD) || (!s->stream && !s->tun)) {
		nghttp2_session_consume(session, id, len);
		return 0;
	}
	if (!(len = kk_h2ring_put(&s->in, data, len))) {
		ready(s);
		return 0;
	}
	/* More than the window (a window past what a stream may hold), or
	 * no buffer in the pool: this stream goes, not the connection. */
	nghttp2_session_consume(session, id, len);
	{
		kk_stream *st = s->stream;
		let_go(s);
		kk_stream_abort(st, KK_CLOSE_H2_ERROR);
	}
	reset(s, NGHTTP2_FLOW_CONTROL_ERROR);
	return 0;
}

static int
on_stream_close(nghttp2_session *session, int32_t id, uint32_t code, void *ud)
{
	h2s *s = nghttp2_session_get_stream_user_data(session, id);
	(void)code;
	(void)ud;
	if (!s)
		return 0;
	nghttp2_session_set_stream_user_data(session, id, NULL);
	if (s->stream) {
		/* Reset before its response ended: the stream goes, and the
		 * back connection with it. */
		kk_stream *st = s->stream;
		s->stream = NULL;
		kk_stream_abort(st, KK_CLOSE_CLIENT_ABORT);
	}
	h2s_put(s);
	return 0;
}

static int
on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *ud)
{
	h2c *c = ud;
	(void)session;
	if (frame->hd.type == NGHTTP2_RST_STREAM) {
		/* A reset the client provoked (a malformed request or frame, a
		 * stream past the limit) costs as much as one it sends; those
		 * for a backend's failure or a timeout are not its doing. */
		uint32_t code = frame->rst_stream.error_code;
		if (code != NGHTTP2_INTERNAL_ERROR && code != NGHTTP2_CANCEL &&
		    code != NGHTTP2_NO_ERROR)
			flood(c, KK_H2_FLOOD_PROVOKED);
		c->resets[c->reset_at] = frame->hd.stream_id;
		c->reset_at = (unsigned char)((c->reset_at + 1) % (sizeof c->resets /
		    sizeof *c->resets));
	}
	if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR &&
	    c->reason == KK_CLOSE_CLIENT)
		c->reason = KK_CLOSE_H2_ERROR;
	return 0;
}

/* Frames other than DATA bodies: into the connection's output, as much
 * as fits; nghttp2 keeps the rest. */
static ssize_t
send_bytes(nghttp2_session *session, const uint8_t *data, size_t len, int flags, void *ud)
{
	h2c *c = ud;
	(void)session;
	(void)flags;
	return kk_h2_out(&c->front->conn, data, len);
}

/* The trailer block kept in obuf, submitted once the body is sent. */
static void
submit_trailers(h2s *s)
{
	nghttp2_submit_trailer(s->conn->session, s->id, out_nv,
	    kk_h2_block_nv(&s->obuf, out_nv, KK_HEAD_MAXFIELDS));
	kk_buf_give(&s->obuf);
	s->flags &= ~S_RESP_TRAILERS;
}

/* The response body: as much of obuf as nghttp2 may send now (window,
 * frame size), written by send_data straight from obuf. */
static ssize_t
data_read(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
    uint32_t *data_flags, nghttp2_data_source *source, void *ud)
{
	h2s *s = source->ptr;
	ssize_t n;
	(void)session;
	(void)id;
	(void)buf;
	(void)ud;
	if (s->flags & S_RESP_TRAILERS) {
		*data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
		submit_trailers(s);
		return 0;
	}
	n = kk_h2_data_read(&s->obuf, length, (s->flags & S_RESP_END) != 0, data_flags);
	if (n == NGHTTP2_ERR_DEFERRED)
		s->flags |= S_DEFERRED;
	return n;
}

static int
send_data(nghttp2_session *session, nghttp2_frame *frame, const uint8_t *framehd,
    size_t length, nghttp2_data_source *source, void *ud)
{
	h2c *c = ud;
	h2s *s = source->ptr;
	(void)session;
	(void)frame;
	if (kk_h2_out_data(&c->front->conn, framehd, &s->obuf, length))
		return NGHTTP2_ERR_WOULDBLOCK;
	c->unacked += length;
	s->unacked += length;
	/* Room again: the back side may move more. */
	if (length && !s->obuf.len && s->stream)
		kk_stream_front_drained(s->stream);
	else if (length && !s->obuf.len && s->tun)
		ready(s);
	return 0;
}

static void
resume(h2s *s)
{
	if (s->flags & S_DEFERRED) {
		s->flags &= ~S_DEFERRED;
		nghttp2_session_resume_data(s->conn->session, s->id);
	}
	conn_wake(s->conn);
}

/* The tunnel of an extended CONNECT (RFC 8441): the client's DATA to the
 * back connection as bytes, its bytes back as DATA, END_STREAM and end
 * of file passed on as half-closes. It runs from the front connection
 * (DATA came, obuf drained) and from the back one (h2_tunnel: readiness,
 * its timer). Its bytes move through the stream's ring and obuf, so the
 * windows bound it as they bound a body. */

static unsigned long
tun_ms(const h2s *s)
{
	const kk_rlistener *rl = s->conn->front->lsock->rl;
	return rl && rl->tunnel_ms ? rl->tunnel_ms : 3600000;
}

/* The back connection goes (the stream is done, or failed). */
static void
tun_end(h2s *s, enum kk_close reason)
{
	kk_conn *bc = s->tun;
	s->tun = NULL;
	kk_stats.tunnels--;
	kk_stats.tunnel_bytes_in += bc->bytes_out - s->tbase_up;
	kk_stats.tunnel_bytes_out += bc->bytes_in - s->tbase_down;
	s->tbops->close(s->tbctx, reason);
}

static void
tun_fail(h2s *s, enum kk_close reason)
{
	tun_end(s, reason);
	reset(s, reason == KK_CLOSE_TUNNEL_TIMEOUT ? NGHTTP2_CANCEL : NGHTTP2_CONNECT_ERROR);
}

static void
tun_pump(h2s *s)
{
	kk_conn *bc = s->tun;
	kk_buf *b;
	size_t open;
	/* Up: the ring's bytes into the back connection's output, a whole
	 * buffer handed over when the output is empty. */
	while ((b = kk_h2ring_first(&s->in))) {
		if (!bc->out.len) {
			kk_buf_give(&bc->out);
			kk_h2ring_take(&s->in, &bc->out, &open);
			window_open(s, open);
		} else {
			size_t room, n;
			if (!(room = kk_buf_room(&bc->out)))
				break;
			n = room < b->len ? room : b->len;
			memcpy(kk_buf_tail(&bc->out), b->data + b->off, n);
			bc->out.len += (uint32_t)n;
			window_open(s, kk_h2ring_used(&s->in, n));
		}
		if (kk_conn_flush(bc, 0, 0) < 0) {
			tun_fail(s, KK_CLOSE_TUNNEL_ERROR);
			return;
		}
		if (bc->out.len)
			break;
	}
	if (bc->out.len && kk_conn_flush(bc, 0, 0) < 0) {
		tun_fail(s, KK_CLOSE_TUNNEL_ERROR);
		return;
	}
	if ((s->flags & S_REQ_END) && !kk_h2ring_first(&s->in) && !bc->out.len &&
	    !(bc->flags & KK_CONN_F_SHUT)) {
		bc->tp->shutdown(bc);
		bc->flags |= KK_CONN_F_SHUT;
	}
	/* Down: the back connection's bytes as obuf, once it is empty. */
	if (!(s->flags & (S_RESP_END | S_RESP_TRAILERS)) && !s->obuf.len) {
		int r = bc->in.len ? 1 : kk_conn_fill(bc);
		if (r > 0) {
			kk_buf_move(&s->obuf, &bc->in);
			resume(s);
		} else if (r < 0 && (bc->flags & KK_CONN_F_ERROR)) {
			tun_fail(s, KK_CLOSE_TUNNEL_ERROR);
			return;
		} else if (r < 0) {
			s->flags |= S_RESP_END;	/* END_STREAM after obuf */
			resume(s);
		}
	}
	if (bc->bytes_in + bc->bytes_out != s->tseen) {
		s->tseen = bc->bytes_in + bc->bytes_out;
		kk_timer_arm(&bc->timer, kk_now_ms + tun_ms(s));
	}
}

static void
tun_run(kk_conn *bc)
{
	h2s *s = bc->pc;
	tun_pump(s);
	conn_wake(s->conn);
}

static void
tun_timeout(kk_conn *bc)
{
	h2s *s = bc->pc;
	tun_fail(s, KK_CLOSE_TUNNEL_TIMEOUT);
	conn_wake(s->conn);
}

static const kk_protocol h2_tunnel = { "h2-tunnel", tun_run, tun_timeout };

/* A 101's fields as the 200 of an extended CONNECT: :status 200, and
 * not the WebSocket handshake's own answer, which HTTP/2 does without
 * (RFC 8441 §5). The count left. */
static int
tunnel_fields(int n)
{
	int i, k = 0;
	for (i = 0; i < n; i++) {
		kk_h2field *f = &out_fields[i];
		if (f->namelen == 7 && !memcmp(f->name, ":status", 7))
			f->value = "200";
		else if (f->namelen == 20 && !strncasecmp(f->name, "sec-websocket-accept", 20))
			continue;
		out_fields[k++] = *f;
	}
	return k;
}

/* The h2 server as a stream's front endpoint (kk_server_ops): ctx is the
 * h2s. The connection sends and reads; these move bytes between the
 * stream and the h2s's buffers. */

static enum kk_msg
ep_body_next(void *ctx, const char **p, size_t *n, kk_fields **tr)
{
	h2s *s = ctx;
	kk_buf *b = kk_h2ring_first(&s->in);
	s->flags &= ~S_STARVED;
	if (b) {
		*p = b->data + b->off;
		*n = b->len;
		return KK_MSG_DATA;
	}
	if (s->flags & S_TRAILERS) {
		kk_h2head_trailers(&req_trailers, &s->hbuf);	/* checked when read */
		*tr = &req_trailers;
		return KK_MSG_TRAILERS;
	}
	if (s->flags & S_REQ_END)
		return KK_MSG_END;
	s->flags |= S_STARVED;
	return KK_MSG_WAIT;
}

/* n request body bytes whose window opens again (kk_h2ring_used). */
static void
window_open(h2s *s, size_t n)
{
	if (!n)
		return;
	nghttp2_session_consume(s->conn->session, s->id, n);
	conn_wake(s->conn);
}

/* n bytes of the first buffer went upstream: their window reopens once
 * that buffer is gone (kk_h2ring). */
static void
ep_body_used(void *ctx, size_t n)
{
	h2s *s = ctx;
	s->moved += n;
	window_open(s, kk_h2ring_used(&s->in, n));
}

static void
ep_trailers_used(void *ctx)
{
	h2s *s = ctx;
	s->flags &= ~S_TRAILERS;
	kk_buf_give(&s->hbuf);
	s->moved++;
}

static size_t
ep_body_take(void *ctx, kk_buf *dst)
{
	h2s *s = ctx;
	size_t open, n = kk_h2ring_take(&s->in, dst, &open);	/* dst is empty (kk_server_ops.body_take) */
	s->moved += n;
	window_open(s, open);
	return n;
}

static int
ep_send_head(void *ctx, const kk_resphead *h, int *keep)
{
	h2s *s = ctx;
	nghttp2_data_provider prd;
	const char *id;
	/* A head with no body to follow (none, or a length of 0: a gRPC
	 * trailers-only answer, a 204) ends the stream on its HEADERS. */
	int n, body = h->body == KK_BODY_UNKNOWN || (h->body == KK_BODY_LENGTH && h->clen);
	*keep = 1;
	/* 101 answers only an extended CONNECT, whose upgrade went
	 * upstream: it is its 200 (RFC 8441 §5), the tunnel follows. */
	if (h->status == 101 && !(s->flags & S_CONNECT))
		return -1;
	/* Nor would a 2xx that switched nothing: a client would take it
	 * for the tunnel (502). */
	if ((s->flags & S_CONNECT) && h->status >= 200 && h->status < 300)
		return -1;
	n = kk_h2head_response(h, out_fields, OUT_FIELDS - 2, out_text, sizeof out_text);
	if (n < 0)
		return -1;
	if (h->status == 101) {
		n = tunnel_fields(n);
		body = 1;
	}
	if (h->status >= 200 && s->hsts)
		n = add_field(n, "strict-transport-security", 25, added_text,
		    kk_front_hsts_value(s->conn->front, s->hsts, added_text, sizeof added_text));
	if ((id = kk_stream_response_id(s->stream, h)))
		n = add_field(n, s->stream->rl->reqid_lower, s->stream->rl->reqidlen, id,
		    s->stream->request_id_len);
	to_nv(n);
	s->moved++;
	if (h->status < 200 && h->status != 101) {
		if (nghttp2_submit_headers(s->conn->session, NGHTTP2_FLAG_NONE, s->id, NULL,
		    out_nv, (size_t)n, NULL))
			return -1;
		conn_wake(s->conn);
		return 1;
	}
	prd.source.ptr = s;
	prd.read_callback = data_read;
	if (nghttp2_submit_response(s->conn->session, s->id, out_nv, (size_t)n,
	    body ? &prd : NULL))
		return -1;
	s->flags |= S_RESP | (body ? 0 : S_RESP_END);
	conn_wake(s->conn);
	return 1;
}

static size_t
ep_room(void *ctx)
{
	h2s *s = ctx;
	if (s->flags & S_RESP_TRAILERS)
		return 0;
	if (!kk_buf_take(&s->obuf, &s->conn->front->conn.bufwait)) {
		ready_later(s);
		return 0;
	}
	return kk_buf_room(&s->obuf);
}

static void
ep_put(void *ctx, const char *p, size_t n)
{
	h2s *s = ctx;
	memcpy(kk_buf_tail(&s->obuf), p, n);
	s->obuf.len += (uint32_t)n;
	s->moved += n;
	resume(s);
}

static int
ep_takes_buf(void *ctx)
{
	h2s *s = ctx;
	return !s->obuf.len && !(s->flags & S_RESP_TRAILERS);
}

static void
ep_put_buf(void *ctx, kk_buf *buf)
{
	h2s *s = ctx;
	s->moved += buf->len;
	kk_buf_move(&s->obuf, buf);
	resume(s);
}

/* Trailers wait for the body before them to be sent; then they take
 * obuf's place, names in lower case, until data_read submits them. */
static int
ep_send_trailers(void *ctx, const kk_fields *tr)
{
	h2s *s = ctx;
	int n;
	if (s->obuf.len)
		return 0;
	n = kk_h2head_fields(tr, out_fields, KK_HEAD_MAXFIELDS, out_text, sizeof out_text);
	if (n <= 0)
		return 1;
	if (!kk_buf_take(&s->obuf, &s->conn->front->conn.bufwait)) {
		ready_later(s);
		return 0;
	}
	if (!kk_h2head_add_all(&s->obuf, out_fields, n)) {
		kk_buf_give(&s->obuf);	/* a block no buffer holds: dropped */
		return 1;
	}
	s->flags |= S_RESP_TRAILERS;
	s->moved++;
	resume(s);
	return 1;
}

static int
ep_end(void *ctx)
{
	h2s *s = ctx;
	s->flags |= S_RESP_END;
	resume(s);
	return 1;
}

/* Once submitted, a head may be on the wire: never taken back. */
static int
ep_take_back(void *ctx)
{
	h2s *s = ctx;
	return !(s->flags & S_RESP);
}

static void
ep_done(void *ctx, int keep, int whole)
{
	(void)keep;
	(void)whole;
	let_go(ctx);
}

static void
ep_error(void *ctx, int status, enum kk_close reason)
{
	h2s *s = ctx;
	(void)reason;
	let_go(s);
	if (s->flags & S_RESP)
		reset(s, NGHTTP2_INTERNAL_ERROR);
	else
		respond(s, status);
}

/* The response was cut short: the stream is reset, the connection and
 * its other streams go on. */
static void
ep_cut(void *ctx, enum kk_close reason)
{
	h2s *s = ctx;
	(void)reason;
	let_go(s);
	reset(s, NGHTTP2_INTERNAL_ERROR);
}

/* What ends an h1 connection ends only this stream here. */
static void
ep_close(void *ctx, enum kk_close reason)
{
	h2s *s = ctx;
	kk_stream *st = s->stream;
	let_go(s);
	if (st)
		kk_stream_abort(st, reason);
	reset(s, NGHTTP2_INTERNAL_ERROR);
}

/* After the 101 of an extended CONNECT (the stream has ended): the
 * h2 stream and the back connection become a tunnel, timed by the
 * listener's tunnel timeout, ended with the stream. */
static void
ep_upgrade(void *ctx, const kk_client_ops *bops, void *bctx)
{
	h2s *s = ctx;
	kk_conn *bc = bops->conn(bctx);
	s->stream = NULL;
	kk_buf_give(&s->hbuf);
	s->tun = bc;
	s->tbops = bops;
	s->tbctx = bctx;
	s->flags |= S_TUNNEL;
	s->tseen = bc->bytes_in + bc->bytes_out;
	s->tbase_up = bc->bytes_out;
	s->tbase_down = bc->bytes_in;
	bc->proto = &h2_tunnel;
	bc->pc = s;
	kk_timer_arm(&bc->timer, kk_now_ms + tun_ms(s));
	/* An end of file the h1 client already saw comes with no new edge. */
	if (bc->flags & KK_CONN_F_EOF)
		bc->flags |= KK_CONN_F_READABLE;
	kk_stats.upgrades++;
	kk_stats.tunnels++;
	ready(s);
}

/* The connection sends, after the pumps of this turn. */
static int
ep_flush(void *ctx, int more)
{
	h2s *s = ctx;
	(void)more;
	conn_wake(s->conn);
	return 1;
}

static void
ep_push(void *ctx)
{
	(void)ctx;
}

static unsigned
ep_state(void *ctx)
{
	h2s *s = ctx;
	return (unsigned)((s->obuf.len != 0) * KK_EP_BACKLOG);
}

static uint64_t
ep_progress(void *ctx)
{
	h2s *s = ctx;
	return s->moved;
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

/* The connection's timer covers its streams (h2_timeout). */
static void
ep_timer(void *ctx, int req_done)
{
	(void)ctx;
	(void)req_done;
}

static int
ep_addrs(void *ctx, kk_addr *src, kk_addr *dst)
{
	h2s *s = ctx;
	return kk_front_addrs(s->conn->front, src, dst);
}

static kk_park *
ep_park(void *ctx)
{
	h2s *s = ctx;
	return kk_front_park(s->conn->front);
}

static const kk_server_ops h2_server_ops = {
	"h2-server",
	ep_body_next, ep_body_used, ep_trailers_used, ep_body_take,
	ep_send_head, ep_room, ep_put, ep_takes_buf, ep_put_buf, ep_send_trailers, ep_end,
	ep_take_back,
	ep_done, ep_error, ep_cut, ep_close, ep_upgrade,
	ep_flush, ep_push, ep_state, ep_progress, ep_wake, ep_wake_if_more, ep_timer,
	ep_addrs, ep_park,
};

/* Made once: the callbacks and the options every session shares. The
 * budgets of nghttp2's own are set past ours, so that ours decide and
 * count. */
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
	nghttp2_session_callbacks_set_on_begin_frame_callback(callbacks, on_begin_frame);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
	nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, on_frame_send);
	/* Windows open as the backend takes the bytes, not as they arrive. */
	nghttp2_option_set_no_auto_window_update(options, 1);
	nghttp2_option_set_max_continuations(options, KK_H2_NGHTTP2_CONTINUATIONS);
	nghttp2_option_set_stream_reset_rate_limit(options, (uint64_t)flood_budget[
	    KK_H2_FLOOD_RESET] * 4, (uint64_t)flood_budget[KK_H2_FLOOD_RESET] * 4);
	return 1;
}

void
kk_h2server_start(kk_front *f)
{
	kk_link *l = kk_list_first(&h2c_free);
	const kk_h2opts *o;
	size_t inuse, idle, bufsize, window;
	nghttp2_settings_entry iv[5];
	h2c *c;
	/* The settings are the listener's: one that left the configuration
	 * routes nothing (as for HTTP/1, its connections get no route). */
	if (!f->lsock->rl) {
		kk_front_close(f, KK_CLOSE_NO_ROUTE);
		return;
	}
	o = &f->lsock->rl->h2;
	kk_buf_stats(&inuse, &idle, &bufsize);
	if (!setup()) {
		kk_front_close(f, KK_CLOSE_NOMEM);
		return;
	}
	if (l) {
		kk_list_unlink(l);
		c = KK_CONTAINER(l, h2c, link);
	} else if (!(c = malloc(sizeof *c))) {
		kk_front_close(f, KK_CLOSE_NOMEM);
		return;
	}
	memset(c, 0, sizeof *c);
	c->front = f;
	c->streams.next = c->streams.prev = &c->streams;
	c->ready.next = c->ready.prev = &c->ready;
	/* Ended by nothing else, a session ends when the client is done
	 * with it (its GOAWAY, then the last stream). */
	c->reason = KK_CLOSE_CLIENT;
	c->window_at = kk_now_ms;
	if (nghttp2_session_server_new2(&c->session, callbacks, c, options)) {
		kk_list_push(&h2c_free, &c->link);
		kk_front_close(f, KK_CLOSE_NOMEM);
		return;
	}
	/* A stream holds at most KK_H2_RING buffers of request body: the
	 * window announced fits them; the connection's fits every stream's,
	 * so a stream whose backend is slow never stalls the others. */
	window = o->window;
	if (window > KK_H2_RING * bufsize)
		window = KK_H2_RING * bufsize;
	iv[0].settings_id = NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS;
	iv[0].value = o->max_streams;
	iv[1].settings_id = NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE;
	iv[1].value = (uint32_t)window;
	iv[2].settings_id = NGHTTP2_SETTINGS_MAX_FRAME_SIZE;
	iv[2].value = o->max_frame;
	iv[3].settings_id = NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE;
	iv[3].value = o->max_header_list;
	/* WebSocket over HTTP/2 (RFC 8441 §3). */
	iv[4].settings_id = NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL;
	iv[4].value = 1;
	nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, 5);
	window *= o->max_streams;
	if (window > 0x7fffffff)
		window = 0x7fffffff;
	if (window > 65535)
		nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0,
		    (int32_t)window);
	f->conn.proto = &h2_server;
	f->conn.pc = c;
	kk_stats.h2_conns++;
	if (kk_front_draining)
		kk_h2server_drain(f);
	h2_run(&f->conn);
}

void
kk_h2server_close(kk_front *f, enum kk_close reason)
{
	h2c *c = f->conn.pc;
	kk_link *l;
	while ((l = kk_list_first(&c->streams))) {
		h2s *s = KK_CONTAINER(l, h2s, link);
		if (s->stream) {
			kk_stream *st = s->stream;
			s->stream = NULL;
			kk_stream_abort(st, reason);
		}
		h2s_put(s);
	}
	nghttp2_session_del(c->session);
	c->session = NULL;
	f->conn.pc = NULL;
	kk_list_push(&h2c_free, &c->link);
}

void
kk_h2server_drain(kk_front *f)
{
	h2c *c = f->conn.pc;
	if (c->drain)
		return;
	c->drain = 1;
	if (c->reason == KK_CLOSE_CLIENT)
		c->reason = KK_CLOSE_DRAIN;
	nghttp2_submit_shutdown_notice(c->session);
	nghttp2_submit_ping(c->session, NGHTTP2_FLAG_NONE, drain_ping);
	conn_wake(c);
}

/* Sends what nghttp2 has, as the socket takes it. -1 a write failed. */
static int
send_all(h2c *c)
{
	int r = kk_h2_send(c->session, &c->front->conn);
	if (!r)
		conn_wake(c);
	return r < 0 ? -1 : 1;
}

/* Reads and feeds the session. 1 read something, 0 nothing, -1 the
 * connection is closed. */
static int
recv_some(h2c *c)
{
	kk_conn *conn = &c->front->conn;
	ssize_t n;
	int r = 0;
	if (kk_conn_may_read(conn))
		r = kk_conn_fill(conn);
	if (!conn->in.len) {
		if (r < 0) {
			kk_front_close(c->front, (conn->flags & KK_CONN_F_ERROR) ?
			    KK_CLOSE_READ_ERROR : c->nstreams ? KK_CLOSE_CLIENT_ABORT :
			    KK_CLOSE_CLIENT);
			return -1;
		}
		return 0;
	}
	n = nghttp2_session_mem_recv(c->session, (const uint8_t *)conn->in.data + conn->in.off,
	    conn->in.len);
	if (n < 0) {
		if (n == NGHTTP2_ERR_FLOODED)
			kk_stats.h2_floods[KK_H2_FLOOD_ACKS]++;
		kk_front_close(c->front, n == NGHTTP2_ERR_FLOODED ? KK_CLOSE_H2_FLOOD :
		    n == NGHTTP2_ERR_NOMEM ? KK_CLOSE_NOMEM : KK_CLOSE_H2_ERROR);
		return -1;
	}
	kk_buf_consume(&conn->in, (size_t)n);
	kk_buf_trim(&conn->in);
	return 1;
}

/* The connection's timer: the front timeout, moved on whenever bytes
 * move. */
static void
set_timer(h2c *c)
{
	kk_conn *conn = &c->front->conn;
	kk_rlistener *rl = c->front->lsock->rl;
	uint64_t seen = conn->bytes_in + conn->bytes_out;
	if (seen != c->seen || !kk_timer_armed(&conn->timer)) {
		c->seen = seen;
		kk_timer_arm(&conn->timer, kk_now_ms + (rl ? rl->front_ms : 60000));
	}
}

static void
h2_run(kk_conn *conn)
{
	h2c *c = conn->pc;
	kk_front *f = c->front;
	int round;
	if (conn->flags & KK_CONN_F_DEAD)
		return;
	for (round = 0; round < KK_H2_RUN_ROUNDS; round++) {
		kk_link *l;
		int r = 0;
		if (nghttp2_session_want_read(c->session) && (r = recv_some(c)) < 0)
			return;
		while ((l = kk_list_first(&c->ready))) {
			h2s *s = KK_CONTAINER(l, h2s, rlink);
			kk_list_unlink(l);
			if (s->stream)
				kk_stream_pump(s->stream);
			else if (s->tun)
				tun_pump(s);
			if (conn->flags & KK_CONN_F_DEAD)
				return;
		}
		if (send_all(c) < 0) {
			kk_front_close(f, KK_CLOSE_WRITE_ERROR);
			return;
		}
		if (!r && !kk_list_first(&c->ready))
			break;
	}
	if (round == KK_H2_RUN_ROUNDS)
		conn_wake(c);
	if (!nghttp2_session_want_read(c->session) && !nghttp2_session_want_write(c->session) &&
	    !conn->out.len) {
		kk_front_close(f, (enum kk_close)c->reason);
		return;
	}
	set_timer(c);
	kk_buf_trim(&conn->in);
}

/* No byte moved for the front timeout: the streams that wait on the
 * client (its body, or its window for the response) are reset; a
 * connection with no stream closes; streams waiting on backends are
 * theirs to time. */
static void
h2_timeout(kk_conn *conn)
{
	h2c *c = conn->pc;
	kk_link *l, *next;
	int waiting = 0;
	if (!c->nstreams || conn->out.len) {
		kk_front_close(c->front, c->nstreams ? KK_CLOSE_SEND_TIMEOUT :
		    c->drain ? KK_CLOSE_DRAIN : KK_CLOSE_IDLE_TIMEOUT);
		return;
	}
	for (l = c->streams.next; l != &c->streams; l = next) {
		h2s *s = KK_CONTAINER(l, h2s, link);
		next = l->next;
		if (s->stream && (s->obuf.len || (s->flags & S_STARVED))) {
			kk_stream *st = s->stream;
			let_go(s);
			kk_stream_abort(st, KK_CLOSE_SEND_TIMEOUT);
			reset(s, NGHTTP2_CANCEL);
			waiting++;
		}
	}
	kk_timer_disarm(&conn->timer);
	set_timer(c);
	if (waiting)
		conn_wake(c);
}
