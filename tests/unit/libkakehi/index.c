/* ISC license. */
/* Tests for src/libkakehi/index.c: put, add, get, del, composite keys
 * with NUL bytes, growth and reserve, keys in an arena, forced
 * collisions, removal during iteration, and the invariant checker after
 * every mutation of a seeded random run. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <kakehi/index.h>
#include "tap.h"

static int
checked(const kk_index *ix)
{
	char err[256];
	if (kk_index_check(ix, err, sizeof err)) return 1;
	printf("#   check: %s\n", err);
	return 0;
}

/* Every key lands in the same home slot: one probe chain for all. */
static uint32_t
collide(const char *key, size_t klen)
{
	(void)key;
	(void)klen;
	return 7;
}

static size_t
key_of(char *buf, size_t bufsize, unsigned i)
{
	return (size_t)snprintf(buf, bufsize, "key-%u", i);
}

static void
test_basic(void)
{
	kk_index ix = KK_INDEX_ZERO;
	size_t *v;
	ok(!kk_index_get(&ix, "a", 1) && checked(&ix), "empty index finds nothing");
	ok(kk_index_put(&ix, "a", 1, 10) && kk_index_put(&ix, "b", 1, 20), "put two keys");
	ok(!kk_index_put(&ix, "a", 1, 30) && errno == EEXIST, "a second put of a key is EEXIST");
	v = kk_index_get(&ix, "a", 1);
	ok(v && *v == 10, "the first value stays");
	*v = 11;
	v = kk_index_get(&ix, "a", 1);
	ok(v && *v == 11, "the value slot can be overwritten");
	/* Composite keys: "x\0yz" and "xy\0z" differ, and so do prefixes. */
	ok(kk_index_put(&ix, "x\0yz", 4, 1) && kk_index_put(&ix, "xy\0z", 4, 2)
	    && kk_index_put(&ix, "x", 1, 3), "composite keys with NUL bytes");
	ok(*kk_index_get(&ix, "x\0yz", 4) == 1 && *kk_index_get(&ix, "xy\0z", 4) == 2
	    && *kk_index_get(&ix, "x", 1) == 3 && !kk_index_get(&ix, "x\0y", 3),
	    "each composite key finds its own value");
	ok(kk_index_del(&ix, "a", 1) && !kk_index_get(&ix, "a", 1) && !kk_index_del(&ix, "a", 1),
	    "del removes once");
	ok(kk_index_put(&ix, "a", 1, 12) && *kk_index_get(&ix, "a", 1) == 12,
	    "a removed key can be put again");
	is_int(ix.n, 5, "five live keys");
	ok(checked(&ix), "invariants hold");
	/* Its own keys are freed (LeakSanitizer would report them). */
	kk_index_clear(&ix);
	ok(!ix.n && !kk_index_get(&ix, "b", 1) && checked(&ix)
	    && kk_index_put(&ix, "b", 1, 21) && *kk_index_get(&ix, "b", 1) == 21,
	    "clear empties the index, which takes keys again");
	kk_index_free(&ix);
	ok(!ix.slots && !ix.n && checked(&ix), "free empties the index");
}

static void
test_growth(void)
{
	kk_index ix = KK_INDEX_ZERO;
	char key[32];
	unsigned i, bad = 0, sizes = 0;
	size_t last = 0;
	for (i = 0; i < 5000; i++) {
		size_t n = key_of(key, sizeof key, i);
		if (!kk_index_put(&ix, key, n, i)) bad++;
		if (ix.mask != last) sizes++, last = ix.mask;
	}
	ok(!bad && ix.n == 5000 && sizes > 5, "5000 puts grow the table %u times", sizes);
	for (i = 0, bad = 0; i < 5000; i++) {
		size_t n = key_of(key, sizeof key, i), *v = kk_index_get(&ix, key, n);
		if (!v || *v != i) bad++;
	}
	ok(!bad && checked(&ix), "every key finds its value after growth");
	/* Removing and adding as many again must not grow the table without
	 * bound: a rehash reclaims the removed markers, at the size the live
	 * keys need (twice them), which the churn then keeps. */
	for (i = 0; i < 20000; i++) {
		size_t n = key_of(key, sizeof key, i % 5000);
		kk_index_del(&ix, key, n);
		kk_index_put(&ix, key, n, i);
	}
	last = ix.mask;
	for (i = 0; i < 20000; i++) {
		size_t n = key_of(key, sizeof key, i % 5000);
		kk_index_del(&ix, key, n);
		kk_index_put(&ix, key, n, i);
	}
	ok(ix.mask == last && ix.mask + 1 <= 4 * 5001 && ix.n == 5000 && checked(&ix),
	    "churn of removes and puts keeps the table size (%zu cells)", ix.mask + 1);
	ok(ix.nslots <= ix.mask + 1, "and the entries: %zu for 5000 keys", ix.nslots);
	kk_index_free(&ix);
}

