/* ISC license. */
/* The metrics segment's layout (kakehi/metrics.h): the head, the chunks
 * of slots and the index from keys to slots; slots assigned, freed and
 * summed. The file only grows, at its end, and the supervisor alone
 * writes the head, the names and the index; each worker writes its own
 * stripe. A view maps what it needs when it first needs it, so a worker
 * that counts ten objects of a million maps and touches ten objects'
 * worth. The text forms are metrics.c's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <kakehi/metrics.h>
#include <kakehi/segment.h>

#include "metricsobj.h"

#define PAGE 4096u
#define ROUND(n) (((n) + PAGE - 1) / PAGE * PAGE)
/* The first index: room for 1 024 objects at half full. */
#define INDEX_LOG2_MIN 11u
#define INDEX_LOG2_MASK UINT64_C(63)

/* An index entry: the key's hash and its slot, published by state. */
typedef struct ixent ixent;
struct ixent {
	uint32_t state;		/* KK_METRICS_FREE, _USED, _GONE; stored last */
	uint32_t slot;
	uint64_t hash;
};

static size_t
head_size(void)
{
	return ROUND(sizeof(kk_metrics_head));
}

static uint32_t
chunk_slots(unsigned k)
{
	return KK_METRICS_CHUNK0 << k;
}

static size_t
dir_bytes(unsigned k)
{
	return ROUND((size_t)chunk_slots(k) * sizeof(kk_mdir));
}

static size_t
stripe_bytes(unsigned k)
{
	return ROUND((size_t)chunk_slots(k) * sizeof(kk_mcount));
}

static size_t
chunk_bytes(unsigned k)
{
	return dir_bytes(k) + (size_t)KK_METRICS_STRIPES * stripe_bytes(k);
}

/* The chunk of slot and its place there: chunk k starts at slot
 * CHUNK0 * (2^k - 1). */
static unsigned
chunk_of(uint32_t slot, uint32_t *at)
{
	uint32_t q = slot / KK_METRICS_CHUNK0 + 1;
	unsigned k = 31 - (unsigned)__builtin_clz(q);

	*at = slot - KK_METRICS_CHUNK0 * ((UINT32_C(1) << k) - 1);
	return k;
}

static uint32_t
capacity(unsigned nchunks)
{
	return KK_METRICS_CHUNK0 * ((UINT32_C(1) << nchunks) - 1);
}

