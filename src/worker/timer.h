/* ISC license. */
/* Timer wheel. Entries are embedded in their owners (found again with
 * KK_CONTAINER), so arming and re-arming never allocate and cost O(1): the
 * front idle timer is re-armed on every request. */
#ifndef KK_WORKER_TIMER_H
#define KK_WORKER_TIMER_H

#include <stdint.h>
#include "list.h"

typedef struct kk_timer kk_timer;
struct kk_timer {
	kk_link link;		/* in a wheel slot; unlinked when not armed */
	uint64_t at;		/* expiry, monotonic ms */
	void (*cb)(kk_timer *);	/* runs once; may re-arm or free its owner */
};

/* Slot width and count: 4096 slots of 16 ms cover 65 s; a later expiry
 * waits in its slot for the wheel to come round again. */
#define KK_TIMER_TICK_MS 16
#define KK_TIMER_SLOTS 4096

void kk_timer_init(uint64_t now);
void kk_timer_arm(kk_timer *, uint64_t at);
void kk_timer_disarm(kk_timer *);
static inline int
kk_timer_armed(const kk_timer *t)
{
	return t->link.next != 0;
}
/* Earliest expiry among armed timers (slot precision), UINT64_MAX when
 * none. */
uint64_t kk_timer_next(void);
/* Fires the timers due at now, at most max of them; returns how many. */
unsigned kk_timer_run(uint64_t now, unsigned max);
unsigned kk_timer_count(void);
/* Checks the wheel's invariants: every entry sits in the slot of its
 * expiry and the count matches. 1 ok, 0 broken. */
int kk_timer_check(void);

#endif
