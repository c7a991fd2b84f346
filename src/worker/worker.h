/* ISC license. */
/* The worker process as a whole: its current router snapshot, the
 * generation it serves, draining and stopping. kakehi-worker.c holds
 * these; channel.c and the connections call in. */
#ifndef KK_WORKER_WORKER_H
#define KK_WORKER_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include <kakehi/state.h>
#include "router.h"

kk_router *kk_worker_router(void);
uint64_t kk_worker_generation(void);
const char *kk_worker_id(void);
/* Validates st and makes it current: listeners opened or closed, a new
 * router snapshot swapped in, settings applied. 1 ok; 0 with err filled,
 * nothing changed. Takes st on success (the worker frees it later); st
 * may be the current state itself, changed in place under a journal. */
int kk_worker_apply(kk_state *st, uint64_t generation, char *err, size_t errlen);
/* The same for the current state changed in place under the open journal
 * j: the router follows the journal from the current snapshot. */
int kk_worker_apply_journal(kk_state *st, const kk_journal *j, uint64_t generation,
    char *err, size_t errlen);
/* The state being served; NULL before the first apply. */
kk_state *kk_worker_state(void);
/* Reads a memfd of verb lines (from its start) into a new state. NULL
 * with err filled. */
kk_state *kk_worker_load_fd(int fd, char *err, size_t errlen);
/* A listener fd received for addr, kept until an update names it. */
void kk_worker_listener_fd(const char *addr, int fd);
/* Asks for a drain; it starts between two loop turns (kakehi-worker.c
 * says why). */
void kk_worker_drain(void);
/* Whether the drain has started: connections are no longer kept. */
int kk_worker_draining(void);
void kk_worker_stop(int code);
/* A front connection closed: accepting may resume, a drain may end. */
void kk_worker_conn_closed(void);

#endif
