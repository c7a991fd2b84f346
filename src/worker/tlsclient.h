/* ISC license. */
/* The TLS contexts of back connections: one client SSL_CTX per distinct
 * backend TLS setting of a --tls cluster (kk_cluster_tls: CA, server
 * name, verification), shared by the clusters that say the same and by
 * the bends (bend.h) of their backends. Made when a router snapshot
 * names one first, on the control path: the CA's certificates, or the
 * system store's, are parsed then, never during a handshake. The
 * per-connection side is tls.h (kk_tls_attach_client). */
#ifndef KK_WORKER_TLSCLIENT_H
#define KK_WORKER_TLSCLIENT_H

#include <stddef.h>
#include <openssl/ssl.h>
#include <kakehi/addr.h>
#include <kakehi/state.h>

/* Where the system store is read from when a cluster gives no --ca: the
 * bundle of Debian's ca-certificates, read whole once per context. */
#define KK_TLSCLIENT_SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt"

typedef struct kk_tlsclient kk_tlsclient;

/* The context for t, made when no other has its settings; takes a
 * reference. NULL with err (a CA the library refuses, no memory). */
kk_tlsclient *kk_tlsclient_get(const kk_cluster_tls *t, char *err, size_t errlen);
void kk_tlsclient_ref(kk_tlsclient *);
void kk_tlsclient_unref(kk_tlsclient *);	/* frees at zero */
/* A TLS object connecting to the backend at addr: ALPN http/1.1, the
 * server name sent when the settings have one, and checked in the
 * certificate (else addr's IP), session offered when not NULL. NULL on
 * ENOMEM. */
SSL *kk_tlsclient_ssl(kk_tlsclient *, const kk_addr *addr, SSL_SESSION *session);

#endif
