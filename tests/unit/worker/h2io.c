/* ISC license. */
/* The h2 body ring: bytes in order across buffers, what a window may
 * open as a reader takes them, whole buffers or parts, and a drop. */
#include "tap.h"
#include "worker/buf.c"
#include "worker/loop.c"
#include "worker/timer.c"
#include "worker/head.c"
#include "worker/reqid.c"
#include "worker/h2head.c"
#include "worker/h2io.c"

/* kk_h2_send's writes are not tried here. */
int
kk_conn_flush(kk_conn *c, int keep, int more)
{
	(void)c;
	(void)keep;
	(void)more;
	return -1;
}

int
main(void)
{
	kk_h2ring r;
	kk_buf dst = { 0 }, *b;
	uint8_t data[4 * 1024];
	size_t i, open;

	kk_loop_init();
	kk_buf_setup(1024, 16);
	memset(&r, 0, sizeof r);
	for (i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)i;
	ok(!kk_h2ring_first(&r), "empty: no first buffer");
	is_int(kk_h2ring_put(&r, data, sizeof data), 0, "four buffers' worth fits");
	is_int(r.n, 4, "in four buffers");
	is_int(kk_h2ring_put(&r, data, 1), 1, "one byte more does not");

	/* A reader that takes part of the first buffer: the space it
	 * leaves takes no new byte while buffers follow it, so no window
	 * opens yet. */
	b = kk_h2ring_first(&r);
	ok(b && b->len == 1024 && !memcmp(b->data + b->off, data, 1024), "the first bytes first");
	is_int(kk_h2ring_used(&r, 300), 0, "300 of 1024 taken: no window yet");
	is_int(kk_h2ring_put(&r, data, 1), 1, "and no room for a byte more");
	b = kk_h2ring_first(&r);
	ok(b && b->len == 724 && b->data[b->off] == (char)data[300], "the rest of it next");
	is_int(kk_h2ring_used(&r, 200), 0, "200 more: still none");
	is_int(kk_h2ring_used(&r, 524), 1024, "the buffer goes: its 1024 bytes open");
	is_int(r.n, 3, "three left");
	is_int(kk_h2ring_put(&r, data, 1024), 0, "then 1024 bytes fit again");

	/* Taken whole, after a part: the part's bytes open with it. */
	is_int(kk_h2ring_used(&r, 100), 0, "a part of the next");
	is_int(kk_h2ring_take(&r, &dst, &open), 924, "the rest of it taken whole");
	is_int(open, 1024, "its window opens whole");
	ok(dst.data && dst.len == 924, "into dst");
	kk_buf_give(&dst);

	/* A drop gives back what the ring holds and what was taken of a
	 * buffer not yet gone. */
	is_int(kk_h2ring_used(&r, 10), 0, "a part taken");
	is_int(kk_h2ring_drop(&r), 3 * 1024, "a drop opens all of it, the part too");
	ok(!kk_h2ring_first(&r) && r.n == 0 && r.taken == 0, "empty after");
	{
		size_t inuse, idle, size;
		kk_buf_stats(&inuse, &idle, &size);
		is_int(inuse, 0, "every buffer back in the pool");
	}

	/* A lone buffer read in parts makes room at its end again. */
	is_int(kk_h2ring_put(&r, data, 1024), 0, "one full buffer");
	is_int(kk_h2ring_used(&r, 1000), 0, "most of it taken");
	is_int(kk_h2ring_put(&r, data, 1000), 0, "its space is reused (no next buffer)");
	is_int(r.n, 1, "in the same buffer");
	is_int(kk_h2ring_used(&r, 1024), 2024, "emptied: every byte taken from it opens");
	return done();
}
