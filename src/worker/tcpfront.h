/* ISC license. */
/* Connections of tcp listeners: routed once, at accept, to the default
 * frontend of the listener, connected to a backend of its cluster (a
 * failed or slow connect tries another one), then joined to the backend
 * by the tunnel protocol until both directions end. No byte is looked at
 * or changed on the way. One kk_tcpfront holds both connections and the
 * tunnel, so a tcp connection costs one allocation. */
#ifndef KK_WORKER_TCPFRONT_H
#define KK_WORKER_TCPFRONT_H

#include <sys/socket.h>
#include "lsock.h"

/* Takes the accepted fd of tcp listener ls. */
void kk_tcpfront_accept(kk_lsock *ls, int fd, const struct sockaddr *, socklen_t);
/* Open tcp connections (counted with the HTTP ones against the bound). */
unsigned kk_tcpfront_count(void);
/* The worker exits: every tcp connection closes now. */
void kk_tcpfront_stop_all(void);

#endif
