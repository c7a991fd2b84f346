/* ISC license. */
/* Tests for src/libkakehi/arena.c: copies are whole and NUL-terminated,
 * neighbours do not overlap, a string larger than a chunk gets its own,
 * the hint sizes the next chunk, and free empties the arena. */

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
	free(big);
	return done();
}
