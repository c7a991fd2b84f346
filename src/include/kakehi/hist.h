/* ISC license. */
/* Latency histograms: durations in microseconds counted in log-linear
 * buckets of a fixed layout, so that two histograms (two workers, two
 * periods) merge by adding bucket to bucket, and quantiles come out with a
 * known error. Recording is a few instructions and never allocates; the
 * text form is what a worker sends the supervisor. No time is read here. */
#ifndef KAKEHI_HIST_H
#define KAKEHI_HIST_H

#include <stddef.h>
#include <stdint.h>

#include <kakehi/str.h>

/* The layout: values 0 to 15 have a bucket each; above, each power of two
 * [2^e, 2^(e+1)) is split in 16 equal sub-buckets, so a bucket is never
 * wider than 1/16 of its lower bound. The last range starts at 2^26 µs:
 * values from 2^27 µs (about 134 s) on are counted in the last bucket.
 * The bucket numbers are part of the text form: a change of layout needs
 * new key names on the channel, or old and new workers would disagree. */
#define KK_HIST_SUB_BITS 4
#define KK_HIST_SUB (1u << KK_HIST_SUB_BITS)
#define KK_HIST_TOP_BIT 27
#define KK_HIST_MAX ((UINT64_C(1) << KK_HIST_TOP_BIT) - 1)	/* largest value kept apart */
#define KK_HIST_BUCKETS ((KK_HIST_TOP_BIT - KK_HIST_SUB_BITS + 1) * KK_HIST_SUB)

typedef struct kk_hist kk_hist;
struct kk_hist {
	uint64_t n[KK_HIST_BUCKETS];	/* all zero: empty */
};
#define KK_HIST_ZERO { { 0 } }

/* The bucket of value v (microseconds; clamped to KK_HIST_MAX) in the
 * layout of 2^sub sub-buckets a power of two (kk_hist: 4; kk_mhist: 3). */
static inline unsigned
kk_hist_bucket_in(uint64_t v, unsigned sub)
{
	unsigned e;

	if (v > KK_HIST_MAX)
		v = KK_HIST_MAX;
	if (v < (UINT64_C(1) << sub))
		return (unsigned)v;
	e = 63 - (unsigned)__builtin_clzll(v);	/* v's top bit, sub to 26 */
	return ((e - sub + 1) << sub) + (unsigned)((v >> (e - sub)) & ((1u << sub) - 1));
}

static inline unsigned
kk_hist_bucket(uint64_t v)
{
	return kk_hist_bucket_in(v, KK_HIST_SUB_BITS);
}

/* Counts one duration of v microseconds. */
static inline void
kk_hist_record(kk_hist *h, uint64_t v)
{
	h->n[kk_hist_bucket(v)]++;
}

/* Smallest and largest value bucket i counts. */
uint64_t kk_hist_low(unsigned i);
uint64_t kk_hist_high(unsigned i);
/* Adds src into dst, bucket by bucket. */
void kk_hist_merge(kk_hist *dst, const kk_hist *src);
/* The number of values counted. */
uint64_t kk_hist_count(const kk_hist *);
/* The quantile permille/1000 (500: the median, 990: p99): the upper bound
 * of the bucket holding the value of rank ceil(count * permille / 1000).
 * It is never below that value and exceeds it by less than 1/16 of it
 * (6.25 %); exact below 16 µs; at most KK_HIST_MAX for clamped values.
 * 0 when the histogram is empty. */
uint64_t kk_hist_quantile(const kk_hist *, unsigned permille);
/* Text form: "BUCKET:COUNT" for each bucket not empty, in bucket order,
 * comma separated; "-" when all are empty. 1 ok, 0 out of memory. */
int kk_hist_fmt(kk_str *out, const kk_hist *);
/* Parses s[0, n) in the text form into h. 1 ok; 0 refused (a bucket out
 * of range or out of order, a count of zero or past 64 bits, any other
 * byte), and h is left as it was. */
int kk_hist_scan(kk_hist *h, const char *s, size_t n);

/* The same layout with 8 sub-buckets a power of two: a bucket is never
 * wider than 1/8 of its lower bound, so a quantile is at most 12.5 %
 * above the value; 200 buckets instead of 384. The metrics segment keeps
 * two per object in every worker's stripe (kakehi/metrics.h), where the
 * finer layout would double an object's memory. */
#define KK_MHIST_SUB_BITS 3
#define KK_MHIST_BUCKETS ((KK_HIST_TOP_BIT - KK_MHIST_SUB_BITS + 1) << KK_MHIST_SUB_BITS)

typedef struct kk_mhist kk_mhist;
struct kk_mhist {
	uint64_t n[KK_MHIST_BUCKETS];	/* all zero: empty */
};

static inline void
kk_mhist_record(kk_mhist *h, uint64_t v)
{
	h->n[kk_hist_bucket_in(v, KK_MHIST_SUB_BITS)]++;
}

void kk_mhist_merge(kk_mhist *dst, const kk_mhist *src);
uint64_t kk_mhist_count(const kk_mhist *);
/* As kk_hist_quantile, within 12.5 %. */
uint64_t kk_mhist_quantile(const kk_mhist *, unsigned permille);

#endif
