/* ISC license. */
/* Tests kk_hist (src/libkakehi/hist.c): bucket bounds that tile the range,
 * quantiles of known distributions within the stated error, merging equal
 * to recording everything in one, the edges (0, 1 µs, clamped values), and
 * the text form: it round-trips and bad text is refused. */

#include <stdlib.h>
#include <string.h>

#include <kakehi/hist.h>
#include "tap.h"

/* Whether the quantile q reported for true value v keeps to the bound. */
static int
within(uint64_t q, uint64_t v)
{
	if (v < KK_HIST_SUB)
		return q == v;
	return q >= v && (q - v) * 16 < v;
}

static const char *
text(const kk_hist *h)
{
	static char buf[8192];
	kk_str s = KK_STR_ZERO;
	if (!kk_hist_fmt(&s, h))
		return "(nomem)";
	snprintf(buf, sizeof buf, "%.*s", (int)s.len, s.s);
	kk_str_free(&s);
	return buf;
}

static int
scan(kk_hist *h, const char *s)
{
	return kk_hist_scan(h, s, strlen(s));
}

int
main(void)
{
	static kk_hist a, b, all, t;
	unsigned i, tiled = 1, inside = 1;
	uint64_t v;

	/* The buckets tile [0, KK_HIST_MAX] with no gap and no overlap, and
	 * each value lands in the bucket whose bounds hold it. */
	for (i = 0; i < KK_HIST_BUCKETS; i++) {
		if (i && kk_hist_low(i) != kk_hist_high(i - 1) + 1)
			tiled = 0;
		if (kk_hist_bucket(kk_hist_low(i)) != i || kk_hist_bucket(kk_hist_high(i)) != i)
			inside = 0;
		/* Never wider than 1/16 of the lower bound. */
		if (i >= KK_HIST_SUB && (kk_hist_high(i) - kk_hist_low(i) + 1) * 16 >
		    kk_hist_low(i))
			tiled = 0;
	}
	ok(tiled, "buckets tile the range, each at most 1/16 of its lower bound wide");
	ok(inside, "each bucket's bounds map back to it");
	is_int(kk_hist_low(0), 0, "bucket 0 starts at 0");
	is_int(kk_hist_high(KK_HIST_BUCKETS - 1), KK_HIST_MAX, "the last bucket ends at the clamp");
	ok(KK_HIST_MAX >= 100000000, "the range reaches 100 s");

	/* Edges: 0, 1 µs exact; huge values clamp to the last bucket. */
	is_int(kk_hist_bucket(0), 0, "0 µs: bucket 0");
	is_int(kk_hist_bucket(1), 1, "1 µs: bucket 1");
	is_int(kk_hist_bucket(15), 15, "15 µs: bucket 15");
	is_int(kk_hist_bucket(16), 16, "16 µs: bucket 16");
	is_int(kk_hist_bucket(KK_HIST_MAX + 1), KK_HIST_BUCKETS - 1, "past the clamp: last");
	is_int(kk_hist_bucket(UINT64_MAX), KK_HIST_BUCKETS - 1, "UINT64_MAX: last");
	memset(&t, 0, sizeof t);
	is_int(kk_hist_quantile(&t, 500), 0, "empty: quantile 0");
	kk_hist_record(&t, 0);
	is_int(kk_hist_quantile(&t, 990), 0, "one 0 µs: p99 0");
	kk_hist_record(&t, 1);
	is_int(kk_hist_quantile(&t, 1000), 1, "0 and 1 µs: max 1");
	is_int(kk_hist_quantile(&t, 500), 0, "0 and 1 µs: median 0");
	memset(&t, 0, sizeof t);
	kk_hist_record(&t, UINT64_MAX);
	is_int(kk_hist_quantile(&t, 500), KK_HIST_MAX, "a huge value reads as the clamp");

	/* A uniform distribution 1..100000 µs: pN is N thousand. */
	memset(&all, 0, sizeof all);
	for (v = 1; v <= 100000; v++)
		kk_hist_record(&all, v);
	is_int(kk_hist_count(&all), 100000, "count");
	ok(within(kk_hist_quantile(&all, 500), 50000), "uniform p50 %llu near 50000",
	    (unsigned long long)kk_hist_quantile(&all, 500));
	ok(within(kk_hist_quantile(&all, 900), 90000), "uniform p90 %llu near 90000",
	    (unsigned long long)kk_hist_quantile(&all, 900));
	ok(within(kk_hist_quantile(&all, 990), 99000), "uniform p99 %llu near 99000",
	    (unsigned long long)kk_hist_quantile(&all, 990));

	/* Every single value up to 2^20 alone: its quantile keeps the bound. */
	inside = 1;
	for (v = 0; v < (1u << 20); v += 1 + v / 64) {
		memset(&t, 0, sizeof t);
		kk_hist_record(&t, v);
		if (!within(kk_hist_quantile(&t, 500), v))
			inside = 0;
	}
	ok(inside, "one value's quantile is within 6.25 %% above it, exact below 16");

	/* Two modes: 90 % at 200 µs, 10 % at 2 s; p50 and p90 at the first,
	 * p99 at the second. */
	memset(&t, 0, sizeof t);
	for (i = 0; i < 900; i++)
		kk_hist_record(&t, 200);
	for (i = 0; i < 100; i++)
		kk_hist_record(&t, 2000000);
	ok(within(kk_hist_quantile(&t, 500), 200), "bimodal p50");
	ok(within(kk_hist_quantile(&t, 900), 200), "bimodal p90 (rank 900 is the last fast one)");
	ok(within(kk_hist_quantile(&t, 990), 2000000), "bimodal p99");

	/* The coarse layout of the metrics segment: quantiles within 1/8,
	 * exact below 8 µs, merging as the fine one. */
	{
		static kk_mhist m, m2;
		unsigned good = 1;
		uint64_t vals[] = { 0, 1, 7, 8, 9, 100, 1000, 12345, 999999, 5000000 };
		for (i = 0; i < sizeof vals / sizeof vals[0]; i++) {
			uint64_t q;
			memset(&m, 0, sizeof m);
			kk_mhist_record(&m, vals[i]);
			q = kk_mhist_quantile(&m, 500);
			if (vals[i] < 8 ? q != vals[i] : (q < vals[i] || (q - vals[i]) * 8 >= vals[i]))
				good = 0;
		}
		ok(good, "coarse: one value's quantile is within 1/8 above it");
		memset(&m, 0, sizeof m);
		memset(&m2, 0, sizeof m2);
		for (i = 1; i <= 1000; i++)
			kk_mhist_record(i % 2 ? &m : &m2, i * 100);
		kk_mhist_merge(&m, &m2);
		is_int(kk_mhist_count(&m), 1000, "coarse: merged count");
		v = kk_mhist_quantile(&m, 990);
		ok(v >= 99000 && (v - 99000) * 8 < 99000, "coarse: p99 of 100..100000 within 1/8 (%llu)",
		    (unsigned long long)v);
		is_int(kk_mhist_quantile(&m, 1000) >= 100000, 1, "coarse: the max bucket holds the max");
		ok(sizeof(kk_mhist) * 2 <= sizeof(kk_hist) * 11 / 10, "coarse: about half the size");
		memset(&m, 0, sizeof m);
		kk_mhist_record(&m, KK_HIST_MAX + 5);
		is_int(kk_mhist_quantile(&m, 500), KK_HIST_MAX, "coarse: clamped values in the last bucket");
	}

	/* Merging two halves equals recording everything in one. */
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	memset(&all, 0, sizeof all);
	srandom(13);
	for (i = 0; i < 50000; i++) {
		uint64_t x = (uint64_t)random() % (1u << (random() % 28));
		kk_hist_record(i % 3 ? &a : &b, x);
		kk_hist_record(&all, x);
	}
	kk_hist_merge(&a, &b);
	ok(!memcmp(&a, &all, sizeof a), "merge equals recording in one");

	/* Text form: round trip, "-" for empty. */
	ok(scan(&t, text(&all)) && !memcmp(&t, &all, sizeof t), "text form round-trips");
	memset(&t, 0, sizeof t);
	is_str(text(&t), "-", "empty is -");
	kk_hist_record(&t, 3);
	kk_hist_record(&t, 3);
	kk_hist_record(&t, 16);
	is_str(text(&t), "3:2,16:1", "only buckets not empty");
	ok(scan(&t, "-") && !kk_hist_count(&t), "- reads as empty");
	ok(scan(&t, "383:18446744073709551615") && t.n[383] == UINT64_MAX, "largest count");

	/* Bad text is refused and leaves the histogram as it was. */
	{
		static const char *const bad[] = {
			"", "--", "1", "1:", ":1", "1:0", "2:1,1:1", "1:1,1:1", "384:1",
			"1:1,", ",1:1", "1:1 ", " 1:1", "01:1", "1:01", "1:-1", "-1:1",
			"1:18446744073709551616", "1:18446744073709551615,2:1", "1:1;2:1",
			"99999999999999999999:1", "1:1,-",
		};
		kk_hist keep;
		int refused = 1;
		memset(&t, 0, sizeof t);
		kk_hist_record(&t, 5);
		keep = t;
		for (i = 0; i < sizeof bad / sizeof *bad; i++)
			if (kk_hist_scan(&t, bad[i], strlen(bad[i])) || memcmp(&t, &keep, sizeof t)) {
				refused = 0;
				printf("# accepted or changed: '%s'\n", bad[i]);
				t = keep;
			}
		ok(refused, "bad text refused, histogram untouched");
	}
	return done();
}
