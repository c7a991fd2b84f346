/* ISC license. */
/* kk_index: open addressing with linear probing over a power-of-two
 * table of 8-byte cells (a key's hash and the number of its entry), the
 * entries themselves (key, value) in an array in the order added. A probe
 * reads only cells until a hash matches, so a table of 100 000 keys is
 * 2 MiB instead of 8 and a key that is absent, as every key of a load is
 * first, costs no access to any entry: the probes were the main cost of
 * a load, each a cache miss. Removal marks the cell and the entry instead
 * of shifting anything, so nothing moves under an iteration; both are
 * reclaimed when a put rehashes. It holds keys and values only; ordering
 * is the caller's. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kakehi/arena.h>
#include <kakehi/index.h>

/* The key of a removed entry: iteration skips it. */
static char dead_mark;
#define DEAD (&dead_mark)

/* A cell: the hash in the high half, in the low half 0 (never used),
 * REMOVED (a removed key: probes walk past it) or the entry's number plus
 * one. */
#define REMOVED 0xffffffffu
#define CELL(h, ref) ((uint64_t)(h) << 32 | (ref))
#define CELL_HASH(c) ((uint32_t)((c) >> 32))
#define CELL_REF(c) ((uint32_t)(c))
/* Entry numbers fit beside the hash, below REMOVED. */
#define MAX_ENTRIES (REMOVED - 1)

/* Used cells (live and removed) stay under 3/4 of the table, so a probe
 * sequence always ends on an empty cell and stays short on average. */
#define LOAD_NUM 3
#define LOAD_DEN 4
#define MIN_SLOTS 8

/* FNV-1a alone leaves the low bits, the ones a power-of-two table uses,
 * poorly mixed for keys that differ in a few digits: frontend keys of
 * 100 000 sites took 1.9 probes on average at a load of 0.38, against 1.3
 * with this final mix (the 32-bit finalizer of MurmurHash3), which a
 * random hash gives. */
uint64_t
kk_index_hash64(const char *key, size_t klen)
{
	uint64_t h = 14695981039346656037ull;
	while (klen--) {
		h ^= (unsigned char)*key++;
		h *= 1099511628211ull;
	}
	return h;
}

uint64_t
kk_index_mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

