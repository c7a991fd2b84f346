/* ISC license. */
/* A cluster's queue: the streams that wait for a backend because every
 * one is at its --max-connections, first come first served. Waiters are
 * embedded in their streams (kk_qwait), so joining, leaving and waking
 * never allocate and cost O(1): a slot that frees wakes the first waiter
 * alone, never a scan. What a waiter does when woken or when its time
 * is up is its owner's (stream.c); this file keeps only the order. */
#ifndef KK_WORKER_QUEUE_H
#define KK_WORKER_QUEUE_H

#include "list.h"
#include "loop.h"
#include "timer.h"

typedef struct kk_queue kk_queue;
struct kk_queue {
	kk_link waiting;	/* kk_qwait.link, oldest first */
	unsigned n;
};

/* One waiter. ready runs (as a loop task, after the event that freed a
 * slot) when it may try again; timer fires when it has waited long
 * enough. Both are set by the owner; q is NULL while it waits nowhere. */
typedef struct kk_qwait kk_qwait;
struct kk_qwait {
	kk_link link;
	kk_task ready;
	kk_timer timer;
	kk_queue *q;
};

static inline void
kk_queue_init(kk_queue *q)
{
	kk_list_init(&q->waiting);
	q->n = 0;
}
/* Puts w last in q, its timer armed for at (monotonic ms), when q holds
 * fewer than max waiters: 1; else 0 (full), w unchanged. */
int kk_queue_join(kk_queue *q, unsigned max, kk_qwait *w, uint64_t at);
/* Takes w out of its queue: its timer and its ready task cancelled;
 * when that task was due, the wake passes to the next waiter, so a
 * slot freed for w is not lost when w goes another way. */
void kk_queue_leave(kk_qwait *w);
/* A slot may have freed for q's waiters: the first one's ready task is
 * queued. */
void kk_queue_kick(kk_queue *q);
/* Whether w waits in a queue. */
static inline int
kk_queue_waiting(const kk_qwait *w)
{
	return w->q != NULL;
}
/* Whether newcomers must queue behind q's waiters rather than take a
 * slot before them. */
static inline int
kk_queue_busy(const kk_queue *q)
{
	return q->n != 0;
}

#endif
