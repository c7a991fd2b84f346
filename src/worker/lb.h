/* ISC license. */
/* Load balancing within a cluster: smooth weighted round-robin, weighted
 * random, least connections. A backend is usable when its weight is not 0,
 * it is not marked down and it is not the one to avoid (a retry); backups
 * are considered only when no primary is usable. When every candidate is
 * marked down, the marks are ignored: they are a hint learnt from recent
 * failures, and one more attempt costs less than refusing outright. */
#ifndef KK_WORKER_LB_H
#define KK_WORKER_LB_H

#include <stdint.h>
#include "router.h"

/* NULL: no backend with a non-zero weight (other than avoid): 503. */
kk_rbackend *kk_lb_pick(kk_rcluster *, const kk_bend *avoid, uint64_t now);
void kk_lb_seed(uint64_t);

#endif
