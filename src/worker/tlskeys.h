/* ISC license. */
/* Session-ticket keys: the ring the supervisor sends (proto.h, tls-keys)
 * and the ticket callback every TLS context of the worker uses, so a
 * ticket one worker issued resumes on any other, before and after an
 * upgrade. Until a ring arrives (and always without a supervisor) the
 * worker encrypts with a key of its own: a handshake never fails for want
 * of keys, its tickets only resume on this worker. Session caches are off:
 * tickets are the one way to resume, the same on every worker. */
#ifndef KK_WORKER_TLSKEYS_H
#define KK_WORKER_TLSKEYS_H

#include <stddef.h>
#include <openssl/ssl.h>
#include <kakehi/str.h>

/* Sets the ticket callback and the session lifetime of ctx, which then
 * follows the lifetime of every ring until the library frees ctx. */
void kk_tls_keys_install(SSL_CTX *ctx);
/* Replaces the ring with a tls-keys message (argv[0] is its name). 1 ok;
 * 0 with err filled and the ring unchanged. The ring replaced is wiped. */
int kk_tls_keys_set(unsigned argc, const char *const *argv, char *err, size_t errlen);
/* Status lines: tls-ticket-serial (0: the worker's own key, or none yet)
 * and tls-ticket-key, the public name of the key that encrypts. 1 ok,
 * 0 ENOMEM. */
int kk_tls_keys_status(kk_str *out);

#endif
