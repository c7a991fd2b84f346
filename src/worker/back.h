/* ISC license. */
/* Back connections (the h1 client protocol on a kk_conn): connecting to
 * a backend, the keep-alive pool per backend (kk_bend), the backend-side
 * timeouts and the one way a back connection ends (kk_back_close).
 * Requests go upstream in HTTP/1.1 and connections are reused whenever
 * the response allows. Streams reach it through kk_h1_client_ops only. */
#ifndef KK_WORKER_BACK_H
#define KK_WORKER_BACK_H

#include "bend.h"
#include "conn.h"
#include "h1.h"
#include "status.h"
#include "stream.h"
#include "timer.h"

/* How long an unused pooled connection is kept: shorter than the idle
 * timeouts of common servers (5 s in Node.js), so the backend rarely
 * closes one just as it is reused. */
#define KK_BACK_IDLE_MS 4000

enum { KK_BACK_CONNECTING = 0, KK_BACK_ACTIVE, KK_BACK_IDLE };

/* Back connection flags (closed and waiting to be freed: KK_CONN_F_DEAD). */
#define KK_BACK_F_REUSED 0x2	/* came from the pool for this stream */
#define KK_BACK_F_REPLAY 0x4	/* the output holds the whole request: a retry resends it */
#define KK_BACK_F_UPGRADE 0x8	/* the request asked for an upgrade: a 101 may answer */

/* What the response read so far says (kk_back.resp_flags). */
#define KK_BACK_R_KEEP 0x1	/* its framing lets the connection be reused */

struct kk_stream;
struct kk_park;
typedef struct kk_back kk_back;
struct kk_back {
	kk_conn conn;		/* in: response bytes, out: request bytes */
	kk_task grave;		/* in the loop's graveyard once closed */
	kk_link link;		/* in bend->avail while a stream slot is free */
	kk_bend *bend;
	struct kk_stream *stream;
	/* --send-proxy: the slot of the one client connection it serves
	 * (its stream's server endpoint gave it). Its PROXY header names
	 * that client, so it is never pooled for another: it waits for the
	 * client's next request in that slot and closes with the client.
	 * NULL: pooled per backend. */
	struct kk_park *owner;
	unsigned state;		/* IDLE exactly when no stream uses it */
	unsigned flags;
	/* Stream slots: how many streams it may carry at once (h1: one; the
	 * peer's MAX_CONCURRENT_STREAMS for a multiplexing protocol) and how
	 * many it carries. The pool hands out connections with a free one. */
	unsigned short slots, streams;
	size_t scan;		/* kk_h1_head_end resume point */
	uint64_t uses;
	uint64_t seen;		/* bytes moved when the stream last looked */
	unsigned char proxy;	/* enum kk_send_proxy of the header still to send */
	unsigned char req_body;	/* KK_H1_BODY_* of the request going up */
	unsigned char req_ended;	/* its last chunk went with trailers */
	/* The response being read: the h1 client's framing state. */
	unsigned char resp_flags;	/* KK_BACK_R_* */
	kk_h1body resp;
};

/* The h1 client as a stream's back endpoint: what a backend names
 * (kk_bend.proto); ctx is the kk_back. A --send-proxy cluster's
 * connection is not pooled but parked in its client's kk_park. */
extern const kk_client_ops kk_h1_client_ops;
/* Opens b's connection to bend (b zeroed but for its grave, which frees
 * it once closed), to be run by proto with pc: connecting, registered,
 * counted. 1 done; 0 failed with errno (b holds nothing). Every client
 * protocol's connections start here. */
int kk_back_connect(kk_back *b, kk_bend *bend, const kk_protocol *proto, void *pc);
/* Closes a back connection, whoever holds it. */
void kk_back_close(kk_back *, enum kk_close);
void kk_back_close_idle(void);	/* drain: pooled connections go */

#endif
