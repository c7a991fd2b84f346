/* ISC license. */
/* The h2 client protocol (RFC 9113) on back connections, with nghttp2
 * for framing, HPACK and flow control: a --h2 cluster's backends (their
 * bends) name kk_h2_client_ops, and each of its streams is one stream of
 * a connection that many share. The connection is a kk_back, so the
 * pool (kk_bend.avail, kk_back.slots and streams), the drain and
 * kk_back_close treat it as any back connection. */
#ifndef KK_WORKER_H2CLIENT_H
#define KK_WORKER_H2CLIENT_H

#include "stream.h"

/* The h2 client as a stream's back endpoint: ctx is its stream on a
 * shared connection. */
extern const kk_client_ops kk_h2_client_ops;

#endif
