/* ISC license. */
/* What a worker counts per listener, cluster and backend, in its own
 * stripe of the metrics segment (kakehi/metrics.h): each router object
 * holds a pointer to its slot's counters, found once when the snapshot
 * is built; the hot path only adds to them. A worker started without a
 * segment (on its own, without a supervisor), or an object without a
 * slot, counts into a scratch slot nobody reads. */
#ifndef KK_WORKER_WMETRICS_H
#define KK_WORKER_WMETRICS_H

#include <stdint.h>
#include <kakehi/metrics.h>
#include "bend.h"
#include "loop.h"

extern kk_metrics *kk_wmetrics_seg;	/* NULL: none */

/* Counters nobody reads, for what has no slot. */
extern kk_mcount kk_wmetrics_none;

/* Maps the segment of fd for stripe; fd stays open as long as the worker
 * runs (chunks added later are mapped from it). 1 ok, 0 with errno. */
int kk_wmetrics_init(int fd, unsigned stripe);
/* The counters of an object (b: the backend id, or NULL); never NULL. */
kk_mcount *kk_wmetrics_of(enum kk_metrics_kind kind, const char *a, const char *b);

/* A response with status, counted on m. */
static inline void
kk_wmetrics_response(kk_mcount *m, unsigned status)
{
	int i = kk_metrics_status_index(status);
	m->responses[status >= 100 && status < 600 ? status / 100 : 0]++;
	if (i >= 0)
		m->status[i]++;
}

/* The latencies of a stream that started at start_us (first_us: when its
 * response began, 0 for an answer the proxy made). */
static inline void
kk_wmetrics_latency(kk_mcount *m, uint64_t start_us, uint64_t first_us)
{
	if (first_us) {
		kk_mhist_record(&m->ttfb, first_us - start_us);
		m->ttfb_sum += first_us - start_us;
	}
	kk_mhist_record(&m->total, kk_now_us - start_us);
	m->total_sum += kk_now_us - start_us;
}

/* The health a backend's slot shows (down_until, read as down while in
 * the future): out by the health verdict, down until the verdict up;
 * else the window a failed connect avoids it for. */
static inline void
kk_wmetrics_health(kk_mcount *m, const kk_bend *b)
{
	if (m)
		m->down_until = b->out ? UINT64_MAX : b->down_until;
}

#endif
