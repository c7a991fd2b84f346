/* ISC license. */
/* The TLS transport: the transport table of a connection whose bytes
 * are TLS records, over one SSL object per connection made at accept
 * (kk_tls_attach) and freed with the connection. The protocol above sees
 * the same read and write as on a plain socket; this file keeps the
 * library's retry rules to itself. The per-listener side (the SSL_CTX,
 * the certificates) is tlsctx.h. */
#ifndef KK_WORKER_TLS_H
#define KK_WORKER_TLS_H

#include "conn.h"
#include "tlsctx.h"

extern const kk_transport kk_transport_tls;

/* Gives c (its fd set, its transport kk_transport_tls) a TLS object of
 * listener context x, accepting. 1 ok; 0 ENOMEM, c untouched. */
int kk_tls_attach(kk_conn *c, kk_tlsctx *x);
/* The certificate served on c, NULL before the ClientHello picked it or
 * when c is not TLS. */
const kk_tlscert *kk_tls_served(const kk_conn *c);
/* The ClientHello picked x for the connection of ssl (tlsctx.c): it is
 * kept, referenced, until the connection closes. */
void kk_tls_set_served(SSL *ssl, kk_tlscert *x);
/* The subject of the client certificate verified on c (tlspeer.h),
 * NULL when the client sent none or c is not TLS. */
const char *kk_tls_peer_subject(kk_conn *c);

#endif
