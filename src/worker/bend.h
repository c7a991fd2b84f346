/* ISC license. */
/* kk_bend: a backend server as the data plane knows it across
 * generations, keyed by its address and, for a --tls cluster's backend,
 * its TLS context and its protocol (so a server reached with two
 * settings, or over HTTP/1.1 and HTTP/2, is two bends):
 * the pool of its connections with a
 * free stream slot, how many connections serve requests (for
 * least-connections), and whether it recently refused connections. Router
 * snapshots name bends; a bend lives while a snapshot or a connection
 * still uses it. */
#ifndef KK_WORKER_BEND_H
#define KK_WORKER_BEND_H

#include <stdint.h>
#include <openssl/ssl.h>
#include <kakehi/addr.h>
#include "conn.h"
#include "list.h"
#include "transport.h"

struct kk_tlsclient;

/* How long a backend that failed to connect is avoided, at its first
 * failure; each further failure in a row doubles it, KK_BEND_DOWN_DOUBLINGS
 * times at most (1.5 s to 24 s): a hint that steers requests elsewhere,
 * ignored when every backend has one. Passive health (health.h) is what
 * takes a backend out for good. */
#define KK_BEND_DOWN_MS 1500
#define KK_BEND_DOWN_DOUBLINGS 4

typedef struct kk_bend kk_bend;
struct kk_bend {
	kk_link link;		/* all bends */
	/* Back connections with a free stream slot, most recently used last:
	 * an h1 connection has one slot, so only unused ones are here; a
	 * multiplexed one stays while it has room for another stream. */
	kk_link avail;
	char addr_text[KK_ADDR_FMTLEN];
	kk_addr addr;
	const kk_transport *tp;	/* what back connections to it move bytes with */
	struct kk_tlsclient *tls;	/* referenced; NULL: plain */
	/* The last TLS session it gave, offered on the next connect. One
	 * is enough: connects to one server follow each other, and each
	 * handshake brings a fresh one. */
	SSL_SESSION *session;
	/* The protocol its back connections speak, as a stream's back
	 * endpoint (stream.h). */
	const struct kk_client_ops *proto;
	unsigned refs;		/* snapshots naming it */
	unsigned nidle;		/* connections with no stream (pooled, or parked) */
	unsigned nactive;	/* connections serving a stream */
	unsigned nconns;	/* all connections, idle or not */
	uint64_t down_until;	/* avoided until then (monotonic ms) */
	uint64_t connect_failures;
	/* Passive health (health.h): failures in a row, counted against a
	 * cluster's --max-fails, and connect failures in a row, which
	 * double down_until's window. out: the supervisor's verdict, down;
	 * requests try it again from retry_at (its backoff after now).
	 * reported: a down sent, no verdict back yet. */
	unsigned fails, refusals;
	unsigned char out, reported;
	uint64_t retry_at;
	unsigned long backoff_ms;
};

/* The bend for addr reached with TLS context tls (NULL: plain) in HTTP/2
 * (h2) or HTTP/1.1, created when new; takes a reference. NULL: ENOMEM. */
kk_bend *kk_bend_get(const char *addr_text, const kk_addr *addr, struct kk_tlsclient *tls,
    int h2);
/* Gives a back connection c to b, its transport b->tp, what that
 * transport needs (a TLS object offering b's session). 1 ok; 0 ENOMEM. */
int kk_bend_attach(kk_bend *b, kk_conn *c);
/* Drops a snapshot's reference. */
void kk_bend_put(kk_bend *);
/* A connection to it was closed: frees the bend when nothing uses it. */
void kk_bend_conn_gone(kk_bend *);
/* The start (TLS handshake) of back connection c to b failed: logged
 * with the reason, once per run of failures (before b is marked down). */
void kk_bend_start_failed(kk_bend *b, const kk_conn *c, uint64_t now);
/* Marks a connect failure: avoided for KK_BEND_DOWN_MS, doubled for
 * each failure before it in a row. */
void kk_bend_mark_down(kk_bend *, uint64_t now);
static inline int
kk_bend_is_down(const kk_bend *b, uint64_t now)
{
	return b->down_until > now;
}
/* Whether b is out by the health verdict and not yet due for a retry:
 * never chosen then, even when every backend is out (503). */
static inline int
kk_bend_is_out(const kk_bend *b, uint64_t now)
{
	return b->out && now < b->retry_at;
}
kk_link *kk_bend_all(void);

#endif
