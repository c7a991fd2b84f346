/* ISC license. */
/* Fixed-size I/O buffers from a pool. A kk_buf with data == NULL owns
 * nothing: that is the state of every idle connection. A buffer is taken
 * when bytes are about to arrive or be queued, and given back as soon as it
 * drains (kk_buf_trim). When the pool is at its bound, the taker parks a
 * task that is woken when a buffer comes back: backpressure, not an error. */
#ifndef KK_WORKER_BUF_H
#define KK_WORKER_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "loop.h"

typedef struct kk_buf kk_buf;
struct kk_buf {
	char *data;		/* NULL: no buffer held */
	uint32_t off;		/* start of pending bytes */
	uint32_t len;		/* pending bytes: data[off, off+len) */
	uint32_t cap;		/* size of data */
};

/* Sets the size of buffers taken from now on and the most that may exist
 * at once (0: no bound). Buffers of an older size are freed on return. */
void kk_buf_setup(size_t size, size_t max);
/* 1 when b holds a buffer (it may already have), 0 when the pool is at its
 * bound: then waiter (if not NULL) is woken when one comes back. */
int kk_buf_take(kk_buf *b, kk_task *waiter);
/* Returns b's buffer to the pool, whatever it holds. */
void kk_buf_give(kk_buf *b);
/* Forgets a parked waiter (its owner is closing). */
void kk_buf_unwait(kk_task *waiter);
/* Frees half of the buffers that stayed unused since the last sweep;
 * called once a second. Returns 1 while idle buffers remain. */
int kk_buf_sweep(void);
void kk_buf_stats(size_t *inuse, size_t *idle, size_t *size);

static inline void
kk_buf_trim(kk_buf *b)		/* gives back a drained buffer */
{
	if (b->data && !b->len)
		kk_buf_give(b);
}

/* Hands src's buffer whole to dst (whose own goes back to the pool):
 * bytes change owner without a copy, and src is left empty. */
static inline void
kk_buf_move(kk_buf *dst, kk_buf *src)
{
	kk_buf_give(dst);
	*dst = *src;
	memset(src, 0, sizeof *src);
}

static inline char *
kk_buf_tail(const kk_buf *b)
{
	return b->data + b->off + b->len;
}

/* Free bytes at the tail, moving pending bytes to the front first when
 * that makes room. */
static inline size_t
kk_buf_room(kk_buf *b)
{
	if (!b->data)
		return 0;
	if (b->off && b->off + b->len == b->cap) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
	}
	return b->cap - b->off - b->len;
}

static inline void
kk_buf_consume(kk_buf *b, size_t n)
{
	b->off += n;
	b->len -= n;
	if (!b->len)
		b->off = 0;
}

#endif
