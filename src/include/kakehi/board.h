/* ISC license. */
/* The board: a small shared memory segment the supervisor creates and
 * every worker maps, one cache line per worker slot. A worker writes only
 * its own slot (how many client connections it holds, whether it is
 * accepting, and a heartbeat) and reads the others', so workers sharing a
 * listener can keep to their share of new connections without a message
 * between them (lsock.c). Relaxed loads and stores of aligned words: a
 * figure a few connections old is good enough to balance on. */
#ifndef KAKEHI_BOARD_H
#define KAKEHI_BOARD_H

#include <stdint.h>

#define KK_BOARD_MAGIC 0x4b4b4231u	/* "KKB1" */

typedef struct kk_board_slot kk_board_slot;
struct kk_board_slot {
	uint32_t conns;		/* client connections open in that worker */
	uint32_t accepting;	/* 1 while it takes new connections */
	uint64_t beat;		/* CLOCK_MONOTONIC ms when it last ran its loop */
	uint32_t pad[12];	/* one 64-byte line per slot: no false sharing */
};

typedef struct kk_board kk_board;
struct kk_board {
	uint32_t magic;
	uint32_t nslots;
	uint32_t pad[14];
	kk_board_slot slot[];
};

/* A new board of nslots empty slots in a memfd (close-on-exec): its fd,
 * or -1 with errno. */
int kk_board_create(unsigned nslots);
/* Maps the board of fd, shared and writable; NULL with errno (EINVAL for
 * a segment that is not a board). */
kk_board *kk_board_map(int fd);
void kk_board_unmap(kk_board *);

static inline void
kk_board_publish(kk_board *b, unsigned slot, unsigned conns)
{
	if (slot < b->nslots)
		__atomic_store_n(&b->slot[slot].conns, conns, __ATOMIC_RELAXED);
}

static inline void
kk_board_set_accepting(kk_board *b, unsigned slot, int on)
{
	if (slot < b->nslots)
		__atomic_store_n(&b->slot[slot].accepting, on ? 1u : 0u, __ATOMIC_RELAXED);
}

static inline void
kk_board_beat(kk_board *b, unsigned slot, uint64_t now_ms)
{
	if (slot < b->nslots)
		__atomic_store_n(&b->slot[slot].beat, now_ms, __ATOMIC_RELAXED);
}

/* Empties a slot (its worker is gone or not started yet). */
void kk_board_clear(kk_board *, unsigned slot);

/* Whether the worker of slot, holding mine connections, already holds its
 * share: more than KK_BOARD_SHARE_PERCENT of the mean over the accepting
 * workers, plus KK_BOARD_SLACK connections so that a burst is not held
 * back one connection at a time. A worker whose heartbeat is older than
 * KK_BOARD_STALE_MS at now_ms (stopped, stuck in a long step) is not
 * counted: nobody waits for it. Never held with fewer than two accepting
 * workers: there is nobody to leave the connection to. Workers beat every
 * KK_BOARD_BEAT_MS, busy or idle. */
#define KK_BOARD_SHARE_PERCENT 110
#define KK_BOARD_SLACK 2
#define KK_BOARD_BEAT_MS 100
#define KK_BOARD_STALE_MS 300
int kk_board_over_share(const kk_board *, unsigned slot, unsigned mine, uint64_t now_ms);
/* How many workers other than slot's are accepting (with a heartbeat
 * fresh at now_ms): 0 when the worker of slot has the listeners to
 * itself. */
unsigned kk_board_others(const kk_board *, unsigned slot, uint64_t now_ms);

#endif
