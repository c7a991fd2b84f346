/* ISC license. */
/* Tests for src/libkakehi/arena.c: copies are whole and NUL-terminated,
 * neighbours do not overlap, a string larger than a chunk gets its own,
 * the hint sizes the next chunk, reset keeps the largest chunk for the
 * next copies, and free empties the arena. */

#include <stdlib.h>
#include <string.h>
#include <kakehi/arena.h>
#include "tap.h"


int
main(void)
{
	kk_arena a = KK_ARENA_ZERO;
	char *p[2000], *big, word[32];
	unsigned i, bad = 0;
	size_t bigsize = 1 << 20;

	for (i = 0; i < 2000; i++) {
		snprintf(word, sizeof word, "word-%u", i);
		if (!(p[i] = kk_arena_memdup(&a, word, strlen(word)))) bad++;
	}
	for (i = 0; i < 2000; i++) {
		snprintf(word, sizeof word, "word-%u", i);
		if (strcmp(p[i], word)) bad++;
	}
	ok(!bad, "2000 copies read back whole, none overwritten by the next");
	ok(kk_arena_memdup(&a, "a\0b", 3) && !memcmp(a.next - 4, "a\0b\0", 4),
	    "a copy holds NUL bytes as given, and ends with one more");
	if (!(big = malloc(bigsize))) return 111;
	memset(big, 'x', bigsize);
	p[0] = kk_arena_memdup(&a, big, bigsize);
	ok(p[0] && p[0][bigsize - 1] == 'x' && !p[0][bigsize], "a string over a chunk's size "
	    "gets a chunk of its own");
	ok(!strcmp(p[1], "word-1"), "earlier copies survive it");
	kk_arena_free(&a);
	ok(!a.chunks && !a.next, "free gives every chunk back");
	kk_arena_hint(&a, 4 * bigsize);
	p[0] = kk_arena_memdup(&a, "x", 1);
	ok(p[0] && (size_t)(a.end - a.next) >= 4 * bigsize - 2,
	    "the hint sizes the next chunk: one allocation for what is expected");
	kk_arena_free(&a);
	/* Reset keeps the largest chunk, current and empty. */
	kk_arena_hint(&a, 2 * bigsize);
	p[0] = kk_arena_memdup(&a, "x", 1);
	p[1] = kk_arena_memdup(&a, big, bigsize);
	/* No room left for it: a second chunk, of its size. */
	p[2] = kk_arena_memdup(&a, big, bigsize);
	ok(p[0] && p[1] && p[2] && (size_t)(a.end - a.next) == 0, "a second chunk, full");
	/* The smaller one is freed (LeakSanitizer would report it). */
	kk_arena_reset(&a);
	ok(a.chunks && (size_t)(a.end - a.next) == 2 * bigsize,
	    "reset keeps the largest chunk, empty");
	p[0] = a.next;
	p[1] = kk_arena_memdup(&a, "again", 5);
	ok(p[1] == p[0] && !strcmp(p[1], "again"), "the next copy goes at its start");
	kk_arena_reset(&a);
	kk_arena_free(&a);
	kk_arena_reset(&a);
	ok(!a.chunks && !a.next && kk_arena_memdup(&a, "y", 1), "reset of an empty arena "
	    "leaves it empty and usable");
	kk_arena_free(&a);
	free(big);
	return done();
}
