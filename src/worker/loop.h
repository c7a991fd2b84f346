/* ISC license. */
/* The event loop: one epoll instance, edge-triggered registrations made
 * once per socket, a run queue of tasks (how layers wake each other instead
 * of recursing), and a graveyard of objects freed at a safe point. */
#ifndef KK_WORKER_LOOP_H
#define KK_WORKER_LOOP_H

#include <stdint.h>
#include "list.h"

/* An fd registered with epoll. on_event gets the epoll event bits. Objects
 * with KK_IO_BACK priority are dispatched first in each turn, so responses
 * drain before new requests are read and new connections accepted. */
enum { KK_IO_BACK = 0, KK_IO_FRONT, KK_IO_OTHER };
typedef struct kk_io kk_io;
struct kk_io {
	int fd;
	unsigned char prio;
	void (*on_event)(kk_io *, uint32_t events);
};

/* A unit of deferred work; queued at most once. */
typedef struct kk_task kk_task;
struct kk_task {
	kk_link link;
	void (*run)(kk_task *);
};

extern uint64_t kk_now_ms;	/* monotonic milliseconds, updated each turn */
/* The same instant in microseconds, for latencies: the time a turn began,
 * so a duration counts whole turns (events of one turn share a time). */
extern uint64_t kk_now_us;

int kk_loop_init(void);		/* 1 ok, 0 errno */
/* Registers io for events (EPOLLIN, EPOLLOUT, EPOLLET, EPOLLEXCLUSIVE...).
 * 1 ok, 0 errno. */
int kk_loop_add(kk_io *, uint32_t events);
/* Removes io (needed only when the fd stays open). */
void kk_loop_del(kk_io *);
/* Queues t to run in this turn, after the events; no-op when queued. */
void kk_loop_wake(kk_task *);
void kk_loop_cancel(kk_task *);
/* Queues t to run after every event and task of this turn: the place where
 * closed objects are freed, since no caller can still hold them. */
void kk_loop_bury(kk_task *);
/* One turn: tasks, graveyard, epoll_wait (at most max_wait_ms; 0 when
 * tasks are pending), events, timers. 1 ok, 0 errno (epoll_wait failed). */
int kk_loop_turn(int max_wait_ms);
void kk_loop_clock(void);	/* refreshes kk_now_ms and kk_now_us */

#endif
