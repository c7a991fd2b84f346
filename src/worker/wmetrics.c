/* ISC license. */
/* The worker's stripe of the metrics segment: mapping it, and finding an
 * object's counters there. The counting itself is inline (wmetrics.h) at
 * the places that already count the worker's totals (status.h). */
#include <errno.h>

#include "status.h"
#include "wmetrics.h"

_Static_assert(KK_CLOSE_COUNT == KK_METRICS_NCLOSE,
    "a close reason was added: name it in libkakehi/metrics.c and raise KK_METRICS_NCLOSE");

kk_metrics *kk_wmetrics_seg;
static unsigned own_stripe;
kk_mcount kk_wmetrics_none;

int
kk_wmetrics_init(int fd, unsigned s)
{
	if (s >= KK_METRICS_STRIPES) {
		errno = EINVAL;
		return 0;
	}
	if (!(kk_wmetrics_seg = kk_metrics_map(fd)))
		return 0;
	own_stripe = s;
	return 1;
}

kk_mcount *
kk_wmetrics_of(enum kk_metrics_kind kind, const char *a, const char *b)
{
	int slot;
	kk_mcount *c;

	if (!kk_wmetrics_seg || (slot = kk_metrics_find(kk_wmetrics_seg, kind, a, b)) < 0
	    || !(c = kk_metrics_count(kk_wmetrics_seg, own_stripe, (unsigned)slot)))
		return &kk_wmetrics_none;
	return c;
}
