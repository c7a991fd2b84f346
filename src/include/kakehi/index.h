/* ISC license. */
/* A hash index from byte-string keys (composite keys join their parts
 * with NUL bytes) to size_t values: open addressing, linear probing. It
 * owns copies of its keys and knows nothing of what the values mean; the
 * state uses it to find objects by identity instead of by scanning. At
 * most 2^32 - 2 keys. */
#ifndef KAKEHI_INDEX_H
#define KAKEHI_INDEX_H

#include <stddef.h>
#include <stdint.h>
#include <kakehi/arena.h>

/* One entry: a key and its value. */
typedef struct kk_index_slot kk_index_slot;
struct kk_index_slot {
	char *key;		/* a removed entry's points at a marker */
	size_t klen;
	uint32_t hash;
	size_t value;
};

/* All-zero is an empty index. */
typedef struct kk_index kk_index;
struct kk_index {
	uint64_t *table;	/* cells: a hash and an entry number (index.c) */
	size_t mask;		/* cells: mask + 1, a power of two; 0 when none */
	kk_index_slot *slots;	/* the entries, in the order added */
	size_t nslots, aslots;	/* entries used (live and removed), allocated */
	size_t n;		/* live keys */
	size_t dead;		/* removed entries not yet reclaimed */
	/* Hash function; NULL is the default. Tests set one that collides. */
	uint32_t (*hashf)(const char *, size_t);
	/* NULL: each key is a malloc of its own, freed with its entry. Set:
	 * keys are copied into this arena and stay there until the owner
	 * frees it, for an index that is built, read and dropped whole. */
	kk_arena *keys;
};

#define KK_INDEX_ZERO { 0, 0, 0, 0, 0, 0, 0, 0, 0 }

/* FNV-1a, then a final mix: see index.c. */
uint32_t kk_index_hash(const char *key, size_t klen);
/* 64-bit FNV-1a, unmixed: for tables that take its nibbles in turn (the
 * router's tries) or mix it themselves (the balancer's ring). */
uint64_t kk_index_hash64(const char *key, size_t klen);
/* A bijection of 64 bits that spreads every input bit over the output
 * (the 64-bit finalizer of MurmurHash3): to mix kk_index_hash64, or to
 * scramble a counter without ever repeating a value. */
uint64_t kk_index_mix64(uint64_t);
void kk_index_free(kk_index *);			/* back to empty */
/* Back to empty, keeping the table and the entries' array (and the keys'
 * arena, if any, which the caller resets): the same keys again need no
 * allocation and touch no new page. */
void kk_index_clear(kk_index *);
/* Adds key with value. 1 ok; 0 with errno EEXIST (the key is present,
 * nothing changed) or ENOMEM. */
int kk_index_put(kk_index *, const char *key, size_t klen, size_t value);
/* The value slot of key, added with value when absent (*added 1) or as
 * found (*added 0, the value untouched): one probe where a get then a put
 * take two. NULL: ENOMEM, nothing changed. */
size_t *kk_index_add(kk_index *, const char *key, size_t klen, size_t value, int *added);
/* Room for n live keys, so that the puts up to n never rehash (a loader
 * that knows its count saves the rehash of every power of two below it).
 * 1 ok, 0 ENOMEM with the index unchanged. */
int kk_index_reserve(kk_index *, size_t n);
/* The value slot of key, which the caller may overwrite; NULL when absent.
 * Value slots (from get and add) stay valid until the next add. */
size_t *kk_index_get(const kk_index *, const char *key, size_t klen);
/* Removes key; 1 removed, 0 absent. Never moves another entry, so it is
 * safe to remove (any key) while iterating with kk_index_next. */
int kk_index_del(kk_index *, const char *key, size_t klen);
/* Iteration in the order added: set *cursor to 0 first;
 * each call returns the next live slot, NULL at the end. The caller may
 * change the slot's value, never its key. Adding during an iteration
 * may rehash; removing may not. */
kk_index_slot *kk_index_next(const kk_index *, size_t *cursor);
/* Checks the invariants: counts, load bound, every live key reachable
 * from its home slot. 1 good; 0 with the first violation in err. */
int kk_index_check(const kk_index *, char *err, size_t errlen);

#endif