uint32_t
kk_index_hash(const char *key, size_t klen)
{
	uint32_t h = 2166136261u;
	while (klen--) {
		h ^= (unsigned char)*key++;
		h *= 16777619u;
	}
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static uint32_t
hash_of(const kk_index *ix, const char *key, size_t klen)
{
	return ix->hashf ? ix->hashf(key, klen) : kk_index_hash(key, klen);
}

void
kk_index_free(kk_index *ix)
{
	uint32_t (*hashf)(const char *, size_t) = ix->hashf;
	kk_arena *keys = ix->keys;
	for (size_t i = 0; !keys && i < ix->nslots; i++)
		if (ix->slots[i].key != DEAD) free(ix->slots[i].key);
	free(ix->slots);
	free(ix->table);
	memset(ix, 0, sizeof *ix);
	ix->hashf = hashf;
	ix->keys = keys;
}

void
kk_index_clear(kk_index *ix)
{
	for (size_t i = 0; !ix->keys && i < ix->nslots; i++)
		if (ix->slots[i].key != DEAD) free(ix->slots[i].key);
	if (ix->table) memset(ix->table, 0, (ix->mask + 1) * sizeof *ix->table);
	ix->nslots = ix->n = ix->dead = 0;
}

/* The cell holding key, or NULL. */
static uint64_t *
find(const kk_index *ix, const char *key, size_t klen, uint32_t h)
{
	size_t i;
	if (!ix->table) return 0;
	for (i = h & ix->mask; CELL_REF(ix->table[i]); i = (i + 1) & ix->mask) {
		uint64_t c = ix->table[i];
		const kk_index_slot *s;
		if (CELL_REF(c) == REMOVED || CELL_HASH(c) != h) continue;
		s = &ix->slots[CELL_REF(c) - 1];
		if (s->klen == klen && !memcmp(s->key, key, klen)) return &ix->table[i];
	}
	return 0;
}

/* A zeroed table of size cells. A large one goes on huge pages (see
 * kk_mem_huge): probes land anywhere in it, and with 4 KiB pages each is
 * also a TLB miss and each first touch a page fault. */
static uint64_t *
table(size_t size)
{
	size_t bytes = size * sizeof(uint64_t);
	void *t;
	if (bytes < KK_HUGE_PAGE) return calloc(size, sizeof(uint64_t));
	if (!(t = kk_mem_huge(bytes))) return 0;
	memset(t, 0, bytes);
	return t;
}

/* Room for `want` entries in all. 1 ok, 0 ENOMEM with nothing changed. */
static int
entries_room(kk_index *ix, size_t want)
{
	kk_index_slot *p;
	size_t a;
	if (want <= ix->aslots) return 1;
	if (want > MAX_ENTRIES) {
		errno = ENOMEM;
		return 0;
	}
	a = ix->aslots ? ix->aslots : MIN_SLOTS;
	while (a < want) a = a > MAX_ENTRIES / 2 ? MAX_ENTRIES : 2 * a;
	/* A first large array (a loader's reserve) on huge pages too. */
	if (!ix->slots && a * sizeof *p >= KK_HUGE_PAGE) p = kk_mem_huge(a * sizeof *p);
	else p = realloc(ix->slots, a * sizeof *p);
	if (!p) {
		errno = ENOMEM;
		return 0;
	}
	ix->slots = p;
	ix->aslots = a;
	return 1;
}

/* Squeezes the removed entries out and indexes the live ones in a fresh
 * table of `size` cells. 1 ok, 0 ENOMEM with the index unchanged. */
static int
rehash(kk_index *ix, size_t size)
{
	uint64_t *t = table(size);
	size_t i, j;
	if (!t) {
		errno = ENOMEM;
		return 0;
	}
	for (i = j = 0; i < ix->nslots; i++) {
		kk_index_slot *s = &ix->slots[i];
		size_t k;
		if (s->key == DEAD) continue;
		if (i != j) ix->slots[j] = *s;
		for (k = s->hash & (size - 1); t[k]; k = (k + 1) & (size - 1))
			;
		t[k] = CELL(s->hash, (uint32_t)(j + 1));
		j++;
	}
	free(ix->table);
	ix->table = t;
	ix->mask = size - 1;
	ix->nslots = j;
	ix->dead = 0;
	return 1;
}

/* The table size for n live keys: at most half full, so that it takes
 * as many puts again before the next rehash. */
static size_t
size_for(size_t n)
{
	size_t size = MIN_SLOTS;
	while ((n + 1) * 2 > size) size <<= 1;
	return size;
}

int
kk_index_reserve(kk_index *ix, size_t n)
{
	if (!entries_room(ix, ix->nslots + (n > ix->n ? n - ix->n : 0))) return 0;
	if (ix->table && (n + ix->dead) * LOAD_DEN <= (ix->mask + 1) * LOAD_NUM) return 1;
	return rehash(ix, size_for(n > ix->n ? n : ix->n));
}

/* The cell where a key of hash h goes: the empty cell that ends its
 * probe path. */
static uint64_t *
free_cell(const kk_index *ix, uint32_t h)
{
	size_t i;
	for (i = h & ix->mask; CELL_REF(ix->table[i]); i = (i + 1) & ix->mask)
		;
	return &ix->table[i];
}

size_t *
kk_index_add(kk_index *ix, const char *key, size_t klen, size_t value, int *added)
{
	uint32_t h = hash_of(ix, key, klen);
	uint64_t *cell = 0;
	kk_index_slot *s;
	char *copy;
	size_t i;
	/* One walk finds the key or where it goes: the empty cell that ends
	 * the walk. Removed cells are not reused, so each stands for one
	 * removed entry until a rehash reclaims both. */
	for (i = h & ix->mask; ix->table && CELL_REF(ix->table[i]); i = (i + 1) & ix->mask) {
		uint64_t c = ix->table[i];
		if (CELL_REF(c) != REMOVED && CELL_HASH(c) == h) {
			s = &ix->slots[CELL_REF(c) - 1];
			if (s->klen == klen && !memcmp(s->key, key, klen)) {
				*added = 0;
				return &s->value;
			}
		}
	}
	if (ix->table) cell = &ix->table[i];
	if (!ix->table || (ix->n + ix->dead + 1) * LOAD_DEN > (ix->mask + 1) * LOAD_NUM) {
		/* Size for the live keys only: a table full of markers is
		 * cleaned at the same size instead of doubling. */
		if (!rehash(ix, size_for(ix->n))) return 0;
		cell = free_cell(ix, h);
	}
	if (!entries_room(ix, ix->nslots + 1)) return 0;
	copy = ix->keys ? kk_arena_memdup(ix->keys, key, klen) : malloc(klen + 1);
	if (!copy) {
		errno = ENOMEM;
		return 0;
	}
	if (!ix->keys) {
		memcpy(copy, key, klen);
		copy[klen] = 0;
	}
	s = &ix->slots[ix->nslots++];
	s->key = copy;
	s->klen = klen;
	s->hash = h;
	s->value = value;
	*cell = CELL(h, (uint32_t)ix->nslots);
	ix->n++;
	*added = 1;
	return &s->value;
}

int
kk_index_put(kk_index *ix, const char *key, size_t klen, size_t value)
{
	int added;
	if (!kk_index_add(ix, key, klen, value, &added)) return 0;
	if (!added) {
		errno = EEXIST;
		return 0;
	}
	return 1;
}

size_t *
kk_index_get(const kk_index *ix, const char *key, size_t klen)
{
	uint64_t *c = find(ix, key, klen, hash_of(ix, key, klen));
	return c ? &ix->slots[CELL_REF(*c) - 1].value : 0;
}

int
kk_index_del(kk_index *ix, const char *key, size_t klen)
{
	uint64_t *c = find(ix, key, klen, hash_of(ix, key, klen));
	kk_index_slot *s;
	if (!c) return 0;
	s = &ix->slots[CELL_REF(*c) - 1];
	if (!ix->keys) free(s->key);
	s->key = DEAD;
	s->klen = 0;
	*c = CELL(0, REMOVED);
	ix->n--;
	ix->dead++;
	return 1;
}

kk_index_slot *
kk_index_next(const kk_index *ix, size_t *cursor)
{
	while (*cursor < ix->nslots) {
		kk_index_slot *s = &ix->slots[(*cursor)++];
		if (s->key != DEAD) return s;
	}
	return 0;
}

int
kk_index_check(const kk_index *ix, char *err, size_t errlen)
{
	size_t i, live = 0, dead = 0, cells = 0, removed = 0;
	if (!ix->table) {
		if (ix->n || ix->dead || ix->mask || ix->nslots) {
			snprintf(err, errlen, "no table but n %zu, dead %zu, mask %zu, %zu "
			    "entries", ix->n, ix->dead, ix->mask, ix->nslots);
			return 0;
		}
		return 1;
	}
	if ((ix->mask + 1) & ix->mask) {
		snprintf(err, errlen, "table size %zu is not a power of two", ix->mask + 1);
		return 0;
	}
	for (i = 0; i < ix->nslots; i++) {
		const kk_index_slot *s = &ix->slots[i];
		if (s->key == DEAD) {
			dead++;
			continue;
		}
		live++;
		if (s->hash != hash_of(ix, s->key, s->klen)) {
			snprintf(err, errlen, "entry %zu: stored hash is not the key's", i);
			return 0;
		}
		if (!find(ix, s->key, s->klen, s->hash)
		    || CELL_REF(*find(ix, s->key, s->klen, s->hash)) != i + 1) {
			snprintf(err, errlen, "entry %zu: its probe finds no cell or another "
			    "entry", i);
			return 0;
		}
	}
	for (i = 0; i <= ix->mask; i++) {
		uint64_t c = ix->table[i];
		size_t j;
		if (!CELL_REF(c)) continue;
		if (CELL_REF(c) == REMOVED) {
			removed++;
			continue;
		}
		cells++;
		if (CELL_REF(c) > ix->nslots || ix->slots[CELL_REF(c) - 1].key == DEAD
		    || ix->slots[CELL_REF(c) - 1].hash != CELL_HASH(c)) {
			snprintf(err, errlen, "cell %zu: points at no live entry of its hash", i);
			return 0;
		}
		/* No empty cell between home and here, or a probe stops short. */
		for (j = CELL_HASH(c) & ix->mask; j != i; j = (j + 1) & ix->mask)
			if (!CELL_REF(ix->table[j])) {
				snprintf(err, errlen, "cell %zu: unreachable, empty cell %zu "
				    "on its probe path", i, j);
				return 0;
			}
	}
	if (live != ix->n || dead != ix->dead || cells != live || removed != dead) {
		snprintf(err, errlen, "counted %zu live and %zu removed entries, %zu and %zu "
		    "cells; index says %zu and %zu", live, dead, cells, removed, ix->n, ix->dead);
		return 0;
	}
	if ((live + dead) * LOAD_DEN > (ix->mask + 1) * LOAD_NUM) {
		snprintf(err, errlen, "%zu of %zu cells used, over the load bound", live + dead,
		    ix->mask + 1);
		return 0;
	}
	return 1;
}
