/* ISC license. */
/* The buffer pool: a free list threaded through the idle buffers
 * themselves, a bound on how many exist, and a once-a-second sweep that
 * returns half of what went unused so an idle worker gives memory back. */
#include <stdlib.h>
#include "buf.h"

static size_t bufsize = 16384, bufmax;
static size_t ntotal, nfree, lowwater;
static void *freelist;
static kk_link waiters = { &waiters, &waiters };

void
kk_buf_setup(size_t size, size_t max)
{
	if (size != bufsize) {
		/* Idle buffers of the old size go now; busy ones on return. */
		while (freelist) {
			void *p = freelist;
			freelist = *(void **)p;
			free(p);
			ntotal--;
		}
		nfree = lowwater = 0;
		bufsize = size;
	}
	bufmax = max;
}

int
kk_buf_take(kk_buf *b, kk_task *waiter)
{
	void *p;
	if (b->data)
		return 1;
	if (freelist) {
		p = freelist;
		freelist = *(void **)p;
		if (--nfree < lowwater)
			lowwater = nfree;
	} else {
		if (bufmax && ntotal >= bufmax)
			goto park;
		p = malloc(bufsize);
		if (!p)
			goto park;
		ntotal++;
	}
	b->data = p;
	b->off = b->len = 0;
	b->cap = bufsize;
	return 1;
park:
	if (waiter && !kk_link_linked(&waiter->link))
		kk_list_push(&waiters, &waiter->link);
	return 0;
}

void
kk_buf_give(kk_buf *b)
{
	kk_link *l;
	if (!b->data)
		return;
	if (b->cap != bufsize) {
		free(b->data);
		ntotal--;
	} else {
		*(void **)(void *)b->data = freelist;
		freelist = b->data;
		nfree++;
	}
	b->data = NULL;
	b->off = b->len = b->cap = 0;
	if ((l = kk_list_first(&waiters))) {
		kk_task *t = KK_CONTAINER(l, kk_task, link);
		kk_list_unlink(l);
		kk_loop_wake(t);
	}
}

void
kk_buf_unwait(kk_task *waiter)
{
	/* The waiter is parked here or already queued to run: a doubly
	 * linked unlink takes it off either list. */
	kk_list_unlink(&waiter->link);
}

int
kk_buf_sweep(void)
{
	size_t n = (lowwater + 1) / 2;	/* the last idle one goes too */
	while (n-- && freelist) {
		void *p = freelist;
		freelist = *(void **)p;
		free(p);
		nfree--;
		ntotal--;
	}
	lowwater = nfree;
	return nfree > 0;
}

void
kk_buf_stats(size_t *inuse, size_t *idle, size_t *size)
{
	*inuse = ntotal - nfree;
	*idle = nfree;
	*size = bufsize;
}
