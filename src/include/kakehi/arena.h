/* ISC license. */
/* kk_arena: memory for strings that all die together, handed out from a
 * few large chunks and given back in one call. For a state that is built,
 * read once and dropped (the target of a reload's diff): a malloc and a
 * free per string cost more than the rest of its load. Nothing in it is
 * freed alone. */
#ifndef KAKEHI_ARENA_H
#define KAKEHI_ARENA_H

#include <stddef.h>

struct kk_arena_chunk;
typedef struct kk_arena kk_arena;
struct kk_arena {
	struct kk_arena_chunk *chunks;	/* newest first */
	char *next, *end;		/* free room of the newest chunk */
	size_t hint;			/* the size of the next chunk, at least */
};
#define KK_ARENA_ZERO { 0, 0, 0, 0 }

/* The next chunk taken holds at least `bytes`, so that a caller who
 * knows roughly what it will need gets it in one allocation. */
void kk_arena_hint(kk_arena *, size_t bytes);
/* A copy of s[0, n) with a NUL after it; NULL: ENOMEM. */
char *kk_arena_memdup(kk_arena *, const char *s, size_t n);
/* Empties the arena but keeps its largest chunk, whose pages are already
 * faulted in, for the next copies: a state loaded again and again (each
 * reload's file) costs no new page then. Every earlier copy is invalid. */
void kk_arena_reset(kk_arena *);
/* Gives every chunk back; the arena is empty and usable again. */
void kk_arena_free(kk_arena *);

/* bytes of memory (not zeroed) on huge pages where the kernel offers
 * them (transparent huge pages, "madvise" mode), for the large blocks
 * of a big state that are touched all over: with 4 KiB pages each first
 * touch is a page fault, and a tenth of a reload's load of 100 000 sites
 * went to faults. Freed with free(). NULL: ENOMEM. */
#define KK_HUGE_PAGE (2u << 20)
void *kk_mem_huge(size_t bytes);

#endif
