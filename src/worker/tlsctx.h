/* ISC license. */
/* The TLS side of an https listener in the worker: one SSL_CTX built from
 * the listener's policy (versions, TLS 1.2 suites, groups, ALPN) and the
 * index of its certificates, from which the ClientHello picks the one to
 * serve. Certificates come and go one at a time, as the journal tells
 * (tlsstate.c): adding one parses that one and links its names, never the
 * others. The per-connection side is tls.h.
 *
 * Selection, per handshake, by hash: the server name exactly, then the
 * one-label wildcard covering it ("*.example.com" covers "a.example.com",
 * not "example.com" nor "a.b.example.com", RFC 6125 §6.4.3), then the
 * listener's default (--default-certificate, else the oldest certificate
 * still there). Among the certificates of one step, those whose key the
 * client can use (its signature algorithms and suites) go first, ECDSA
 * before RSA, then the one that expires last. A step whose certificates all have a key the
 * client cannot use gives way to the next; when none can, the first step
 * that had any decides and the client gets to refuse it. */
#ifndef KK_WORKER_TLSCTX_H
#define KK_WORKER_TLSCTX_H

#include <stddef.h>
#include <openssl/ssl.h>
#include <kakehi/state.h>

/* What the client can use, as key kinds (1u << enum kk_key_kind). */
#define KK_TLS_KIND(k) (1u << (k))

typedef struct kk_tlscert kk_tlscert;
typedef struct kk_tlsctx kk_tlsctx;

/* A new context for policy p (copied), holding no certificate; refs 1.
 * NULL with err filled (a cipher or group list the library refuses, no
 * memory). */
kk_tlsctx *kk_tlsctx_new(const kk_tls_policy *p, char *err, size_t errlen);
void kk_tlsctx_ref(kk_tlsctx *);
void kk_tlsctx_unref(kk_tlsctx *);	/* frees at zero, with its index */
/* Whether the context was built from a policy equal to p. */
int kk_tlsctx_same_policy(const kk_tlsctx *, const kk_tls_policy *p);
/* A connection's TLS object, accepting, its certificate still to pick.
 * NULL on ENOMEM. */
SSL *kk_tlsctx_ssl(kk_tlsctx *);
unsigned long kk_tlsctx_handshake_ms(const kk_tlsctx *);
const kk_tls_policy *kk_tlsctx_policy(const kk_tlsctx *);

/* Adding is two steps, so that a batch either applies whole or not at
 * all: prepare parses the certificate and makes room for its names (it
 * can fail: NULL with err); link puts it in the index (it cannot).
 * Prepared and never linked: kk_tlscert_unref. */
kk_tlscert *kk_tlsctx_prepare(kk_tlsctx *, const kk_certificate *, char *err,
    size_t errlen);
/* Links a prepared certificate, before the certificate before in the
 * order added (NULL: last), which says the default (the first one). */
void kk_tlsctx_link(kk_tlsctx *, kk_tlscert *, kk_tlscert *before);
/* Takes the certificate of that fingerprint out of the index and returns
 * it (the caller holds the index's reference: link it again or unref it);
 * *after is the one that followed it (NULL: it was last), where linking
 * again puts it back. NULL when absent. Connections it was served on keep
 * it. */
kk_tlscert *kk_tlsctx_unlink(kk_tlsctx *, const char *fingerprint, kk_tlscert **after);
size_t kk_tlsctx_count(const kk_tlsctx *);
/* Whether the certificate of that fingerprint is linked. */
int kk_tlsctx_has(const kk_tlsctx *, const char *fingerprint);
/* A linked certificate that st no longer holds for listener, NULL when
 * none: a walk of the context's certificates. */
kk_tlscert *kk_tlsctx_stale(const kk_tlsctx *, const kk_state *st, const char *listener);

/* The certificate for server name (lower case; NULL or len 0: none was
 * sent) and a client that can use the key kinds in mask; NULL when the
 * context has none. Borrowed: take a reference to keep it. */
kk_tlscert *kk_tlsctx_select(const kk_tlsctx *, const char *name, size_t len,
    unsigned mask);

void kk_tlscert_ref(kk_tlscert *);
void kk_tlscert_unref(kk_tlscert *);	/* frees at zero, wiping its key */
/* Whether one of the certificate's names covers host (lower case, no
 * port): equal, or a one-label wildcard for it. */
int kk_tlscert_covers(const kk_tlscert *, const char *host, size_t len);
const char *kk_tlscert_fingerprint(const kk_tlscert *);
/* Serves x on the connection ssl. 1 ok, 0 the library refused. */
int kk_tlscert_install(const kk_tlscert *x, SSL *ssl);

/* tlshello.c, the only place that knows which library kakehi was built
 * with: the library's early ClientHello hook, set on a new SSL_CTX,
 * which calls kk_tlsctx_hello; and the OCSP response stapled to a
 * handshake whose client asked for one (der is copied). 1 ok, 0 no
 * memory. */
void kk_tlshello_hook(SSL_CTX *);
int kk_tlshello_staple(SSL *, const unsigned char *der, size_t len);
/* What the hook read from the ClientHello, for the selection. */
typedef struct kk_tlshello kk_tlshello;
struct kk_tlshello {
	const unsigned char *sni;	/* the host_name, as sent; NULL: none */
	size_t snilen;
	const unsigned char *sigalgs;	/* signature_algorithms list; NULL: none */
	size_t sigalgslen;
	const unsigned char *versions;	/* supported_versions list; NULL: none */
	size_t versionslen;
	const unsigned char *suites;	/* cipher_suites */
	size_t suiteslen;
};
/* Picks and installs the certificate for the handshake of ssl; 1 ok, 0
 * none to serve (the handshake fails). */
int kk_tlsctx_hello(SSL *ssl, const kk_tlshello *h);

#endif
