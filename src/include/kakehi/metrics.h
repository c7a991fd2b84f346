/* ISC license. */
/* The metrics segment: counters per listener, cluster and backend in a
 * shared memory segment (a memfd) that the supervisor creates and every
 * worker maps. A directory names a slot per object (kind and key); the
 * supervisor alone assigns and frees slots, so an object keeps its slot
 * across generations and changes. Each worker writes one stripe of its
 * own (a copy of every slot), with plain increments: no atomics, no lock,
 * no message on the hot path. Readers (the supervisor, a worker serving
 * /metrics) add the stripes up when asked. What a freed slot counted is
 * folded into its kind's retired total first, so sums never go back.
 * Here: the layout, the directory, sums and the text forms; what a
 * worker counts where is src/worker/wmetrics.c. */
#ifndef KAKEHI_METRICS_H
#define KAKEHI_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <kakehi/hist.h>
#include <kakehi/str.h>

#define KK_METRICS_MAGIC UINT64_C(0x4b4b4d3100000002)	/* "KKM1", layout 2 */
/* Slots come in chunks that double: chunk k holds KK_METRICS_CHUNK0 << k
 * slots, added at the end of the file as objects come, so a slot never
 * moves and a mapping never has to be replaced: 16 chunks hold 67
 * million objects. Pages nobody wrote are holes of the file: they cost
 * no memory, and readers skip them (SEEK_DATA) rather than fault them
 * in. */
#define KK_METRICS_CHUNK0 1024u
#define KK_METRICS_NCHUNKS 16u
/* One stripe per worker slot of the supervisor (2 x KK_MAX_WORKERS):
 * a slot's process is the only writer of its stripe; a process that
 * takes the slot again after the last one exited goes on adding. */
#define KK_METRICS_STRIPES 128u
#define KK_METRICS_KEYMAX 80	/* an address text (72) or an id (64), NUL ended */
/* The close reasons of a worker (enum kk_close, src/worker/status.h),
 * named by kk_metrics_close_name; the worker checks the count. */
#define KK_METRICS_NCLOSE 35u
/* Response statuses counted one by one (kk_metrics_status_code); others
 * count in their class only. */
#define KK_METRICS_NSTATUS 30u

enum kk_metrics_kind {
	KK_METRICS_LISTENER = 1,
	KK_METRICS_CLUSTER,
	KK_METRICS_BACKEND,
	KK_METRICS_NKINDS = 4	/* kinds are 1..3 */
};

/* Directory entry states. */
#define KK_METRICS_FREE 0u	/* never used: ends a probe */
#define KK_METRICS_USED 1u
#define KK_METRICS_GONE 2u	/* freed: a probe goes past it; reused last */

/* The counters of kk_mcount, all uint64_t up to the histograms: a
 * macro, so that a sum kept without its histograms (metricsobj.h) has
 * them under the same names and at the same offsets. */
#define KK_MCOUNT_COUNTERS \
	uint64_t requests, ended; \
	uint64_t responses[6];		/* [1..5]: 1xx..5xx; [0]: out of range */ \
	uint64_t status[KK_METRICS_NSTATUS]; \
	uint64_t bytes_in, bytes_out; \
	uint64_t conns_opened, conns_closed; \
	uint64_t retries; \
	uint64_t queued, dequeued, queue_full, queue_timeouts; \
	uint64_t closes[KK_METRICS_NCLOSE]; \
	/* Backends: CLOCK_MONOTONIC ms until which this worker avoids it \
	 * after a failed connect (0: never failed), UINT64_MAX while a \
	 * health verdict holds it out. */ \
	uint64_t down_until; \
	/* Latencies in µs: their sums (the histograms follow). */ \
	uint64_t ttfb_sum, total_sum;

/* What one stripe counts for one object. Gauges are pairs of counters
 * (in flight = requests - ended), so a stripe is only ever added to, and
 * the supervisor settles a dead worker's pairs. Which fields each kind
 * uses: doc/metrics.html. */
typedef struct kk_mcount kk_mcount;
struct kk_mcount {
	KK_MCOUNT_COUNTERS
	kk_mhist ttfb, total;	/* kakehi/hist.h */
};

/* The names of a slot, in its chunk. */
typedef struct kk_mdir kk_mdir;
struct kk_mdir {
	uint32_t state;		/* KK_METRICS_FREE, _USED, _GONE; stored last */
	uint32_t kind;		/* enum kk_metrics_kind */
	char a[KK_METRICS_KEYMAX];	/* listener address, cluster id */
	char b[KK_METRICS_KEYMAX];	/* backend id ("" for the others) */
};

/* The head of the segment (its first pages). Where things are is
 * written before the word that publishes it (nchunks, index), stored
 * with release, so a mapping that sees the word sees what it names. */
typedef struct kk_metrics_head kk_metrics_head;
struct kk_metrics_head {
	uint64_t magic;
	uint32_t nstripes;
	uint32_t nchunks;		/* chunks in the file */
	uint64_t chunk_off[KK_METRICS_NCHUNKS];
	/* The index from key hashes to slots, open addressing: its offset
	 * in the file, or'ed with log2 of its entries. Rebuilt larger (at
	 * the end of the file) when three quarters full; the old one stays as it
	 * was, for a reader still probing it. */
	uint64_t index;
	uint64_t size;			/* of the file */
	uint32_t nused;			/* objects with a slot */
	uint32_t nfresh;		/* slots ever handed out: the next never used */
	uint32_t ix_taken;		/* index entries used or gone */
	uint32_t pad;
	/* Stripes a worker was given (the supervisor sets them): readers
	 * add only those. */
	uint8_t stripe_used[KK_METRICS_STRIPES];
	/* The supervisor's own: what freed slots counted, per kind. */
	kk_mcount retired[KK_METRICS_NKINDS];
};

