/* ISC license. */
/* The TLS transport: the transport table of a connection whose bytes
 * are TLS records, over one SSL object per connection made at accept
 * (kk_tls_attach) and freed with the connection. The protocol above sees
 * the same read and write as on a plain socket; this file keeps the
 * library's retry rules to itself. The per-listener side (the SSL_CTX,
 * the certificates) is tlsctx.h. */
#ifndef KK_WORKER_TLS_H
#define KK_WORKER_TLS_H

#include <kakehi/addr.h>
#include "conn.h"
#include "tlsctx.h"

struct kk_tlsclient;

extern const kk_transport kk_transport_tls;

/* Gives c (its fd set, its transport kk_transport_tls) a TLS object of
 * listener context x, accepting. 1 ok; 0 ENOMEM, c untouched. */
int kk_tls_attach(kk_conn *c, kk_tlsctx *x);
/* The same for a back connection c to addr, connecting with context x
 * (tlsclient.h), offering the session in *resume and keeping the ones the
 * backend gives there (the slot must outlive c). 1 ok; 0 ENOMEM, c
 * untouched. */
int kk_tls_attach_client(kk_conn *c, struct kk_tlsclient *x, const kk_addr *addr,
    SSL_SESSION **resume);
/* Offers the protocols of wire (ALPN wire form, len bytes) on back
 * connection c, in place of its context's, before its handshake. 1 ok;
 * 0 ENOMEM. */
int kk_tls_offer_alpn(kk_conn *c, const unsigned char *wire, size_t len);
/* Sets the session callbacks of a client context (tlsclient.c). */
void kk_tls_client_hook(SSL_CTX *ctx);
/* Why c's handshake to a backend failed: the certificate verification's
 * reason or the library's, static text; NULL when unknown (c->err then). */
const char *kk_tls_failure(const kk_conn *c);
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
