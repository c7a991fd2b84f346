/* ISC license. */
/* Load balancing within a cluster: smooth weighted round-robin, weighted
 * random, least connections, power of two choices, consistent hashing
 * with bounded loads, and sticky sessions by cookie over any of them. A
 * backend is usable when its weight is not 0, it is not marked down and
 * it is not the one to avoid (a retry); backups are considered only when
 * no primary is usable. When every candidate is marked down, the marks
 * are ignored: they are a hint learnt from recent failures, and one more
 * attempt costs less than refusing outright. A backend out by the
 * health verdict (health.h) is never chosen until its retry is due: a
 * cluster whose backends are all out answers 503. doc/load-balancing.html
 * and doc/health.html say the same for operators. */
#ifndef KK_WORKER_LB_H
#define KK_WORKER_LB_H

#include <stdint.h>
#include "head.h"
#include "router.h"

/* Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam,
 * 2018): a backend takes a request while its active connections stay
 * under this many percent of the cluster's average per unit of weight,
 * counting the new one; else the ring's next backend is asked. 125: the
 * paper's c = 1.25, which keeps keys in place until a backend is a
 * quarter busier than its share. */
#define KK_LB_HASH_BOUND 125
/* The ring holds a point per unit of weight (100 for a default backend),
 * scaled down past this many points, so that a huge cluster's ring stays
 * a few hundred KiB; each backend keeps one point at least. */
#define KK_LB_RING_MAX 65536
/* kk_rbackend.since for a backend a change added to a running cluster:
 * its slow start begins with its first pick. */
#define KK_LB_SINCE_FIRST UINT64_MAX

/* What a request brings to the choice, read from its head once when its
 * stream starts: a retry comes after the head's bytes are gone. */
typedef struct kk_lbreq kk_lbreq;
struct kk_lbreq {
	uint64_t key;		/* --lb hash: the hash of the key's value */
	uint64_t sid;		/* --sticky: the backend its cookie names */
	unsigned char has_key, has_sid;
};

/* Builds c's tables once per snapshot, after its backends are in place:
 * the hash ring, the weight tables power of two choices draws from, the
 * backends' sticky ids and Set-Cookie values, with copies of the hash
 * key's name (NULL: none) and the sticky cookie's (NULL: the default),
 * which may point into another cluster's tables. c holds none yet (lbx
 * NULL). 1 ok, 0 ENOMEM. */
int kk_lb_prepare(kk_rcluster *c, const char *hash_name, const char *cookie_name);
/* Frees what kk_lb_prepare made for c. */
void kk_lb_release(kk_rcluster *c);
/* Reads q for a request to c from its head h (NULL: a tcp connection,
 * which has neither fields nor path) and the client's address text
 * (NULL: unknown). */
void kk_lb_request(const kk_rcluster *c, const kk_reqhead *h, const char *source,
    kk_lbreq *q);
/* NULL: no backend with a non-zero weight (other than avoid): 503. q
 * NULL: a request with no key and no cookie. */
kk_rbackend *kk_lb_pick(kk_rcluster *, const kk_lbreq *q, const kk_bend *avoid,
    uint64_t now);
/* The Set-Cookie value a response from b carries so that the client
 * comes back to it; NULL when c is not sticky or q's cookie names b. */
const char *kk_lb_cookie(const kk_rcluster *c, const kk_lbreq *q, const kk_rbackend *b);
void kk_lb_seed(uint64_t);
/* Whether a backend of c that could take requests (weight not 0) is at
 * its --max-connections: why a pick found none, when it did. A pass over
 * the backends, on that path alone. */
int kk_lb_any_full(const kk_rcluster *c);
/* Whether b serves as many requests as its --max-connections allows:
 * its bend's active connections, which every cluster naming the same
 * server in this worker shares. */
static inline int
kk_lb_full(const kk_rbackend *b)
{
	return b->max_conns && b->bend->nactive >= b->max_conns;
}

#endif
