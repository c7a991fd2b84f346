/* ISC license. */
/* The buffer pool: taking and giving back, the bound and its waiters,
 * the sweep, and a size change. */
#include "tap.h"
#include "worker/buf.c"
#include "worker/loop.c"
#include "worker/timer.c"

static int woken;
static void
wake(kk_task *t)
{
	(void)t;
	woken++;
}

int
main(void)
{
	kk_buf a = { 0 }, b = { 0 }, c = { 0 };
	kk_task waiter = { { 0, 0 }, wake };
	size_t inuse, idle, size;

	kk_loop_init();
	kk_buf_setup(4096, 2);
	ok(kk_buf_take(&a, NULL), "take one");
	is_int(a.cap, 4096, "of the set size");
	ok(kk_buf_take(&a, NULL) && a.cap == 4096, "taking again keeps it");
	ok(kk_buf_take(&b, NULL), "take a second");
	ok(!kk_buf_take(&c, &waiter), "bound reached: none");
	ok(c.data == NULL, "nothing held after a refusal");
	kk_buf_give(&a);
	ok(a.data == NULL, "given back");
	kk_loop_turn(0);
	is_int(woken, 1, "the waiter was woken");
	ok(kk_buf_take(&c, NULL), "then it takes one");
	kk_buf_stats(&inuse, &idle, &size);
	is_int(inuse, 2, "two in use");
	memcpy(kk_buf_tail(&c), "hello", 5);
	c.len = 5;
	kk_buf_consume(&c, 2);
	is_int(c.off, 2, "consume moves the start");
	kk_buf_trim(&c);
	ok(c.data != NULL, "a buffer with bytes is kept");
	kk_buf_consume(&c, 3);
	is_int(c.off, 0, "emptied: start reset");
	kk_buf_trim(&c);
	ok(c.data == NULL, "an empty buffer is given back");
	kk_buf_give(&b);
	kk_buf_stats(&inuse, &idle, &size);
	is_int(inuse, 0, "none in use");
	is_int(idle, 2, "two idle");
	kk_buf_sweep();		/* sets the low-water mark */
	kk_buf_sweep();
	kk_buf_stats(&inuse, &idle, &size);
	is_int(idle, 1, "sweep frees half of the unused");
	kk_buf_sweep();
	kk_buf_sweep();
	kk_buf_stats(&inuse, &idle, &size);
	is_int(idle, 0, "and the rest later");
	ok(!kk_buf_sweep(), "sweep says nothing is left");
	/* Room: pending bytes move to the front when the tail is full. */
	kk_buf_setup(16, 0);
	kk_buf_take(&a, NULL);
	a.off = 10;
	a.len = 6;
	is_int(kk_buf_room(&a), 10, "compaction makes room");
	is_int(a.off, 0, "bytes moved to the front");
	kk_buf_take(&b, NULL);
	kk_buf_setup(32, 0);
	kk_buf_give(&b);
	kk_buf_stats(&inuse, &idle, &size);
	is_int(idle, 0, "a buffer of the old size is freed, not kept");
	is_int(size, 32, "new size");
	kk_buf_give(&a);
	return done();
}
