/* ISC license. */
/* Latency histograms: bucket bounds, merging, quantiles and the text form
 * the worker sends and the supervisor reads back. Recording is inline in
 * kakehi/hist.h. */
#include <limits.h>
#include <string.h>

#include <kakehi/hist.h>
#include <kakehi/verb.h>

/* The layout's arithmetic, for 2^sub sub-buckets a power of two. */
static uint64_t
low_in(unsigned i, unsigned sub)
{
	if (i < (1u << sub))
		return i;
	return (uint64_t)((1u << sub) + (i & ((1u << sub) - 1))) << ((i >> sub) - 1);
}

static uint64_t
high_in(unsigned i, unsigned sub)
{
	if (i < (1u << sub))
		return i;
	return low_in(i, sub) + (UINT64_C(1) << ((i >> sub) - 1)) - 1;
}

static void
merge_in(uint64_t *dst, const uint64_t *src, unsigned nb)
{
	unsigned i;

	for (i = 0; i < nb; i++)
		dst[i] += src[i];
}

static uint64_t
count_in(const uint64_t *n, unsigned nb)
{
	uint64_t sum = 0;
	unsigned i;

	for (i = 0; i < nb; i++)
		sum += n[i];
	return sum;
}

static uint64_t
quantile_in(const uint64_t *n, unsigned nb, unsigned sub, unsigned permille)
{
	uint64_t count = count_in(n, nb), rank, seen = 0;
	unsigned i;

	if (!count)
		return 0;
	if (permille > 1000)
		permille = 1000;
	/* ceil(count * permille / 1000) without overflowing 64 bits. */
	rank = count / 1000 * permille + ((count % 1000) * permille + 999) / 1000;
	if (!rank)
		rank = 1;
	for (i = 0; i < nb; i++) {
		seen += n[i];
		if (seen >= rank)
			return high_in(i, sub);
	}
	return KK_HIST_MAX;
}

uint64_t
kk_hist_low(unsigned i)
{
	return low_in(i, KK_HIST_SUB_BITS);
}

uint64_t
kk_hist_high(unsigned i)
{
	return high_in(i, KK_HIST_SUB_BITS);
}

void
kk_hist_merge(kk_hist *dst, const kk_hist *src)
{
	merge_in(dst->n, src->n, KK_HIST_BUCKETS);
}

uint64_t
kk_hist_count(const kk_hist *h)
{
	return count_in(h->n, KK_HIST_BUCKETS);
}

uint64_t
kk_hist_quantile(const kk_hist *h, unsigned permille)
{
	return quantile_in(h->n, KK_HIST_BUCKETS, KK_HIST_SUB_BITS, permille);
}

void
kk_mhist_merge(kk_mhist *dst, const kk_mhist *src)
{
	merge_in(dst->n, src->n, KK_MHIST_BUCKETS);
}

uint64_t
kk_mhist_count(const kk_mhist *h)
{
	return count_in(h->n, KK_MHIST_BUCKETS);
}

uint64_t
kk_mhist_quantile(const kk_mhist *h, unsigned permille)
{
	return quantile_in(h->n, KK_MHIST_BUCKETS, KK_MHIST_SUB_BITS, permille);
}

int
kk_hist_fmt(kk_str *out, const kk_hist *h)
{
	unsigned i;
	int first = 1, ok = 1;

	for (i = 0; i < KK_HIST_BUCKETS; i++) {
		if (!h->n[i])
			continue;
		ok &= kk_str_catf(out, "%s%u:%llu", first ? "" : ",", i,
		    (unsigned long long)h->n[i]);
		first = 0;
	}
	if (first)
		ok &= kk_str_cats(out, "-");
	return ok;
}

/* The decimal number at s[*at, n), up to the first byte that is not a
 * digit, without leading zeros; *at moves past it. 1 ok, 0 none or past
 * 64 bits. */
static int
scan_number(const char *s, size_t n, size_t *at, uint64_t *v)
{
	char digits[21];	/* 2^64 - 1 has 20 */
	size_t len = 0;
	unsigned long x;

	while (*at + len < n && s[*at + len] >= '0' && s[*at + len] <= '9')
		len++;
	if (!len || len >= sizeof digits || (len > 1 && s[*at] == '0'))
		return 0;
	memcpy(digits, s + *at, len);
	digits[len] = 0;
	if (!kk_scan_uint(digits, 0, ULONG_MAX, &x))
		return 0;
	*at += len;
	*v = x;
	return 1;
}

int
kk_hist_scan(kk_hist *h, const char *s, size_t n)
{
	kk_hist t = KK_HIST_ZERO;
	size_t at = 0;
	uint64_t bucket, count, total = 0;
	int next = 0;		/* the lowest bucket number allowed next */

	if (n == 1 && s[0] == '-') {
		*h = t;
		return 1;
	}
	for (;;) {
		if (!scan_number(s, n, &at, &bucket) || bucket >= KK_HIST_BUCKETS ||
		    (int)bucket < next)
			return 0;
		if (at == n || s[at++] != ':')
			return 0;
		if (!scan_number(s, n, &at, &count) || !count || count > UINT64_MAX - total)
			return 0;
		total += count;
		t.n[bucket] = count;
		next = (int)bucket + 1;
		if (at == n)
			break;
		if (s[at++] != ',')
			return 0;
	}
	*h = t;
	return 1;
}
