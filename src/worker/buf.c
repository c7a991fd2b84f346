/* ISC license. */
/* The buffer pool: a free list threaded through the idle buffers
 * themselves, a bound on how many exist, and a once-a-second sweep that
 * returns half of what went unused so an idle worker gives memory back.
 * Buffers are mapped one by one rather than taken from malloc: a freed
 * malloc block in the middle of the heap, between connection objects,
 * stays resident, so the memory of a burst would never go back. */
#include <stdlib.h>
#include <sys/mman.h>
#include "buf.h"

static size_t bufsize = 16384, bufmax;
static size_t ntotal, nfree, lowwater;
static void *freelist;
static kk_link waiters = { &waiters, &waiters };

static void *
buf_alloc(size_t n)
{
#ifdef __SANITIZE_ADDRESS__
	/* AddressSanitizer checks the bounds of malloc blocks only. */
	return malloc(n);
#else
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
#endif
}

static void
buf_free(void *p, size_t n)
{
#ifdef __SANITIZE_ADDRESS__
	(void)n;
	free(p);
#else
	munmap(p, n);
#endif
}

void
kk_buf_setup(size_t size, size_t max)
{
	if (size != bufsize) {
		/* Idle buffers of the old size go now; busy ones on return. */
		while (freelist) {
			void *p = freelist;
			freelist = *(void **)p;
			buf_free(p, bufsize);
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
		p = buf_alloc(bufsize);
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
		buf_free(b->data, b->cap);
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
		buf_free(p, bufsize);
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
