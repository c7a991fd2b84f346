/* ISC license. */
/* Listening sockets of the worker: inherited (LISTEN_FDS), received from
 * the supervisor, or bound here when the worker runs on its own. They are
 * shared with other workers, so they wait in epoll with EPOLLEXCLUSIVE,
 * accept in bounded batches and register again after each batch (to the
 * back of the waiters); at max-connections they leave epoll until a
 * connection closes. */
#ifndef KK_WORKER_LSOCK_H
#define KK_WORKER_LSOCK_H

#include <kakehi/addr.h>
#include "list.h"
#include "loop.h"
#include "router.h"
#include "tlsctx.h"
#include "transport.h"

/* Small, so that a burst of connections is shared among the workers
 * (measured in lsock.c, beside requeue). */
#define KK_ACCEPT_BATCH 4

typedef struct kk_lsock kk_lsock;
struct kk_lsock {
	kk_io io;
	kk_link link;		/* open listeners; unlinked once closed */
	char addr[KK_ADDR_FMTLEN];
	kk_rlistener *rl;	/* in the current snapshot; NULL: not configured */
	unsigned nconns;	/* front connections accepted here and open */
	int polled;		/* registered with epoll */
	int closed;
	/* TCP_NODELAY is set on the listener, so accepted sockets inherit
	 * it and need no call of their own. */
	int nodelay;
	const kk_transport *tp;	/* what connections accepted here move bytes with */
	/* An https listener's TLS context (referenced; NULL on the others),
	 * as the last snapshot attached it: connections take their SSL
	 * from it at accept, so a later context serves only later ones. */
	kk_tlsctx *tls;
	/* A tcp listener with --sni frontends: its connections are peeked at
	 * for the ClientHello's server name. Without, none is read before
	 * the backend answers (a server-speaks-first protocol works). */
	int sni;
	/* Its counters (wmetrics.h), as of the last accept while it was
	 * configured: a connection counts where its accept did. NULL: none
	 * yet. */
	struct kk_mcount *m;
};

/* Adopts fd as the listener for addr (made non-blocking). NULL with errno
 * on failure (fd is then closed). */
kk_lsock *kk_lsock_adopt(int fd, const char *addr);
kk_lsock *kk_lsock_find(const char *addr);
/* Closes it; the struct lives on while connections point at it. */
void kk_lsock_close(kk_lsock *);
void kk_lsock_conn_gone(kk_lsock *);
/* Points every listener at its entry in r (NULL when absent) and at its
 * TLS context (tlsstate.h). */
void kk_lsock_attach(const kk_router *r);
/* Sets the per-worker bound on front connections. */
void kk_lsock_setmax(unsigned max);
/* Stops accepting for good and closes the listening sockets (drain);
 * the listeners keep routing the connections they accepted. */
void kk_lsock_stop(void);
/* Accepts again when below the bound and within its share; called when a
 * connection opens or closes. */
void kk_lsock_check(void);
/* Shares new connections with the other workers of the board (mapped by
 * the worker from the supervisor's segment), as slot. */
struct kk_board;
void kk_lsock_board(struct kk_board *, unsigned slot);
kk_link *kk_lsock_all(void);

#endif
