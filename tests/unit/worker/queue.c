/* ISC license. */
/* A cluster's queue: first come first served, the bound, a wake going to
 * the first waiter alone, a waiter leaving from the middle or with its
 * wake due (the wake passes on), and deadlines on the timer wheel. */
#include "tap.h"
#include "worker/loop.c"
#include "worker/timer.c"
#include "worker/queue.c"

#define NW 4

static kk_queue q;
static kk_qwait w[NW];
static char order[16];
static unsigned norder;
static int expired[NW];

/* A woken waiter that takes its slot: it leaves, and is noted. */
static void
ready(kk_task *t)
{
	kk_qwait *x = KK_CONTAINER(t, kk_qwait, ready);
	order[norder++] = (char)('a' + (x - w));
	order[norder] = 0;
	kk_queue_leave(x);
}

static void
timeout(kk_timer *t)
{
	kk_qwait *x = KK_CONTAINER(t, kk_qwait, timer);
	expired[x - w]++;
	kk_queue_leave(x);
}

static void
reset(void)
{
	memset(w, 0, sizeof w);
	memset(expired, 0, sizeof expired);
	for (unsigned i = 0; i < NW; i++) {
		w[i].ready.run = ready;
		w[i].timer.cb = timeout;
	}
	norder = 0;
	order[0] = 0;
	kk_queue_init(&q);
}

/* One slot freed: the wake, then the loop's tasks. */
static void
slot(void)
{
	kk_queue_kick(&q);
	run_tasks();
}

int
main(void)
{
	kk_timer_init(1000);
	kk_list_init(&runq);
	kk_list_init(&graveyard);

	reset();
	ok(!kk_queue_busy(&q), "an empty queue lets newcomers by");
	ok(kk_queue_join(&q, 3, &w[0], 5000) && kk_queue_join(&q, 3, &w[1], 5000)
	    && kk_queue_join(&q, 3, &w[2], 5000), "three join a queue of three");
	ok(!kk_queue_join(&q, 3, &w[3], 5000) && !kk_queue_waiting(&w[3]),
	    "a fourth is refused, unchanged");
	ok(kk_queue_busy(&q) && q.n == 3, "the queue is busy");
	slot();
	is_str(order, "a", "a slot wakes the first alone");
	slot();
	slot();
	is_str(order, "abc", "then the next, in the order they came");
	ok(!kk_queue_busy(&q) && !kk_timer_count(), "all gone, no timer left");
	slot();
	is_str(order, "abc", "a wake on an empty queue does nothing");

	reset();
	kk_queue_join(&q, 8, &w[0], 5000);
	kk_queue_join(&q, 8, &w[1], 5000);
	kk_queue_join(&q, 8, &w[2], 5000);
	kk_queue_leave(&w[1]);
	ok(!kk_queue_waiting(&w[1]) && q.n == 2, "one leaves from the middle");
	kk_queue_leave(&w[1]);
	ok(q.n == 2, "leaving twice is harmless");
	slot();
	slot();
	is_str(order, "ac", "the others keep their order");

	reset();
	kk_queue_join(&q, 8, &w[0], 5000);
	kk_queue_join(&q, 8, &w[1], 5000);
	kk_queue_kick(&q);
	kk_queue_leave(&w[0]);	/* its client went away, its wake due */
	run_tasks();
	is_str(order, "b", "a woken waiter that leaves passes its wake on");
	ok(!kk_queue_busy(&q), "and the queue is empty");

	reset();
	kk_queue_join(&q, 8, &w[0], 1500);
	kk_queue_join(&q, 8, &w[1], 2500);
	kk_queue_join(&q, 8, &w[2], 2500);
	kk_timer_run(1400, 100);
	ok(!expired[0] && q.n == 3, "nobody expires early");
	kk_timer_run(1600, 100);
	ok(expired[0] && !expired[1] && q.n == 2, "the first deadline fires alone");
	slot();
	is_str(order, "b", "the next in line is served");
	kk_timer_run(3000, 100);
	ok(expired[2] && !expired[1] && !kk_queue_busy(&q), "a served waiter's timer is gone");
	ok(kk_timer_check(), "the wheel is consistent");
	return done();
}
