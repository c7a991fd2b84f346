/* ISC license. */
/* Passive health in a worker: failures counted against --max-fails,
 * one report per transition, answers that prove nothing before a
 * retry is due, a failed retry reported once, --fail-5xx, a verdict's
 * words checked, and a worker without a supervisor deciding alone with
 * the same backoff. The channel, the router and the log are stubs. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "tap.h"
#include "worker/health.c"

static kk_bend bend;
static kk_rbackend rb;
static kk_rcluster cl;
static int chan_on = 1;
static char sent[256];
static unsigned nsent;

int
kk_channel_active(void)
{
	return chan_on;
}

void
kk_channel_send(unsigned argc, const char *const *argv)
{
	unsigned i;
	sent[0] = 0;
	for (i = 0; i < argc; i++)
		snprintf(sent + strlen(sent), sizeof sent - strlen(sent), "%s%s", i ? " " : "",
		    argv[i]);
	nsent++;
}

void
kk_bend_mark_down(kk_bend *b, uint64_t now)
{
	b->down_until = now + KK_BEND_DOWN_MS;
}

static kk_router *const the_router = (kk_router *)&cl;
kk_router *
kk_worker_router(void)
{
	return the_router;
}

kk_rcluster *
kk_router_cluster(const kk_router *r, const char *id)
{
	(void)r;
	return !strcmp(id, cl.id) ? &cl : NULL;
}

void
kk_log_warning(const char *fmt, ...)
{
	(void)fmt;
}

static void
reset(unsigned max_fails, int fail_5xx)
{
	memset(&bend, 0, sizeof bend);
	memset(&rb, 0, sizeof rb);
	memset(&cl, 0, sizeof cl);
	rb.bend = &bend;
	rb.id = "b1";
	rb.weight = 100;
	cl.id = "app";
	cl.b = &rb;
	cl.nb = 1;
	cl.max_fails = max_fails;
	cl.fail_5xx = fail_5xx;
	nsent = 0;
	sent[0] = 0;
}

static int
verdict(const char *a3, const char *a4, uint64_t now)
{
	char *argv[5] = { "health", "app", "b1", (char *)a3, (char *)a4 };
	return kk_health_verdict(a4 ? 5 : 4, argv, now);
}

int
main(void)
{
	char *bad[5] = { "health", "app", "nope", "down", "1000" };

	reset(3, 0);
	kk_health_failed(&cl, "b1", &bend, NULL, 1, 100);
	kk_health_failed(&cl, "b1", &bend, NULL, 1, 200);
	ok(!nsent, "two failures of three: nothing reported");
	ok(bend.down_until == 200 + KK_BEND_DOWN_MS, "a refused connect marks the bend");
	kk_health_answered(&cl, "b1", &bend, NULL, 200, 300);
	kk_health_failed(&cl, "b1", &bend, NULL, 1, 400);
	kk_health_failed(&cl, "b1", &bend, NULL, 1, 500);
	ok(!nsent, "an answer between them starts the count again");
	kk_health_failed(&cl, "b1", &bend, NULL, 1, 600);
	is_str(sent, "health app b1 down", "the third in a row is reported");
	kk_health_failed(&cl, "b1", &bend, NULL, 1, 700);
	is_int(nsent, 1, "once: the verdict is awaited");
	ok(!kk_bend_is_out(&bend, 700), "not out before the verdict");

	ok(verdict("down", "1000", 1000), "verdict down applies");
	ok(kk_bend_is_out(&bend, 1999) && !kk_bend_is_out(&bend, 2000),
	    "out for its backoff, then due for a retry");
	kk_health_answered(&cl, "b1", &bend, NULL, 200, 1500);
	kk_health_failed(&cl, "b1", &bend, NULL, 1, 1600);
	ok(nsent == 1 && bend.out, "before the retry is due, answers and failures say nothing");
	kk_health_failed(&cl, "b1", &bend, NULL, 1, 2000);
	is_int(nsent, 2, "a failed retry is reported");
	ok(kk_bend_is_out(&bend, 2001), "and holds back until the next verdict");
	kk_health_failed(&cl, "b1", &bend, NULL, 1, 2100);
	is_int(nsent, 2, "the retry's failure is reported once");
	ok(verdict("down", "2000", 2200), "a longer verdict");
	kk_health_answered(&cl, "b1", &bend, NULL, 204, 4200);
	is_str(sent, "health app b1 up", "a retry answered: reported up");
	ok(!bend.out && !bend.fails && bend.down_until == 4200, "back at once in this worker");
	ok(verdict("up", NULL, 4300), "verdict up applies");
	ok(bend.down_until == 4200, "up for a backend in: nothing moves (its slow start stays)");
	ok(verdict("down", "-", 5000) && kk_bend_is_out(&bend, UINT64_MAX - 1),
	    "a held verdict: out with no retry");
	kk_health_answered(&cl, "b1", &bend, NULL, 200, 900000);
	kk_health_failed(&cl, "b1", &bend, NULL, 1, 900000);
	is_int(nsent, 3, "held: requests report nothing either way");
	ok(verdict("up", NULL, 900001) && !bend.out, "only an up lifts it");

	reset(2, 1);
	kk_health_answered(&cl, "b1", &bend, NULL, 500, 10);
	kk_health_answered(&cl, "b1", &bend, NULL, 503, 20);
	is_str(sent, "health app b1 down", "--fail-5xx: two 5xx in a row");
	ok(bend.down_until == 0, "an answer marks no connect failure");
	reset(2, 0);
	kk_health_answered(&cl, "b1", &bend, NULL, 500, 10);
	kk_health_answered(&cl, "b1", &bend, NULL, 500, 20);
	ok(!nsent && !bend.fails, "without --fail-5xx a 500 is an answer");
	reset(0, 1);
	for (int i = 0; i < 10; i++)
		kk_health_failed(&cl, "b1", &bend, NULL, 1, 10);
	ok(!nsent, "--max-fails 0: never out");

	reset(1, 0);
	ok(!kk_health_verdict(5, bad, 0), "a verdict on a backend this worker lacks: ignored");
	ok(!verdict("down", "soon", 0) && !verdict("down", "", 0) && !verdict("down", "61000", 0),
	    "a backoff that is not a number of ms up to 60 s: ignored");
	ok(!verdict("sideways", NULL, 0) && !verdict("up", "5", 0) && !bend.out,
	    "other words: ignored, nothing changed");

	reset(1, 0);
	chan_on = 0;
	kk_health_failed(&cl, "b1", &bend, NULL, 1, 100);
	ok(!nsent && bend.out && bend.retry_at == 100 + KK_HEALTH_BACKOFF_MS,
	    "no supervisor: out at once, for the first backoff");
	kk_health_failed(&cl, "b1", &bend, NULL, 1, 100 + KK_HEALTH_BACKOFF_MS);
	ok(bend.retry_at == 100 + 3 * KK_HEALTH_BACKOFF_MS, "a failed retry: twice as long");
	kk_health_answered(&cl, "b1", &bend, NULL, 200, 100 + 3 * KK_HEALTH_BACKOFF_MS);
	ok(!bend.out, "an answered retry: back");
	chan_on = 1;

	ok(kk_health_backoff_next(0) == KK_HEALTH_BACKOFF_MS
	    && kk_health_backoff_next(16000) == 32000
	    && kk_health_backoff_next(32000) == KK_HEALTH_BACKOFF_MAX_MS
	    && kk_health_backoff_next(KK_HEALTH_BACKOFF_MAX_MS) == KK_HEALTH_BACKOFF_MAX_MS,
	    "the backoff doubles up to a minute");
	return done();
}
