/* ISC license. */
/* Between the forms of the metrics segment (metrics.c) and the HTML
 * page (metricshtml.c): one object summed over the stripes, and the
 * values both derive the same way. Not for programs: they call
 * kk_metrics_print. */
#ifndef KK_LIBKAKEHI_METRICSOBJ_H
#define KK_LIBKAKEHI_METRICSOBJ_H

#include <stdint.h>

#include <kakehi/metrics.h>
#include <kakehi/str.h>

/* A latency histogram as the forms show it: its count and the three
 * quantiles (kk_metrics_quantiles). */
typedef struct kk_mlat kk_mlat;
struct kk_mlat {
	uint64_t count, q[3];
};

/* An object's sum as the forms use it: the counters, and the
 * histograms' figures only. A tenth of a kk_mcount: a print of 200 000
 * objects holds 150 MB rather than 1.4 GB. */
typedef struct kk_msum kk_msum;
struct kk_msum {
	KK_MCOUNT_COUNTERS
	kk_mlat ttfb, total;
};
void kk_metrics_summary(kk_msum *dst, const kk_mcount *src);

typedef struct kk_metrics_obj kk_metrics_obj;
struct kk_metrics_obj {
	const kk_mdir *d;
	kk_msum c;
};

/* A gauge from its pair of counters: a - b, 0 while b runs ahead (a
 * reader may see the end of a request before its start). */
static inline uint64_t
kk_metrics_gauge(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* "up" or "down" for a backend, NULL for the others. */
const char *kk_metrics_health(const kk_mdir *, const kk_msum *, uint64_t now_ms);
/* What ended in error: the closes other than the ordinary ends (done,
 * a client or idle keep-alive going away, a drain, a stop, a tunnel
 * or back connection ending). */
uint64_t kk_metrics_errors(const kk_msum *);
/* The three quantiles every form gives, in thousandths (p50, p90, p99). */
extern const unsigned kk_metrics_quantiles[3];

/* The HTML page of v[0..n) (sorted by kind, then key). 1 ok, 0 out of
 * memory. */
int kk_metrics_html(kk_str *out, const kk_metrics_obj *v, size_t n, uint64_t now_ms);
/* The same in its parts, in this order: open; for each kind, its table,
 * its rows, its end (rows: how many, "none" when 0); close. */
int kk_metrics_html_open(kk_str *out);
int kk_metrics_html_table(kk_str *out, unsigned kind);
int kk_metrics_html_row(kk_str *out, const kk_metrics_obj *o, uint64_t now_ms);
int kk_metrics_html_table_end(kk_str *out, unsigned kind, size_t rows);
int kk_metrics_html_close(kk_str *out);

#endif
