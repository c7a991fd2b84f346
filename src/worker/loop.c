/* ISC license. */
/* epoll loop. Sockets are registered once, edge-triggered, for both
 * directions: readiness is remembered by their owners (conn.h), so the
 * steady state makes no epoll_ctl call at all. Work is bounded per turn: a
 * fixed event array, a task budget, a timer budget. */
#include <errno.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include "loop.h"
#include "timer.h"

#define KK_LOOP_EVENTS 256
#define KK_LOOP_TASKS 4096	/* tasks run per turn before polling again */
#define KK_LOOP_TIMERS 512	/* timers fired per turn */

uint64_t kk_now_ms, kk_now_us;
static int epfd = -1;
static kk_link runq, graveyard;

void
kk_loop_clock(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	kk_now_us = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	kk_now_ms = kk_now_us / 1000;
}

int
kk_loop_init(void)
{
	kk_list_init(&runq);
	kk_list_init(&graveyard);
	kk_loop_clock();
	kk_timer_init(kk_now_ms);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	return epfd >= 0;
}

int
kk_loop_add(kk_io *io, uint32_t events)
{
	struct epoll_event ev;
	ev.events = events;
	ev.data.ptr = io;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, io->fd, &ev) == 0;
}

void
kk_loop_del(kk_io *io)
{
	struct epoll_event ev = { 0, { 0 } };
	epoll_ctl(epfd, EPOLL_CTL_DEL, io->fd, &ev);
}

void
kk_loop_wake(kk_task *t)
{
	if (!kk_link_linked(&t->link))
		kk_list_push(&runq, &t->link);
}

void
kk_loop_cancel(kk_task *t)
{
	kk_list_unlink(&t->link);
}

void
kk_loop_bury(kk_task *t)
{
	kk_list_unlink(&t->link);
	kk_list_push(&graveyard, &t->link);
}

static void
run_tasks(void)
{
	unsigned n = 0;
	kk_link *l;
	while (n++ < KK_LOOP_TASKS && (l = kk_list_first(&runq))) {
		kk_task *t = KK_CONTAINER(l, kk_task, link);
		kk_list_unlink(l);
		t->run(t);
	}
}

static void
bury_dead(void)
{
	kk_link *l;
	while ((l = kk_list_first(&graveyard))) {
		kk_task *t = KK_CONTAINER(l, kk_task, link);
		kk_list_unlink(l);
		t->run(t);
	}
}

int
kk_loop_turn(int max_wait_ms)
{
	struct epoll_event ev[KK_LOOP_EVENTS];
	int n, i, timeout;
	uint64_t next;

	run_tasks();
	bury_dead();
	timeout = max_wait_ms;
	next = kk_timer_next();
	if (next != UINT64_MAX) {
		uint64_t d = next > kk_now_ms ? next - kk_now_ms : 0;
		if (timeout < 0 || d < (uint64_t)timeout)
			timeout = (int)d;
	}
	if (!kk_list_empty(&runq))
		timeout = 0;
	n = epoll_wait(epfd, ev, KK_LOOP_EVENTS, timeout);
	if (n < 0 && errno != EINTR)
		return 0;
	kk_loop_clock();
	/* Back connections first: finishing responses frees buffers and
	 * connection slots for the new work that follows. */
	for (i = 0; i < n; i++) {
		kk_io *io = ev[i].data.ptr;
		if (io->prio == KK_IO_BACK)
			io->on_event(io, ev[i].events);
	}
	for (i = 0; i < n; i++) {
		kk_io *io = ev[i].data.ptr;
		if (io->prio != KK_IO_BACK)
			io->on_event(io, ev[i].events);
	}
	run_tasks();
	kk_timer_run(kk_now_ms, KK_LOOP_TIMERS);
	run_tasks();
	bury_dead();
	return 1;
}
