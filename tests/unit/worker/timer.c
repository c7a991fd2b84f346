/* ISC license. */
/* The timer wheel: order of firing, re-arming, disarming, expiries past
 * one revolution, the budget per run, and the structure check. */
#include "tap.h"
#include "worker/timer.c"

static int fired[8];
static kk_timer t[8];

static void
cb(kk_timer *x)
{
	fired[x - t]++;
}

int
main(void)
{
	unsigned i;
	kk_timer_init(1000);
	for (i = 0; i < 8; i++)
		t[i].cb = cb;
	kk_timer_arm(&t[0], 1100);
	kk_timer_arm(&t[1], 1050);
	kk_timer_arm(&t[2], 1000 + 100000);	/* beyond one revolution */
	kk_timer_arm(&t[3], 500);		/* already past */
	ok(kk_timer_check(), "wheel consistent after arming");
	is_int(kk_timer_count(), 4, "four armed");
	ok(kk_timer_next() <= 1000, "next expiry is now for a past timer");
	is_int(kk_timer_run(1000, 100), 1, "past timer fires at once");
	is_int(fired[3], 1, "the past one");
	ok(kk_timer_next() <= 1050 && kk_timer_next() >= 1050 - KK_TIMER_TICK_MS,
	    "next expiry within a tick of 1050");
	/* Not due yet, in the slot of now: the answer must not be in the
	 * past, or the loop would wait 0 ms again and again until 1005. */
	kk_timer_arm(&t[4], 1005);
	ok(kk_timer_next() > 1000 && kk_timer_next() <= 1005 + KK_TIMER_TICK_MS,
	    "a timer later in the current tick: next is after now, within a tick (%llu)",
	    (unsigned long long)kk_timer_next());
	is_int(kk_timer_run(1003, 100), 0, "and it does not fire early");
	kk_timer_arm(&t[5], 1003);
	ok(kk_timer_next() <= 1003, "one armed at the time of the last run is due now");
	is_int(kk_timer_run(1008, 100), 2, "both fire once due");
	is_int(kk_timer_run(1060, 100), 1, "one due at 1060");
	is_int(fired[1], 1, "the 1050 one");
	kk_timer_arm(&t[0], 2000);	/* re-armed before it fired */
	is_int(kk_timer_run(1500, 100), 0, "re-armed timer does not fire early");
	kk_timer_disarm(&t[0]);
	ok(!kk_timer_armed(&t[0]), "disarmed");
	is_int(kk_timer_run(3000, 100), 0, "disarmed timer never fires");
	is_int(kk_timer_run(50000, 100), 0, "far timer waits its revolution");
	is_int(fired[2], 0, "not yet");
	ok(kk_timer_check(), "wheel consistent");
	is_int(kk_timer_run(101000, 100), 1, "far timer fires after more than a revolution");
	is_int(fired[2], 1, "the far one");
	/* Budget: at most max per run, the rest next time. */
	for (i = 0; i < 8; i++) {
		fired[i] = 0;
		kk_timer_arm(&t[i], 101100);
	}
	is_int(kk_timer_run(101200, 3), 3, "budget of 3");
	ok(kk_timer_next() <= 101200, "what the budget left is due now");
	is_int(kk_timer_run(101200, 100), 5, "the rest on the next run");
	is_int(kk_timer_count(), 0, "none left");
	ok(kk_timer_check(), "wheel consistent at the end");
	is_int(kk_timer_next(), UINT64_MAX, "nothing armed: no expiry");
	return done();
}
