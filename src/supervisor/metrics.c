/* ISC license. */
/* The supervisor's side of the metrics segment (kakehi/metrics.h): it
 * creates it, gives each object of the state a slot before a change that
 * adds it reaches the workers, frees the slots of objects a committed
 * change removed (their counts folded into the retired totals), marks
 * the stripes workers write and settles the gauges of a worker that
 * exited. The answer to `metrics` is control.c's. */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kakehi/metrics.h>

#include "sv.h"

_Static_assert(SV_MAX_SLOTS <= KK_METRICS_STRIPES,
    "a worker slot without a stripe of its own: raise KK_METRICS_STRIPES");

static int full_warned;

void
sv_metrics_start(void)
{
	sv.metrics = 0;
	sv.metrics_fd = kk_metrics_create();
	if (sv.metrics_fd >= 0 && !(sv.metrics = kk_metrics_map(sv.metrics_fd))) {
		close(sv.metrics_fd);
		sv.metrics_fd = -1;
	}
	if (sv.metrics_fd < 0) {
		sv_warn("unable to create the metrics segment: %s; kakehi-ctl metrics will"
		    " have nothing to show", strerror(errno));
		return;
	}
	sv_metrics_sync(&sv.state);
}

static void
assign(enum kk_metrics_kind kind, const char *a, const char *b)
{
	/* Warned once: a segment that cannot grow would say so for every
	 * object after. */
	if (kk_metrics_assign(sv.metrics, kind, a, b) < 0 && !full_warned) {
		full_warned = 1;
		sv_warn("metrics: no slot for %s %s%s%s: %s; it counts in the totals of"
		    " the workers only", kind == KK_METRICS_LISTENER ? "listener" :
		    kind == KK_METRICS_CLUSTER ? "cluster" : "backend", a, b ? "/" : "",
		    b ? b : "", strerror(errno));
	}
}

void
sv_metrics_sync(const kk_state *st)
{
	size_t i;

	if (!sv.metrics)
		return;
	for (i = 0; i < st->nlisteners; i++)
		assign(KK_METRICS_LISTENER, st->listeners[i].addr_text, 0);
	for (i = 0; i < st->nclusters; i++)
		if (st->clusters[i].id)
			assign(KK_METRICS_CLUSTER, st->clusters[i].id, 0);
	for (i = 0; i < st->nbackends; i++)
		if (st->backends[i].cluster)
			assign(KK_METRICS_BACKEND, st->backends[i].cluster, st->backends[i].id);
}

void
sv_metrics_sync_journal(const kk_state *st, const kk_journal *j)
{
	size_t i, k;

	if (!sv.metrics)
		return;
	for (i = 0; i < j->n; i++) {
		kk_change ch;
		kk_journal_change(st, j, i, &ch);
		switch (ch.id) {
		case KK_V_LISTENER_ADD:
			/* Listeners are few, and a change does not say which. */
			for (k = 0; k < st->nlisteners; k++)
				assign(KK_METRICS_LISTENER, st->listeners[k].addr_text, 0);
			break;
		case KK_V_CLUSTER_ADD:
			if (ch.c && ch.c->id)
				assign(KK_METRICS_CLUSTER, ch.c->id, 0);
			break;
		case KK_V_BACKEND_ADD:
			if (ch.b && ch.b->cluster)
				assign(KK_METRICS_BACKEND, ch.b->cluster, ch.b->id);
			break;
		default:
			break;
		}
	}
}

static void
release(enum kk_metrics_kind kind, const char *a, const char *b)
{
	int slot = kk_metrics_find(sv.metrics, kind, a, b);
	if (slot >= 0)
		kk_metrics_release(sv.metrics, (unsigned)slot);
}

void
sv_metrics_commit_journal(const kk_state *st, const kk_journal *j)
{
	size_t i;

	if (!sv.metrics)
		return;
	for (i = 0; i < j->n; i++) {
		kk_change ch;
		kk_journal_change(st, j, i, &ch);
		/* Removed, unless added again later in the same change. */
		switch (ch.id) {
		case KK_V_LISTENER_REMOVE:
			if (ch.l && !kk_state_listener(st, ch.l->addr_text))
				release(KK_METRICS_LISTENER, ch.l->addr_text, 0);
			break;
		case KK_V_CLUSTER_REMOVE:
			if (ch.c && ch.c->id && !kk_state_cluster(st, ch.c->id))
				release(KK_METRICS_CLUSTER, ch.c->id, 0);
			break;
		case KK_V_BACKEND_REMOVE:
			if (ch.b && ch.b->cluster && !kk_state_backend(st, ch.b->cluster, ch.b->id))
				release(KK_METRICS_BACKEND, ch.b->cluster, ch.b->id);
			break;
		default:
			break;
		}
	}
}

void
sv_metrics_prune(const kk_state *st)
{
	unsigned i;

	if (!sv.metrics)
		return;
	for (i = 0; i < sv.metrics->h->nfresh; i++) {
		const kk_mdir *d = kk_metrics_dir(sv.metrics, i);
		int here;
		if (!d || d->state != KK_METRICS_USED)
			continue;
		switch (d->kind) {
		case KK_METRICS_LISTENER:
			here = kk_state_listener(st, d->a) != 0;
			break;
		case KK_METRICS_CLUSTER:
			here = kk_state_cluster(st, d->a) != 0;
			break;
		default:
			here = kk_state_backend(st, d->a, d->b) != 0;
		}
		if (!here)
			kk_metrics_release(sv.metrics, i);
	}
}

void
sv_metrics_spawned(const sv_worker *w)
{
	if (sv.metrics)
		kk_metrics_stripe_use(sv.metrics, w->id);
}

void
sv_metrics_exited(const sv_worker *w)
{
	if (sv.metrics)
		kk_metrics_settle(sv.metrics, w->id);
}

uint64_t
sv_metrics_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
