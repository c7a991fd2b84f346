/* ISC license. */
/* kk_arena: bump allocation of strings in chunks. Each chunk is a header
 * and its bytes; a string larger than the default chunk gets a chunk of
 * its own size, so no request fails for being big. Also kk_mem_huge, the
 * allocation of large blocks on huge pages, for chunks and index tables. */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <kakehi/arena.h>

/* Large enough that a state of a few thousand objects takes one chunk,
 * small enough that a handful of objects does not waste much. */
#define CHUNK_MIN (64u << 10)

struct kk_arena_chunk {
	struct kk_arena_chunk *prev;
	size_t size;		/* of bytes */
	char bytes[];
};

void
kk_arena_hint(kk_arena *a, size_t bytes)
{
	a->hint = bytes;
}

static int
more(kk_arena *a, size_t n)
{
	size_t size = a->hint > CHUNK_MIN ? a->hint : CHUNK_MIN;
	struct kk_arena_chunk *c;
	if (size < n) size = n;
	if (size > SIZE_MAX - sizeof *c) c = 0;
	else if (size >= KK_HUGE_PAGE) c = kk_mem_huge(sizeof *c + size);
	else c = malloc(sizeof *c + size);
	if (!c) {
		errno = ENOMEM;
		return 0;
	}
	c->prev = a->chunks;
	c->size = size;
	a->chunks = c;
	a->next = (char *)c->bytes;
	a->end = a->next + size;
	a->hint = 0;
	return 1;
}

char *
kk_arena_memdup(kk_arena *a, const char *s, size_t n)
{
	char *p;
	/* Strings need no alignment: packed, neighbours share cache lines. */
	if (n == SIZE_MAX) {
		errno = ENOMEM;
		return 0;
	}
	if ((size_t)(a->end - a->next) < n + 1 && !more(a, n + 1)) return 0;
	p = a->next;
	a->next += n + 1;
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

void *
kk_mem_huge(size_t bytes)
{
	void *p;
	/* Rounded up to whole huge pages: the kernel backs only those. */
	size_t round = (bytes + KK_HUGE_PAGE - 1) & ~(size_t)(KK_HUGE_PAGE - 1);
	if (round < bytes || posix_memalign(&p, KK_HUGE_PAGE, round)) {
		errno = ENOMEM;
		return 0;
	}
#ifdef MADV_HUGEPAGE
	/* Advice only: without it the memory is as good, on small pages. */
	madvise(p, round, MADV_HUGEPAGE);
#endif
	return p;
}

void
kk_arena_reset(kk_arena *a)
{
	struct kk_arena_chunk *keep = 0, *c;
	while ((c = a->chunks)) {
		a->chunks = c->prev;
		if (!keep || c->size > keep->size) {
			free(keep);
			keep = c;
		} else
			free(c);
	}
	memset(a, 0, sizeof *a);
	if (!keep) return;
	keep->prev = 0;
	a->chunks = keep;
	a->next = keep->bytes;
	a->end = keep->bytes + keep->size;
}

void
kk_arena_free(kk_arena *a)
{
	while (a->chunks) {
		struct kk_arena_chunk *c = a->chunks;
		a->chunks = c->prev;
		free(c);
	}
	memset(a, 0, sizeof *a);
}