/* A process's view of the segment: the head, the chunks and stripes it
 * mapped so far (more as they are needed), the index it probes. */
typedef struct kk_metrics kk_metrics;
struct kk_metrics {
	kk_metrics_head *h;
	int fd;				/* the caller's; not closed here */
	unsigned nchunks;		/* mapped: their names */
	kk_mdir *dir[KK_METRICS_NCHUNKS];
	kk_mcount *stripe[KK_METRICS_NCHUNKS][KK_METRICS_STRIPES];
	uint64_t index;			/* the head's word this index was mapped for */
	void *ix;
	/* The supervisor's: freed slots, oldest first, given again in
	 * that order (a worker may still count a little while into a
	 * slot just freed). Built from the names on first use. */
	uint32_t *freed;
	size_t nfreed, freed_at, freed_cap;
	int freed_built;
};

/* A new segment in a memfd (close-on-exec): its fd, or -1 with errno. */
int kk_metrics_create(void);
/* Maps the segment of fd (kept open by the caller as long as the view
 * is used: chunks are mapped from it as they come), shared and
 * writable; NULL with errno (EINVAL for a segment of another layout). */
kk_metrics *kk_metrics_map(int fd);
void kk_metrics_unmap(kk_metrics *);
/* The counters of slot in stripe, mapped when first asked for; NULL when
 * out of range or not mappable. Writing them allocates their pages. */
kk_mcount *kk_metrics_count(kk_metrics *, unsigned stripe, unsigned slot);
/* The names of slot; NULL when out of range. */
const kk_mdir *kk_metrics_dir(kk_metrics *, unsigned slot);
/* Supervisor: the stripe is written by a worker from now on. */
void kk_metrics_stripe_use(kk_metrics *, unsigned stripe);

/* The slot of an object (b: the backend id, or NULL): -1 when it has
 * none. Safe while the supervisor changes the directory: an entry is
 * published by its state word, stored last. */
int kk_metrics_find(kk_metrics *, enum kk_metrics_kind, const char *a, const char *b);
/* Supervisor: the object's slot, assigned when it had none (a freed
 * slot's counts zeroed first); -1 with errno: ENAMETOOLONG for a key
 * too long, ENOSPC when every chunk is used, or what growing the file
 * met. */
int kk_metrics_assign(kk_metrics *, enum kk_metrics_kind, const char *a, const char *b);
/* Calls f for each object with a slot that filter picks (NULL: all;
 * the filter type is below), in slot order: its slot, names and sum over
 * the stripes in use (valid during the call). Pages no worker wrote are
 * not read. f returns 0 to stop. 1 ok (f never stopped), 0 out of memory
 * or stopped. */
typedef struct kk_metrics_filter kk_metrics_filter;
typedef int kk_metrics_visit(void *ctx, unsigned slot, const kk_mdir *, const kk_mcount *);
int kk_metrics_each(kk_metrics *, const kk_metrics_filter *filter, kk_metrics_visit *f,
    void *ctx);
/* Supervisor: folds the slot's sum into its kind's retired total and
 * frees it. */
void kk_metrics_release(kk_metrics *, unsigned slot);
/* Supervisor: the worker of stripe has exited; its gauges are settled
 * (connections closed, requests ended, queue left). */
void kk_metrics_settle(kk_metrics *, unsigned stripe);

/* Adds src into dst (every counter and both histograms). */
void kk_metrics_add(kk_mcount *dst, const kk_mcount *src);
/* dst = the sum of slot over the stripes in use (down_until: the
 * latest). */
void kk_metrics_sum(kk_metrics *, unsigned slot, kk_mcount *dst);

/* The index of status in the table of statuses counted apart; -1 for
 * the others. */
static inline int
kk_metrics_status_index(unsigned status)
{
	extern const signed char kk_metrics_status_of[600];
	return status < 600 ? kk_metrics_status_of[status] - 1 : -1;
}
unsigned kk_metrics_status_code(unsigned index);
const char *kk_metrics_close_name(unsigned reason);

/* The text forms. A filter picks a cluster (and its backends) or one
 * backend of any cluster; NULL fields: everything. now_ms is
 * CLOCK_MONOTONIC ms, for the backends' health. 1 ok, 0 out of memory. */
struct kk_metrics_filter {
	const char *cluster, *backend;
};
/* KK_METRICS_HTML: the page of a --service stats listener (its numbers
 * those of the JSON form, which its script reads again to update them). */
enum kk_metrics_format { KK_METRICS_TEXT, KK_METRICS_JSON, KK_METRICS_PROMETHEUS,
	KK_METRICS_HTML };
int kk_metrics_print(kk_str *out, kk_metrics *, const kk_metrics_filter *,
    enum kk_metrics_format, uint64_t now_ms);
/* The same in parts, for an answer too long to make at once (tens of MB
 * for 100 000 sites): the objects are summed when the printer is made,
 * then each call appends about want bytes more (whole lines; the HTML
 * page a row at a time). _next: 1 more to come, 0 done, -1 out of
 * memory. */
typedef struct kk_metrics_printer kk_metrics_printer;
kk_metrics_printer *kk_metrics_printer_new(kk_metrics *, const kk_metrics_filter *,
    enum kk_metrics_format, uint64_t now_ms);
int kk_metrics_printer_next(kk_metrics_printer *, kk_str *out, size_t want);
void kk_metrics_printer_free(kk_metrics_printer *);

#endif
