/* ISC license. */
/* Passive health in the worker (doc/health.html): what happens to
 * requests counts against their backend, a cluster's --max-fails
 * failures in a row (connects; answers of 500 and above with
 * --fail-5xx) are reported to the supervisor, and its verdict, the
 * same for every worker, takes the backend out (kk_bend_is_out) or puts
 * it back. Retries after the verdict's backoff are ordinary requests.
 * The counts live on the bend, so they outlast router snapshots; the
 * messages are in kakehi/proto.h. */
#ifndef KK_WORKER_HEALTH_H
#define KK_WORKER_HEALTH_H

#include <stdint.h>
#include "router.h"

/* A request of cluster c to backend (id) on bend b failed: a connect
 * (connect 1: b is avoided a while, as kk_bend_mark_down), or (connect
 * 0) no answer within the back timeout, or an answer of 500 or above
 * under --fail-5xx. m: the backend's counters (wmetrics.h), whose health
 * follows b's; NULL: none. */
void kk_health_failed(const kk_rcluster *c, const char *backend, kk_bend *b, kk_mcount *m,
    int connect, uint64_t now);
/* b answered a request of c with status (0: a tcp connection made). */
void kk_health_answered(const kk_rcluster *c, const char *backend, kk_bend *b, kk_mcount *m,
    unsigned status, uint64_t now);
/* The supervisor's verdict (argv of "health CLUSTER BACKEND down MS"
 * or "... up"). 1 applied; 0 it names nothing this worker has or does
 * not parse (nothing changed). */
int kk_health_verdict(unsigned argc, char **argv, uint64_t now);

#endif
