/* ISC license. */
/* The h2 server protocol (RFC 9113) on a front connection, with nghttp2
 * for framing, HPACK and flow control: each request stream becomes a
 * kk_stream whose front endpoint this is, so routing, forwarding rules,
 * limits and the back side are those every protocol shares. Bytes move
 * only through the connection's transport, so TLS carries it unchanged.
 * What a connection runs once it is chosen: kk_h2server_start is the one
 * way in, for the preamble's preface (h2c with prior knowledge) and for
 * an ALPN result of "h2" alike. */
#ifndef KK_WORKER_H2SERVER_H
#define KK_WORKER_H2SERVER_H

#include "front.h"

/* Makes f an HTTP/2 connection: its session, its SETTINGS (the
 * listener's --h2-* options), then the bytes already read, the client's
 * preface first. On failure f is closed (NOMEM). */
void kk_h2server_start(kk_front *f);
/* Whether f runs the h2 server. */
int kk_h2server_is(const kk_front *f);
/* f is closing (kk_front_close, for reason): its streams are aborted
 * with their back endpoints and the session goes. */
void kk_h2server_close(kk_front *f, enum kk_close reason);
/* Graceful shutdown (RFC 9113 §6.8): a GOAWAY with the largest stream id
 * and a PING; once the PING comes back, the GOAWAY naming the last stream
 * taken. The streams in flight complete, then the connection closes. */
void kk_h2server_drain(kk_front *f);

#endif
