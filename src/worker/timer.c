/* ISC license. */
/* A single-level hashed timer wheel. Expiries beyond one revolution stay
 * in their slot and are skipped until due, which keeps arming O(1) for the
 * long timeouts (idle 60 s) that are nearly always re-armed before they
 * fire. */
#include <stdint.h>
#include "timer.h"

static kk_link slots[KK_TIMER_SLOTS];
static uint64_t cur;		/* next tick to process */
static unsigned count;
/* Due entries wait: one was armed at or before the last run's time, or
 * the last run stopped at its budget. */
static int overdue;
static uint64_t last_now;	/* time of the last run (or of init) */

static inline uint64_t
tick_of(uint64_t ms)
{
	return ms / KK_TIMER_TICK_MS;
}

void
kk_timer_init(uint64_t now)
{
	unsigned i;
	for (i = 0; i < KK_TIMER_SLOTS; i++)
		kk_list_init(&slots[i]);
	cur = tick_of(now);
	count = 0;
	overdue = 0;
	last_now = now;
}

void
kk_timer_arm(kk_timer *t, uint64_t at)
{
	uint64_t tk;
	if (kk_timer_armed(t)) {
		kk_list_unlink(&t->link);
		count--;
	}
	t->at = at;
	tk = tick_of(at);
	/* An expiry in the past goes in the current slot, so the next run
	 * fires it. */
	if (tk < cur)
		tk = cur;
	if (at <= last_now)
		overdue = 1;
	kk_list_push(&slots[tk % KK_TIMER_SLOTS], &t->link);
	count++;
}

void
kk_timer_disarm(kk_timer *t)
{
	if (kk_timer_armed(t)) {
		kk_list_unlink(&t->link);
		count--;
	}
}

unsigned
kk_timer_count(void)
{
	return count;
}

uint64_t
kk_timer_next(void)
{
	uint64_t tk;
	unsigned i;
	if (!count)
		return UINT64_MAX;
	if (overdue)
		return last_now;
	/* The first non-empty slot from the current tick gives the earliest
	 * expiry to the slot's precision, or an entry waiting for a later
	 * revolution: waking a little early is harmless. The current slot's
	 * entries are not due yet (the last run fired those that were), so
	 * its answer is the slot's end: its start is already past, and
	 * waiting for it would be a busy loop of empty waits until the entry
	 * is due. An entry then fires up to one tick late. */
	for (i = 0, tk = cur; i < KK_TIMER_SLOTS; i++, tk++)
		if (!kk_list_empty(&slots[tk % KK_TIMER_SLOTS]))
			return (tk == cur ? tk + 1 : tk) * KK_TIMER_TICK_MS;
	return UINT64_MAX;
}

unsigned
kk_timer_run(uint64_t now, unsigned max)
{
	uint64_t target = tick_of(now);
	unsigned fired = 0, steps = 0;

	last_now = now;
	overdue = 0;
	while (cur <= target && steps++ < KK_TIMER_SLOTS) {
		kk_link *slot = &slots[cur % KK_TIMER_SLOTS], pending, *l;
		/* Detach the slot, so a callback arming into it does not
		 * make this loop endless; not-yet-due entries go back. */
		kk_list_move(&pending, slot);
		while ((l = kk_list_first(&pending))) {
			kk_timer *t = KK_CONTAINER(l, kk_timer, link);
			kk_list_unlink(l);
			if (t->at > now || fired >= max) {
				kk_list_push(slot, l);
				continue;
			}
			count--;
			fired++;
			t->cb(t);
		}
		if (fired >= max) {
			overdue = 1;
			return fired;	/* resume this slot next turn */
		}
		if (cur == target)
			break;
		cur++;
	}
	if (cur < target)	/* idle for more than a revolution */
		cur = target;
	return fired;
}

int
kk_timer_check(void)
{
	unsigned i, n = 0;
	for (i = 0; i < KK_TIMER_SLOTS; i++) {
		kk_link *l;
		for (l = slots[i].next; l != &slots[i]; l = l->next) {
			kk_timer *t = KK_CONTAINER(l, kk_timer, link);
			uint64_t tk = tick_of(t->at);
			if (l->next->prev != l)
				return 0;
			if (tk >= cur && tk % KK_TIMER_SLOTS != i)
				return 0;
			if (tk < cur && cur % KK_TIMER_SLOTS != i &&
			    tk % KK_TIMER_SLOTS != i)
				return 0;
			n++;
		}
	}
	return n == count;
}