/* FNV-1a over kind, a and b. */
static uint64_t
key_hash(enum kk_metrics_kind kind, const char *a, const char *b)
{
	uint64_t h = UINT64_C(14695981039346656037);
	const char *s;

	h = (h ^ (unsigned)kind) * UINT64_C(1099511628211);
	for (s = a; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	h = (h ^ 0xff) * UINT64_C(1099511628211);
	for (s = b; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return h;
}

static int
same(const kk_mdir *d, enum kk_metrics_kind kind, const char *a, const char *b)
{
	return d->kind == (uint32_t)kind && !strncmp(d->a, a, KK_METRICS_KEYMAX)
	    && !strncmp(d->b, b, KK_METRICS_KEYMAX);
}

/* Growing the file: n more bytes at its end, their offset; 0 with errno
 * when the file cannot grow. Supervisor only. */
static uint64_t
grow(kk_metrics *m, size_t n)
{
	uint64_t at = m->h->size;

	if (ftruncate(m->fd, (off_t)(at + n)) < 0)
		return 0;
	m->h->size = at + n;
	return at;
}

/* Chunks. */

static int
map_chunks(kk_metrics *m)
{
	unsigned n = __atomic_load_n(&m->h->nchunks, __ATOMIC_ACQUIRE);

	if (n > KK_METRICS_NCHUNKS)
		n = KK_METRICS_NCHUNKS;
	while (m->nchunks < n) {
		unsigned k = m->nchunks;
		void *p = mmap(0, dir_bytes(k), PROT_READ | PROT_WRITE, MAP_SHARED, m->fd,
		    (off_t)m->h->chunk_off[k]);
		if (p == MAP_FAILED)
			return 0;
		m->dir[k] = p;
		m->nchunks++;
	}
	return 1;
}

static kk_mdir *
dir_at(kk_metrics *m, uint32_t slot)
{
	uint32_t at;
	unsigned k = chunk_of(slot, &at);

	if (k >= m->nchunks && (!map_chunks(m) || k >= m->nchunks))
		return 0;
	return &m->dir[k][at];
}

const kk_mdir *
kk_metrics_dir(kk_metrics *m, unsigned slot)
{
	return dir_at(m, slot);
}

/* Where stripe's part of chunk k starts in the file. */
static uint64_t
stripe_off(const kk_metrics *m, unsigned k, unsigned stripe)
{
	return m->h->chunk_off[k] + dir_bytes(k) + stripe * stripe_bytes(k);
}

static kk_mcount *
stripe_map(kk_metrics *m, unsigned k, unsigned stripe)
{
	if (!m->stripe[k][stripe]) {
		void *p = mmap(0, stripe_bytes(k), PROT_READ | PROT_WRITE, MAP_SHARED, m->fd,
		    (off_t)stripe_off(m, k, stripe));
		if (p == MAP_FAILED)
			return 0;
		m->stripe[k][stripe] = p;
	}
	return m->stripe[k][stripe];
}

kk_mcount *
kk_metrics_count(kk_metrics *m, unsigned stripe, unsigned slot)
{
	uint32_t at;
	unsigned k = chunk_of(slot, &at);
	kk_mcount *base;

	if (stripe >= KK_METRICS_STRIPES || k >= KK_METRICS_NCHUNKS)
		return 0;
	if (k >= m->nchunks && (!map_chunks(m) || k >= m->nchunks))
		return 0;
	if (!(base = stripe_map(m, k, stripe)))
		return 0;
	return base + at;
}

/* Whether the file holds data (a page someone wrote) in [off, off + n). */
static int
written(const kk_metrics *m, uint64_t off, size_t n)
{
	off_t d = lseek(m->fd, (off_t)off, SEEK_DATA);
	/* ENXIO: no data past off. Any other failure: read it. */
	if (d < 0)
		return errno != ENXIO;
	return (uint64_t)d < off + n;
}

static uint64_t
count_off(const kk_metrics *m, unsigned stripe, uint32_t slot)
{
	uint32_t at;
	unsigned k = chunk_of(slot, &at);
	return stripe_off(m, k, stripe) + (uint64_t)at * sizeof(kk_mcount);
}

/* The counters of slot in stripe when a worker wrote them; NULL when
 * they are all zero still (a hole, left unread so that it stays one). */
static kk_mcount *
count_written(kk_metrics *m, unsigned stripe, uint32_t slot)
{
	if (!written(m, count_off(m, stripe, slot), sizeof(kk_mcount)))
		return 0;
	return kk_metrics_count(m, stripe, slot);
}

/* The index. */

static int
map_index(kk_metrics *m)
{
	uint64_t w = __atomic_load_n(&m->h->index, __ATOMIC_ACQUIRE);
	size_t n;
	void *p;

	if (w == m->index && m->ix)
		return 1;
	n = ((size_t)1 << (w & INDEX_LOG2_MASK)) * sizeof(ixent);
	p = mmap(0, n, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, (off_t)(w & ~INDEX_LOG2_MASK));
	if (p == MAP_FAILED)
		return 0;
	if (m->ix)
		munmap(m->ix, ((size_t)1 << (m->index & INDEX_LOG2_MASK)) * sizeof(ixent));
	m->ix = p;
	m->index = w;
	return 1;
}

static size_t
index_mask(const kk_metrics *m)
{
	return ((size_t)1 << (m->index & INDEX_LOG2_MASK)) - 1;
}

/* The entry of the key, or NULL; *hole: where it would go (the first
 * gone entry on its path, else the free one that ends it). No two
 * objects with a slot share a hash (kk_metrics_assign refuses the
 * second), so the hash alone names an object: a worker's lookup reads
 * the index only, never the names, which it would otherwise hold in
 * memory for every object of the state. With names set (the
 * supervisor, before it assigns), *clash says another object has the
 * key's hash. */
static ixent *
probe(kk_metrics *m, enum kk_metrics_kind kind, const char *a, const char *b, ixent **hole,
    int names, int *clash)
{
	ixent *ix = m->ix;
	uint64_t h = key_hash(kind, a, b);
	size_t mask = index_mask(m), i, at = (size_t)h & mask;

	*hole = 0;
	for (i = 0; i <= mask; i++, at = (at + 1) & mask) {
		ixent *e = &ix[at];
		uint32_t st = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
		const kk_mdir *d;
		if (st == KK_METRICS_FREE) {
			if (!*hole)
				*hole = e;
			return 0;
		}
		if (st == KK_METRICS_GONE) {
			if (!*hole)
				*hole = e;
			continue;
		}
		if (e->hash != h || e->slot >= m->h->nfresh)
			continue;
		if (!names)
			return e;
		if ((d = dir_at(m, e->slot)) && same(d, kind, a, b))
			return e;
		*clash = 1;
	}
	return 0;
}

/* A new index for n objects at most half full, holding every object
 * with a slot; published once whole. Supervisor only. */
static int
rebuild_index(kk_metrics *m, uint32_t n)
{
	unsigned log2 = INDEX_LOG2_MIN;
	uint64_t at, w;
	ixent *ix;
	size_t bytes, mask;
	uint32_t s;

	while (((uint64_t)1 << log2) < (uint64_t)n * 2)
		log2++;
	bytes = ((size_t)1 << log2) * sizeof(ixent);
	mask = ((size_t)1 << log2) - 1;
	if (!(at = grow(m, bytes)))
		return 0;
	ix = mmap(0, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, (off_t)at);
	if (ix == MAP_FAILED)
		return 0;
	m->h->ix_taken = 0;
	for (s = 0; s < m->h->nfresh; s++) {
		const kk_mdir *d = dir_at(m, s);
		size_t i;
		if (!d || d->state != KK_METRICS_USED)
			continue;
		i = (size_t)key_hash(d->kind, d->a, d->b) & mask;
		while (ix[i].state != KK_METRICS_FREE)
			i = (i + 1) & mask;
		ix[i].hash = key_hash(d->kind, d->a, d->b);
		ix[i].slot = s;
		ix[i].state = KK_METRICS_USED;
		m->h->ix_taken++;
	}
	w = at | log2;
	__atomic_store_n(&m->h->index, w, __ATOMIC_RELEASE);
	munmap(ix, bytes);
	return map_index(m);
}

/* The segment. */

int
kk_metrics_create(void)
{
	int fd;
	kk_metrics_head *h = kk_segment_create("kakehi-metrics", head_size() + chunk_bytes(0),
	    head_size(), &fd);
	kk_metrics *m;

	if (!h)
		return -1;
	h->magic = KK_METRICS_MAGIC;
	h->nstripes = KK_METRICS_STRIPES;
	h->chunk_off[0] = head_size();
	h->nchunks = 1;
	h->size = head_size() + chunk_bytes(0);
	munmap(h, head_size());
	if (!(m = kk_metrics_map(fd)) || !rebuild_index(m, KK_METRICS_CHUNK0)) {
		int e = errno;
		if (m)
			kk_metrics_unmap(m);
		close(fd);
		errno = e;
		return -1;
	}
	kk_metrics_unmap(m);
	return fd;
}

kk_metrics *
kk_metrics_map(int fd)
{
	struct stat st;
	kk_metrics *m;
	kk_metrics_head *h;

	if (fstat(fd, &st) < 0)
		return 0;
	if ((size_t)st.st_size < head_size()) {
		errno = EINVAL;
		return 0;
	}
	h = mmap(0, head_size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED)
		return 0;
	if (h->magic != KK_METRICS_MAGIC || h->nstripes != KK_METRICS_STRIPES) {
		munmap(h, head_size());
		errno = EINVAL;
		return 0;
	}
	if (!(m = calloc(1, sizeof *m))) {
		munmap(h, head_size());
		errno = ENOMEM;
		return 0;
	}
	m->h = h;
	m->fd = fd;
	/* A segment being created has no index yet: its creator makes it. */
	if (h->index && (!map_chunks(m) || !map_index(m))) {
		int e = errno;
		kk_metrics_unmap(m);
		errno = e;
		return 0;
	}
	return m;
}

void
kk_metrics_unmap(kk_metrics *m)
{
	unsigned k, s;

	if (!m)
		return;
	for (k = 0; k < KK_METRICS_NCHUNKS; k++) {
		if (k < m->nchunks)
			munmap(m->dir[k], dir_bytes(k));
		for (s = 0; s < KK_METRICS_STRIPES; s++)
			if (m->stripe[k][s])
				munmap(m->stripe[k][s], stripe_bytes(k));
	}
	if (m->ix)
		munmap(m->ix, (index_mask(m) + 1) * sizeof(ixent));
	munmap(m->h, head_size());
	free(m->freed);
	free(m);
}

void
kk_metrics_stripe_use(kk_metrics *m, unsigned stripe)
{
	if (stripe < KK_METRICS_STRIPES)
		m->h->stripe_used[stripe] = 1;
}

int
kk_metrics_find(kk_metrics *m, enum kk_metrics_kind kind, const char *a, const char *b)
{
	ixent *e, *hole;

	if (!b)
		b = "";
	if (!map_index(m) || !(e = probe(m, kind, a, b, &hole, 0, 0)))
		return -1;
	return (int)e->slot;
}

/* Freed slots, oldest first (supervisor only). */

static int
freed_push(kk_metrics *m, uint32_t slot)
{
	if (m->freed_at && m->nfreed == m->freed_cap) {
		memmove(m->freed, m->freed + m->freed_at, (m->nfreed - m->freed_at) * sizeof *m->freed);
		m->nfreed -= m->freed_at;
		m->freed_at = 0;
	}
	if (m->nfreed == m->freed_cap) {
		size_t cap = m->freed_cap ? m->freed_cap * 2 : 256;
		uint32_t *p = realloc(m->freed, cap * sizeof *p);
		if (!p)
			return 0;
		m->freed = p;
		m->freed_cap = cap;
	}
	m->freed[m->nfreed++] = slot;
	return 1;
}

/* A segment handed over by an older supervisor: its freed slots are
 * those its names say are gone. */
static void
freed_build(kk_metrics *m)
{
	uint32_t s;

	m->freed_built = 1;
	for (s = 0; s < m->h->nfresh; s++) {
		const kk_mdir *d = dir_at(m, s);
		if (d && d->state == KK_METRICS_GONE && !freed_push(m, s))
			return;
	}
}

/* A slot for a new object: the oldest freed one, else a fresh one,
 * growing the file by a chunk when all are handed out. */
static int
take_slot(kk_metrics *m, uint32_t *slot)
{
	unsigned k = m->h->nchunks;

	if (!m->freed_built)
		freed_build(m);
	if (m->freed_at < m->nfreed) {
		*slot = m->freed[m->freed_at++];
		return 1;
	}
	if (m->h->nfresh == capacity(k)) {
		uint64_t at;
		if (k == KK_METRICS_NCHUNKS) {
			errno = ENOSPC;
			return 0;
		}
		if (!(at = grow(m, chunk_bytes(k))))
			return 0;
		m->h->chunk_off[k] = at;
		__atomic_store_n(&m->h->nchunks, k + 1, __ATOMIC_RELEASE);
		if (!map_chunks(m))
			return 0;
	}
	*slot = m->h->nfresh++;
	return 1;
}

int
kk_metrics_assign(kk_metrics *m, enum kk_metrics_kind kind, const char *a, const char *b)
{
	ixent *e, *hole;
	kk_mdir *d;
	uint32_t slot;
	unsigned i;
	int clash = 0;

	if (!b)
		b = "";
	if (!map_index(m))
		return -1;
	if ((e = probe(m, kind, a, b, &hole, 1, &clash)))
		return (int)e->slot;
	/* Two keys of one 64-bit hash: a chance in 10^9 at 200 000 objects.
	 * The second goes without a slot rather than share the first's. */
	if (clash) {
		errno = EEXIST;
		return -1;
	}
	if (strlen(a) >= KK_METRICS_KEYMAX || strlen(b) >= KK_METRICS_KEYMAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* Three quarters of the entries taken (gone ones lengthen probes
	 * too): a new index, at most half full. Probes stay a few entries
	 * long, and the index costs 32 to 64 bytes an object, in every
	 * process that looks objects up. */
	if ((size_t)m->h->ix_taken + 1 > (index_mask(m) + 1) / 4 * 3) {
		if (!rebuild_index(m, m->h->nused + 1))
			return -1;
		probe(m, kind, a, b, &hole, 0, 0);
	}
	if (!hole || !take_slot(m, &slot))
		return -1;
	d = dir_at(m, slot);
	/* A freed slot starts again from zero; a fresh one is zero. */
	if (d->state == KK_METRICS_GONE)
		for (i = 0; i < KK_METRICS_STRIPES; i++) {
			kk_mcount *c;
			if (m->h->stripe_used[i] && (c = count_written(m, i, slot)))
				memset(c, 0, sizeof *c);
		}
	d->kind = (uint32_t)kind;
	strcpy(d->a, a);
	strcpy(d->b, b);
	__atomic_store_n(&d->state, KK_METRICS_USED, __ATOMIC_RELEASE);
	if (hole->state == KK_METRICS_FREE)
		m->h->ix_taken++;
	hole->hash = key_hash(kind, a, b);
	hole->slot = slot;
	__atomic_store_n(&hole->state, KK_METRICS_USED, __ATOMIC_RELEASE);
	m->h->nused++;
	return (int)slot;
}

void
kk_metrics_release(kk_metrics *m, unsigned slot)
{
	kk_mdir *d;
	ixent *e, *hole;
	kk_mcount sum;

	if (slot >= m->h->nfresh || !(d = dir_at(m, slot)) || d->state != KK_METRICS_USED)
		return;
	kk_metrics_sum(m, slot, &sum);
	/* Gone with its object: what was in flight has ended. */
	sum.ended = sum.requests;
	sum.conns_closed = sum.conns_opened;
	sum.dequeued = sum.queued;
	if (d->kind < KK_METRICS_NKINDS)
		kk_metrics_add(&m->h->retired[d->kind], &sum);
	if (map_index(m) && (e = probe(m, d->kind, d->a, d->b, &hole, 0, 0)))
		__atomic_store_n(&e->state, KK_METRICS_GONE, __ATOMIC_RELEASE);
	__atomic_store_n(&d->state, KK_METRICS_GONE, __ATOMIC_RELEASE);
	m->h->nused--;
	/* Out of memory: the slot is not given again, which costs its room
	 * only. */
	if (m->freed_built)
		freed_push(m, slot);
}

/* Sums. */

void
kk_metrics_add(kk_mcount *dst, const kk_mcount *src)
{
	uint64_t *d = (uint64_t *)dst;
	const uint64_t *s = (const uint64_t *)src;
	size_t i, n = offsetof(kk_mcount, ttfb) / sizeof(uint64_t),
	    at = offsetof(kk_mcount, down_until) / sizeof(uint64_t);

	for (i = 0; i < n; i++)
		if (i != at)
			d[i] += s[i];
	if (src->down_until > dst->down_until)
		dst->down_until = src->down_until;
	kk_mhist_merge(&dst->ttfb, &src->ttfb);
	kk_mhist_merge(&dst->total, &src->total);
}

void
kk_metrics_sum(kk_metrics *m, unsigned slot, kk_mcount *dst)
{
	unsigned i;

	memset(dst, 0, sizeof *dst);
	if (slot >= m->h->nfresh)
		return;
	for (i = 0; i < KK_METRICS_STRIPES; i++) {
		const kk_mcount *c;
		if (m->h->stripe_used[i] && (c = count_written(m, i, slot)))
			kk_metrics_add(dst, c);
	}
}

/* Which slots of a stripe hold counts: the slots over the file's data
 * extents in each chunk's part of the stripe, one bit each. */
static uint8_t *
written_slots(kk_metrics *m, unsigned stripe, uint32_t n)
{
	uint8_t *bits = calloc((size_t)n / 8 + 1, 1);
	unsigned k;

	if (!bits)
		return 0;
	for (k = 0; k < m->nchunks && capacity(k) < n; k++) {
		uint64_t start = stripe_off(m, k, stripe),
		    end = start + stripe_bytes(k), off = start;
		while (off < end) {
			off_t d = lseek(m->fd, (off_t)off, SEEK_DATA), hole;
			uint64_t first, last, s;
			if (d < 0) {
				if (errno == ENXIO)
					break;
				/* Cannot tell: every slot may hold counts. */
				d = (off_t)off;
				hole = (off_t)end;
			} else if ((hole = lseek(m->fd, d, SEEK_HOLE)) < 0)
				hole = (off_t)end;
			if ((uint64_t)d >= end)
				break;
			if ((uint64_t)hole > end)
				hole = (off_t)end;
			first = ((uint64_t)d - start) / sizeof(kk_mcount);
			last = ((uint64_t)hole - start + sizeof(kk_mcount) - 1) / sizeof(kk_mcount);
			for (s = first; s < last && s < chunk_slots(k); s++) {
				uint64_t slot = capacity(k) + s;
				if (slot < n)
					bits[slot / 8] |= (uint8_t)(1u << (slot % 8));
			}
			off = (uint64_t)hole;
		}
	}
	return bits;
}

/* Whether the object of d is one the filter f (NULL: all) names. */
static int
picked(const kk_mdir *d, const kk_metrics_filter *f)
{
	if (!f)
		return 1;
	if (f->cluster && (d->kind == KK_METRICS_LISTENER || strcmp(d->a, f->cluster)))
		return 0;
	if (f->backend && (d->kind != KK_METRICS_BACKEND || strcmp(d->b, f->backend)))
		return 0;
	return 1;
}

int
kk_metrics_each(kk_metrics *m, const kk_metrics_filter *fl, kk_metrics_visit *f, void *ctx)
{
	static const kk_mcount zero;
	uint8_t *bits[KK_METRICS_STRIPES] = { 0 };
	uint32_t n = m->h->nfresh, s;
	unsigned i;
	kk_mcount *sum = malloc(sizeof *sum);
	int ok = sum != 0;

	if (!map_chunks(m))
		ok = 0;
	for (i = 0; ok && i < KK_METRICS_STRIPES; i++)
		if (m->h->stripe_used[i] && !(bits[i] = written_slots(m, i, n)))
			ok = 0;
	for (s = 0; ok && s < n; s++) {
		const kk_mdir *d = dir_at(m, s);
		int any = 0;
		if (!d || __atomic_load_n(&d->state, __ATOMIC_ACQUIRE) != KK_METRICS_USED
		    || !picked(d, fl))
			continue;
		for (i = 0; i < KK_METRICS_STRIPES; i++) {
			const kk_mcount *c;
			if (!bits[i] || !(bits[i][s / 8] & (1u << (s % 8)))
			    || !(c = kk_metrics_count(m, i, s)))
				continue;
			/* An object no worker counted is summed as zero, with
			 * no pass over its 3.8 KiB. */
			if (!any++)
				memset(sum, 0, sizeof *sum);
			kk_metrics_add(sum, c);
		}
		if (!f(ctx, s, d, any ? sum : &zero))
			ok = 0;
	}
	for (i = 0; i < KK_METRICS_STRIPES; i++)
		free(bits[i]);
	free(sum);
	return ok;
}

void
kk_metrics_settle(kk_metrics *m, unsigned stripe)
{
	uint32_t n = m->h->nfresh, s;
	uint8_t *bits;

	if (stripe >= KK_METRICS_STRIPES || !m->h->stripe_used[stripe]
	    || !map_chunks(m) || !(bits = written_slots(m, stripe, n)))
		return;
	for (s = 0; s < n; s++) {
		kk_mcount *c;
		const kk_mdir *d;
		if (!(bits[s / 8] & (1u << (s % 8))) || !(d = dir_at(m, s))
		    || d->state == KK_METRICS_FREE || !(c = kk_metrics_count(m, stripe, s)))
			continue;
		c->ended = c->requests;
		c->conns_closed = c->conns_opened;
		c->dequeued = c->queued;
		c->down_until = 0;
	}
	free(bits);
}
