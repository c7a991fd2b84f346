/* ISC license. */
/* Client certificates on an https listener with a client CA: the
 * context asks for one and verifies it (kk_tlspeer_setup), a refused
 * handshake is told apart from other failures (kk_tlspeer_refused), and
 * the verified subject is what the backend is told (kk_tlspeer_subject). */
#ifndef KK_WORKER_TLSPEER_H
#define KK_WORKER_TLSPEER_H

#include <stddef.h>
#include <openssl/ssl.h>
#include <kakehi/state.h>

/* Makes ctx ask for a client certificate and verify it against the
 * policy's client CA, refusing a handshake without one when the policy
 * requires it. 1 ok; 0 with err. */
int kk_tlspeer_setup(SSL_CTX *ctx, const kk_tls_policy *p, char *err, size_t errlen);
/* After a handshake failed, before the error queue is cleared: whether
 * it failed for the client's certificate (none where one is required,
 * or one that does not verify). */
int kk_tlspeer_refused(const SSL *ssl);
/* The verified client certificate's subject in RFC 4514 form
 * ("CN=client.test,O=Example"), printable ASCII only, on the heap; NULL
 * when the client sent none or on ENOMEM. */
char *kk_tlspeer_subject(SSL *ssl);

#endif
