/* ISC license. */
/* kk_index: open addressing with linear probing over a power-of-two
 * table. Removal leaves a marker instead of shifting the cluster back, so
 * nothing moves under an iteration; markers are reclaimed when a put
 * rehashes. It holds keys and values only; ordering is the caller's.
 * With 100 000 keys a table is 8 MiB: a probe is mostly a cache miss,
 * so the cost to save is the number of walks, not their length. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <kakehi/arena.h>
#include <kakehi/index.h>

/* The key of a removed slot: probes walk past it, puts may reuse it. */
static char dead_mark;
#define DEAD (&dead_mark)

/* Used slots (live and removed) stay under 3/4 of the table, so a probe
 * sequence always ends on an empty slot and stays short on average. */
#define LOAD_NUM 3
#define LOAD_DEN 4
#define MIN_SLOTS 8

/* FNV-1a alone leaves the low bits, the ones a power-of-two table uses,
 * poorly mixed for keys that differ in a few digits: frontend keys of
 * 100 000 sites took 1.9 probes on average at a load of 0.38, against 1.3
 * with this final mix (the 32-bit finalizer of MurmurHash3), which a
 * random hash gives. */
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
	for (size_t i = 0; !keys && ix->slots && i <= ix->mask; i++)
		if (ix->slots[i].key && ix->slots[i].key != DEAD)
			free(ix->slots[i].key);
	free(ix->slots);
	memset(ix, 0, sizeof *ix);
	ix->hashf = hashf;
	ix->keys = keys;
}

/* The slot holding key, or NULL. */
static kk_index_slot *
find(const kk_index *ix, const char *key, size_t klen, uint32_t h)
{
	size_t i;
	if (!ix->slots) return 0;
	for (i = h & ix->mask; ix->slots[i].key; i = (i + 1) & ix->mask) {
		kk_index_slot *s = &ix->slots[i];
		if (s->key != DEAD && s->hash == h && s->klen == klen
		    && !memcmp(s->key, key, klen))
			return s;
	}
	return 0;
}

/* Moves every live slot into a fresh table of `size` slots, dropping the
 * removed markers. 1 ok, 0 ENOMEM with the index unchanged. */
/* A zeroed table of size slots. A large one goes on huge pages (see
 * kk_mem_huge): probes land anywhere in it, and with 4 KiB pages each is
 * also a TLB miss and each first touch a page fault. */
static kk_index_slot *
table(size_t size)
{
	size_t bytes = size * sizeof(kk_index_slot);
	void *t;
	if (bytes < KK_HUGE_PAGE) return calloc(size, sizeof(kk_index_slot));
	if (!(t = kk_mem_huge(bytes))) return 0;
	memset(t, 0, bytes);
	return t;
}

static int
rehash(kk_index *ix, size_t size)
{
	kk_index_slot *t = table(size);
	if (!t) {
		errno = ENOMEM;
		return 0;
	}
	for (size_t i = 0; ix->slots && i <= ix->mask; i++) {
		kk_index_slot *s = &ix->slots[i];
		size_t j;
		if (!s->key || s->key == DEAD) continue;
		for (j = s->hash & (size - 1); t[j].key; j = (j + 1) & (size - 1))
			;
		t[j] = *s;
	}
	free(ix->slots);
	ix->slots = t;
	ix->mask = size - 1;
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
	if ((n + ix->dead) * LOAD_DEN <= (ix->mask + 1) * LOAD_NUM && ix->slots) return 1;
	return rehash(ix, size_for(n > ix->n ? n : ix->n));
}

/* The slot where key would go: the first removed slot on its probe path,
 * else the empty slot that ends it. */
static kk_index_slot *
free_slot(const kk_index *ix, uint32_t h)
{
	size_t i;
	for (i = h & ix->mask; ix->slots[i].key && ix->slots[i].key != DEAD;
	    i = (i + 1) & ix->mask)
		;
	return &ix->slots[i];
}

