/* ISC license. */
/* Basic authentication in the worker (frontend add --htpasswd): the
 * users of a route's auth item (kakehi/htpasswd.h) found by hash, built
 * once per route and found again by the item's place, as edit.c does
 * with regexes; a request's credentials checked with crypt_r, with a
 * cache of those that passed and a bound on the CPU a second of
 * verifying may take, so that a flood of wrong passwords cannot hold
 * the loop. Not here: the 401 answer's bytes (the writers, with the
 * challenge of answer.h). */
#ifndef KK_WORKER_AUTH_H
#define KK_WORKER_AUTH_H

#include <stddef.h>
#include "head.h"

/* Verifying past this many microseconds of one second: 429 for the
 * requests that need a verification the cache cannot spare. A bcrypt
 * hash of cost 10 takes about 60 ms: the loop keeps 80% of its time. */
#define KK_AUTH_BUDGET_US 200000
/* Credentials that passed, kept per worker (direct-mapped by digest). */
#define KK_AUTH_CACHE 1024

/* Builds the users of the auth item of actions, a router's copy that
 * stays where it is until kk_auth_release. 1 ok (or none), 0 ENOMEM. */
int kk_auth_compile(const char *actions);
void kk_auth_release(const char *actions);
/* Whether request h may pass the auth item of actions (NULL: none): 0
 * yes (or no item), 401 with the challenge of the item's realm in
 * *realm, *realmlen (missing, malformed or wrong credentials), 429 the
 * verifying budget is spent. */
int kk_auth_request(const char *actions, const kk_reqhead *h, const char **realm,
    size_t *realmlen);

#endif
