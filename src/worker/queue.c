/* ISC license. */
/* The order of a cluster's queue: join at the tail, leave from anywhere,
 * wake the head. The waiters' deadlines are timer wheel entries of their
 * own, so a timeout costs O(1) too and the queue is never walked. */
#include "queue.h"

int
kk_queue_join(kk_queue *q, unsigned max, kk_qwait *w, uint64_t at)
{
	if (q->n >= max)
		return 0;
	kk_list_push(&q->waiting, &w->link);
	q->n++;
	w->q = q;
	kk_timer_arm(&w->timer, at);
	return 1;
}

void
kk_queue_leave(kk_qwait *w)
{
	kk_queue *q = w->q;
	int woken = kk_link_linked(&w->ready.link);
	if (!q)
		return;
	kk_list_unlink(&w->link);
	q->n--;
	w->q = NULL;
	kk_timer_disarm(&w->timer);
	kk_loop_cancel(&w->ready);
	if (woken)
		kk_queue_kick(q);
}

void
kk_queue_kick(kk_queue *q)
{
	kk_link *l = kk_list_first(&q->waiting);
	if (l)
		kk_loop_wake(&KK_CONTAINER(l, kk_qwait, link)->ready);
}
