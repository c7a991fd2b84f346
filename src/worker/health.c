/* ISC license. */
/* Counting failures and answers per bend against a cluster's
 * --max-fails, reporting the transitions on the channel, and applying
 * the supervisor's verdicts. A worker without a supervisor (run alone,
 * or after its channel closed) gives itself the verdict the supervisor
 * would: the same backoff rule, kakehi/proto.h. Nothing here allocates:
 * it runs for every answer. */
#include <stdlib.h>
#include <string.h>
#include <kakehi/proto.h>
#include "channel.h"
#include "health.h"
#include "log.h"
#include "wmetrics.h"
#include "worker.h"

/* Out: not chosen until now + backoff_ms. */
static void
take_out(kk_bend *b, unsigned long backoff_ms, uint64_t now)
{
	b->out = 1;
	b->reported = 0;
	b->backoff_ms = backoff_ms;
	b->retry_at = now + backoff_ms;
}

static void
put_back(kk_bend *b, uint64_t now)
{
	b->out = 0;
	b->reported = 0;
	b->fails = 0;
	b->refusals = 0;
	b->backoff_ms = 0;
	/* Its down mark ends now: --slow-start ramps from here. */
	b->down_until = now;
}

/* Tells the supervisor, or decides alone without one. */
static void
report(const kk_rcluster *c, const char *backend, kk_bend *b, int up, uint64_t now)
{
	const char *argv[4] = { KK_MSG_HEALTH, c->id, backend, up ? "up" : "down" };
	if (!kk_channel_active()) {
		if (up)
			put_back(b, now);
		else
			take_out(b, kk_health_backoff_next(b->out ? b->backoff_ms : 0), now);
		kk_log_warning("backend %s of cluster %s is %s (no supervisor: "
		    "this worker alone)", backend, c->id, up ? "up" : "down");
		return;
	}
	kk_channel_send(4, argv);
}

static void
failed(const kk_rcluster *c, const char *backend, kk_bend *b, int connect, uint64_t now)
{
	if (connect)
		kk_bend_mark_down(b, now);
	if (!c->max_fails)
		return;
	if (b->fails < c->max_fails)
		b->fails++;
	if (b->out) {
		/* A request that left before the verdict says nothing
		 * new; one that was a retry failed: out again, for twice
		 * as long, which the supervisor confirms. Until then this
		 * worker holds back on its own, so that one failed retry
		 * is one report. */
		if (now < b->retry_at)
			return;
		b->retry_at = now + kk_health_backoff_next(b->backoff_ms);
		report(c, backend, b, 0, now);
		return;
	}
	if (b->fails < c->max_fails || b->reported)
		return;
	b->reported = 1;
	report(c, backend, b, 0, now);
}

void
kk_health_failed(const kk_rcluster *c, const char *backend, kk_bend *b, kk_mcount *m,
    int connect, uint64_t now)
{
	failed(c, backend, b, connect, now);
	kk_wmetrics_health(m, b);
}

void
kk_health_answered(const kk_rcluster *c, const char *backend, kk_bend *b, kk_mcount *m,
    unsigned status, uint64_t now)
{
	if (c->fail_5xx && status >= 500) {
		kk_health_failed(c, backend, b, m, 0, now);
		return;
	}
	b->refusals = 0;
	if (!b->fails && !b->out)
		return;
	/* An answer to a request that left before the verdict proves
	 * nothing about a retry: only one after retry_at does. */
	if (b->out && now < b->retry_at)
		return;
	b->fails = 0;
	if (b->out) {
		put_back(b, now);
		report(c, backend, b, 1, now);
		kk_wmetrics_health(m, b);
	}
}

/* Backend id of cluster c in the current snapshot. */
static kk_rbackend *
find(const char *cluster, const char *id)
{
	kk_rcluster *c = kk_router_cluster(kk_worker_router(), cluster);
	unsigned i;
	if (!c)
		return NULL;
	/* A cluster's backends are few: the scan is shorter than a hash. */
	for (i = 0; i < c->nb; i++)
		if (!strcmp(c->b[i].id, id))
			return &c->b[i];
	return NULL;
}

/* Applies a verdict's words to b. 1 ok, 0 malformed. */
static int
apply(kk_bend *b, unsigned argc, char **argv, uint64_t now)
{
	if (!strcmp(argv[3], "up") && argc == 4) {
		/* Up already (kakehi-check starting says up for every backend
		 * it finds well): nothing moves, --slow-start included. */
		if (b->out)
			put_back(b, now);
		return 1;
	}
	if (!strcmp(argv[3], "down") && argc == 5 && !strcmp(argv[4], KK_HEALTH_HELD)) {
		take_out(b, 0, now);
		b->retry_at = UINT64_MAX;
		return 1;
	}
	if (!strcmp(argv[3], "down") && argc == 5) {
		char *end;
		unsigned long ms = strtoul(argv[4], &end, 10);
		if (!*argv[4] || *end || ms > KK_HEALTH_BACKOFF_MAX_MS)
			return 0;
		take_out(b, ms, now);
		return 1;
	}
	return 0;
}

int
kk_health_verdict(unsigned argc, char **argv, uint64_t now)
{
	kk_rbackend *rb;
	if (argc < 4 || !kk_worker_router() || !(rb = find(argv[1], argv[2]))
	    || !apply(rb->bend, argc, argv, now))
		return 0;
	/* What metrics show for this cluster's backend (the same bend under
	 * other clusters shows it at their next failure or verdict). */
	kk_wmetrics_health(rb->m, rb->bend);
	return 1;
}