/* add finds or adds in one call; a removed key's marker is reused. */
static void
test_add(void)
{
	kk_index ix = KK_INDEX_ZERO;
	int added = -1;
	size_t *v = kk_index_add(&ix, "a", 1, 10, &added);
	ok(v && *v == 10 && added == 1 && ix.n == 1, "add of an absent key adds it");
	*v = 11;
	v = kk_index_add(&ix, "a", 1, 20, &added);
	ok(v && *v == 11 && added == 0 && ix.n == 1, "add of a present key finds it, untouched");
	ok(kk_index_del(&ix, "a", 1) && ix.dead == 1, "removed: a marker");
	v = kk_index_add(&ix, "a", 1, 30, &added);
	ok(v && *v == 30 && added == 1 && ix.n == 1 && checked(&ix),
	    "add after a removal adds it again");
	kk_index_free(&ix);
}

/* reserve sizes the table once for what will come. */
static void
test_reserve(void)
{
	kk_index ix = KK_INDEX_ZERO;
	char key[32];
	unsigned i, bad = 0;
	size_t mask;
	ok(kk_index_reserve(&ix, 5000) && checked(&ix), "reserve room for 5000 keys");
	mask = ix.mask;
	for (i = 0; i < 5000; i++)
		if (!kk_index_put(&ix, key, key_of(key, sizeof key, i), i)) bad++;
	ok(!bad && ix.mask == mask && checked(&ix), "5000 puts then never rehash");
	ok(kk_index_reserve(&ix, 100) && ix.mask == mask && ix.n == 5000,
	    "reserving less than is there changes nothing");
	ok(kk_index_reserve(&ix, 20000) && ix.mask > mask && ix.n == 5000
	    && *kk_index_get(&ix, "key-17", 6) == 17 && checked(&ix),
	    "reserving more rehashes, keeping every key");
	kk_index_free(&ix);
}

/* Keys in an arena: same behaviour, nothing freed one by one (ASan
 * would report a free of arena memory). */
static void
test_arena_keys(void)
{
	kk_arena arena = KK_ARENA_ZERO;
	kk_index ix = KK_INDEX_ZERO;
	char key[32];
	unsigned i, bad = 0;
	ix.keys = &arena;
	kk_arena_hint(&arena, 1 << 20);
	for (i = 0; i < 3000; i++)
		if (!kk_index_put(&ix, key, key_of(key, sizeof key, i), i)) bad++;
	for (i = 0; i < 3000; i += 3)
		if (!kk_index_del(&ix, key, key_of(key, sizeof key, i))) bad++;
	for (i = 0; i < 3000; i++) {
		size_t *v = kk_index_get(&ix, key, key_of(key, sizeof key, i));
		if (i % 3 ? !v || *v != i : !!v) bad++;
	}
	ok(!bad && ix.n == 2000 && checked(&ix), "keys in an arena: puts, dels and gets agree");
	{
		/* Clear keeps the table and the entries' room: the same
		 * keys again allocate nothing and touch no new memory. */
		const uint64_t *table = ix.table;
		const kk_index_slot *slots = ix.slots;
		size_t mask = ix.mask;
		kk_index_clear(&ix);
		kk_arena_reset(&arena);
		ok(!ix.n && !ix.dead && !ix.nslots && checked(&ix)
		    && !kk_index_get(&ix, "key-1", 5), "clear empties the index");
		for (i = 0; i < 3000; i++)
			if (!kk_index_put(&ix, key, key_of(key, sizeof key, i), 3000 - i)) bad++;
		ok(!bad && ix.table == table && ix.slots == slots && ix.mask == mask
		    && ix.n == 3000 && *kk_index_get(&ix, "key-7", 5) == 2993 && checked(&ix),
		    "the same keys again go in the same table and entries");
	}
	kk_index_free(&ix);
	ok(ix.keys == &arena && !ix.n, "free keeps the arena, which the owner frees");
	kk_arena_free(&arena);
	ok(!arena.chunks, "the arena gives its chunks back");
}