size_t *
kk_index_add(kk_index *ix, const char *key, size_t klen, size_t value, int *added)
{
	uint32_t h = hash_of(ix, key, klen);
	kk_index_slot *s = 0, *reuse = 0;
	char *copy;
	size_t i;
	/* One walk finds the key or where it goes. */
	for (i = h & ix->mask; ix->slots && ix->slots[i].key; i = (i + 1) & ix->mask) {
		kk_index_slot *t = &ix->slots[i];
		if (t->key == DEAD) {
			if (!reuse) reuse = t;
		} else if (t->hash == h && t->klen == klen && !memcmp(t->key, key, klen)) {
			*added = 0;
			return &t->value;
		}
	}
	if (ix->slots) s = reuse ? reuse : &ix->slots[i];
	if (!ix->slots || (ix->n + ix->dead + 1) * LOAD_DEN > (ix->mask + 1) * LOAD_NUM) {
		/* Size for the live keys only: a table full of markers is
		 * cleaned at the same size instead of doubling. */
		if (!rehash(ix, size_for(ix->n))) return 0;
		s = free_slot(ix, h);
	}
	copy = ix->keys ? kk_arena_memdup(ix->keys, key, klen) : malloc(klen + 1);
	if (!copy) {
		errno = ENOMEM;
		return 0;
	}
	if (!ix->keys) {
		memcpy(copy, key, klen);
		copy[klen] = 0;
	}
	if (s->key == DEAD) ix->dead--;
	s->key = copy;
	s->klen = klen;
	s->hash = h;
	s->value = value;
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
	kk_index_slot *s = find(ix, key, klen, hash_of(ix, key, klen));
	return s ? &s->value : 0;
}

int
kk_index_del(kk_index *ix, const char *key, size_t klen)
{
	kk_index_slot *s = find(ix, key, klen, hash_of(ix, key, klen));
	if (!s) return 0;
	if (!ix->keys) free(s->key);
	s->key = DEAD;
	s->klen = 0;
	ix->n--;
	ix->dead++;
	return 1;
}

kk_index_slot *
kk_index_next(const kk_index *ix, size_t *cursor)
{
	while (ix->slots && *cursor <= ix->mask) {
		kk_index_slot *s = &ix->slots[(*cursor)++];
		if (s->key && s->key != DEAD) return s;
	}
	return 0;
}

int
kk_index_check(const kk_index *ix, char *err, size_t errlen)
{
	size_t i, live = 0, dead = 0;
	if (!ix->slots) {
		if (ix->n || ix->dead || ix->mask) {
			snprintf(err, errlen, "no table but n %zu, dead %zu, mask %zu", ix->n,
			    ix->dead, ix->mask);
			return 0;
		}
		return 1;
	}
	if ((ix->mask + 1) & ix->mask) {
		snprintf(err, errlen, "table size %zu is not a power of two", ix->mask + 1);
		return 0;
	}
	for (i = 0; i <= ix->mask; i++) {
		const kk_index_slot *s = &ix->slots[i];
		size_t j;
		if (!s->key) continue;
		if (s->key == DEAD) {
			dead++;
			continue;
		}
		live++;
		if (s->hash != hash_of(ix, s->key, s->klen)) {
			snprintf(err, errlen, "slot %zu: stored hash is not the key's", i);
			return 0;
		}
		/* No empty slot between home and here, or a probe stops short. */
		for (j = s->hash & ix->mask; j != i; j = (j + 1) & ix->mask)
			if (!ix->slots[j].key) {
				snprintf(err, errlen, "slot %zu: unreachable, empty slot %zu on its "
				    "probe path", i, j);
				return 0;
			}
		if (find(ix, s->key, s->klen, s->hash) != s) {
			snprintf(err, errlen, "slot %zu: its key is also in another slot", i);
			return 0;
		}
	}
	if (live != ix->n || dead != ix->dead) {
		snprintf(err, errlen, "counted %zu live and %zu removed, index says %zu and %zu",
		    live, dead, ix->n, ix->dead);
		return 0;
	}
	if ((live + dead) * LOAD_DEN > (ix->mask + 1) * LOAD_NUM) {
		snprintf(err, errlen, "%zu of %zu slots used, over the load bound", live + dead,
		    ix->mask + 1);
		return 0;
	}
	return 1;
}