static void
test_collisions(void)
{
	kk_index ix = KK_INDEX_ZERO;
	char key[32];
	unsigned i, bad = 0;
	ix.hashf = collide;
	for (i = 0; i < 200; i++) {
		size_t n = key_of(key, sizeof key, i);
		if (!kk_index_put(&ix, key, n, i)) bad++;
	}
	ok(!bad && checked(&ix), "200 keys with one hash all go in");
	/* Remove every other key: the chain must still reach the rest. */
	for (i = 0; i < 200; i += 2) {
		size_t n = key_of(key, sizeof key, i);
		if (!kk_index_del(&ix, key, n)) bad++;
	}
	for (i = 0; i < 200; i++) {
		size_t n = key_of(key, sizeof key, i), *v = kk_index_get(&ix, key, n);
		if (i % 2 ? !v || *v != i : !!v) bad++;
	}
	ok(!bad && ix.n == 100 && checked(&ix), "removals in a collision chain keep the rest");
	for (i = 0; i < 200; i += 2) {
		size_t n = key_of(key, sizeof key, i);
		if (!kk_index_put(&ix, key, n, i + 1000)) bad++;
	}
	ok(!bad && ix.n == 200 && *kk_index_get(&ix, "key-4", 5) == 1004 && checked(&ix),
	    "removed keys come back into the chain");
	kk_index_free(&ix);
	ok(ix.hashf == collide, "free keeps the hash function");
}

static void
test_iteration(void)
{
	kk_index ix = KK_INDEX_ZERO;
	char key[32];
	unsigned i, seen = 0, bad = 0;
	unsigned char *hit = calloc(1000, 1);
	const kk_index_slot *s;
	size_t cursor = 0;
	for (i = 0; i < 1000; i++) kk_index_put(&ix, key, key_of(key, sizeof key, i), i);
	/* Remove the slot under the cursor and, for every third, another
	 * key too: each key is seen once at most, and every key not removed
	 * before its turn is seen. */
	while ((s = kk_index_next(&ix, &cursor))) {
		size_t v = s->value;
		if (v >= 1000 || hit[v]++) bad++;
		seen++;
		if (!kk_index_del(&ix, s->key, s->klen)) bad++;
		if (v % 3 == 0 && v + 1 < 1000 && !hit[v + 1]) {
			size_t n = key_of(key, sizeof key, (unsigned)v + 1);
			if (kk_index_del(&ix, key, n)) hit[v + 1] = 2;
		}
	}
	for (i = 0; i < 1000; i++)
		if (!hit[i]) bad++;
	ok(!bad && !ix.n && checked(&ix), "removal during iteration: %u seen, none twice, "
	    "none missed", seen);
	free(hit);
	kk_index_free(&ix);
}

/* A seeded random mix against a plain array model. */
static void
test_random(unsigned seed)
{
	kk_index ix = KK_INDEX_ZERO;
	long model[300];
	char key[32];
	unsigned i, bad = 0, checks = 0;
	srand(seed);
	for (i = 0; i < 300; i++) model[i] = -1;
	if (seed % 2) ix.hashf = collide;
	for (i = 0; i < 3000; i++) {
		unsigned k = (unsigned)rand() % 300;
		size_t n = key_of(key, sizeof key, k), *v;
		int added;
		switch (rand() % 4) {
		case 0:
			if (kk_index_put(&ix, key, n, i) != (model[k] < 0)) bad++;
			if (model[k] < 0) model[k] = i;
			break;
		case 3:
			v = kk_index_add(&ix, key, n, i, &added);
			if (!v || added != (model[k] < 0) || (!added && (long)*v != model[k]))
				bad++;
			if (model[k] < 0) model[k] = i;
			break;
		case 1:
			if (kk_index_del(&ix, key, n) != (model[k] >= 0)) bad++;
			model[k] = -1;
			break;
		default:
			v = kk_index_get(&ix, key, n);
			if (model[k] < 0 ? !!v : !v || (long)*v != model[k]) bad++;
		}
		if (!checked(&ix)) bad++;
		checks++;
	}
	ok(!bad, "seed %u: 3000 random operations agree with the model (%u checks)", seed,
	    checks);
	kk_index_free(&ix);
}

int
main(void)
{
	test_basic();
	test_growth();
	test_add();
	test_reserve();
	test_arena_keys();
	test_collisions();
	test_iteration();
	for (unsigned seed = 1; seed <= 6; seed++) test_random(seed);
	return done();
}
